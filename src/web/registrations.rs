//! Registration input: the ingest API each PBX pushes to, and the upload/paste page.

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::auth::Principal;
use super::extract::Path;
use super::{
    ApiError, AppState, Error, Flash, PageCtx, Result, Routes, filters, page, render_page,
};
use crate::app::ingest::{choose_format, ingest, parse, store_rows};
use crate::domain::model::Server;
use crate::domain::registrations::DumpFormat;
use crate::store::{IngestSummary, Snapshot};

pub fn router() -> Routes {
    Routes::new()
        .upload("/api/v1/servers/{server}/registrations", api_ingest)
        .get("/registrations", page_list)
        .upload("/registrations", upload)
}

/// The `format` query parameter, if any.
fn format_param(query: Option<&str>) -> Result<Option<String>> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
        .map_err(|_| Error::BadRequest("the query string could not be read".into()))?;
    Ok(pairs
        .into_iter()
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v))
}

async fn api_ingest(
    State(st): State<AppState>,
    principal: Principal,
    Path(server): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<IngestSummary>, ApiError> {
    let server = st.store().server_by_name(&server).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| Error::BadRequest("the dump is not UTF-8 text".into()))?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = choose_format(format_param(q.as_deref())?.as_deref(), ct, text)?;
    let rows = parse(format, text)?;
    // The rows own their text: the dump's memory goes back before the store's work.
    drop(body);
    Ok(Json(
        store_rows(&st.app, &server, format, rows, &principal.actor()).await?,
    ))
}

struct ServerRow {
    server: Server,
    last: Option<Snapshot>,
}

#[derive(Template)]
#[template(path = "registrations.html")]
struct ListPage {
    ctx: PageCtx,
    rows: Vec<ServerRow>,
    servers: Vec<Server>,
    formats: [DumpFormat; 5],
    selected: String,
    /// What a refused upload had: the pasted text and the chosen format, shown again.
    dump: String,
    format: String,
    error: Option<String>,
    history: Vec<(String, Snapshot)>,
}

/// What the upload form held when it was refused.
#[derive(Default)]
struct Entered {
    server: String,
    format: String,
    dump: String,
}

async fn list_page(
    st: &AppState,
    ctx: PageCtx,
    entered: Entered,
    error: Option<String>,
) -> Result<ListPage> {
    let servers = st.store().servers().await?;
    let latest = st.store().latest_snapshots().await?;
    let mut history = Vec::new();
    for s in &servers {
        for snap in st.store().snapshots_of(s.id, 5).await? {
            history.push((s.name.to_string(), snap));
        }
    }
    history.sort_by_key(|h| std::cmp::Reverse(h.1.received_at));
    history.truncate(30);
    let rows = servers
        .iter()
        .map(|s| {
            let last = latest.iter().find(|x| x.server_id == s.id).cloned();
            ServerRow {
                server: s.clone(),
                last,
            }
        })
        .collect();
    Ok(ListPage {
        ctx,
        rows,
        servers,
        formats: DumpFormat::ALL,
        selected: entered.server,
        dump: entered.dump,
        format: entered.format,
        error,
        history,
    })
}

async fn page_list(State(st): State<AppState>, ctx: PageCtx) -> Result<Response> {
    Ok(page(&list_page(&st, ctx, Entered::default(), None).await?))
}

/// The upload form: a server, a format (or auto), and a pasted or uploaded dump.
async fn upload(
    State(st): State<AppState>,
    ctx: PageCtx,
    principal: Principal,
    mut form: Multipart,
) -> Result<Response> {
    let (mut server, mut format, mut text, mut file) =
        (String::new(), String::new(), String::new(), String::new());
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| Error::BadRequest(format!("the upload could not be read: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| Error::BadRequest(format!("the upload could not be read: {e}")))?;
        let value = String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::BadRequest(format!("{name} is not UTF-8 text")))?;
        match name.as_str() {
            "server" => server = value,
            "format" => format = value,
            "dump" => text = value,
            "file" => file = value,
            _ => {}
        }
    }
    // A refused upload shows the pasted text again (a file's content is not copied into it).
    let pasted = text.clone();
    if !file.trim().is_empty() {
        text = file;
    }
    let refuse = |msg: String| async {
        let entered = Entered {
            server: server.clone(),
            format: format.clone(),
            dump: pasted.clone(),
        };
        let p = list_page(&st, ctx.clone(), entered, Some(msg)).await?;
        Ok::<Response, Error>(render_page(StatusCode::UNPROCESSABLE_ENTITY, &p))
    };
    let Ok(srv) = st.store().server_by_name(server.trim()).await else {
        return refuse("choose the server that produced the dump".into()).await;
    };
    let fmt = match choose_format(Some(format.as_str()), None, &text) {
        Ok(f) => f,
        Err(e) => return refuse(e.to_string()).await,
    };
    match ingest(&st.app, &srv, fmt, &text, &principal.actor()).await {
        Ok(s) => Ok(Flash::redirect(
            "/registrations",
            format!(
                "{}: {} contacts read, {} phones registered, {} matched to tenants, {} unmatched, {} moved here.",
                srv.name, s.contacts, s.registered, s.matched, s.unmatched, s.moves
            ),
        )
        .into_response()),
        Err(crate::app::Error::BadInput(msg)) => refuse(msg).await,
        Err(e) => Err(e.into()),
    }
}
