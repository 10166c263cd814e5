//! The HTTP face of pbx-pools: server-rendered pages (askama) that work without JavaScript, and
//! the JSON API. Each page group has its own module with a `router()`; this module merges them
//! around one shared [`AppState`].

mod account;
mod accounts;
mod alerts;
mod api;
mod audit;
pub mod auth;
mod bulk;
mod cluster;
mod ctx;
mod dns;
mod error;
pub mod filters;
mod forms;
mod health;
mod jobs;
mod login;
mod metrics;
mod openapi;
mod overview;
mod plan;
mod pools;
mod registrations;
mod routes;
mod servers;
mod settings;
mod shares;
mod tenants;

pub use cluster::keep_warm as keep_views_warm;
pub use ctx::{Flash, PageCtx};
pub use dns::{ExportParams, export_text, run_check as run_dns_check};
pub use error::{ApiError, Error, Result};
pub use openapi::document as openapi_document;
pub use plan::{PlanOutcome, PlanRequest, apply as apply_plan, compute as compute_plan};
pub use routes::Routes;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use tower_http::limit::RequestBodyLimitLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::store::{DbSessionStore, Store};

/// Largest request body accepted: registration dumps of 100,000 contacts fit comfortably.
pub const BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Alerts computed at a time for a data version (see `cluster::alerts`).
pub type AlertCache = (
    std::time::Instant,
    crate::store::DataVersion,
    Arc<Vec<crate::domain::alerts::Alert>>,
);

/// The cluster view for a data version (see `cluster::load`).
pub type ViewCache = (crate::store::DataVersion, Arc<cluster::ClusterView>);

/// How the web layer behaves; the CLI fills it from flags.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark the session cookie `Secure` (serve behind HTTPS).
    pub secure_cookies: bool,
    /// A session unused this long ends.
    pub idle_timeout: time::Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            idle_timeout: time::Duration::hours(2),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub inner: Arc<Inner>,
}

pub struct Inner {
    /// When the process started, for `/healthz`.
    pub started_at: jiff::Timestamp,
    pub config: WebConfig,
    /// One-time token of the first-admin setup link, while no user exists.
    pub setup_token: Mutex<Option<String>>,
    /// Alerts computed recently, reused for a few seconds (see `cluster::alerts`).
    pub alerts: Mutex<Option<AlertCache>>,
    /// The cluster view for a data version (see `cluster::load`).
    pub view: Mutex<Option<ViewCache>>,
    /// Background work started by this instance (large imports).
    pub jobs: jobs::Jobs,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self::with_config(store, WebConfig::default())
    }

    pub fn with_config(store: Store, config: WebConfig) -> Self {
        Self {
            store,
            inner: Arc::new(Inner {
                started_at: jiff::Timestamp::now(),
                config,
                setup_token: Mutex::new(None),
                alerts: Mutex::new(None),
                view: Mutex::new(None),
                jobs: jobs::Jobs::default(),
            }),
        }
    }

    pub fn set_setup_token(&self, token: Option<String>) {
        if let Ok(mut t) = self.inner.setup_token.lock() {
            *t = token;
        }
    }
}

/// Every route of the application, each registered once through [`Routes`].
fn routes() -> Routes {
    Routes::new()
        .merge(login::router())
        .merge(overview::router())
        .merge(servers::router())
        .merge(pools::router())
        .merge(tenants::router())
        .merge(audit::router())
        .merge(accounts::router())
        .merge(api::router())
        .merge(shares::router())
        .merge(dns::router())
        .merge(registrations::router())
        .merge(alerts::router())
        .merge(metrics::router())
        .merge(settings::router())
        .merge(plan::router())
        .merge(bulk::router())
        .merge(account::router())
        .merge(jobs::router())
        .merge(openapi::router())
        .merge(health::router())
}

/// Method and path of every route, for tests that must cover them all.
pub fn route_table() -> Vec<(Method, &'static str)> {
    routes().table
}

pub fn router(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore(state.store.clone()))
        .with_name("pbx_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.inner.config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(state.inner.config.idle_timeout));
    routes()
        .router
        .fallback(|| async { Error::NotFound("There is no page at this address.".into()) })
        .layer(axum::middleware::from_fn(ctx::flash_cleanup))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(sessions)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::middleware::from_fn(auth::limit_body))
        .layer(axum::middleware::from_fn(auth::security_headers))
        .with_state(state)
}

/// Renders a template into an HTML response; a rendering failure is logged and becomes a 500.
pub fn render_page<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => {
            let mut res = (status, html).into_response();
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// A rendered page with status 200.
pub fn page<T: Template>(page: &T) -> Response {
    render_page(StatusCode::OK, page)
}

/// A Unix time in UTC, as the command line prints it (pages use `filters::datetime`, in the
/// viewer's time zone).
pub fn fmt_time(at: impl std::borrow::Borrow<i64>) -> String {
    let at = *at.borrow();
    jiff::Timestamp::from_second(at)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Width of a utilisation bar, capped at the full width (overloads show in colour and number).
pub fn bar_width(utilisation: f64, full: f64) -> f64 {
    (utilisation.clamp(0.0, 1.0)) * full
}
