//! Sending one alert event to the webhook: an HTTP/1.1 POST of JSON, over TLS for `https://`.
//!
//! hyper-util's client with hyper-rustls (native root certificates) rather than reqwest: both
//! crates are already built for the browser tests (fantoccini), they are the parts reqwest is
//! made of, and one POST with a bearer header and a timeout needs nothing more.

use std::time::Duration;

use super::chain;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Uri, header};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A delivery that has not been answered within this long failed.
const TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP client for webhook deliveries; keeps its connections between them.
pub struct WebhookClient {
    inner: Inner,
}

enum Inner {
    Tls(Client<HttpsConnector<HttpConnector>, Full<Bytes>>),
    /// No root certificates could be loaded: plain HTTP only, and why HTTPS is not possible.
    Plain(Client<HttpConnector, Full<Bytes>>, String),
}

impl Default for WebhookClient {
    fn default() -> Self {
        Self::new()
    }
}

impl WebhookClient {
    pub fn new() -> Self {
        let builder = Client::builder(TokioExecutor::new());
        let inner = match hyper_rustls::HttpsConnectorBuilder::new().with_native_roots() {
            Ok(tls) => Inner::Tls(builder.build(tls.https_or_http().enable_http1().build())),
            Err(e) => {
                tracing::warn!(error = %e, "no TLS root certificates: the webhook can use http:// only");
                Inner::Plain(builder.build_http(), e.to_string())
            }
        };
        Self { inner }
    }

    /// POSTs `body` (JSON) to `url`, with `Authorization: Bearer <secret>` unless the secret is
    /// empty. `Ok` when the receiver answered 2xx; otherwise what went wrong, for the outbox.
    pub async fn post_json(&self, url: &str, secret: &str, body: Vec<u8>) -> Result<(), String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("the webhook URL does not parse: {e}"))?;
        let mut req = Request::post(uri.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(
                header::USER_AGENT,
                concat!("pbx-pools/", env!("CARGO_PKG_VERSION")),
            );
        if !secret.is_empty() {
            req = req.header(header::AUTHORIZATION, format!("Bearer {secret}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("the request could not be built: {e}"))?;
        let sent = match &self.inner {
            Inner::Tls(client) => tokio::time::timeout(TIMEOUT, client.request(req)).await,
            Inner::Plain(client, why) => {
                if uri.scheme_str() == Some("https") {
                    return Err(format!("HTTPS is not available: {why}"));
                }
                tokio::time::timeout(TIMEOUT, client.request(req)).await
            }
        };
        let res = match sent {
            Err(_) => return Err(format!("no answer within {} s", TIMEOUT.as_secs())),
            Ok(Err(e)) => return Err(format!("the request failed: {}", chain(&e))),
            Ok(Ok(res)) => res,
        };
        if res.status().is_success() {
            Ok(())
        } else {
            Err(format!("the receiver answered HTTP {}", res.status()))
        }
    }
}
