//! CSV export and import of tenants and servers: a dry run that lists, line by line, what would
//! be created, changed or refused and why; then an apply that does all of it or nothing.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::Principal;
use super::{ApiError, AppState, Error, PageCtx, Result, Routes, page, render_page};
use crate::app::imports;
use crate::domain::csvio::{DryRun, LineAction, servers_csv, tenants_csv};

pub fn router() -> Routes {
    Routes::new()
        .get("/tenants.csv", tenants_export)
        .get("/servers.csv", servers_export)
        .get("/api/v1/tenants.csv", api_tenants_export)
        .get("/api/v1/servers.csv", api_servers_export)
        .get("/tenants/import", tenants_form)
        .upload("/tenants/import", tenants_import)
        .get("/servers/import", servers_form)
        .upload("/servers/import", servers_import)
}

fn csv_response(body: String, filename: &str) -> Response {
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

async fn tenants_export(State(st): State<AppState>) -> Result<Response> {
    Ok(csv_response(
        tenants_csv(&st.store().all_tenants().await?),
        "pbx-pools-tenants.csv",
    ))
}

async fn servers_export(State(st): State<AppState>) -> Result<Response> {
    Ok(csv_response(
        servers_csv(&st.store().servers().await?),
        "pbx-pools-servers.csv",
    ))
}

async fn api_tenants_export(State(st): State<AppState>) -> Result<Response, ApiError> {
    Ok(tenants_export(State(st)).await?)
}

async fn api_servers_export(State(st): State<AppState>) -> Result<Response, ApiError> {
    Ok(servers_export(State(st)).await?)
}

/// One line of the dry run as shown.
pub struct LineView {
    pub line: usize,
    pub key: String,
    pub action: &'static str,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "import_csv.html")]
struct ImportPage {
    ctx: PageCtx,
    kind: &'static str,
    columns: String,
    text: String,
    error: Option<String>,
    lines: Vec<LineView>,
    summary: Option<String>,
    refused: usize,
}

fn view<T>(lines: &[crate::domain::csvio::DryRunLine<T>]) -> Vec<LineView> {
    lines
        .iter()
        .map(|l| {
            let (action, detail) = match &l.action {
                LineAction::Create => ("create", String::new()),
                LineAction::Change(fields) => ("change", fields.join(", ")),
                LineAction::Unchanged => ("unchanged", String::new()),
                LineAction::Refused(why) => ("refused", why.clone()),
            };
            LineView {
                line: l.line,
                key: l.key.clone(),
                action,
                detail,
            }
        })
        .collect()
}

fn empty_page(ctx: PageCtx, kind: &'static str) -> ImportPage {
    let columns = if kind == "tenants" {
        crate::domain::csvio::TENANT_COLUMNS.join(",")
    } else {
        crate::domain::csvio::SERVER_COLUMNS.join(",")
    };
    ImportPage {
        ctx,
        kind,
        columns,
        text: String::new(),
        error: None,
        lines: Vec::new(),
        summary: None,
        refused: 0,
    }
}

async fn tenants_form(ctx: PageCtx) -> Response {
    page(&empty_page(ctx, "tenants"))
}

async fn servers_form(ctx: PageCtx) -> Response {
    page(&empty_page(ctx, "servers"))
}

/// Largest CSV accepted (10,000 tenants are about 500 KB).
const MAX_CSV: usize = 16 * 1024 * 1024;

async fn read_form(mut form: Multipart) -> Result<(String, bool)> {
    let (mut text, mut file, mut apply) = (String::new(), String::new(), false);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| Error::BadRequest(format!("the upload could not be read: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| Error::BadRequest(format!("the upload could not be read: {e}")))?;
        if bytes.len() > MAX_CSV {
            return Err(Error::PayloadTooLarge { limit: MAX_CSV });
        }
        let value = String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::BadRequest(format!("{name} is not UTF-8 text")))?;
        match name.as_str() {
            "csv" => text = value,
            "file" => file = value,
            "action" => apply = value == "apply",
            _ => {}
        }
    }
    if !file.trim().is_empty() {
        text = file;
    }
    Ok((text, apply))
}

/// Shows the dry run, or, when asked to apply a file without refused lines, starts the import
/// in the background and sends the admin to its progress page.
fn dry_run_or_apply<T: imports::Importable>(
    st: &AppState,
    mut p: ImportPage,
    dry: std::result::Result<DryRun<T>, String>,
    apply: bool,
    principal: &Principal,
) -> Response {
    let dry = match dry {
        Ok(d) => d,
        Err(e) => {
            p.error = Some(e);
            return render_page(StatusCode::UNPROCESSABLE_ENTITY, &p);
        }
    };
    p.refused = dry.refused();
    p.lines = view(&dry.lines);
    p.summary = Some(format!(
        "{} to create, {} to change, {} unchanged, {} refused.",
        dry.created(),
        dry.changed(),
        dry.count(|a| matches!(a, LineAction::Unchanged)),
        p.refused
    ));
    if p.refused > 0 {
        p.error = Some(format!(
            "{} lines are refused; fix them and try again — nothing was imported.",
            p.refused
        ));
        return render_page(StatusCode::UNPROCESSABLE_ENTITY, &p);
    }
    if !apply {
        return page(&p);
    }
    let rows: Vec<T> = dry.lines.into_iter().filter_map(|l| l.row).collect();
    let id = imports::start(&st.app, rows, principal.actor());
    Redirect::to(&format!("/jobs/{id}")).into_response()
}

async fn tenants_import(
    State(st): State<AppState>,
    ctx: PageCtx,
    principal: Principal,
    form: Multipart,
) -> Result<Response> {
    let (text, apply) = read_form(form).await?;
    let mut p = empty_page(ctx, "tenants");
    let dry = imports::tenants(&st.app, &text).await?;
    p.text = text;
    Ok(dry_run_or_apply(&st, p, dry, apply, &principal))
}

async fn servers_import(
    State(st): State<AppState>,
    ctx: PageCtx,
    principal: Principal,
    form: Multipart,
) -> Result<Response> {
    let (text, apply) = read_form(form).await?;
    let mut p = empty_page(ctx, "servers");
    let dry = imports::servers(&st.app, &text).await?;
    p.text = text;
    Ok(dry_run_or_apply(&st, p, dry, apply, &principal))
}
