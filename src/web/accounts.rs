//! Users and API tokens (administrators only).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use tower_sessions::Session;

use super::auth::{AdminOnly, Principal, set_password};
use super::extract::{Form, Path};
use super::filters;
use super::forms::ConfirmPage;
use super::{AppState, Error, Flash, PageCtx, Result, Routes, page, render_page};
use crate::domain::FieldErrors;
use crate::domain::auth::{
    Role, Scope, check_password, hash_password, ingest_cron_line, new_secret,
};
use crate::domain::names::check_short_name;
use crate::store::{ApiToken, User};

pub fn router() -> Routes {
    Routes::new()
        .get("/users", users)
        .post("/users", create_user)
        .get("/users/{name}/disable", confirm_disable)
        .post("/users/{name}/disable", disable_user)
        .post("/users/{name}/enable", enable_user)
        .post("/users/{name}/password", reset_password)
        .get("/tokens", tokens)
        .post("/tokens", create_token)
        .get("/tokens/{name}/revoke", confirm_revoke)
        .post("/tokens/{name}/revoke", revoke_token)
}

#[derive(Default, Deserialize)]
struct UserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "accounts/users.html")]
struct UsersPage {
    ctx: PageCtx,
    users: Vec<User>,
    form: UserForm,
    errors: FieldErrors,
}

async fn users(State(st): State<AppState>, ctx: PageCtx, _admin: AdminOnly) -> Result<Response> {
    let users = st.store().users().await?;
    Ok(page(&UsersPage {
        ctx,
        users,
        form: UserForm {
            role: "viewer".into(),
            ..Default::default()
        },
        errors: FieldErrors::default(),
    }))
}

async fn create_user(
    State(st): State<AppState>,
    ctx: PageCtx,
    AdminOnly(admin): AdminOnly,
    Form(form): Form<UserForm>,
) -> Result<Response> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", check_short_name(&form.name));
    let role = errors.check("role", form.role.parse::<Role>());
    errors.check("password", check_password(&form.password));
    let saved: Result<(), FieldErrors> = match (name, role) {
        (Some(name), Some(role)) if errors.is_empty() => {
            let hash = hash_password(&form.password).map_err(Error::internal)?;
            match st
                .store()
                .create_user(&name, &hash, role, &admin.actor(), false)
                .await
            {
                Ok(u) => {
                    return Ok(Flash::redirect(
                        "/users",
                        format!("User {} ({}) created.", u.name, u.role),
                    )
                    .into_response());
                }
                Err(crate::store::Error::Invalid(f)) => Err(f),
                Err(e) => return Err(e.into()),
            }
        }
        _ => Err(errors),
    };
    let errors = saved.err().unwrap_or_default();
    let users = st.store().users().await?;
    let form = UserForm {
        password: String::new(),
        ..form
    };
    Ok(render_page(
        StatusCode::UNPROCESSABLE_ENTITY,
        &UsersPage {
            ctx,
            users,
            form,
            errors,
        },
    ))
}

async fn disable_user(
    State(st): State<AppState>,
    AdminOnly(admin): AdminOnly,
    Path(name): Path<String>,
) -> Result<Response> {
    if admin.actor() == name {
        return Err(Error::Conflict(
            "You cannot disable your own account; ask another administrator.".into(),
        ));
    }
    st.store()
        .set_user_disabled(&name, true, &admin.actor())
        .await?;
    Ok(Flash::redirect(
        "/users",
        format!("User {name} disabled; their sessions end at their next request."),
    )
    .into_response())
}

async fn enable_user(
    State(st): State<AppState>,
    AdminOnly(admin): AdminOnly,
    Path(name): Path<String>,
) -> Result<Response> {
    st.store()
        .set_user_disabled(&name, false, &admin.actor())
        .await?;
    Ok(Flash::redirect("/users", format!("User {name} enabled.")).into_response())
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// An administrator sets a user's password: all that user's sessions end, except the session
/// making the change when administrators reset their own.
async fn reset_password(
    State(st): State<AppState>,
    AdminOnly(admin): AdminOnly,
    session: Session,
    Path(name): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Result<Response> {
    check_password(&form.password)
        .map_err(|e| Error::Invalid(FieldErrors::single("password", format!("password {e}"))))?;
    let own = match &admin {
        Principal::User { name: me, .. } if *me == name => Some(&session),
        _ => None,
    };
    set_password(&st, &name, &form.password, &admin.actor(), own).await?;
    Ok(Flash::redirect(
        "/users",
        format!("Password of {name} changed; their sessions have ended."),
    )
    .into_response())
}

#[derive(Default, Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

#[derive(Template)]
#[template(path = "accounts/tokens.html")]
struct TokensPage {
    ctx: PageCtx,
    tokens: Vec<ApiToken>,
    servers: Vec<String>,
    form: TokenForm,
    errors: FieldErrors,
    /// The new token's secret, shown this once.
    created: Option<(String, String)>,
    /// For a new `ingest:SERVER` token: the crontab line for that server, ready to paste.
    cron: Option<String>,
}

async fn tokens_page(
    st: &AppState,
    ctx: PageCtx,
    form: TokenForm,
    errors: FieldErrors,
    created: Option<(String, String)>,
) -> Result<TokensPage> {
    let tokens = st.store().tokens().await?;
    let servers = st
        .store()
        .servers()
        .await?
        .into_iter()
        .map(|s| s.name.into_string())
        .collect();
    Ok(TokensPage {
        ctx,
        tokens,
        servers,
        form,
        errors,
        created,
        cron: None,
    })
}

/// The address the admin reached the dashboard at: the browser's `Origin`, else the `Host`
/// (https when cookies are marked Secure).
fn dashboard_url(st: &AppState, headers: &HeaderMap) -> String {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    match header(header::ORIGIN) {
        Some(origin) if origin != "null" => origin.to_string(),
        _ => {
            let scheme = if st.inner.config.secure_cookies {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}", header(header::HOST).unwrap_or("localhost"))
        }
    }
}

async fn tokens(State(st): State<AppState>, ctx: PageCtx, _admin: AdminOnly) -> Result<Response> {
    let p = tokens_page(
        &st,
        ctx,
        TokenForm {
            scope: "read".into(),
            ..Default::default()
        },
        FieldErrors::default(),
        None,
    )
    .await?;
    Ok(page(&p))
}

async fn create_token(
    State(st): State<AppState>,
    ctx: PageCtx,
    AdminOnly(admin): AdminOnly,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Response> {
    let mut errors = FieldErrors::default();
    let name = errors.check("name", check_short_name(&form.name));
    let scope = errors.check("scope", form.scope.parse::<Scope>());
    if let (Some(name), Some(scope)) = (name, scope)
        && errors.is_empty()
    {
        let secret = new_secret("pbxp_").map_err(Error::internal)?;
        match st
            .store()
            .create_token(&name, &secret, &scope, &admin.actor())
            .await
        {
            Ok(t) => {
                // Rendered directly, not redirected: the secret must not travel in a cookie.
                let cron = match &scope {
                    Scope::Ingest(server) => Some(ingest_cron_line(
                        &dashboard_url(&st, &headers),
                        server,
                        &secret,
                    )),
                    _ => None,
                };
                let mut p = tokens_page(
                    &st,
                    ctx,
                    TokenForm {
                        scope: "read".into(),
                        ..Default::default()
                    },
                    FieldErrors::default(),
                    Some((t.name, secret)),
                )
                .await?;
                p.cron = cron;
                return Ok(page(&p));
            }
            Err(crate::store::Error::Invalid(f)) => errors = f,
            Err(e) => return Err(e.into()),
        }
    }
    let p = tokens_page(&st, ctx, form, errors, None).await?;
    Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &p))
}

async fn revoke_token(
    State(st): State<AppState>,
    AdminOnly(admin): AdminOnly,
    Path(name): Path<String>,
) -> Result<Response> {
    st.store().revoke_token(&name, &admin.actor()).await?;
    Ok(Flash::redirect("/tokens", format!("Token {name} revoked.")).into_response())
}

async fn confirm_disable(
    State(st): State<AppState>,
    ctx: PageCtx,
    _admin: AdminOnly,
    Path(name): Path<String>,
) -> Result<Response> {
    let user = st.store().user_by_name(&name).await?;
    Ok(page(&ConfirmPage {
        ctx,
        kind: "user",
        name: user.name.clone(),
        action: format!("/users/{}/disable", user.name),
        back: "/users".into(),
        version: user.version,
        consequence: format!(
            "{} can no longer log in, and their open sessions end at their next request.",
            user.name
        ),
        verb: "Disable",
    }))
}

async fn confirm_revoke(
    State(st): State<AppState>,
    ctx: PageCtx,
    _admin: AdminOnly,
    Path(name): Path<String>,
) -> Result<Response> {
    let token = st
        .store()
        .tokens()
        .await?
        .into_iter()
        .find(|t| t.name == name && t.revoked_at.is_none())
        .ok_or_else(|| Error::NotFound(format!("there is no active token named {name:?}")))?;
    Ok(page(&ConfirmPage {
        ctx,
        kind: "token",
        name: token.name.clone(),
        action: format!("/tokens/{}/revoke", token.name),
        back: "/tokens".into(),
        version: 0,
        consequence: format!(
            "Every call with this token ({}) is refused from now on; whatever uses it must get a new one.",
            token.scope
        ),
        verb: "Revoke",
    }))
}
