//! Login, logout, and the one-time setup of the first administrator.

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;
use tower_sessions::Session;

use super::auth::{SESSION_AUTH_AT, SESSION_CSRF, SESSION_USER};
use super::{AppState, Error, PageCtx, Result, Routes, page, render_page};
use crate::domain::FieldErrors;
use crate::domain::auth::{Role, check_password, hash_password, new_secret, verify_password};
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

/// Failed logins allowed per user name, and per client address, within the window.
const MAX_FAILURES_PER_USER: u64 = 5;
const MAX_FAILURES_PER_ADDRESS: u64 = 30;
const FAILURE_WINDOW_SECS: i64 = 15 * 60;
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

/// Only local paths are followed after login, never another site.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/".to_string()
    }
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
        return Ok(Redirect::to(&safe_next(&p.next)).into_response());
    }
    Ok(page(&LoginPage {
        ctx,
        name: String::new(),
        next: p.next,
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

/// The peer address when the server was started with connection info (tests run without).
struct ClientAddr(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
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
    let user_key = format!("user:{}", name.to_lowercase());
    let addr_key = format!("addr:{address}");
    let refuse = |status: StatusCode, error: &str| {
        render_page(
            status,
            &LoginPage {
                ctx: ctx.clone(),
                name: name.clone(),
                next: form.next.clone(),
                error: Some(error.to_string()),
            },
        )
    };
    if st
        .store()
        .recent_login_failures(&user_key, FAILURE_WINDOW_SECS)
        .await?
        >= MAX_FAILURES_PER_USER
        || st
            .store()
            .recent_login_failures(&addr_key, FAILURE_WINDOW_SECS)
            .await?
            >= MAX_FAILURES_PER_ADDRESS
    {
        return Ok(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed logins. Wait 15 minutes and try again, or ask an administrator.",
        ));
    }
    let user = match st.store().user_by_name(&name).await {
        Ok(u) => Some(u),
        Err(crate::store::Error::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let ok = match &user {
        Some(u) => verify_password(&form.password, &u.password_hash) && !u.disabled,
        None => {
            // Same work as for a real user, so timing does not reveal which names exist.
            let _ = verify_password(&form.password, dummy_hash());
            false
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        st.store()
            .record_login_failure(&[&user_key, &addr_key])
            .await?;
        tracing::info!(user = %name, "failed login");
        return Ok(refuse(StatusCode::UNAUTHORIZED, GENERIC_FAILURE));
    };
    start_session(&session, user.id).await?;
    st.store().clear_login_failures(&user_key).await?;
    st.store().record_login(user.id).await?;
    tracing::info!(user = %user.name, "login");
    Ok(Redirect::to(&safe_next(&form.next)).into_response())
}

/// A real argon2id hash, verified against when the user does not exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such user, no such password").unwrap_or_default())
}

/// Logs `user_id` in: a fresh session id (no fixation), the login time for the absolute
/// expiry, and a new CSRF token.
async fn start_session(session: &Session, user_id: UserId) -> Result<()> {
    let internal = |e: tower_sessions::session::Error| Error::internal(e);
    session.cycle_id().await.map_err(internal)?;
    session
        .insert(SESSION_USER, user_id)
        .await
        .map_err(internal)?;
    session
        .insert(SESSION_AUTH_AT, jiff::Timestamp::now().as_second())
        .await
        .map_err(internal)?;
    let csrf = new_secret("").map_err(Error::internal)?;
    session.insert(SESSION_CSRF, csrf).await.map_err(internal)?;
    Ok(())
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
    start_session(&session, user.id).await?;
    Ok(super::Flash::redirect(
        "/",
        format!("Welcome, {name}: you are the first administrator."),
    )
    .into_response())
}
