//! Rendered page content shared by every request that asks for the same thing (the overview,
//! the tenant list): kept per key, rendered by one request while the others wait for it, and
//! dropped once the data it was rendered from is older than what a new request reads.

use axum::body::Bytes;
use std::sync::{Arc, Mutex};

/// A rendering's content, cut where a per-request part goes between the pieces (a form's CSRF
/// field); one piece when there is none.
pub type Pieces = Arc<[Bytes]>;

/// A rendering done or under way.
pub type Rendering = Arc<tokio::sync::OnceCell<Pieces>>;

/// What a rendering is kept under.
pub trait RenderKey: Clone {
    /// Rendered from the same data (whatever else).
    fn same_data(&self, other: &Self) -> bool;
    /// The very same rendering.
    fn same(&self, other: &Self) -> bool;
    /// Whether `self` was read from newer data than `other`.
    fn newer_than(&self, other: &Self) -> bool;
}

/// At most `CAPACITY` renderings of the newest data.
pub struct Renderings<K, const CAPACITY: usize>(Mutex<Vec<(K, Rendering)>>);

impl<K, const CAPACITY: usize> Default for Renderings<K, CAPACITY> {
    fn default() -> Self {
        Self(Mutex::new(Vec::new()))
    }
}

impl<K: RenderKey, const CAPACITY: usize> Renderings<K, CAPACITY> {
    /// The rendering of `key`, done or under way, or a new one (kept for the requests after).
    pub fn entry(&self, key: &K) -> Rendering {
        let Ok(mut cached) = self.0.lock() else {
            return Rendering::default();
        };
        if let Some((_, rendering)) = cached.iter().find(|(k, _)| k.same(key)) {
            return rendering.clone();
        }
        let rendering = Rendering::default();
        // A reader that knew older data renders it for itself: the newer renderings stay.
        if cached.iter().any(|(k, _)| k.newer_than(key)) {
            return rendering;
        }
        // Renderings of older data are of no more use to anyone.
        cached.retain(|(k, _)| k.same_data(key));
        if cached.len() >= CAPACITY {
            cached.remove(0);
        }
        cached.push((key.clone(), rendering.clone()));
        rendering
    }

    /// Drops `rendering` (it failed, or is too large to keep).
    pub fn forget(&self, rendering: &Rendering) {
        if let Ok(mut cached) = self.0.lock() {
            cached.retain(|(_, r)| !Arc::ptr_eq(r, rendering));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CACHED_PAGES: usize = 32;

    /// A key of a version and a page, for the cache alone.
    #[derive(Clone, PartialEq)]
    struct Key(i64, u32);

    impl RenderKey for Key {
        fn same_data(&self, other: &Self) -> bool {
            self.0 == other.0
        }
        fn same(&self, other: &Self) -> bool {
            self == other
        }
        fn newer_than(&self, other: &Self) -> bool {
            self.0 > other.0
        }
    }

    fn pieces(s: &'static str) -> Pieces {
        Arc::from(vec![Bytes::from_static(s.as_bytes())])
    }

    fn kept(cache: &Renderings<Key, CACHED_PAGES>) -> Vec<(i64, u32)> {
        cache
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(k, _)| (k.0, k.1))
            .collect()
    }

    #[tokio::test]
    async fn requests_for_a_page_being_rendered_wait_for_that_rendering() {
        let cache = Renderings::<Key, CACHED_PAGES>::default();
        let first = cache.entry(&Key(1, 1));
        let second = cache.entry(&Key(1, 1));
        assert!(Arc::ptr_eq(&first, &second));
        assert!(!Arc::ptr_eq(&first, &cache.entry(&Key(1, 2))));
        let renders = std::sync::atomic::AtomicUsize::new(0);
        let render = |text| {
            let renders = &renders;
            move || async move {
                renders.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::task::yield_now().await;
                pieces(text)
            }
        };
        let (a, b) = tokio::join!(
            first.get_or_init(render("first")),
            second.get_or_init(render("second"))
        );
        assert_eq!(renders.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(a, b);
    }

    #[test]
    fn newer_data_drops_older_renderings_and_an_older_reader_keeps_nothing() {
        let cache = Renderings::<Key, CACHED_PAGES>::default();
        cache.entry(&Key(1, 1));
        cache.entry(&Key(1, 2));
        assert_eq!(kept(&cache), [(1, 1), (1, 2)]);
        cache.entry(&Key(2, 1));
        assert_eq!(kept(&cache), [(2, 1)]);
        // A reader that knew version 1 gets a rendering of its own, not kept.
        let old = cache.entry(&Key(1, 1));
        assert!(!Arc::ptr_eq(&old, &cache.entry(&Key(1, 1))));
        assert_eq!(kept(&cache), [(2, 1)]);
    }

    #[test]
    fn a_forgotten_rendering_is_done_again_and_the_oldest_page_makes_room() {
        let cache = Renderings::<Key, CACHED_PAGES>::default();
        let failed = cache.entry(&Key(1, 0));
        cache.forget(&failed);
        assert!(kept(&cache).is_empty());
        assert!(!Arc::ptr_eq(&failed, &cache.entry(&Key(1, 0))));
        for page in 1..=CACHED_PAGES as u32 {
            cache.entry(&Key(1, page));
        }
        let pages = kept(&cache);
        assert_eq!(pages.len(), CACHED_PAGES);
        assert_eq!(pages[0], (1, 1), "page 0, the oldest, made room");
    }
}
