//! Settings: alert thresholds, the tenant-matching rule (with a tester), history retention.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::Principal;
use super::forms::{RefusedForm, SaveFailure, one, refused_form, version};
use super::{AppState, Flash, PageCtx, Result, Routes, page};
use crate::domain::FieldErrors;
use crate::domain::registrations::TenantMatcher;
use crate::domain::settings::SettingsInput;

pub fn router() -> Routes {
    Routes::new().get("/settings", show).post("/settings", save)
}

#[derive(Debug, Default, Deserialize)]
struct TestParams {
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    samples: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    ctx: PageCtx,
    input: SettingsInput,
    version: i64,
    errors: FieldErrors,
    form_error: Option<String>,
    test_rule: String,
    samples: String,
    /// Each sample name and the tenant code the rule finds in it.
    results: Vec<(String, Option<String>)>,
    test_error: Option<String>,
    default_rule: &'static str,
}

refused_form!(SettingsPage);

async fn show(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(t): Query<TestParams>,
) -> Result<Response> {
    let (settings, version) = st.store().settings().await?;
    let test_rule = t.rule.unwrap_or_else(|| settings.tenant_rule.clone());
    let samples = if t.samples.trim().is_empty() {
        "100-CANISTRACCI\n201-rossi\n7001-Hotel_Romano\nbob\ntrunk-2".to_string()
    } else {
        t.samples
    };
    let (results, test_error) = match TenantMatcher::new(&test_rule) {
        Ok(m) => (
            samples
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .take(200)
                .map(|l| (l.to_string(), m.tenant_of(l)))
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(e)),
    };
    Ok(page(&SettingsPage {
        ctx,
        input: SettingsInput::from_settings(&settings),
        version,
        errors: FieldErrors::default(),
        form_error: None,
        test_rule,
        samples,
        results,
        test_error,
        default_rule: TenantMatcher::default_rule(),
    }))
}

async fn save(
    State(st): State<AppState>,
    ctx: PageCtx,
    principal: Principal,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let version = version(&pairs)?;
    let input = SettingsInput {
        normal_away_pct: one(&pairs, "normal_away_pct").into(),
        capacity_warning_pct: one(&pairs, "capacity_warning_pct").into(),
        stale_after_minutes: one(&pairs, "stale_after_minutes").into(),
        flap_moves: one(&pairs, "flap_moves").into(),
        flap_window_minutes: one(&pairs, "flap_window_minutes").into(),
        failback_after_minutes: one(&pairs, "failback_after_minutes").into(),
        tenant_rule: one(&pairs, "tenant_rule").into(),
        retention_days: one(&pairs, "retention_days").into(),
        dns_check_minutes: one(&pairs, "dns_check_minutes").into(),
        dns_nameservers: one(&pairs, "dns_nameservers").into(),
        dns_timeout_ms: one(&pairs, "dns_timeout_ms").into(),
        dns_attempts: one(&pairs, "dns_attempts").into(),
    };
    let failure = match input.validate() {
        Ok(settings) => match st
            .store()
            .save_settings(&settings, version, &principal.actor())
            .await
        {
            Ok(_) => {
                st.app.changed();
                return Ok(Flash::redirect("/settings", "Settings saved.").into_response());
            }
            Err(e) => SaveFailure::from(e),
        },
        Err(e) => SaveFailure::Fields(e),
    };
    let p = SettingsPage {
        ctx,
        test_rule: input.tenant_rule.clone(),
        input,
        version,
        errors: FieldErrors::default(),
        form_error: None,
        samples: String::new(),
        results: Vec::new(),
        test_error: None,
        default_rule: TenantMatcher::default_rule(),
    };
    Ok(p.refused(failure))
}
