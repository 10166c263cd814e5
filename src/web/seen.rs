//! Read your own writes across requests and instances: after a write, the response carries the
//! data version it produced (cookie `pbx_seen` for browsers, header `x-data-version` for API
//! clients, who may send it back as `x-seen-version`). A later read with it gets a cluster view
//! that includes the write; a reader without it may be served the previous view while the new
//! one builds (see [`crate::app::cache`]).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::app::Seen;

const SEEN_COOKIE: &str = "pbx_seen";
const SEEN_HEADER: HeaderName = HeaderName::from_static("x-seen-version");
const VERSION_HEADER: HeaderName = HeaderName::from_static("x-data-version");
/// Long enough for the redirect after a form and the pages right after it.
const SEEN_MAX_AGE_SECS: u32 = 300;

impl<S: Send + Sync> FromRequestParts<S> for Seen {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(SEEN_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        let cookie = super::ctx::cookie(parts, SEEN_COOKIE).and_then(|v| v.parse::<i64>().ok());
        Ok(Seen(header.max(cookie).unwrap_or(0)))
    }
}

/// Marks the response of a GET that stored something (a DNS check run on request), so that it
/// carries the data version like any other write.
#[derive(Debug, Clone, Copy)]
pub struct Wrote;

/// After a successful write, tells the client the data version that includes it.
pub async fn remember_writes(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let write = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let mut res = next.run(req).await;
    let write = write || res.extensions().get::<Wrote>().is_some();
    if !write || res.status().as_u16() >= 400 {
        return res;
    }
    // A failed read only costs the writer a possibly older view on its next page.
    let Ok(version) = st.store().data_version().await else {
        return res;
    };
    let secure = if st.inner.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SEEN_COOKIE}={version}; Path=/; Max-Age={SEEN_MAX_AGE_SECS}; HttpOnly; SameSite=Lax{secure}"
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, value);
    }
    res.headers_mut()
        .insert(VERSION_HEADER, HeaderValue::from(version));
    res
}
