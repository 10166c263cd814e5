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

use std::collections::HashSet;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use regex::{Regex, RegexBuilder};
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
    parsed.map(dedupe).map_err(|mut error| {
        // serde_json and csv may point just past the last line (end of input, lone `\r`
        // endings); an admin should always find the line named in the dump.
        error.line = error.line.min(body.lines().count().max(1));
        error
    })
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

// ---------------------------------------------------------------------------------------------
// pjsip show contacts
// ---------------------------------------------------------------------------------------------

const PJSIP_EMPTY: &str = "No objects found.";

/// Parses `pjsip show contacts`.
///
/// The row format comes from `cli_contact_print_body` in `res_pjsip/location.c`:
/// `"%*s:  %s/%-*.*s %-10.10s %-7.7s %11.3f\n"` (indent, "Contact", AoR, URI, hash, short status,
/// RTT). The URI's width *and precision* is `CLI_LAST_TABSTOP - indent - 9 - strlen(aor) + 1`,
/// i.e. `45 - len(AoR)`: Asterisk cuts URIs longer than that, so the contact may be a prefix of
/// the real URI (and an AoR of 45+ characters gets a negative width, which C reads as "full
/// URI"). Fields are split on whitespace, never at fixed offsets. RTT is `nan` while the status
/// is Unknown. Newer Asterisk versions end with `Objects found: N`, which is checked against the
/// rows read; an empty container prints only `No objects found.`.
fn parse_pjsip_contacts(body: &str) -> Result<Vec<Registration>, ParseError> {
    #[derive(PartialEq)]
    enum Stage {
        BeforeHeader,
        Rows,
        Finished,
    }
    let mut stage = Stage::BeforeHeader;
    let mut has_hash_column = true;
    let mut rows = Vec::new();
    let mut footer: Option<(usize, usize)> = None;
    let mut last_line = 1;

    for (number, line) in numbered_lines(body) {
        let line = line.trim_start();
        if line.is_empty() {
            continue;
        }
        last_line = number;
        match stage {
            Stage::BeforeHeader => {
                if is_cli_echo(line) {
                    continue;
                }
                if line == PJSIP_EMPTY {
                    stage = Stage::Finished;
                    continue;
                }
                if let Some(reason) = asterisk_refusal(line) {
                    return Err(ParseError::new(number, reason));
                }
                if line.starts_with("Contact:") && line.contains("<Aor/ContactUri") {
                    // Early res_pjsip releases printed no hash column; follow the header.
                    has_hash_column = line.contains("<Hash");
                    stage = Stage::Rows;
                    continue;
                }
                return Err(ParseError::new(
                    number,
                    format!(
                        "expected the `Contact:  <Aor/ContactUri...>` header of `pjsip show \
                         contacts` (or `{PJSIP_EMPTY}`), got {}",
                        excerpt(line)
                    ),
                ));
            }
            Stage::Rows => {
                if is_rule(line) {
                    continue;
                }
                if let Some(count) = line.strip_prefix("Objects found:") {
                    let count = count.trim().parse::<usize>().map_err(|_| {
                        ParseError::new(
                            number,
                            format!("expected `Objects found: N`, got {}", excerpt(line)),
                        )
                    })?;
                    footer = Some((number, count));
                    stage = Stage::Finished;
                    continue;
                }
                rows.push(parse_pjsip_row(number, line, has_hash_column)?);
            }
            Stage::Finished => {
                return Err(ParseError::new(
                    number,
                    format!(
                        "unexpected text after the end of the contact listing: {}",
                        excerpt(line)
                    ),
                ));
            }
        }
    }

    if stage == Stage::BeforeHeader {
        return Err(ParseError::new(
            last_line,
            "no `pjsip show contacts` header was found",
        ));
    }
    if let Some((line, count)) = footer
        && count != rows.len()
    {
        return Err(ParseError::new(
            line,
            format!(
                "Asterisk counted {count} contacts but {} rows were read; the dump looks \
                 truncated",
                rows.len()
            ),
        ));
    }
    Ok(rows)
}

fn parse_pjsip_row(
    number: usize,
    line: &str,
    has_hash_column: bool,
) -> Result<Registration, ParseError> {
    let malformed = || {
        let fields = if has_hash_column {
            "AoR/URI, hash, status and RTT"
        } else {
            "AoR/URI, status and RTT"
        };
        ParseError::new(
            number,
            format!(
                "expected a Contact: row with {fields}, got {}",
                excerpt(line)
            ),
        )
    };
    let mut tokens = line.split_whitespace();
    if tokens.next() != Some("Contact:") {
        return Err(malformed());
    }
    let aor_uri = tokens.next().ok_or_else(malformed)?;
    if has_hash_column {
        tokens.next().ok_or_else(malformed)?;
    }
    let status = tokens.next().ok_or_else(malformed)?;
    let rtt = tokens.next().ok_or_else(malformed)?;
    if tokens.next().is_some() {
        return Err(malformed());
    }
    let (aor, uri) = split_aor_uri(aor_uri).ok_or_else(|| {
        ParseError::new(
            number,
            format!(
                "expected `AoR/URI` (e.g. `100-ACME/sip:100-ACME@192.0.2.10:5060`), got {}",
                excerpt(aor_uri)
            ),
        )
    })?;
    let status = ContactStatus::parse(status);
    if let ContactStatus::Other(label) = &status {
        // The column is `%-7.7s` of a fixed label set; anything else is not a status.
        if label.len() > 7 || !label.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(malformed());
        }
    }
    if !is_rtt(rtt) {
        return Err(ParseError::new(
            number,
            format!(
                "the RTT column should be a number of milliseconds or `nan`, got {}",
                excerpt(rtt)
            ),
        ));
    }
    Ok(Registration {
        endpoint: aor.to_string(),
        tenant: None,
        contact: uri.to_string(),
        user_agent: None,
        status,
    })
}

/// Splits `aor/uri` at the `/` that starts the URI scheme (so a `/` inside an AoR name is
/// harmless), falling back to the first `/`. The URI may be empty (see the width quirk above).
fn split_aor_uri(token: &str) -> Option<(&str, &str)> {
    let at_scheme = token
        .match_indices('/')
        .map(|(index, _)| index)
        .find(|&index| {
            let rest = &token.as_bytes()[index + 1..];
            [b"sip:".as_slice(), b"sips:", b"tel:"]
                .iter()
                .any(|scheme| {
                    rest.len() >= scheme.len() && rest[..scheme.len()].eq_ignore_ascii_case(scheme)
                })
        });
    let index = at_scheme.or_else(|| token.find('/'))?;
    let (aor, uri) = (&token[..index], &token[index + 1..]);
    if aor.is_empty() {
        None
    } else {
        Some((aor, uri))
    }
}

fn is_rtt(token: &str) -> bool {
    // glibc prints NAN as `nan` or `-nan`; Rust's parser takes the rest (`12.345`, `inf`).
    let unsigned = token.strip_prefix(['-', '+']).unwrap_or(token);
    unsigned.eq_ignore_ascii_case("nan") || token.parse::<f64>().is_ok()
}

// ---------------------------------------------------------------------------------------------
// sip show peers
// ---------------------------------------------------------------------------------------------

const SIP_UNSPECIFIED_HOST: &str = "(Unspecified)";

/// What the `sip show peers` header says about the columns between Host and Port.
struct PeerColumns {
    has_dyn: bool,
    /// Flag columns (Dyn, Nat, Forcerport, Comedia, ACL): each prints one or two tokens.
    flag_columns: usize,
    /// Asterisk 1.2 printed a netmask column before Port.
    has_mask: bool,
}

/// Parses `sip show peers` (chan_sip).
///
/// Header and columns vary by version (`Dyn Nat ACL Port Status` in old releases;
/// `Dyn Forcerport Comedia ACL Port Status Description` later, where Forcerport/Comedia print
/// `Yes`, `No`, `Auto (Yes)` or `Auto (No)` from `sip_utils.c`), and the name column is
/// `%-25.25s` in some versions and pushes the row right in others, so rows are read as
/// whitespace tokens guided by the header: name, host, flag tokens (no digits), the port (the
/// first all-digit token), then the status (`OK (12 ms)`, `LAGGED (2100 ms)`, `UNREACHABLE`,
/// `UNKNOWN`, `Unmonitored`); the description is ignored.
///
/// A peer with host `(Unspecified)` or port 0 is configured but not registered: not a phone on
/// this server, skipped. A peer without the `D` (dynamic) flag has a fixed host (a trunk or a
/// static device): it never registers, so it is skipped too. The footer
/// `N sip peers [Monitored: ...]` counts every peer listed (skipped ones included) and is always
/// printed by chan_sip, so a missing or disagreeing footer means a cut dump.
fn parse_sip_peers(body: &str) -> Result<Vec<Registration>, ParseError> {
    let mut columns: Option<PeerColumns> = None;
    let mut rows = Vec::new();
    let mut peers_listed = 0usize;
    let mut footer_seen = false;
    let mut last_line = 1;

    for (number, line) in numbered_lines(body) {
        let line = line.trim_start();
        if line.is_empty() {
            continue;
        }
        last_line = number;
        if footer_seen {
            return Err(ParseError::new(
                number,
                format!(
                    "unexpected text after the `sip peers` summary: {}",
                    excerpt(line)
                ),
            ));
        }
        let Some(header) = &columns else {
            if is_cli_echo(line) {
                continue;
            }
            if let Some(reason) = asterisk_refusal(line) {
                return Err(ParseError::new(number, reason));
            }
            columns = Some(parse_peer_header(number, line)?);
            continue;
        };
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if let Some(count) = peer_footer_count(&tokens) {
            if count != peers_listed {
                return Err(ParseError::new(
                    number,
                    format!(
                        "Asterisk counted {count} sip peers but {peers_listed} rows were read; \
                         the dump looks truncated"
                    ),
                ));
            }
            footer_seen = true;
            continue;
        }
        peers_listed += 1;
        if let Some(row) = parse_peer_row(number, line, &tokens, header)? {
            rows.push(row);
        }
    }

    if columns.is_none() {
        return Err(ParseError::new(
            last_line,
            "no `Name/username  Host ...` header of `sip show peers` was found",
        ));
    }
    if !footer_seen {
        return Err(ParseError::new(
            last_line,
            "the dump stops here without the `N sip peers [Monitored: ...]` summary that chan_sip \
             always prints; it looks cut off",
        ));
    }
    Ok(rows)
}

fn parse_peer_header(number: usize, line: &str) -> Result<PeerColumns, ParseError> {
    let not_header = || {
        ParseError::new(
            number,
            format!(
                "expected the `Name/username  Host  Dyn ... Port  Status` header of `sip show \
                 peers`, got {}",
                excerpt(line)
            ),
        )
    };
    let names: Vec<&str> = line.split_whitespace().collect();
    if names.first().copied() != Some("Name/username") {
        return Err(not_header());
    }
    let position = |wanted: &str| {
        names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(wanted))
    };
    let (Some(host), Some(port), Some(status)) =
        (position("Host"), position("Port"), position("Status"))
    else {
        return Err(not_header());
    };
    if !(host < port && port < status) {
        return Err(not_header());
    }
    let between = &names[host + 1..port];
    let has_mask = between.iter().any(|name| name.eq_ignore_ascii_case("Mask"));
    Ok(PeerColumns {
        has_dyn: between.iter().any(|name| name.eq_ignore_ascii_case("Dyn")),
        flag_columns: between.len() - usize::from(has_mask),
        has_mask,
    })
}

/// `3 sip peers [Monitored: 2 online, 1 offline Unmonitored: 0 online, 0 offline]`.
fn peer_footer_count(tokens: &[&str]) -> Option<usize> {
    match tokens {
        [count, "sip", peers, ..] if peers.starts_with("peer") => count.parse().ok(),
        _ => None,
    }
}

fn is_peer_flag(token: &str) -> bool {
    ["D", "N", "Y", "A", "Yes", "No", "Auto", "(Yes)", "(No)"]
        .iter()
        .any(|flag| token.eq_ignore_ascii_case(flag))
}

fn is_netmask(token: &str) -> bool {
    token.split('.').count() == 4
        && token
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_peer_row(
    number: usize,
    line: &str,
    tokens: &[&str],
    columns: &PeerColumns,
) -> Result<Option<Registration>, ParseError> {
    let malformed = |what: &str| {
        ParseError::new(
            number,
            format!(
                "expected a peer row with name, host, flags, port and status ({what}), got {}",
                excerpt(line)
            ),
        )
    };
    let (Some(&name), Some(&host)) = (tokens.first(), tokens.get(1)) else {
        return Err(malformed("too few fields"));
    };
    let mut index = 2;
    let mut dynamic = false;
    let mut flags = 0usize;
    let mut masks = 0usize;
    loop {
        let Some(&token) = tokens.get(index) else {
            return Err(malformed("no port"));
        };
        if token.bytes().all(|b| b.is_ascii_digit()) {
            break;
        }
        if is_peer_flag(token) {
            flags += 1;
            dynamic |= token == "D";
        } else if columns.has_mask && is_netmask(token) {
            masks += 1;
        } else {
            return Err(malformed(&format!("`{token}` is not a flag or a port")));
        }
        index += 1;
    }
    if flags > 2 * columns.flag_columns || masks > 1 {
        return Err(malformed("more flags than the header has columns"));
    }
    let port: u32 = tokens[index]
        .parse()
        .map_err(|_| malformed("the port is not a number"))?;
    index += 1;
    let Some(&status_token) = tokens.get(index) else {
        return Err(malformed("no status"));
    };
    if status_token.eq_ignore_ascii_case("OK") || status_token.eq_ignore_ascii_case("LAGGED") {
        // `OK (12 ms)` / `LAGGED (2100 ms)`: the qualify time is part of the status text.
        let is_millis = |open: &str| {
            open.strip_prefix('(')
                .is_some_and(|ms| !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()))
        };
        let timed = matches!(
            (tokens.get(index + 1), tokens.get(index + 2)),
            (Some(open), Some(&"ms)")) if is_millis(open)
        );
        if !timed {
            return Err(malformed("`OK`/`LAGGED` without its `(N ms)`"));
        }
    }
    let status = ContactStatus::parse(status_token);

    if host == SIP_UNSPECIFIED_HOST || port == 0 || (columns.has_dyn && !dynamic) {
        return Ok(None);
    }
    let endpoint = name.split('/').next().unwrap_or(name);
    if endpoint.is_empty() {
        return Err(malformed("empty peer name"));
    }
    // chan_sip prints the bare address; bracket IPv6 so `host:port` stays unambiguous.
    let contact = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok(Some(Registration {
        endpoint: endpoint.to_string(),
        tenant: None,
        contact,
        user_agent: None,
        status,
    }))
}

// ---------------------------------------------------------------------------------------------
// AMI PJSIPShowContacts
// ---------------------------------------------------------------------------------------------

const AMI_BANNER: &str = "Asterisk Call Manager/";

/// One `Key: Value` line of an AMI block.
struct AmiField<'a> {
    key: &'a str,
    value: &'a str,
    line: usize,
}

struct AmiBlock<'a> {
    fields: Vec<AmiField<'a>>,
}

impl<'a> AmiBlock<'a> {
    /// AMI header names are case-insensitive; the first occurrence wins.
    fn get(&self, key: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|field| field.key.eq_ignore_ascii_case(key))
            .map(|field| field.value)
    }

    fn line_of(&self, key: &str) -> usize {
        self.fields
            .iter()
            .find(|field| field.key.eq_ignore_ascii_case(key))
            .or(self.fields.first())
            .map_or(1, |field| field.line)
    }

    /// The first of `keys` that is present with a non-empty value.
    fn first_non_empty(&self, keys: &[&str]) -> Option<&'a str> {
        keys.iter()
            .filter_map(|key| self.get(key))
            .find(|value| !value.is_empty())
    }
}

#[derive(Default)]
struct AmiListing {
    rows: Vec<Registration>,
    contact_events: usize,
    list_started_at: Option<usize>,
    complete: bool,
}

/// Parses the AMI `PJSIPShowContacts` response: `Key: Value` blocks separated by blank lines.
/// A `Response: Success` block (`EventList: start`) may open it; each `Event: ContactList`
/// is one contact; `Event: ContactListComplete` closes it with `ListItems: N`.
///
/// ContactList carries `Endpoint` (not `EndpointName`, which the ContactStatusDetail event
/// uses) and no AoR field; its `ObjectName` is the contact id `aor;@hash`. The endpoint is the
/// first non-empty of `EndpointName`, `Endpoint`, `Aor`/`AOR`, then the AoR part of
/// `ObjectName`. Other events interleaved in an AMI session are ignored.
fn parse_ami_contacts(body: &str) -> Result<Vec<Registration>, ParseError> {
    let mut listing = AmiListing::default();
    let mut block = AmiBlock { fields: Vec::new() };
    let mut last_line = 1;

    for (number, line) in numbered_lines(body) {
        let line = line.trim_start();
        if line.is_empty() {
            if !block.fields.is_empty() {
                handle_ami_block(&block, &mut listing)?;
                block.fields.clear();
            }
            continue;
        }
        last_line = number;
        if line.starts_with(AMI_BANNER) && block.fields.is_empty() {
            continue;
        }
        let field = line
            .split_once(':')
            .map(|(key, value)| (key.trim_end(), value.trim()))
            .filter(|(key, _)| {
                !key.is_empty()
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        let Some((key, value)) = field else {
            return Err(ParseError::new(
                number,
                format!("expected an AMI `Key: Value` line, got {}", excerpt(line)),
            ));
        };
        block.fields.push(AmiField {
            key,
            value,
            line: number,
        });
    }
    if !block.fields.is_empty() {
        handle_ami_block(&block, &mut listing)?;
    }

    if let (Some(_), false) = (listing.list_started_at, listing.complete) {
        return Err(ParseError::new(
            last_line,
            "the response announced a contact list (`EventList: start`) but the dump stops \
             before its `Event: ContactListComplete`; it looks cut off",
        ));
    }
    if listing.list_started_at.is_none() && !listing.complete && listing.contact_events == 0 {
        return Err(ParseError::new(
            1,
            "no `Event: ContactList` or `Event: ContactListComplete` was found; is this the \
             response to `Action: PJSIPShowContacts`?",
        ));
    }
    Ok(listing.rows)
}

fn handle_ami_block(block: &AmiBlock<'_>, listing: &mut AmiListing) -> Result<(), ParseError> {
    if let Some(response) = block.get("Response") {
        if response.eq_ignore_ascii_case("Error") {
            return Err(ParseError::new(
                block.line_of("Response"),
                format!(
                    "Asterisk answered with an error: {}",
                    block.get("Message").unwrap_or("(no message)")
                ),
            ));
        }
        if block
            .get("EventList")
            .is_some_and(|value| value.eq_ignore_ascii_case("start"))
        {
            listing.list_started_at = Some(block.line_of("EventList"));
        }
        return Ok(());
    }
    if let Some(event) = block.get("Event") {
        let line = block.line_of("Event");
        if event.eq_ignore_ascii_case("ContactList") {
            if listing.complete {
                return Err(ParseError::new(
                    line,
                    "a ContactList event after ContactListComplete; two responses seem to be \
                     mixed in one dump",
                ));
            }
            listing.contact_events += 1;
            listing.rows.push(ami_contact(block, line)?);
        } else if event.eq_ignore_ascii_case("ContactListComplete") {
            let items_line = block.line_of("ListItems");
            let items = block
                .get("ListItems")
                .and_then(|value| value.parse::<usize>().ok())
                .ok_or_else(|| {
                    ParseError::new(
                        items_line,
                        "ContactListComplete without a numeric `ListItems:`",
                    )
                })?;
            if items != listing.contact_events {
                return Err(ParseError::new(
                    items_line,
                    format!(
                        "ContactListComplete says ListItems: {items} but {} ContactList events \
                         came before it; the dump looks truncated",
                        listing.contact_events
                    ),
                ));
            }
            listing.complete = true;
        }
        return Ok(());
    }
    if block.get("Action").is_some() {
        // The request itself, echoed in a pasted session.
        return Ok(());
    }
    let first = block.fields.first().map_or(1, |field| field.line);
    Err(ParseError::new(
        first,
        "expected an AMI block starting with `Response:` or `Event:`",
    ))
}

fn ami_contact(block: &AmiBlock<'_>, line: usize) -> Result<Registration, ParseError> {
    let object_aor = block
        .get("ObjectName")
        .map(|id| id.split(";@").next().unwrap_or(id))
        .filter(|aor| !aor.is_empty());
    let endpoint = block
        .first_non_empty(&["EndpointName", "Endpoint", "Aor"])
        .or(object_aor)
        .ok_or_else(|| {
            ParseError::new(
                line,
                "ContactList event without `EndpointName`, `Endpoint`, `Aor` or `ObjectName`",
            )
        })?;
    let contact = block
        .get("Uri")
        .ok_or_else(|| ParseError::new(line, "ContactList event without `Uri`"))?;
    check_text("endpoint", endpoint).map_err(|reason| ParseError::new(line, reason))?;
    let user_agent = block
        .get("UserAgent")
        .filter(|value| !value.is_empty())
        .map(str::to_string);
    let status = block
        .get("Status")
        .filter(|value| !value.is_empty())
        .map_or(ContactStatus::Unknown, ContactStatus::parse);
    Ok(Registration {
        endpoint: endpoint.to_string(),
        tenant: None,
        contact: contact.to_string(),
        user_agent,
        status,
    })
}

// ---------------------------------------------------------------------------------------------
// CSV and JSON
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Column {
    Endpoint,
    Tenant,
    Contact,
    UserAgent,
    Status,
}

const CSV_COLUMNS: &str = "endpoint, tenant, contact, user_agent, status";

fn column_named(name: &str) -> Option<Column> {
    let name: String = name
        .trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            other => other.to_ascii_lowercase(),
        })
        .collect();
    match name.as_str() {
        "endpoint" => Some(Column::Endpoint),
        "tenant" => Some(Column::Tenant),
        "contact" => Some(Column::Contact),
        "user_agent" | "useragent" => Some(Column::UserAgent),
        "status" => Some(Column::Status),
        _ => None,
    }
}

/// Rejects text that would corrupt displays and logs.
fn check_text(field: &str, value: &str) -> Result<(), String> {
    if value.chars().any(char::is_control) {
        Err(format!("the {field} contains a control character"))
    } else {
        Ok(())
    }
}

/// Builds a row from CSV/JSON fields: trimmed, empty optional fields as `None`, status `Avail`
/// when absent (a row someone bothered to list is a registered phone).
fn explicit_row(
    endpoint: &str,
    tenant: Option<&str>,
    contact: Option<&str>,
    user_agent: Option<&str>,
    status: Option<&str>,
) -> Result<Registration, String> {
    let endpoint = endpoint.trim();
    if endpoint.is_empty() {
        return Err("the endpoint is empty".to_string());
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
    check_text("endpoint", &row.endpoint)?;
    check_text("tenant", row.tenant.as_deref().unwrap_or(""))?;
    check_text("contact", &row.contact)?;
    check_text("user agent", row.user_agent.as_deref().unwrap_or(""))?;
    check_text("status", row.status.as_str())?;
    Ok(row)
}

fn csv_line(position: Option<&csv::Position>) -> usize {
    position.map_or(1, |position| {
        usize::try_from(position.line()).unwrap_or(usize::MAX)
    })
}

fn csv_error(error: &csv::Error) -> ParseError {
    let line = csv_line(error.position());
    let reason = match error.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields like the header, found {len}"),
        _ => error.to_string(),
    };
    ParseError::new(line, reason)
}

/// Parses CSV with a required header row. Columns: `endpoint` (required), `tenant`, `contact`,
/// `user_agent`, `status` (default `Avail`); any other column is refused by name. The
/// delimiter is `,`, or `;`/tab when the header uses one of those (spreadsheets in many locales
/// export `;`).
fn parse_csv(body: &str) -> Result<Vec<Registration>, ParseError> {
    let header_line = body
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&d| (header_line.bytes().filter(|&b| b == d).count(), d == b','))
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .has_headers(true)
        .flexible(false)
        .from_reader(body.as_bytes());

    let headers = reader.headers().map_err(|error| csv_error(&error))?.clone();
    let header_at = csv_line(headers.position());
    let mut columns = Vec::with_capacity(headers.len());
    let mut unknown = Vec::new();
    for name in headers.iter() {
        match column_named(name) {
            Some(column) if columns.contains(&Some(column)) => {
                return Err(ParseError::new(
                    header_at,
                    format!("the column `{name}` appears twice in the header"),
                ));
            }
            Some(column) => columns.push(Some(column)),
            None => {
                unknown.push(format!("`{name}`"));
                columns.push(None);
            }
        }
    }
    if !unknown.is_empty() {
        return Err(ParseError::new(
            header_at,
            format!(
                "unknown column{} {}; the columns are {CSV_COLUMNS}",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join(", ")
            ),
        ));
    }
    if !columns.contains(&Some(Column::Endpoint)) {
        return Err(ParseError::new(
            header_at,
            format!("the header needs an `endpoint` column; the columns are {CSV_COLUMNS}"),
        ));
    }

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|error| csv_error(&error))?;
        let line = csv_line(record.position());
        let field = |wanted: Column| {
            columns
                .iter()
                .position(|&column| column == Some(wanted))
                .and_then(|index| record.get(index))
        };
        let row = explicit_row(
            field(Column::Endpoint).unwrap_or(""),
            field(Column::Tenant),
            field(Column::Contact),
            field(Column::UserAgent),
            field(Column::Status),
        )
        .map_err(|reason| ParseError::new(line, reason))?;
        rows.push(row);
    }
    Ok(rows)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRow {
    endpoint: String,
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    contact: Option<String>,
    #[serde(default, alias = "userAgent")]
    user_agent: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEnvelope {
    registrations: Vec<JsonRow>,
}

/// Parses a JSON array of rows (the fields of [`Registration`]; `contact`, `tenant`,
/// `user_agent`, `status` optional) or `{"registrations": [...]}`. Unknown fields are refused.
fn parse_json(body: &str) -> Result<Vec<Registration>, ParseError> {
    let json_error = |error: serde_json::Error| {
        // serde_json appends " at line L column C"; the line goes into ParseError instead.
        let message = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let reason = message
            .strip_suffix(&suffix)
            .unwrap_or(&message)
            .to_string();
        ParseError::new(
            error.line(),
            format!("{reason} (column {})", error.column()),
        )
    };
    let start = body.trim_start();
    let (rows, row_depth) = if start.starts_with('[') {
        (
            serde_json::from_str::<Vec<JsonRow>>(body).map_err(json_error)?,
            1,
        )
    } else if start.starts_with('{') {
        let envelope = serde_json::from_str::<JsonEnvelope>(body).map_err(json_error)?;
        (envelope.registrations, 2)
    } else {
        let offset = body.len() - start.len();
        let line = body[..offset].matches('\n').count() + 1;
        return Err(ParseError::new(
            line,
            "expected a JSON array of registrations or an object {\"registrations\": [...]}",
        ));
    };
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| {
            explicit_row(
                &row.endpoint,
                row.tenant.as_deref(),
                row.contact.as_deref(),
                row.user_agent.as_deref(),
                row.status.as_deref(),
            )
            .map_err(|reason| ParseError::new(json_row_line(body, row_depth, index), reason))
        })
        .collect()
}

/// The line where the `index`-th row object of an already valid JSON document opens: the
/// `index`-th `{` found at bracket depth `row_depth` (1 inside a top-level array, 2 inside
/// `{"registrations": [...]}`), skipping string contents.
fn json_row_line(body: &str, row_depth: usize, index: usize) -> usize {
    let (mut depth, mut line, mut rows_seen) = (0usize, 1usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for c in body.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => {
                if c == '{' && depth == row_depth {
                    if rows_seen == index {
                        return line;
                    }
                    rows_seen += 1;
                }
                depth += 1;
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    line
}

// ---------------------------------------------------------------------------------------------
// Tenant rule
// ---------------------------------------------------------------------------------------------

/// A compiled tenant rule: a regular expression with a named group `tenant` that picks the
/// tenant code out of an endpoint name.
#[derive(Debug, Clone)]
pub struct TenantMatcher {
    regex: Regex,
}

impl TenantMatcher {
    /// Compiles an admin-supplied rule. The rule must have a named group `tenant`.
    pub fn new(pattern: &str) -> Result<Self, String> {
        // The rule comes from a settings form: bound the compiled size so a pathological
        // pattern is refused instead of eating memory (the regex crate never backtracks).
        let regex = RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .build()
            .map_err(|error| match error {
                regex::Error::CompiledTooBig(_) => {
                    "the tenant rule is too large once compiled; simplify it (fewer or smaller \
                     repetitions)"
                        .to_string()
                }
                other => format!("the tenant rule is not a valid regular expression: {other}"),
            })?;
        if !regex.capture_names().any(|name| name == Some("tenant")) {
            return Err(
                "the tenant rule needs a named group `tenant`, e.g. `^.+-(?P<tenant>[A-Za-z]+)$`"
                    .to_string(),
            );
        }
        Ok(TenantMatcher { regex })
    }

    /// MiRTA PBX names SIP users `<extension>-<TENANTCODE>` (`100-CANISTRACCI`), and tenant
    /// codes are letters. The default takes the part after the last dash, provided something
    /// comes before the dash and the part starts with a letter (letters, digits and `_` may
    /// follow, for codes like `ACME2`). A dash-free name (`bob`) or a numeric tail
    /// (`trunk-2`, `100-200`) has no tenant. Matching the result to tenant codes is
    /// case-insensitive: see [`normalise_tenant_code`].
    pub fn default_rule() -> &'static str {
        r"^.+-(?P<tenant>[A-Za-z][A-Za-z0-9_]*)$"
    }

    /// The rule as written.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// The tenant code in `endpoint`, as written there (case kept), or `None` when the rule
    /// does not match or the `tenant` group is empty.
    pub fn tenant_of(&self, endpoint: &str) -> Option<String> {
        self.regex
            .captures(endpoint)
            .and_then(|captures| captures.name("tenant"))
            .map(|tenant| tenant.as_str())
            .filter(|tenant| !tenant.is_empty())
            .map(str::to_string)
    }
}

impl Default for TenantMatcher {
    fn default() -> Self {
        TenantMatcher::new(TenantMatcher::default_rule())
            .expect("the built-in tenant rule is a valid regex with a `tenant` group")
    }
}

/// The key under which tenant codes compare without regard to case (and to stray whitespace):
/// `CANISTRACCI`, `canistracci` and ` Canistracci ` share one key.
pub fn normalise_tenant_code(code: &str) -> String {
    code.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // -----------------------------------------------------------------------------------------
    // Helpers
    // -----------------------------------------------------------------------------------------

    fn row(endpoint: &str, contact: &str, status: ContactStatus) -> Registration {
        Registration {
            endpoint: endpoint.to_string(),
            tenant: None,
            contact: contact.to_string(),
            user_agent: None,
            status,
        }
    }

    fn error_of(format: DumpFormat, body: &str) -> ParseError {
        match parse_dump(format, body) {
            Ok(rows) => panic!("expected {format} to be refused, got {rows:?}"),
            Err(error) => error,
        }
    }

    fn ok(format: DumpFormat, body: &str) -> Vec<Registration> {
        match parse_dump(format, body) {
            Ok(rows) => rows,
            Err(error) => panic!("expected {format} to parse, got {error}"),
        }
    }

    /// Renders contacts exactly as `cli_contact_print_body` does (see `parse_pjsip_contacts`),
    /// URI cutting included. RTT is `nan` for Unknown, as Asterisk prints it.
    fn render_pjsip_contacts(rows: &[Registration]) -> String {
        let mut out = String::from("\n");
        out.push_str(&format!(
            "{:>9}:  <Aor/ContactUri{}> <Hash....> <Status> <RTT(ms)..>\n",
            "Contact",
            ".".repeat(62 - 9 - 23)
        ));
        out.push_str(
            " =========================================================================================\n\n",
        );
        for (index, reg) in rows.iter().enumerate() {
            let flex = 45 - reg.endpoint.len() as isize;
            let uri = if flex >= 0 {
                format!("{:<w$.w$}", reg.contact, w = flex as usize)
            } else {
                format!("{:<w$}", reg.contact, w = (-flex) as usize)
            };
            let hash = format!(
                "{:010x}",
                (index as u64).wrapping_mul(2_654_435_761) % (1 << 40)
            );
            let rtt = if reg.status == ContactStatus::Unknown {
                format!("{:>11}", "nan")
            } else {
                format!("{:>11.3}", 10.0 + index as f64 / 7.0)
            };
            out.push_str(&format!(
                "{:>9}:  {}/{} {:<10.10} {:<7.7} {}\n",
                "Contact",
                reg.endpoint,
                uri,
                hash,
                reg.status.as_str(),
                rtt
            ));
        }
        out.push_str(&format!("\nObjects found: {}\n\n", rows.len()));
        out
    }

    /// What Asterisk shows of a contact URI (cut to the column when the AoR is short enough).
    fn shown_uri(endpoint: &str, uri: &str) -> String {
        let flex = 45 - endpoint.len() as isize;
        if flex >= 0 {
            uri.chars().take(flex as usize).collect()
        } else {
            uri.to_string()
        }
    }

    // A real-looking dump (Asterisk 18 layout, generated with the printf above): Avail, Unavail,
    // NonQual, Unknown/nan, IPv6, URIs cut at the column width (`;ob` and ports lost), and a
    // 46-character AoR whose negative width makes Asterisk print the full URI.
    const PJSIP_DUMP: &str = "
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
 =========================================================================================

  Contact:  100-CANISTRACCI/sip:100-CANISTRACCI@192.0.2.10 a1b2c3d4e5 Avail        12.345
  Contact:  101-CANISTRACCI/sip:101-CANISTRACCI@192.0.2.11 0f9e8d7c6b Unavail       0.000
  Contact:  2001-acme/sip:2001-acme@198.51.100.7:5060;ob   5e4d3c2b1a NonQual       0.000
  Contact:  bob/sip:bob@[2001:db8::1]:5060                 77aa88bb99 Avail         3.210
  Contact:  300-ZETA/sip:300-ZETA@203.0.113.9:5062         c0ffee0000 Unknown         nan
  Contact:  lobby-reception-desk-phone-building-north-ACME/sip:lobby@192.0.2.77:5060 1234567890 Avail        45.000

Objects found: 6

";

    // -----------------------------------------------------------------------------------------
    // pjsip show contacts
    // -----------------------------------------------------------------------------------------

    #[test]
    fn pjsip_dump_gives_every_contact_with_asterisks_status() {
        let rows = ok(DumpFormat::PjsipContacts, PJSIP_DUMP);
        assert_eq!(
            rows,
            vec![
                row(
                    "100-CANISTRACCI",
                    "sip:100-CANISTRACCI@192.0.2.10",
                    ContactStatus::Avail
                ),
                row(
                    "101-CANISTRACCI",
                    "sip:101-CANISTRACCI@192.0.2.11",
                    ContactStatus::Unavail
                ),
                row(
                    "2001-acme",
                    "sip:2001-acme@198.51.100.7:5060;ob",
                    ContactStatus::NonQual
                ),
                row("bob", "sip:bob@[2001:db8::1]:5060", ContactStatus::Avail),
                row(
                    "300-ZETA",
                    "sip:300-ZETA@203.0.113.9:5062",
                    ContactStatus::Unknown
                ),
                row(
                    "lobby-reception-desk-phone-building-north-ACME",
                    "sip:lobby@192.0.2.77:5060",
                    ContactStatus::Avail
                ),
            ]
        );
    }

    #[test]
    fn pjsip_windows_line_endings_and_trailing_spaces_change_nothing() {
        let windows: String = PJSIP_DUMP
            .lines()
            .map(|line| format!("{line}   \t\r\n"))
            .collect();
        assert_eq!(
            ok(DumpFormat::PjsipContacts, &windows),
            ok(DumpFormat::PjsipContacts, PJSIP_DUMP)
        );
    }

    #[test]
    fn pjsip_no_objects_found_is_an_empty_server() {
        assert_eq!(
            ok(DumpFormat::PjsipContacts, "\nNo objects found.\n\n"),
            vec![]
        );
    }

    #[test]
    fn pjsip_footer_count_mismatch_is_a_truncated_dump() {
        let cut = PJSIP_DUMP.replace("Objects found: 6", "Objects found: 7");
        let error = error_of(DumpFormat::PjsipContacts, &cut);
        assert_eq!(error.line, 12);
        assert!(error.reason.contains("7 contacts but 6 rows"), "{error}");
        assert!(error.reason.contains("truncated"), "{error}");
    }

    #[test]
    fn pjsip_cut_last_line_is_refused_at_that_line() {
        // The transfer stopped in the middle of row 5 (line 9): no status or RTT.
        let cut: String = PJSIP_DUMP.lines().take(8).collect::<Vec<_>>().join("\n")
            + "\n  Contact:  300-ZETA/sip:300-ZETA@203.0.113.9:5062         c0ffee0000";
        let error = error_of(DumpFormat::PjsipContacts, &cut);
        assert_eq!(error.line, 9);
        assert!(
            error
                .reason
                .starts_with("expected a Contact: row with AoR/URI, hash, status and RTT, got"),
            "{error}"
        );
    }

    #[test]
    fn pjsip_garbage_in_the_middle_names_its_line() {
        let mut lines: Vec<&str> = PJSIP_DUMP.lines().collect();
        lines.insert(6, "kernel: eth0: link down");
        let error = error_of(DumpFormat::PjsipContacts, &lines.join("\n"));
        assert_eq!(error.line, 7);
        assert_eq!(
            error.to_string(),
            "line 7: expected a Contact: row with AoR/URI, hash, status and RTT, got \
             `kernel: eth0: link down`"
        );
    }

    #[test]
    fn pjsip_bad_rtt_and_bad_status_are_refused() {
        let bad_rtt = PJSIP_DUMP.replace("12.345", "12,345ms");
        let error = error_of(DumpFormat::PjsipContacts, &bad_rtt);
        assert_eq!(error.line, 5);
        assert!(error.reason.contains("RTT"), "{error}");

        let bad_status = PJSIP_DUMP.replace("Avail        12.345", "Av-ail       12.345");
        assert_eq!(error_of(DumpFormat::PjsipContacts, &bad_status).line, 5);
    }

    #[test]
    fn pjsip_without_header_or_with_text_after_footer_is_refused() {
        let no_header = "  Contact:  100-X/sip:100-X@192.0.2.1 a1b2c3d4e5 Avail 1.000\n";
        let error = error_of(DumpFormat::PjsipContacts, no_header);
        assert_eq!(error.line, 1);
        assert!(error.reason.contains("header"), "{error}");

        let trailing = format!("{PJSIP_DUMP}Contact: 102-X/sip:102-X@192.0.2.2 aa Avail 1.0\n");
        let error = error_of(DumpFormat::PjsipContacts, &trailing);
        assert_eq!(error.line, 14);
        assert!(error.reason.contains("after the end"), "{error}");
    }

    #[test]
    fn pjsip_without_footer_is_accepted_as_older_asterisk_prints_none() {
        let old: String = PJSIP_DUMP
            .lines()
            .filter(|line| !line.starts_with("Objects found"))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(ok(DumpFormat::PjsipContacts, &old).len(), 6);
    }

    #[test]
    fn pjsip_header_without_hash_column_is_followed() {
        let old = "
  Contact:  <Aor/ContactUri..............................> <Status....> <RTT(ms)..>
==========================================================================================

  Contact:  100-OLD/sip:100-OLD@192.0.2.1:5060          Avail            8.000
";
        assert_eq!(
            ok(DumpFormat::PjsipContacts, old),
            vec![row(
                "100-OLD",
                "sip:100-OLD@192.0.2.1:5060",
                ContactStatus::Avail
            )]
        );
    }

    #[test]
    fn pjsip_console_prompt_line_is_tolerated_before_the_header() {
        let pasted = format!("voip1*CLI> pjsip show contacts{PJSIP_DUMP}");
        assert_eq!(ok(DumpFormat::PjsipContacts, &pasted).len(), 6);
    }

    #[test]
    fn asterisk_not_running_is_said_plainly() {
        let body =
            "Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)\n";
        for format in [DumpFormat::PjsipContacts, DumpFormat::SipPeers] {
            let error = error_of(format, body);
            assert_eq!(error.line, 1);
            assert!(error.reason.contains("not running"), "{error}");
        }
        let error = error_of(
            DumpFormat::SipPeers,
            "No such command 'sip show peers' (type 'core show help sip show' for other possible commands)\n",
        );
        assert!(
            error.reason.contains("does not know the command"),
            "{error}"
        );
    }

    #[test]
    fn duplicate_rows_are_kept_once() {
        let doubled = "
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  100-ACME/sip:100-ACME@192.0.2.1:5060          a1b2c3d4e5 Avail         1.000
  Contact:  100-ACME/sip:100-ACME@192.0.2.1:5060          b1b2c3d4e5 Avail         1.000
  Contact:  100-ACME/sip:100-ACME@192.0.2.1:5062          c1b2c3d4e5 Avail         1.000

Objects found: 3
";
        let rows = ok(DumpFormat::PjsipContacts, doubled);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].contact, "sip:100-ACME@192.0.2.1:5062");
    }

    #[test]
    fn empty_body_is_refused_in_every_format() {
        for format in DumpFormat::ALL {
            for body in ["", "   \n\r\n\t", "\u{feff}"] {
                let error = error_of(format, body);
                assert_eq!(error.line, 1);
                assert!(error.reason.contains("empty"), "{format}: {error}");
            }
        }
    }

    #[test]
    fn hundred_thousand_contacts_parse() {
        let rows: Vec<Registration> = (0..100_000)
            .map(|i| {
                row(
                    &format!("{}-T{}", 100 + i % 900, i / 900),
                    &format!(
                        "sip:{}@10.{}.{}.{}:5060",
                        i,
                        i / 65536,
                        (i / 256) % 256,
                        i % 256
                    ),
                    ContactStatus::Avail,
                )
            })
            .collect();
        let dump = render_pjsip_contacts(&rows);
        assert_eq!(ok(DumpFormat::PjsipContacts, &dump).len(), 100_000);
    }

    /// `cargo test --release -- --ignored --nocapture pjsip_timing` prints the figure.
    #[test]
    #[ignore]
    fn pjsip_timing_for_100k_contacts() {
        let rows: Vec<Registration> = (0..100_000)
            .map(|i| {
                row(
                    &format!("{}-TENANT{}", 100 + i % 900, i / 900),
                    &format!(
                        "sip:{}@10.{}.{}.{}:5060;ob",
                        i,
                        i / 65536,
                        (i / 256) % 256,
                        i % 256
                    ),
                    ContactStatus::Avail,
                )
            })
            .collect();
        let dump = render_pjsip_contacts(&rows);
        let started = std::time::Instant::now();
        let parsed = parse_dump(DumpFormat::PjsipContacts, &dump).map(|rows| rows.len());
        let elapsed = started.elapsed();
        println!(
            "parsed {parsed:?} contacts ({} bytes) in {elapsed:?}",
            dump.len()
        );
        assert_eq!(parsed, Ok(100_000));
    }

    // -----------------------------------------------------------------------------------------
    // sip show peers
    // -----------------------------------------------------------------------------------------

    // Asterisk 13-style output: Auto (No) flags, OK/LAGGED with times, an unregistered peer
    // `(Unspecified)`, a static trunk without `D`, a description with spaces, a name wider than
    // the column pushing the row right, an IPv6 host, a realtime `Cached RT` tail.
    const SIP_PEERS_DUMP: &str = "Name/username             Host                                    Dyn Forcerport Comedia    ACL Port     Status      Description                      
100-CANISTRACCI/100-CANISTRACCI 192.0.2.10                              D  Auto (No)  Auto (No)  A  5060     OK (12 ms)                                   
101-CANISTRACCI/101-CANISTRACCI (Unspecified)                           D  Auto (No)  Auto (No)  A  0        UNKNOWN                                      
2001-acme/2001-acme       198.51.100.7                             D  Yes        Yes           5062     LAGGED (2100 ms) front desk phone                 
2002-acme                 2001:db8::20                             D  No         No         A  5060     UNREACHABLE                                  
bob                       203.0.113.5                              D  Auto (Yes) Auto (Yes)    5060     Unmonitored                                  Cached RT
provider-trunk            203.0.113.200                               No         No            5060     OK (31 ms)  Carrier A                        
6 sip peers [Monitored: 2 online, 2 offline Unmonitored: 1 online, 1 offline]
";

    #[test]
    fn sip_peers_gives_registered_dynamic_peers_only() {
        let rows = ok(DumpFormat::SipPeers, SIP_PEERS_DUMP);
        assert_eq!(
            rows,
            vec![
                row("100-CANISTRACCI", "192.0.2.10:5060", ContactStatus::Ok),
                row("2001-acme", "198.51.100.7:5062", ContactStatus::Lagged),
                row(
                    "2002-acme",
                    "[2001:db8::20]:5060",
                    ContactStatus::Unreachable
                ),
                row("bob", "203.0.113.5:5060", ContactStatus::Unmonitored),
            ]
        );
        assert!(!rows[2].status.is_registered());
    }

    #[test]
    fn sip_peers_old_header_with_nat_column() {
        let old = "Name/username              Host            Dyn Nat ACL Port     Status    
100-OLD/100-OLD            192.0.2.10       D   N   A  5060     OK (5 ms)
101-OLD                    (Unspecified)    D   N      0        UNKNOWN
2 sip peers [Monitored: 1 online, 1 offline Unmonitored: 0 online, 0 offline]
";
        assert_eq!(
            ok(DumpFormat::SipPeers, old),
            vec![row("100-OLD", "192.0.2.10:5060", ContactStatus::Ok)]
        );
    }

    #[test]
    fn sip_peers_with_no_peers() {
        let empty = "Name/username             Host                                    Dyn Forcerport Comedia    ACL Port     Status      Description
0 sip peers [Monitored: 0 online, 0 offline Unmonitored: 0 online, 0 offline]
";
        assert_eq!(ok(DumpFormat::SipPeers, empty), vec![]);
    }

    #[test]
    fn sip_peers_footer_mismatch_and_missing_footer_are_truncation() {
        let mismatch = SIP_PEERS_DUMP.replace("6 sip peers", "9 sip peers");
        let error = error_of(DumpFormat::SipPeers, &mismatch);
        assert_eq!(error.line, 8);
        assert!(error.reason.contains("9 sip peers but 6 rows"), "{error}");

        let cut: String = SIP_PEERS_DUMP
            .lines()
            .take(4)
            .map(|line| format!("{line}\n"))
            .collect();
        let error = error_of(DumpFormat::SipPeers, &cut);
        assert_eq!(error.line, 4);
        assert!(error.reason.contains("cut off"), "{error}");
    }

    #[test]
    fn sip_peers_garbage_row_names_its_line() {
        let mut lines: Vec<&str> = SIP_PEERS_DUMP.lines().collect();
        lines.insert(3, "this is not a peer");
        let error = error_of(DumpFormat::SipPeers, &lines.join("\n"));
        assert_eq!(error.line, 4);
        assert!(error.reason.starts_with("expected a peer row"), "{error}");

        let no_time = SIP_PEERS_DUMP.replace("OK (12 ms)", "OK        ");
        let error = error_of(DumpFormat::SipPeers, &no_time);
        assert_eq!(error.line, 2);
        assert!(error.reason.contains("(N ms)"), "{error}");
    }

    #[test]
    fn sip_peers_needs_its_header() {
        let error = error_of(DumpFormat::SipPeers, PJSIP_DUMP);
        assert_eq!(error.line, 2);
        assert!(error.reason.contains("Name/username"), "{error}");
    }

    // -----------------------------------------------------------------------------------------
    // AMI PJSIPShowContacts
    // -----------------------------------------------------------------------------------------

    const AMI_DUMP: &str = "Response: Success\r
ActionID: 42\r
EventList: start\r
Message: A listing of Contacts follows, presented as ContactList events\r
\r
Event: ContactList\r
ActionID: 42\r
ObjectType: contact\r
ObjectName: 100-CANISTRACCI;@a1b2c3d4e5f60718\r
ViaAddr: 192.0.2.10\r
ViaPort: 5060\r
QualifyTimeout: 3.000000\r
CallId: 5c1f0e9a-21b7\r
RegServer: voip1\r
PruneOnBoot: no\r
Path: \r
Endpoint: 100-CANISTRACCI\r
AuthenticateQualify: no\r
Uri: sip:100-CANISTRACCI@192.0.2.10:5060;ob\r
QualifyFrequency: 60\r
UserAgent: Yealink SIP-T46S 66.85.0.5\r
ExpirationTime: 1732600000\r
OutboundProxy: \r
Status: Reachable\r
RoundtripUsec: 12345\r
\r
Event: ContactList\r
ObjectName: 2001-acme;@0f9e8d7c6b5a4938\r
Endpoint: \r
Uri: sip:2001-acme@[2001:db8::7]:5060\r
UserAgent: \r
Status: NonQualified\r
\r
Event: ContactStatusDetail\r
AOR: ignored-not-a-contact-list\r
\r
Event: ContactList\r
EndpointName: 300-ZETA\r
Uri: sip:300-ZETA@203.0.113.9:5062\r
UserAgent: Grandstream GXP2170: 1.0.11.3\r
Status: Unreachable\r
\r
Event: ContactListComplete\r
ActionID: 42\r
EventList: Complete\r
ListItems: 3\r
\r
";

    #[test]
    fn ami_contact_list_gives_endpoint_uri_agent_and_status() {
        let rows = ok(DumpFormat::AmiContacts, AMI_DUMP);
        assert_eq!(
            rows,
            vec![
                Registration {
                    endpoint: "100-CANISTRACCI".into(),
                    tenant: None,
                    contact: "sip:100-CANISTRACCI@192.0.2.10:5060;ob".into(),
                    user_agent: Some("Yealink SIP-T46S 66.85.0.5".into()),
                    status: ContactStatus::Reachable,
                },
                row(
                    "2001-acme",
                    "sip:2001-acme@[2001:db8::7]:5060",
                    ContactStatus::NonQual
                ),
                Registration {
                    endpoint: "300-ZETA".into(),
                    tenant: None,
                    contact: "sip:300-ZETA@203.0.113.9:5062".into(),
                    user_agent: Some("Grandstream GXP2170: 1.0.11.3".into()),
                    status: ContactStatus::Unreachable,
                },
            ]
        );
    }

    #[test]
    fn ami_list_items_mismatch_is_truncation() {
        let wrong = AMI_DUMP.replace("ListItems: 3", "ListItems: 4");
        let error = error_of(DumpFormat::AmiContacts, &wrong);
        assert_eq!(error.line, 46);
        assert!(error.reason.contains("ListItems: 4 but 3"), "{error}");
    }

    #[test]
    fn ami_started_list_without_complete_is_cut_off() {
        let cut: String = AMI_DUMP
            .lines()
            .take(30)
            .map(|l| format!("{l}\n"))
            .collect();
        let error = error_of(DumpFormat::AmiContacts, &cut);
        assert_eq!(error.line, 30);
        assert!(error.reason.contains("cut off"), "{error}");
    }

    #[test]
    fn ami_error_response_and_garbage_lines_are_refused() {
        let error = error_of(
            DumpFormat::AmiContacts,
            "Response: Error\nActionID: 1\nMessage: Permission denied\n\n",
        );
        assert_eq!(
            error.to_string(),
            "line 1: Asterisk answered with an error: Permission denied"
        );

        let mut lines: Vec<&str> = AMI_DUMP.lines().collect();
        lines.insert(12, "this line has no colon");
        let error = error_of(DumpFormat::AmiContacts, &lines.join("\n"));
        assert_eq!(error.line, 13);
        assert!(error.reason.contains("Key: Value"), "{error}");
    }

    #[test]
    fn ami_events_alone_and_empty_list() {
        let events = "Asterisk Call Manager/7.0.3\nEvent: ContactList\nObjectName: 100-X;@abc\nUri: sip:100-X@192.0.2.1\nStatus: Reachable\n";
        assert_eq!(
            ok(DumpFormat::AmiContacts, events),
            vec![row(
                "100-X",
                "sip:100-X@192.0.2.1",
                ContactStatus::Reachable
            )]
        );
        let empty = "Response: Success\nEventList: start\nMessage: A listing of Contacts follows\n\nEvent: ContactListComplete\nEventList: Complete\nListItems: 0\n\n";
        assert_eq!(ok(DumpFormat::AmiContacts, empty), vec![]);
    }

    #[test]
    fn ami_contact_without_uri_or_without_any_list_is_refused() {
        let error = error_of(
            DumpFormat::AmiContacts,
            "Event: ContactList\nEndpoint: 100-X\nStatus: Reachable\n",
        );
        assert_eq!(error.line, 1);
        assert!(error.reason.contains("Uri"), "{error}");

        let error = error_of(DumpFormat::AmiContacts, "Response: Success\nMessage: hi\n");
        assert!(error.reason.contains("PJSIPShowContacts"), "{error}");
    }

    // -----------------------------------------------------------------------------------------
    // CSV
    // -----------------------------------------------------------------------------------------

    #[test]
    fn csv_rows_with_explicit_tenant_and_default_status() {
        let body = "endpoint,tenant,contact,user_agent,status\r\n\
                    100-CANISTRACCI,,sip:100@192.0.2.10:5060,\"Yealink SIP-T46S, 66.85\",Avail\r\n\
                    frontdesk,ACME,sip:frontdesk@198.51.100.7,,\r\n\
                    bob,Zeta, 203.0.113.5:5060 ,Linphone,Unreachable\r\n";
        assert_eq!(
            ok(DumpFormat::Csv, body),
            vec![
                Registration {
                    endpoint: "100-CANISTRACCI".into(),
                    tenant: None,
                    contact: "sip:100@192.0.2.10:5060".into(),
                    user_agent: Some("Yealink SIP-T46S, 66.85".into()),
                    status: ContactStatus::Avail,
                },
                Registration {
                    endpoint: "frontdesk".into(),
                    tenant: Some("ACME".into()),
                    contact: "sip:frontdesk@198.51.100.7".into(),
                    user_agent: None,
                    status: ContactStatus::Avail,
                },
                Registration {
                    endpoint: "bob".into(),
                    tenant: Some("Zeta".into()),
                    contact: "203.0.113.5:5060".into(),
                    user_agent: Some("Linphone".into()),
                    status: ContactStatus::Unreachable,
                },
            ]
        );
    }

    #[test]
    fn csv_header_only_and_endpoint_only_column() {
        assert_eq!(ok(DumpFormat::Csv, "endpoint,contact\n"), vec![]);
        assert_eq!(
            ok(DumpFormat::Csv, "Endpoint\n100-A\n100-A\n101-A\n"),
            vec![
                row("100-A", "", ContactStatus::Avail),
                row("101-A", "", ContactStatus::Avail)
            ]
        );
    }

    #[test]
    fn csv_semicolon_export_is_read() {
        let rows = ok(
            DumpFormat::Csv,
            "endpoint;tenant;status\n100-A;ACME;NonQual\n",
        );
        assert_eq!(rows[0].tenant.as_deref(), Some("ACME"));
        assert_eq!(rows[0].status, ContactStatus::NonQual);
    }

    #[test]
    fn csv_unknown_columns_are_named() {
        let error = error_of(
            DumpFormat::Csv,
            "endpoint,server,Phone Model\n100-A,voip1,T46\n",
        );
        assert_eq!(error.line, 1);
        assert!(
            error
                .reason
                .contains("unknown columns `server`, `Phone Model`"),
            "{error}"
        );
    }

    #[test]
    fn csv_missing_endpoint_duplicate_column_ragged_row_empty_endpoint() {
        let error = error_of(DumpFormat::Csv, "tenant,contact\nACME,sip:a@b\n");
        assert!(error.reason.contains("`endpoint` column"), "{error}");

        let error = error_of(DumpFormat::Csv, "endpoint,Endpoint\na,b\n");
        assert!(error.reason.contains("appears twice"), "{error}");

        let error = error_of(DumpFormat::Csv, "endpoint,tenant\na,X\nb,Y,extra\nc,Z\n");
        assert_eq!(error.line, 3);
        assert!(error.reason.contains("expected 2 fields"), "{error}");

        let error = error_of(DumpFormat::Csv, "endpoint,tenant\na,X\n  ,Y\n");
        assert_eq!(error.to_string(), "line 3: the endpoint is empty");
    }

    // -----------------------------------------------------------------------------------------
    // JSON
    // -----------------------------------------------------------------------------------------

    #[test]
    fn json_array_and_envelope() {
        let array = r#"[
  {"endpoint": "100-CANISTRACCI", "contact": "sip:100@192.0.2.10", "status": "Reachable"},
  {"endpoint": "frontdesk", "tenant": "ACME", "userAgent": "Snom D785", "status": null}
]"#;
        let expected = vec![
            row(
                "100-CANISTRACCI",
                "sip:100@192.0.2.10",
                ContactStatus::Reachable,
            ),
            Registration {
                endpoint: "frontdesk".into(),
                tenant: Some("ACME".into()),
                contact: String::new(),
                user_agent: Some("Snom D785".into()),
                status: ContactStatus::Avail,
            },
        ];
        assert_eq!(ok(DumpFormat::Json, array), expected);
        let envelope = format!("{{\"registrations\": {array}}}");
        assert_eq!(ok(DumpFormat::Json, &envelope), expected);
        assert_eq!(ok(DumpFormat::Json, " [ ] "), vec![]);
    }

    #[test]
    fn json_errors_carry_the_line() {
        let unknown =
            "[\n  {\"endpoint\": \"a\"},\n  {\"endpoint\": \"b\", \"server\": \"voip1\"}\n]";
        let error = error_of(DumpFormat::Json, unknown);
        assert_eq!(error.line, 3);
        assert!(error.reason.contains("unknown field `server`"), "{error}");

        let empty_endpoint = "[\n  {\"endpoint\": \"a\"},\n  {\"endpoint\": \"  \"}\n]";
        let error = error_of(DumpFormat::Json, empty_endpoint);
        assert_eq!(error.line, 3);
        assert!(error.reason.contains("the endpoint is empty"), "{error}");

        let tricky = "{\"registrations\": [\n  {\"endpoint\": \"a\", \"user_agent\": \"{x} [y] \\\" {\"},\n\n  {\"endpoint\": \"\"}\n]}";
        let error = error_of(DumpFormat::Json, tricky);
        assert_eq!(error.to_string(), "line 4: the endpoint is empty");

        let syntax = "[\n  {\"endpoint\": \"a\"}\n  {\"endpoint\": \"b\"}\n]";
        assert_eq!(error_of(DumpFormat::Json, syntax).line, 3);

        let error = error_of(DumpFormat::Json, "\n\n\"just a string\"");
        assert_eq!(error.line, 3);
        assert!(error.reason.contains("JSON array"), "{error}");
    }

    #[test]
    fn control_characters_are_refused() {
        let error = error_of(DumpFormat::Json, "[{\"endpoint\": \"a\\u0007b\"}]");
        assert!(error.reason.contains("control character"), "{error}");
    }

    // -----------------------------------------------------------------------------------------
    // Formats, statuses, errors
    // -----------------------------------------------------------------------------------------

    #[test]
    fn format_names_round_trip() {
        for format in DumpFormat::ALL {
            assert_eq!(format.to_string().parse::<DumpFormat>(), Ok(format));
            let json = serde_json::to_string(&format).unwrap();
            assert_eq!(json, format!("\"{format}\""));
            assert_eq!(serde_json::from_str::<DumpFormat>(&json).unwrap(), format);
        }
        assert_eq!("SIP-Peers".parse::<DumpFormat>(), Ok(DumpFormat::SipPeers));
        let error = "xml".parse::<DumpFormat>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown dump format `xml`; expected one of pjsip-contacts, sip-peers, \
             ami-contacts, csv, json"
        );
    }

    #[test]
    fn content_types() {
        assert_eq!(
            DumpFormat::from_content_type("text/csv; charset=utf-8"),
            Some(DumpFormat::Csv)
        );
        assert_eq!(
            DumpFormat::from_content_type("Application/JSON"),
            Some(DumpFormat::Json)
        );
        assert_eq!(
            DumpFormat::from_content_type("application/problem+json"),
            Some(DumpFormat::Json)
        );
        assert_eq!(DumpFormat::from_content_type("text/plain"), None);
    }

    #[test]
    fn sniff_recognises_every_real_dump() {
        assert_eq!(
            DumpFormat::sniff(PJSIP_DUMP),
            Some(DumpFormat::PjsipContacts)
        );
        assert_eq!(
            DumpFormat::sniff("\nNo objects found.\n"),
            Some(DumpFormat::PjsipContacts)
        );
        assert_eq!(
            DumpFormat::sniff(SIP_PEERS_DUMP),
            Some(DumpFormat::SipPeers)
        );
        assert_eq!(DumpFormat::sniff(AMI_DUMP), Some(DumpFormat::AmiContacts));
        assert_eq!(
            DumpFormat::sniff("\u{feff}\"Endpoint\";\"Tenant\"\n"),
            Some(DumpFormat::Csv)
        );
        assert_eq!(
            DumpFormat::sniff("  {\"registrations\": []}"),
            Some(DumpFormat::Json)
        );
        assert_eq!(DumpFormat::sniff("hello world"), None);
        assert_eq!(DumpFormat::sniff(""), None);
    }

    #[test]
    fn statuses_keep_asterisks_words() {
        assert_eq!(ContactStatus::parse("NonQualified"), ContactStatus::NonQual);
        assert_eq!(
            ContactStatus::parse("UNREACHABLE"),
            ContactStatus::Unreachable
        );
        assert_eq!(
            ContactStatus::parse("Updated"),
            ContactStatus::Other("Updated".into())
        );
        assert_eq!(ContactStatus::Ok.to_string(), "OK");
        for (status, registered) in [
            (ContactStatus::Avail, true),
            (ContactStatus::NonQual, true),
            (ContactStatus::Unknown, true),
            (ContactStatus::Unmonitored, true),
            (ContactStatus::Lagged, true),
            (ContactStatus::Other("Updated".into()), true),
            (ContactStatus::Unavail, false),
            (ContactStatus::Unreachable, false),
            (ContactStatus::Removed, false),
        ] {
            assert_eq!(status.is_registered(), registered, "{status}");
        }
        let json = serde_json::to_string(&row("a", "b", ContactStatus::Lagged)).unwrap();
        assert_eq!(
            json,
            r#"{"endpoint":"a","tenant":null,"contact":"b","user_agent":null,"status":"Lagged"}"#
        );
        assert_eq!(
            serde_json::from_str::<ContactStatus>("\"Mystery\"").unwrap(),
            ContactStatus::Other("Mystery".into())
        );
    }

    #[test]
    fn parse_error_is_a_std_error_with_line_first() {
        let error: Box<dyn std::error::Error> = Box::new(ParseError::new(0, "boom"));
        assert_eq!(error.to_string(), "line 1: boom");
    }

    // -----------------------------------------------------------------------------------------
    // Tenant rule
    // -----------------------------------------------------------------------------------------

    #[test]
    fn default_rule_reads_mirta_names() {
        let matcher = TenantMatcher::new(TenantMatcher::default_rule()).unwrap();
        assert_eq!(
            matcher.tenant_of("100-CANISTRACCI").as_deref(),
            Some("CANISTRACCI")
        );
        assert_eq!(matcher.tenant_of("2001-acme").as_deref(), Some("acme"));
        assert_eq!(matcher.tenant_of("bob"), None);
        assert_eq!(matcher.tenant_of("12-3-ACME2").as_deref(), Some("ACME2"));
        assert_eq!(matcher.tenant_of("trunk-2"), None);
        assert_eq!(matcher.tenant_of("-ACME"), None);
        assert_eq!(matcher.pattern(), TenantMatcher::default().pattern());
    }

    #[test]
    fn custom_rule_and_bad_rules() {
        let matcher = TenantMatcher::new(r"^(?P<tenant>[a-z]+)\.\d+$").unwrap();
        assert_eq!(matcher.tenant_of("acme.100").as_deref(), Some("acme"));
        assert_eq!(matcher.tenant_of("100-ACME"), None);

        let optional = TenantMatcher::new(r"^\d+(?:-(?P<tenant>\w*))?$").unwrap();
        assert_eq!(
            optional.tenant_of("100-"),
            None,
            "an empty group is no tenant"
        );

        let error = TenantMatcher::new(r"^.+-([A-Z]+)$").unwrap_err();
        assert!(error.contains("named group `tenant`"), "{error}");
        let error = TenantMatcher::new(r"^(?P<tenant>[A-Z+$").unwrap_err();
        assert!(error.contains("not a valid regular expression"), "{error}");
        let error = TenantMatcher::new(r"(?P<tenant>\w{1000}){1000}").unwrap_err();
        assert!(error.contains("too large"), "{error}");
    }

    #[test]
    fn tenant_codes_compare_without_case() {
        assert_eq!(
            normalise_tenant_code("CANISTRACCI"),
            normalise_tenant_code(" canistracci ")
        );
        assert_ne!(
            normalise_tenant_code("ACME"),
            normalise_tenant_code("ACME2")
        );

        let matcher = TenantMatcher::default();
        let mut reg = row("100-CANISTRACCI", "", ContactStatus::Avail);
        assert_eq!(reg.tenant_code(&matcher).as_deref(), Some("CANISTRACCI"));
        reg.tenant = Some("Other".into());
        assert_eq!(reg.tenant_code(&matcher).as_deref(), Some("Other"));
    }

    // -----------------------------------------------------------------------------------------
    // Properties
    // -----------------------------------------------------------------------------------------

    fn endpoint_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{2,5}-[A-Za-z][A-Za-z0-9]{0,14}",
            "[a-z][a-z0-9_.-]{0,55}",
        ]
    }

    fn contact_strategy() -> impl Strategy<Value = String> {
        let ipv4 = (1u8..=254, 0u8..=255, 0u8..=255, 1u8..=254)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}"));
        let ipv6 =
            (0u16..=0xffff, 0u16..=0xffff).prop_map(|(a, b)| format!("[2001:db8::{a:x}:{b:x}]"));
        (
            "[a-z0-9-]{1,20}",
            prop_oneof![ipv4, ipv6],
            1024u16..=65535,
            prop_oneof![Just(""), Just(";ob"), Just(";transport=tcp")],
            prop_oneof![Just("sip"), Just("sips")],
        )
            .prop_map(|(user, host, port, params, scheme)| {
                format!("{scheme}:{user}@{host}:{port}{params}")
            })
    }

    fn pjsip_status_strategy() -> impl Strategy<Value = ContactStatus> {
        prop_oneof![
            Just(ContactStatus::Avail),
            Just(ContactStatus::Unavail),
            Just(ContactStatus::NonQual),
            Just(ContactStatus::Unknown),
            Just(ContactStatus::Created),
            Just(ContactStatus::Removed),
        ]
    }

    fn real_dump_strategy() -> impl Strategy<Value = (DumpFormat, String)> {
        let csv = "endpoint,tenant,contact,user_agent,status\n100-A,ACME,sip:a@b,\"UA, 1\",Avail\n";
        let json = "{\"registrations\": [{\"endpoint\": \"100-A\", \"status\": \"Avail\"}]}";
        prop_oneof![
            Just((DumpFormat::PjsipContacts, PJSIP_DUMP.to_string())),
            Just((DumpFormat::SipPeers, SIP_PEERS_DUMP.to_string())),
            Just((DumpFormat::AmiContacts, AMI_DUMP.to_string())),
            Just((DumpFormat::Csv, csv.to_string())),
            Just((DumpFormat::Json, json.to_string())),
        ]
    }

    proptest! {
        #[test]
        fn parse_dump_never_panics_on_arbitrary_text(body in any::<String>()) {
            for format in DumpFormat::ALL {
                if let Err(error) = parse_dump(format, &body) {
                    prop_assert!(error.line >= 1);
                    prop_assert!(error.line <= body.lines().count().max(1));
                }
            }
            let _ = DumpFormat::sniff(&body);
        }

        #[test]
        fn parse_dump_never_panics_on_damaged_real_dumps(
            (format, dump) in real_dump_strategy(),
            cut in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            noise in "[ -~\u{80}-\u{10ffff}\t\r\n]{0,12}",
        ) {
            let chars: Vec<char> = dump.chars().collect();
            let at = at.index(chars.len() + 1);
            let damaged: String = chars[..at].iter().copied()
                .chain(noise.chars())
                .chain(chars[at..].iter().copied())
                .collect();
            let cut_at = cut.index(chars.len() + 1);
            let truncated: String = chars[..cut_at].iter().collect();
            for body in [damaged, truncated] {
                for other in DumpFormat::ALL {
                    let _ = parse_dump(other, &body);
                }
                let _ = parse_dump(format, &body);
            }
        }

        #[test]
        fn pjsip_render_then_parse_returns_the_contacts(
            contacts in prop::collection::vec(
                (endpoint_strategy(), contact_strategy(), pjsip_status_strategy()),
                0..40,
            )
        ) {
            let registrations: Vec<Registration> = contacts
                .into_iter()
                .map(|(endpoint, contact, status)| row(&endpoint, &contact, status))
                .collect();
            let dump = if registrations.is_empty() {
                format!("\n{PJSIP_EMPTY}\n\n")
            } else {
                render_pjsip_contacts(&registrations)
            };
            let mut seen = HashSet::new();
            let expected: Vec<Registration> = registrations
                .iter()
                .map(|reg| Registration {
                    contact: shown_uri(&reg.endpoint, &reg.contact),
                    ..reg.clone()
                })
                .filter(|reg| seen.insert((reg.endpoint.clone(), reg.contact.clone())))
                .collect();
            prop_assert_eq!(parse_dump(DumpFormat::PjsipContacts, &dump), Ok(expected));
        }

        #[test]
        fn json_and_csv_export_parse_back(
            contacts in prop::collection::vec(
                (
                    endpoint_strategy(),
                    prop::option::of("[A-Za-z]{1,10}"),
                    contact_strategy(),
                    prop::option::of("[A-Za-z][A-Za-z0-9 ,./:;\"-]{0,30}[A-Za-z0-9]"),
                    pjsip_status_strategy(),
                ),
                0..20,
            )
        ) {
            let registrations: Vec<Registration> = contacts
                .into_iter()
                .map(|(endpoint, tenant, contact, user_agent, status)| Registration {
                    endpoint, tenant, contact, user_agent, status,
                })
                .collect();
            let mut seen = HashSet::new();
            let expected: Vec<Registration> = registrations
                .iter()
                .filter(|reg| seen.insert((reg.endpoint.clone(), reg.contact.clone())))
                .cloned()
                .collect();

            let json = serde_json::to_string_pretty(&registrations).unwrap();
            prop_assert_eq!(parse_dump(DumpFormat::Json, &json), Ok(expected.clone()));

            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(["endpoint", "tenant", "contact", "user_agent", "status"]).unwrap();
            for reg in &registrations {
                writer.write_record([
                    reg.endpoint.as_str(),
                    reg.tenant.as_deref().unwrap_or(""),
                    reg.contact.as_str(),
                    reg.user_agent.as_deref().unwrap_or(""),
                    reg.status.as_str(),
                ]).unwrap();
            }
            let csv = String::from_utf8(writer.into_inner().unwrap()).unwrap();
            prop_assert_eq!(parse_dump(DumpFormat::Csv, &csv), Ok(expected));
        }
    }
}
