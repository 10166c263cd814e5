//! Long work (large imports) runs in the background of the instance that accepted it; its
//! progress and outcome are kept here until an hour after it finished.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One piece of background work and how far it got.
pub struct Job {
    pub title: String,
    pub total: usize,
    pub done: AtomicUsize,
    /// Set when finished: Ok(summary) or Err(what went wrong).
    pub outcome: Mutex<Option<std::result::Result<String, String>>>,
    /// Where to go once it is done.
    pub next: String,
    pub owner: String,
}

/// Jobs of this instance, by id. Finished ones are dropped after an hour.
#[derive(Default)]
pub struct Jobs(Mutex<HashMap<String, (std::time::Instant, Arc<Job>)>>);

impl Jobs {
    pub fn start(
        &self,
        title: String,
        total: usize,
        next: String,
        owner: String,
    ) -> (String, Arc<Job>) {
        let id = crate::domain::auth::new_secret("").unwrap_or_default()[..16].to_string();
        let job = Arc::new(Job {
            title,
            total,
            done: AtomicUsize::new(0),
            outcome: Mutex::new(None),
            next,
            owner,
        });
        if let Ok(mut jobs) = self.0.lock() {
            jobs.retain(|_, (at, _)| at.elapsed().as_secs() < 3600);
            jobs.insert(id.clone(), (std::time::Instant::now(), job.clone()));
        }
        (id, job)
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.0.lock().ok()?.get(id).map(|(_, j)| j.clone())
    }
}

impl Job {
    pub fn progress(&self, done: usize) {
        self.done.store(done, Ordering::Relaxed);
    }

    pub fn finish(&self, outcome: std::result::Result<String, String>) {
        self.done.store(self.total, Ordering::Relaxed);
        if let Ok(mut o) = self.outcome.lock() {
            *o = Some(outcome);
        }
    }
}
