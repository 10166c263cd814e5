//! Registration reports as a use case: choose the dump's format, parse it, and store it as the
//! server's new picture. A malformed dump is refused whole and the previous picture stays.

use super::{App, Error, Result};
use crate::domain::model::Server;
use crate::domain::registrations::{DumpFormat, Registration, parse_dump};
use crate::store::{IngestPolicy, IngestSummary};

/// Chooses the dump format: an explicit `format` wins, then the content type, then a look at
/// the text.
pub fn choose_format(
    format: Option<&str>,
    content_type: Option<&str>,
    body: &str,
) -> Result<DumpFormat> {
    if let Some(f) = format.filter(|f| !f.is_empty()) {
        return f
            .parse::<DumpFormat>()
            .map_err(|e| Error::BadInput(e.to_string()));
    }
    if let Some(f) = content_type.and_then(DumpFormat::from_content_type) {
        return Ok(f);
    }
    DumpFormat::sniff(body).ok_or_else(|| {
        Error::BadInput(
            "could not tell the dump's format: add ?format=pjsip-contacts|sip-peers|ami-contacts|csv|json".into(),
        )
    })
}

/// Parses and stores one server's dump.
pub async fn ingest(
    app: &App,
    server: &Server,
    format: DumpFormat,
    body: &str,
    actor: &str,
) -> Result<IngestSummary> {
    let rows = parse(format, body)?;
    store_rows(app, server, format, rows, actor).await
}

/// The dump's rows, or why it was refused. A caller that owns a large dump drops it after this
/// and before [`store_rows`]: the rows own their text (issue 14, the memory of a 100,000-contact
/// report: the dump is ~9 MB of it).
pub fn parse(format: DumpFormat, body: &str) -> Result<Vec<Registration>> {
    let started = std::time::Instant::now();
    let rows = parse_dump(format, body)
        .map_err(|e| Error::BadInput(format!("the {format} dump was refused: {e}")))?;
    tracing::debug!(
        parsed_ms = started.elapsed().as_secs_f64() * 1e3,
        rows = rows.len(),
        "dump parsed"
    );
    Ok(rows)
}

/// Stores parsed rows as the server's new picture.
pub async fn store_rows(
    app: &App,
    server: &Server,
    format: DumpFormat,
    rows: Vec<Registration>,
    actor: &str,
) -> Result<IngestSummary> {
    // Where a push's time goes besides the store (logged at debug level).
    let started = std::time::Instant::now();
    let (settings, _) = app.store().settings().await?;
    let policy = IngestPolicy::from_settings(&settings);
    let settings_ms = started.elapsed().as_secs_f64() * 1e3;
    let summary = store_off_the_runtime(app, server, format, rows, policy, actor).await?;
    tracing::info!(server = %server.name, contacts = summary.contacts, registered = summary.registered, "snapshot stored");
    // Phones that re-registered may end a tenant's move.
    let stored_ms = started.elapsed().as_secs_f64() * 1e3;
    super::moves::track_quietly(app).await;
    tracing::debug!(
        settings_ms,
        stored_ms,
        tracked_ms = started.elapsed().as_secs_f64() * 1e3,
        "ingest use case (ms since the start at the end of each step)"
    );
    Ok(summary)
}

/// Stores the report on a thread of its own, not among the request tasks. A report is some 35
/// statements, each a hand-off to SQLite's worker thread and back; on the runtime's workers
/// each wake-up queued behind every request in flight, where a blocking thread is woken by the
/// operating system. Measured side by side (40 s of 64 connections on `/` with a push a
/// second, twice each): push p50 93.5 / 104.9 ms on a thread of its own, 106.5 / 111.9 ms on
/// the runtime. Under such load the rest is the cores' fair share: alone a push takes ~22 ms.
async fn store_off_the_runtime(
    app: &App,
    server: &Server,
    format: DumpFormat,
    rows: Vec<Registration>,
    policy: IngestPolicy,
    actor: &str,
) -> Result<IngestSummary> {
    let store = app.store().clone();
    let (server_id, actor) = (server.id, actor.to_string());
    let runtime = tokio::runtime::Handle::current();
    let stored = tokio::task::spawn_blocking(move || {
        runtime.block_on(store.ingest(server_id, format.as_str(), rows, &policy, &actor))
    })
    .await;
    match stored {
        Ok(summary) => Ok(summary?),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only when the runtime shuts down before the thread ran: the store is closing too.
        Err(_) => Err(crate::store::Error::Database(sqlx::Error::PoolClosed).into()),
    }
}
