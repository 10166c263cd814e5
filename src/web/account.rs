//! The user's own account: the time zone pages show times in, and their password.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use tower_sessions::Session;

use super::auth::{ClientAddr, Principal, set_password};
use super::extract::Form;
use super::{AppState, Error, Flash, PageCtx, Result, Routes, page, render_page};
use crate::app::accounts::{self, Verdict};
use crate::domain::FieldErrors;
use crate::domain::auth::check_password;

pub fn router() -> Routes {
    Routes::new().get("/account", show).post("/account", save)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: PageCtx,
    name: String,
    time_zone: String,
    zones: Vec<String>,
    errors: FieldErrors,
}

fn zones() -> Vec<String> {
    let mut z: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.to_string())
        .filter(|n| n.contains('/'))
        .collect();
    z.sort();
    z
}

async fn show(State(st): State<AppState>, ctx: PageCtx, principal: Principal) -> Result<Response> {
    let Principal::User { id, .. } = principal else {
        return Err(Error::Forbidden("API tokens have no account page.".into()));
    };
    let user = st.store().user(id).await?;
    Ok(page(&AccountPage {
        ctx,
        name: user.name,
        time_zone: user.time_zone.unwrap_or_default(),
        zones: zones(),
        errors: FieldErrors::default(),
    }))
}

#[derive(Deserialize)]
struct AccountForm {
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn save(
    State(st): State<AppState>,
    ctx: PageCtx,
    principal: Principal,
    session: Session,
    ClientAddr(address): ClientAddr,
    Form(form): Form<AccountForm>,
) -> Result<Response> {
    let Principal::User { id, .. } = principal else {
        return Err(Error::Forbidden("API tokens have no account.".into()));
    };
    let user = st.store().user(id).await?;
    let mut errors = FieldErrors::default();
    let tz = form.time_zone.trim();
    if !tz.is_empty() && jiff::tz::TimeZone::get(tz).is_err() {
        errors.add(
            "time_zone",
            format!("{tz:?} is not a time zone name such as Europe/Rome"),
        );
    }
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if !form.new_password.is_empty() {
        errors.check(
            "new_password",
            check_password(&form.new_password).map_err(|e| format!("the password {e}")),
        );
        match accounts::check_current_password(&st.app, &user, &form.current_password, &address)
            .await?
        {
            Verdict::Correct => {}
            Verdict::Wrong => errors.add("current_password", "is not your current password"),
            Verdict::Throttled => {
                status = StatusCode::TOO_MANY_REQUESTS;
                errors.add(
                    "current_password",
                    "was not checked: there were too many wrong passwords. Wait 15 minutes and try again.",
                );
            }
        }
    }
    if !errors.is_empty() {
        let p = AccountPage {
            ctx,
            name: user.name,
            time_zone: form.time_zone,
            zones: zones(),
            errors,
        };
        return Ok(render_page(status, &p));
    }
    st.store()
        .set_user_time_zone(id, (!tz.is_empty()).then_some(tz))
        .await?;
    if !form.new_password.is_empty() {
        set_password(
            &st,
            &user.name,
            &form.new_password,
            &user.name,
            Some(&session),
        )
        .await?;
        return Ok(Flash::redirect(
            "/account",
            "Account saved. Your other sessions have ended: log in again there with the new password.",
        )
        .into_response());
    }
    Ok(Flash::redirect("/account", "Account saved.").into_response())
}
