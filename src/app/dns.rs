//! DNS as a use case: run the live check (and keep its result), render the SRV export of chosen
//! pools, and import the servers and pools a zone file describes.

use super::{App, Error, Result};
use crate::domain::dnscheck::CheckReport;
use crate::domain::model::{Pool, Transport};
use crate::domain::zone::{
    ExportFormat, ExportOptions, ImportProposal, ParsedZone, parse_zone_file, propose_import,
    render,
};
use crate::store::ImportOutcome;

/// What a DNS check asks beyond the settings: other name servers, fewer pools, another timeout.
#[derive(Debug, Clone, Default)]
pub struct CheckRequest {
    /// Name servers to ask instead of the settings' ones.
    pub nameservers: Vec<std::net::SocketAddr>,
    /// Pools to check (by name); all when empty.
    pub pools: Vec<String>,
    /// Per-query timeout instead of the settings' one.
    pub timeout_ms: Option<u32>,
}

/// Runs the live check with the settings' name servers, stores and returns the result.
pub async fn run_check(app: &App, actor: &str) -> Result<CheckReport> {
    run_check_with(app, &CheckRequest::default(), actor).await
}

/// Runs the live check as `request` asks, stores and returns the result; an unknown pool name
/// is refused before anything is asked.
pub async fn run_check_with(app: &App, request: &CheckRequest, actor: &str) -> Result<CheckReport> {
    let (mut settings, _) = app.store().settings().await?;
    if let Some(ms) = request.timeout_ms {
        settings.dns_timeout_ms = ms;
    }
    let pools = app.store().pools().await?;
    if let Some(p) = request
        .pools
        .iter()
        .find(|p| !pools.iter().any(|x| &x.name == *p))
    {
        return Err(Error::field(
            "pools",
            format!("there is no pool named {p:?}"),
        ));
    }
    let options = crate::dnscheck::options(&settings, &request.nameservers);
    let report = crate::dnscheck::check(&options, &pools, &request.pools).await;
    app.store().save_dns_check(&report, actor).await?;
    Ok(report)
}

/// The stored pools that no export can publish, each as a sentence naming them: pools sharing
/// an owner, owners too long for a transport. Saving refuses both now, but rows an older
/// release stored may still be like that (migration 0010); the DNS page shows these and the
/// server logs them at start.
pub async fn publishing_problems(app: &App) -> Result<Vec<String>> {
    Ok(crate::domain::model::publishing_problems(
        &app.store().pools().await?,
    ))
}

/// Logs each of [`publishing_problems`] as a warning (at start, after the migrations).
pub async fn log_publishing_problems(app: &App) -> Result<()> {
    for problem in publishing_problems(app).await? {
        tracing::warn!(%problem, "a stored pool cannot be published");
    }
    Ok(())
}

/// What to export: the pools (all when empty), the transports (each pool's own when empty),
/// the format and its options as typed.
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

/// The chosen pools (all when none is named), refusing unknown names.
fn chosen<'a>(all: &'a [Pool], names: &[String]) -> Result<Vec<&'a Pool>> {
    if names.is_empty() {
        return Ok(all.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            all.iter()
                .find(|p| &p.name == n)
                .ok_or_else(|| Error::field("pools", format!("there is no pool named {n:?}")))
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
            crate::domain::model::parse_ttl(&p.default_ttl)
                .map_err(|e| Error::field("ttl", format!("default TTL {e}")))?,
        )
    };
    let opts = ExportOptions {
        origin: (!p.origin.is_empty()).then(|| p.origin.clone()),
        default_ttl,
        nsupdate_server: (!p.server.is_empty()).then(|| p.server.clone()),
        tsig_key_name: (!p.key.is_empty()).then(|| p.key.clone()),
    };
    let text =
        render(&zone_pools, p.format, &opts).map_err(|e| Error::field("export", e.to_string()))?;
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

/// A zone file read for import: what it holds, what would be created, and (when applied or
/// previewed against the inventory) the outcome.
pub struct ZoneImport {
    pub parsed: ParsedZone,
    pub proposal: ImportProposal,
    pub outcome: ImportOutcome,
}

/// Parses a zone file (relative names against `origin`) and previews or applies the servers and
/// pools it describes. A text without SIP SRV records, or one that cannot be read, is refused
/// as [`Error::BadInput`]; a clash with the inventory is [`Error::Invalid`].
pub async fn import_zone(
    app: &App,
    text: &str,
    origin: Option<&str>,
    actor: &str,
    apply: bool,
) -> Result<ZoneImport, (Error, Option<(ParsedZone, ImportProposal)>)> {
    let parsed =
        parse_zone_file(text, origin).map_err(|e| (Error::BadInput(e.to_string()), None))?;
    if parsed.records.is_empty() {
        return Err((
            Error::BadInput(
                "no SIP SRV records (_sip._udp, _sip._tcp or _sips._tcp) were found".into(),
            ),
            None,
        ));
    }
    let proposal =
        propose_import(&parsed.records).map_err(|e| (Error::BadInput(e.to_string()), None))?;
    match app.store().import(&proposal, actor, apply).await {
        Ok(outcome) => Ok(ZoneImport {
            parsed,
            proposal,
            outcome,
        }),
        Err(e) => Err((e.into(), Some((parsed, proposal)))),
    }
}
