//! Import, first half: reading BIND zone text (or pasted SRV lines) into SIP SRV records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::names::{MAX_LABEL_LEN, MAX_NAME_LEN, normalise_fqdn};

use super::{Transport, ZoneError, ZoneRecord, check_ttl, shown};

// ---------------------------------------------------------------------------------------------
// Import: reading zone text
// ---------------------------------------------------------------------------------------------

/// What [`parse_zone_file`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedZone {
    /// The `_sip._udp`, `_sip._tcp` and `_sips._tcp` SRV records, in file order.
    pub records: Vec<ZoneRecord>,
    /// Records that were not imported, counted by kind: `A`, `SOA`, `SRV _xmpp._tcp`,
    /// `$GENERATE`, ...
    pub skipped: BTreeMap<String, usize>,
}

impl ParsedZone {
    pub fn skipped_count(&self) -> usize {
        self.skipped.values().sum()
    }
}

/// The SIP SRV records of a BIND zone file or of pasted SRV lines (e.g. `dig` output). Other
/// record types and other services are ignored; [`parse_zone_file`] says how many.
///
/// `origin` is the zone's name, used for relative names until a `$ORIGIN` line changes it.
/// The first malformed SIP SRV record, directive or unbalanced `(`/`"` stops the import with
/// its line number: nothing is half-imported.
pub fn parse_zone(text: &str, origin: Option<&str>) -> Result<Vec<ZoneRecord>, ZoneError> {
    Ok(parse_zone_file(text, origin)?.records)
}

/// [`parse_zone`], also reporting what was skipped.
pub fn parse_zone_file(text: &str, origin: Option<&str>) -> Result<ParsedZone, ZoneError> {
    let origin = origin
        .map(|o| {
            check_origin(o).map_err(|e| ZoneError::new(format!("zone origin {} {e}", shown(o))))
        })
        .transpose()?;
    let mut reader = ZoneReader {
        origin,
        default_ttl: None,
        last_ttl: None,
        last_owner: None,
        parsed: ParsedZone::default(),
    };
    for entry in tokenize(text)? {
        reader.entry(&entry)?;
    }
    Ok(reader.parsed)
}

#[derive(Debug)]
struct Token {
    text: String,
    quoted: bool,
}

/// One logical entry of a master file: a line, or several joined by parentheses.
#[derive(Debug)]
struct Entry {
    line: usize,
    /// RFC 1035 §5.1: an entry that starts in column 0 names its owner; one that starts with
    /// a blank belongs to the previous owner.
    owner_given: bool,
    tokens: Vec<Token>,
}

/// Splits zone text into entries, following RFC 1035 §5.1: `;` comments, `( )` continuation,
/// `"` quoted strings (which may hold `;`, parentheses and newlines), `\` escapes kept as
/// written (a name with one is refused later, an LDH name never needs one).
fn tokenize(text: &str) -> Result<Vec<Entry>, ZoneError> {
    let mut entries = Vec::new();
    let mut current: Option<Entry> = None;
    let mut word = String::new();
    let mut line = 1;
    let mut at_line_start = true;
    let mut depth = 0usize;
    let mut open_line = 0;
    let mut chars = text.chars().peekable();

    fn flush(word: &mut String, current: &mut Option<Entry>) {
        if !word.is_empty()
            && let Some(entry) = current.as_mut()
        {
            entry.tokens.push(Token {
                text: std::mem::take(word),
                quoted: false,
            });
        }
    }
    let start = |current: &mut Option<Entry>, line: usize, at_line_start: bool| {
        if current.is_none() {
            *current = Some(Entry {
                line,
                owner_given: at_line_start,
                tokens: Vec::new(),
            });
        }
    };

    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                flush(&mut word, &mut current);
                if depth == 0
                    && let Some(entry) = current.take()
                    && !entry.tokens.is_empty()
                {
                    entries.push(entry);
                }
                line += 1;
                at_line_start = true;
                continue;
            }
            ';' => {
                flush(&mut word, &mut current);
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            '"' => {
                flush(&mut word, &mut current);
                start(&mut current, line, at_line_start);
                let quote_line = line;
                let mut quoted = String::new();
                let mut closed = false;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            quoted.push(q);
                            if let Some(escaped) = chars.next() {
                                if escaped == '\n' {
                                    line += 1;
                                }
                                quoted.push(escaped);
                            }
                        }
                        '\n' => {
                            line += 1;
                            quoted.push(q);
                        }
                        _ => quoted.push(q),
                    }
                }
                if !closed {
                    return Err(ZoneError::at(quote_line, "a quoted string is never closed"));
                }
                if let Some(entry) = current.as_mut() {
                    entry.tokens.push(Token {
                        text: quoted,
                        quoted: true,
                    });
                }
            }
            '(' => {
                flush(&mut word, &mut current);
                start(&mut current, line, at_line_start);
                if depth == 0 {
                    open_line = line;
                }
                depth += 1;
            }
            ')' => {
                flush(&mut word, &mut current);
                if depth == 0 {
                    return Err(ZoneError::at(line, "')' without a matching '('"));
                }
                depth -= 1;
            }
            ' ' | '\t' | '\r' => flush(&mut word, &mut current),
            '\\' => {
                start(&mut current, line, at_line_start);
                word.push(c);
                if let Some(escaped) = chars.next() {
                    if escaped == '\n' {
                        line += 1;
                    }
                    word.push(escaped);
                }
            }
            _ => {
                start(&mut current, line, at_line_start);
                word.push(c);
            }
        }
        at_line_start = false;
    }
    flush(&mut word, &mut current);
    if depth > 0 {
        return Err(ZoneError::at(open_line, "'(' is never closed"));
    }
    if let Some(entry) = current
        && !entry.tokens.is_empty()
    {
        entries.push(entry);
    }
    Ok(entries)
}

/// A name as it may appear in `$ORIGIN` or as a zone origin: labels of letters, digits, `-`
/// and `_` (an origin such as `_udp.example.com` is legal), lower-cased, no trailing dot;
/// `.` alone is the root, the empty string.
fn check_origin(value: &str) -> Result<String, String> {
    if value == "." {
        return Ok(String::new());
    }
    let name = value.strip_suffix('.').unwrap_or(value);
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("is longer than {MAX_NAME_LEN} characters"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("has an empty label".into());
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(format!(
                "has a label longer than {MAX_LABEL_LEN} characters"
            ));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("may only contain letters, digits, '-', '_' and dots".into());
        }
    }
    Ok(name.to_ascii_lowercase())
}

/// BIND's TTL syntax: seconds, or numbers with units s, m, h, d, w (`1h30m`). `None` when it is
/// not one or does not fit in 32 bits.
pub(super) fn parse_ttl(text: &str) -> Option<u32> {
    if text.is_empty() || !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            let n = number.unwrap_or(0) * 10 + u64::from(digit);
            if n > u64::from(u32::MAX) {
                return None;
            }
            number = Some(n);
        } else {
            let unit = match c.to_ascii_lowercase() {
                's' => 1,
                'm' => 60,
                'h' => 3_600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return None,
            };
            total += number.take()? * unit;
        }
        if total > u64::from(u32::MAX) {
            return None;
        }
    }
    total += number.unwrap_or(0);
    u32::try_from(total).ok()
}

pub(super) fn parse_decimal(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn is_class(token: &str) -> bool {
    let upper = token.to_ascii_uppercase();
    matches!(upper.as_str(), "IN" | "CH" | "CS" | "HS" | "NONE" | "ANY")
        || upper
            .strip_prefix("CLASS")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// A short, safe label for the `skipped` counts: record types are letters and digits.
fn kind_label(kind: &str) -> String {
    if !kind.is_empty() && kind.len() <= 16 && kind.chars().all(|c| c.is_ascii_alphanumeric()) {
        kind.to_ascii_uppercase()
    } else {
        "other".to_string()
    }
}

struct ZoneReader {
    /// `Some("")` is the root.
    origin: Option<String>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    /// The owner of the previous record, as written and as resolved (or why it could not be).
    last_owner: Option<(String, Result<String, String>)>,
    parsed: ParsedZone,
}

impl ZoneReader {
    fn skip(&mut self, kind: String) {
        *self.parsed.skipped.entry(kind).or_insert(0) += 1;
    }

    /// Turns a name token into an absolute, lower-case name without trailing dot.
    fn resolve(&self, token: &Token) -> Result<String, String> {
        if token.quoted {
            return Err("is quoted; names are written without quotes".into());
        }
        let text = token.text.as_str();
        if text == "@" {
            return self.origin.clone().ok_or_else(|| {
                "@ stands for the origin, but no $ORIGIN or zone origin is set".into()
            });
        }
        if text == "." {
            return Ok(String::new());
        }
        let name = if let Some(absolute) = text.strip_suffix('.') {
            absolute.to_string()
        } else {
            match self.origin.as_deref() {
                None => {
                    return Err(
                        "is relative, but no $ORIGIN or zone origin is set: end it with a dot or give the zone origin"
                            .into(),
                    );
                }
                Some("") => text.to_string(),
                Some(origin) => format!("{text}.{origin}"),
            }
        };
        Ok(name.to_ascii_lowercase())
    }

    fn entry(&mut self, entry: &Entry) -> Result<(), ZoneError> {
        let line = entry.line;
        let mut tokens = entry.tokens.iter();
        let mut owner_token = None;
        if entry.owner_given {
            let Some(first) = tokens.next() else {
                return Ok(());
            };
            if !first.quoted && first.text.starts_with('$') {
                return self.directive(line, first, tokens.as_slice());
            }
            owner_token = Some(first);
            self.last_owner = Some((first.text.clone(), self.resolve(first)));
        }

        let mut ttl = None;
        let mut class = None;
        let mut kind = None;
        for token in tokens.by_ref() {
            if token.quoted {
                return Err(ZoneError::at(
                    line,
                    format!(
                        "expected a TTL, class or record type, found the quoted {}",
                        shown(&token.text)
                    ),
                ));
            }
            if token.text.starts_with(|c: char| c.is_ascii_digit()) {
                if ttl.is_some() {
                    return Err(ZoneError::at(
                        line,
                        format!(
                            "a second TTL {} where the record type belongs",
                            shown(&token.text)
                        ),
                    ));
                }
                ttl = Some(parse_ttl(&token.text).ok_or_else(|| {
                    ZoneError::at(
                        line,
                        format!("TTL {} is not a number of seconds", shown(&token.text)),
                    )
                })?);
            } else if is_class(&token.text) && class.is_none() {
                class = Some(token.text.to_ascii_uppercase());
            } else {
                kind = Some(token.text.to_ascii_uppercase());
                break;
            }
        }
        let rdata = tokens.as_slice();
        // RFC 1035 §5.1: an omitted TTL is the last one stated; BIND's $TTL takes precedence.
        if let Some(ttl) = ttl {
            self.last_ttl = Some(ttl);
        }
        let ttl = ttl.or(self.default_ttl).or(self.last_ttl);
        let Some(kind) = kind else {
            return Err(ZoneError::at(line, "the record has no type"));
        };
        if kind == "TYPE33" {
            return Err(ZoneError::at(
                line,
                "SRV written as TYPE33 (RFC 3597) is not supported: write it as SRV",
            ));
        }
        if kind != "SRV" {
            self.skip(kind_label(&kind));
            return Ok(());
        }
        if class.as_deref().is_some_and(|c| c != "IN") {
            self.skip(format!(
                "SRV class {}",
                kind_label(class.as_deref().unwrap_or(""))
            ));
            return Ok(());
        }
        if let Some(owner) = owner_token
            && owner.text.chars().all(|c| c.is_ascii_digit())
        {
            return Err(ZoneError::at(
                line,
                format!(
                    "the line starts with {}, which a zone file reads as the owner name; start SRV lines with their owner, e.g. _sip._udp.pbxa.example.com.",
                    owner.text
                ),
            ));
        }
        let record = self.srv(line, ttl, rdata)?;
        if let Some(record) = record {
            self.parsed.records.push(record);
        }
        Ok(())
    }

    fn directive(&mut self, line: usize, name: &Token, args: &[Token]) -> Result<(), ZoneError> {
        let directive = name.text.to_ascii_uppercase();
        let single_arg = || match args {
            [arg] if !arg.quoted => Ok(arg),
            _ => Err(ZoneError::at(
                line,
                format!("{directive} takes exactly one value"),
            )),
        };
        match directive.as_str() {
            "$ORIGIN" => {
                let arg = single_arg()?;
                let name = self
                    .resolve(arg)
                    .and_then(|n| {
                        if n.is_empty() {
                            Ok(n)
                        } else {
                            check_origin(&n)
                        }
                    })
                    .map_err(|e| {
                        ZoneError::at(line, format!("$ORIGIN {} {e}", shown(&arg.text)))
                    })?;
                self.origin = Some(name);
            }
            "$TTL" => {
                let arg = single_arg()?;
                self.default_ttl = Some(parse_ttl(&arg.text).ok_or_else(|| {
                    ZoneError::at(
                        line,
                        format!("$TTL {} is not a number of seconds", shown(&arg.text)),
                    )
                })?);
            }
            "$INCLUDE" => {
                // Following it would read a file from the server's own disk.
                return Err(ZoneError::at(
                    line,
                    "$INCLUDE is not followed: paste the included file's records in its place",
                ));
            }
            "$GENERATE" => {
                if args.iter().any(|a| a.text.eq_ignore_ascii_case("SRV")) {
                    return Err(ZoneError::at(
                        line,
                        "$GENERATE of SRV records is not supported: write the records out",
                    ));
                }
                self.skip("$GENERATE".into());
            }
            _ => {
                return Err(ZoneError::at(
                    line,
                    format!("unknown directive {}", shown(&name.text)),
                ));
            }
        }
        Ok(())
    }

    /// An SRV record's owner and RDATA; `None` when it is a service other than SIP.
    fn srv(
        &mut self,
        line: usize,
        ttl: Option<u32>,
        rdata: &[Token],
    ) -> Result<Option<ZoneRecord>, ZoneError> {
        let err = |reason: String| ZoneError::at(line, reason);
        let (written, owner) = self.last_owner.clone().ok_or_else(|| {
            err("the SRV record has no owner name on its line or before it".into())
        })?;
        let owner = owner.map_err(|e| err(format!("owner {} {e}", shown(&written))))?;
        let Some((transport, pool_owner)) = Transport::split_owner(&owner) else {
            let service: Vec<&str> = owner.split('.').take(2).collect();
            let service = service.join(".");
            let kind = if service.starts_with('_')
                && service
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                && service.len() <= 40
            {
                format!("SRV {service}")
            } else {
                "SRV other".to_string()
            };
            self.skip(kind);
            return Ok(None);
        };
        let pool_owner = normalise_fqdn(pool_owner).map_err(|e| {
            err(format!(
                "owner {}: the name after {} {e}",
                shown(&written),
                transport.service_prefix()
            ))
        })?;
        let owner = format!("{}.{pool_owner}", transport.service_prefix());
        if owner.len() > MAX_NAME_LEN {
            return Err(err(format!(
                "owner {} is longer than {MAX_NAME_LEN} characters",
                shown(&written)
            )));
        }
        let ttl = ttl.ok_or_else(|| {
            err("the SRV record has no TTL: give one on the line or set $TTL".into())
        })?;
        let ttl = check_ttl(ttl).map_err(err)?;
        let [priority, weight, port, target] = rdata else {
            return Err(err(format!(
                "an SRV record needs priority, weight, port and target; found {} value{}",
                rdata.len(),
                if rdata.len() == 1 { "" } else { "s" }
            )));
        };
        let field = |token: &Token, what: &str, min: u32| -> Result<u16, ZoneError> {
            parse_decimal(&token.text)
                .filter(|n| !token.quoted && (min..=65_535).contains(n))
                .and_then(|n| u16::try_from(n).ok())
                .ok_or_else(|| {
                    err(format!(
                        "{what} {} is not a number from {min} to 65535",
                        shown(&token.text)
                    ))
                })
        };
        let priority = field(priority, "priority", 0)?;
        let weight = field(weight, "weight", 0)?;
        let port = field(port, "port", 1)?;
        let target_name = self
            .resolve(target)
            .map_err(|e| err(format!("target {} {e}", shown(&target.text))))?;
        if target_name.is_empty() {
            return Err(err(
                "target \".\" says the service is decidedly not available (RFC 2782); there is no server to import"
                    .into(),
            ));
        }
        let target = normalise_fqdn(&target_name)
            .map_err(|e| err(format!("target {} {e}", shown(&target.text))))?;
        Ok(Some(ZoneRecord {
            owner,
            ttl,
            priority,
            weight,
            port,
            target,
        }))
    }
}
