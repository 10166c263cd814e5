//! Bench-only baseline for `benches/load.sh` (not part of the product binary): serves one static
//! body on the same axum + tower-http stack as `pbx-pools serve`, so the overview's throughput
//! can be compared with what the stack itself manages for a body of the same size.
//!
//! ```text
//! cargo build --release --example static_body
//! target/release/examples/static_body BODY [LISTEN]
//! ```
//!
//! BODY is a file whose bytes are served as they are (say the overview's HTML, saved by the load
//! bench), or a number of bytes of filler HTML. LISTEN defaults to 127.0.0.1:18092. Every path
//! answers `200 text/html` with that body. Like the product it logs one line per request at INFO
//! to standard error (through the same trace, request-id and security-header layers), and
//! `/healthz` answers `ok`.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing_subscriber::EnvFilter;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The product's security headers (`web::auth::security_headers`), set the same way on every
/// answer.
const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
];

fn body_from(arg: &str) -> Result<Bytes, String> {
    let path = std::path::Path::new(arg);
    if path.is_file() {
        return std::fs::read(path)
            .map(Bytes::from)
            .map_err(|e| format!("{arg}: {e}"));
    }
    let size: usize = arg
        .parse()
        .map_err(|_| format!("{arg:?} is neither a file nor a number of bytes"))?;
    let line =
        b"<p>static baseline body of the load bench, same size as the page it stands for</p>\n";
    let mut body = Vec::with_capacity(size);
    while body.len() < size {
        let take = (size - body.len()).min(line.len());
        body.extend_from_slice(&line[..take]);
    }
    Ok(Bytes::from(body))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let Some(arg) = args.next() else {
        eprintln!("usage: static_body FILE|BYTES [LISTEN]");
        std::process::exit(2);
    };
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:18092".into());
    let body = match body_from(&arg) {
        Ok(body) => body,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let size = body.len();
    let page = move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response() }
    };
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .fallback(get(page));
    for (name, value) in SECURITY_HEADERS {
        app = app.layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    let app = app.layer(
        tower::ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .layer(
                TraceLayer::new_for_http()
                    .on_request(())
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                    .on_failure(DefaultOnFailure::new().level(tracing::Level::ERROR)),
            ),
    );
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {listen}: {e}");
            std::process::exit(1);
        }
    };
    println!("static_body: {size} bytes on http://{listen}");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
