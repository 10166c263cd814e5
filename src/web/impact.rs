//! What every change of placement shares on the web: the "apply anyway" flag of a form, the
//! `?dry_run=1&force=1` flags of an API call, and the API's refusal of a change that crosses a
//! level (409, with the preview in the problem body). The figures come from `app::impact`; the
//! table is `templates/partials/impact.html`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::forms::one;
use crate::domain::impact::Impact;

/// Whether a form says "apply anyway" (the checkbox under a preview that crosses a level).
pub fn apply_anyway(pairs: &[(String, String)]) -> bool {
    is_yes(one(pairs, "apply_anyway"))
}

fn is_yes(v: &str) -> bool {
    matches!(v.trim(), "1" | "on" | "true" | "yes")
}

/// `?dry_run=1` (answer the preview, change nothing) and `?force=1` (apply a change that crosses
/// a level). `apply_anyway=1` is a synonym of `force=1`. Each takes `0` or `1` only: anything else
/// is refused (400 naming it) rather than read as "no".
#[derive(Debug, Default, Deserialize)]
pub struct DryRunParams {
    /// `1`: return the impact preview and change nothing.
    #[serde(default)]
    dry_run: Option<Flag>,
    /// `1`: apply even when a server crosses the warning level or its capacity.
    #[serde(default)]
    force: Option<Flag>,
    /// The same as `force`.
    #[serde(default)]
    apply_anyway: Option<Flag>,
}

/// A query flag as the API documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum Flag {
    #[serde(rename = "0")]
    Off,
    #[serde(rename = "1")]
    On,
}

impl DryRunParams {
    pub fn dry_run(&self) -> bool {
        self.dry_run == Some(Flag::On)
    }

    pub fn force(&self) -> bool {
        self.force == Some(Flag::On) || self.apply_anyway == Some(Flag::On)
    }

    /// What to answer before applying: the preview for a dry run, a 409 for a crossing without
    /// `force`, nothing (go ahead) otherwise.
    pub fn answer(&self, impact: &Impact) -> Option<Response> {
        if self.dry_run() {
            return Some(Json(impact).into_response());
        }
        if impact.needs_confirmation() && !self.force() {
            return Some(crossing_problem(impact));
        }
        None
    }
}

/// The problem document of a change refused because it crosses a level: RFC 9457 with the
/// preview under `impact`.
#[derive(Serialize)]
struct CrossingProblem<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    status: u16,
    detail: String,
    impact: &'a Impact,
}

/// The sentence of a refusal: what crosses, and how to apply anyway.
pub fn refusal(impact: &Impact, how: &str) -> String {
    let what: Vec<String> = impact.crossings.iter().map(|c| c.sentence()).collect();
    format!("Nothing was changed: {}. {how}", what.join("; "),)
}

pub fn crossing_problem(impact: &Impact) -> Response {
    let body = CrossingProblem {
        kind: "about:blank",
        title: "The change crosses a level",
        status: 409,
        detail: refusal(impact, "Send it again with ?force=1 to apply it anyway."),
        impact,
    };
    let mut res = (StatusCode::CONFLICT, Json(body)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}
