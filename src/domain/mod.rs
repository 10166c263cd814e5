//! Pure rules of pbx-pools: the inventory model and its validation, typed ids and names, SRV
//! share math, projections, alert rules, placement, zone rendering and parsing, registration
//! dump parsers, demo data. Each part is unit-tested beside its code.
//!
//! Nothing here performs I/O or knows about HTTP, SQL or an async runtime: it imports only std
//! and pure crates (serde, regex, csv, jiff), never `store`, `app` or `web`, nor any web
//! framework, database driver or async runtime crate. Everything else builds on it.

pub mod alerts;
pub mod audit_diff;
pub mod auth;
pub mod chart;
pub mod csvio;
pub mod demo;
pub mod demo_registrations;
pub mod dnscheck;
pub mod fuzz_checks;
pub mod ids;
pub mod impact;
pub mod model;
pub mod moves;
pub mod names;
pub mod placement;
pub mod pool_change;
pub mod projection;
pub mod registrations;
pub mod search;
pub mod settings;
pub mod srv;
pub mod tenant_book;
pub mod zone;

use serde::Serialize;
use std::fmt;

/// Validation errors keyed by form field, in the order they were found. The web layer shows each
/// next to its field; the API returns them in the problem body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldErrors(Vec<FieldError>);

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldErrors {
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::default();
        e.add(field, message);
        e
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// Records the error of `result` under `field` and returns its value, if any.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(msg) => {
                self.add(field, msg);
                None
            }
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    pub fn finish(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for FieldErrors {}
