//! The page of a background job (`app::jobs`): its progress, refreshing itself (no JavaScript
//! needed) until the work is done, then its outcome.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use std::sync::atomic::Ordering;

use super::{AppState, Error, PageCtx, Result, Routes, page};

pub fn router() -> Routes {
    Routes::new().get("/jobs/{id}", show)
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    ctx: PageCtx,
    title: String,
    done: usize,
    total: usize,
    outcome: Option<std::result::Result<String, String>>,
    next: String,
}

impl JobPage {
    fn percent(&self) -> usize {
        (self.done * 100).checked_div(self.total).unwrap_or(100)
    }
}

async fn show(
    State(st): State<AppState>,
    ctx: PageCtx,
    Path(id): Path<String>,
) -> Result<Response> {
    let job = st
        .app
        .jobs()
        .get(&id)
        .filter(|j| ctx.user.as_deref() == Some(j.owner.as_str()))
        .ok_or_else(|| Error::NotFound("This job is not known here (finished over an hour ago, or started on another instance).".into()))?;
    let outcome = job.outcome.lock().ok().and_then(|o| o.clone());
    Ok(page(&JobPage {
        ctx,
        title: job.title.clone(),
        done: job.done.load(Ordering::Relaxed),
        total: job.total,
        outcome,
        next: job.next.clone(),
    }))
}
