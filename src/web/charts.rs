//! Charts on pages (issue 18): the `range` query parameter (6h, 24h, 7d, 14d), the links that
//! switch it (plain links, no script) and the panel the `partials/chart.html` template draws.

use serde::Deserialize;

use super::{Error, Result};
use crate::domain::FieldErrors;
use crate::domain::chart::Range;

/// `?range=`: empty or absent is the default (24 h).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RangeParam {
    #[serde(default)]
    pub range: String,
}

impl RangeParam {
    pub fn range(&self) -> Result<Range> {
        range_of(&self.range)
    }
}

pub fn range_of(s: &str) -> Result<Range> {
    match s.trim() {
        "" => Ok(Range::default()),
        s => s
            .parse()
            .map_err(|e: String| Error::Invalid(FieldErrors::single("range", e))),
    }
}

/// The `range` of a raw query string (pages that read other parameters from it too).
pub fn range_in(query: Option<&str>) -> Result<Range> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| Error::BadRequest("the query string could not be read".into()))?;
    match pairs.iter().rev().find(|(k, _)| k == "range") {
        Some((_, v)) => range_of(v),
        None => Ok(Range::default()),
    }
}

pub struct RangeLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// A chart with its heading and range switch; `id` is the panel's anchor.
pub struct ChartPanel {
    pub id: &'static str,
    pub heading: String,
    pub svg: String,
    pub links: Vec<RangeLink>,
}

impl ChartPanel {
    pub fn new(id: &'static str, heading: impl Into<String>, svg: String, range: Range) -> Self {
        Self {
            id,
            heading: heading.into(),
            svg,
            links: Range::ALL
                .into_iter()
                .map(|r| RangeLink {
                    label: r.label(),
                    href: format!("?range={}#{id}", r.as_str()),
                    current: r == range,
                })
                .collect(),
        }
    }

    /// A chart over a fixed window (a move's), with no range switch.
    pub fn fixed(id: &'static str, heading: impl Into<String>, svg: String) -> Self {
        Self {
            id,
            heading: heading.into(),
            svg,
            links: Vec::new(),
        }
    }
}
