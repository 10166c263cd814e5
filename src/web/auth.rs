//! Who is asking, and may they? Pages need a session (server-side, in the database), writes need
//! the admin role, a matching Origin and the session's CSRF token; `/api/` calls need a bearer
//! token whose scope allows the call. Public: login, first-admin setup, health, metrics, static.

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use super::forms::q;
use super::{AppState, Error, api};
use crate::domain::auth::{
    Role, Scope, api_allows, credentials_fingerprint, hash_password, new_secret, secret_digest,
};
use crate::domain::ids::UserId;
use crate::store::{DataVersion, SESSION_CONTEXT, SessionContext, SessionUser, User};
use std::net::SocketAddr;

/// Session keys.
pub use crate::store::SESSION_USER;
pub const SESSION_AUTH_AT: &str = "auth_at";
pub const SESSION_CSRF: &str = "csrf";
/// The [`credentials_fingerprint`] of the password the session was opened with.
pub const SESSION_CREDENTIALS: &str = "credentials";

/// Who made the request.
#[derive(Debug, Clone)]
pub enum Principal {
    User {
        id: UserId,
        name: String,
        role: Role,
        time_zone: Option<String>,
    },
    Token {
        name: String,
        scope: Scope,
    },
}

impl Principal {
    /// The name the audit log records.
    pub fn actor(&self) -> String {
        match self {
            Principal::User { name, .. } => name.clone(),
            Principal::Token { name, .. } => format!("token:{name}"),
        }
    }

    pub fn is_admin(&self) -> bool {
        match self {
            Principal::User { role, .. } => *role == Role::Admin,
            Principal::Token { scope, .. } => *scope == Scope::Admin,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or(Error::Unauthorized)
    }
}

/// The data version read with the session at the start of the request, if it was: a page that
/// needs the cluster view need not ask again (see [`crate::app::cluster::load_known`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownVersion(pub Option<DataVersion>);

impl<S: Send + Sync> FromRequestParts<S> for KnownVersion {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<KnownVersion>()
            .copied()
            .unwrap_or_default())
    }
}

/// The session's CSRF token, for forms to embed.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Requires the admin role; viewers get 403 (pages that manage users and tokens).
pub struct AdminOnly(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for AdminOnly {
    type Rejection = Error;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let p = Principal::from_request_parts(parts, state).await?;
        if p.is_admin() {
            Ok(AdminOnly(p))
        } else {
            Err(Error::Forbidden(
                "Only administrators may see or change this.".into(),
            ))
        }
    }
}

fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/setup" | "/healthz" | "/metrics" | "/api/v1/openapi.json"
    ) || path.starts_with("/static/")
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Absolute session lifetime: a stolen cookie stops working after this even if kept busy.
pub const SESSION_ABSOLUTE_SECS: i64 = 12 * 3600;

pub async fn authenticate(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if is_public(&path) {
        return next.run(req).await;
    }
    if path.starts_with("/api/") {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|s| s.trim().to_string());
        let method = req.method().clone();
        return match api_principal(&st, bearer, &method, &path).await {
            Ok(p) => {
                req.extensions_mut().insert(p);
                next.run(req).await
            }
            Err(e) => api::problem(e),
        };
    }
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return Error::internal("session layer missing").into_response();
    };
    let (principal, csrf, version) = match session_principal(&st, &session).await {
        Ok(Some(found)) => found,
        Ok(None) => return to_login(&req),
        Err(e) => return e.into_response(),
    };
    if !is_safe(req.method()) {
        // Logging out and one's own account settings are open to viewers too.
        let own = matches!(path.as_str(), "/logout" | "/account");
        if !principal.is_admin() && !own {
            return Error::Forbidden(
                "Viewers can look at everything but change nothing; ask an administrator.".into(),
            )
            .into_response();
        }
        if !same_origin(&req) {
            return Error::Forbidden("The request came from another site and was refused.".into())
                .into_response();
        }
        req = match check_csrf(req, &csrf).await {
            Ok(r) => r,
            Err(e) => return e.into_response(),
        };
    }
    req.extensions_mut().insert(principal);
    req.extensions_mut().insert(CsrfToken(csrf));
    req.extensions_mut().insert(KnownVersion(version));
    next.run(req).await
}

fn to_login(req: &Request) -> Response {
    let target = req
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    if is_safe(req.method()) {
        Redirect::to(&format!("/login?next={}", q(&target))).into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

/// The session's principal, its CSRF token, and the data version read with it.
async fn session_principal(
    st: &AppState,
    session: &Session,
) -> Result<Option<(Principal, String, Option<DataVersion>)>, Error> {
    let internal = |e: tower_sessions::session::Error| Error::internal(e);
    // The first read loads the session, its user and the data version in one statement.
    let Some(user_id) = session
        .get::<UserId>(SESSION_USER)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let auth_at = session
        .get::<i64>(SESSION_AUTH_AT)
        .await
        .map_err(internal)?
        .unwrap_or(0);
    if jiff::Timestamp::now().as_second() - auth_at > SESSION_ABSOLUTE_SECS {
        session.flush().await.map_err(internal)?;
        return Ok(None);
    }
    let opened_with = session
        .get::<String>(SESSION_CREDENTIALS)
        .await
        .map_err(internal)?;
    let (user, version) = match session
        .get::<SessionContext>(SESSION_CONTEXT)
        .await
        .map_err(internal)?
    {
        Some(c) => (c.user, Some(c.data_version)),
        // A record that did not come from the store's load (none does today).
        None => match st.store().user(user_id).await {
            Ok(u) => (Some(SessionUser::of(u)), None),
            Err(crate::store::Error::NotFound { .. }) => (None, None),
            Err(e) => return Err(e.into()),
        },
    };
    // A disabled account's sessions end, and so do those opened with a password since changed.
    let user = match user {
        Some(u)
            if u.id == user_id
                && !u.disabled
                && opened_with.as_deref() == Some(u.credentials.as_str()) =>
        {
            u
        }
        _ => {
            session.flush().await.map_err(internal)?;
            return Ok(None);
        }
    };
    let csrf = session
        .get::<String>(SESSION_CSRF)
        .await
        .map_err(internal)?
        .unwrap_or_default();
    Ok(Some((
        Principal::User {
            id: user.id,
            name: user.name,
            role: user.role,
            time_zone: user.time_zone,
        },
        csrf,
        version,
    )))
}

/// Logs `user` in: a fresh session id (no fixation), the login time for the absolute expiry, the
/// fingerprint of the password, and a new CSRF token.
pub async fn start_session(session: &Session, user: &User) -> Result<(), Error> {
    let internal = |e: tower_sessions::session::Error| Error::internal(e);
    session.cycle_id().await.map_err(internal)?;
    session
        .insert(SESSION_USER, user.id)
        .await
        .map_err(internal)?;
    session
        .insert(SESSION_AUTH_AT, jiff::Timestamp::now().as_second())
        .await
        .map_err(internal)?;
    session
        .insert(
            SESSION_CREDENTIALS,
            credentials_fingerprint(&user.password_hash),
        )
        .await
        .map_err(internal)?;
    let csrf = new_secret("").map_err(Error::internal)?;
    session.insert(SESSION_CSRF, csrf).await.map_err(internal)?;
    Ok(())
}

/// Sets the password of the user `name`, which ends all their sessions; `own_session`, the
/// session that made the change when it is that user's own, is kept.
pub async fn set_password(
    st: &AppState,
    name: &str,
    password: &str,
    actor: &str,
    own_session: Option<&Session>,
) -> Result<(), Error> {
    let hash = hash_password(password).map_err(Error::internal)?;
    st.store()
        .set_user_password(name, &hash, actor, own_session.is_some())
        .await?;
    if let Some(session) = own_session {
        session
            .insert(SESSION_CREDENTIALS, credentials_fingerprint(&hash))
            .await
            .map_err(Error::internal)?;
    }
    Ok(())
}

/// The client's address, for the login throttle: the peer of the connection when the server
/// was started with connection info (tests run without, and share one address).
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

async fn api_principal(
    st: &AppState,
    bearer: Option<String>,
    method: &Method,
    path: &str,
) -> Result<Principal, Error> {
    let secret = bearer
        .filter(|s| !s.is_empty())
        .ok_or(Error::Unauthorized)?;
    let token = st
        .store()
        .authenticate_token(&secret)
        .await?
        .ok_or(Error::Unauthorized)?;
    let scope: Scope = token.scope.parse().map_err(|e: String| {
        Error::internal(format!("stored scope of token {}: {e}", token.name))
    })?;
    if !api_allows(&scope, method.as_str(), path) {
        return Err(Error::Forbidden(format!(
            "token {} has scope {scope}, which does not allow {method} {path}",
            token.name
        )));
    }
    Ok(Principal::Token {
        name: token.name,
        scope,
    })
}

/// A state-changing request must come from our own pages: when the browser names an Origin, it
/// must be this host.
fn same_origin(req: &Request) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    if origin == "null" {
        return false;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
}

/// Checks the CSRF token of a state-changing request: the `X-CSRF-Token` header, or the `csrf`
/// field of the form, urlencoded or multipart (uploads carry it as a hidden field before the
/// file). Never the query string: a URL ends up in logs, histories and `Referer` headers. The
/// body, already read within its limit ([`super::limits`]), is put back for the handler.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, Error> {
    let refused = || {
        Error::Forbidden("The form was stale or did not come from this site (CSRF check failed). Reload the page and try again.".into())
    };
    if expected.is_empty() {
        return Err(refused());
    }
    let matches = |given: &str| secret_digest(given) == secret_digest(expected);
    if let Some(h) = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return if matches(h) { Ok(req) } else { Err(refused()) };
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, usize::MAX)
        .await
        .map_err(|_| Error::BadRequest("The request body could not be read.".into()))?;
    let given = if content_type.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .map_err(|_| Error::BadRequest("The form could not be read.".into()))?
            .into_iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v)
    } else if content_type.starts_with("multipart/form-data") {
        multipart_csrf(&content_type, bytes.clone()).await?
    } else {
        None
    };
    match given {
        Some(v) if matches(&v) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(refused()),
    }
}

/// The first `csrf` field of a multipart body.
async fn multipart_csrf(
    content_type: &str,
    body: axum::body::Bytes,
) -> Result<Option<String>, Error> {
    let unreadable =
        |e: multer::Error| Error::BadRequest(format!("The upload could not be read: {e}."));
    let boundary = multer::parse_boundary(content_type).map_err(unreadable)?;
    let mut form = multer::Multipart::new(Body::from(body).into_data_stream(), boundary);
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        if field.name() == Some("csrf") {
            return Ok(Some(field.text().await.map_err(unreadable)?));
        }
    }
    Ok(None)
}

/// Security headers on every response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        if !h.contains_key(name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    );
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", "same-origin");
    set("cross-origin-opener-policy", "same-origin");
    if res.status() == StatusCode::UNAUTHORIZED
        && !res.headers().contains_key(header::WWW_AUTHENTICATE)
    {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    res
}
