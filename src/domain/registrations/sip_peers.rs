//! `sip show peers` (chan_sip), as `asterisk -rx` prints it.

use super::{
    ContactStatus, ParseError, Registration, asterisk_refusal, check_row_text, excerpt,
    is_cli_echo, numbered_lines,
};

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
pub(super) fn parse_sip_peers(body: &str) -> Result<Vec<Registration>, ParseError> {
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
    let row = Registration {
        endpoint: endpoint.to_string(),
        tenant: None,
        contact,
        user_agent: None,
        status,
    };
    check_row_text(row, |_| number).map(Some)
}
