//! `pjsip show contacts` (chan_pjsip), as `asterisk -rx` prints it.

use super::{
    ContactStatus, ParseError, Registration, asterisk_refusal, check_row_text, excerpt,
    is_cli_echo, is_rule, numbered_lines,
};

pub(super) const PJSIP_EMPTY: &str = "No objects found.";

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
pub(super) fn parse_pjsip_contacts(body: &str) -> Result<Vec<Registration>, ParseError> {
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
    let row = Registration {
        endpoint: aor.to_string(),
        tenant: None,
        contact: uri.to_string(),
        user_agent: None,
        status,
    };
    check_row_text(row, |_| number)
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
