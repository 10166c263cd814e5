//! JSON rows (an array, or `{"registrations": [...]}`), written by a script or exported by
//! pbx-pools itself.

use serde::Deserialize;

use super::{ParseError, Registration, explicit_row};

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
pub(super) fn parse_json(body: &str) -> Result<Vec<Registration>, ParseError> {
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
                || json_row_line(body, row_depth, index),
            )
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
