//! `/healthz` for load balancers, and the embedded stylesheet and script.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{AppState, Routes};

const STYLE_CSS: &str = include_str!("../../static/style.css");
/// The auto-refresh switch of the overview and the registrations page.
const REFRESH_JS: &str = include_str!("../../static/refresh.js");

pub fn router() -> Routes {
    Routes::new()
        .get("/healthz", healthz)
        .get("/static/style.css", style)
        .get("/static/refresh.js", refresh_js)
}

/// 200 when the database answers, 503 otherwise, so a balancer takes a broken instance out.
async fn healthz(State(st): State<AppState>) -> Response {
    let uptime = jiff::Timestamp::now().as_second() - st.inner.started_at.as_second();
    match st.store().ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(json!({"status": "ok", "database": "ok", "uptime_seconds": uptime})),
        )
            .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"status": "unavailable", "database": "unreachable"})),
            )
                .into_response()
        }
    }
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE_CSS,
    )
        .into_response()
}

async fn refresh_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        REFRESH_JS,
    )
        .into_response()
}
