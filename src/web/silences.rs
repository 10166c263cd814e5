//! Silences, acknowledgements and alert history: the silences page (active and ended, a form to
//! silence by filter or one alert), the acknowledge and unacknowledge buttons' targets, an
//! object's or an alert's history page, and the silences API.
//!
//! Writes redirect to `/alerts`, or to the form's `back` field when it is a path on this site.
//! The history partial (`templates/partials/alert_history.html`) is for the tenant, server and
//! pool pages too: their template struct needs `alert_history: Vec<AlertEvent>` (from
//! [`crate::app::alert_log::history_for`]) beside `ctx`, and its module `use super::filters;`.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::api::{ApiJson, ApiResult};
use super::auth::{AdminOnly, Principal};
use super::extract::{Form, Path, Query};
use super::{AppState, Error, Flash, PageCtx, Result, Routes, filters, page, render_page};
use crate::app::alert_log::{self, now};
use crate::app::{Seen, cluster};
use crate::domain::FieldErrors;
use crate::domain::alerts::log::{AlertEvent, Silence, SilenceInput};
use crate::domain::alerts::{Alert, AlertKind, ObjectKind};

pub fn router() -> Routes {
    Routes::new()
        .get("/alerts/silences", list)
        .post("/alerts/silences", create)
        .post("/alerts/silences/{id}/remove", remove)
        .post("/alerts/ack", ack)
        .post("/alerts/unack", unack)
        .get("/alerts/history", history)
        .get("/api/v1/silences", api_list)
        .post("/api/v1/silences", api_create)
        .delete("/api/v1/silences/{id}", api_remove)
}

/// Ended silences listed on the page and by the API.
const ENDED_SHOWN: u32 = 50;
/// History rows on the history page.
const HISTORY_SHOWN: u32 = 200;

/// The durations the form offers, in minutes, and their labels.
const DURATIONS: [(&str, &str); 4] = [
    ("60", "1 hour"),
    ("240", "4 hours"),
    ("1440", "24 hours"),
    ("10080", "7 days"),
];

/// Where a write leads: the form's `back` when it is a path on this site, else `/alerts`.
fn back_to(back: &str) -> String {
    match back.trim() {
        "" => "/alerts".into(),
        b => super::safe_redirect_target(b).to_string(),
    }
}

/// The silence form as typed (also prefilled from the query string of a "Silence…" link).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct SilenceForm {
    kind: String,
    server: String,
    pool: String,
    tenant: String,
    alert_id: String,
    /// Minutes from [`DURATIONS`], or `custom`.
    duration: String,
    custom_minutes: String,
    reason: String,
    back: String,
}

impl SilenceForm {
    fn input(&self) -> SilenceInput {
        SilenceInput {
            kind: self.kind.clone(),
            server: self.server.clone(),
            pool: self.pool.clone(),
            tenant: self.tenant.clone(),
            alert_id: self.alert_id.clone(),
            minutes: match self.duration.trim() {
                "custom" | "" => self.custom_minutes.clone(),
                d => d.to_string(),
            },
            reason: self.reason.clone(),
        }
    }
}

/// An active silence and how many current alerts it hides.
struct ActiveRow {
    silence: Silence,
    hides: usize,
}

#[derive(Template)]
#[template(path = "alerts/silences.html")]
struct SilencesPage {
    ctx: PageCtx,
    active: Vec<ActiveRow>,
    ended: Vec<Silence>,
    form: SilenceForm,
    errors: FieldErrors,
    /// The alert the form silences, when it names one that is current.
    target: Option<Alert>,
    kinds: &'static [AlertKind],
    durations: &'static [(&'static str, &'static str)],
    now: i64,
}

impl SilencesPage {
    fn kind_label<'a>(&self, kind: &'a str) -> &'a str {
        kind.parse::<AlertKind>()
            .map(AlertKind::label)
            .unwrap_or(kind)
    }

    /// How long the silence still lasts.
    fn left(&self, s: &Silence) -> String {
        filters::format_duration((s.ends_at - self.now).max(0))
    }

    fn custom(&self) -> bool {
        !self.form.duration.is_empty() && !DURATIONS.iter().any(|(m, _)| *m == self.form.duration)
    }
}

async fn render(
    st: &AppState,
    ctx: PageCtx,
    seen: Seen,
    form: SilenceForm,
    errors: FieldErrors,
) -> Result<SilencesPage> {
    let at = now();
    let lists = alert_log::silences(&st.app, at, ENDED_SHOWN).await?;
    let alerts = cluster::alerts(&st.app, seen).await?;
    let active = lists
        .active
        .into_iter()
        .map(|silence| ActiveRow {
            hides: alerts
                .alerts
                .iter()
                .filter(|a| silence.matches(a, at))
                .count(),
            silence,
        })
        .collect();
    let wanted = form.alert_id.trim().to_ascii_lowercase();
    let target = (!wanted.is_empty())
        .then(|| alerts.alerts.iter().find(|a| a.id == wanted).cloned())
        .flatten();
    Ok(SilencesPage {
        ctx,
        active,
        ended: lists.ended,
        form,
        errors,
        target,
        kinds: &AlertKind::ALL,
        durations: &DURATIONS,
        now: at,
    })
}

async fn list(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    Query(mut form): Query<SilenceForm>,
) -> Result<Response> {
    if form.duration.is_empty() {
        form.duration = "60".into();
    }
    if form.back.is_empty() {
        form.back = "/alerts/silences".into();
    }
    Ok(page(
        &render(&st, ctx, seen, form, FieldErrors::default()).await?,
    ))
}

async fn create(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    principal: Principal,
    Form(form): Form<SilenceForm>,
) -> Result<Response> {
    match alert_log::create_silence(&st.app, &form.input(), &principal.actor(), now()).await {
        Ok(s) => Ok(Flash::redirect(
            back_to(&form.back),
            format!("Silence {} created, until {}.", s.id, ctx.time(s.ends_at)),
        )
        .into_response()),
        Err(crate::app::Error::Invalid(errors)) => Ok(render_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &render(&st, ctx, seen, form, errors).await?,
        )),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BackForm {
    back: String,
}

async fn remove(
    State(st): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    Form(form): Form<BackForm>,
) -> Result<Response> {
    let s = alert_log::remove_silence(&st.app, id, &principal.actor(), now()).await?;
    Ok(Flash::redirect(
        back_to(&form.back),
        format!("Silence {} removed: the alerts it hid show again.", s.id),
    )
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AckForm {
    alert_id: String,
    note: String,
    back: String,
}

async fn ack(
    State(st): State<AppState>,
    principal: Principal,
    Form(form): Form<AckForm>,
) -> Result<Response> {
    alert_log::acknowledge(
        &st.app,
        &form.alert_id,
        &form.note,
        &principal.actor(),
        now(),
    )
    .await?;
    Ok(Flash::redirect(back_to(&form.back), "Alert acknowledged.").into_response())
}

async fn unack(
    State(st): State<AppState>,
    principal: Principal,
    Form(form): Form<AckForm>,
) -> Result<Response> {
    alert_log::unacknowledge(&st.app, &form.alert_id, &principal.actor()).await?;
    Ok(Flash::redirect(back_to(&form.back), "Acknowledgement withdrawn.").into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct HistoryParams {
    /// `tenant`, `server` or `pool`, with `name`; or `alert` with an alert id.
    kind: String,
    name: String,
    alert: String,
}

#[derive(Template)]
#[template(path = "alerts/history.html")]
struct HistoryPage {
    ctx: PageCtx,
    title: String,
    alert_history: Vec<AlertEvent>,
}

async fn history(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(p): Query<HistoryParams>,
) -> Result<Response> {
    let (title, events) = if !p.alert.trim().is_empty() {
        (
            format!("History of alert {}", p.alert.trim()),
            alert_log::alert_history(&st.app, &p.alert, HISTORY_SHOWN).await?,
        )
    } else {
        let kind = match p.kind.as_str() {
            "tenant" => ObjectKind::Tenant,
            "server" => ObjectKind::Server,
            "pool" => ObjectKind::Pool,
            _ => {
                return Err(Error::Invalid(FieldErrors::single(
                    "kind",
                    "give kind=tenant, server or pool with a name, or alert=<id>",
                )));
            }
        };
        (
            format!("Alert history of {} {}", kind, p.name.trim()),
            alert_log::history_for(&st.app, kind, &p.name, HISTORY_SHOWN).await?,
        )
    };
    Ok(page(&HistoryPage {
        ctx,
        title,
        alert_history: events,
    }))
}

// ---------------------------------------------------------------------------------------------
// API.

/// The silences in force and the most recently ended ones.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct SilenceList {
    active: Vec<Silence>,
    /// The 50 that ended last (expired or removed), newest first.
    ended: Vec<Silence>,
}

async fn api_list(State(st): State<AppState>) -> ApiResult<SilenceList> {
    let lists = alert_log::silences(&st.app, now(), ENDED_SHOWN).await?;
    Ok(Json(SilenceList {
        active: lists.active,
        ended: lists.ended,
    }))
}

/// A new silence: at least one matcher (all given must match), a duration and a reason.
#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"tenant": "CANISTRACCI", "minutes": 240, "reason": "moving to pbxB tonight"}))]
pub(super) struct SilenceBody {
    /// An alert kind; matches the alert's kind or any of its facets' kinds.
    kind: Option<String>,
    server: Option<String>,
    pool: Option<String>,
    tenant: Option<String>,
    /// One alert by id (it must be current).
    alert_id: Option<String>,
    /// How long, from 1 minute to 90 days (129600).
    minutes: i64,
    reason: String,
}

async fn api_create(
    State(st): State<AppState>,
    AdminOnly(principal): AdminOnly,
    ApiJson(body): ApiJson<SilenceBody>,
) -> ApiResult<Silence> {
    let input = SilenceInput {
        kind: body.kind.unwrap_or_default(),
        server: body.server.unwrap_or_default(),
        pool: body.pool.unwrap_or_default(),
        tenant: body.tenant.unwrap_or_default(),
        alert_id: body.alert_id.unwrap_or_default(),
        minutes: body.minutes.to_string(),
        reason: body.reason,
    };
    Ok(Json(
        alert_log::create_silence(&st.app, &input, &principal.actor(), now()).await?,
    ))
}

async fn api_remove(
    State(st): State<AppState>,
    AdminOnly(principal): AdminOnly,
    Path(id): Path<i64>,
) -> ApiResult<Silence> {
    Ok(Json(
        alert_log::remove_silence(&st.app, id, &principal.actor(), now()).await?,
    ))
}
