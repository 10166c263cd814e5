//! What an audited change changed: the fields whose values differ between the before and after
//! snapshots (JSON documents), for the audit log to show as "field: before → after".

use serde_json::Value;

/// One changed field. `before`/`after` are `None` when the field is absent on that side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// Dotted path for nested objects (`thresholds.warn`); `value` for a document that is not
    /// an object.
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The fields that differ, in key order (then the fields only the before document has).
/// Nested objects are compared field by field; arrays and scalars as a whole. A snapshot that
/// is missing or not JSON counts as empty (not JSON: compared as one text `value`).
pub fn changed_fields(before: Option<&str>, after: Option<&str>) -> Vec<FieldChange> {
    let read = |s: Option<&str>| {
        s.map(|t| serde_json::from_str::<Value>(t).unwrap_or_else(|_| Value::String(t.into())))
    };
    let mut out = Vec::new();
    diff("", read(before).as_ref(), read(after).as_ref(), &mut out);
    out
}

fn shown(v: &Value) -> String {
    match v {
        // An empty text is shown as "" rather than as nothing.
        Value::String(s) if s.is_empty() => "\"\"".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn diff(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<FieldChange>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            for (k, av) in a {
                diff(&join(k), b.get(k), Some(av), out);
            }
            for (k, bv) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                diff(&join(k), Some(bv), None, out);
            }
        }
        // A document created or removed whole: each of its fields appears or disappears.
        (None, Some(Value::Object(a))) => {
            for (k, av) in a {
                diff(&join(k), None, Some(av), out);
            }
        }
        (Some(Value::Object(b)), None) => {
            for (k, bv) in b {
                diff(&join(k), Some(bv), None, out);
            }
        }
        (b, a) if b != a => out.push(FieldChange {
            field: if path.is_empty() {
                "value".into()
            } else {
                path.into()
            },
            before: b.map(shown),
            after: a.map(shown),
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(field: &str, before: Option<&str>, after: Option<&str>) -> FieldChange {
        FieldChange {
            field: field.into(),
            before: before.map(String::from),
            after: after.map(String::from),
        }
    }

    #[test]
    fn only_changed_fields_are_listed() {
        let before = r#"{"name":"voip1","capacity":1000,"limits":{"warn":80,"crit":95},"tags":["a"],"gone":true}"#;
        let after =
            r#"{"name":"voip1","capacity":1200,"limits":{"warn":85,"crit":95},"tags":["a","b"]}"#;
        assert_eq!(
            changed_fields(Some(before), Some(after)),
            vec![
                change("capacity", Some("1000"), Some("1200")),
                change("limits.warn", Some("80"), Some("85")),
                change("tags", Some(r#"["a"]"#), Some(r#"["a","b"]"#)),
                change("gone", Some("true"), None),
            ]
        );
    }

    #[test]
    fn created_and_removed_documents_list_their_fields() {
        assert_eq!(
            changed_fields(None, Some(r#"{"name":"pbxA"}"#)),
            vec![change("name", None, Some("pbxA"))]
        );
        assert_eq!(
            changed_fields(Some(r#"{"name":"pbxA"}"#), None),
            vec![change("name", Some("pbxA"), None)]
        );
        assert_eq!(changed_fields(None, None), vec![]);
        assert_eq!(
            changed_fields(Some("not json"), Some("7")),
            vec![change("value", Some("not json"), Some("7"))]
        );
        assert!(changed_fields(Some(r#"{"a":1}"#), Some(r#"{"a":1}"#)).is_empty());
    }
}
