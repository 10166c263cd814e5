//! DNS: export the pools' SRV records (preview, download, API) and bootstrap servers and pools
//! from an existing zone file.

use askama::Template;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::Principal;
use super::filters;
use super::{ApiError, AppState, Error, Flash, PageCtx, Result, Routes, page, render_page};
use crate::domain::FieldErrors;
use crate::domain::dnscheck::CheckReport;
use crate::domain::model::{Pool, Transport};
use crate::domain::zone::{
    ExportFormat, ExportOptions, ImportProposal, ParsedZone, parse_zone_file, propose_import,
    render,
};
use crate::store::ImportOutcome;

pub fn router() -> Routes {
    Routes::new()
        .get("/dns", export_page)
        .get("/dns/export", download)
        .get("/dns/import", import_form)
        .post("/dns/import", import)
        .get("/api/v1/export", api_export)
        .post("/dns/check", run_check_page)
        .get("/api/v1/dns/check", api_check)
}

/// Runs the live check with the settings' name servers, stores and returns the result.
pub async fn run_check(st: &AppState, actor: &str) -> Result<CheckReport> {
    let (settings, _) = st.store.settings().await?;
    let pools = st.store.pools().await?;
    let report =
        crate::dnscheck::check(&crate::dnscheck::options(&settings, &[]), &pools, &[]).await;
    st.store.save_dns_check(&report, actor).await?;
    super::cluster::invalidate(st);
    Ok(report)
}

async fn run_check_page(State(st): State<AppState>, principal: Principal) -> Result<Response> {
    let report = run_check(&st, &principal.actor()).await?;
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
    axum::extract::Query(p): axum::extract::Query<CheckParams>,
) -> Result<axum::Json<CheckReport>, ApiError> {
    let fresh = p.run.as_deref().is_some_and(|v| v == "1" || v == "true");
    if !fresh && let Some((report, _)) = st.store.latest_dns_check().await? {
        return Ok(axum::Json(report));
    }
    Ok(axum::Json(run_check(&st, &principal.actor()).await?))
}

/// What to export, from the query string (`pools` and `transports` repeated or comma lists).
#[derive(Debug, Clone)]
pub struct ExportParams {
    pub pools: Vec<String>,
    pub transports: Vec<Transport>,
    pub format: ExportFormat,
    pub origin: String,
    pub default_ttl: String,
    pub server: String,
    pub key: String,
}

impl Default for ExportParams {
    fn default() -> Self {
        Self {
            pools: Vec::new(),
            transports: Vec::new(),
            format: ExportFormat::Bind,
            origin: String::new(),
            default_ttl: String::new(),
            server: String::new(),
            key: String::new(),
        }
    }
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

/// The chosen pools (all when none is named), refusing unknown names.
fn chosen<'a>(all: &'a [Pool], names: &[String]) -> Result<Vec<&'a Pool>> {
    if names.is_empty() {
        return Ok(all.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            all.iter().find(|p| &p.name == n).ok_or_else(|| {
                Error::Invalid(FieldErrors::single(
                    "pools",
                    format!("there is no pool named {n:?}"),
                ))
            })
        })
        .collect()
}

/// Renders the export; every name is validated again on the way out (zone module).
pub fn export_text(all: &[Pool], p: &ExportParams) -> Result<(String, String)> {
    let pools = chosen(all, &p.pools)?;
    let only = (!p.transports.is_empty()).then_some(p.transports.as_slice());
    let zone_pools: Vec<_> = pools.iter().map(|pool| pool.zone_pool(only)).collect();
    let default_ttl = if p.default_ttl.is_empty() {
        None
    } else {
        Some(
            crate::domain::model::parse_ttl(&p.default_ttl).map_err(|e| {
                Error::Invalid(FieldErrors::single("ttl", format!("default TTL {e}")))
            })?,
        )
    };
    let opts = ExportOptions {
        origin: (!p.origin.is_empty()).then(|| p.origin.clone()),
        default_ttl,
        nsupdate_server: (!p.server.is_empty()).then(|| p.server.clone()),
        tsig_key_name: (!p.key.is_empty()).then(|| p.key.clone()),
    };
    let text = render(&zone_pools, p.format, &opts)
        .map_err(|e| Error::Invalid(FieldErrors::single("export", e.to_string())))?;
    let names: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
    let stem = if p.pools.is_empty() {
        "all".to_string()
    } else {
        names.join("-")
    };
    Ok((
        text,
        format!("pbx-pools-{stem}.{}", p.format.file_extension()),
    ))
}

#[derive(Template)]
#[template(path = "dns/export.html")]
struct ExportPage {
    ctx: PageCtx,
    pools: Vec<Pool>,
    params: ExportParams,
    formats: [ExportFormat; 5],
    transports: [Transport; 3],
    preview: Option<String>,
    error: Option<String>,
    download_href: String,
    check: Option<(CheckReport, String)>,
}

impl ExportPage {
    fn pool_checked(&self, name: &str) -> bool {
        self.params.pools.is_empty() || self.params.pools.iter().any(|p| p == name)
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
    let pools = st.store.pools().await?;
    let (preview, error) = match export_text(&pools, &params) {
        Ok((text, _)) => (Some(text), None),
        Err(Error::Invalid(f)) => (None, Some(f.to_string())),
        Err(e) => return Err(e),
    };
    let download_href = format!("/dns/export?{}", q.unwrap_or_default());
    let check = st.store.latest_dns_check().await?;
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
            formats: ExportFormat::ALL,
            transports: Transport::ALL,
            preview,
            error,
            download_href,
            check,
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
    let pools = st.store.pools().await?;
    let (text, filename) = export_text(&pools, &params)?;
    Ok(attachment(text, &filename, params.format.content_type()))
}

async fn api_export(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = export_params(q.as_deref())?;
    let pools = st.store.pools().await?;
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
            return Err(Error::PayloadTooLarge);
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
    let parsed = match parse_zone_file(&page_.zone, origin) {
        Ok(p) => p,
        Err(e) => {
            page_.error = Some(e.to_string());
            return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page_));
        }
    };
    if parsed.records.is_empty() {
        page_.error =
            Some("no SIP SRV records (_sip._udp, _sip._tcp or _sips._tcp) were found".into());
        return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page_));
    }
    let proposal = match propose_import(&parsed.records) {
        Ok(p) => p,
        Err(e) => {
            page_.error = Some(e.to_string());
            return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page_));
        }
    };
    match st.store.import(&proposal, &principal.actor(), apply).await {
        Ok(outcome) if apply => Ok(Flash::redirect(
            "/pools",
            format!(
                "Imported {} pools and {} new servers ({} existing servers reused).",
                outcome.pools_created.len(),
                outcome.servers_created.len(),
                outcome.servers_reused.len()
            ),
        )
        .into_response()),
        Ok(outcome) => {
            page_.parsed = Some(parsed);
            page_.proposal = Some(proposal);
            page_.outcome = Some(outcome);
            Ok(page(&page_))
        }
        Err(crate::store::Error::Invalid(f)) => {
            page_.error = Some(
                f.iter()
                    .map(|e| e.message.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            page_.parsed = Some(parsed);
            page_.proposal = Some(proposal);
            Ok(render_page(StatusCode::CONFLICT, &page_))
        }
        Err(e) => Err(e.into()),
    }
}
