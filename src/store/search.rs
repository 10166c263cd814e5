//! The global search's reads: tenants by code prefix or name, and registered contacts by
//! endpoint, contact address or user agent, across every server.
//!
//! Every registration lookup is a prefix of an indexed lower-case key (`endpoint_key`,
//! `contact_host`, `user_agent_key`, migration 19) read as an index range, `key >= p AND key <
//! p'` where `p'` follows every string that starts with `p`, in the key's order up to the
//! limit; nothing scans the table. The range is exact for byte-wise collations (SQLite's, the
//! generated keys' `COLLATE "C"` on PostgreSQL, and a C database's `endpoint_key`). Under
//! another collation it may hold a few other keys, which are dropped after reading: a test in
//! SQL (`substr(key, 1, n) = p`) would keep PostgreSQL from seeing how many rows the range
//! holds, and it then sorted every match instead of reading the first few in index order (63
//! ms instead of 0.3 ms for an address shared by 1,000 phones). Tenants are few (10,000 is a
//! large cluster): their names are matched anywhere in the text.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};

/// A tenant the search found.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TenantHit {
    pub code: String,
    pub name: String,
    pub pool: Option<String>,
    pub expected_phones: i64,
}

/// A registered contact the search found.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ContactHit {
    pub endpoint: String,
    pub server: String,
    /// The tenant's code, when the endpoint matched one.
    pub tenant: Option<String>,
    pub contact: String,
    pub user_agent: Option<String>,
    pub status: String,
    pub registered: bool,
}

/// Which indexed key of a registration a prefix is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKey {
    /// The endpoint (`100-acme`).
    Endpoint,
    /// The host part of the contact (`198.51.100.7:5060;ob`).
    Host,
    /// The user agent.
    UserAgent,
}

impl ContactKey {
    fn column(self) -> &'static str {
        match self {
            ContactKey::Endpoint => "r.endpoint_key",
            ContactKey::Host => "r.contact_host",
            ContactKey::UserAgent => "r.user_agent_key",
        }
    }
}

/// The smallest string after every string that starts with `prefix` (its last character
/// moved up by one), or none when there is no such bound to give.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut code = last as u32 + 1;
        if (0xD800..=0xDFFF).contains(&code) {
            code = 0xE000;
        }
        if let Some(next) = char::from_u32(code) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// `prefix` as a LIKE pattern matching it anywhere, with `\` as the escape character.
fn contains_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `WHERE` condition and its binds for the index range of `column` starting with `prefix`,
/// binds numbered from `first`; what it reads must still be checked with `starts_with` (see the
/// module's text).
fn prefix_range(column: &str, prefix: &str, first: usize) -> (String, Vec<String>) {
    match prefix_end(prefix) {
        Some(end) => (
            format!(
                "{column} >= ${a} AND {column} < ${b}",
                a = first,
                b = first + 1
            ),
            vec![prefix.to_string(), end],
        ),
        None => (format!("{column} >= ${first}"), vec![prefix.to_string()]),
    }
}

fn contact_from_row(r: &AnyRow) -> Result<ContactHit, sqlx::Error> {
    Ok(ContactHit {
        endpoint: r.try_get("endpoint")?,
        server: r.try_get("server_name")?,
        tenant: r.try_get("tenant_code")?,
        contact: r.try_get("contact")?,
        user_agent: r.try_get("user_agent")?,
        status: r.try_get("status")?,
        registered: r.try_get::<i64, _>("registered")? != 0,
    })
}

impl Store {
    /// Tenants whose code starts with `key` (lower case) or whose name contains it, codes
    /// first, at most `limit`.
    pub async fn search_tenants(&self, key: &str, limit: u32) -> Result<Vec<TenantHit>> {
        let (by_code, mut binds) = prefix_range("t.code_key", key, 1);
        let len = key.chars().count();
        let by_code = format!("{by_code} AND substr(t.code_key, 1, {len}) = $1");
        let like = binds.len() + 1;
        binds.push(contains_pattern(key));
        let sql = format!(
            "SELECT t.code, t.name, t.expected_phones, p.name AS pool_name, \
                    CASE WHEN {by_code} THEN 0 ELSE 1 END AS rank \
             FROM tenants t LEFT JOIN pools p ON p.id = t.pool_id \
             WHERE ({by_code}) OR lower(t.name) LIKE ${like} ESCAPE '\\' \
             ORDER BY rank, t.code_key LIMIT {limit}"
        );
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.clone());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(TenantHit {
                    code: r.try_get("code")?,
                    name: r.try_get("name")?,
                    pool: r.try_get("pool_name")?,
                    expected_phones: r.try_get("expected_phones")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Registered contacts whose `key` starts with `prefix` (lower case), in the key's order,
    /// at most `limit`: the index range is read up to the limit and no further.
    pub async fn search_contacts(
        &self,
        key: ContactKey,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<ContactHit>> {
        let column = key.column();
        let (cond, binds) = prefix_range(column, prefix, 1);
        let sql = format!(
            "SELECT {column} AS match_key, r.endpoint, s.name AS server_name, \
                    t.code AS tenant_code, r.contact, r.user_agent, r.status, r.registered \
             FROM registrations r JOIN servers s ON s.id = r.server_id \
             LEFT JOIN tenants t ON t.id = r.tenant_id \
             WHERE {cond} ORDER BY {column} LIMIT {limit}"
        );
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.clone());
        }
        let rows = q.fetch_all(&self.pool).await?;
        let mut hits = Vec::with_capacity(rows.len());
        for r in &rows {
            let key: Option<String> = r.try_get("match_key")?;
            if key.is_some_and(|k| k.starts_with(prefix)) {
                hits.push(contact_from_row(r)?);
            }
        }
        Ok(hits)
    }

    /// The distinct user agents (as reported, one spelling each) whose lower-case form starts
    /// with `prefix`, in order, at most `limit`. The index is visited once per distinct value (a
    /// loose index scan), not once per phone: thousands of phones share a user agent.
    pub async fn search_user_agents(&self, prefix: &str, limit: u32) -> Result<Vec<String>> {
        let Some(end) = prefix_end(prefix) else {
            return Ok(Vec::new());
        };
        let len = prefix.chars().count();
        let sql = format!(
            "WITH RECURSIVE ua(k, n) AS ( \
                 SELECT (SELECT MIN(user_agent_key) FROM registrations \
                          WHERE user_agent_key >= $1 AND user_agent_key < $2), 1 \
                 UNION ALL \
                 SELECT (SELECT MIN(r.user_agent_key) FROM registrations r \
                          WHERE r.user_agent_key > ua.k AND r.user_agent_key < $2), ua.n + 1 \
                 FROM ua WHERE ua.k IS NOT NULL AND ua.n < {limit} \
             ) \
             SELECT (SELECT r.user_agent FROM registrations r WHERE r.user_agent_key = ua.k LIMIT 1) \
                    AS user_agent \
             FROM ua WHERE ua.k IS NOT NULL AND substr(ua.k, 1, {len}) = $1 ORDER BY ua.k"
        );
        let rows = sqlx::query(&sql)
            .bind(prefix.to_string())
            .bind(end)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<Option<String>, _>("user_agent"))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_prefix_follows_every_string_that_starts_with_it() {
        assert_eq!(prefix_end("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_end("192.0.2.1").as_deref(), Some("192.0.2.2"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end(""), None);
        for s in ["abc", "abcz", "abc\u{10FFFF}", "abc~~~"] {
            assert!(s < "abd", "{s}");
        }
    }

    #[test]
    fn like_wildcards_in_the_text_are_escaped() {
        assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
