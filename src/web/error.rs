//! The web layer's one error type and its mapping to responses: an HTML page for browsers and an
//! RFC 9457 problem document for the JSON API. Internal details are logged, never shown.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
    #[error("the request body is larger than allowed")]
    PayloadTooLarge,
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
}

/// An error and its chain of causes, `outer: inner: innermost`, for the log.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
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
            Error::PayloadTooLarge => "Request too large",
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
struct ErrorPage {
    status: u16,
    title: &'static str,
    detail: String,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let page = ErrorPage {
            status: status.as_u16(),
            title: self.title(),
            detail: self.public_detail(),
        };
        super::render_page(status, &page)
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

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FieldErrors>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // API clients get 400 for any input they must correct; 422 is the HTML forms' status.
        let status = match self.0 {
            Error::Invalid(_) => StatusCode::BAD_REQUEST,
            _ => self.0.status(),
        };
        let problem = Problem {
            kind: "about:blank",
            title: self.0.title(),
            status: status.as_u16(),
            detail: self.0.public_detail(),
            errors: match &self.0 {
                Error::Invalid(f) => Some(f),
                _ => None,
            },
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        res
    }
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
