//! Login, logout, and the one-time setup of the first administrator.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tower_sessions::Session;

use super::auth::{ClientAddr, SESSION_USER, start_session};
use super::extract::{Form, Query};
use super::{AppState, Error, PageCtx, Result, Routes, page, render_page, safe_redirect_target};
use crate::app::accounts::{self, Login};
use crate::domain::FieldErrors;
use crate::domain::auth::{Role, check_password, hash_password};
use crate::domain::ids::UserId;
use crate::domain::names::check_short_name;

pub fn router() -> Routes {
    Routes::new()
        .get("/login", login_form)
        .post("/login", login)
        .post("/logout", logout)
        .get("/setup", setup_form)
        .post("/setup", setup)
}

/// The one answer to every failed login: it does not say whether the user exists.
const GENERIC_FAILURE: &str = "Wrong user name or password.";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageCtx,
    name: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextParam {
    #[serde(default)]
    next: String,
}

async fn login_form(
    ctx: PageCtx,
    session: Session,
    Query(p): Query<NextParam>,
) -> Result<Response> {
    if session
        .get::<UserId>(SESSION_USER)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        return Ok(Redirect::to(safe_redirect_target(&p.next)).into_response());
    }
    Ok(page(&LoginPage {
        ctx,
        name: String::new(),
        next: safe_redirect_target(&p.next).to_string(),
        error: None,
    }))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Browsers name the page a form came from; a login posted from another site is refused.
fn from_this_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

async fn login(
    State(st): State<AppState>,
    ctx: PageCtx,
    session: Session,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response> {
    if !from_this_site(&headers) {
        return Err(Error::Forbidden(
            "The login came from another site and was refused.".into(),
        ));
    }
    let name = form.name.trim().to_string();
    let next = safe_redirect_target(&form.next).to_string();
    let refuse = |status: StatusCode, error: &str| {
        render_page(
            status,
            &LoginPage {
                ctx: ctx.clone(),
                name: name.clone(),
                next: next.clone(),
                error: Some(error.to_string()),
            },
        )
    };
    match accounts::log_in(&st.app, &name, &form.password, &address).await? {
        Login::Throttled => Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins. Wait 15 minutes and try again, or ask an administrator.",
        )),
        Login::Refused => {
            tracing::info!(user = %name, "failed login");
            Ok(refuse(StatusCode::UNAUTHORIZED, GENERIC_FAILURE))
        }
        Login::LoggedIn(user) => {
            start_session(&session, &user).await?;
            tracing::info!(user = %user.name, "login");
            Ok(Redirect::to(&next).into_response())
        }
    }
}

async fn logout(session: Session) -> Result<Response> {
    session.flush().await.map_err(Error::internal)?;
    Ok(super::Flash::redirect("/login", "You are logged out.").into_response())
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    ctx: PageCtx,
    token: String,
    name: String,
    errors: FieldErrors,
    done: bool,
}

#[derive(Deserialize)]
struct SetupParams {
    #[serde(default)]
    token: String,
}

fn setup_token_ok(st: &AppState, given: &str) -> bool {
    st.inner
        .setup_token
        .lock()
        .map(|t| {
            t.as_deref()
                .is_some_and(|t| !given.is_empty() && t == given)
        })
        .unwrap_or(false)
}

async fn setup_form(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(p): Query<SetupParams>,
) -> Result<Response> {
    let done = st.store().user_count().await? > 0;
    if !done && !setup_token_ok(&st, &p.token) {
        return Err(Error::Forbidden(
            "This setup link is not valid. Use the link that `pbx-pools serve` printed when it started.".into(),
        ));
    }
    Ok(page(&SetupPage {
        ctx,
        token: p.token,
        name: "admin".into(),
        errors: FieldErrors::default(),
        done,
    }))
}

#[derive(Deserialize)]
struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password2: String,
}

async fn setup(
    State(st): State<AppState>,
    ctx: PageCtx,
    session: Session,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Result<Response> {
    if !from_this_site(&headers) || !setup_token_ok(&st, &form.token) {
        return Err(Error::Forbidden(
            "This setup link is not valid any more.".into(),
        ));
    }
    let mut errors = FieldErrors::default();
    let name = errors.check("name", check_short_name(&form.name));
    errors.check("password", check_password(&form.password));
    if form.password != form.password2 {
        errors.add("password2", "the two passwords differ");
    }
    if !errors.is_empty() {
        let page_ = SetupPage {
            ctx,
            token: form.token,
            name: form.name,
            errors,
            done: false,
        };
        return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page_));
    }
    let name = name.unwrap_or_default();
    let hash = hash_password(&form.password).map_err(Error::internal)?;
    let user = st
        .store()
        .create_user(&name, &hash, Role::Admin, "setup", true)
        .await?;
    if let Ok(mut t) = st.inner.setup_token.lock() {
        *t = None;
    }
    start_session(&session, &user).await?;
    Ok(super::Flash::redirect(
        "/",
        format!("Welcome, {name}: you are the first administrator."),
    )
    .into_response())
}
