//! This instance's tenant book (see [`crate::domain::tenant_book`]): read whole once, then on
//! each new view patched with the tenants the store journalled since (issue 14: a push that
//! changes 1% of a server's contacts re-reads about that many tenants, not all 10,000).

use std::time::{Duration, Instant};

use tokio::sync::{MappedMutexGuard, MutexGuard};

use std::collections::HashMap;

use super::{App, Result};
use crate::domain::ids::{PoolId, ServerId, TenantId};
use crate::domain::tenant_book::TenantBook;
use crate::store::{JOURNAL_KEEP_SECS, JOURNAL_REREAD_LIMIT, JournalMark};

/// A book not refreshed for this long is read whole: the journal keeps
/// [`JOURNAL_KEEP_SECS`], so the rows since its mark may have been pruned after that.
const PATCH_WITHIN: Duration = Duration::from_secs(JOURNAL_KEEP_SECS as u64 / 2);

/// The book with where it stands in the journal.
pub struct KeptBook {
    pub book: TenantBook,
    mark: JournalMark,
    refreshed_at: Instant,
    /// Whether the away phones have been read: only the alert rules need them (about 80% of
    /// a whole read at 10,000 tenants), so the view, the planner and the pages do not wait for
    /// them.
    away_read: bool,
}

/// What the caller needs of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Tenants and their phones per server (the view, the planner).
    Counts,
    /// Also the away phones (the alert rules' failback lag).
    AwayPhones,
}

/// How a refresh brought the book up to date (logged, and asserted by tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Read whole (first use, a pool or server change, or too many changes since).
    Whole,
    /// Patched: this many tenants re-read.
    Patched(usize),
}

/// The book brought up to date for a cluster with these pools' home servers and these
/// servers, locked for the caller (the view and the alerts are each built by one task at a
/// time, so the lock is hardly contended).
pub async fn refreshed<'a>(
    app: &'a App,
    home_sets: &HashMap<PoolId, Vec<ServerId>>,
    servers: &[ServerId],
    need: Need,
) -> Result<(MappedMutexGuard<'a, KeptBook>, Refresh)> {
    let mut kept = app.shared.book.lock().await;
    let how = match kept.as_mut() {
        Some(k) if k.book.fits(home_sets, servers) && k.refreshed_at.elapsed() < PATCH_WITHIN => {
            let (ids, next) = app.store.journal_since(k.mark).await?;
            if ids.len() <= JOURNAL_REREAD_LIMIT {
                patch(app, &mut k.book, &ids, k.away_read).await?;
                k.mark = next;
                k.refreshed_at = Instant::now();
                Refresh::Patched(ids.len())
            } else {
                *kept = Some(whole(app, home_sets, servers).await?);
                Refresh::Whole
            }
        }
        _ => {
            *kept = Some(whole(app, home_sets, servers).await?);
            Refresh::Whole
        }
    };
    // Every branch above left a book (or returned the error that kept it from being read).
    let mut kept = MutexGuard::map(kept, |k| k.as_mut().expect("the book was read above"));
    if need == Need::AwayPhones && !kept.away_read {
        // Read after the mark it stands at: at least as new as the rest of the book.
        read_away(app, &mut kept.book, None).await?;
        kept.away_read = true;
    }
    Ok((kept, how))
}

/// Reads the whole book but its away phones; the journal mark is taken before the data.
async fn whole(
    app: &App,
    home_sets: &HashMap<PoolId, Vec<ServerId>>,
    servers: &[ServerId],
) -> Result<KeptBook> {
    let refreshed_at = Instant::now();
    let ms = || refreshed_at.elapsed().as_secs_f64() * 1e3;
    let mark = app.store.journal_mark().await?;
    let mut book = TenantBook::new(home_sets.clone(), servers.to_vec());
    let tenants = app.store.book_tenants(None).await?;
    let tenants_ms = ms();
    let counts = app.store.book_counts(None).await?;
    let ids: Vec<TenantId> = tenants.iter().map(|t| t.id).collect();
    book.replace(&ids, tenants, counts);
    tracing::debug!(
        tenants = book.len(),
        tenants_ms,
        done_ms = ms(),
        "tenant book read whole (ms since the start)"
    );
    Ok(KeptBook {
        book,
        mark,
        refreshed_at,
        away_read: false,
    })
}

/// Re-reads the tenants `ids` (placement, counts, and the away phones if the book has them).
async fn patch(app: &App, book: &mut TenantBook, ids: &[TenantId], away: bool) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let tenants = app.store.book_tenants(Some(ids)).await?;
    let counts = app.store.book_counts(Some(ids)).await?;
    book.replace(ids, tenants, counts);
    if away {
        read_away(app, book, Some(ids)).await?;
    }
    Ok(())
}

/// Reads the away phones of the tenants `ids` (`None`: all).
async fn read_away(app: &App, book: &mut TenantBook, ids: Option<&[TenantId]>) -> Result<()> {
    let started = Instant::now();
    let pairs = book.away_pairs(ids);
    let away = app.store.book_away_phones(&pairs).await?;
    let rows = away.len();
    book.set_away(&pairs, away);
    if ids.is_none() {
        tracing::debug!(
            pairs = pairs.len(),
            rows,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "tenant book: away phones read whole"
        );
    }
    Ok(())
}

/// Test support: the book read whole now, to compare with the kept (patched) one.
pub async fn read_whole(
    app: &App,
    home_sets: &HashMap<PoolId, Vec<ServerId>>,
    servers: &[ServerId],
) -> Result<TenantBook> {
    let mut book = whole(app, home_sets, servers).await?.book;
    read_away(app, &mut book, None).await?;
    Ok(book)
}
