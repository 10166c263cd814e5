//! The invariants the fuzz targets check (`fuzz/`, run with `cargo +nightly fuzz run <target>`),
//! as ordinary functions: one per target, each taking the raw input and returning the first
//! broken invariant as `Err`. A target that only looked for panics would miss a parser that
//! accepts something it must not, so each check says what must hold of whatever is accepted:
//! stored registration fields carry no control characters and survive a JSON and a CSV round
//! trip; every cell a CSV export writes is formula-safe and imports back unchanged; what a zone
//! import proposes is storable and its export parses back to the same records; a saved tenant
//! rule is the rule in force; SRV shares sum to 1.
//!
//! The same functions replay the committed seeds and every input that ever failed
//! (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`) in `cargo test` (the test below), so
//! the checks run in CI without a nightly toolchain. Input that is not UTF-8 is skipped by the
//! text targets: the HTTP layer refuses it before any parser sees it.

use std::collections::{HashMap, HashSet};

use super::csvio::{is_formula_safe, servers_csv, servers_dry_run, tenants_csv, tenants_dry_run};
use super::ids::{PoolId, ServerId, TenantId};
use super::model::{NewServer, NewTenant, Server, Tenant, check_srv_owner_length};
use super::names::{HostName, PoolName, ServerName};
use super::registrations::{DumpFormat, Registration, control_character, parse_dump};
use super::settings::{Settings, SettingsInput};
use super::srv::{ClientModel, Shares, SharesRequest, SrvRecord, srv_shares};
use super::zone::{
    ExportFormat, ExportOptions, ZonePool, parse_zone, parse_zone_file, propose_import, render,
    zone_records,
};

/// A check: `Ok` when every invariant holds for this input, else what broke.
pub type Check = fn(&[u8]) -> Result<(), String>;

/// Every fuzz target, by the name of its `fuzz/fuzz_targets/<name>.rs` file and of its
/// `fuzz/corpus/<name>` and `fuzz/regressions/<name>` directories.
pub const TARGETS: &[(&str, Check)] = &[
    ("registrations_pjsip", registrations_pjsip),
    ("registrations_sip_peers", registrations_sip_peers),
    ("registrations_ami", registrations_ami),
    ("registrations_csv", registrations_csv),
    ("registrations_json", registrations_json),
    ("csv_import", csv_import),
    ("zone_import", zone_import),
    ("tenant_rule", tenant_rule),
    ("srv_shares", srv_shares_request),
];

/// Runs the check of `target` (one of [`TARGETS`]) on `data`.
pub fn check(target: &str, data: &[u8]) -> Result<(), String> {
    match TARGETS.iter().find(|(name, _)| *name == target) {
        Some((_, check)) => check(data),
        None => Err(format!("no fuzz target named {target:?}")),
    }
}

/// `Err` with the message unless `cond` holds (a `match`, so that a float comparison reads as
/// written rather than negated).
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        match $cond {
            true => {}
            false => return Err(format!($($fmt)+)),
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Registration dumps
// ---------------------------------------------------------------------------------------------

pub fn registrations_pjsip(data: &[u8]) -> Result<(), String> {
    registrations(DumpFormat::PjsipContacts, data)
}

pub fn registrations_sip_peers(data: &[u8]) -> Result<(), String> {
    registrations(DumpFormat::SipPeers, data)
}

pub fn registrations_ami(data: &[u8]) -> Result<(), String> {
    registrations(DumpFormat::AmiContacts, data)
}

pub fn registrations_csv(data: &[u8]) -> Result<(), String> {
    registrations(DumpFormat::Csv, data)
}

pub fn registrations_json(data: &[u8]) -> Result<(), String> {
    registrations(DumpFormat::Json, data)
}

/// A dump in `format`: refused with a line of the dump and a printable reason, or accepted
/// with rows that pass [`check_registrations`].
pub fn registrations(format: DumpFormat, data: &[u8]) -> Result<(), String> {
    let Ok(body) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let _ = DumpFormat::sniff(body);
    match parse_dump(format, body) {
        Err(error) => {
            let lines = body.lines().count().max(1);
            ensure!(
                (1..=lines).contains(&error.line),
                "{format}: the error names line {} of a {lines}-line dump: {error}",
                error.line
            );
            ensure!(
                !error.reason.chars().any(char::is_control),
                "{format}: the error message carries a control character into logs and pages: \
                 {:?}",
                error.reason
            );
            Ok(())
        }
        Ok(rows) => check_registrations(format, &rows),
    }
}

/// What every accepted dump must give: no control character in a stored field, a trimmed,
/// non-empty endpoint, each (endpoint, contact) once, and rows that the JSON and CSV formats
/// carry unchanged (they are how pbx-pools exports registrations and how scripts push them).
pub fn check_registrations(format: DumpFormat, rows: &[Registration]) -> Result<(), String> {
    let mut seen = HashSet::new();
    for row in rows {
        if let Some((field, c)) = control_character(row) {
            return Err(format!(
                "{format}: accepted a row whose {field} holds U+{:04X}: {row:?}",
                u32::from(c)
            ));
        }
        ensure!(
            !row.endpoint.is_empty() && row.endpoint.trim() == row.endpoint,
            "{format}: accepted an empty or untrimmed endpoint: {row:?}"
        );
        ensure!(
            seen.insert((row.endpoint.as_str(), row.contact.as_str())),
            "{format}: the same endpoint and contact twice: {row:?}"
        );
    }
    let json = serde_json::to_string(rows).map_err(|e| e.to_string())?;
    match parse_dump(DumpFormat::Json, &json) {
        Ok(back) if back == rows => {}
        other => {
            return Err(format!(
                "{format}: the rows do not survive JSON: {rows:?} came back as {other:?}"
            ));
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = ["endpoint", "tenant", "contact", "user_agent", "status"];
    writer.write_record(header).map_err(|e| e.to_string())?;
    for row in rows {
        writer
            .write_record([
                row.endpoint.as_str(),
                row.tenant.as_deref().unwrap_or(""),
                row.contact.as_str(),
                row.user_agent.as_deref().unwrap_or(""),
                row.status.as_str(),
            ])
            .map_err(|e| e.to_string())?;
    }
    let csv = String::from_utf8(writer.into_inner().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    match parse_dump(DumpFormat::Csv, &csv) {
        Ok(back) if back == rows => Ok(()),
        other => Err(format!(
            "{format}: the rows do not survive CSV: {rows:?} came back as {other:?}"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// CSV import of tenants and servers
// ---------------------------------------------------------------------------------------------

fn fixture_pools() -> HashMap<String, PoolId> {
    [
        ("pbxA".to_string(), PoolId::new(1)),
        ("pbxB".to_string(), PoolId::new(2)),
    ]
    .into()
}

fn stored_tenant(new: &NewTenant, pools: &HashMap<String, PoolId>) -> Tenant {
    Tenant {
        id: TenantId::new(1),
        code: new.code.clone(),
        name: new.name.clone(),
        expected_phones: new.expected_phones,
        pool_id: new.pool_id,
        pool_name: new.pool_id.and_then(|id| {
            pools
                .iter()
                .find(|(_, p)| **p == id)
                .and_then(|(name, _)| PoolName::parse(name).ok())
        }),
        notes: new.notes.clone(),
        version: 1,
        updated_at: 0,
        updated_by: "fuzz".into(),
    }
}

fn stored_server(new: &NewServer) -> Server {
    Server {
        id: ServerId::new(1),
        name: new.name.clone(),
        host: new.host.clone(),
        sip_port: new.sip_port,
        capacity: new.capacity,
        site: new.site.clone(),
        state: new.state,
        version: 1,
        updated_at: 0,
        updated_by: "fuzz".into(),
    }
}

fn all_cells_safe(csv_text: &str) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv_text.as_bytes());
    for record in reader.records() {
        let record = record.map_err(|e| format!("the export is not CSV: {e}"))?;
        for cell in record.iter() {
            ensure!(
                is_formula_safe(cell),
                "the export wrote a formula cell {cell:?}: {csv_text:?}"
            );
        }
    }
    Ok(())
}

/// The same text as a tenants CSV and as a servers CSV: every row the dry run would store,
/// exported again, gives only formula-safe cells and imports back unchanged to the same row.
pub fn csv_import(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let pools = fixture_pools();
    if let Ok(dry) = tenants_dry_run(text, &[], &pools) {
        for line in &dry.lines {
            ensure!(line.line >= 1, "a dry-run line numbered 0");
            let Some(new) = &line.row else { continue };
            let stored = stored_tenant(new, &pools);
            let exported = tenants_csv(std::slice::from_ref(&stored));
            all_cells_safe(&exported)?;
            let again = tenants_dry_run(&exported, std::slice::from_ref(&stored), &pools)
                .map_err(|e| format!("the export of {stored:?} does not import: {e}"))?;
            ensure!(
                again.lines.len() == 1
                    && again.lines[0].action == super::csvio::LineAction::Unchanged
                    && again.lines[0].row.as_ref() == Some(new),
                "tenant {new:?} does not survive export and import: {exported:?} gave {again:?}"
            );
        }
    }
    if let Ok(dry) = servers_dry_run(text, &[]) {
        for line in &dry.lines {
            ensure!(line.line >= 1, "a dry-run line numbered 0");
            let Some(new) = &line.row else { continue };
            let stored = stored_server(new);
            let exported = servers_csv(std::slice::from_ref(&stored));
            all_cells_safe(&exported)?;
            let again = servers_dry_run(&exported, std::slice::from_ref(&stored))
                .map_err(|e| format!("the export of {stored:?} does not import: {e}"))?;
            ensure!(
                again.lines.len() == 1
                    && again.lines[0].action == super::csvio::LineAction::Unchanged
                    && again.lines[0].row.as_ref() == Some(new),
                "server {new:?} does not survive export and import: {exported:?} gave {again:?}"
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Zone-file import
// ---------------------------------------------------------------------------------------------

/// A zone text, read without and with an origin: errors name a line of the text; what the
/// import proposes is storable as it is (the store writes the proposed names unchecked) and,
/// where the pool rules let it be published, its BIND export parses back to the same records.
pub fn zone_import(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    for origin in [None, Some("example.com")] {
        let parsed = match parse_zone_file(text, origin) {
            Ok(parsed) => parsed,
            Err(error) => {
                let lines = text.lines().count().max(1);
                if let Some(line) = error.line {
                    ensure!(
                        (1..=lines + 1).contains(&line),
                        "the error names line {line} of a {lines}-line zone: {error}"
                    );
                }
                continue;
            }
        };
        let Ok(proposal) = propose_import(&parsed.records) else {
            continue;
        };
        for server in &proposal.servers {
            ensure!(
                ServerName::parse(&server.name).is_ok_and(|n| n.as_str() == server.name),
                "proposed server name {:?} is not a storable server name",
                server.name
            );
            ensure!(
                HostName::parse(&server.host).is_ok_and(|h| h.as_str() == server.host),
                "proposed server host {:?} is not canonical",
                server.host
            );
            ensure!(server.port != 0, "proposed server {server:?} on port 0");
        }
        let hosts: HashSet<&str> = proposal.servers.iter().map(|s| s.host.as_str()).collect();
        let mut pools = Vec::new();
        for pool in &proposal.pools {
            let name = PoolName::parse(&pool.name)
                .ok()
                .filter(|n| n.as_str() == pool.name)
                .ok_or_else(|| format!("proposed pool name {:?} is not storable", pool.name))?;
            let owner = HostName::parse(&pool.owner)
                .ok()
                .filter(|o| o.as_str() == pool.owner)
                .ok_or_else(|| format!("proposed owner {:?} is not canonical", pool.owner))?;
            for member in &pool.members {
                ensure!(
                    hosts.contains(member.target.as_str()),
                    "pool {} names target {} that is not a proposed server",
                    pool.name,
                    member.target
                );
            }
            // The store refuses such a pool (issue #13); it never reaches an export.
            if check_srv_owner_length(&owner, &pool.transports).is_err() {
                continue;
            }
            pools.push(ZonePool {
                name,
                owner,
                ttl: pool.ttl,
                transports: pool.transports.clone(),
                left_out: Vec::new(),
                members: pool.members.clone(),
            });
        }
        let mut expected =
            zone_records(&pools).map_err(|e| format!("the proposal does not export: {e}"))?;
        let rendered = render(&pools, ExportFormat::Bind, &ExportOptions::default())
            .map_err(|e| format!("the proposal does not render: {e}"))?;
        let mut back = parse_zone(&rendered, None)
            .map_err(|e| format!("the export does not parse back: {e}\n{rendered}"))?;
        expected.sort();
        back.sort();
        ensure!(
            back == expected,
            "the export parses back to other records:\n{rendered}\nexpected {expected:?}\ngot \
             {back:?}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The settings' tenant rule
// ---------------------------------------------------------------------------------------------

/// First line: a tenant rule typed into the settings form; the other lines: endpoint names.
/// The form refuses exactly the rules the matcher cannot compile; a saved rule is the rule in
/// force (no silent fallback to the default) and shows in the form as saved; a tenant read
/// from an endpoint is a non-empty part of it.
pub fn tenant_rule(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let (rule, endpoints) = text.split_once('\n').unwrap_or((text, ""));
    let input = SettingsInput {
        tenant_rule: rule.to_string(),
        ..SettingsInput::from_settings(&Settings::default())
    };
    let compiled = super::registrations::TenantMatcher::new(rule.trim());
    match (input.validate(), compiled) {
        (Ok(settings), Ok(matcher)) => {
            ensure!(
                settings.matcher().pattern() == settings.tenant_rule,
                "the saved rule {:?} is not the rule in force ({:?})",
                settings.tenant_rule,
                settings.matcher().pattern()
            );
            let shown = SettingsInput::from_settings(&settings).validate();
            ensure!(
                shown.as_ref() == Ok(&settings),
                "the saved settings do not survive the form: {settings:?} became {shown:?}"
            );
            for endpoint in endpoints.lines() {
                if let Some(tenant) = matcher.tenant_of(endpoint) {
                    ensure!(
                        !tenant.is_empty() && endpoint.contains(&tenant),
                        "rule {rule:?} read tenant {tenant:?} out of {endpoint:?}"
                    );
                }
            }
            Ok(())
        }
        (Err(errors), Err(_)) => {
            ensure!(
                errors.get("tenant_rule").is_some(),
                "a bad rule refused under another field: {errors}"
            );
            Ok(())
        }
        (Ok(_), Err(e)) => Err(format!(
            "the form saved rule {rule:?} that the matcher refuses: {e}"
        )),
        (Err(errors), Ok(_)) => Err(format!(
            "the form refused rule {rule:?} that compiles: {errors}"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// SRV share request
// ---------------------------------------------------------------------------------------------

/// A `POST /api/v1/srv/shares` body: whatever the API accepts gives shares that pass
/// [`check_shares`] under every client model.
pub fn srv_shares_request(data: &[u8]) -> Result<(), String> {
    let Ok(request) = serde_json::from_slice::<SharesRequest>(data) else {
        return Ok(());
    };
    let Ok(valid) = request.validate() else {
        return Ok(());
    };
    let down: Vec<&str> = valid.down.iter().map(String::as_str).collect();
    for model in ClientModel::ALL {
        let shares = srv_shares(&valid.records, &down, model);
        check_shares(&valid.records, &down, &shares).map_err(|e| format!("{model}: {e}"))?;
    }
    Ok(())
}

/// Shares are probabilities that add up: each in [0, 1], the records' shares and the
/// unreachable share sum to 1, the servers' shares sum to the records', and a down host gets
/// nothing.
pub fn check_shares(records: &[SrvRecord], down: &[&str], shares: &Shares) -> Result<(), String> {
    const EPSILON: f64 = 1e-9;
    ensure!(
        shares.targets.len() == records.len(),
        "{} target shares for {} records",
        shares.targets.len(),
        records.len()
    );
    let valid = |p: f64| p.is_finite() && (0.0..=1.0).contains(&p);
    ensure!(
        valid(shares.unreachable),
        "unreachable share {}",
        shares.unreachable
    );
    let mut total = shares.unreachable;
    for (record, target) in records.iter().zip(&shares.targets) {
        ensure!(valid(target.share), "share {} of {record:?}", target.share);
        let is_down = down
            .iter()
            .any(|d| super::srv::same_host(d, &record.target));
        ensure!(
            !is_down || target.share == 0.0,
            "down {record:?} gets share {}",
            target.share
        );
        total += target.share;
    }
    ensure!(
        (total - 1.0).abs() <= EPSILON,
        "the shares and the unreachable share sum to {total}, not 1"
    );
    let servers: f64 = shares.servers.iter().map(|s| s.share).sum();
    let targets: f64 = shares.targets.iter().map(|t| t.share).sum();
    ensure!(
        (servers - targets).abs() <= EPSILON,
        "server shares sum to {servers}, record shares to {targets}"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn fuzz_dir(kind: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join(kind)
    }

    /// The files under `dir/<target>/` for every target directory there.
    fn inputs(dir: &Path) -> Vec<(String, PathBuf)> {
        let Ok(targets) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for target in targets {
            let target = target.unwrap();
            if !target.path().is_dir() {
                continue;
            }
            let name = target.file_name().into_string().unwrap();
            assert!(
                TARGETS.iter().any(|(t, _)| *t == name),
                "{} is not the directory of a fuzz target (TARGETS)",
                target.path().display()
            );
            for file in std::fs::read_dir(target.path()).unwrap() {
                let path = file.unwrap().path();
                if path.is_file() && !path.ends_with(".gitkeep") {
                    out.push((name.clone(), path));
                }
            }
        }
        out.sort();
        out
    }

    /// `cargo test` replays the committed seeds and every input that ever failed a target
    /// through the same checks the fuzz targets run, so CI needs no nightly toolchain.
    #[test]
    fn fuzz_seeds_and_regressions_pass_their_checks() {
        let seeds = inputs(&fuzz_dir("corpus"));
        for (target, _) in TARGETS {
            assert!(
                seeds.iter().any(|(t, _)| t == target),
                "fuzz target {target} has no seed under fuzz/corpus/{target}/"
            );
        }
        let regressions = inputs(&fuzz_dir("regressions"));
        let mut failures = Vec::new();
        for (target, path) in seeds.iter().chain(&regressions) {
            let data = std::fs::read(path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(target, &data));
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(broken)) => failures.push(format!("{}: {broken}", path.display())),
                Err(_) => failures.push(format!("{}: panicked", path.display())),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(seeds.len() >= TARGETS.len());
    }

    #[test]
    fn the_checks_catch_what_they_are_for() {
        let bad = Registration {
            endpoint: "100-A\u{1b}".into(),
            tenant: None,
            contact: String::new(),
            user_agent: None,
            status: super::super::registrations::ContactStatus::Avail,
        };
        assert!(check_registrations(DumpFormat::Csv, &[bad]).is_err());
        let records = [SrvRecord::new(10, 1, 5060, "a.example.com")];
        let mut shares = srv_shares(&records, &[], ClientModel::Weighted);
        assert_eq!(check_shares(&records, &[], &shares), Ok(()));
        shares.targets[0].share = 0.5;
        assert!(check_shares(&records, &[], &shares).is_err());
        assert!(check("no_such_target", b"").is_err());
    }
}
