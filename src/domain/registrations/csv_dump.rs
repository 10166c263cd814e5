//! CSV rows with a header, written by a script or a spreadsheet.

use super::{ParseError, Registration, explicit_row};

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
pub(super) fn parse_csv(body: &str) -> Result<Vec<Registration>, ParseError> {
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
            || line,
        )?;
        rows.push(row);
    }
    Ok(rows)
}
