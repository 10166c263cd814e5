//! Background jobs (`app::jobs`): one row per job with its progress, its heartbeat and its
//! outcome, so that every instance on the database can show a job that another one runs.
//!
//! These writes are not audited and move no data version: a job's progress is no change of the
//! inventory (the import it runs writes its own audit entries when it commits).

use super::{Fields, Result, Store, now};

/// What the row says of a job. Whether a running job's instance is still alive is for the
/// caller to judge from [`JobRecord::heartbeat_at`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Running,
    /// Finished; the summary of what it did.
    Done {
        outcome: String,
    },
    /// Finished without effect; what went wrong.
    Failed {
        error: String,
    },
}

/// One stored job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: String,
    /// What kind of work it is (`import-tenants`), for the log and for later kinds of job.
    pub kind: String,
    pub title: String,
    /// The user who started it: the only one who may see it.
    pub owner: String,
    pub state: JobState,
    pub total: u64,
    pub done: u64,
    /// Where its page leads once it finished.
    pub next: String,
    /// The process that runs (or ran) it.
    pub instance: String,
    pub created_at: i64,
    /// When its instance last said it was still working (Unix seconds).
    pub heartbeat_at: i64,
    pub finished_at: Option<i64>,
}

/// A job about to start, in state running with nothing done.
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub title: &'a str,
    pub owner: &'a str,
    pub total: u64,
    pub next: &'a str,
    pub instance: &'a str,
}

const COLUMNS: &str = "id, kind, title, owner, state, total, done, outcome, error, next, \
                       instance, created_at, heartbeat_at, finished_at";

/// The `state` column's values (`jobs_state_check`).
enum StoredState {
    Running,
    Done,
    Failed,
}

fn parse_state(s: &str) -> std::result::Result<StoredState, String> {
    match s {
        "running" => Ok(StoredState::Running),
        "done" => Ok(StoredState::Done),
        "failed" => Ok(StoredState::Failed),
        _ => Err("a job is running, done or failed".into()),
    }
}

fn read(r: &sqlx::any::AnyRow) -> Result<JobRecord> {
    let f = Fields::with_text_id(r, "jobs")?;
    // A finished job without its text would be shown as an empty outcome: refused instead.
    let text = |column: &str| -> Result<String> {
        f.get::<Option<String>>(column)?
            .ok_or_else(|| f.corrupt(format!("the job finished but its {column} is empty")))
    };
    let state = match f.parse("state", parse_state)? {
        StoredState::Running => JobState::Running,
        StoredState::Done => JobState::Done {
            outcome: text("outcome")?,
        },
        StoredState::Failed => JobState::Failed {
            error: text("error")?,
        },
    };
    Ok(JobRecord {
        state,
        kind: f.get("kind")?,
        title: f.get("title")?,
        owner: f.get("owner")?,
        total: f.int("total", f.get("total")?)?,
        done: f.int("done", f.get("done")?)?,
        next: f.get("next")?,
        instance: f.get("instance")?,
        created_at: f.get("created_at")?,
        heartbeat_at: f.get("heartbeat_at")?,
        finished_at: f.get("finished_at")?,
        id: f.id,
    })
}

/// A count as the database stores it (BIGINT): a job of more than 2^63 lines is not one.
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    /// Records a job that starts now, running on `job.instance`.
    pub async fn create_job(&self, job: &NewJob<'_>) -> Result<()> {
        let at = now();
        sqlx::query(
            "INSERT INTO jobs (id, kind, title, owner, state, total, done, next, instance, \
             created_at, heartbeat_at) VALUES ($1, $2, $3, $4, 'running', $5, 0, $6, $7, $8, $8)",
        )
        .bind(job.id)
        .bind(job.kind)
        .bind(job.title)
        .bind(job.owner)
        .bind(count(job.total))
        .bind(job.next)
        .bind(job.instance)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records how far a running job got, which also says that its instance is alive. False
    /// when the job is not running (finished meanwhile, or unknown): a late progress write
    /// never undoes a finish.
    pub async fn job_progress(&self, id: &str, done: u64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE jobs SET done = $2, heartbeat_at = $3 WHERE id = $1 AND state = 'running'",
        )
        .bind(id)
        .bind(count(done))
        .bind(now())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records the end of a running job: `Ok(summary)` (done, all of it) or `Err(what went
    /// wrong)`. False when the job was not running.
    pub async fn finish_job(
        &self,
        id: &str,
        outcome: &std::result::Result<String, String>,
    ) -> Result<bool> {
        let at = now();
        let (state, text, error) = match outcome {
            Ok(summary) => ("done", Some(summary.as_str()), None),
            Err(e) => ("failed", None, Some(e.as_str())),
        };
        // A failed job keeps the progress it had reached: that line is where it stopped.
        let n = sqlx::query(
            "UPDATE jobs SET state = $2, outcome = $3, error = $4, finished_at = $5, \
             heartbeat_at = $5, done = CASE WHEN $2 = 'done' THEN total ELSE done END \
             WHERE id = $1 AND state = 'running'",
        )
        .bind(id)
        .bind(state)
        .bind(text)
        .bind(error)
        .bind(at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    pub async fn job(&self, id: &str) -> Result<Option<JobRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(read)
            .transpose()
    }

    /// Deletes the jobs that finished more than `max_age` seconds ago, and the running ones
    /// whose instance has not been heard of for as long (it died; nobody will finish them).
    /// Returns how many went.
    pub async fn purge_jobs(&self, max_age: i64) -> Result<u64> {
        let before = now() - max_age;
        Ok(sqlx::query(
            "DELETE FROM jobs WHERE (state <> 'running' AND finished_at < $1) \
             OR (state = 'running' AND heartbeat_at < $1)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}
