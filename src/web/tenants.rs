//! Tenants pages: the searchable list with bulk assignment, detail with the pool assignment,
//! create, edit, delete.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::auth::{AdminOnly, KnownVersion, Principal};
use super::extract::{Form, Query};
use super::filters;
use super::forms::{
    ConfirmPage, EditForm, PageLink, RefusedForm, SaveFailure, SortState, keyset_pager, q,
    refused_form, version,
};
use super::named::{TenantAt, tenant_href};
use super::renderings::{Pieces, RenderKey, Renderings};
use super::{AppState, Error, Flash, PageCtx, Result, Routes, page, page_around_parts};
use crate::app::cluster::{self, ClusterView};
use crate::app::tenants::{self, TenantRegistrations};
use crate::app::{Seen, inventory};
use crate::domain::FieldErrors;
use crate::domain::alerts::{AlertBook, PlacementStatus, PlacementSummary};
use crate::domain::ids::{PoolId, TenantId};
use crate::domain::model::{Pool, Tenant, TenantInput};
use crate::domain::moves::MoveState;
use crate::store::DataVersion;
use crate::store::{
    Cursor, MovingFilter, PageMove, PoolFilter, TenantPage, TenantQuery, TenantSort,
};
use axum::body::Bytes;
use axum::http::Uri;
use std::sync::Arc;

pub fn router() -> Routes {
    Routes::new()
        .get("/tenants", list)
        .post("/tenants", create)
        .get("/tenants/new", new_form)
        .get("/tenants/{tenant}", detail)
        .post("/tenants/{tenant}", update)
        .get("/tenants/{tenant}/edit", edit_form)
        .get("/tenants/{tenant}/delete", confirm_delete)
        .post("/tenants/{tenant}/delete", delete)
}

/// The list's state, kept in the URL so it can be bookmarked and shared.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListParams {
    #[serde(default)]
    q: String,
    /// Pool name, `-` for unplaced tenants, empty for all.
    #[serde(default)]
    pool: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    dir: String,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    per_page: Option<u32>,
    /// Keyset cursors: the page after or before this tenant (`page` is then its label).
    #[serde(default)]
    after: Option<TenantId>,
    #[serde(default)]
    before: Option<TenantId>,
    /// Where the phones are: `at_home`, `within_normal`, `split`, `away`, `off_home` (split or
    /// away) or `no_phones`; empty for all.
    #[serde(default)]
    status: String,
    /// Only tenants with phones registered on this server.
    #[serde(default)]
    server: String,
    /// Move state: `moving` (in flight, stalled too), `stalled`, `none`; empty for all.
    #[serde(default, rename = "move")]
    moving: String,
    /// `page`: the page is shown with every row's box ticked ("select all on this page").
    #[serde(default)]
    select: String,
}

impl ListParams {
    fn cursor(&self) -> Option<Cursor> {
        match (self.after, self.before) {
            (Some(id), _) => Some(Cursor::After(id)),
            (None, Some(id)) => Some(Cursor::Before(id)),
            (None, None) => None,
        }
    }

    /// The list at `cursor`, labelled page `page`.
    fn cursor_href(&self, page: u32, cursor: Cursor) -> String {
        let (name, id) = match cursor {
            Cursor::After(id) => ("after", id),
            Cursor::Before(id) => ("before", id),
        };
        format!("/tenants?{}&{name}={id}", self.query_string(page, None))
    }

    fn query_string(&self, page: u32, sort: Option<&str>) -> String {
        let sorting = SortState::new(self.sort_key(), &self.dir, "code");
        let (sort, dir) = match sort {
            Some(s) => (s, sorting.next_dir(s)),
            None => (self.sort_key(), if sorting.desc { "desc" } else { "asc" }),
        };
        let mut out = format!("sort={sort}&dir={dir}&page={page}");
        if !self.q.is_empty() {
            out.push_str(&format!("&q={}", q(&self.q)));
        }
        if !self.pool.is_empty() {
            out.push_str(&format!("&pool={}", q(&self.pool)));
        }
        if !self.status.is_empty() {
            out.push_str(&format!("&status={}", q(&self.status)));
        }
        if !self.server.is_empty() {
            out.push_str(&format!("&server={}", q(&self.server)));
        }
        if !self.moving.is_empty() {
            out.push_str(&format!("&move={}", q(&self.moving)));
        }
        if let Some(pp) = self.per_page {
            out.push_str(&format!("&per_page={pp}"));
        }
        out
    }

    fn sort_key(&self) -> &'static str {
        TenantSort::parse(&self.sort).as_str()
    }
}

/// The list's frame: what is the request's own (the user, the flash message, the navigation).
/// Its content ([`super::SHARED_PART`]) is shared (see [`ListCache`]).
#[derive(Template)]
#[template(path = "tenants/list.html")]
struct ListPage {
    ctx: PageCtx,
    content: &'static str,
}

/// The list itself, the same for every request of the same data, role and query string.
#[derive(Template)]
#[template(path = "tenants/list_content.html")]
struct ListContent {
    /// Admins get the selection boxes and the bulk move; viewers do not.
    can_write: bool,
    /// Where the bulk form's CSRF field goes: [`CSRF_SLOT`], replaced per request.
    csrf_slot: &'static str,
    params: ListParams,
    result: TenantPage,
    view: Arc<ClusterView>,
    /// Where each tenant's phones are (registered, away, status), from the cached evaluation.
    book: Arc<AlertBook>,
    pager: Vec<PageLink>,
    here: String,
}

impl ListContent {
    fn move_of(&self, t: &Tenant) -> Option<&PageMove> {
        self.result.moves.get(&t.id)
    }
    fn select_page(&self) -> bool {
        self.params.select == "page"
    }
    /// The list as it is, with every box of the page ticked.
    fn select_page_href(&self) -> String {
        format!("{}&select=page", self.here)
    }
    fn is_filtered(&self) -> bool {
        let p = &self.params;
        !(p.q.trim().is_empty()
            && p.pool.is_empty()
            && p.status.is_empty()
            && p.server.is_empty()
            && p.moving.is_empty())
    }
    fn placement(&self, t: &Tenant) -> Option<&PlacementSummary> {
        self.book
            .placements
            .get(&t.code.as_ref().to_ascii_lowercase())
    }
    fn sort_href(&self, column: &str) -> String {
        format!("/tenants?{}", self.params.query_string(1, Some(column)))
    }
    fn sorting(&self) -> SortState<'_> {
        SortState::new(self.params.sort_key(), &self.params.dir, "code")
    }
    fn sort_mark(&self, column: &str) -> &'static str {
        self.sorting().mark(column)
    }
    fn aria_sort(&self, column: &str) -> &'static str {
        self.sorting().aria(column)
    }
}

/// The session's CSRF field, exactly as the forms' macro writes it.
#[derive(Template)]
#[template(
    source = r#"{% import "macros.html" as m %}{% call m::csrf(ctx) %}{% endcall %}"#,
    ext = "html"
)]
struct CsrfField<'a> {
    ctx: &'a PageCtx,
}

/// What the shared content writes where each response puts its own CSRF field. Its `<` and
/// `>` are escaped in any text a user typed (a search, a name), so only the slot itself matches.
const CSRF_SLOT: &str = "<\u{1}pbx-pools-csrf\u{1}>";

/// What a list's content was rendered from. The cached values are held (not their addresses),
/// so a key can only equal another built from the very same values.
#[derive(Clone)]
pub struct ListKey {
    /// The data version the page was read at (or after): tenants, pools and moves in flight
    /// all change it (their writes are audited), so the same version is the same rows.
    version: DataVersion,
    view: Arc<ClusterView>,
    book: Arc<AlertBook>,
    can_write: bool,
    /// The raw query string: the same string is the same filters, sort, page and selection.
    /// The time zone is no part of it: the list shows no time.
    query: String,
}

impl RenderKey for ListKey {
    fn same_data(&self, other: &ListKey) -> bool {
        self.version == other.version
            && Arc::ptr_eq(&self.view, &other.view)
            && Arc::ptr_eq(&self.book, &other.book)
    }

    fn same(&self, other: &ListKey) -> bool {
        self.same_data(other) && self.can_write == other.can_write && self.query == other.query
    }

    fn newer_than(&self, other: &ListKey) -> bool {
        self.version > other.version
    }
}

/// Renderings of the current data kept at once (pages, sorts, filters, both roles).
const CACHED_PAGES: usize = 32;

/// A larger rendering (a page of hundreds of rows) is not kept: it is rarely asked twice, and
/// 32 of them would hold tens of megabytes.
const CACHED_PAGE_MAX: usize = 256 * 1024;

/// The tenant list's content, rendered once per data version, role and query string rather
/// than once per request: copying the page's rows out of the driver and rendering them cost
/// ten times what serving the bytes does, and a list is mostly asked again unchanged (by many
/// users, and by the same one going back and forth). Any write to tenants, pools or moves
/// changes the data version, and a reader who wrote asks for at least its own (see
/// [`crate::app::Seen`]), so a page is never older than what its reader knows.
///
/// A rendering under way is waited for by the requests that want the same one: after each data
/// change (a registration report is one) the page is rendered once, not once per request that
/// arrives meanwhile.
pub type ListCache = Renderings<ListKey, CACHED_PAGES>;

async fn list(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: Seen,
    known: KnownVersion,
    uri: Uri,
    Query(params): Query<ListParams>,
) -> Result<Response> {
    // The version read with the session, unless it is older than the reader's own last write.
    let version = match known.0 {
        Some(v) if v >= seen.0 => v,
        _ => st.store().data_version().await?,
    };
    // Pools come from the cached view; one created meanwhile by someone else is asked for.
    let (view, book) = cluster::load_with_alerts_known(&st.app, Some(version), seen).await?;
    let key = ListKey {
        version,
        view,
        book,
        can_write: ctx.can_write,
        query: uri.query().unwrap_or_default().to_string(),
    };
    let cache = &st.inner.tenant_list;
    let rendering = cache.entry(&key);
    let pieces = match rendering
        .get_or_try_init(|| render_list(&st, &key, params))
        .await
    {
        Ok(pieces) => pieces.clone(),
        Err(e) => {
            // Whoever waits renders for itself; nothing is kept of a failure.
            cache.forget(&rendering);
            return Err(e);
        }
    };
    if pieces.iter().map(Bytes::len).sum::<usize>() > CACHED_PAGE_MAX {
        cache.forget(&rendering);
    }
    let csrf = Bytes::from(CsrfField { ctx: &ctx }.render().map_err(Error::internal)?);
    // The content's pieces with the session's CSRF field between each two.
    let mut parts = Vec::with_capacity(pieces.len() * 2);
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            parts.push(csrf.clone());
        }
        parts.push(piece.clone());
    }
    Ok(page_around_parts(
        &ListPage {
            ctx,
            content: super::SHARED_PART,
        },
        parts,
    ))
}

/// Reads the list's page and renders its content, cut at each [`CSRF_SLOT`].
async fn render_list(st: &AppState, key: &ListKey, params: ListParams) -> Result<Pieces> {
    let query = list_query(st, &params, &key.view, &key.book).await?;
    let result = st.store().tenants(&query).await?;
    // Numbered pages skip ahead in the index; Prev and Next follow the page's own rows.
    let pager = keyset_pager(
        result.page,
        result.pages(),
        |p| format!("/tenants?{}", params.query_string(p, None)),
        result
            .prev_before
            .map(|id| params.cursor_href(result.page.saturating_sub(1).max(1), Cursor::Before(id))),
        result
            .next_after
            .map(|id| params.cursor_href(result.page + 1, Cursor::After(id))),
    );
    let here = match params.cursor() {
        Some(c) => params.cursor_href(result.page, c),
        None => format!("/tenants?{}", params.query_string(result.page, None)),
    };
    let html = Bytes::from(
        ListContent {
            can_write: key.can_write,
            csrf_slot: CSRF_SLOT,
            params,
            result,
            view: key.view.clone(),
            book: key.book.clone(),
            pager,
            here,
        }
        .render()
        .map_err(Error::internal)?,
    );
    let text = std::str::from_utf8(&html).map_err(Error::internal)?;
    let mut pieces = Vec::new();
    let mut start = 0;
    for (at, _) in text.match_indices(CSRF_SLOT) {
        pieces.push(html.slice(start..at));
        start = at + CSRF_SLOT.len();
    }
    pieces.push(html.slice(start..));
    Ok(pieces.into())
}

/// The store query of the list's filters (search, pool, where the phones are, move state) on
/// the page asked: the list and "move all N matching" resolve a filter through this one path.
async fn list_query(
    st: &AppState,
    params: &ListParams,
    view: &ClusterView,
    book: &AlertBook,
) -> Result<TenantQuery> {
    let codes = placement_filter(params, view, book)?;
    let moving = MovingFilter::parse(&params.moving)
        .map_err(|e| Error::Invalid(FieldErrors::single("move", e)))?;
    let pool = match params.pool.as_str() {
        "" => PoolFilter::Any,
        "-" => PoolFilter::Unplaced,
        name => match view.pools.iter().find(|p| p.name == name) {
            Some(p) => PoolFilter::Pool(p.id),
            None => match st.store().pool_by_name(name).await {
                Ok(p) => PoolFilter::Pool(p.id),
                Err(crate::store::Error::NotFound { .. }) => {
                    return Err(Error::NotFound(format!("there is no pool named {name:?}")));
                }
                Err(e) => return Err(e.into()),
            },
        },
    };
    Ok(TenantQuery {
        search: Some(params.q.clone()),
        pool,
        sort: TenantSort::parse(&params.sort),
        desc: params.dir == "desc",
        page: params.page.unwrap_or(1),
        per_page: params.per_page.unwrap_or(50),
        cursor: params.cursor(),
        codes,
        moving,
    })
}

/// Every tenant the list's filter keeps, with its version now, and the filter's parameters as
/// the list's URL carries them: what "move all N tenants matching this filter" moves. The
/// filter is resolved exactly as the list resolves it ([`list_query`]).
pub(super) async fn matching(
    st: &AppState,
    seen: Seen,
    params: &ListParams,
) -> Result<Vec<(TenantId, i64)>> {
    let (view, book) = cluster::load_with_alerts_known(&st.app, None, seen).await?;
    let query = list_query(st, params, &view, &book).await?;
    Ok(st.store().tenant_versions_matching(&query).await?)
}

impl ListParams {
    /// The filter part of the list's state, from a form's fields named `filter_<name>`.
    pub(super) fn from_filter_fields(pairs: &[(String, String)]) -> Self {
        let f = |name: &str| super::forms::one(pairs, &format!("filter_{name}")).to_string();
        Self {
            q: f("q"),
            pool: f("pool"),
            status: f("status"),
            server: f("server"),
            moving: f("move"),
            ..Self::default()
        }
    }
}

/// The codes of the tenants the list's placement filters keep (`None` without such a filter),
/// from the cached evaluation: where each tenant's phones are is known there already, so the
/// filter reads no registration or count.
fn placement_filter(
    params: &ListParams,
    view: &ClusterView,
    book: &AlertBook,
) -> Result<Option<Vec<String>>> {
    let status = params.status.trim();
    let server = params.server.trim();
    if status.is_empty() && server.is_empty() {
        return Ok(None);
    }
    let wanted: fn(Option<PlacementStatus>) -> bool = match status {
        "" => |_| true,
        "at_home" => |s| s == Some(PlacementStatus::AtHome),
        "within_normal" => |s| s == Some(PlacementStatus::WithinNormal),
        "split" => |s| s == Some(PlacementStatus::Split),
        "away" => |s| s == Some(PlacementStatus::Away),
        "off_home" => |s| matches!(s, Some(PlacementStatus::Split | PlacementStatus::Away)),
        "no_phones" => |s| s.is_none(),
        other => {
            return Err(Error::Invalid(FieldErrors::single(
                "status",
                format!(
                    "unknown status {other:?}: use at_home, within_normal, split, away, \
                     off_home or no_phones"
                ),
            )));
        }
    };
    let server = if server.is_empty() {
        None
    } else {
        match view
            .servers
            .iter()
            .find(|s| s.name.as_ref().eq_ignore_ascii_case(server))
        {
            Some(s) => Some(s.name.as_ref().to_ascii_lowercase()),
            None => {
                return Err(Error::NotFound(format!(
                    "there is no server named {server:?}"
                )));
            }
        }
    };
    let mut codes: Vec<String> = book
        .placements
        .iter()
        .filter(|(_, p)| wanted(p.status))
        .filter(|(_, p)| server.as_ref().is_none_or(|s| p.servers.contains(s)))
        .map(|(code, _)| code.clone())
        .collect();
    codes.sort_unstable();
    Ok(Some(codes))
}

#[derive(Template)]
#[template(path = "tenants/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    tenant: Tenant,
    pools: Vec<Pool>,
    registrations: TenantRegistrations,
    /// Its alerts' transitions, newest first (the alert log).
    alert_history: Vec<crate::domain::alerts::log::AlertEvent>,
    /// Its move in flight, or its last move if it ended lately.
    move_panel: Option<crate::app::moves::MovePanel>,
    /// Its phones per server over time.
    chart: super::charts::ChartPanel,
}

impl DetailPage {
    fn is_current(&self, pool_id: &PoolId) -> bool {
        self.tenant.pool_id == Some(*pool_id)
    }
}

async fn detail(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: crate::app::Seen,
    TenantAt(tenant): TenantAt,
    Query(q): Query<super::charts::RangeParam>,
) -> Result<Response> {
    let id = tenant.id;
    let range = q.range()?;
    let chart = super::charts::ChartPanel::new(
        "chart-tenant",
        "Phones per server over time",
        crate::app::charts::tenant(&st.app, range, id, tenant.code.as_ref()).await?,
        range,
    );
    let pools = st.store().pools().await?;
    let registrations = tenants::registrations(&st.app, &tenant, &pools, seen).await?;
    let move_panel = crate::app::moves::panel(&st.app, &tenant, &pools, seen).await?;
    Ok(page(&DetailPage {
        ctx,
        move_panel,
        alert_history: crate::app::alert_log::history_for(
            &st.app,
            crate::domain::alerts::ObjectKind::Tenant,
            tenant.code.as_ref(),
            HISTORY_ROWS,
        )
        .await?,
        tenant,
        pools,
        registrations,
        chart,
    }))
}

#[derive(Template)]
#[template(path = "tenants/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// The tenant's page, when an existing one is edited.
    at: Option<String>,
    version: i64,
    input: TenantInput,
    pools: Vec<Pool>,
    errors: FieldErrors,
    form_error: Option<String>,
}

refused_form!(FormPage);

async fn new_form(_admin: AdminOnly, State(st): State<AppState>, ctx: PageCtx) -> Result<Response> {
    let pools = st.store().pools().await?;
    Ok(page(&FormPage {
        ctx,
        at: None,
        version: 0,
        input: TenantInput::default(),
        pools,
        errors: FieldErrors::default(),
        form_error: None,
    }))
}

async fn save(
    st: &AppState,
    principal: &Principal,
    ctx: PageCtx,
    existing: Option<&Tenant>,
    submitted: EditForm<TenantInput>,
) -> Result<Response> {
    let id = existing.map(|t| t.id);
    let version = if id.is_some() {
        submitted.version()?
    } else {
        0
    };
    let pools = st.store().pools().await?;
    let form = FormPage {
        ctx,
        at: existing.map(|t| tenant_href(t.code.as_ref())),
        version,
        input: submitted.input,
        pools,
        errors: FieldErrors::default(),
        form_error: None,
    };
    let new = match form
        .input
        .validate(|name| form.pools.iter().find(|p| p.name == name).map(|p| p.id))
    {
        Ok(n) => n,
        Err(e) => return Ok(form.refused(SaveFailure::Fields(e))),
    };
    let saved = match id {
        Some(id) => inventory::update_tenant(&st.app, id, version, &new, &principal.actor()).await,
        None => inventory::create_tenant(&st.app, &new, &principal.actor()).await,
    };
    Ok(match saved {
        Ok(t) => Flash::redirect(
            tenant_href(t.code.as_ref()),
            format!(
                "Tenant {} {}.",
                t.code,
                if id.is_some() { "saved" } else { "created" }
            ),
        )
        .into_response(),
        Err(e) => form.refused(e.into()),
    })
}

async fn create(
    State(st): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    form: EditForm<TenantInput>,
) -> Result<Response> {
    save(&st, &principal, ctx, None, form).await
}

async fn update(
    State(st): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    TenantAt(t): TenantAt,
    form: EditForm<TenantInput>,
) -> Result<Response> {
    save(&st, &principal, ctx, Some(&t), form).await
}

async fn edit_form(
    _admin: AdminOnly,
    State(st): State<AppState>,
    ctx: PageCtx,
    TenantAt(t): TenantAt,
) -> Result<Response> {
    let pools = st.store().pools().await?;
    Ok(page(&FormPage {
        ctx,
        at: Some(tenant_href(t.code.as_ref())),
        version: t.version,
        input: TenantInput::from_tenant(&t),
        pools,
        errors: FieldErrors::default(),
        form_error: None,
    }))
}

async fn confirm_delete(
    _admin: AdminOnly,
    ctx: PageCtx,
    TenantAt(t): TenantAt,
) -> Result<Response> {
    let href = tenant_href(t.code.as_ref());
    Ok(page(&ConfirmPage {
        ctx,
        verb: "Delete",
        kind: "tenant",
        name: t.code.to_string(),
        action: format!("{href}/delete"),
        back: href,
        version: t.version,
        consequence: format!(
            "{} ({} expected phones) is removed from the inventory; its phones will show as unmatched registrations.",
            t.name, t.expected_phones
        ),
    }))
}

async fn delete(
    State(st): State<AppState>,
    principal: Principal,
    TenantAt(t): TenantAt,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let version = version(&pairs)?;
    inventory::delete_tenant(&st.app, t.id, version, &principal.actor()).await?;
    Ok(Flash::redirect("/tenants", format!("Tenant {} deleted.", t.code)).into_response())
}

/// Alert transitions shown on an object's page.
const HISTORY_ROWS: u32 = 20;
