//! The global search: the header's box opens `/search?q=`, results grouped by kind, each
//! linking to its page; `GET /api/v1/search` answers the same as JSON.

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::api::ApiQuery;
use super::extract::Query;
use super::forms::q;
use super::named::{server_href, tenant_href};
use super::{ApiError, AppState, PageCtx, Result, Routes, filters, page};
use crate::app::search::{self, Group, Kind, SearchResults};
use crate::store::ContactHit;

pub fn router() -> Routes {
    Routes::new()
        .get("/search", search_page)
        .get("/api/v1/search", api_search)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct SearchParams {
    pub q: String,
    /// One group alone, with more of its results: `tenants`, `servers`, `pools`, `endpoints`,
    /// `contacts`, `user_agents`, or `user_agent` (the phones of one user agent).
    pub kind: String,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    ctx: PageCtx,
    results: SearchResults,
    /// The phones of one user agent, when those were asked for (`kind=user_agent`).
    phones: Option<Group<ContactHit>>,
}

impl SearchPage {
    fn shows(&self, kind: &str) -> bool {
        self.results.kind.is_none_or(|k| k.as_str() == kind)
    }
    /// This search with one group alone.
    fn more_href(&self, kind: &str) -> String {
        format!("/search?q={}&kind={kind}", q(&self.results.query))
    }
    /// The phones that report this user agent.
    fn user_agent_href(&self, ua: &str) -> String {
        format!("/search?q={}&kind=user_agent", q(ua))
    }
    /// A contact's page: its tenant's, or for an unmatched one its server's list of those.
    fn contact_href(&self, c: &ContactHit) -> String {
        match &c.tenant {
            Some(code) => tenant_href(code),
            None => format!("{}#unmatched", server_href(&c.server)),
        }
    }
    fn is_empty(&self) -> bool {
        self.results.is_empty() && self.phones.as_ref().is_none_or(|p| p.hits.is_empty())
    }
}

async fn search_page(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(params): Query<SearchParams>,
) -> Result<Response> {
    let (results, phones) = if params.kind.trim() == "user_agent" {
        let phones = search::phones_with_user_agent(&st.app, &params.q).await?;
        let results = SearchResults {
            query: params.q.trim().to_string(),
            kind: Some(Kind::UserAgents),
            ..SearchResults::default()
        };
        (results, Some(phones))
    } else {
        let kind = Kind::parse(&params.kind)?;
        (search::search(&st.app, &params.q, kind).await?, None)
    };
    Ok(page(&SearchPage {
        ctx,
        results,
        phones,
    }))
}

async fn api_search(
    State(st): State<AppState>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let kind = Kind::parse(&params.kind)?;
    Ok(Json(search::search(&st.app, &params.q, kind).await?))
}
