//! The audit log page: every change, newest first, filterable by actor, object and time.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::extract::Query;
use super::forms::{PageLink, pager, q};
use super::{AppState, Error, PageCtx, Result, Routes, page};
use crate::domain::audit_diff::{FieldChange, changed_fields};
use crate::store::{AuditEntry, AuditQuery};

pub fn router() -> Routes {
    Routes::new().get("/audit", list)
}

#[derive(Debug, Default, Deserialize)]
struct Params {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    object: String,
    /// Dates (YYYY-MM-DD, UTC) bounding the entries shown; `until` is inclusive.
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    page: Option<u32>,
}

/// One audit row as shown: time formatted, the changed fields, and the JSON snapshots kept
/// verbatim for the full view.
struct Row {
    entry: AuditEntry,
    when: String,
    changes: Vec<FieldChange>,
}

/// The object kinds the audit log records, offered by the filter.
const KINDS: [&str; 9] = [
    "server", "pool", "tenant", "cluster", "user", "token", "settings", "silence", "alert",
];

#[derive(Template)]
#[template(path = "audit/list.html")]
struct ListPage {
    ctx: PageCtx,
    params: Params,
    rows: Vec<Row>,
    total: u64,
    pager: Vec<PageLink>,
    kinds: [&'static str; 9],
}

impl ListPage {
    fn kind_selected(&self, kind: &str) -> bool {
        self.params.kind == kind
    }
}

fn day_start(s: &str, field: &str) -> Result<Option<i64>> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let date: jiff::civil::Date = s.trim().parse().map_err(|_| {
        Error::BadRequest(format!("{field} must be a date like 2026-11-26, not {s:?}"))
    })?;
    let ts = date
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| Error::BadRequest(format!("{field}: {e}")))?
        .timestamp();
    Ok(Some(ts.as_second()))
}

async fn list(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(params): Query<Params>,
) -> Result<Response> {
    let since = day_start(&params.since, "since")?;
    let until = day_start(&params.until, "until")?.map(|t| t + 86_400);
    let query = AuditQuery {
        actor: Some(params.actor.clone()),
        object_kind: Some(params.kind.clone()),
        object_name: Some(params.object.clone()),
        since,
        until,
        page: params.page.unwrap_or(1).max(1),
        per_page: 100,
    };
    let (entries, total) = st.store().audit_entries(&query).await?;
    let pages = total.div_ceil(100).max(1) as u32;
    let pager = pager(query.page, pages, |p| {
        format!(
            "/audit?actor={}&kind={}&object={}&since={}&until={}&page={p}",
            q(&params.actor),
            q(&params.kind),
            q(&params.object),
            q(&params.since),
            q(&params.until)
        )
    });
    let rows = entries
        .into_iter()
        .map(|entry| Row {
            when: ctx.time(entry.at),
            changes: changed_fields(entry.before.as_deref(), entry.after.as_deref()),
            entry,
        })
        .collect();
    Ok(page(&ListPage {
        ctx,
        params,
        rows,
        total,
        pager,
        kinds: KINDS,
    }))
}
