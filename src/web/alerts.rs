//! The alerts page and API: everything the rules found, filterable by kind, severity, tenant and
//! server, each alert linking the objects it names.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::extract::{Path, Query};
use super::{ApiError, AppState, Error, PageCtx, Result, Routes, page};
use crate::app::Seen;
use crate::app::cluster::alerts;
use crate::domain::FieldErrors;
use crate::domain::alerts::{Alert, AlertCounts, AlertKind, ObjectKind, ObjectRef, count};
use crate::domain::srv::Severity;

pub fn router() -> Routes {
    Routes::new()
        .get("/alerts", list)
        .get("/api/v1/alerts", api_list)
        .get("/go/{kind}/{name}", go)
}

#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    server: String,
}

fn parse_severity(s: &str) -> Result<Option<Severity>> {
    Ok(match s {
        "" => None,
        "info" => Some(Severity::Info),
        "warning" => Some(Severity::Warning),
        "critical" => Some(Severity::Critical),
        other => {
            return Err(Error::Invalid(FieldErrors::single(
                "severity",
                format!("unknown severity {other:?}: use info, warning or critical"),
            )));
        }
    })
}

/// Applies the filter; `severity` means that severity or worse.
fn filtered(all: &[Alert], f: &Filter) -> Result<Vec<Alert>> {
    let kind = if f.kind.is_empty() {
        None
    } else {
        Some(
            f.kind
                .parse::<AlertKind>()
                .map_err(|e| Error::Invalid(FieldErrors::single("kind", e.to_string())))?,
        )
    };
    let severity = parse_severity(&f.severity)?;
    Ok(all
        .iter()
        .filter(|a| kind.is_none_or(|k| a.kind == k))
        .filter(|a| severity.is_none_or(|s| a.severity >= s))
        .filter(|a| f.tenant.is_empty() || a.concerns(ObjectKind::Tenant, &f.tenant))
        .filter(|a| f.server.is_empty() || a.concerns(ObjectKind::Server, &f.server))
        .cloned()
        .collect())
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct ListPage {
    ctx: PageCtx,
    filter: Filter,
    alerts: Vec<Alert>,
    counts: AlertCounts,
    total: usize,
    kinds: [AlertKind; 14],
}

impl ListPage {
    fn href(&self, o: &ObjectRef) -> Option<String> {
        object_href(o)
    }
}

/// Where an alert's object is shown.
pub fn object_href(o: &ObjectRef) -> Option<String> {
    match o.kind {
        ObjectKind::Endpoint => None,
        kind => Some(format!(
            "/go/{}/{}",
            kind.as_str(),
            super::forms::q(&o.name)
        )),
    }
}

async fn list(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    Query(filter): Query<Filter>,
) -> Result<Response> {
    let all = alerts(&st.app, seen).await?;
    let shown = filtered(&all.alerts, &filter)?;
    Ok(page(&ListPage {
        ctx,
        counts: count(&shown),
        total: all.alerts.len(),
        alerts: shown,
        filter,
        kinds: AlertKind::ALL,
    }))
}

async fn api_list(
    State(st): State<AppState>,
    seen: Seen,
    Query(filter): Query<Filter>,
) -> Result<Json<Vec<Alert>>, ApiError> {
    let all = alerts(&st.app, seen).await?;
    Ok(Json(filtered(&all.alerts, &filter)?))
}

/// Links by name (alerts name objects, pages are addressed by id).
async fn go(
    State(st): State<AppState>,
    Path((kind, name)): Path<(String, String)>,
) -> Result<Response> {
    let to = match kind.as_str() {
        "server" => format!("/servers/{}", st.store().server_by_name(&name).await?.id),
        "pool" => format!("/pools/{}", st.store().pool_by_name(&name).await?.id),
        "tenant" => format!("/tenants/{}", st.store().tenant_by_code(&name).await?.id),
        _ => return Err(Error::NotFound(format!("nothing of kind {kind:?} to show"))),
    };
    Ok(Redirect::to(&to).into_response())
}
