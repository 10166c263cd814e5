//! Servers pages: list, create, edit, delete.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::auth::{AdminOnly, Principal};
use super::extract::{Form, Query};
use super::filters;
use super::forms::{ConfirmPage, EditForm, RefusedForm, SaveFailure, refused_form, version};
use super::named::{ServerAt, server_href};
use super::{AppState, Flash, PageCtx, Result, Routes, page};
use crate::app::inventory;
use crate::app::tenants::TenantOnServer;
use crate::domain::FieldErrors;
use crate::domain::ids::ServerId;
use crate::domain::model::{Pool, Server, ServerInput, ServerState};

pub fn router() -> Routes {
    Routes::new()
        .get("/servers", list)
        .post("/servers", create)
        .get("/servers/new", new_form)
        .get("/servers/{server}", detail)
        .post("/servers/{server}", update)
        .get("/servers/{server}/edit", edit_form)
        .get("/servers/{server}/delete", confirm_delete)
        .post("/servers/{server}/delete", delete)
}

#[derive(Template)]
#[template(path = "servers/list.html")]
struct ListPage {
    ctx: PageCtx,
    servers: Vec<(Server, Vec<String>)>,
    params: ListParams,
    sites: Vec<String>,
}

/// The list's filter and sort, kept in the URL.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
struct ListParams {
    q: String,
    state: String,
    site: String,
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
            "/servers?q={}&state={}&site={}&sort={column}&dir={}",
            super::forms::q(&p.q),
            super::forms::q(&p.state),
            super::forms::q(&p.site),
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
    let all = st.store().servers().await?;
    let pools = st.store().pools().await?;
    let mut sites: Vec<String> = all.iter().filter_map(|s| s.site.clone()).collect();
    sites.sort();
    sites.dedup();
    let needle = params.q.trim().to_lowercase();
    let mut servers: Vec<(Server, Vec<String>)> = all
        .into_iter()
        .filter(|s| {
            needle.is_empty() || s.name.to_lowercase().contains(&needle) || s.host.contains(&needle)
        })
        .filter(|s| params.state.is_empty() || s.state.as_str() == params.state)
        .filter(|s| params.site.is_empty() || s.site.as_deref() == Some(params.site.as_str()))
        .map(|s| {
            let names = pools_of(&pools, s.id);
            (s, names)
        })
        .collect();
    servers.sort_by(|(a, _), (b, _)| match params.sort.as_str() {
        "host" => a.host.cmp(&b.host),
        "capacity" => a.capacity.cmp(&b.capacity),
        "state" => a.state.as_str().cmp(b.state.as_str()),
        "site" => a.site.cmp(&b.site),
        _ => a.name.cmp(&b.name),
    });
    if params.dir == "desc" {
        servers.reverse();
    }
    Ok(page(&ListPage {
        ctx,
        servers,
        params,
        sites,
    }))
}

fn pools_of(pools: &[Pool], server_id: ServerId) -> Vec<String> {
    pools
        .iter()
        .filter(|p| p.members.iter().any(|m| m.server_id == server_id))
        .map(|p| p.name.to_string())
        .collect()
}

#[derive(Template)]
#[template(path = "servers/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// The server's page, when an existing one is edited.
    at: Option<String>,
    version: i64,
    input: ServerInput,
    errors: FieldErrors,
    form_error: Option<String>,
    states: [ServerState; 3],
}

refused_form!(FormPage);

impl FormPage {
    fn new(ctx: PageCtx, at: Option<String>, version: i64, input: ServerInput) -> Self {
        Self {
            ctx,
            at,
            version,
            input,
            errors: FieldErrors::default(),
            form_error: None,
            states: ServerState::ALL,
        }
    }
}

async fn new_form(_admin: AdminOnly, ctx: PageCtx) -> Response {
    page(&FormPage::new(
        ctx,
        None,
        0,
        ServerInput {
            sip_port: "5060".into(),
            state: "active".into(),
            ..Default::default()
        },
    ))
}

async fn create(
    State(st): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    form: EditForm<ServerInput>,
) -> Response {
    let form = FormPage::new(ctx, None, 0, form.input);
    let new = match form.input.validate() {
        Ok(n) => n,
        Err(e) => return form.refused(SaveFailure::Fields(e)),
    };
    match inventory::create_server(&st.app, &new, &principal.actor()).await {
        Ok(s) => Flash::redirect(
            server_href(s.name.as_ref()),
            format!("Server {} created.", s.name),
        )
        .into_response(),
        Err(e) => form.refused(e.into()),
    }
}

#[derive(Template)]
#[template(path = "servers/detail.html")]
struct DetailPage {
    ctx: PageCtx,
    server: Server,
    pools: Vec<Pool>,
    tenants: Vec<TenantOnServer>,
    unmatched: Vec<crate::store::PhoneRow>,
    snapshots: Vec<crate::store::Snapshot>,
    /// Its alerts' transitions, newest first (the alert log).
    alert_history: Vec<crate::domain::alerts::log::AlertEvent>,
    /// Its registered and away phones over time.
    chart: super::charts::ChartPanel,
}

async fn detail(
    State(st): State<AppState>,
    ctx: PageCtx,
    seen: crate::app::Seen,
    ServerAt(server): ServerAt,
    Query(q): Query<super::charts::RangeParam>,
) -> Result<Response> {
    let id = server.id;
    let range = q.range()?;
    let chart = super::charts::ChartPanel::new(
        "chart-server",
        "Registered phones over time",
        crate::app::charts::servers(&st.app, range, Some(id)).await?,
        range,
    );
    let pools = st
        .store()
        .pools()
        .await?
        .into_iter()
        .filter(|p| p.members.iter().any(|m| m.server_id == id))
        .collect();
    let tenants = crate::app::tenants::on_server(&st.app, id, 500, seen).await?;
    let unmatched = st.store().unmatched_on(id, 100).await?;
    let snapshots = st.store().snapshots_of(id, 10).await?;
    Ok(page(&DetailPage {
        ctx,
        alert_history: crate::app::alert_log::history_for(
            &st.app,
            crate::domain::alerts::ObjectKind::Server,
            server.name.as_ref(),
            HISTORY_ROWS,
        )
        .await?,
        server,
        pools,
        tenants,
        unmatched,
        snapshots,
        chart,
    }))
}

async fn edit_form(_admin: AdminOnly, ctx: PageCtx, ServerAt(s): ServerAt) -> Result<Response> {
    Ok(page(&FormPage::new(
        ctx,
        Some(server_href(s.name.as_ref())),
        s.version,
        ServerInput::from_server(&s),
    )))
}

async fn update(
    State(st): State<AppState>,
    principal: Principal,
    ctx: PageCtx,
    ServerAt(old): ServerAt,
    form: EditForm<ServerInput>,
) -> Result<Response> {
    let id = old.id;
    let version = form.version()?;
    let form = FormPage::new(
        ctx,
        Some(server_href(old.name.as_ref())),
        version,
        form.input,
    );
    let new = match form.input.validate() {
        Ok(n) => n,
        Err(e) => return Ok(form.refused(SaveFailure::Fields(e))),
    };
    Ok(
        match inventory::update_server(&st.app, id, version, &new, &principal.actor()).await {
            Ok(s) => Flash::redirect(
                server_href(s.name.as_ref()),
                format!("Server {} saved.", s.name),
            )
            .into_response(),
            Err(e) => form.refused(e.into()),
        },
    )
}

async fn confirm_delete(
    _admin: AdminOnly,
    ctx: PageCtx,
    ServerAt(s): ServerAt,
) -> Result<Response> {
    let href = server_href(s.name.as_ref());
    Ok(page(&ConfirmPage {
        ctx,
        verb: "Delete",
        kind: "server",
        name: s.name.to_string(),
        action: format!("{href}/delete"),
        back: href,
        version: s.version,
        consequence:
            "The server is removed from the inventory. Pools that list it must be edited first."
                .into(),
    }))
}

async fn delete(
    State(st): State<AppState>,
    principal: Principal,
    ServerAt(s): ServerAt,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let version = version(&pairs)?;
    inventory::delete_server(&st.app, s.id, version, &principal.actor()).await?;
    Ok(Flash::redirect("/servers", format!("Server {} deleted.", s.name)).into_response())
}

/// Alert transitions shown on an object's page.
const HISTORY_ROWS: u32 = 20;
