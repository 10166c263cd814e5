//! A pool whose members changed is "changing" until phones can only find the new records: the
//! new records must be published (the DNS check sees the pool in sync, or an admin marks the
//! zone published when no check is configured) and the old records must have expired from
//! resolver caches (their TTL after the publication). Meanwhile phones may still register where
//! the old records sent them, so the pool's tenants' away, split and failback alerts are held
//! back and the pool page says what it waits for. A pool's first members publish no records
//! anyone cached before, so they start no wait. Pure: the caller passes `now`.

use serde::Serialize;

/// The last change of a pool's members, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PoolChange {
    /// Unix seconds.
    pub changed_at: i64,
    pub changed_by: String,
    /// TTL of the records caches may still hold, in seconds.
    pub ttl: i64,
    /// When an admin marked the zone published, and who.
    pub published_at: Option<i64>,
    pub published_by: Option<String>,
    /// When the DNS check first saw the pool in sync after the change.
    pub synced_at: Option<i64>,
}

/// What a changing pool waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "waits_for", rename_all = "snake_case")]
pub enum ChangeState {
    /// Nothing: phones can only find the new records.
    Settled,
    /// The new records are not published yet (or not seen in sync).
    Publication,
    /// Published; caches may hold the old records until `until` (Unix seconds).
    CacheExpiry { until: i64 },
}

impl PoolChange {
    /// The moment the new records were out: the earlier of the check seeing them and an admin
    /// marking them published.
    pub fn published(&self) -> Option<i64> {
        match (self.synced_at, self.published_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn state(&self, now: i64) -> ChangeState {
        match self.published() {
            None => ChangeState::Publication,
            Some(at) => {
                let until = at.saturating_add(self.ttl.max(0));
                if now < until {
                    ChangeState::CacheExpiry { until }
                } else {
                    ChangeState::Settled
                }
            }
        }
    }

    /// Whether the pool is still changing at `now`.
    pub fn changing(&self, now: i64) -> bool {
        self.state(now) != ChangeState::Settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> PoolChange {
        PoolChange {
            changed_at: 1_000,
            changed_by: "admin".into(),
            ttl: 86_400,
            published_at: None,
            published_by: None,
            synced_at: None,
        }
    }

    #[test]
    fn a_change_waits_for_publication_then_for_the_old_ttl() {
        let mut c = change();
        assert_eq!(c.state(1_000_000), ChangeState::Publication, "however long");
        assert!(c.changing(1_000_000));
        c.synced_at = Some(2_000);
        assert_eq!(c.state(2_000), ChangeState::CacheExpiry { until: 88_400 });
        assert_eq!(c.state(88_399), ChangeState::CacheExpiry { until: 88_400 });
        assert_eq!(c.state(88_400), ChangeState::Settled);
        assert!(!c.changing(88_400));
    }

    #[test]
    fn the_earlier_of_the_check_and_the_admin_counts_as_published() {
        let mut c = change();
        c.published_at = Some(5_000);
        assert_eq!(c.published(), Some(5_000));
        c.synced_at = Some(3_000);
        assert_eq!(c.published(), Some(3_000));
        c.published_at = Some(1_500);
        assert_eq!(c.published(), Some(1_500));
        assert_eq!(c.state(1_500 + 86_400), ChangeState::Settled);
    }

    #[test]
    fn a_zero_or_negative_ttl_settles_at_publication() {
        let mut c = change();
        c.ttl = -5;
        c.published_at = Some(2_000);
        assert_eq!(c.state(1_999), ChangeState::CacheExpiry { until: 2_000 });
        assert_eq!(c.state(2_000), ChangeState::Settled);
    }
}
