//! Pages address tenants, servers and pools by name: `/tenants/CANISTRACCI`, `/servers/voip2`,
//! `/pools/pbxA`. This module owns that, once per kind: the links ([`tenant_href`],
//! [`server_href`], [`pool_href`], and the `seg` filter in templates) and the extractors that
//! turn the path segment back into the object ([`TenantAt`], [`ServerAt`], [`PoolAt`]).
//!
//! A segment is looked up as a name first. Only when no object has that name and the segment is
//! a number is it taken as an old id (bookmarks from before names), and a GET or HEAD is then
//! redirected to the name URL, the rest of the path and the query kept. A tenant code matches
//! without regard to case, as everywhere, and so does a server or pool name that matches no
//! name exactly; a GET under another spelling is redirected to the name's own. A write (POST)
//! to an old address acts on the object it names and answers as it always does. Anything else
//! is the product's 404 page.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use super::forms::q;
use super::{AppState, Error};
use crate::domain::ids::{PoolId, ServerId, TenantId};
use crate::domain::model::{Pool, Server, Tenant};
use crate::store;

/// The page of the tenant with this code.
pub fn tenant_href(code: &str) -> String {
    format!("/tenants/{}", q(code))
}

/// The page of the server with this name.
pub fn server_href(name: &str) -> String {
    format!("/servers/{}", q(name))
}

/// The page of the pool with this name.
pub fn pool_href(name: &str) -> String {
    format!("/pools/{}", q(name))
}

/// The tenant named by the route's `{tenant}` segment.
pub struct TenantAt(pub Tenant);
/// The server named by the route's `{server}` segment.
pub struct ServerAt(pub Server);
/// The pool named by the route's `{pool}` segment.
pub struct PoolAt(pub Pool);

impl FromRequestParts<AppState> for TenantAt {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let seg = segment(parts, "tenant").await?;
        let store = st.store();
        let found = match store.tenant_by_code(&seg).await {
            Err(store::Error::NotFound { .. }) => match old_id(&seg) {
                Some(id) => store.tenant(TenantId::new(id)).await,
                None => return Err(unknown("tenant", &seg)),
            },
            other => other,
        };
        let t = found.map_err(|e| failed(e, "tenant", &seg))?;
        if let Some(to) = canonical(parts, &seg, t.code.as_ref()) {
            return Err(Redirect::to(&to).into_response());
        }
        Ok(TenantAt(t))
    }
}

impl FromRequestParts<AppState> for ServerAt {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let seg = segment(parts, "server").await?;
        let store = st.store();
        let found = match store.server_by_name(&seg).await {
            Err(store::Error::NotFound { .. }) => match old_id(&seg) {
                Some(id) => store.server(ServerId::new(id)).await,
                // Names reach here lower-cased too (from registrations, old links).
                None => match store.servers().await {
                    Ok(all) => all
                        .into_iter()
                        .find(|x| x.name.as_ref().eq_ignore_ascii_case(&seg))
                        .ok_or_else(|| unknown("server", &seg))
                        .map(Ok)?,
                    Err(e) => Err(e),
                },
            },
            other => other,
        };
        let s = found.map_err(|e| failed(e, "server", &seg))?;
        if let Some(to) = canonical(parts, &seg, s.name.as_ref()) {
            return Err(Redirect::to(&to).into_response());
        }
        Ok(ServerAt(s))
    }
}

impl FromRequestParts<AppState> for PoolAt {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Response> {
        let seg = segment(parts, "pool").await?;
        let store = st.store();
        let found = match store.pool_by_name(&seg).await {
            Err(store::Error::NotFound { .. }) => match old_id(&seg) {
                Some(id) => store.pool(PoolId::new(id)).await,
                // Names reach here lower-cased too (from registrations, old links).
                None => match store.pools().await {
                    Ok(all) => all
                        .into_iter()
                        .find(|x| x.name.as_ref().eq_ignore_ascii_case(&seg))
                        .ok_or_else(|| unknown("pool", &seg))
                        .map(Ok)?,
                    Err(e) => Err(e),
                },
            },
            other => other,
        };
        let p = found.map_err(|e| failed(e, "pool", &seg))?;
        if let Some(to) = canonical(parts, &seg, p.name.as_ref()) {
            return Err(Redirect::to(&to).into_response());
        }
        Ok(PoolAt(p))
    }
}

/// The route parameter `name`, percent-decoded.
async fn segment(parts: &mut Parts, name: &str) -> Result<String, Response> {
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|_| Error::nothing_at(parts.uri.path()).into_response())?;
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        // A route that names no such parameter: our bug.
        .ok_or_else(|| {
            Error::internal(format!("the route has no {{{name}}} parameter")).into_response()
        })
}

/// The segment as an old row id: digits only (`+5`, ` 5` or `05` are not addresses we made).
fn old_id(seg: &str) -> Option<i64> {
    if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_digit()) || seg.starts_with('0') {
        return None;
    }
    seg.parse().ok()
}

fn unknown(kind: &str, seg: &str) -> Response {
    Error::NotFound(format!("There is no {kind} named {seg:?}.")).into_response()
}

fn failed(e: store::Error, kind: &str, seg: &str) -> Response {
    match e {
        store::Error::NotFound { .. } => unknown(kind, seg),
        other => Error::from(other).into_response(),
    }
}

/// Where to send a GET that reached the object under another spelling (an old id, another
/// case): the address with its name. `None` lets the request through.
fn canonical(parts: &Parts, seg: &str, name: &str) -> Option<String> {
    if seg == name || !matches!(parts.method, Method::GET | Method::HEAD) {
        return None;
    }
    Some(renamed(parts.uri.path(), parts.uri.query(), name))
}

/// `path` (`/tenants/17/edit`) with its second segment replaced by `name`, and `query` kept.
fn renamed(path: &str, query: Option<&str>, name: &str) -> String {
    let mut segs = path.splitn(4, '/').skip(1);
    let kind = segs.next().unwrap_or("");
    let _old = segs.next();
    let mut out = format!("/{kind}/{}", q(name));
    if let Some(rest) = segs.next() {
        out.push('/');
        out.push_str(rest);
    }
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_address_keeps_its_tail_and_query() {
        assert_eq!(renamed("/tenants/17", None, "ACME"), "/tenants/ACME");
        assert_eq!(
            renamed("/tenants/17/edit", Some("a=1"), "ACME"),
            "/tenants/ACME/edit?a=1"
        );
        assert_eq!(
            renamed("/pools/3/members/preview", None, "pbx A"),
            "/pools/pbx%20A/members/preview"
        );
    }

    #[test]
    fn only_plain_numbers_are_old_ids() {
        assert_eq!(old_id("17"), Some(17));
        for s in ["", "0", "017", "+5", "1e3", "5a", "99999999999999999999"] {
            assert_eq!(old_id(s), None, "{s:?}");
        }
    }

    #[test]
    fn links_encode_what_a_path_cannot_hold() {
        assert_eq!(tenant_href("ACME"), "/tenants/ACME");
        assert_eq!(server_href("a/b c"), "/servers/a%2Fb%20c");
        assert_eq!(pool_href("pbx_A-1"), "/pools/pbx_A-1");
    }
}
