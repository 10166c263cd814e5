//! The global search (`/search?q=`, `GET /api/v1/search`): tenant codes and names, server and
//! pool names, and every server's registered contacts by endpoint, contact address and user
//! agent, each kind in its own group. Every group stops at a limit and says whether there was
//! more; asked for one kind alone, that group gets a larger limit.

use serde::Serialize;

use super::{App, Error, Result};
use crate::domain::search::SearchTerms;
use crate::store::{ContactHit, ContactKey, TenantHit};

/// Results per group when every group is shown.
pub const GROUP_LIMIT: u32 = 20;
/// Results of the one group asked for ("more").
pub const KIND_LIMIT: u32 = 200;

/// The groups of the search's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Tenants,
    Servers,
    Pools,
    Endpoints,
    Contacts,
    UserAgents,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Tenants,
        Kind::Servers,
        Kind::Pools,
        Kind::Endpoints,
        Kind::Contacts,
        Kind::UserAgents,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Tenants => "tenants",
            Kind::Servers => "servers",
            Kind::Pools => "pools",
            Kind::Endpoints => "endpoints",
            Kind::Contacts => "contacts",
            Kind::UserAgents => "user_agents",
        }
    }

    /// `None` for empty (every group); an error names the kinds there are.
    pub fn parse(s: &str) -> Result<Option<Kind>> {
        match s.trim() {
            "" => Ok(None),
            s => Kind::ALL
                .into_iter()
                .find(|k| k.as_str() == s)
                .map(Some)
                .ok_or_else(|| {
                    Error::BadInput(format!(
                        "unknown kind {s:?}: use tenants, servers, pools, endpoints, contacts or \
                         user_agents"
                    ))
                }),
        }
    }
}

/// One group: its hits, and whether the limit cut it short.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Group<T> {
    pub hits: Vec<T>,
    pub more: bool,
}

impl<T> Default for Group<T> {
    fn default() -> Self {
        Self {
            hits: Vec::new(),
            more: false,
        }
    }
}

impl<T> Group<T> {
    /// `hits` read with a limit one above `limit`: the extra one only says there is more.
    fn cut(mut hits: Vec<T>, limit: u32) -> Self {
        let more = hits.len() > limit as usize;
        hits.truncate(limit as usize);
        Self { hits, more }
    }
}

/// A server the search found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServerHit {
    pub name: String,
    pub host: String,
    pub site: Option<String>,
}

/// A pool the search found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PoolHit {
    pub name: String,
    pub srv_name: String,
}

/// What the search found, by kind. A group not searched (another kind was asked for) is empty.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// The text searched, trimmed.
    pub query: String,
    /// The one kind asked for, if one was.
    pub kind: Option<Kind>,
    pub tenants: Group<TenantHit>,
    pub servers: Group<ServerHit>,
    pub pools: Group<PoolHit>,
    /// Registered contacts whose endpoint starts with the text.
    pub endpoints: Group<ContactHit>,
    /// Registered contacts whose address (the contact's host part) starts with the text.
    pub contacts: Group<ContactHit>,
    /// User agents that start with the text, as reported.
    pub user_agents: Group<String>,
}

impl SearchResults {
    pub fn is_empty(&self) -> bool {
        self.tenants.hits.is_empty()
            && self.servers.hits.is_empty()
            && self.pools.hits.is_empty()
            && self.endpoints.hits.is_empty()
            && self.contacts.hits.is_empty()
            && self.user_agents.hits.is_empty()
    }
}

/// Searches `text` in every group, or in `kind` alone with a larger limit.
pub async fn search(app: &App, text: &str, kind: Option<Kind>) -> Result<SearchResults> {
    let terms = SearchTerms::parse(text).map_err(Error::BadInput)?;
    let Some(terms) = terms else {
        return Ok(SearchResults {
            kind,
            ..SearchResults::default()
        });
    };
    let limit = if kind.is_some() {
        KIND_LIMIT
    } else {
        GROUP_LIMIT
    };
    let wanted = |k: Kind| kind.is_none_or(|only| only == k);
    let store = app.store();
    let mut out = SearchResults {
        query: terms.text.clone(),
        kind,
        ..SearchResults::default()
    };
    if wanted(Kind::Tenants) {
        out.tenants = Group::cut(store.search_tenants(&terms.key, limit + 1).await?, limit);
    }
    if wanted(Kind::Servers) {
        let hits = store
            .servers()
            .await?
            .into_iter()
            .filter(|s| {
                contains(s.name.as_ref(), &terms.key) || contains(s.host.as_ref(), &terms.key)
            })
            .map(|s| ServerHit {
                name: s.name.to_string(),
                host: s.host.to_string(),
                site: s.site.clone(),
            })
            .collect();
        out.servers = Group::cut(hits, limit);
    }
    if wanted(Kind::Pools) {
        let hits = store
            .pools()
            .await?
            .into_iter()
            .filter(|p| {
                contains(p.name.as_ref(), &terms.key) || contains(p.srv_name.as_ref(), &terms.key)
            })
            .map(|p| PoolHit {
                name: p.name.to_string(),
                srv_name: p.srv_name.to_string(),
            })
            .collect();
        out.pools = Group::cut(hits, limit);
    }
    if wanted(Kind::Endpoints) {
        let hits = store
            .search_contacts(ContactKey::Endpoint, &terms.endpoint, limit + 1)
            .await?;
        out.endpoints = Group::cut(hits, limit);
    }
    if wanted(Kind::Contacts) {
        let hits = store
            .search_contacts(ContactKey::Host, &terms.host, limit + 1)
            .await?;
        out.contacts = Group::cut(hits, limit);
    }
    if wanted(Kind::UserAgents) {
        let hits = store.search_user_agents(&terms.key, limit + 1).await?;
        out.user_agents = Group::cut(hits, limit);
    }
    Ok(out)
}

/// Phones whose user agent starts with `text`: what a user agent in the results links to.
pub async fn phones_with_user_agent(app: &App, text: &str) -> Result<Group<ContactHit>> {
    let Some(terms) = SearchTerms::parse(text).map_err(Error::BadInput)? else {
        return Ok(Group::default());
    };
    let hits = app
        .store()
        .search_contacts(ContactKey::UserAgent, &terms.key, KIND_LIMIT + 1)
        .await?;
    Ok(Group::cut(hits, KIND_LIMIT))
}

fn contains(haystack: &str, key: &str) -> bool {
    haystack.to_lowercase().contains(key)
}
