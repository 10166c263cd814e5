//! CSV import and export of tenants and servers. An import is checked line by line against the
//! current inventory first (the dry run: what would be created, changed or refused, and why);
//! applying it is all or nothing.

use super::ids::PoolId;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use super::model::{NewServer, NewTenant, Server, ServerInput, Tenant, TenantInput};

/// What one line of an import would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "detail")]
pub enum LineAction {
    Create,
    /// The fields that change.
    Change(Vec<String>),
    Unchanged,
    /// Why the line cannot be imported.
    Refused(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRunLine<T> {
    pub line: usize,
    pub key: String,
    pub action: LineAction,
    #[serde(skip)]
    pub row: Option<T>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRun<T> {
    pub lines: Vec<DryRunLine<T>>,
}

impl<T> DryRun<T> {
    pub fn refused(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l.action, LineAction::Refused(_)))
            .count()
    }
    pub fn count(&self, f: impl Fn(&LineAction) -> bool) -> usize {
        self.lines.iter().filter(|l| f(&l.action)).count()
    }
    pub fn created(&self) -> usize {
        self.count(|a| matches!(a, LineAction::Create))
    }
    pub fn changed(&self) -> usize {
        self.count(|a| matches!(a, LineAction::Change(_)))
    }
}

/// One data line: its number in the file and its values by column.
type CsvRecord = (usize, HashMap<String, String>);

/// Reads a CSV file with a header into (line number, column → value) records.
fn records(text: &str, known: &[&str], required: &[&str]) -> Result<Vec<CsvRecord>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("line 1: the header could not be read: {e}"))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if let Some(bad) = headers.iter().find(|h| !known.contains(&h.as_str())) {
        return Err(format!(
            "line 1: unknown column {bad:?}; the columns are {}",
            known.join(", ")
        ));
    }
    for r in required {
        if !headers.iter().any(|h| h == r) {
            return Err(format!("line 1: the column {r:?} is missing"));
        }
    }
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = rec
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map(|p| p.line() as usize)
            .unwrap_or(i + 2);
        let rec = rec.map_err(|e| format!("line {line}: {e}"))?;
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let map = headers
            .iter()
            .cloned()
            .zip(rec.iter().map(|cell| unguard_formula(cell).to_string()))
            .collect();
        out.push((line, map));
    }
    Ok(out)
}

fn field(map: &HashMap<String, String>, key: &str) -> String {
    map.get(key).cloned().unwrap_or_default()
}

pub const TENANT_COLUMNS: [&str; 5] = ["code", "name", "expected_phones", "pool", "notes"];
pub const SERVER_COLUMNS: [&str; 6] = ["name", "host", "port", "capacity", "site", "state"];

/// Dry run of a tenants CSV (columns code, name, expected_phones, pool, notes).
pub fn tenants_dry_run(
    text: &str,
    existing: &[Tenant],
    pools: &HashMap<String, PoolId>,
) -> Result<DryRun<NewTenant>, String> {
    let rows = records(text, &TENANT_COLUMNS, &["code", "name"])?;
    let by_code: HashMap<String, &Tenant> = existing
        .iter()
        .map(|t| (t.code.to_lowercase(), t))
        .collect();
    let mut seen = HashSet::new();
    let mut lines = Vec::with_capacity(rows.len());
    for (line, map) in rows {
        let existing_row = by_code
            .get(&field(&map, "code").trim().to_lowercase())
            .copied();
        let input = TenantInput {
            code: field(&map, "code"),
            name: field(&map, "name"),
            expected_phones: field(&map, "expected_phones"),
            pool: field(&map, "pool"),
            // An absent notes column keeps the stored notes.
            notes: if map.contains_key("notes") {
                field(&map, "notes")
            } else {
                existing_row.map(|t| t.notes.clone()).unwrap_or_default()
            },
        };
        let key = input.code.trim().to_string();
        let action = match input.validate(|name| pools.get(name).copied()) {
            Err(errors) => LineAction::Refused(errors.to_string()),
            Ok(_) if !seen.insert(key.to_lowercase()) => {
                LineAction::Refused(format!("tenant {key} appears twice in the file"))
            }
            Ok(new) => {
                let action = match existing_row {
                    None => LineAction::Create,
                    Some(t) => {
                        let mut changed = Vec::new();
                        if t.code != new.code {
                            changed.push("code".to_string());
                        }
                        if t.name != new.name {
                            changed.push("name".into());
                        }
                        if t.expected_phones != new.expected_phones {
                            changed.push("expected_phones".into());
                        }
                        if t.pool_id != new.pool_id {
                            changed.push("pool".into());
                        }
                        if t.notes != new.notes {
                            changed.push("notes".into());
                        }
                        if changed.is_empty() {
                            LineAction::Unchanged
                        } else {
                            LineAction::Change(changed)
                        }
                    }
                };
                lines.push(DryRunLine {
                    line,
                    key,
                    action,
                    row: Some(new),
                });
                continue;
            }
        };
        lines.push(DryRunLine {
            line,
            key,
            action,
            row: None,
        });
    }
    Ok(DryRun { lines })
}

/// Dry run of a servers CSV (columns name, host, port, capacity, site, state).
pub fn servers_dry_run(text: &str, existing: &[Server]) -> Result<DryRun<NewServer>, String> {
    let rows = records(text, &SERVER_COLUMNS, &["name", "host"])?;
    let by_name: HashMap<&str, &Server> = existing.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut seen = HashSet::new();
    let mut lines = Vec::with_capacity(rows.len());
    for (line, map) in rows {
        let input = ServerInput {
            name: field(&map, "name"),
            host: field(&map, "host"),
            sip_port: field(&map, "port"),
            capacity: field(&map, "capacity"),
            site: field(&map, "site"),
            state: field(&map, "state"),
        };
        let key = input.name.trim().to_string();
        let (action, row) = match input.validate() {
            Err(errors) => (LineAction::Refused(errors.to_string()), None),
            Ok(_) if !seen.insert(key.clone()) => (
                LineAction::Refused(format!("server {key} appears twice in the file")),
                None,
            ),
            Ok(new) => {
                let action = match by_name.get(new.name.as_str()) {
                    None => LineAction::Create,
                    Some(s) => {
                        let mut changed = Vec::new();
                        for (f, differs) in [
                            ("host", s.host != new.host),
                            ("port", s.sip_port != new.sip_port),
                            ("capacity", s.capacity != new.capacity),
                            ("site", s.site != new.site),
                            ("state", s.state != new.state),
                        ] {
                            if differs {
                                changed.push(f.to_string());
                            }
                        }
                        if changed.is_empty() {
                            LineAction::Unchanged
                        } else {
                            LineAction::Change(changed)
                        }
                    }
                };
                (action, Some(new))
            }
        };
        lines.push(DryRunLine {
            line,
            key,
            action,
            row,
        });
    }
    Ok(DryRun { lines })
}

/// What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"): a tenant named
/// `=HYPERLINK(...)` or a site `@SUM(...)` would run in the admin's spreadsheet.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a spreadsheet would take `cell` as text, not as a formula.
pub fn is_formula_safe(cell: &str) -> bool {
    !cell.starts_with(FORMULA_STARTS)
}

/// Whether `value` gets the guard quote on export: it starts like a formula, or it is quotes
/// followed by such a start. The second case keeps the round trip exact: the import takes one
/// quote off exactly these cells, so a stored `'=x` is written `''=x` and read back as `'=x`.
fn needs_guard(value: &str) -> bool {
    value.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// The cell the export writes for `value`: prefixed with a single quote, as OWASP recommends,
/// when a spreadsheet would otherwise run it; spreadsheets show the rest as text.
pub fn guard_formula(value: &str) -> Cow<'_, str> {
    if needs_guard(value) {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// The value an imported `cell` stands for: the exact inverse of [`guard_formula`], so an
/// exported file imports back unchanged. A quote before text that needs no guard is data.
pub fn unguard_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest,
        _ => cell,
    }
}

/// Writes the rows with every cell guarded against formula injection.
fn write(rows: Vec<Vec<String>>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        let _ = w.write_record(r.iter().map(|cell| guard_formula(cell).into_owned()));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

pub fn tenants_csv(tenants: &[Tenant]) -> String {
    let mut rows = vec![TENANT_COLUMNS.iter().map(|s| s.to_string()).collect()];
    rows.extend(tenants.iter().map(|t| {
        vec![
            t.code.to_string(),
            t.name.clone(),
            t.expected_phones.to_string(),
            t.pool_name
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            t.notes.clone(),
        ]
    }));
    write(rows)
}

pub fn servers_csv(servers: &[Server]) -> String {
    let mut rows = vec![SERVER_COLUMNS.iter().map(|s| s.to_string()).collect()];
    rows.extend(servers.iter().map(|s| {
        vec![
            s.name.to_string(),
            s.host.to_string(),
            s.sip_port.to_string(),
            s.capacity.map(|c| c.to_string()).unwrap_or_default(),
            s.site.clone().unwrap_or_default(),
            s.state.to_string(),
        ]
    }));
    write(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ServerId, TenantId};

    fn tenant(code: &str, pool: Option<(&str, i64)>) -> Tenant {
        Tenant {
            id: TenantId::new(1),
            code: code.parse().unwrap(),
            name: format!("{code} Srl"),
            expected_phones: 10,
            pool_id: pool.map(|p| PoolId::new(p.1)),
            pool_name: pool.map(|p| p.0.parse().unwrap()),
            notes: String::new(),
            version: 1,
            updated_at: 0,
            updated_by: "t".into(),
        }
    }

    #[test]
    fn export_then_import_is_unchanged_and_edits_are_seen() {
        let pools: HashMap<String, PoolId> = [
            ("pbxA".to_string(), PoolId::new(1)),
            ("pbxB".to_string(), PoolId::new(2)),
        ]
        .into();
        let existing = vec![tenant("ACME", Some(("pbxA", 1))), tenant("ROSSI", None)];
        let csv = tenants_csv(&existing);
        let dry = tenants_dry_run(&csv, &existing, &pools).unwrap();
        assert!(
            dry.lines.iter().all(|l| l.action == LineAction::Unchanged),
            "{dry:?}"
        );
        let edited = csv.replace("ACME,ACME Srl,10,pbxA", "ACME,ACME Srl,12,pbxB")
            + "NEWCO,\"New, Co\",3,pbxA,\n";
        let dry = tenants_dry_run(&edited, &existing, &pools).unwrap();
        assert_eq!(
            dry.lines[0].action,
            LineAction::Change(vec!["expected_phones".into(), "pool".into()])
        );
        assert_eq!(dry.lines[2].action, LineAction::Create);
        assert_eq!(dry.lines[2].row.as_ref().unwrap().name, "New, Co");
    }

    #[test]
    fn bad_rows_are_refused_with_their_line_and_reason() {
        let pools: HashMap<String, PoolId> = [("pbxA".to_string(), PoolId::new(1))].into();
        let text = "code,name,expected_phones,pool\nOK1,Fine,1,pbxA\nbad-code,Bad,1,pbxA\nOK2,,x,pbxZ\nOK1,Again,1,pbxA\n";
        let dry = tenants_dry_run(text, &[], &pools).unwrap();
        assert_eq!(dry.refused(), 3);
        let refused: Vec<(usize, String)> = dry
            .lines
            .iter()
            .filter_map(|l| match &l.action {
                LineAction::Refused(r) => Some((l.line, r.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(refused[0].0, 3);
        assert!(refused[0].1.contains("code"));
        assert_eq!(refused[1].0, 4);
        assert!(refused[1].1.contains("pool") && refused[1].1.contains("name"));
        assert!(refused[2].1.contains("twice"));
        assert!(
            tenants_dry_run("code,name,colour\nA,B,red\n", &[], &pools)
                .unwrap_err()
                .contains("colour")
        );
        assert!(
            tenants_dry_run("name\nA\n", &[], &pools)
                .unwrap_err()
                .contains("code")
        );
    }

    fn named(code: &str, name: &str, notes: &str) -> Tenant {
        Tenant {
            name: name.into(),
            notes: notes.into(),
            ..tenant(code, Some(("pbxA", 1)))
        }
    }

    fn server(name: &str, site: Option<&str>) -> Server {
        Server {
            id: ServerId::new(1),
            name: name.parse().unwrap(),
            host: format!("{name}.example.com").parse().unwrap(),
            sip_port: 5060,
            capacity: None,
            site: site.map(str::to_string),
            state: crate::domain::model::ServerState::Active,
            version: 1,
            updated_at: 0,
            updated_by: "t".into(),
        }
    }

    /// Every cell of `csv` as a spreadsheet would read it.
    fn cells(csv: &str) -> Vec<String> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(csv.as_bytes());
        reader
            .records()
            .flat_map(|r| r.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    fn pools() -> HashMap<String, PoolId> {
        [("pbxA".to_string(), PoolId::new(1))].into()
    }

    #[test]
    fn formula_cells_are_neutralised_on_export() {
        let tenants = vec![
            named("EVIL1", "=HYPERLINK(\"http://x\",\"y\")", "=1+1"),
            named("EVIL2", "+39 02 1234", "@SUM(A1:A2)"),
            named("EVIL3", "-5 Srl", ""),
            named("EVIL4", "@home", "- bullet\tpoint"),
        ];
        let csv = tenants_csv(&tenants);
        for cell in cells(&csv) {
            assert!(is_formula_safe(&cell), "{cell:?} in {csv}");
        }
        for guarded in [
            "'=HYPERLINK",
            "'+39 02 1234",
            "'-5 Srl",
            "'@home",
            "'=1+1",
            "'- bullet",
        ] {
            assert!(csv.contains(guarded), "{guarded:?} in {csv}");
        }
        // The import gives back exactly what was stored.
        let dry = tenants_dry_run(&csv, &tenants, &pools()).unwrap();
        assert!(
            dry.lines.iter().all(|l| l.action == LineAction::Unchanged),
            "{dry:?}"
        );
        let names: Vec<&str> = dry
            .lines
            .iter()
            .map(|l| l.row.as_ref().unwrap().name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "=HYPERLINK(\"http://x\",\"y\")",
                "+39 02 1234",
                "-5 Srl",
                "@home"
            ]
        );

        let servers = vec![
            server("voip1", Some("=cmd|' /C calc'!A0")),
            server("voip2", Some("-")),
        ];
        let csv = servers_csv(&servers);
        for cell in cells(&csv) {
            assert!(is_formula_safe(&cell), "{cell:?} in {csv}");
        }
        let dry = servers_dry_run(&csv, &servers).unwrap();
        assert!(
            dry.lines.iter().all(|l| l.action == LineAction::Unchanged),
            "{dry:?}"
        );
    }

    #[test]
    fn a_stored_leading_quote_survives_the_round_trip() {
        // A value that already starts with the guard quote before a formula gets one more, so
        // the import's removal of one quote gives it back; a quote before harmless text is left
        // alone both ways.
        let tenants = vec![
            named("Q1", "'=already quoted", ""),
            named("Q2", "''-twice", ""),
            named("Q3", "'plain", "'"),
            named("Q4", "O'Brien", "it's = fine"),
        ];
        let csv = tenants_csv(&tenants);
        assert!(csv.contains("Q1,''=already quoted"), "{csv}");
        assert!(csv.contains("Q3,'plain"), "{csv}");
        let dry = tenants_dry_run(&csv, &tenants, &pools()).unwrap();
        assert!(
            dry.lines.iter().all(|l| l.action == LineAction::Unchanged),
            "{dry:?}"
        );
        for (line, t) in dry.lines.iter().zip(&tenants) {
            let row = line.row.as_ref().unwrap();
            assert_eq!((&row.name, &row.notes), (&t.name, &t.notes));
        }
    }

    #[test]
    fn guard_and_unguard_are_inverse_and_the_guard_is_always_safe() {
        for value in [
            "", "=", "'", "''", "'=", "a=b", "-1", "\t", "\r", "'\r", "x", "'''@",
        ] {
            let guarded = guard_formula(value);
            assert!(is_formula_safe(&guarded), "{value:?} -> {guarded:?}");
            assert_eq!(unguard_formula(&guarded), value, "{value:?} -> {guarded:?}");
        }
        // A cell written by hand: one quote before a formula is the guard and goes.
        assert_eq!(unguard_formula("'=A1"), "=A1");
        assert_eq!(unguard_formula("'text"), "'text");
    }

    proptest::proptest! {
        #[test]
        fn every_export_is_safe_and_imports_back_unchanged(
            names in proptest::collection::vec("['=+@ \t-]{0,3}[ -~]{1,12}", 1..6),
            sites in proptest::collection::vec(
                proptest::option::of("['=+@ -]{0,3}[ -~]{1,12}"),
                1..4,
            ),
        ) {
            // Stored values are what validation lets in: trimmed, no control characters
            // (notes may hold tabs and line breaks).
            let tenants: Vec<Tenant> = names
                .iter()
                .enumerate()
                .filter_map(|(i, n)| {
                    let name = crate::domain::names::check_text(n, 200, true).ok()?;
                    let notes = crate::domain::names::check_notes(n, 2000).ok()?;
                    Some(named(&format!("T{i}"), &name, &notes))
                })
                .collect();
            let csv = tenants_csv(&tenants);
            for cell in cells(&csv) {
                proptest::prop_assert!(is_formula_safe(&cell), "{:?} in {}", cell, csv);
            }
            let dry = tenants_dry_run(&csv, &tenants, &pools()).unwrap();
            proptest::prop_assert!(
                dry.lines.iter().all(|l| l.action == LineAction::Unchanged),
                "{:?}",
                dry
            );

            let servers: Vec<Server> = sites
                .iter()
                .enumerate()
                .filter_map(|(i, site)| {
                    let site = match site {
                        Some(s) => crate::domain::names::check_text(s, 64, false).ok()?,
                        None => String::new(),
                    };
                    let site = (!site.is_empty()).then_some(site);
                    Some(server(&format!("voip{i}"), site.as_deref()))
                })
                .collect();
            let csv = servers_csv(&servers);
            for cell in cells(&csv) {
                proptest::prop_assert!(is_formula_safe(&cell), "{:?} in {}", cell, csv);
            }
            let dry = servers_dry_run(&csv, &servers).unwrap();
            proptest::prop_assert!(
                dry.lines.iter().all(|l| l.action == LineAction::Unchanged),
                "{:?}",
                dry
            );
        }
    }

    #[test]
    fn servers_round_trip() {
        let s = Server {
            id: ServerId::new(1),
            name: "voip1".parse().unwrap(),
            host: "voip1.example.com".parse().unwrap(),
            sip_port: 5060,
            capacity: Some(400),
            site: Some("Milan".into()),
            state: crate::domain::model::ServerState::Active,
            version: 1,
            updated_at: 0,
            updated_by: "t".into(),
        };
        let csv = servers_csv(std::slice::from_ref(&s));
        assert!(
            servers_dry_run(&csv, std::slice::from_ref(&s))
                .unwrap()
                .lines
                .iter()
                .all(|l| l.action == LineAction::Unchanged)
        );
        let dry = servers_dry_run(
            &csv.replace("400", "800")
                .replace("voip1.example.com", "bad host"),
            &[s],
        )
        .unwrap();
        assert!(matches!(dry.lines[0].action, LineAction::Refused(_)));
    }
}
