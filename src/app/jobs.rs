//! Background jobs: long work (a large CSV import) runs in the background of the instance that
//! accepted it, while its row in the store (`store::jobs`) says how far it got and how it
//! ended, so that any instance behind the load balancer can show it.
//!
//! While the work runs, a heartbeat task writes its progress every [`HEARTBEAT`] together with
//! the time: progress costs at most one small write a second however fast the work counts,
//! and the write goes on when the count stalls (a long statement, the commit), so that a
//! running job is heard of every second. A running job not heard of for [`STALE_AFTER`]
//! seconds is shown as [`Status::Interrupted`] (its instance died), never as running forever.
//! The end of the work, its result or its panic, is recorded by the task that awaits it.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{App, Result};
use crate::store::{JobRecord, JobState, NewJob};

/// How often a running job's progress and heartbeat are written.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// A running job whose heartbeat is this old (seconds) is interrupted: thirty missed beats
/// are no slow write, its instance is gone.
pub const STALE_AFTER: i64 = 30;

/// Finished jobs are kept this long (seconds) for their page, then purged.
const KEEP: i64 = 24 * 3600;

/// What a job's page shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Running,
    /// Finished; what it did.
    Done(String),
    /// Finished without effect; what went wrong.
    Failed(String),
    /// Stored as running, but its instance stopped (a restart, a crash) before it finished: it
    /// will never finish, and its work was not committed.
    Interrupted,
}

/// A job as its owner sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub title: String,
    pub total: u64,
    pub done: u64,
    /// Where its page leads once it finished.
    pub next: String,
    pub status: Status,
    /// When its instance was last heard of (Unix seconds).
    pub heartbeat_at: i64,
}

/// The status of the stored `job` at `now`, as instance `here` sees it. A running job is
/// interrupted once its heartbeat is stale, except to the instance that runs it: that one is
/// alive, and its task records the end (see [`spawn`]). That matters on SQLite, where the
/// import's transaction holds the database's one write lock until it commits, so the
/// heartbeat writes can only queue behind it.
pub fn status(job: &JobRecord, now: i64, here: &str) -> Status {
    match &job.state {
        JobState::Done { outcome } => Status::Done(outcome.clone()),
        JobState::Failed { error } => Status::Failed(error.clone()),
        JobState::Running if job.instance == here || now - job.heartbeat_at < STALE_AFTER => {
            Status::Running
        }
        JobState::Running => Status::Interrupted,
    }
}

/// The job `id` if `viewer` started it; anyone else gets `None`, as for a job that does not
/// exist (or was purged a day after it finished).
pub async fn get(app: &App, id: &str, viewer: &str) -> Result<Option<Job>> {
    let Some(job) = app.store().job(id).await?.filter(|j| j.owner == viewer) else {
        return Ok(None);
    };
    Ok(Some(Job {
        status: status(
            &job,
            jiff::Timestamp::now().as_second(),
            &app.shared.instance,
        ),
        id: job.id,
        title: job.title,
        total: job.total,
        done: job.done.min(job.total),
        next: job.next,
        heartbeat_at: job.heartbeat_at,
    }))
}

/// What a job is, before it starts.
pub struct Spec {
    /// What kind of work (`import-tenants`), for the log.
    pub kind: &'static str,
    pub title: String,
    /// How many steps (lines) the work has.
    pub total: u64,
    pub next: String,
    /// Who started it: the only one who sees it.
    pub owner: String,
}

/// How far the work got. The work sets it as it goes, as cheaply as a counter (it may be deep
/// inside a transaction); the heartbeat writes it out.
#[derive(Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn set(&self, done: u64) {
        self.0.store(done, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Starts `work` in the background as a job of `spec.owner` and returns its id once the job's
/// row exists, so that its page finds it on any instance. The work returns `Ok(summary)` or
/// `Err(what went wrong)`, meant for the owner.
pub async fn spawn<W, F>(app: &App, spec: Spec, work: W) -> Result<String>
where
    W: FnOnce(Progress) -> F,
    F: Future<Output = std::result::Result<String, String>> + Send + 'static,
{
    // Housekeeping where jobs are made, so that no other loop is needed: any instance may do
    // it, the delete is idempotent, and a failure only delays it.
    if let Err(e) = app.store().purge_jobs(KEEP).await {
        tracing::warn!(error = %e, "purging old jobs failed");
    }
    let id = new_id();
    app.store()
        .create_job(&NewJob {
            id: &id,
            kind: spec.kind,
            title: &spec.title,
            owner: &spec.owner,
            total: spec.total,
            next: &spec.next,
            instance: &app.shared.instance,
        })
        .await?;
    let progress = Progress::default();
    let work = tokio::spawn(work(progress.clone()));
    tokio::spawn(supervise(
        app.clone(),
        id.clone(),
        spec.kind,
        progress,
        work,
    ));
    Ok(id)
}

/// A job's id: random, so that ids say nothing of each other. It names the job and grants
/// nothing (only the owner sees a job), so when the OS has no randomness to give, a weaker
/// random id will do.
fn new_id() -> String {
    crate::domain::auth::new_secret("")
        .map(|s| s[..16].to_string())
        .unwrap_or_else(|_| format!("{:016x}", fastrand::u64(..)))
}

/// Keeps the job's heartbeat going while `work` runs, then records how it ended.
async fn supervise(
    app: App,
    id: String,
    kind: &'static str,
    progress: Progress,
    work: tokio::task::JoinHandle<std::result::Result<String, String>>,
) {
    let beat = tokio::spawn(heartbeat(app.clone(), id.clone(), progress));
    let outcome = match work.await {
        Ok(outcome) => outcome,
        // A panic: its transaction was dropped, so nothing of it was committed.
        Err(e) => {
            tracing::error!(job = %id, kind, error = %e, "a background job stopped unexpectedly");
            Err("The work stopped unexpectedly (the log says why).".into())
        }
    };
    beat.abort();
    finish(&app, &id, kind, &outcome).await;
}

/// Writes the progress and the time every [`HEARTBEAT`] until aborted.
async fn heartbeat(app: App, id: String, progress: Progress) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate, and the row was just written
    let mut failing = false;
    loop {
        tick.tick().await;
        match app.store().job_progress(&id, progress.get()).await {
            Ok(_) => failing = false,
            // Once per run of failures: on SQLite each write waits out the busy timeout behind
            // a long import's transaction before it fails, again and again.
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(job = %id, error = %e, "a job's heartbeat was not written (the job goes on)");
            }
            Err(e) => tracing::debug!(job = %id, error = %e, "a job's heartbeat was not written"),
        }
    }
}

/// Records the end of the job, retrying until the database takes it: until then this instance
/// still shows the job as running (see [`status`]), which stays true, since it is still at work
/// on it; the others show it interrupted until the end is recorded.
async fn finish(app: &App, id: &str, kind: &str, outcome: &std::result::Result<String, String>) {
    let mut wait = Duration::from_secs(1);
    loop {
        match app.store().finish_job(id, outcome).await {
            Ok(_) => {
                tracing::info!(job = %id, kind, ok = outcome.is_ok(), "background job finished");
                return;
            }
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "recording a job's end failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(state: JobState, instance: &str, heartbeat_at: i64) -> JobRecord {
        JobRecord {
            id: "0123456789abcdef".into(),
            kind: "import-tenants".into(),
            title: "Tenant import".into(),
            owner: "admin".into(),
            state,
            total: 10,
            done: 3,
            next: "/tenants".into(),
            instance: instance.into(),
            created_at: 900,
            heartbeat_at,
            finished_at: None,
        }
    }

    #[test]
    fn a_running_job_heard_of_lately_is_running() {
        let j = job(JobState::Running, "a", 1000);
        assert_eq!(status(&j, 1000, "b"), Status::Running);
        assert_eq!(status(&j, 1000 + STALE_AFTER - 1, "b"), Status::Running);
    }

    #[test]
    fn a_running_job_with_a_stale_heartbeat_is_interrupted() {
        let j = job(JobState::Running, "a", 1000);
        assert_eq!(status(&j, 1000 + STALE_AFTER, "b"), Status::Interrupted);
        assert_eq!(status(&j, 1000 + 86_400, "b"), Status::Interrupted);
    }

    #[test]
    fn the_instance_running_a_job_knows_it_is_alive() {
        let j = job(JobState::Running, "a", 1000);
        assert_eq!(status(&j, 1000 + 600, "a"), Status::Running);
    }

    #[test]
    fn a_finished_job_shows_its_outcome_however_old() {
        let done = job(
            JobState::Done {
                outcome: "12 created".into(),
            },
            "a",
            1000,
        );
        assert_eq!(
            status(&done, 1000 + 600, "b"),
            Status::Done("12 created".into())
        );
        let failed = job(
            JobState::Failed {
                error: "no pool".into(),
            },
            "a",
            1000,
        );
        assert_eq!(
            status(&failed, 1000 + 600, "b"),
            Status::Failed("no pool".into())
        );
    }
}
