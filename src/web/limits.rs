//! How large a request body may be, decided once per request before anything reads it:
//! [`UPLOAD_LIMIT`] on the routes registered with [`Routes::upload`](super::Routes::upload)
//! (registration dumps, CSV and zone files), [`FORM_LIMIT`] on every other. A body over its
//! limit is answered with the product's 413, which names the limit.
//!
//! The body is read whole here (every handler reads it whole anyway), so the CSRF check and the
//! extractors after it read from memory; axum's own default limit of 2 MiB, which used to cap
//! every route below the documented size, is switched off in [`super::router`].

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use std::sync::Arc;

use super::Error;

/// Registration dumps of 100,000 contacts are 7 to 20 MB, depending on the format.
pub const UPLOAD_LIMIT: usize = 32 * 1024 * 1024;
/// Forms and JSON calls: the largest, a bulk move of every tenant on a page, is a few KiB.
pub const FORM_LIMIT: usize = 1024 * 1024;

/// The body limit of each route.
#[derive(Clone)]
pub struct BodyLimits {
    /// Route patterns (`/api/v1/servers/{server}/registrations`) of the upload routes.
    uploads: Arc<[&'static str]>,
}

impl BodyLimits {
    pub fn new(uploads: Vec<&'static str>) -> Self {
        Self {
            uploads: uploads.into(),
        }
    }

    /// The limit for a request to `method path`.
    pub fn of(&self, method: &Method, path: &str) -> usize {
        let upload = method == Method::POST && self.uploads.iter().any(|p| matches(p, path));
        if upload { UPLOAD_LIMIT } else { FORM_LIMIT }
    }
}

/// Whether `path` is an address of the route `pattern`, whose `{name}` segments stand for any
/// one non-empty segment (as in axum's router).
fn matches(pattern: &str, path: &str) -> bool {
    let (mut want, mut have) = (pattern.split('/'), path.split('/'));
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') && !h.is_empty() => {}
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

/// Reads the body within its route's limit, refusing a larger one as soon as its announced
/// length or the bytes read so far exceed the limit.
pub async fn limit_body(State(limits): State<BodyLimits>, req: Request, next: Next) -> Response {
    let limit = limits.of(req.method(), req.uri().path());
    let too_large = || Error::PayloadTooLarge { limit }.into_response();
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return too_large(),
        Err(e) => {
            tracing::info!(error = %e, "the request body could not be read");
            return Error::BadRequest("The request body could not be read.".into()).into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_routes_get_the_large_limit_for_posts_only() {
        let limits = BodyLimits::new(vec![
            "/api/v1/servers/{server}/registrations",
            "/tenants/import",
        ]);
        let post = Method::POST;
        for path in [
            "/api/v1/servers/voip1/registrations",
            "/api/v1/servers/voip%201/registrations",
            "/tenants/import",
        ] {
            assert_eq!(limits.of(&post, path), UPLOAD_LIMIT, "{path}");
        }
        for path in [
            "/api/v1/servers//registrations",
            "/api/v1/servers/voip1/registrations/",
            "/api/v1/servers/voip1/x/registrations",
            "/tenants/import/x",
            "/tenants",
            "/servers",
        ] {
            assert_eq!(limits.of(&post, path), FORM_LIMIT, "{path}");
        }
        assert_eq!(limits.of(&Method::PUT, "/tenants/import"), FORM_LIMIT);
    }
}
