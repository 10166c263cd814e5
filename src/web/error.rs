//! The web layer's one error type and its mapping to responses: an HTML page for browsers and an
//! RFC 9457 problem document for the JSON API. Internal details are logged, never shown.
//!
//! [`error_responses`] is the last word on every error response: an [`Error`] answered as a page
//! under `/api/` becomes a problem document, and whatever the framework answered by itself (an
//! extractor's plain-text rejection, a bare 405 or 500) is answered as the product's own.

use askama::Template;
use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::chain;
use crate::domain::FieldErrors;
use crate::{app, store};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InUse(String),
    #[error("you need to log in")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("the request body is larger than allowed here: at most {} is accepted", size(*limit))]
    PayloadTooLarge { limit: usize },
    #[error("{0} is not allowed at this address.")]
    MethodNotAllowed(Method),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Any other refusal, with its status (what the framework answers by itself, re-worded).
    #[error("{detail}")]
    Refused { status: StatusCode, detail: String },
    /// A failure the user cannot fix; its cause is logged (with the request's id, from the
    /// request span) and never shown.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

/// The cause of an internal error, whatever its type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<app::Error> for Error {
    fn from(e: app::Error) -> Self {
        match e {
            app::Error::NotFound(m) => Error::NotFound(m),
            app::Error::Invalid(f) => Error::Invalid(f),
            app::Error::BadInput(m) => Error::BadRequest(m),
            app::Error::Conflict(m) => Error::Conflict(m),
            app::Error::InUse(m) => Error::InUse(m),
            app::Error::Store(e) => Error::Internal(Box::new(e)),
        }
    }
}

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Self {
        app::Error::from(e).into()
    }
}

impl Error {
    /// An internal error that keeps `cause` for the log.
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Error::Internal(cause.into())
    }

    /// Nothing is at `path`, in the words of its part of the site.
    pub fn nothing_at(path: &str) -> Self {
        Error::NotFound(if is_api(path) {
            "There is no API call at this address; /api/v1/openapi.json lists them all.".into()
        } else {
            "There is no page at this address.".into()
        })
    }
}

/// Whether `path` belongs to the JSON API, whose errors are problem documents.
pub fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// A size as people read it: "32 MiB", "512 KiB".
pub fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Conflict(_) | Error::InUse(_) => StatusCode::CONFLICT,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Refused { status, .. } => *status,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "Not found",
            Error::BadRequest(_) => "Bad request",
            Error::Invalid(_) => "Invalid input",
            Error::Conflict(_) => "Changed by someone else",
            Error::InUse(_) => "Still in use",
            Error::Unauthorized => "Login required",
            Error::Forbidden(_) => "Not allowed",
            Error::PayloadTooLarge { .. } => "Request too large",
            Error::MethodNotAllowed(_) => "Method not allowed",
            Error::UnsupportedMediaType(_) => "Unsupported content type",
            Error::Refused { status, .. } => status.canonical_reason().unwrap_or("Refused"),
            Error::Internal(_) => "Something went wrong",
        }
    }

    /// What the client may see: internal errors are replaced by a generic sentence.
    fn public_detail(&self) -> String {
        match self {
            Error::Internal(cause) => {
                tracing::error!(error = %chain(cause.as_ref()), "internal error");
                "The server could not complete the request; the details are in its log.".into()
            }
            other => other.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: &'a str,
}

/// An error as the client sees it, computed once (an internal cause is logged then). It travels
/// on the response so that [`error_responses`] can show an API client the same error as a
/// problem document.
#[derive(Debug, Clone)]
struct Shown {
    status: StatusCode,
    /// API clients get 400 for any input they must correct; 422 is the HTML forms' status.
    api_status: StatusCode,
    title: &'static str,
    detail: String,
    errors: Option<FieldErrors>,
}

impl Error {
    fn shown(self) -> Shown {
        let status = self.status();
        Shown {
            status,
            api_status: match self {
                Error::Invalid(_) => StatusCode::BAD_REQUEST,
                _ => status,
            },
            title: self.title(),
            detail: self.public_detail(),
            errors: match self {
                Error::Invalid(f) => Some(f),
                _ => None,
            },
        }
    }
}

impl Shown {
    fn page(self) -> Response {
        let page = ErrorPage {
            status: self.status.as_u16(),
            title: self.title,
            detail: &self.detail,
        };
        let mut res = super::render_page(self.status, &page);
        res.extensions_mut().insert(self);
        res
    }

    fn problem(self) -> Response {
        let problem = Problem {
            kind: "about:blank",
            title: self.title,
            status: self.api_status.as_u16(),
            detail: &self.detail,
            errors: self.errors.as_ref(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut res = (self.api_status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        res.extensions_mut().insert(self);
        res
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.shown().page()
    }
}

/// The JSON API's face of [`Error`]: `application/problem+json` (RFC 9457).
#[derive(Debug)]
pub struct ApiError(pub Error);

impl<E: Into<Error>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

/// An RFC 9457 problem document: every error of the JSON API.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub(super) struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FieldErrors>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.shown().problem()
    }
}

/// Gives every error response the product's format for its address: a page, or under `/api/` a
/// problem document. An [`Error`] rendered as a page is rendered again as a problem for the API;
/// an error response the product did not render (the framework's plain-text rejections, its bare
/// 405, a failing layer's 500) is replaced by the product's own, keeping its status and headers.
/// Pages and JSON the handlers wrote themselves pass as they are.
pub async fn error_responses(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let api = is_api(&path);
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    if let Some(shown) = res.extensions().get::<Shown>() {
        let is_problem = content_type(&res).starts_with("application/problem+json");
        return if api && !is_problem {
            let shown = shown.clone();
            with_headers_of(res, shown.problem())
        } else {
            res
        };
    }
    let ct = content_type(&res);
    if ct.starts_with("text/html") || ct.contains("json") {
        return res;
    }
    let (parts, body) = res.into_parts();
    // The framework's own texts are short; more than this is not one of them.
    let text = to_bytes(body, 16 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let error = match status {
        StatusCode::NOT_FOUND => Error::nothing_at(&path),
        s if s.is_server_error() => Error::internal(format!(
            "the framework answered {s} by itself: {}",
            text.trim()
        )),
        _ => {
            tracing::info!(%status, text = %text.trim(), "request refused by the framework");
            Error::Refused {
                status,
                detail: "The request could not be handled in this form; check its address, \
                         content type and body."
                    .into(),
            }
        }
    };
    let shown = error.shown();
    let mut answer = if api { shown.problem() } else { shown.page() };
    *answer.status_mut() = status;
    with_headers_of(Response::from_parts(parts, ()), answer)
}

fn content_type(res: &Response) -> &str {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// `answer`, with the headers of `original` it does not set itself (an `Allow`, a cookie).
fn with_headers_of<B>(original: Response<B>, mut answer: Response) -> Response {
    let (parts, _) = original.into_parts();
    let own: Vec<header::HeaderName> = answer.headers().keys().cloned().collect();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && !own.contains(name) {
            answer.headers_mut().append(name.clone(), value.clone());
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_error_keeps_its_cause_for_the_log_and_shows_none_of_it() {
        let io = std::io::Error::other("disk on fire");
        let e = Error::from(app::Error::Store(store::Error::Database(sqlx::Error::Io(
            io,
        ))));
        let Error::Internal(cause) = &e else {
            panic!("a storage failure is internal: {e:?}");
        };
        let logged = chain(cause.as_ref());
        assert!(logged.contains("disk on fire"), "{logged}");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.public_detail().contains("disk on fire"));
    }
}
