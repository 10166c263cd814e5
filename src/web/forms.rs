//! Small helpers shared by the page handlers: form re-rendering decisions and pagination links.

use askama::Template;

use super::PageCtx;
use crate::domain::FieldErrors;
use crate::domain::model::{PoolInput, ServerInput, TenantInput};
use crate::domain::settings::SettingsInput;
use crate::{app, store};

/// How a failed save is shown: field errors and stale-version conflicts re-render the form with
/// the admin's input kept; anything else becomes an error page.
pub enum SaveFailure {
    Fields(FieldErrors),
    Conflict(String),
    Other(super::Error),
}

impl From<app::Error> for SaveFailure {
    fn from(e: app::Error) -> Self {
        match e {
            app::Error::Invalid(f) => SaveFailure::Fields(f),
            app::Error::Conflict(m) => SaveFailure::Conflict(m),
            other => SaveFailure::Other(other.into()),
        }
    }
}

impl From<store::Error> for SaveFailure {
    fn from(e: store::Error) -> Self {
        app::Error::from(e).into()
    }
}

/// A form page that can show a refused save: errors next to fields, or a message on top.
pub trait RefusedForm: Template {
    fn field_errors(&mut self) -> &mut FieldErrors;
    fn form_error(&mut self) -> &mut Option<String>;

    /// Re-renders the form with the admin's input kept: 422 with field errors, 409 for a stale
    /// version; any other failure becomes the error page.
    fn refused(mut self, failure: SaveFailure) -> axum::response::Response
    where
        Self: Sized,
    {
        use axum::http::StatusCode;
        use axum::response::IntoResponse;
        let status = match failure {
            SaveFailure::Fields(f) => {
                *self.field_errors() = f;
                StatusCode::UNPROCESSABLE_ENTITY
            }
            SaveFailure::Conflict(m) => {
                *self.form_error() = Some(m);
                StatusCode::CONFLICT
            }
            SaveFailure::Other(e) => return e.into_response(),
        };
        super::render_page(status, &self)
    }
}

/// Implements [`RefusedForm`] for a page struct with `errors` and `form_error` fields.
macro_rules! refused_form {
    ($page:ty) => {
        impl $crate::web::forms::RefusedForm for $page {
            fn field_errors(&mut self) -> &mut $crate::domain::FieldErrors {
                &mut self.errors
            }
            fn form_error(&mut self) -> &mut Option<String> {
                &mut self.form_error
            }
        }
    };
}
pub(crate) use refused_form;

/// The raw text of an inventory form, read from the submitted fields. Checkboxes arrive as
/// repeated fields, which is why the fields are read as pairs and not by serde.
pub trait FormInput: Sized {
    fn from_pairs(pairs: &[(String, String)]) -> Self;
}

impl FormInput for ServerInput {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        ServerInput {
            name: one(pairs, "name").into(),
            host: one(pairs, "host").into(),
            sip_port: one(pairs, "sip_port").into(),
            capacity: one(pairs, "capacity").into(),
            site: one(pairs, "site").into(),
            state: one(pairs, "state").into(),
        }
    }
}

impl FormInput for PoolInput {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        PoolInput {
            name: one(pairs, "name").into(),
            srv_name: one(pairs, "srv_name").into(),
            ttl: one(pairs, "ttl").into(),
            transports: all(pairs, "transport").collect::<Vec<_>>().join(","),
        }
    }
}

impl FormInput for TenantInput {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        TenantInput {
            code: one(pairs, "code").into(),
            name: one(pairs, "name").into(),
            expected_phones: one(pairs, "expected_phones").into(),
            pool: one(pairs, "pool").into(),
            notes: one(pairs, "notes").into(),
        }
    }
}

impl FormInput for SettingsInput {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let field = |k| one(pairs, k).to_string();
        SettingsInput {
            normal_away_pct: field("normal_away_pct"),
            capacity_warning_pct: field("capacity_warning_pct"),
            stale_after_minutes: field("stale_after_minutes"),
            flap_moves: field("flap_moves"),
            flap_window_minutes: field("flap_window_minutes"),
            failback_after_minutes: field("failback_after_minutes"),
            tenant_rule: field("tenant_rule"),
            retention_days: field("retention_days"),
            dns_check_minutes: field("dns_check_minutes"),
            dns_nameservers: field("dns_nameservers"),
            dns_timeout_ms: field("dns_timeout_ms"),
            dns_attempts: field("dns_attempts"),
            webhook_url: field("webhook_url"),
            webhook_secret: field("webhook_secret"),
            webhook_secret_clear: field("webhook_secret_clear"),
            move_deadline_hours: field("move_deadline_hours"),
            plan_multi_primary: field("plan_multi_primary"),
        }
    }
}

/// A submitted create or edit form: the typed input and, for an edit, the version of the row
/// the admin started from (the hidden `version` field), so that a stale edit is refused.
pub struct EditForm<T> {
    pub input: T,
    version: Option<i64>,
}

impl<T> EditForm<T> {
    /// The version an edit was made on; an edit form without one is refused.
    pub fn version(&self) -> Result<i64, super::Error> {
        self.version.ok_or_else(|| {
            super::Error::BadRequest(
                "the form is missing its version field; reload the page".into(),
            )
        })
    }
}

impl<S, T> axum::extract::FromRequest<S> for EditForm<T>
where
    S: Send + Sync,
    T: FormInput,
{
    type Rejection = super::Error;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let super::extract::Form(pairs) =
            super::extract::Form::<Vec<(String, String)>>::from_request(req, state).await?;
        let version = match one(&pairs, "version").trim() {
            "" => None,
            v => Some(v.parse().map_err(|_| {
                super::Error::BadRequest(format!("the form's version {v:?} is not a number"))
            })?),
        };
        Ok(Self {
            input: T::from_pairs(&pairs),
            version,
        })
    }
}

/// All values of one repeated form field, in order.
pub fn all<'a>(pairs: &'a [(String, String)], key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs
        .iter()
        .filter(move |(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The first value of a form field, or "".
pub fn one<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// Parses the hidden `version` field of an edit form.
pub fn version(pairs: &[(String, String)]) -> Result<i64, super::Error> {
    one(pairs, "version").trim().parse().map_err(|_| {
        super::Error::BadRequest("the form is missing its version field; reload the page".into())
    })
}

/// One link of a pager.
#[derive(Debug, Clone)]
pub struct PageLink {
    pub label: String,
    pub href: Option<String>,
    pub current: bool,
}

/// Pager links: first, previous, a window around the current page, next, last.
pub fn pager(page: u32, pages: u32, href: impl Fn(u32) -> String) -> Vec<PageLink> {
    if pages <= 1 {
        return Vec::new();
    }
    let mut links = Vec::new();
    let link = |label: String, p: u32, enabled: bool, current: bool| PageLink {
        label,
        href: enabled.then(|| href(p)),
        current,
    };
    links.push(link(
        "« Prev".into(),
        page.saturating_sub(1).max(1),
        page > 1,
        false,
    ));
    let lo = page.saturating_sub(3).max(1);
    let hi = (page + 3).min(pages);
    if lo > 1 {
        links.push(link("1".into(), 1, true, false));
        if lo > 2 {
            links.push(link("…".into(), 0, false, false));
        }
    }
    for p in lo..=hi {
        links.push(link(p.to_string(), p, p != page, p == page));
    }
    if hi < pages {
        if hi + 1 < pages {
            links.push(link("…".into(), 0, false, false));
        }
        links.push(link(pages.to_string(), pages, true, false));
    }
    links.push(link("Next »".into(), page + 1, page < pages, false));
    links
}

/// Pager links whose Prev and Next follow keyset cursors (`prev`, `next`: their hrefs, none at
/// either end) while the numbered links jump by page number.
pub fn keyset_pager(
    page: u32,
    pages: u32,
    href: impl Fn(u32) -> String,
    prev: Option<String>,
    next: Option<String>,
) -> Vec<PageLink> {
    let mut links = pager(page, pages.max(page), href);
    if let Some(first) = links.first_mut() {
        first.href = prev;
    }
    if let Some(last) = links.last_mut() {
        last.href = next;
    }
    links
}

/// The sort state of a list page, shared by every sortable list: which column is active, in
/// which direction, and what clicking a column header does.
pub struct SortState<'a> {
    pub active: &'a str,
    pub desc: bool,
}

impl<'a> SortState<'a> {
    /// `sort`/`dir` query values; an empty sort means `default`.
    pub fn new(sort: &'a str, dir: &str, default: &'a str) -> Self {
        Self {
            active: if sort.is_empty() { default } else { sort },
            desc: dir == "desc",
        }
    }

    /// Clicking the active column flips its direction; another column sorts ascending.
    pub fn next_dir(&self, column: &str) -> &'static str {
        if self.active == column && !self.desc {
            "desc"
        } else {
            "asc"
        }
    }

    pub fn mark(&self, column: &str) -> &'static str {
        match (self.active == column, self.desc) {
            (false, _) => "",
            (true, true) => " ▼",
            (true, false) => " ▲",
        }
    }

    pub fn aria(&self, column: &str) -> &'static str {
        match (self.active == column, self.desc) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        }
    }
}

/// Escapes a value for use in a query string.
pub fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// "Are you sure?" before a delete: destructive actions take two steps, even without JavaScript.
#[derive(Template)]
#[template(path = "confirm_delete.html")]
pub struct ConfirmPage {
    pub ctx: PageCtx,
    pub kind: &'static str,
    pub name: String,
    pub action: String,
    pub back: String,
    pub version: i64,
    pub consequence: String,
    /// The action's word: Delete, Disable, Revoke.
    pub verb: &'static str,
}
