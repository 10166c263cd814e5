//! Incremental ingest: a report compared with the server's stored picture. Only the contacts
//! that appeared, changed or left are written; a report identical to the previous one writes
//! nothing but its timestamp.
//!
//! A stored contact is known by a 64-bit fingerprint of everything the report said about it
//! and the tenant key the rule read from it, so the comparison needs two numbers per stored
//! contact and never its text. Reports may list the same contact twice, so both sides are
//! multisets: each incoming contact consumes one stored row with its fingerprint.

use sha2::{Digest, Sha256};

use super::{ContactStatus, Registration, TenantMatcher, normalise_tenant_code};

/// A contact as it is stored: the report's fields, normalised, with its fingerprint. It owns
/// the row's text, taken from the parsed [`Registration`] ([`StoredContact::from_row`]): a
/// 100,000-contact report is held once during its ingest, not as rows and their copies.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredContact {
    #[serde(rename = "e")]
    pub endpoint: String,
    /// The endpoint, lower-cased: phones are followed across servers by it.
    #[serde(rename = "k")]
    pub endpoint_key: String,
    /// The normalised tenant code the rule (or the dump) gave, if any.
    #[serde(rename = "tk")]
    pub tenant_key: Option<String>,
    #[serde(rename = "c")]
    pub contact: String,
    #[serde(rename = "ua")]
    pub user_agent: Option<String>,
    #[serde(rename = "st", serialize_with = "status_label")]
    pub status: ContactStatus,
    /// 1 when the phone counts as registered (an integer: both databases store it so).
    #[serde(rename = "reg")]
    pub registered: i64,
    #[serde(rename = "fp")]
    pub fingerprint: i64,
}

/// The status as Asterisk prints it, as it is stored.
fn status_label<S: serde::Serializer>(status: &ContactStatus, to: S) -> Result<S::Ok, S::Error> {
    to.serialize_str(status.as_str())
}

impl StoredContact {
    /// The contact of a parsed row, taking its text.
    pub fn from_row(r: Registration, matcher: &TenantMatcher) -> Self {
        let tenant_key = r.tenant_code(matcher).map(|c| normalise_tenant_code(&c));
        let fingerprint = fingerprint(&[
            Some(r.endpoint.as_str()),
            tenant_key.as_deref(),
            Some(r.contact.as_str()),
            r.user_agent.as_deref(),
            Some(r.status.as_str()),
        ]);
        Self {
            endpoint_key: r.endpoint.to_lowercase(),
            registered: i64::from(r.status.is_registered()),
            endpoint: r.endpoint,
            tenant_key,
            contact: r.contact,
            user_agent: r.user_agent,
            status: r.status,
            fingerprint,
        }
    }

    /// The contact of a row that stays the caller's (a copy of its text).
    pub fn of(r: &Registration, matcher: &TenantMatcher) -> Self {
        Self::from_row(r.clone(), matcher)
    }
}

/// A stable 64-bit digest of the fields (SHA-256, truncated: it is stored, so it must not change
/// between releases or platforms as `std`'s hasher may). Each field is length-prefixed and an
/// absent one differs from an empty one. Never 0, which marks rows stored before fingerprints.
pub fn fingerprint(fields: &[Option<&str>]) -> i64 {
    let mut h = Sha256::new();
    for f in fields {
        match f {
            Some(s) => {
                h.update([1]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            None => h.update([0]),
        }
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    match i64::from_le_bytes(first) {
        0 => 1,
        n => n,
    }
}

/// What a report changes in the stored picture.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PictureDiff {
    /// Stored rows (their ids) that the report no longer lists.
    pub removed: Vec<i64>,
    /// Indexes into the report of the contacts to store.
    pub added: Vec<usize>,
}

impl PictureDiff {
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }
}

/// Compares the stored rows, as (id, fingerprint), with the report's contacts. Each stored row
/// matches at most one contact of the same fingerprint; of stored duplicates the newest (the
/// highest id) is kept first.
pub fn diff_picture(stored: &[(i64, i64)], report: &[StoredContact]) -> PictureDiff {
    // Sorted (fingerprint, id) pairs and a flag each, not a map of vectors: no allocation per
    // stored row (a 100,000-contact picture held ~7 MB more at the ingest's peak that way).
    let mut by_fingerprint: Vec<(i64, i64)> = stored.iter().map(|&(id, fp)| (fp, id)).collect();
    by_fingerprint.sort_unstable();
    let mut kept = vec![false; by_fingerprint.len()];
    let mut added = Vec::new();
    for (i, c) in report.iter().enumerate() {
        let start = by_fingerprint.partition_point(|&(fp, _)| fp < c.fingerprint);
        let end = by_fingerprint.partition_point(|&(fp, _)| fp <= c.fingerprint);
        match (start..end).rev().find(|&at| !kept[at]) {
            Some(at) => kept[at] = true,
            None => added.push(i),
        }
    }
    let mut removed: Vec<i64> = by_fingerprint
        .iter()
        .zip(&kept)
        .filter(|(_, kept)| !**kept)
        .map(|(&(_, id), _)| id)
        .collect();
    removed.sort_unstable();
    PictureDiff { removed, added }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::registrations::ContactStatus;

    fn reg(endpoint: &str, contact: &str, status: &str) -> Registration {
        Registration {
            endpoint: endpoint.into(),
            tenant: None,
            contact: contact.into(),
            user_agent: None,
            status: ContactStatus::parse(status),
        }
    }

    fn stored(rows: &[Registration]) -> Vec<(i64, i64)> {
        let m = TenantMatcher::default();
        rows.iter()
            .enumerate()
            .map(|(i, r)| (i as i64 + 100, StoredContact::of(r, &m).fingerprint))
            .collect()
    }

    #[test]
    fn an_identical_report_changes_nothing() {
        let m = TenantMatcher::default();
        let rows = vec![
            reg("100-ROSSI", "sip:a@10.0.0.1", "Avail"),
            reg("101-ROSSI", "sip:b@10.0.0.2", "Avail"),
        ];
        let report: Vec<_> = rows.iter().map(|r| StoredContact::of(r, &m)).collect();
        assert!(diff_picture(&stored(&rows), &report).is_empty());
    }

    #[test]
    fn only_what_changed_is_written() {
        let m = TenantMatcher::default();
        let before = vec![
            reg("100-ROSSI", "sip:a@10.0.0.1", "Avail"),
            reg("101-ROSSI", "sip:b@10.0.0.2", "Avail"),
            reg("102-ROSSI", "sip:c@10.0.0.3", "Avail"),
        ];
        let after = [
            reg("100-ROSSI", "sip:a@10.0.0.1", "Avail"),
            reg("101-ROSSI", "sip:b@10.0.0.2", "Unavail"), // status changed
            reg("103-ROSSI", "sip:d@10.0.0.4", "Avail"),   // new
        ];
        let report: Vec<_> = after.iter().map(|r| StoredContact::of(r, &m)).collect();
        let d = diff_picture(&stored(&before), &report);
        assert_eq!(d.removed, vec![101, 102]);
        assert_eq!(d.added, vec![1, 2]);
    }

    #[test]
    fn duplicates_are_counted_as_a_multiset() {
        let m = TenantMatcher::default();
        let one = reg("100-ROSSI", "sip:a@10.0.0.1", "Avail");
        let report_rows = vec![one.clone(), one.clone()];
        let report: Vec<_> = report_rows
            .iter()
            .map(|r| StoredContact::of(r, &m))
            .collect();
        // Stored once, reported twice: one more row.
        let d = diff_picture(&stored(std::slice::from_ref(&one)), &report);
        assert_eq!((d.removed.len(), d.added.len()), (0, 1));
        // Stored twice, reported once: one row goes.
        let d = diff_picture(&stored(&report_rows), &report[..1]);
        assert_eq!((d.removed.len(), d.added.len()), (1, 0));
    }

    /// The diff as first written, with a map of id vectors: the oracle of the property below.
    fn diff_by_map(stored: &[(i64, i64)], report: &[i64]) -> PictureDiff {
        let mut by_fingerprint: std::collections::HashMap<i64, Vec<i64>> = Default::default();
        for (id, fp) in stored {
            by_fingerprint.entry(*fp).or_default().push(*id);
        }
        let mut added = Vec::new();
        for (i, fp) in report.iter().enumerate() {
            if by_fingerprint.get_mut(fp).and_then(Vec::pop).is_none() {
                added.push(i);
            }
        }
        let mut removed: Vec<i64> = by_fingerprint.into_values().flatten().collect();
        removed.sort_unstable();
        PictureDiff { removed, added }
    }

    fn contact(fingerprint: i64) -> StoredContact {
        StoredContact {
            endpoint: "100-ROSSI".into(),
            endpoint_key: "100-rossi".into(),
            tenant_key: None,
            contact: "sip:a@10.0.0.1".into(),
            user_agent: None,
            status: ContactStatus::Avail,
            registered: 1,
            fingerprint,
        }
    }

    proptest::proptest! {
        /// Few fingerprints, so that duplicates on both sides are common. The picture comes
        /// by id, as the ingest reads it (the oracle keeps the last of each fingerprint).
        #[test]
        fn the_diff_matches_the_map_of_vectors(
            stored_fps in proptest::collection::vec(0i64..6, 0..40),
            report_fps in proptest::collection::vec(0i64..6, 0..40),
        ) {
            let stored: Vec<(i64, i64)> = stored_fps
                .iter()
                .enumerate()
                .map(|(i, fp)| (100 + 3 * i as i64, *fp))
                .collect();
            let report: Vec<StoredContact> = report_fps.iter().map(|fp| contact(*fp)).collect();
            proptest::prop_assert_eq!(diff_picture(&stored, &report), diff_by_map(&stored, &report_fps));
        }
    }

    #[test]
    fn the_tenant_rule_is_part_of_the_fingerprint() {
        let r = reg("100-ROSSI", "sip:a@10.0.0.1", "Avail");
        let default = StoredContact::of(&r, &TenantMatcher::default());
        let prefix = TenantMatcher::new("^(?P<tenant>[0-9]+)-").expect("rule");
        let other = StoredContact::of(&r, &prefix);
        assert_ne!(default.tenant_key, other.tenant_key);
        assert_ne!(default.fingerprint, other.fingerprint);
    }

    #[test]
    fn absent_and_empty_fields_differ_and_fields_do_not_run_together() {
        assert_ne!(fingerprint(&[None]), fingerprint(&[Some("")]));
        assert_ne!(
            fingerprint(&[Some("ab"), Some("c")]),
            fingerprint(&[Some("a"), Some("bc")])
        );
        assert_ne!(fingerprint(&[Some("x")]), 0);
    }
}
