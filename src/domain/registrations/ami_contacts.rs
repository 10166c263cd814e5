//! The text of the AMI `PJSIPShowContacts` response.

use super::{ContactStatus, ParseError, Registration, check_row_text, excerpt, numbered_lines};

pub(super) const AMI_BANNER: &str = "Asterisk Call Manager/";

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
pub(super) fn parse_ami_contacts(body: &str) -> Result<Vec<Registration>, ParseError> {
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
        // `aor ;@hash` would leave a space on the AoR (found by fuzzing: the endpoint then
        // matched no tenant and did not survive a JSON round trip).
        .map(|id| id.split(";@").next().unwrap_or(id).trim())
        .filter(|aor| !aor.is_empty());
    let endpoint_key = ["EndpointName", "Endpoint", "Aor"]
        .into_iter()
        .find(|key| block.get(key).is_some_and(|value| !value.is_empty()));
    let endpoint = endpoint_key
        .and_then(|key| block.get(key))
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
    let user_agent = block
        .get("UserAgent")
        .filter(|value| !value.is_empty())
        .map(str::to_string);
    let status = block
        .get("Status")
        .filter(|value| !value.is_empty())
        .map_or(ContactStatus::Unknown, ContactStatus::parse);
    let row = Registration {
        endpoint: endpoint.to_string(),
        tenant: None,
        contact: contact.to_string(),
        user_agent,
        status,
    };
    // Each field is on its own line of the block: name that line.
    check_row_text(row, |field| match field {
        "endpoint" => block.line_of(endpoint_key.unwrap_or("ObjectName")),
        "contact" => block.line_of("Uri"),
        "user agent" => block.line_of("UserAgent"),
        "status" => block.line_of("Status"),
        _ => line,
    })
}
