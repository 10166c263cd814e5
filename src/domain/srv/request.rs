//! The share request of the JSON API (`POST /api/v1/srv/shares`): a pool's records typed by a
//! client, and which targets are down. Read and checked here, not in the handler, so that the
//! fuzz target and the tests exercise exactly what the API accepts.

use serde::Deserialize;

use super::{ClientModel, SrvRecord};
use crate::domain::FieldErrors;
use crate::domain::names::normalise_fqdn;

/// At most this many records in one computation: far beyond any real pool, and it bounds the work.
pub const MAX_RECORDS: usize = 1024;

/// Body of `POST /api/v1/srv/shares`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"model": "weighted", "records": [
    {"priority": 10, "weight": 60, "port": 5060, "target": "voip1.example.com"},
    {"priority": 10, "weight": 40, "port": 5060, "target": "voip2.example.com"},
    {"priority": 20, "weight": 0, "port": 5060, "target": "backupbox.example.com"}
], "down": ["voip2.example.com"]}))]
pub struct SharesRequest {
    #[serde(default)]
    pub model: ClientModel,
    #[schema(min_items = 1, max_items = 1024)]
    pub records: Vec<RecordIn>,
    /// Targets that are down, as host names.
    #[serde(default)]
    #[schema(value_type = Vec<HostNameInput>)]
    pub down: Vec<String>,
}

/// What [`normalise_fqdn`] may accept, for the OpenAPI document: ASCII letters, digits, hyphens
/// and dots. A superset on purpose (the label rules are checked by the server and refused with
/// 400 naming the entry), so that nothing the server accepts is described as invalid.
pub struct HostNameInput;

impl utoipa::PartialSchema for HostNameInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^[A-Za-z0-9.-]+$"))
            .min_length(Some(1))
            .max_length(Some(254))
            .into()
    }
}

impl utoipa::ToSchema for HostNameInput {}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordIn {
    #[schema(maximum = 65535)]
    pub priority: u16,
    #[schema(maximum = 65535)]
    pub weight: u16,
    #[schema(minimum = 1, maximum = 65535)]
    pub port: u16,
    #[schema(value_type = HostNameInput)]
    pub target: String,
}

/// A request that passed [`SharesRequest::validate`]: canonical target and down names.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSharesRequest {
    pub model: ClientModel,
    pub records: Vec<SrvRecord>,
    pub down: Vec<String>,
}

impl SharesRequest {
    /// Checks every record and down name, keyed `records[i].target`, `records[i].port`,
    /// `down[i]` so that a client can tell which entry is wrong.
    pub fn validate(&self) -> Result<ValidSharesRequest, FieldErrors> {
        let mut errors = FieldErrors::default();
        if self.records.is_empty() {
            errors.add("records", "give at least one SRV record");
        }
        if self.records.len() > MAX_RECORDS {
            errors.add("records", format!("at most {MAX_RECORDS} records"));
        }
        let mut records = Vec::with_capacity(self.records.len().min(MAX_RECORDS));
        for (i, r) in self.records.iter().enumerate().take(MAX_RECORDS + 1) {
            match normalise_fqdn(&r.target) {
                Ok(t) => records.push(SrvRecord::new(r.priority, r.weight, r.port, t)),
                Err(e) => errors.add(&format!("records[{i}].target"), format!("target {e}")),
            }
            if r.port == 0 {
                errors.add(
                    &format!("records[{i}].port"),
                    "port must be between 1 and 65535",
                );
            }
        }
        let mut down = Vec::new();
        for (i, d) in self.down.iter().enumerate() {
            match normalise_fqdn(d) {
                Ok(t) => down.push(t),
                Err(e) => errors.add(&format!("down[{i}]"), format!("down target {e}")),
            }
        }
        errors.finish()?;
        Ok(ValidSharesRequest {
            model: self.model,
            records,
            down,
        })
    }
}
