//! The application layer's one error type. Input and state problems carry a message meant for
//! the admin; a failure of the storage keeps its cause, for the log only.

use crate::domain::FieldErrors;
use crate::store;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Input the admin must correct, keyed by field.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// Input that cannot be read at all (a malformed dump, an unknown format).
    #[error("{0}")]
    BadInput(String),
    /// A stale edit: someone changed the data since the admin looked.
    #[error("{0}")]
    Conflict(String),
    /// A change refused because other objects depend on this one.
    #[error("{0}")]
    InUse(String),
    /// The storage failed; the cause is kept for the log.
    #[error("the database failed")]
    Store(#[source] store::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<store::Error> for Error {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::NotFound { .. } => Error::NotFound(e.to_string()),
            store::Error::Conflict(m) => Error::Conflict(m),
            store::Error::Invalid(f) => Error::Invalid(f),
            store::Error::InUse(m) => Error::InUse(m),
            other => Error::Store(other),
        }
    }
}

impl Error {
    /// A single field error, the usual way use cases refuse a parameter.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid(FieldErrors::single(field, message))
    }
}

/// An error and its chain of causes, `outer: inner: innermost`, for the log: a storage failure
/// shows as "the database failed" to the admin, and only its causes say why.
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
