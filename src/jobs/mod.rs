//! Background work of a running dashboard: keeping the cluster view and alerts warm, the
//! periodic DNS check, recording alert transitions (and sending them to the webhook), and
//! purging expired sessions. Each loop calls the application layer
//! ([`crate::app`]) like any page does, and is safe with several instances on one database.
//!
//! May import: [`crate::app`], [`crate::store`] (leases) and [`crate::domain`]; never the web
//! layer.

use std::time::Duration;

use crate::app::{self, App};

/// Asks for the alerts (and so the view) every two seconds, like a reader that wrote nothing: a
/// change or a new clock tick then starts the one background rebuild, and pages find the new
/// view ready instead of waiting for it.
pub async fn keep_views_warm(app: App) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        if let Err(e) = app::cluster::alerts(&app, app::Seen::default()).await {
            tracing::warn!(error = %app::chain(&e), "refreshing the cluster view and alerts failed");
        }
    }
}

/// Drops expired sessions and closed login-throttle windows now and then; any instance may do
/// it, the deletes are idempotent.
pub async fn purge_sessions(app: App) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(e) = app.store().purge_expired_sessions().await {
            tracing::warn!(error = %app::chain(&e), "purging expired sessions failed");
        }
        if let Err(e) = app
            .store()
            .purge_login_attempts(app::accounts::ATTEMPT_WINDOW_SECS)
            .await
        {
            tracing::warn!(error = %app::chain(&e), "purging login-attempt counters failed");
        }
    }
}

/// Checkpoints the SQLite write-ahead log every 250 ms, so that no write waits for a
/// checkpoint (see `Store::take_over_checkpoints`). Nothing to do on PostgreSQL.
pub async fn checkpoint_wal(app: App) {
    match app.store().take_over_checkpoints().await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => {
            tracing::warn!(error = %app::chain(&e), "taking over the SQLite checkpoints failed; commits keep checkpointing");
            return;
        }
    }
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        if let Err(e) = app.store().checkpoint().await {
            tracing::warn!(error = %app::chain(&e), "checkpointing the SQLite write-ahead log failed; the next round tries again");
        }
    }
}

/// Runs the DNS check on the settings' interval. Several instances may share the database: the
/// one holding the lease runs it, the others skip their turn.
pub async fn background_dns_check(app: App) {
    let holder = format!(
        "{}-{}",
        std::process::id(),
        crate::domain::auth::new_secret("").unwrap_or_default()
    );
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    let mut last_run = 0i64;
    loop {
        tick.tick().await;
        let Ok((settings, _)) = app.store().settings().await else {
            continue;
        };
        let every = settings.dns_check_minutes as i64 * 60;
        let now = jiff::Timestamp::now().as_second();
        if every == 0 || now - last_run < every {
            continue;
        }
        match app
            .store()
            .try_lease("dns-check", &holder, every.max(60))
            .await
        {
            Ok(true) => {
                last_run = now;
                match app::dns::run_check(&app, "background").await {
                    Ok(r) => tracing::info!(exit_code = r.exit_code(), "background DNS check"),
                    Err(e) => {
                        tracing::warn!(error = %app::chain(&e), "background DNS check failed")
                    }
                }
            }
            Ok(false) => last_run = now,
            Err(e) => tracing::warn!(error = %app::chain(&e), "DNS check lease"),
        }
    }
}

/// Every five seconds, on the instance holding the `alert-history` lease: records the alerts'
/// transitions (so that time-only alerts such as a stale report are raised and cleared without
/// any data change), delivers due webhook events, and purges events older than the registration
/// history now and then. The other instances only try the lease, and take over within
/// [`app::alert_log::LEASE_SECS`] when the holder stops.
pub async fn track_alerts(app: App) {
    let mut tracker = app::alert_log::Tracker::new(&app);
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // Moves first: a move done or stalled changes the alerts recorded next. Every instance
        // may track; each move's change is conditional on its version, so it happens once.
        match app::moves::track(&app, app::alert_log::now()).await {
            Ok(t) if t.done + t.stalled > 0 => {
                tracing::info!(done = t.done, stalled = t.stalled, "tenant moves")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %app::chain(&e), "tracking tenant moves failed"),
        }
        match tracker.tick(&app, app::alert_log::now()).await {
            Ok(t) if t.transitions + t.delivered + t.failed > 0 || t.purged > 0 => {
                tracing::info!(
                    transitions = t.transitions,
                    delivered = t.delivered,
                    failed = t.failed,
                    purged = t.purged,
                    "alert history"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %app::chain(&e), "recording alert transitions failed"),
        }
    }
}
