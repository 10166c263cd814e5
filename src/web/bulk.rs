//! CSV export and import of tenants and servers: a dry run that lists, line by line, what would
//! be created, changed or refused and why; then an apply that does all of it or nothing.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::Principal;
use super::filters;
use super::{ApiError, AppState, Error, PageCtx, Result, Routes, page, render_page};
use crate::app::imports;
use crate::domain::csvio::{LineAction, servers_csv, tenants_csv};

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
    /// The versions the dry run read (JSON), posted back with the apply.
    basis: String,
    /// A tenants import's impact on the servers (tenants' pools and phones change).
    impact: Option<crate::domain::impact::Impact>,
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
        basis: String::new(),
        impact: None,
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

/// What the import form posts: the CSV, whether to apply it, and (from the dry-run page) the
/// versions that dry run read.
struct ImportForm {
    text: String,
    apply: bool,
    /// "Apply anyway" ticked under an impact that crosses a level.
    apply_anyway: bool,
    basis: Option<imports::Basis>,
}

async fn read_form(mut form: Multipart) -> Result<ImportForm> {
    let (mut text, mut file, mut apply) = (String::new(), String::new(), false);
    let mut apply_anyway = false;
    let mut basis = None;
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
            "apply_anyway" => apply_anyway = matches!(value.trim(), "1" | "on"),
            "basis" if !value.is_empty() => {
                basis = Some(serde_json::from_str(&value).map_err(|_| {
                    Error::BadRequest("the dry run's versions could not be read".into())
                })?)
            }
            _ => {}
        }
    }
    if !file.trim().is_empty() {
        text = file;
    }
    Ok(ImportForm {
        text,
        apply,
        apply_anyway,
        basis,
    })
}

/// Shows the dry run, or, when asked to apply a file without refused lines, starts the import
/// in the background and sends the admin to its progress page. An apply posted from a dry-run
/// page is refused (409) when a row that dry run read has changed since.
async fn dry_run_or_apply<T: imports::Importable>(
    st: &AppState,
    mut p: ImportPage,
    prepared: std::result::Result<imports::Prepared<T>, String>,
    form: ImportForm,
    principal: &Principal,
) -> Result<Response> {
    let apply = form.apply;
    let imports::Prepared { dry, basis } = match prepared {
        Ok(d) => d,
        Err(e) => {
            p.error = Some(e);
            return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &p));
        }
    };
    p.basis = serde_json::to_string(&basis).unwrap_or_default();
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
        return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &p));
    }
    if !apply {
        return Ok(page(&p));
    }
    // Without a dry-run page's versions (a scripted post) the versions read now are used: the
    // store still writes each row only at them.
    if let Some(seen) = &form.basis {
        basis.check_unchanged_since(seen)?;
    }
    if let Some(impact) = p.impact.as_ref().filter(|i| i.needs_confirmation())
        && !form.apply_anyway
    {
        p.error = Some(super::impact::refusal(
            impact,
            "Tick “Apply anyway” to import it all the same.",
        ));
        return Ok(render_page(StatusCode::CONFLICT, &p));
    }
    let rows = basis.rows(dry);
    let id = imports::start(&st.app, rows, principal.actor()).await?;
    Ok(Redirect::to(&format!("/jobs/{id}")).into_response())
}

async fn tenants_import(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: crate::app::Seen,
    principal: Principal,
    form: Multipart,
) -> Result<Response> {
    let mut form = read_form(form).await?;
    let mut p = empty_page(ctx, "tenants");
    let prepared = imports::tenants(&st.app, &form.text).await?;
    if let Ok(prep) = &prepared {
        let rows: Vec<_> = prep
            .dry
            .lines
            .iter()
            .filter_map(|l| l.row.clone())
            .collect();
        p.impact = Some(crate::app::impact::preview_tenant_rows(&st.app, &rows, seen).await?);
    }
    p.text = std::mem::take(&mut form.text);
    dry_run_or_apply(&st, p, prepared, form, &principal).await
}

async fn servers_import(
    State(st): State<AppState>,
    ctx: PageCtx,
    principal: Principal,
    form: Multipart,
) -> Result<Response> {
    let mut form = read_form(form).await?;
    let mut p = empty_page(ctx, "servers");
    let prepared = imports::servers(&st.app, &form.text).await?;
    p.text = std::mem::take(&mut form.text);
    dry_run_or_apply(&st, p, prepared, form, &principal).await
}
