//! Tests of the registration dump parsers. Shared helpers and the sample pjsip dump live here;
//! the tests are grouped like the parsers.

mod ami_contacts;
mod control_chars;
mod csv_dump;
mod formats;
mod json_dump;
mod pjsip_contacts;
mod properties;
mod sip_peers;
mod tenant_rule;

use super::*;

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
