//! A value computed from the whole database (the cluster view, the alerts), cached under a
//! [`ViewKey`] and rebuilt by one task at a time.
//!
//! The policy, which a general cache crate does not offer (moka's `get_with` coalesces loads but
//! cannot serve the old value while the new one builds, nor take a reader's version floor):
//! - a reader whose key matches gets the cached value;
//! - otherwise, if the cached value is recent and includes every change the reader has seen
//!   (its [`Seen`] floor), the reader gets it at once, and one background task rebuilds;
//! - otherwise the reader waits for the one rebuild in progress (or starts it), so that a
//!   request that has just written sees its own change, and so that a herd of requests after a
//!   change costs one rebuild, not one each.
//!
//! The cached value is only ever replaced by a newer one, never emptied first.

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::Result;
use crate::store::DataVersion;

/// Rules that depend on the clock alone (a server that stopped reporting, failback lag) must
/// fire without any data change: the key changes at least this often.
pub const TICK: Duration = Duration::from_secs(30);

/// A stale value older than this is not served while rebuilding: the reader waits.
const MAX_STALE: Duration = Duration::from_secs(120);

/// What a cached value was computed for: the data version it includes and the clock tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewKey {
    pub version: DataVersion,
    pub tick: i64,
}

impl ViewKey {
    pub fn now(version: DataVersion) -> Self {
        let secs = jiff::Timestamp::now().as_second();
        Self {
            version,
            tick: secs.div_euclid(TICK.as_secs() as i64),
        }
    }
}

/// The newest data version a reader has seen or written (0: none). A view served to it must
/// include that version; the web layer carries it from a write to the reads after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seen(pub DataVersion);

/// A cached value with what it was built for.
pub struct Cached<T> {
    pub value: Arc<T>,
    pub key: ViewKey,
    pub built_at: Instant,
}

impl<T> Clone for Cached<T> {
    fn clone(&self) -> Self {
        Self {
            value: self.value.clone(),
            key: self.key,
            built_at: self.built_at,
        }
    }
}

/// One cached value and the lock that lets a single task rebuild it. Clones share both.
pub struct Slot<T> {
    current: Arc<RwLock<Option<Cached<T>>>>,
    rebuilding: Arc<tokio::sync::Mutex<()>>,
}

impl<T> Clone for Slot<T> {
    fn clone(&self) -> Self {
        Self {
            current: self.current.clone(),
            rebuilding: self.rebuilding.clone(),
        }
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            current: Arc::new(RwLock::new(None)),
            rebuilding: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

impl<T: Send + Sync + 'static> Slot<T> {
    /// Waits for the rebuild in progress, if any. A background rebuild holds the lock from
    /// before it is spawned until it ends, so none is missed.
    pub async fn settled(&self) {
        let _ = self.rebuilding.lock().await;
    }

    /// The cached value, whatever its key.
    pub fn peek(&self) -> Option<Cached<T>> {
        self.current.read().ok()?.clone()
    }

    fn put(&self, cached: Cached<T>) {
        if let Ok(mut current) = self.current.write() {
            // Never go back: a slow rebuild of an older version loses to a newer one.
            if current
                .as_ref()
                .is_none_or(|c| c.key.version <= cached.key.version)
            {
                *current = Some(cached);
            }
        }
    }

    /// The value for `key` (see the module comment for when an older one is served).
    /// `build` computes the value of the data as it is now, which includes `key.version`.
    pub async fn get<F, Fut>(&self, key: ViewKey, seen: Seen, build: F) -> Result<Cached<T>>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        if let Some(cached) = self.peek() {
            if cached.key == key {
                return Ok(cached);
            }
            let usable = cached.key.version >= seen.0 && cached.built_at.elapsed() < MAX_STALE;
            if usable {
                if let Ok(guard) = self.rebuilding.clone().try_lock_owned() {
                    let slot = self.clone();
                    tokio::spawn(async move {
                        let _rebuilding = guard;
                        if slot.peek().is_some_and(|c| c.key == key) {
                            return;
                        }
                        let started = Instant::now();
                        match build().await {
                            Ok(value) => slot.put(Cached {
                                value: Arc::new(value),
                                key,
                                built_at: started,
                            }),
                            Err(e) => tracing::warn!(error = %e, "background rebuild failed"),
                        }
                    });
                }
                return Ok(cached);
            }
        }
        let _rebuilding = self.rebuilding.lock().await;
        // Whoever held the lock may have built what this reader needs.
        if let Some(cached) = self.peek()
            && (cached.key == key
                || (cached.key.version >= key.version && cached.key.tick >= key.tick))
        {
            return Ok(cached);
        }
        let started = Instant::now();
        let cached = Cached {
            value: Arc::new(build().await?),
            key,
            built_at: started,
        };
        self.put(cached.clone());
        Ok(cached)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(version: i64) -> ViewKey {
        ViewKey { version, tick: 1 }
    }

    /// A build that counts its runs and takes a while, so that readers overlap it.
    fn counted(
        runs: &Arc<AtomicUsize>,
        value: i64,
    ) -> impl FnOnce() -> std::pin::Pin<Box<dyn Future<Output = Result<i64>> + Send>> + Send + 'static
    {
        let runs = runs.clone();
        move || {
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(value)
            })
        }
    }

    #[tokio::test]
    async fn concurrent_readers_share_one_build() {
        let slot: Slot<i64> = Slot::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let readers: Vec<_> = (0..32)
            .map(|_| {
                let slot = slot.clone();
                let build = counted(&runs, 7);
                tokio::spawn(async move { slot.get(key(1), Seen(0), build).await })
            })
            .collect();
        for r in readers {
            assert_eq!(*r.await.unwrap().unwrap().value, 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_reader_gets_the_old_value_while_one_task_rebuilds() {
        let slot: Slot<i64> = Slot::default();
        let runs = Arc::new(AtomicUsize::new(0));
        slot.get(key(1), Seen(0), counted(&runs, 1)).await.unwrap();
        // Data moved to version 2; readers that have not written get version 1 at once.
        for _ in 0..10 {
            let got = slot.get(key(2), Seen(0), counted(&runs, 2)).await.unwrap();
            assert_eq!(got.key.version, 1);
        }
        // One rebuild ran in the background; wait for it.
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        let got = slot.get(key(2), Seen(0), counted(&runs, 2)).await.unwrap();
        assert_eq!((*got.value, got.key.version), (2, 2));
    }

    #[tokio::test]
    async fn settled_waits_for_the_background_rebuild() {
        let slot: Slot<i64> = Slot::default();
        let runs = Arc::new(AtomicUsize::new(0));
        slot.get(key(1), Seen(0), counted(&runs, 1)).await.unwrap();
        // Served the old value; the 50 ms rebuild runs in a task of its own.
        let got = slot.get(key(2), Seen(0), counted(&runs, 2)).await.unwrap();
        assert_eq!(got.key.version, 1);
        slot.settled().await;
        // No sleep: settled returned only once the rebuild had stored its value.
        assert_eq!(slot.peek().map(|c| c.key.version), Some(2));
    }

    #[tokio::test]
    async fn a_reader_that_wrote_waits_for_its_version() {
        let slot: Slot<i64> = Slot::default();
        let runs = Arc::new(AtomicUsize::new(0));
        slot.get(key(1), Seen(0), counted(&runs, 1)).await.unwrap();
        let got = slot.get(key(2), Seen(2), counted(&runs, 2)).await.unwrap();
        assert_eq!((*got.value, got.key.version), (2, 2));
    }

    #[tokio::test]
    async fn an_older_build_never_replaces_a_newer_value() {
        let slot: Slot<i64> = Slot::default();
        slot.put(Cached {
            value: Arc::new(5),
            key: key(5),
            built_at: Instant::now(),
        });
        slot.put(Cached {
            value: Arc::new(4),
            key: key(4),
            built_at: Instant::now(),
        });
        assert_eq!(*slot.peek().unwrap().value, 5);
    }

    #[tokio::test]
    async fn a_failed_build_keeps_the_old_value() {
        let slot: Slot<i64> = Slot::default();
        let runs = Arc::new(AtomicUsize::new(0));
        slot.get(key(1), Seen(0), counted(&runs, 1)).await.unwrap();
        let failed = slot
            .get(key(2), Seen(2), || async {
                Err(crate::app::Error::BadInput("no".into()))
            })
            .await;
        assert!(failed.is_err());
        assert_eq!(*slot.peek().unwrap().value, 1);
    }
}
