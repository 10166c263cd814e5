//! DNS: export the pools' SRV records (preview, download, API) and bootstrap servers and pools
//! from an existing zone file.

use askama::Template;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::Principal;
use super::extract::Query;
use super::filters;
use super::{ApiError, AppState, Error, Flash, PageCtx, Result, Routes, page, render_page};
use crate::app::dns::{ExportParams, ZoneImport, export_text, import_zone, run_check};
use crate::domain::FieldErrors;
use crate::domain::model::{Pool, Transport};
use crate::domain::zone::{ExportFormat, ImportProposal, ParsedZone};
use crate::store::ImportOutcome;

pub fn router() -> Routes {
    Routes::new()
        .get("/dns", export_page)
        .get("/dns/export", download)
        .get("/dns/import", import_form)
        .upload("/dns/import", import)
        .get("/api/v1/export", api_export)
        .post("/dns/check", run_check_page)
        .get("/api/v1/dns/check", api_check)
}

async fn run_check_page(State(st): State<AppState>, principal: Principal) -> Result<Response> {
    let report = run_check(&st.app, &principal.actor()).await?;
    let msg = match report.exit_code() {
        0 => "DNS check: every pool is in sync.".to_string(),
        1 => "DNS check: drift found; the differences are listed below.".to_string(),
        _ => "DNS check: the name servers could not be asked; see below.".to_string(),
    };
    Ok(Flash::redirect("/dns#live", msg).into_response())
}

#[derive(serde::Deserialize)]
struct CheckParams {
    #[serde(default)]
    run: Option<String>,
}

async fn api_check(
    State(st): State<AppState>,
    principal: Principal,
    Query(p): Query<CheckParams>,
) -> Result<Response, ApiError> {
    let fresh = p.run.as_deref().is_some_and(|v| v == "1" || v == "true");
    if !fresh && let Some(last) = st.app.store().latest_dns_check().await? {
        return Ok(axum::Json(last.report).into_response());
    }
    let report = run_check(&st.app, &principal.actor()).await?;
    // A GET that stored a result: the client is told the data version that includes it.
    Ok((axum::Extension(super::seen::Wrote), axum::Json(report)).into_response())
}

fn list(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

pub fn export_params(query: Option<&str>) -> Result<ExportParams> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| Error::BadRequest("the query string could not be read".into()))?;
    let mut p = ExportParams::default();
    let mut errors = FieldErrors::default();
    for (k, v) in &pairs {
        match k.as_str() {
            "pools" | "pool" => p.pools.extend(list(v)),
            "transports" | "transport" => {
                for t in list(v) {
                    if let Some(t) = errors.check("transports", t.parse::<Transport>()) {
                        p.transports.push(t);
                    }
                }
            }
            "format" if !v.is_empty() => {
                if let Some(f) = errors.check(
                    "format",
                    v.parse::<ExportFormat>().map_err(|e| e.to_string()),
                ) {
                    p.format = f;
                }
            }
            "origin" => p.origin = v.trim().to_string(),
            "ttl" => p.default_ttl = v.trim().to_string(),
            "server" => p.server = v.trim().to_string(),
            "key" => p.key = v.trim().to_string(),
            _ => {}
        }
    }
    errors.finish().map_err(Error::Invalid)?;
    Ok(p)
}

/// The page's form sends `picked=1`: there an empty pool list means "none ticked", not "all"
/// (which the API and a bare `/dns` keep).
fn none_ticked(query: Option<&str>, p: &ExportParams) -> bool {
    p.pools.is_empty()
        && serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
            .is_ok_and(|pairs| pairs.iter().any(|(k, _)| k == "picked"))
}

const NONE_TICKED: &str = "No pool is ticked: tick the pools to export.";

#[derive(Template)]
#[template(path = "dns/export.html")]
struct ExportPage {
    ctx: PageCtx,
    pools: Vec<Pool>,
    params: ExportParams,
    none_ticked: bool,
    formats: [ExportFormat; 5],
    transports: [Transport; 3],
    preview: Option<String>,
    error: Option<String>,
    check: Option<crate::store::StoredCheck>,
    /// Stored pools no export can publish (see `app::dns::publishing_problems`).
    problems: Vec<String>,
}

impl ExportPage {
    fn pool_checked(&self, name: &str) -> bool {
        (self.params.pools.is_empty() && !self.none_ticked)
            || self.params.pools.iter().any(|p| p == name)
    }
    fn transport_checked(&self, t: &Transport) -> bool {
        self.params.transports.is_empty() || self.params.transports.contains(t)
    }
}

async fn export_page(
    State(st): State<AppState>,
    ctx: PageCtx,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let params = export_params(q.as_deref())?;
    let pools = st.app.store().pools().await?;
    let problems = crate::domain::model::publishing_problems(&pools);
    let none_ticked = none_ticked(q.as_deref(), &params);
    let (preview, error) = match export_text(&pools, &params) {
        _ if none_ticked => (None, Some(NONE_TICKED.to_string())),
        Ok((text, _)) => (Some(text), None),
        Err(crate::app::Error::Invalid(f)) => (None, Some(f.to_string())),
        Err(e) => return Err(e.into()),
    };
    let check = st.app.store().latest_dns_check().await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render_page(
        status,
        &ExportPage {
            ctx,
            pools,
            params,
            none_ticked,
            formats: ExportFormat::ALL,
            transports: Transport::ALL,
            preview,
            error,
            check,
            problems,
        },
    ))
}

fn attachment(text: String, filename: &str, content_type: &'static str) -> Response {
    let mut res = text.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // File names are built from validated pool names, so they need no quoting beyond this.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

async fn download(State(st): State<AppState>, RawQuery(q): RawQuery) -> Result<Response> {
    let params = export_params(q.as_deref())?;
    if none_ticked(q.as_deref(), &params) {
        return Err(Error::BadRequest(NONE_TICKED.into()));
    }
    let pools = st.app.store().pools().await?;
    let (text, filename) = export_text(&pools, &params)?;
    Ok(attachment(text, &filename, params.format.content_type()))
}

async fn api_export(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = export_params(q.as_deref())?;
    let pools = st.app.store().pools().await?;
    let (text, filename) = export_text(&pools, &params)?;
    Ok(attachment(text, &filename, params.format.content_type()))
}

#[derive(Template)]
#[template(path = "dns/import.html")]
struct ImportPage {
    ctx: PageCtx,
    zone: String,
    origin: String,
    error: Option<String>,
    parsed: Option<ParsedZone>,
    proposal: Option<ImportProposal>,
    outcome: Option<ImportOutcome>,
}

async fn import_form(ctx: PageCtx) -> Response {
    page(&ImportPage {
        ctx,
        zone: String::new(),
        origin: String::new(),
        error: None,
        parsed: None,
        proposal: None,
        outcome: None,
    })
}

/// Largest zone text accepted for import.
const MAX_ZONE_BYTES: usize = 8 * 1024 * 1024;

/// Preview (dry run) or apply an import. The form is multipart so a file can be uploaded; a
/// pasted text is used when no file is chosen.
async fn import(
    State(st): State<AppState>,
    ctx: PageCtx,
    principal: Principal,
    mut form: Multipart,
) -> Result<Response> {
    let mut zone = String::new();
    let mut file = String::new();
    let mut origin = String::new();
    let mut apply = false;
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
        if bytes.len() > MAX_ZONE_BYTES {
            return Err(Error::PayloadTooLarge {
                limit: MAX_ZONE_BYTES,
            });
        }
        let text = || {
            String::from_utf8(bytes.to_vec())
                .map_err(|_| Error::BadRequest(format!("{name} is not UTF-8 text")))
        };
        match name.as_str() {
            "zone" => zone = text()?,
            "file" => file = text()?,
            "origin" => origin = text()?.trim().to_string(),
            "action" => apply = text()? == "apply",
            _ => {}
        }
    }
    if !file.trim().is_empty() {
        zone = file;
    }
    let mut page_ = ImportPage {
        ctx,
        zone,
        origin,
        error: None,
        parsed: None,
        proposal: None,
        outcome: None,
    };
    let origin = (!page_.origin.is_empty()).then_some(page_.origin.as_str());
    match import_zone(&st.app, &page_.zone, origin, &principal.actor(), apply).await {
        Ok(ZoneImport { outcome, .. }) if apply => Ok(Flash::redirect(
            "/pools",
            format!(
                "Imported {} pools and {} new servers ({} existing servers reused).",
                outcome.pools_created.len(),
                outcome.servers_created.len(),
                outcome.servers_reused.len()
            ),
        )
        .into_response()),
        Ok(import) => {
            page_.parsed = Some(import.parsed);
            page_.proposal = Some(import.proposal);
            page_.outcome = Some(import.outcome);
            Ok(page(&page_))
        }
        Err((crate::app::Error::BadInput(message), _)) => {
            page_.error = Some(message);
            Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page_))
        }
        Err((crate::app::Error::Invalid(f), read)) => {
            page_.error = Some(
                f.iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            if let Some((parsed, proposal)) = read {
                page_.parsed = Some(parsed);
                page_.proposal = Some(proposal);
            }
            Ok(render_page(StatusCode::CONFLICT, &page_))
        }
        Err((e, _)) => Err(e.into()),
    }
}
