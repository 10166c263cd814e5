//! The page of a background job (`app::jobs`), read from the database, so that it shows on any
//! instance: its progress, refreshing itself (no JavaScript needed) while the work runs, then
//! its outcome, or that it was interrupted. Only the user who started a job sees it.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::{AppState, Error, PageCtx, Result, Routes, filters, page};
use crate::app::jobs::{self, Job, Status};

pub fn router() -> Routes {
    Routes::new().get("/jobs/{id}", show)
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    ctx: PageCtx,
    job: Job,
}

impl JobPage {
    fn percent(&self) -> u64 {
        (self.job.done * 100)
            .checked_div(self.job.total)
            .unwrap_or(100)
    }

    fn running(&self) -> bool {
        self.job.status == Status::Running
    }
}

async fn show(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> Result<Response> {
    let job = match ctx.user.as_deref() {
        Some(user) => jobs::get(&st.app, &id, user).await?,
        None => None,
    }
    .ok_or_else(|| {
        Error::NotFound(
            "You have no job of this id (a finished job is kept for a day after it ends).".into(),
        )
    })?;
    Ok(page(&JobPage { ctx, job }))
}
