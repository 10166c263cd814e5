//! Acting on alerts and remembering them: silences and acknowledgements (stored, audited, and
//! shown over the current alerts through the [`AlertOverlay`]), the history of transitions per
//! object, and the [`Tracker`] the background job runs: it records transitions, delivers them
//! to the webhook and purges old ones, on the one instance holding the `alert-history` lease.
//!
//! Every use case takes `now` (Unix seconds) from its caller, so that tests need no sleeping.

use std::collections::HashMap;
use std::sync::Arc;

use super::cache::{Seen, ViewKey};
use super::webhook::WebhookClient;
use super::{App, Error, Result, cluster};
use crate::domain::alerts::log::{
    Ack, AlertEvent, Silence, SilenceInput, Transition, WebhookEvent, alert_id, note,
    parse_alert_id, retry_delay,
};
use crate::domain::alerts::{Alert, AlertBook, ObjectKind};
use crate::store::DataVersion;

/// The lease that lets one instance record transitions and deliver them.
pub const LEASE: &str = "alert-history";
/// How long the lease lasts without renewal: another instance takes over this long after the
/// holder stopped.
pub const LEASE_SECS: i64 = 30;
/// Events delivered per round at most (the rest wait for the next round, seconds later).
const DELIVERIES_PER_ROUND: u32 = 50;
/// How often old events are purged.
const PURGE_EVERY_SECS: i64 = 3600;

/// Unix seconds now.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// What the pages lay over the current alerts: the silences in force, the acknowledgements and
/// since when each alert is raised (as recorded).
#[derive(Debug, Clone, Default)]
pub struct AlertOverlay {
    silences: Vec<Silence>,
    acks: HashMap<String, Ack>,
    since: HashMap<String, i64>,
}

impl AlertOverlay {
    /// An overlay of these parts (the store's; tests build their own).
    pub fn new(silences: Vec<Silence>, acks: Vec<Ack>, since: HashMap<String, i64>) -> Self {
        Self {
            silences,
            acks: acks.into_iter().map(|a| (a.alert_id.clone(), a)).collect(),
            since,
        }
    }

    /// The silence that hides `alert` at `now`, if one does (the one ending last).
    pub fn silence_for(&self, alert: &Alert, now: i64) -> Option<&Silence> {
        self.silences
            .iter()
            .filter(|s| s.matches(alert, now))
            .max_by_key(|s| (s.ends_at, s.id))
    }

    /// The acknowledgement of the alert `id`.
    pub fn ack(&self, id: &str) -> Option<&Ack> {
        self.acks.get(id)
    }

    /// Since when the alert `id` is raised, as recorded (`None` until the tracker has seen it).
    pub fn since(&self, id: &str) -> Option<i64> {
        self.since.get(id).copied()
    }

    /// The silences that were in force when the overlay was built (check
    /// [`Silence::is_active`] with the time of use).
    pub fn silences(&self) -> &[Silence] {
        &self.silences
    }
}

/// The overlay of the current data, cached per data version and clock tick like the alerts
/// (one rebuild per change, the previous one served meanwhile): cheap to call on every page.
pub async fn overlay(app: &App) -> Result<Arc<AlertOverlay>> {
    overlay_known(app, None, Seen::default()).await
}

/// [`overlay`] for a reader that has written (`seen`): it waits for an overlay that includes
/// its write, so a silence just created shows on the page the form leads to.
pub async fn overlay_for(app: &App, seen: Seen) -> Result<Arc<AlertOverlay>> {
    overlay_known(app, None, seen).await
}

/// [`overlay_for`] for a caller that has read the data version already (`None`: read here).
pub async fn overlay_known(
    app: &App,
    version: Option<DataVersion>,
    seen: Seen,
) -> Result<Arc<AlertOverlay>> {
    let version = match version {
        // A version read before the reader's own last write (a recently read one) is not enough.
        Some(v) if v >= seen.0 => v,
        _ => app.store.data_version().await?,
    };
    let builder = app.clone();
    let cached = app
        .shared
        .overlay
        .get(ViewKey::now(version), seen, move || async move {
            build_overlay(&builder).await
        })
        .await?;
    Ok(cached.value)
}

async fn build_overlay(app: &App) -> Result<AlertOverlay> {
    let silences = app.store.active_silences(now()).await?;
    let acks = app.store.acks().await?;
    let since = app.store.alert_since().await?;
    Ok(AlertOverlay::new(silences, acks, since))
}

/// The current alerts, including every change committed so far (the writer's view).
async fn current_alerts(app: &App) -> Result<Arc<AlertBook>> {
    let version = app.store.data_version().await?;
    cluster::alerts(app, Seen(version)).await
}

/// The current alert with this id, or a field error naming `field`.
async fn current_alert(app: &App, id: &str, field: &str) -> Result<Alert> {
    let id = parse_alert_id(id).map_err(|e| Error::field(field, e))?;
    current_alerts(app)
        .await?
        .alerts
        .iter()
        .find(|a| alert_id(a) == id)
        .cloned()
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no current alert has the id {id}: it may have cleared meanwhile"
            ))
        })
}

// ---------------------------------------------------------------------------------------------
// Silences and acknowledgements.

/// Creates a silence from a filter (kind, server, pool, tenant) or for one alert (`alert_id`,
/// which must be a current alert's), lasting `input.minutes` from `now`.
pub async fn create_silence(
    app: &App,
    input: &SilenceInput,
    actor: &str,
    now: i64,
) -> Result<Silence> {
    let new = input.validate(now).map_err(Error::Invalid)?;
    if let Some(id) = &new.alert_id {
        current_alert(app, id, "alert_id").await?;
    }
    Ok(app.store.create_silence(&new, actor).await?)
}

/// Ends the silence `id` now.
pub async fn remove_silence(app: &App, id: i64, actor: &str, now: i64) -> Result<Silence> {
    Ok(app.store.remove_silence(id, actor, now).await?)
}

/// The silences in force at `now`, and the most recent `ended` ones that ended.
pub struct SilenceLists {
    pub active: Vec<Silence>,
    pub ended: Vec<Silence>,
}

pub async fn silences(app: &App, now: i64, ended: u32) -> Result<SilenceLists> {
    Ok(SilenceLists {
        active: app.store.active_silences(now).await?,
        ended: app.store.ended_silences(now, ended).await?,
    })
}

/// Acknowledges the current alert `id` with a note (may be empty); again replaces the note.
pub async fn acknowledge(
    app: &App,
    id: &str,
    note_text: &str,
    actor: &str,
    now: i64,
) -> Result<Ack> {
    let note = note(note_text, false).map_err(|e| Error::field("note", e))?;
    let alert = current_alert(app, id, "alert_id").await?;
    Ok(app
        .store
        .set_ack(&alert_id(&alert), &note, actor, now)
        .await?)
}

/// Withdraws the acknowledgement of the alert `id`.
pub async fn unacknowledge(app: &App, id: &str, actor: &str) -> Result<Ack> {
    let id = parse_alert_id(id).map_err(|e| Error::field("alert_id", e))?;
    Ok(app.store.clear_ack(&id, actor).await?)
}

// ---------------------------------------------------------------------------------------------
// History.

/// The newest `limit` transitions of the alerts that named this server, pool or tenant, newest
/// first: the history a tenant's, server's or pool's page shows.
pub async fn history_for(
    app: &App,
    kind: ObjectKind,
    name: &str,
    limit: u32,
) -> Result<Vec<AlertEvent>> {
    Ok(app.store.alert_history_of(kind, name, limit).await?)
}

/// The newest `limit` transitions of one alert, newest first.
pub async fn alert_history(app: &App, id: &str, limit: u32) -> Result<Vec<AlertEvent>> {
    let id = parse_alert_id(id).map_err(|e| Error::field("alert_id", e))?;
    Ok(app.store.alert_history(&id, limit).await?)
}

// ---------------------------------------------------------------------------------------------
// Recording, delivering, purging.

/// Records the transitions from the recorded state to `alerts` at `now`; the events are due to
/// the webhook when one is configured.
pub async fn record(app: &App, alerts: &[Alert], now: i64) -> Result<Vec<Transition>> {
    let (settings, _) = app.store.settings().await?;
    let deliver = !settings.webhook_url.is_empty();
    Ok(app.store.record_alerts(alerts, now, deliver).await?)
}

/// Evaluates the current alerts (including every committed change) and records their
/// transitions at `now`. Without the lease any instance may call it; the store serialises the
/// recorders, so no transition is written twice.
pub async fn record_transitions(app: &App, now: i64) -> Result<Vec<Transition>> {
    let alerts = current_alerts(app).await?;
    record(app, &alerts.alerts, now).await
}

/// What one [`Tracker::tick`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    /// This instance held the lease (and did the rest).
    pub leader: bool,
    pub transitions: usize,
    pub delivered: usize,
    pub failed: usize,
    pub purged: u64,
}

/// The background work on alert history of one instance: each tick, if it holds the lease,
/// record transitions, deliver due webhook events, and now and then purge old events.
pub struct Tracker {
    holder: String,
    client: Option<WebhookClient>,
    last_purge: Option<i64>,
    /// The alerts this tracker recorded last, while it held the lease since: the same cached
    /// list (the alerts cache hands out the same `Arc` until data or the clock tick change)
    /// has nothing new to record, and is not compared with the database again.
    recorded: Option<Arc<AlertBook>>,
    /// When this tracker last took or renewed the lease.
    leased_at: Option<std::time::Instant>,
}

impl Tracker {
    /// The tracker of `app`'s instance (the lease is held in its name).
    pub fn new(app: &App) -> Self {
        Self {
            holder: app.shared.instance.clone(),
            client: None,
            last_purge: None,
            recorded: None,
            leased_at: None,
        }
    }

    pub async fn tick(&mut self, app: &App, now: i64) -> Result<Tick> {
        let mut tick = Tick::default();
        if !app.store.try_lease(LEASE, &self.holder, LEASE_SECS).await? {
            // Another instance records meanwhile: compare with the database when back.
            self.recorded = None;
            self.leased_at = None;
            return Ok(tick);
        }
        tick.leader = true;
        // A lease that lapsed in between (a stalled tick) may have let another instance record.
        let held = self.leased_at.replace(std::time::Instant::now());
        if held.is_none_or(|at| at.elapsed().as_secs() >= LEASE_SECS as u64) {
            self.recorded = None;
        }
        let alerts = current_alerts(app).await?;
        if !self
            .recorded
            .as_ref()
            .is_some_and(|last| Arc::ptr_eq(last, &alerts))
        {
            tick.transitions = record(app, &alerts.alerts, now).await?.len();
            self.recorded = Some(alerts);
        }
        let (delivered, failed) = self.deliver(app, now).await?;
        tick.delivered = delivered;
        tick.failed = failed;
        if self
            .last_purge
            .is_none_or(|at| now - at >= PURGE_EVERY_SECS)
        {
            let (settings, _) = app.store.settings().await?;
            tick.purged = app
                .store
                .purge_alert_log(now - settings.retention_secs())
                .await?;
            self.last_purge = Some(now);
        }
        Ok(tick)
    }

    /// Delivers the due events in order; stops at the first failure (it is retried after its
    /// backoff, the later ones wait behind it) or when the lease is lost.
    async fn deliver(&mut self, app: &App, now: i64) -> Result<(usize, usize)> {
        let (settings, _) = app.store.settings().await?;
        if settings.webhook_url.is_empty() {
            return Ok((0, 0));
        }
        let due = app
            .store
            .due_alert_events(now, DELIVERIES_PER_ROUND)
            .await?;
        let client = self.client.get_or_insert_with(WebhookClient::new);
        let mut delivered = 0;
        for event in due {
            let body = serde_json::to_vec(&WebhookEvent::of(&event))
                .map_err(|e| Error::BadInput(e.to_string()))?;
            match client
                .post_json(&settings.webhook_url, &settings.webhook_secret, body)
                .await
            {
                Ok(()) => {
                    app.store.mark_alert_event_delivered(event.id, now).await?;
                    delivered += 1;
                }
                Err(error) => {
                    let attempts = event.attempts.saturating_add(1);
                    let next = now + retry_delay(attempts);
                    tracing::warn!(event = event.id, attempts, %error, "webhook delivery failed");
                    app.store
                        .mark_alert_event_failed(event.id, attempts, next, &error)
                        .await?;
                    return Ok((delivered, 1));
                }
            }
            // A slow receiver must not outlast the lease unnoticed: another instance would
            // deliver the same events meanwhile.
            if !app.store.try_lease(LEASE, &self.holder, LEASE_SECS).await? {
                self.leased_at = None;
                self.recorded = None;
                break;
            }
            self.leased_at = Some(std::time::Instant::now());
        }
        Ok((delivered, 0))
    }
}

/// The overlay at one moment, as the alerts listing asks it: silence, acknowledgement and
/// raised-since time of each alert.
pub struct StatesAt {
    pub overlay: Arc<AlertOverlay>,
    pub now: i64,
}

impl crate::domain::alerts::listing::AlertStates for StatesAt {
    fn state(&self, alert: &Alert) -> crate::domain::alerts::listing::AlertState {
        use crate::domain::alerts::listing::{AckNote, AlertState, SilenceNote};
        AlertState {
            silence: self
                .overlay
                .silence_for(alert, self.now)
                .map(|s| SilenceNote {
                    until: s.ends_at,
                    by: s.created_by.clone(),
                    reason: s.reason.clone(),
                }),
            ack: self.overlay.ack(&alert.id).map(|a| AckNote {
                at: a.at,
                by: a.by.clone(),
                note: a.note.clone(),
            }),
            since: self.overlay.since(&alert.id),
        }
    }

    fn is_silenced(&self, alert: &Alert) -> bool {
        self.overlay.silence_for(alert, self.now).is_some()
    }

    fn since(&self, alert: &Alert) -> Option<i64> {
        self.overlay.since(&alert.id)
    }
}

/// The states of the alerts now (see [`StatesAt`]), for a reader that has seen `seen` and
/// may have read the data version already (`version`; `None` reads it here).
pub async fn states(app: &App, version: Option<DataVersion>, seen: Seen) -> Result<StatesAt> {
    Ok(StatesAt {
        overlay: overlay_known(app, version, seen).await?,
        now: now(),
    })
}
