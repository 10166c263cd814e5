//! The extractors handlers use, with every rejection mapped to an [`Error`] in one place: the
//! framework's own rejections are plain text that names Rust types ("Cannot parse `abc` to a
//! `i64`"). [`error_responses`](super::error::error_responses) then answers each as a page, or
//! under `/api/` as a problem document.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};

use super::Error;

/// `axum::extract::Path`: a parameter that does not parse (`/servers/abc`) names nothing, 404.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub struct Path<T>(pub T);

/// `axum::extract::Query`: a query string that does not fit is a bad request.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub struct Query<T>(pub T);

/// `axum::Form`: urlencoded bodies only (415 otherwise); one that does not fit is a bad request.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(Error))]
pub struct Form<T>(pub T);

/// What serde said was wrong, without the framework's wording around it.
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    e.source()
        .map(ToString::to_string)
        .unwrap_or_else(|| e.to_string())
}

impl From<PathRejection> for Error {
    fn from(r: PathRejection) -> Self {
        match r {
            PathRejection::FailedToDeserializePathParams(_) => {
                Error::NotFound("There is no page at this address.".into())
            }
            // A route whose handler wants parameters its path does not have: our bug.
            other => Error::internal(other.body_text()),
        }
    }
}

impl From<QueryRejection> for Error {
    fn from(r: QueryRejection) -> Self {
        Error::BadRequest(format!(
            "The query string could not be read: {}.",
            cause(&r)
        ))
    }
}

impl From<FormRejection> for Error {
    fn from(r: FormRejection) -> Self {
        match r {
            FormRejection::InvalidFormContentType(_) => Error::UnsupportedMediaType(
                "A form must be sent as application/x-www-form-urlencoded.".into(),
            ),
            FormRejection::FailedToDeserializeForm(_)
            | FormRejection::FailedToDeserializeFormBody(_) => {
                Error::BadRequest(format!("The form could not be read: {}.", cause(&r)))
            }
            _ => Error::BadRequest("The request body could not be read.".into()),
        }
    }
}

impl From<JsonRejection> for Error {
    fn from(r: JsonRejection) -> Self {
        Error::BadRequest(match r {
            JsonRejection::MissingJsonContentType(_) => {
                "The request body must be JSON, sent as application/json.".to_string()
            }
            JsonRejection::JsonSyntaxError(_) => {
                format!("The request body is not valid JSON: {}.", cause(&r))
            }
            JsonRejection::JsonDataError(_) => {
                format!("The request body does not fit this call: {}.", cause(&r))
            }
            _ => "The request body could not be read.".to_string(),
        })
    }
}
