//! The HTTP face of pbx-pools: server-rendered pages (askama) that work without JavaScript, and
//! the JSON API. Each page group has its own module with a `router()`; this module merges them
//! around one shared [`AppState`], and adds body limits, sessions, authentication, CSRF, security
//! headers and request tracing.
//!
//! Handlers extract, call the application layer ([`crate::app`]) and render. May import `app`,
//! `domain` (types to show) and `store` types; SQL never appears here. [`error`] maps every
//! failure to a response in one place, the framework's own rejections included.

mod account;
mod accounts;
mod alerts;
mod api;
mod assign;
mod audit;
pub mod auth;
mod bulk;
mod charts;
mod ctx;
mod dns;
mod error;
mod extract;
pub mod filters;
mod forms;
mod health;
mod impact;
mod jobs;
mod limits;
mod login;
mod metrics;
mod moves;
mod named;
mod openapi;
mod overview;
mod plan;
mod pools;
mod redirect;
mod registrations;
mod renderings;
mod routes;
mod search;
mod seen;
mod servers;
mod settings;
mod shares;
mod silences;
mod tenants;

pub use ctx::{Flash, PageCtx};
pub use error::{ApiError, Error, Result};
pub use openapi::document as openapi_document;
pub use redirect::safe_redirect_target;
pub use routes::Routes;

use askama::Template;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::HeaderName;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::app::App;
use crate::store::{DbSessionStore, Store};

pub use limits::{FORM_LIMIT, UPLOAD_LIMIT};

/// The largest request body any route accepts (the upload routes').
pub const BODY_LIMIT: usize = UPLOAD_LIMIT;

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

/// What every handler gets: the application (use cases over the store) and the web layer's own
/// settings.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub inner: Arc<Inner>,
}

pub struct Inner {
    /// When the process started, for `/healthz`.
    pub started_at: jiff::Timestamp,
    pub config: WebConfig,
    /// One-time token of the first-admin setup link, while no user exists.
    pub setup_token: Mutex<Option<String>>,
    /// The overview's rendered content of this second (see [`overview::OverviewCache`]).
    pub overview: overview::OverviewCache,
    /// The tenant list's rendered pages of the current data (see [`tenants::ListCache`]).
    pub tenant_list: tenants::ListCache,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self::with_config(App::new(store), WebConfig::default())
    }

    pub fn with_config(app: App, config: WebConfig) -> Self {
        Self {
            app,
            inner: Arc::new(Inner {
                started_at: jiff::Timestamp::now(),
                config,
                setup_token: Mutex::new(None),
                overview: overview::OverviewCache::default(),
                tenant_list: tenants::ListCache::default(),
            }),
        }
    }

    /// The store, for reads and writes without a rule of their own.
    pub fn store(&self) -> &Store {
        self.app.store()
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
        .merge(assign::router())
        .merge(audit::router())
        .merge(accounts::router())
        .merge(api::router())
        .merge(shares::router())
        .merge(dns::router())
        .merge(registrations::router())
        .merge(alerts::router())
        .merge(silences::router())
        .merge(moves::router())
        .merge(metrics::router())
        .merge(settings::router())
        .merge(plan::router())
        .merge(bulk::router())
        .merge(account::router())
        .merge(jobs::router())
        .merge(search::router())
        .merge(openapi::router())
        .merge(health::router())
}

/// Method and path of every route, for tests that must cover them all.
pub fn route_table() -> Vec<(Method, &'static str)> {
    routes().table
}

pub fn router(state: AppState) -> Router {
    let sessions = SessionManagerLayer::new(DbSessionStore(state.store().clone()))
        .with_name("pbx_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.inner.config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(state.inner.config.idle_timeout));
    let Routes {
        router, uploads, ..
    } = routes();
    router
        .fallback(|uri: Uri| async move { Error::nothing_at(uri.path()) })
        // Registered after every route: axum gives it to the routes it already has.
        .method_not_allowed_fallback(
            |method: Method| async move { Error::MethodNotAllowed(method) },
        )
        // The one limit is `limits::limit_body`, which has read the body by now.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(ctx::flash_cleanup))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            seen::remember_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(
            limits::BodyLimits::new(uploads),
            limits::limit_body,
        ))
        .layer(axum::middleware::from_fn(error::error_responses))
        .layer(axum::middleware::from_fn(auth::security_headers))
        .layer(
            tower::ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                        .on_failure(DefaultOnFailure::new().level(tracing::Level::ERROR)),
                ),
        )
        .with_state(state)
}

/// The header that carries each request's id, set when the client sent none, echoed in the
/// response and recorded in every log line of the request.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The span of one request: method, the *matched route* (never the raw path or query string,
/// which may hold a setup token or a CSRF token) and the request id; the trace layer logs its
/// status and latency when it is answered, and an internal error logged while handling it
/// carries the same fields.
fn request_span(req: &axum::extract::Request) -> tracing::Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("(no route)");
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!("request", id, method = %req.method(), route)
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

/// What a page template writes where its shared part goes (see [`page_around_parts`]).
pub const SHARED_PART: &str = "\u{1}pbx-pools-shared-part\u{1}";

/// A page whose template writes [`SHARED_PART`] once, in place of `shared`: the page's own
/// frame (header, navigation, the user's CSRF token) is rendered, and the shared part, rendered
/// once for many requests (see the `renderings` module), is sent as it is instead of being copied into
/// every response. The shared part may come as several pieces one after the other: a shared
/// rendering with a per-request field inside it (a form's CSRF token) is sent as the pieces
/// around that field and the field itself.
pub fn page_around_parts<T: Template>(
    page: &T,
    shared: impl IntoIterator<Item = Bytes>,
) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response();
        }
    };
    let Some((before, after)) = html.split_once(SHARED_PART) else {
        tracing::error!("the page template has no place for its shared part");
        return (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response();
    };
    let chunks = std::iter::once(Bytes::copy_from_slice(before.as_bytes()))
        .chain(shared)
        .chain(std::iter::once(Bytes::copy_from_slice(after.as_bytes())));
    let mut res = Response::new(Body::new(Chunks(chunks.collect())));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

/// A response body of a few chunks, sent one after the other, whose length is known.
struct Chunks(std::collections::VecDeque<Bytes>);

impl axum::body::HttpBody for Chunks {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<http_body::Frame<Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.iter().map(|b| b.len() as u64).sum())
    }
}

/// Width of a utilisation bar, capped at the full width (overloads show in colour and number).
pub fn bar_width(utilisation: f64, full: f64) -> f64 {
    (utilisation.clamp(0.0, 1.0)) * full
}
