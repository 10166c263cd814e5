//! Pools pages: list, create, edit, delete, and the members editor.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;

use super::auth::{AdminOnly, Principal};
use super::extract::{Form, Query};
use super::filters;
use super::forms::{ConfirmPage, EditForm, RefusedForm, SaveFailure, all, refused_form, version};
use super::named::{PoolAt, pool_href};
use super::shares::{ShareColumn, ShareTable, scenario_params, share_table};
use super::{AppState, Flash, PageCtx, Result, Routes, page};
use crate::app::inventory;
use crate::domain::FieldErrors;
use crate::domain::ids::ServerId;
use crate::domain::model::{MemberInput, Pool, PoolInput, Server, Transport, validate_members};
use crate::domain::pool_change::{ChangeState, PoolChange};

pub fn router() -> Routes {
    Routes::new()
        .get("/pools", list)
        .post("/pools", create)
        .get("/pools/new", new_form)
        .get("/pools/{pool}", detail)
        .post("/pools/{pool}", update)
        .get("/pools/{pool}/edit", edit_form)
        .get("/pools/{pool}/members", members_form)
        .post("/pools/{pool}/members", save_members)
        .post("/pools/{pool}/members/preview", preview_members)
        .get("/pools/{pool}/delete", confirm_delete)
        .post("/pools/{pool}/delete", delete)
        .post("/pools/{pool}/published", mark_published)
}

#[derive(Template)]
#[template(path = "pools/list.html")]
struct ListPage {
    ctx: PageCtx,
    pools: Vec<(Pool, u64, u64)>,
    params: ListParams,
}

/// The list's filter and sort, kept in the URL.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
struct ListParams {
    q: String,
    server: String,
    sort: String,
    dir: String,
}

impl ListPage {
    fn sorting(&self) -> super::forms::SortState<'_> {
        super::forms::SortState::new(&self.params.sort, &self.params.dir, "name")
    }
    fn sort_href(&self, column: &str) -> String {
        let p = &self.params;
        format!(
            "/pools?q={}&server={}&sort={column}&dir={}",
            super::forms::q(&p.q),
            super::forms::q(&p.server),
            self.sorting().next_dir(column)
        )
    }
    fn sort_mark(&self, column: &str) -> &'static str {
        self.sorting().mark(column)
    }
}

async fn list(
    State(st): State<AppState>,
    ctx: PageCtx,
    Query(params): Query<ListParams>,
) -> Result<Response> {
    let counts = st.store().pool_tenant_counts().await?;
    let pools: Vec<(Pool, u64, u64)> = st
        .store()
        .pools()
        .await?
        .into_iter()
        .map(|p| {
            let load = counts.get(&p.id).copied().unwrap_or_default();
            (p, load.tenants, load.expected_phones)
        })
        .collect();
    let needle = params.q.trim().to_lowercase();
    let mut pools: Vec<(Pool, u64, u64)> = pools
        .into_iter()
        .filter(|(p, _, _)| {
            needle.is_empty()
                || p.name.to_lowercase().contains(&needle)
                || p.srv_name.contains(&needle)
        })
        .filter(|(p, _, _)| {
            params.server.is_empty() || p.members.iter().any(|m| m.server_name == params.server)
        })
        .collect();
    pools.sort_by(|a, b| match params.sort.as_str() {
        "tenants" => a.1.cmp(&b.1),
        "phones" => a.2.cmp(&b.2),
        "srv" => a.0.srv_name.cmp(&b.0.srv_name),
        _ => a.0.name.cmp(&b.0.name),
    });
    if params.dir == "desc" {
        pools.reverse();
    }
    Ok(page(&ListPage { ctx, pools, params }))
}

#[derive(Template)]
#[template(path = "pools/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// The pool's page, when an existing one is edited.
    at: Option<String>,
    version: i64,
    input: PoolInput,
    errors: FieldErrors,
    form_error: Option<String>,
    transports: [Transport; 3],
}

refused_form!(FormPage);

impl FormPage {
    fn new(ctx: PageCtx, at: Option<String>, version: i64, input: PoolInput) -> Self {
        Self {
            ctx,
            at,
            version,
            input,
            errors: FieldErrors::default(),
            form_error: None,
            transports: Transport::ALL,
        }
    }

    fn has_transport(&self, t: &Transport) -> bool {
        self.input
            .transports
            .split(',')
            .any(|x| x.trim().eq_ignore_ascii_case(t.as_str()))
    }
}

async fn new_form(_admin: AdminOnly, ctx: PageCtx) -> Response {
    page(&FormPage::new(
        ctx,
        None,
        0,
        PoolInput {
            ttl: "86400".into(),
            transports: "udp".into(),
            ..Default::default()
        },
    ))
}

async fn create(
    State(st): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    form: EditForm<PoolInput>,
) -> Response {
    let form = FormPage::new(ctx, None, 0, form.input);
    let new = match form.input.validate() {
        Ok(n) => n,
        Err(e) => return form.refused(SaveFailure::Fields(e)),
    };
    match inventory::create_pool(&st.app, &new, &principal.actor()).await {
        Ok(p) => Flash::redirect(
            format!("{}/members", pool_href(p.name.as_ref())),
            format!("Pool {} created. Now add its members.", p.name),
        )
        .into_response(),
        Err(e) => form.refused(e.into()),
    }
}

#[derive(Template)]
#[template(path = "pools/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    pool: Pool,
    tenants: u64,
    phones: u64,
    table: ShareTable,
    custom: Vec<String>,
    /// Its phones at home and away (the cluster view's one definition of home).
    stats: Option<crate::app::cluster::PoolStats>,
    normal_away_share: f64,
    /// Its member change still settling, and what it waits for.
    change: Option<(PoolChange, ChangeState)>,
    /// The DNS check runs in the background (else the admin marks the zone published).
    dns_check_on: bool,
    /// Its alerts' transitions, newest first (the alert log).
    alert_history: Vec<crate::domain::alerts::log::AlertEvent>,
    /// Its away share over time.
    chart: super::charts::ChartPanel,
}

impl DetailPage {
    /// How long until `until` (Unix seconds), as the alert texts write durations.
    fn remaining(&self, until: i64) -> String {
        filters::format_duration(until - jiff::Timestamp::now().as_second())
    }
    fn ticked(&self, name: &str) -> bool {
        self.custom.iter().any(|c| c == name)
    }
    /// A cell: the weighted share, and the literal-RFC share beside it where they differ.
    fn cell(&self, col: &ShareColumn, target: &usize) -> (f64, Option<f64>) {
        let w = col
            .weighted
            .targets
            .get(*target)
            .map(|t| t.share)
            .unwrap_or(0.0);
        let r = col
            .rfc2782
            .targets
            .get(*target)
            .map(|t| t.share)
            .unwrap_or(0.0);
        (w, ShareTable::differs(w, r).then_some(r))
    }
    fn server_cell(&self, col: &ShareColumn, server: &usize) -> (f64, Option<f64>) {
        let w = col
            .weighted
            .servers
            .get(*server)
            .map(|t| t.share)
            .unwrap_or(0.0);
        let r = col
            .rfc2782
            .servers
            .get(*server)
            .map(|t| t.share)
            .unwrap_or(0.0);
        (w, ShareTable::differs(w, r).then_some(r))
    }
}

async fn detail(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: crate::app::Seen,
    PoolAt(found): PoolAt,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let (id, pool) = (found.id, found);
    let range = super::charts::range_in(q.as_deref())?;
    let chart = super::charts::ChartPanel::new(
        "chart-pool",
        "Share of its phones away from home over time",
        crate::app::charts::pools(&st.app, range, Some(id)).await?,
        range,
    );
    let view = crate::app::cluster::load(&st.app, seen).await?;
    let stats = view.pool_stats.iter().find(|p| p.pool_id == id).cloned();
    let servers = st.store().servers().await?;
    let custom: Vec<String> = scenario_params(q.as_deref())?
        .down
        .into_iter()
        .filter(|d| pool.members.iter().any(|m| &m.server_name == d))
        .collect();
    let table = share_table(&pool, &servers, &custom);
    let load = st
        .store()
        .pool_tenant_counts()
        .await?
        .get(&id)
        .copied()
        .unwrap_or_default();
    let (tenants, phones) = (load.tenants, load.expected_phones);
    Ok(page(&DetailPage {
        ctx,
        alert_history: crate::app::alert_log::history_for(
            &st.app,
            crate::domain::alerts::ObjectKind::Pool,
            pool.name.as_ref(),
            HISTORY_ROWS,
        )
        .await?,
        pool,
        tenants,
        phones,
        table,
        custom,
        stats,
        normal_away_share: view.settings.alerts.normal_away_share,
        change: view.changing.get(&id).cloned(),
        dns_check_on: view.settings.dns_check_minutes > 0,
        chart,
    }))
}

async fn edit_form(_admin: AdminOnly, ctx: PageCtx, PoolAt(found): PoolAt) -> Result<Response> {
    let p = found;
    Ok(page(&FormPage::new(
        ctx,
        Some(pool_href(p.name.as_ref())),
        p.version,
        PoolInput::from_pool(&p),
    )))
}

async fn update(
    State(st): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    PoolAt(found): PoolAt,
    form: EditForm<PoolInput>,
) -> Result<Response> {
    let version = form.version()?;
    let id = found.id;
    let form = FormPage::new(
        ctx,
        Some(pool_href(found.name.as_ref())),
        version,
        form.input,
    );
    let new = match form.input.validate() {
        Ok(n) => n,
        Err(e) => return Ok(form.refused(SaveFailure::Fields(e))),
    };
    Ok(
        match inventory::update_pool(&st.app, id, version, &new, &principal.actor()).await {
            Ok(p) => Flash::redirect(
                pool_href(p.name.as_ref()),
                format!("Pool {} saved.", p.name),
            )
            .into_response(),
            Err(e) => form.refused(e.into()),
        },
    )
}

#[derive(Template)]
#[template(path = "pools/members.html")]
struct MembersPage {
    ctx: PageCtx,
    pool: Pool,
    version: i64,
    rows: Vec<MemberInput>,
    servers: Vec<Server>,
    errors: FieldErrors,
    form_error: Option<String>,
    /// The impact of the edited members on the servers, once previewed.
    impact: Option<crate::domain::impact::Impact>,
}

refused_form!(MembersPage);

impl MembersPage {
    fn cell_error(&self, row: &usize, field: &str) -> Option<&str> {
        self.errors.get(&format!("members[{row}].{field}"))
    }
}

/// Spare empty rows in the editor, so members can be added without JavaScript.
const SPARE_ROWS: usize = 3;

async fn members_form(
    _admin: AdminOnly,
    State(st): State<AppState>,
    ctx: PageCtx,
    PoolAt(found): PoolAt,
) -> Result<Response> {
    let pool = found;
    let servers = st.store().servers().await?;
    let mut rows: Vec<MemberInput> = pool
        .members
        .iter()
        .map(|m| MemberInput {
            server: m.server_name.to_string(),
            priority: m.priority.to_string(),
            weight: m.weight.to_string(),
            port: m.port.map(|p| p.to_string()).unwrap_or_default(),
        })
        .collect();
    rows.extend(std::iter::repeat_with(MemberInput::default).take(SPARE_ROWS));
    Ok(page(&MembersPage {
        ctx,
        version: pool.version,
        pool,
        rows,
        servers,
        errors: FieldErrors::default(),
        form_error: None,
        impact: None,
    }))
}

/// The editor's rows as posted, and the members they validate to.
fn posted_members(
    pairs: &[(String, String)],
    servers: &[Server],
) -> (
    Vec<MemberInput>,
    std::result::Result<Vec<crate::domain::model::NewMember>, FieldErrors>,
) {
    let col = |k| all(pairs, k).collect::<Vec<_>>();
    let (names, priorities, weights, ports) =
        (col("server"), col("priority"), col("weight"), col("port"));
    let rows: Vec<MemberInput> = (0..names.len())
        .map(|i| MemberInput {
            server: names[i].to_string(),
            priority: priorities.get(i).copied().unwrap_or("").to_string(),
            weight: weights.get(i).copied().unwrap_or("").to_string(),
            port: ports.get(i).copied().unwrap_or("").to_string(),
        })
        .collect();
    let by_name: HashMap<&str, (ServerId, u16)> = servers
        .iter()
        .map(|s| (s.name.as_str(), (s.id, s.sip_port)))
        .collect();
    let members = validate_members(&rows, |n| by_name.get(n).copied());
    (rows, members)
}

/// The editor again, with the impact of its members on the servers (nothing is saved): the
/// admin applies from there, or edits and previews again.
async fn preview_members(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: crate::app::Seen,
    PoolAt(found): PoolAt,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let version = version(&pairs)?;
    let (id, pool) = (found.id, found);
    let servers = st.store().servers().await?;
    let (mut rows, members) = posted_members(&pairs, &servers);
    let mut page_ = MembersPage {
        ctx,
        pool,
        version,
        rows: Vec::new(),
        servers,
        errors: FieldErrors::default(),
        form_error: None,
        impact: None,
    };
    match members {
        Ok(members) => {
            page_.impact =
                Some(crate::app::impact::preview_pool_members(&st.app, id, &members, seen).await?);
            rows.retain(|r| !r.server.trim().is_empty());
            rows.extend(std::iter::repeat_with(MemberInput::default).take(SPARE_ROWS));
            page_.rows = rows;
            Ok(page(&page_))
        }
        Err(e) => {
            page_.rows = rows;
            Ok(page_.refused(SaveFailure::Fields(e)))
        }
    }
}

async fn save_members(
    State(st): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    seen: crate::app::Seen,
    PoolAt(found): PoolAt,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let version = version(&pairs)?;
    let (id, pool) = (found.id, found);
    let servers = st.store().servers().await?;
    let (rows, members) = posted_members(&pairs, &servers);
    let mut impact = None;
    let result = match members.map_err(SaveFailure::Fields) {
        Ok(members) => {
            let preview =
                crate::app::impact::preview_pool_members(&st.app, id, &members, seen).await?;
            if preview.needs_confirmation() && !super::impact::apply_anyway(&pairs) {
                let error = super::impact::refusal(
                    &preview,
                    "Tick “Apply anyway” to save the members all the same.",
                );
                let page_ = MembersPage {
                    ctx,
                    pool,
                    version,
                    rows,
                    servers,
                    errors: FieldErrors::default(),
                    form_error: Some(error),
                    impact: Some(preview),
                };
                return Ok(super::render_page(axum::http::StatusCode::CONFLICT, &page_));
            }
            impact = Some(preview);
            inventory::replace_members(&st.app, id, version, &members, &principal.actor())
                .await
                .map_err(SaveFailure::from)
        }
        Err(e) => Err(e),
    };
    let failure = match result {
        Ok(p) => {
            return Ok(Flash::redirect(
                pool_href(p.name.as_ref()),
                format!(
                    "Members of pool {} saved ({} records).",
                    p.name,
                    p.members.len()
                ),
            )
            .into_response());
        }
        Err(f) => f,
    };
    let page_ = MembersPage {
        ctx,
        pool,
        version,
        rows,
        servers,
        errors: FieldErrors::default(),
        form_error: None,
        impact,
    };
    Ok(page_.refused(failure))
}

async fn confirm_delete(
    _admin: AdminOnly,
    ctx: PageCtx,
    PoolAt(found): PoolAt,
) -> Result<Response> {
    let p = found;
    Ok(page(&ConfirmPage {
        ctx,
        verb: "Delete",
        kind: "pool",
        name: p.name.to_string(),
        action: format!("{}/delete", pool_href(p.name.as_ref())),
        back: pool_href(p.name.as_ref()),
        version: p.version,
        consequence: format!(
            "The pool and its {} member records are removed; its SRV records disappear from exports. Tenants must be moved off it first.",
            p.members.len()
        ),
    }))
}

async fn delete(
    State(st): State<AppState>,
    principal: Principal,
    PoolAt(found): PoolAt,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let version = version(&pairs)?;
    let (id, p) = (found.id, found);
    inventory::delete_pool(&st.app, id, version, &principal.actor()).await?;
    Ok(Flash::redirect("/pools", format!("Pool {} deleted.", p.name)).into_response())
}

/// The admin published the pool's new records where the DNS check cannot see them.
async fn mark_published(
    State(st): State<AppState>,
    principal: Principal,
    PoolAt(found): PoolAt,
) -> Result<Response> {
    let (id, p) = (found.id, found);
    inventory::mark_pool_published(&st.app, id, &principal.actor()).await?;
    Ok(Flash::redirect(
        pool_href(p.name.as_ref()),
        format!(
            "Pool {} marked published: its alerts wait {} s more for caches to expire.",
            p.name, p.ttl
        ),
    )
    .into_response())
}

/// Alert transitions shown on an object's page.
const HISTORY_ROWS: u32 = 20;
