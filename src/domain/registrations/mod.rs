//! Registration dump parsers: what one Asterisk server says about the phones registered on it,
//! turned into [`Registration`] rows.
//!
//! Servers push the raw text they already have (DESIGN.md, "Registration input"):
//! - `pjsip-contacts`: `asterisk -rx "pjsip show contacts"` (chan_pjsip);
//! - `sip-peers`: `asterisk -rx "sip show peers"` (chan_sip);
//! - `ami-contacts`: the text of the AMI `PJSIPShowContacts` response;
//! - `csv` and `json`: rows written by a script or exported by pbx-pools itself.
//!
//! A dump is accepted whole or refused whole: the first problem is returned as a
//! [`ParseError`] with its 1-based line number, so nothing is ever half-imported. An empty body is
//! refused too, because a cron job whose `asterisk -rx` printed nothing must not be read as "this
//! server has no phones" (each format has an explicit way to say "none": `No objects found.`,
//! `0 sip peers`, `ListItems: 0`, a CSV header alone, `[]`).
//!
//! This module also owns the tenant rule ([`TenantMatcher`]): how a tenant code is read from an
//! endpoint name when the dump does not carry it explicitly.
//!
//! Layout: this file holds the common types ([`DumpFormat`] with its detection, [`Registration`],
//! [`ParseError`]), [`parse_dump`] which dispatches on the format, and the helpers the parsers
//! share; each format has its own parser file (`pjsip_contacts`, `sip_peers`, `ami_contacts`,
//! `csv_dump`, `json_dump`), and `tenant_rule` holds [`TenantMatcher`]. Everything here may import
//! only `crate::domain` siblings, std and pure crates (serde, serde_json, csv, regex); no web
//! framework, database or async runtime crates.

mod ami_contacts;
mod csv_dump;
mod diff;
mod json_dump;
mod pjsip_contacts;
mod sip_peers;
mod tenant_rule;
#[cfg(test)]
mod tests;

pub use tenant_rule::{TenantMatcher, normalise_tenant_code};

use ami_contacts::{AMI_BANNER, parse_ami_contacts};
use csv_dump::parse_csv;
pub use diff::{PictureDiff, StoredContact, diff_picture, fingerprint};
use json_dump::parse_json;
use pjsip_contacts::{PJSIP_EMPTY, parse_pjsip_contacts};
use sip_peers::parse_sip_peers;

use std::collections::HashSet;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The text formats a server (or an admin) can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DumpFormat {
    /// `asterisk -rx "pjsip show contacts"`.
    PjsipContacts,
    /// `asterisk -rx "sip show peers"`.
    SipPeers,
    /// The AMI `PJSIPShowContacts` response (`Event: ContactList` blocks).
    AmiContacts,
    /// CSV with a header row: endpoint, tenant, contact, user_agent, status.
    Csv,
    /// A JSON array of rows, or `{"registrations": [...]}`.
    Json,
}

impl DumpFormat {
    /// Every format, in the order they are offered to admins.
    pub const ALL: [DumpFormat; 5] = [
        DumpFormat::PjsipContacts,
        DumpFormat::SipPeers,
        DumpFormat::AmiContacts,
        DumpFormat::Csv,
        DumpFormat::Json,
    ];

    /// The name used in URLs, forms and JSON (`pjsip-contacts`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DumpFormat::PjsipContacts => "pjsip-contacts",
            DumpFormat::SipPeers => "sip-peers",
            DumpFormat::AmiContacts => "ami-contacts",
            DumpFormat::Csv => "csv",
            DumpFormat::Json => "json",
        }
    }

    /// The format an HTTP `Content-Type` names, if it names one. The Asterisk text dumps have no
    /// media type of their own (they arrive as `text/plain`), so those give `None` and the caller
    /// falls back to a `format` parameter or [`DumpFormat::sniff`].
    pub fn from_content_type(ct: &str) -> Option<Self> {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "text/csv" | "application/csv" | "text/comma-separated-values" => Some(DumpFormat::Csv),
            "application/json" | "text/json" => Some(DumpFormat::Json),
            other if other.starts_with("application/") && other.ends_with("+json") => {
                Some(DumpFormat::Json)
            }
            _ => None,
        }
    }

    /// Best guess of the format from the text itself, looking at its first meaningful line.
    /// `None` when nothing looks familiar; the caller should then ask for an explicit format.
    pub fn sniff(body: &str) -> Option<Self> {
        let body = strip_bom(body);
        let start = body.trim_start();
        if start.starts_with('[') || start.starts_with('{') {
            return Some(DumpFormat::Json);
        }
        let first = body
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !is_cli_echo(line))?;
        if first.starts_with("Contact:") || first == PJSIP_EMPTY {
            return Some(DumpFormat::PjsipContacts);
        }
        if first.starts_with("Name/username") {
            return Some(DumpFormat::SipPeers);
        }
        if first.starts_with(AMI_BANNER) {
            return Some(DumpFormat::AmiContacts);
        }
        if let Some((key, _)) = first.split_once(':') {
            let key = key.trim();
            if [
                "Response",
                "Event",
                "ActionID",
                "EventList",
                "Message",
                "Action",
            ]
            .iter()
            .any(|known| key.eq_ignore_ascii_case(known))
            {
                return Some(DumpFormat::AmiContacts);
            }
        }
        let has_endpoint_column = first.split([',', ';', '\t']).any(|field| {
            field
                .trim()
                .trim_matches('"')
                .eq_ignore_ascii_case("endpoint")
        });
        if has_endpoint_column {
            return Some(DumpFormat::Csv);
        }
        None
    }
}

impl fmt::Display for DumpFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`DumpFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDumpFormat(pub String);

impl fmt::Display for UnknownDumpFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = DumpFormat::ALL
            .iter()
            .map(|format| format.as_str())
            .collect();
        write!(
            f,
            "unknown dump format `{}`; expected one of {}",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownDumpFormat {}

impl FromStr for DumpFormat {
    type Err = UnknownDumpFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        DumpFormat::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownDumpFormat(wanted.to_string()))
    }
}

/// What Asterisk says about a contact, kept in Asterisk's own words.
///
/// chan_pjsip CLI short labels: `Avail`, `Unavail`, `NonQual`, `Unknown`, `Created`, `Removed`
/// (`pjsip_options.c`); AMI long labels: `Reachable`, `Unreachable`, `NonQualified`, ...;
/// chan_sip: `OK (n ms)`, `LAGGED (n ms)`, `UNREACHABLE`, `UNKNOWN`, `Unmonitored`. The long and
/// short pjsip labels of one state map to one variant (`NonQualified` is [`ContactStatus::NonQual`],
/// `Available` is [`ContactStatus::Avail`]); anything else is kept verbatim in `Other`.
/// Serialised as the plain label string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ContactStatus {
    Avail,
    Unavail,
    NonQual,
    Unknown,
    Created,
    Removed,
    Reachable,
    Unreachable,
    Lagged,
    Ok,
    /// chan_sip peer with `qualify=no`.
    Unmonitored,
    Other(String),
}

impl ContactStatus {
    /// Reads a status label, case-insensitively. Never fails: unknown labels are kept in `Other`.
    pub fn parse(label: &str) -> Self {
        let label = label.trim();
        let known = [
            ("avail", ContactStatus::Avail),
            ("available", ContactStatus::Avail),
            ("unavail", ContactStatus::Unavail),
            ("unavailable", ContactStatus::Unavail),
            ("nonqual", ContactStatus::NonQual),
            ("nonqualified", ContactStatus::NonQual),
            ("unknown", ContactStatus::Unknown),
            ("created", ContactStatus::Created),
            ("removed", ContactStatus::Removed),
            ("reachable", ContactStatus::Reachable),
            ("unreachable", ContactStatus::Unreachable),
            ("lagged", ContactStatus::Lagged),
            ("ok", ContactStatus::Ok),
            ("unmonitored", ContactStatus::Unmonitored),
        ];
        known
            .into_iter()
            .find(|(name, _)| label.eq_ignore_ascii_case(name))
            .map(|(_, status)| status)
            .unwrap_or_else(|| ContactStatus::Other(label.to_string()))
    }

    /// The label as Asterisk prints it.
    pub fn as_str(&self) -> &str {
        match self {
            ContactStatus::Avail => "Avail",
            ContactStatus::Unavail => "Unavail",
            ContactStatus::NonQual => "NonQual",
            ContactStatus::Unknown => "Unknown",
            ContactStatus::Created => "Created",
            ContactStatus::Removed => "Removed",
            ContactStatus::Reachable => "Reachable",
            ContactStatus::Unreachable => "Unreachable",
            ContactStatus::Lagged => "Lagged",
            ContactStatus::Ok => "OK",
            ContactStatus::Unmonitored => "Unmonitored",
            ContactStatus::Other(label) => label,
        }
    }

    /// Whether the phone counts as registered on the server that reported it.
    ///
    /// A listed contact is a live registration; the status is only the result of qualify
    /// (OPTIONS pings). So everything counts except the states that say the phone is gone:
    /// qualify failing (`Unavail`, `Unreachable`) and a contact being deleted (`Removed`).
    /// `Unknown`, `NonQual`, `Unmonitored` and `Created` mean "registered, not (yet) pinged";
    /// a label this code does not know (`Other`) is counted too, since the server listed it.
    pub fn is_registered(&self) -> bool {
        !matches!(
            self,
            ContactStatus::Unavail | ContactStatus::Unreachable | ContactStatus::Removed
        )
    }
}

impl fmt::Display for ContactStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContactStatus {
    type Err = Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ContactStatus::parse(s))
    }
}

impl From<String> for ContactStatus {
    fn from(label: String) -> Self {
        ContactStatus::parse(&label)
    }
}

impl From<ContactStatus> for String {
    fn from(status: ContactStatus) -> Self {
        match status {
            ContactStatus::Other(label) => label,
            known => known.as_str().to_string(),
        }
    }
}

/// One registered contact as a server reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The endpoint (chan_pjsip AoR / endpoint, chan_sip peer name), e.g. `100-CANISTRACCI`.
    pub endpoint: String,
    /// The tenant code, only when the dump names it explicitly (CSV/JSON `tenant`); otherwise
    /// the caller applies a [`TenantMatcher`] (see [`Registration::tenant_code`]).
    pub tenant: Option<String>,
    /// Where the phone is: the contact URI (pjsip; the CLI may cut long URIs to its column
    /// width) or `host:port` (chan_sip). Empty when a CSV/JSON row gives none.
    pub contact: String,
    /// The phone's User-Agent, when the format carries it (AMI, CSV, JSON).
    pub user_agent: Option<String>,
    pub status: ContactStatus,
}

impl Registration {
    /// The tenant code of this row: the explicit one if the dump gave it, else what `matcher`
    /// reads from the endpoint name. Compare it to tenant codes with [`normalise_tenant_code`].
    pub fn tenant_code(&self, matcher: &TenantMatcher) -> Option<String> {
        match &self.tenant {
            Some(tenant) => Some(tenant.clone()),
            None => matcher.tenant_of(&self.endpoint),
        }
    }
}

/// Why a dump was refused: the first bad line (1-based) and a reason an admin can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

impl ParseError {
    pub fn new(line: usize, reason: impl Into<String>) -> Self {
        ParseError {
            line: line.max(1),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// Parses a whole dump in the given format. Rows come back in dump order; a row repeating an
/// earlier (endpoint, contact) pair is dropped. Any malformed line refuses the whole dump.
pub fn parse_dump(format: DumpFormat, body: &str) -> Result<Vec<Registration>, ParseError> {
    let body = strip_bom(body);
    if body.trim().is_empty() {
        return Err(ParseError::new(
            1,
            "the dump is empty; an empty report is refused so that a failed `asterisk -rx` is \
             not read as \"no phones\" (Asterisk prints `No objects found.` or `0 sip peers` \
             when there really are none)",
        ));
    }
    let parsed = match format {
        DumpFormat::PjsipContacts => parse_pjsip_contacts(body),
        DumpFormat::SipPeers => parse_sip_peers(body),
        DumpFormat::AmiContacts => parse_ami_contacts(body),
        DumpFormat::Csv => parse_csv(body),
        DumpFormat::Json => parse_json(body),
    };
    // Shrunk: a vector grown row by row holds up to twice its rows (13.6 MB for 100,000
    // contacts where 10.4 MB are used), kept through the whole ingest.
    let parsed = parsed.map(|rows| {
        let mut rows = dedupe(rows);
        rows.shrink_to_fit();
        rows
    });
    parsed.map_err(|mut error| {
        // serde_json and csv may point just past the last line (end of input, lone `\r`
        // endings); an admin should always find the line named in the dump.
        error.line = error.line.min(body.lines().count().max(1));
        // Reasons quote the dump (a token, a header, serde's unknown field): the reason goes
        // to the log, the CLI and the page, so what it quotes must not carry a terminal escape.
        error.reason = printable(&error.reason);
        error
    })
}

/// `text` with each control character written as its Rust escape (`\0`, `\u{1b}`), so that a
/// quoted value shows what was there without acting on a terminal.
fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn dedupe(rows: Vec<Registration>) -> Vec<Registration> {
    // Borrowed keys: no copy of the strings, which matters for 100,000-contact dumps.
    let keep: Vec<bool> = {
        let mut seen: HashSet<(&str, &str)> = HashSet::with_capacity(rows.len());
        rows.iter()
            .map(|row| seen.insert((row.endpoint.as_str(), row.contact.as_str())))
            .collect()
    };
    if keep.iter().all(|&kept| kept) {
        return rows;
    }
    rows.into_iter()
        .zip(keep)
        .filter_map(|(row, kept)| kept.then_some(row))
        .collect()
}

fn strip_bom(body: &str) -> &str {
    body.strip_prefix('\u{feff}').unwrap_or(body)
}

/// Lines numbered from 1, without line endings or trailing whitespace (`\r\n` dumps included).
fn numbered_lines(body: &str) -> impl Iterator<Item = (usize, &str)> {
    body.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_end()))
}

/// A short, printable quote of a bad line for error messages.
fn excerpt(line: &str) -> String {
    const MAX_CHARS: usize = 100;
    let line = line.trim();
    let mut quoted: String = line
        .chars()
        .take(MAX_CHARS)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if line.chars().nth(MAX_CHARS).is_some() {
        quoted.push('…');
    }
    format!("`{quoted}`")
}

/// A prompt line pasted from an interactive console (`voip1*CLI> pjsip show contacts`).
fn is_cli_echo(line: &str) -> bool {
    line.contains("*CLI> ")
}

/// What `asterisk -rx` prints instead of a listing when it cannot give one.
fn asterisk_refusal(line: &str) -> Option<String> {
    if line.starts_with("Unable to connect to remote asterisk") {
        Some(format!(
            "Asterisk is not running or its control socket is unreachable, so this is not a \
             listing: {}",
            excerpt(line)
        ))
    } else if line.starts_with("No such command") {
        Some(format!(
            "this Asterisk does not know the command (is the channel driver loaded?): {}",
            excerpt(line)
        ))
    } else {
        None
    }
}

fn is_rule(line: &str) -> bool {
    line.len() >= 3 && line.bytes().all(|b| b == b'=')
}

/// The first stored field of `row` that holds a control character, and that character.
///
/// The one text rule of every format: C0 controls (NUL, BEL, ESC, ...), DEL and the C1 range
/// (`char::is_control`). A dump carrying one is damaged or hostile: ESC/CSI sequences rewrite a
/// terminal showing the CLI output or the logs, NUL is refused by PostgreSQL's text type, and no
/// Asterisk listing prints either. Fields a parser reads past without storing (the pjsip hash,
/// the chan_sip description) are not checked: they never reach a page.
pub fn control_character(row: &Registration) -> Option<(&'static str, char)> {
    let fields = [
        ("endpoint", row.endpoint.as_str()),
        ("tenant", row.tenant.as_deref().unwrap_or("")),
        ("contact", row.contact.as_str()),
        ("user agent", row.user_agent.as_deref().unwrap_or("")),
        ("status", row.status.as_str()),
    ];
    fields
        .into_iter()
        .find_map(|(field, value)| value.chars().find(|c| c.is_control()).map(|c| (field, c)))
}

/// Applies [`control_character`] to a row a parser is about to accept: the row, or the error
/// naming the field and the line `line_of(field)` gives (the row's line for the line formats,
/// the field's own line for AMI blocks). Every parser passes its rows through here.
fn check_row_text(
    row: Registration,
    line_of: impl FnOnce(&'static str) -> usize,
) -> Result<Registration, ParseError> {
    match control_character(&row) {
        None => Ok(row),
        Some((field, c)) => Err(ParseError::new(
            line_of(field),
            format!(
                "the {field} contains a control character (U+{:04X}); a dump with one is \
                 refused whole",
                u32::from(c)
            ),
        )),
    }
}

/// Builds a row from CSV/JSON fields: trimmed, empty optional fields as `None`, status `Avail`
/// when absent (a row someone bothered to list is a registered phone). `line` says where the row
/// is, computed only when it is refused.
fn explicit_row(
    endpoint: &str,
    tenant: Option<&str>,
    contact: Option<&str>,
    user_agent: Option<&str>,
    status: Option<&str>,
    line: impl FnOnce() -> usize,
) -> Result<Registration, ParseError> {
    let endpoint = endpoint.trim();
    if endpoint.is_empty() {
        return Err(ParseError::new(line(), "the endpoint is empty"));
    }
    let optional = |value: Option<&str>| {
        value
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    };
    let row = Registration {
        endpoint: endpoint.to_string(),
        tenant: optional(tenant),
        contact: contact.map(str::trim).unwrap_or("").to_string(),
        user_agent: optional(user_agent),
        status: optional(status).map_or(ContactStatus::Avail, |label| ContactStatus::parse(&label)),
    };
    check_row_text(row, |_| line())
}
