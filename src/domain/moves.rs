//! Tenant moves: what a change of a tenant's pool does while its phones are still provisioned
//! with the old pool's SRV name, and when the move is over.
//!
//! A move starts when a tenant with registered phones changes pool. While it is in flight its
//! phones on a home server of the old pool that is not a home server of the new pool are
//! "awaiting re-provisioning", not split, away, off-pool or failback problems. It is *done* when
//! at most the normal away share (Settings) is still off the new pool's home servers, *stalled*
//! past its deadline (Settings, 48 h by default; stalled is still in flight and may still end
//! done), and *cancelled* by an admin (the tenant goes back to its old pool), by a change back
//! to the old pool, by another change (which supersedes it), or by taking the tenant out of
//! every pool. Pure: the caller passes `now` and the counts.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::ids::PoolId;

/// Where a move is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum MoveState {
    #[default]
    Moving,
    Done,
    Stalled,
    Cancelled,
}

impl MoveState {
    pub const ALL: [MoveState; 4] = [
        MoveState::Moving,
        MoveState::Done,
        MoveState::Stalled,
        MoveState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MoveState::Moving => "moving",
            MoveState::Done => "done",
            MoveState::Stalled => "stalled",
            MoveState::Cancelled => "cancelled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MoveState::Moving => "in progress",
            MoveState::Done => "done",
            MoveState::Stalled => "stalled",
            MoveState::Cancelled => "cancelled",
        }
    }

    /// Still waiting for phones (a stalled move may still complete).
    pub fn in_flight(self) -> bool {
        matches!(self, MoveState::Moving | MoveState::Stalled)
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        MoveState::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown move state {s:?}: expected moving, done, stalled or cancelled")
            })
    }
}

impl fmt::Display for MoveState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a move ended, as stored and shown.
pub mod reason {
    /// Enough phones reached the new pool's home servers.
    pub const DONE: &str = "done";
    /// An admin cancelled it: the tenant went back to its old pool.
    pub const CANCELLED: &str = "cancelled";
    /// The tenant was put back in the move's old pool.
    pub const CHANGED_BACK: &str = "changed back";
    /// Another pool change replaced it with a move from the same old pool.
    pub const SUPERSEDED: &str = "superseded";
    /// The tenant was taken out of every pool.
    pub const UNPLACED: &str = "unplaced";
}

/// The move in flight when a tenant's pool changes: the pool it started from (`None` when that
/// pool has since been deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenMove {
    pub from_pool: Option<PoolId>,
}

/// What one change of a tenant's pool does to its moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MoveDecision {
    /// End the move in flight (it is cancelled), for this reason.
    pub end_open: Option<&'static str>,
    /// Start a move (from pool, to pool).
    pub start: Option<(PoolId, PoolId)>,
}

/// What changing a tenant's pool from `before` to `after` does, with `open` its move in flight
/// and `registered` its phones registered now:
/// - the same pool: nothing;
/// - out of every pool: any move ends (an unplaced tenant has no home to move to);
/// - back to the old pool of the move in flight: that move is cancelled, no new one;
/// - another pool while a move is in flight: the new move supersedes it and starts from the
///   first move's old pool (where the phones still are);
/// - an unplaced tenant getting a pool: no move (its phones are expected at the new home at
///   once);
/// - no registered phone: no move (nothing to re-provision).
pub fn on_pool_change(
    before: Option<PoolId>,
    after: Option<PoolId>,
    open: Option<OpenMove>,
    registered: u64,
) -> MoveDecision {
    if before == after {
        return MoveDecision::default();
    }
    let Some(after) = after else {
        return MoveDecision {
            end_open: open.map(|_| reason::UNPLACED),
            start: None,
        };
    };
    match open {
        Some(open) if open.from_pool == Some(after) => MoveDecision {
            end_open: Some(reason::CHANGED_BACK),
            start: None,
        },
        Some(open) => MoveDecision {
            end_open: Some(reason::SUPERSEDED),
            start: open
                .from_pool
                .or(before)
                .filter(|_| registered > 0)
                .filter(|from| *from != after)
                .map(|from| (from, after)),
        },
        None => MoveDecision {
            end_open: None,
            start: before.filter(|_| registered > 0).map(|from| (from, after)),
        },
    }
}

/// Where a move's phones are: on the new pool's home servers, and registered anywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MoveProgress {
    pub at_new_home: u64,
    pub registered: u64,
}

impl MoveProgress {
    /// Share of the registered phones at the new home (0 with none registered).
    pub fn fraction(&self) -> f64 {
        if self.registered == 0 {
            0.0
        } else {
            self.at_new_home.min(self.registered) as f64 / self.registered as f64
        }
    }

    /// Whole percent, for bars and labels (never 100 before every phone has arrived).
    pub fn percent(&self) -> u32 {
        let p = (self.fraction() * 100.0).floor() as u32;
        p.min(100)
    }

    /// Phones not at the new home yet.
    pub fn waiting(&self) -> u64 {
        self.registered.saturating_sub(self.at_new_home)
    }

    /// At most the normal away share is still off the new home (and some phone is registered:
    /// a tenant with none registered tells nothing).
    pub fn complete(&self, normal_away_share: f64) -> bool {
        let normal = if normal_away_share.is_finite() {
            normal_away_share.clamp(0.0, 1.0)
        } else {
            0.10
        };
        self.registered > 0 && (self.waiting() as f64) <= normal * self.registered as f64
    }
}

/// The state an in-flight move goes to given its progress at `now`, or `None` when it stays:
/// done once complete (a stalled move too), stalled once older than `deadline_secs`.
pub fn next_state(
    state: MoveState,
    started_at: i64,
    progress: MoveProgress,
    now: i64,
    deadline_secs: i64,
    normal_away_share: f64,
) -> Option<MoveState> {
    if !state.in_flight() {
        return None;
    }
    if progress.complete(normal_away_share) {
        return Some(MoveState::Done);
    }
    if state == MoveState::Moving && past_deadline(started_at, now, deadline_secs) {
        return Some(MoveState::Stalled);
    }
    None
}

/// Whether a move started at `started_at` is past its deadline at `now`.
pub fn past_deadline(started_at: i64, now: i64, deadline_secs: i64) -> bool {
    now.saturating_sub(started_at) > deadline_secs.max(0)
}

/// A tenant's move in flight, as the alert rules see it (in `TenantFacts::moving`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MoveFacts {
    /// The pool it moves from.
    pub from_pool: String,
    /// The old pool's home servers: phones there that are not on a home server of the new pool
    /// await re-provisioning.
    pub old_home_servers: Vec<String>,
    /// Unix seconds.
    pub started_at: i64,
    /// Past its deadline (Settings): the move is stalled and raises its alert.
    pub stalled: bool,
    /// The deadline, in seconds (for the alert's text).
    #[serde(default)]
    pub deadline_secs: i64,
    /// Some of the phones still on the old servers (filled for a stalled move, to name them).
    #[serde(default)]
    pub waiting: Vec<String>,
}

impl MoveFacts {
    /// Whether phones on `server` await re-provisioning: it is a home server of the old pool
    /// and not one of `new_home_servers`.
    pub fn awaiting_on(&self, server: &str, new_home_servers: &[String]) -> bool {
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        self.old_home_servers.iter().any(|h| same(h, server))
            && !new_home_servers.iter().any(|h| same(h, server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: PoolId = PoolId::new(1);
    const B: PoolId = PoolId::new(2);
    const C: PoolId = PoolId::new(3);

    fn start(from: PoolId, to: PoolId) -> MoveDecision {
        MoveDecision {
            end_open: None,
            start: Some((from, to)),
        }
    }

    #[test]
    fn a_pool_change_with_phones_starts_a_move() {
        assert_eq!(on_pool_change(Some(A), Some(B), None, 12), start(A, B));
    }

    #[test]
    fn no_move_without_phones_or_without_a_change() {
        assert_eq!(
            on_pool_change(Some(A), Some(B), None, 0),
            MoveDecision::default()
        );
        assert_eq!(
            on_pool_change(Some(A), Some(A), Some(OpenMove { from_pool: Some(C) }), 5),
            MoveDecision::default()
        );
    }

    #[test]
    fn an_unplaced_tenant_getting_a_pool_starts_no_move() {
        assert_eq!(
            on_pool_change(None, Some(B), None, 40),
            MoveDecision::default()
        );
    }

    #[test]
    fn taken_out_of_every_pool_ends_the_move() {
        let open = Some(OpenMove { from_pool: Some(A) });
        assert_eq!(
            on_pool_change(Some(B), None, open, 40),
            MoveDecision {
                end_open: Some(reason::UNPLACED),
                start: None
            }
        );
        assert_eq!(
            on_pool_change(Some(B), None, None, 40),
            MoveDecision::default()
        );
    }

    #[test]
    fn a_second_change_supersedes_from_the_first_old_pool() {
        let open = Some(OpenMove { from_pool: Some(A) });
        assert_eq!(
            on_pool_change(Some(B), Some(C), open, 9),
            MoveDecision {
                end_open: Some(reason::SUPERSEDED),
                start: Some((A, C))
            }
        );
        // The old pool deleted meanwhile: the new move starts from the current pool.
        let gone = Some(OpenMove { from_pool: None });
        assert_eq!(
            on_pool_change(Some(B), Some(C), gone, 9).start,
            Some((B, C))
        );
        // Superseding with no phone registered any more ends the move and starts none.
        assert_eq!(on_pool_change(Some(B), Some(C), open, 0).start, None);
    }

    #[test]
    fn a_change_back_to_the_old_pool_cancels() {
        let open = Some(OpenMove { from_pool: Some(A) });
        assert_eq!(
            on_pool_change(Some(B), Some(A), open, 9),
            MoveDecision {
                end_open: Some(reason::CHANGED_BACK),
                start: None
            }
        );
    }

    fn progress(at_new_home: u64, registered: u64) -> MoveProgress {
        MoveProgress {
            at_new_home,
            registered,
        }
    }

    #[test]
    fn done_at_most_the_normal_share_away() {
        let h = 3600;
        // 9 of 10 at the new home: 10% still away, the normal share.
        assert_eq!(
            next_state(MoveState::Moving, 0, progress(9, 10), h, 48 * h, 0.10),
            Some(MoveState::Done)
        );
        assert_eq!(
            next_state(MoveState::Moving, 0, progress(8, 10), h, 48 * h, 0.10),
            None
        );
        // A stalled move that completes is done.
        assert_eq!(
            next_state(
                MoveState::Stalled,
                0,
                progress(10, 10),
                99 * h,
                48 * h,
                0.10
            ),
            Some(MoveState::Done)
        );
        // Nothing registered tells nothing.
        assert!(!progress(0, 0).complete(0.10));
    }

    #[test]
    fn stalled_after_the_deadline_once() {
        let h = 3600;
        assert_eq!(
            next_state(MoveState::Moving, 0, progress(2, 10), 48 * h, 48 * h, 0.10),
            None
        );
        assert_eq!(
            next_state(
                MoveState::Moving,
                0,
                progress(2, 10),
                48 * h + 1,
                48 * h,
                0.10
            ),
            Some(MoveState::Stalled)
        );
        assert_eq!(
            next_state(MoveState::Stalled, 0, progress(2, 10), 99 * h, 48 * h, 0.10),
            None
        );
        for ended in [MoveState::Done, MoveState::Cancelled] {
            assert_eq!(
                next_state(ended, 0, progress(10, 10), 99 * h, 48 * h, 0.1),
                None
            );
        }
    }

    #[test]
    fn progress_figures() {
        assert_eq!(progress(3, 12).percent(), 25);
        assert_eq!(progress(11, 12).percent(), 91);
        assert_eq!(progress(12, 12).percent(), 100);
        assert_eq!(progress(0, 0).percent(), 0);
        assert_eq!(progress(3, 12).waiting(), 9);
    }

    #[test]
    fn awaiting_only_on_old_homes_that_are_not_new_homes() {
        let m = MoveFacts {
            from_pool: "pbxA".into(),
            old_home_servers: vec!["voip1".into(), "shared".into()],
            ..Default::default()
        };
        let new_home = vec!["voip2".into(), "SHARED".into()];
        assert!(m.awaiting_on("VOIP1", &new_home));
        assert!(!m.awaiting_on("shared", &new_home));
        assert!(!m.awaiting_on("voip3", &new_home));
    }

    #[test]
    fn states_parse_and_print() {
        for s in MoveState::ALL {
            assert_eq!(MoveState::parse(s.as_str()), Ok(s));
        }
        assert!(MoveState::parse("all").is_err());
    }
}
