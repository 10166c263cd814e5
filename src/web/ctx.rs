//! What every page needs besides its own data: the flash message left by the previous request,
//! the navigation state, and (with accounts) the user and the CSRF token.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::{CsrfToken, Principal};

const FLASH_COOKIE: &str = "pbx_flash";

/// Shared page context, a field of every page template (`ctx`).
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub flash: Option<String>,
    /// First path segment, to highlight the current section in the navigation.
    pub section: String,
    /// The logged-in user, if any (login and error pages have none).
    pub user: Option<String>,
    /// Admins see the buttons that change things; viewers do not.
    pub can_write: bool,
    pub csrf: String,
    /// The user's time zone: every time on a page is shown in it.
    pub tz: jiff::tz::TimeZone,
}

impl PageCtx {
    /// A Unix time in the user's time zone, for Rust code; templates use the `datetime` filter.
    pub fn time(&self, at: i64) -> String {
        super::filters::format_datetime(at, &self.tz)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let flash = cookie(parts, FLASH_COOKIE).map(|v| percent_decode(&v));
        let section = parts
            .uri
            .path()
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .to_string();
        let principal = parts.extensions.get::<Principal>();
        Ok(PageCtx {
            flash,
            section,
            user: principal.map(Principal::actor),
            can_write: principal.is_some_and(Principal::is_admin),
            tz: match principal {
                Some(Principal::User {
                    time_zone: Some(tz),
                    ..
                }) => jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC),
                _ => jiff::tz::TimeZone::UTC,
            },
            csrf: parts
                .extensions
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
        })
    }
}

pub(super) fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// A redirect after a successful change, carrying a one-time message for the next page.
pub struct Flash {
    pub to: String,
    pub message: String,
}

impl Flash {
    pub fn redirect(to: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            message: message.into(),
        }
    }
}

impl IntoResponse for Flash {
    fn into_response(self) -> Response {
        let mut res = Redirect::to(&self.to).into_response();
        let cookie = format!(
            "{FLASH_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age=60",
            super::forms::q(&self.message)
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        res
    }
}

/// Clears the flash cookie once a page carrying it has been shown.
pub async fn flash_cleanup(req: Request, next: Next) -> Response {
    let had_flash = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(FLASH_COOKIE));
    let mut res = next.run(req).await;
    let is_page = res.status() != StatusCode::SEE_OTHER
        && !res.headers().contains_key(header::SET_COOKIE)
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| ct.as_bytes().starts_with(b"text/html"));
    if had_flash && is_page {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("pbx_flash=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        );
    }
    res
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_text_round_trips_through_the_cookie_encoding() {
        let msg = "Server voip1 saved; 3 pools use it — ok? 100%";
        assert_eq!(percent_decode(&super::super::forms::q(msg)), msg);
        assert!(!super::super::forms::q(msg).contains(';'));
    }
}
