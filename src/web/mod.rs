//! The HTTP face of pbx-pools: server-rendered pages (askama) that work without JavaScript, and
//! the JSON API. Each page group has its own module with a `router()`; this module merges them
//! around one shared [`AppState`].

mod audit;
mod ctx;
mod error;
mod forms;
mod health;
mod overview;
mod pools;
mod servers;
mod tenants;

pub use ctx::{Flash, PageCtx};
pub use error::{ApiError, Error, Result};

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;

use crate::store::Store;

/// Largest request body accepted: registration dumps of 100,000 contacts fit comfortably.
pub const BODY_LIMIT: usize = 32 * 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub inner: Arc<Inner>,
}

pub struct Inner {
    /// When the process started, for `/healthz`.
    pub started_at: jiff::Timestamp,
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            inner: Arc::new(Inner {
                started_at: jiff::Timestamp::now(),
            }),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(overview::router())
        .merge(servers::router())
        .merge(pools::router())
        .merge(tenants::router())
        .merge(audit::router())
        .merge(health::router())
        .fallback(|| async { Error::NotFound("There is no page at this address.".into()) })
        .layer(axum::middleware::from_fn(ctx::flash_cleanup))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
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
