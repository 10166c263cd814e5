//! Settings: alert thresholds, the tenant-matching rule (with a tester), history retention.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::Principal;
use super::extract::Query;
use super::forms::{EditForm, RefusedForm, SaveFailure, refused_form};
use super::{AppState, Flash, PageCtx, Result, Routes, page};
use crate::app::inventory;
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
    /// Whether a webhook secret is stored (the form never shows it).
    secret_set: bool,
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
        secret_set: !settings.webhook_secret.is_empty(),
    }))
}

async fn save(
    State(st): State<AppState>,
    ctx: PageCtx,
    principal: Principal,
    form: EditForm<SettingsInput>,
) -> Result<Response> {
    let version = form.version()?;
    let input = form.input;
    let (current, _) = st.store().settings().await?;
    let failure = match input.validate_over(&current) {
        Ok(settings) => {
            match inventory::save_settings(&st.app, &settings, version, &principal.actor()).await {
                Ok(_) => {
                    return Ok(Flash::redirect("/settings", "Settings saved.").into_response());
                }
                Err(e) => SaveFailure::from(e),
            }
        }
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
        secret_set: !current.webhook_secret.is_empty(),
    };
    Ok(p.refused(failure))
}
