//! `/api/v1/openapi.json`: the OpenAPI document of the JSON API, built with utoipa from the same
//! route table the router is built from, so every API route is described (a test checks it).
//!
//! Each call's request body, query and path parameters and responses are described in [`call`];
//! the schemas come from `#[derive(utoipa::ToSchema)]` on the types the handlers read and write
//! (the typed names in `domain::names` describe themselves as patterned strings); a test checks
//! that the schemas of the store's and view's rows name exactly the fields they serialise.
//! `benches/schemathesis.sh` fuzzes the running server against this document.

use axum::Json;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, ParameterStyle, Paths,
};
use utoipa::openapi::request_body::{RequestBody, RequestBodyBuilder};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Ref, RefOr, Required,
};
use utoipa::{PartialSchema, ToSchema};

use super::Routes;
use crate::domain::auth::{Scope, api_allows};

pub fn router() -> Routes {
    Routes::new().get("/api/v1/openapi.json", serve)
}

async fn serve() -> Json<OpenApi> {
    Json(document())
}

/// The named schemas the document references, collected while the calls are described.
#[derive(Default)]
struct Schemas(Vec<(String, RefOr<Schema>)>);

impl Schemas {
    /// A reference to `T`'s schema, registering it and every schema it refers to.
    fn of<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let name = T::name().to_string();
        if !self.0.iter().any(|(n, _)| *n == name) {
            self.0.push((name.clone(), T::schema()));
            T::schemas(&mut self.0);
        }
        Ref::from_schema_name(name).into()
    }

    fn list_of<T: ToSchema>(&mut self) -> RefOr<Schema> {
        ArrayBuilder::new().items(self.of::<T>()).into()
    }
}

/// The search's text as `domain::search` takes it: at most 200 characters, none of them a
/// control character.
fn search_text() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(crate::domain::search::MAX_QUERY_CHARS))
        .pattern(Some("^[^\\u0000-\\u001F\\u007F-\\u009F]*$"))
        .into()
}

/// A string that is one of `values`, or empty: an empty parameter means "not given", as an
/// HTML form sends it.
fn one_of(values: &[&str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(std::iter::once("").chain(values.iter().copied())))
        .into()
}

fn string() -> RefOr<Schema> {
    String::schema()
}

/// Any JSON value.
fn any() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::AnyValue)
        .into()
}

fn query(name: &str, schema: RefOr<Schema>, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

/// `name=a,b` or `name=a&name=b`: a list of strings.
fn query_list(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .schema(Some(ArrayBuilder::new().items(string())))
        .style(Some(ParameterStyle::Form))
        .explode(Some(true))
        .description(Some(description))
        .build()
}

fn path_param(name: &str, schema: RefOr<Schema>, example: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(schema))
        .example(Some(serde_json::Value::from(example)))
        .build()
}

fn json_body(schema: RefOr<Schema>) -> RequestBody {
    RequestBodyBuilder::new()
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .required(Some(Required::True))
        .build()
}

fn ok(description: &str, content: &[(&str, RefOr<Schema>)]) -> Response {
    content
        .iter()
        .fold(
            ResponseBuilder::new().description(description),
            |r, (ct, schema)| {
                r.content(
                    *ct,
                    ContentBuilder::new().schema(Some(schema.clone())).build(),
                )
            },
        )
        .build()
}

fn ok_json(description: &str, schema: RefOr<Schema>) -> Response {
    ok(description, &[("application/json", schema)])
}

/// One API call as the document shows it.
struct Call {
    summary: &'static str,
    query: Vec<Parameter>,
    body: Option<RequestBody>,
    ok: Response,
    /// Whether the call can answer 409 (a stale version, a plan computed on other data).
    conflict: bool,
    /// A call that changes placement: its 409 may also be a change crossing a level, with the
    /// impact preview (see [`previewed`]).
    crossing: bool,
}

impl Call {
    fn new(summary: &'static str, ok: Response) -> Self {
        Self {
            summary,
            query: Vec::new(),
            body: None,
            ok,
            conflict: false,
            crossing: false,
        }
    }
    fn query(mut self, p: Parameter) -> Self {
        self.query.push(p);
        self
    }
    fn body(mut self, b: RequestBody) -> Self {
        self.body = Some(b);
        self
    }
    fn conflict(mut self) -> Self {
        self.conflict = true;
        self
    }
}

/// The `down` and `model` parameters of the share and what-if calls.
fn scenario(call: Call) -> Call {
    call.query(query_list(
        "down",
        "Servers taken down, by name; repeat it or separate names with commas. An unknown name is refused.",
    ))
    .query(query(
        "model",
        one_of(&["weighted", "rfc2782"]),
        "How phones pick among targets (default weighted).",
    ))
}

/// `?dry_run=1` and `?force=1` of a call that changes placement (`web::impact`): a dry run
/// answers the impact preview instead of `applied`, and a change that pushes a server over the
/// warning level or its capacity is refused (409 with the preview) unless forced.
fn previewed(mut call: Call, description: &str, applied: RefOr<Schema>, s: &mut Schemas) -> Call {
    use crate::domain::impact::Impact;
    call.ok = ok_json(
        description,
        utoipa::openapi::schema::OneOfBuilder::new()
            .item(applied)
            .item(s.of::<Impact>())
            .into(),
    );
    call.crossing = true;
    call.conflict = true;
    call.query(query(
        "dry_run",
        one_of(&["0", "1"]),
        "1: answer the impact preview per server (an Impact) and change nothing.",
    ))
    .query(query(
        "force",
        one_of(&["0", "1"]),
        "1: apply even when a server crosses the warning level or its capacity (else 409 with the preview).",
    ))
    .query(query("apply_anyway", one_of(&["0", "1"]), "The same as force."))
}

/// The description of `method path`, or `None` for a route this module does not know (the tests
/// make that impossible for API routes).
fn call(method: &str, path: &str, s: &mut Schemas) -> Option<Call> {
    use super::alerts::AlertPage;
    use super::api::{AssignBody, TenantDetail};
    use super::plan::{Applied, ApplyBody};
    use super::shares::{PoolSharesResponse, SharesResponse, WhatIfResponse};
    use crate::app::plan::{PlanOutcome, PlanRequest};
    use crate::domain::dnscheck::CheckReport;
    use crate::domain::model::{Pool, Server, Tenant};
    use crate::domain::srv::SharesRequest;
    use crate::domain::zone::ZoneRecord;

    let csv = |what| ok(what, &[("text/csv; charset=utf-8", string())]);
    Some(match (method, path) {
        ("GET", "/api/v1/servers") => {
            Call::new("List servers", ok_json("The servers by name", s.list_of::<Server>()))
        }
        ("GET", "/api/v1/search") => Call::new(
            "Search tenants, servers, pools and every server's registered contacts",
            ok_json(
                "The hits by kind; each group holds at most 20 (200 with `kind`) and says whether there was more",
                s.of::<crate::app::search::SearchResults>(),
            ),
        )
        .query(query(
            "q",
            search_text(),
            "The text: tenant codes and names, server and pool names match anywhere; endpoints, \
             contact addresses and user agents from their start. At most 200 characters.",
        ))
        .query(query(
            "kind",
            one_of(&["tenants", "servers", "pools", "endpoints", "contacts", "user_agents"]),
            "Only this group, with up to 200 hits.",
        )),
        ("GET", "/api/v1/servers/stats") => Call::new(
            "Per server: registered, home, away, projected phones, capacity, last report",
            ok_json("One row per server", s.list_of::<crate::app::cluster::ServerStats>()),
        ),
        ("POST", "/api/v1/servers/{server}/registrations") => Call::new(
            "Push a server's registration dump (pjsip-contacts, sip-peers, ami-contacts, csv, json)",
            ok_json("What the dump held and changed", s.of::<crate::store::IngestSummary>()),
        )
        .query(query(
            "format",
            one_of(&["pjsip-contacts", "sip-peers", "ami-contacts", "csv", "json"]),
            "The dump's format; without it the content type (CSV, JSON) or the text itself tells.",
        ))
        .body(
            RequestBodyBuilder::new()
                .description(Some(
                    "The dump as the server printed it: `asterisk -rx \"pjsip show contacts\"`, \
                     `sip show peers`, the AMI PJSIPShowContacts response, CSV with a header row \
                     or a JSON array of rows.",
                ))
                .content(
                    "text/plain",
                    ContentBuilder::new()
                        .schema(Some(string()))
                        .example(Some(serde_json::Value::from(PJSIP_EXAMPLE)))
                        .build(),
                )
                .content("text/csv", ContentBuilder::new().schema(Some(string())).build())
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(any())).build(),
                )
                .required(Some(Required::True))
                .build(),
        ),
        ("GET", "/api/v1/servers.csv") => Call::new("Export servers as CSV", csv("The servers")),
        ("GET", "/api/v1/pools") => Call::new(
            "List pools with their members",
            ok_json("The pools by name", s.list_of::<Pool>()),
        ),
        ("GET", "/api/v1/pools/{name}/shares") => scenario(Call::new(
            "Exact SRV shares of a stored pool",
            ok_json(
                "Each target's and server's share",
                s.of::<PoolSharesResponse>(),
            ),
        )),
        ("GET", "/api/v1/tenants") => Call::new(
            "List tenants, a page at a time",
            ok_json("One page of tenants", s.of::<crate::store::TenantPage>()),
        )
        .query(query(
            "q",
            string(),
            "Search in code, name and notes.",
        ))
        .query(query(
            "pool",
            string(),
            "Only tenants of this pool (by name); `-` for tenants without a pool.",
        ))
        .query(query(
            "sort",
            one_of(&["code", "name", "phones", "pool"]),
            "Sort key (default code; anything else sorts by code).",
        ))
        .query(query("desc", bool::schema(), "Sort descending."))
        .query(query(
            "page",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(u32::MAX))
                .into(),
            "Page number from 1 (default 1).",
        ))
        .query(query(
            "per_page",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(u32::MAX))
                .into(),
            "Tenants per page (default 100; at most 1000 are given).",
        ))
        .query(query(
            "after",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(i64::MAX))
                .into(),
            "Keyset cursor: the page after this tenant id (a page's `next_after`).",
        ))
        .query(query(
            "before",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(i64::MAX))
                .into(),
            "Keyset cursor: the page before this tenant id (a page's `prev_before`).",
        )),
        ("GET", "/api/v1/tenants/{code}") => Call::new(
            "A tenant with its phones per server and split status",
            ok_json("The tenant", s.of::<TenantDetail>()),
        ),
        ("PUT", "/api/v1/tenants/{code}/pool") => {
            let tenant = s.of::<Tenant>();
            previewed(
                Call::new(
                    "Assign a tenant to a pool, or unplace it",
                    ok_json("", tenant.clone()),
                ),
                "The tenant as stored now; with dry_run=1 the impact preview",
                tenant,
                s,
            )
            .body(json_body(s.of::<AssignBody>()))
        }
        ("POST", "/api/v1/bulk-assign") => {
            use super::assign::{BulkAssignBody, BulkAssigned};
            let done = s.of::<BulkAssigned>();
            previewed(
                Call::new(
                    "Move tenants, each at the version read, to a pool in one transaction",
                    ok_json("", done.clone()),
                ),
                "How many moved; with dry_run=1 the impact of the whole selection",
                done,
                s,
            )
            .body(json_body(s.of::<BulkAssignBody>()))
        }
        ("GET", "/api/v1/moves") => Call::new(
            "Tenant moves, newest first, in the tenants' envelope",
            ok_json("A page of moves", s.of::<crate::app::moves::TenantMovePage>()),
        )
        .query(query(
            "state",
            one_of(&["moving", "done", "stalled", "cancelled", "all"]),
            "Which moves: `moving` (default: every move in flight, stalled ones too), `done`, \
             `stalled`, `cancelled` or `all`.",
        ))
        .query(query(
            "page",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(u32::MAX))
                .into(),
            "The page, from 1.",
        ))
        .query(query(
            "per_page",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(200))
                .into(),
            "Moves per page (default 50, at most 200).",
        )),
        ("POST", "/api/v1/moves/{id}/cancel") => {
            let cancelled = s.of::<super::moves::Cancelled>();
            previewed(
                Call::new(
                    "Cancel a move in flight: the tenant goes back to its old pool (admin scope)",
                    ok_json("", cancelled.clone()),
                ),
                "The move and the tenant as stored now; with dry_run=1 the impact of putting \
                 the tenant back in its old pool",
                cancelled,
                s,
            )
            .body(json_body(s.of::<super::moves::CancelBody>()))
        }
        ("GET", "/api/v1/tenants.csv") => Call::new("Export tenants as CSV", csv("The tenants")),
        ("POST", "/api/v1/srv/shares") => Call::new(
            "Exact SRV shares of given records under a client model",
            ok_json("Each target's and server's share", s.of::<SharesResponse>()),
        )
        .body(json_body(s.of::<SharesRequest>())),
        ("GET", "/api/v1/whatif") => scenario(Call::new(
            "Projected phones per server with servers down",
            ok_json("The projection", s.of::<WhatIfResponse>()),
        )),
        ("GET", "/api/v1/export") => Call::new(
            "SRV records in a DNS tool's format",
            ok(
                "The records; the content type follows the format",
                &[
                    ("text/dns", string()),
                    ("text/plain; charset=utf-8", string()),
                    ("application/json", s.list_of::<ZoneRecord>()),
                    ("application/yaml", string()),
                    ("text/javascript; charset=utf-8", string()),
                ],
            ),
        )
        .query(query_list("pools", "Pools to export, by name (default all)."))
        .query(query_list(
            "transports",
            "Transports to publish: udp, tcp, tls (default each pool's own).",
        ))
        .query(query(
            "format",
            one_of(&["bind", "nsupdate", "json", "octodns", "dnscontrol"]),
            "Output format (default bind).",
        ))
        .query(query(
            "origin",
            string(),
            "Write owners relative to this zone (BIND), or the zone of the other formats.",
        ))
        .query(query("ttl", string(), "Default TTL of the zone ($TTL), seconds."))
        .query(query("server", string(), "nsupdate: the server to send to."))
        .query(query("key", string(), "nsupdate: the TSIG key file to use.")),
        ("GET", "/api/v1/dns/check") => Call::new(
            "The latest live DNS check, or a new one",
            ok_json("The check's findings per pool", s.of::<CheckReport>()),
        )
        .query(query(
            "run",
            string(),
            "`1` or `true` runs a check now (admin scope) instead of returning the latest.",
        )),
        ("GET", "/api/v1/alerts") => Call::new(
            "Current alerts, a page at a time, ranked by impact or age",
            ok_json(
                "One page of alerts (the envelope of GET /api/v1/tenants)",
                s.of::<AlertPage>(),
            ),
        )
        .query(query(
            "kind",
            one_of(&crate::domain::alerts::AlertKind::ALL.map(|k| k.as_str())),
            "Only alerts of this kind, or gathering a facet of this kind.",
        ))
        .query(query(
            "severity",
            one_of(&["info", "warning", "critical"]),
            "Only alerts of this severity or worse.",
        ))
        .query(query("tenant", string(), "Only alerts naming this tenant code."))
        .query(query("server", string(), "Only alerts naming this server."))
        .query(query("pool", string(), "Only alerts naming this pool."))
        .query(query(
            "state",
            one_of(&["active", "silenced", "all"]),
            "active (default): not silenced, acknowledged ones included; silenced; or all.",
        ))
        .query(query("id", string(), "Only the alert with this id."))
        .query(query(
            "sort",
            one_of(&["impact", "age"]),
            "impact (default): severity, then phones affected; age: by when each was raised, unknown starts last.",
        ))
        .query(query(
            "dir",
            one_of(&["asc", "desc"]),
            "With sort=age: desc (default) newest first, asc oldest first.",
        ))
        .query(query(
            "page",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(u32::MAX))
                .into(),
            "Page number from 1 (default 1); a page past the last has no rows.",
        ))
        .query(query(
            "per_page",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(crate::domain::alerts::listing::MAX_PER_PAGE))
                .into(),
            "Alerts per page, 1 to 200 (default 50).",
        )),
        ("GET", "/api/v1/silences") => Call::new(
            "Alert silences: those in force and the 50 that ended last",
            ok_json("The silences", s.of::<super::silences::SilenceList>()),
        ),
        ("POST", "/api/v1/silences") => Call::new(
            "Silence the alerts matching a filter (kind, server, pool, tenant) or one alert, for a while, with a reason",
            ok_json("The silence as stored", s.of::<crate::domain::alerts::log::Silence>()),
        )
        .body(json_body(s.of::<super::silences::SilenceBody>())),
        ("DELETE", "/api/v1/silences/{id}") => Call::new(
            "End a silence now",
            ok_json("The silence, removed", s.of::<crate::domain::alerts::log::Silence>()),
        )
        .conflict(),
        ("POST", "/api/v1/plan") => Call::new(
            "Compute a rebalance plan",
            ok_json("The plan and its moves", s.of::<PlanOutcome>()),
        )
        .body(json_body(s.of::<PlanRequest>())),
        ("POST", "/api/v1/plan/apply") => {
            let applied = s.of::<Applied>();
            previewed(
                Call::new(
                    "Apply a computed plan, all or chosen moves",
                    ok_json("", applied.clone()),
                ),
                "How many tenants moved; with dry_run=1 the impact of the chosen moves",
                applied,
                s,
            )
            .body(json_body(s.of::<ApplyBody>()))
        }
        ("GET", "/api/v1/openapi.json") => Call::new(
            "This document",
            ok_json("OpenAPI 3.1", ObjectBuilder::new().into()),
        ),
        _ => return None,
    })
}

/// A `pjsip show contacts` dump of two of the demo's phones.
const PJSIP_EXAMPLE: &str = "
  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>
==========================================================================================

  Contact:  100-CANISTRACCI/sip:100-CANISTRACCI@192.0.2.10:5060 0a1b2c3d4e Avail        12.345
  Contact:  101-CANISTRACCI/sip:101-CANISTRACCI@192.0.2.11:5060 0a1b2c3d4f Avail        11.002

Objects found: 2
";

/// The schema of a path parameter, and an example from the demo data.
fn path_schema(name: &str) -> (RefOr<Schema>, &'static str) {
    use crate::domain::names::{PoolName, ServerName, TenantCode};
    match name {
        "server" => (ServerName::schema(), "voip1"),
        "name" => (PoolName::schema(), "pbxA"),
        "code" => (TenantCode::schema(), "CANISTRACCI"),
        "id" => (i64::schema(), "1"),
        _ => (string(), ""),
    }
}

/// The token scopes that may make a call, from the access rule itself.
fn scopes(method: &str, path: &str) -> Vec<String> {
    let concrete = path.replace("{server}", "SERVER");
    let mut out: Vec<String> = [Scope::Read, Scope::Admin]
        .into_iter()
        .filter(|s| api_allows(s, method, &concrete))
        .map(|s| s.to_string())
        .collect();
    if api_allows(&Scope::Ingest("SERVER".into()), method, &concrete) {
        out.push("ingest:{server}".into());
    }
    out
}

pub fn document() -> OpenApi {
    let mut schemas = Schemas::default();
    let problem = schemas.of::<super::error::Problem>();
    let refused = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/problem+json",
                ContentBuilder::new().schema(Some(problem.clone())).build(),
            )
            .build()
    };
    let mut paths = Paths::new();
    for (method, path) in super::route_table() {
        if !path.starts_with("/api/") {
            continue;
        }
        let http = match method.as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "DELETE" => HttpMethod::Delete,
            _ => continue,
        };
        let Some(call) = call(method.as_str(), path, &mut schemas) else {
            continue;
        };
        let public = path == "/api/v1/openapi.json";
        let allowed = scopes(method.as_str(), path);
        let mut op = OperationBuilder::new()
            .summary(Some(call.summary))
            .description(Some(if public {
                "No token needed.".to_string()
            } else {
                format!("Token scopes allowed: {}.", allowed.join(", "))
            }))
            .operation_id(Some(format!("{} {path}", method.as_str().to_lowercase())))
            .tag(
                path.trim_start_matches("/api/v1/")
                    .split(['/', '.'])
                    .next()
                    .unwrap_or("api"),
            )
            .response("200", call.ok)
            .response(
                "405",
                refused("The call does not take this method (problem document)"),
            );
        if !public {
            op = op
                .response(
                    "400",
                    refused("Invalid input: a problem document naming the field"),
                )
                .response("401", refused("No or unknown bearer token"))
                .response("403", refused("The token's scope does not allow this call"))
                .response("404", refused("Unknown server, pool or tenant"))
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        if call.body.is_some() {
            op = op
                .response("413", refused("The body is larger than this call accepts"))
                .response(
                    "415",
                    refused("The body's content type is not accepted here"),
                );
        }
        if call.crossing {
            // The problem of a crossing is a Problem with one extension member (RFC 9457),
            // `impact`: the preview, as a dry run answers it.
            op = op.response(
                "409",
                refused(
                    "Changed by someone else since it was read; or a server would cross the \
                     warning level or its capacity and force=1 was not given: the problem then \
                     carries the impact preview (an Impact) in its `impact` member",
                ),
            );
        } else if call.conflict {
            op = op.response("409", refused("Changed by someone else since it was read"));
        }
        for name in path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            let (schema, example) = path_schema(name);
            op = op.parameter(path_param(name, schema, example));
        }
        for p in call.query {
            op = op.parameter(p);
        }
        op = op.request_body(call.body);
        paths.add_path_operation(path, vec![http], op.build());
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("pbx-pools")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "JSON API of pbx-pools. Send `Authorization: Bearer pbxp_…`; errors are RFC 9457 problem documents.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(
            ComponentsBuilder::new()
                .schemas_from_iter(schemas.0)
                .security_scheme(
                    "bearer",
                    SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
                )
                .build(),
        ))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::to_value(document()).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((method.to_uppercase(), path.clone(), op.clone()));
            }
        }
        out
    }

    #[test]
    fn every_api_route_is_described_with_schemas() {
        let doc = doc();
        let ops = operations(&doc);
        let api: Vec<_> = crate::web::route_table()
            .into_iter()
            .filter(|(_, p)| p.starts_with("/api/"))
            .collect();
        assert_eq!(ops.len(), api.len(), "one operation per API route");
        for (method, path) in api {
            let Some((_, _, op)) = ops
                .iter()
                .find(|(m, p, _)| *m == method.as_str() && p == path)
            else {
                panic!("{method} {path} is not in the document");
            };
            let ok = &op["responses"]["200"]["content"];
            assert!(
                ok.as_object().is_some_and(|c| !c.is_empty()
                    && c.values().all(|m| m.get("schema").is_some())),
                "{method} {path}: no 200 response schema: {op}"
            );
            if method == axum::http::Method::POST || method == axum::http::Method::PUT {
                let body = &op["requestBody"]["content"];
                assert!(
                    body.as_object().is_some_and(
                        |c| !c.is_empty() && c.values().all(|m| m.get("schema").is_some())
                    ),
                    "{method} {path} takes a body but has no request schema: {op}"
                );
            }
            for (status, res) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') {
                    assert_eq!(
                        res["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                assert!(
                    param.get("schema").is_some(),
                    "{method} {path}: parameter without a type: {param}"
                );
            }
        }
    }

    /// Every `$ref` points at a schema the document has.
    #[test]
    fn every_reference_resolves() {
        let doc = doc();
        let names = doc["components"]["schemas"].as_object().unwrap();
        let text = doc.to_string();
        let mut refs: Vec<&str> = text
            .match_indices("#/components/schemas/")
            .map(|(i, _)| {
                let rest = &text[i + "#/components/schemas/".len()..];
                &rest[..rest.find('"').unwrap()]
            })
            .collect();
        refs.sort();
        refs.dedup();
        assert!(refs.len() > 20, "{refs:?}");
        for r in refs {
            assert!(names.contains_key(r), "dangling reference to {r}");
        }
    }

    #[test]
    fn typed_names_are_patterned_strings() {
        let doc = doc();
        let schemas = &doc["components"]["schemas"];
        for name in ["ServerName", "PoolName", "HostName", "TenantCode"] {
            assert_eq!(schemas[name]["type"], "string", "{name}");
            assert!(schemas[name]["pattern"].is_string(), "{name}");
            assert!(schemas[name]["maxLength"].is_u64(), "{name}");
        }
        let re = regex::Regex::new(schemas["HostName"]["pattern"].as_str().unwrap()).unwrap();
        assert!(re.is_match("voip1.example.com"));
        assert!(!re.is_match("voip1.example.com."));
        assert!(!re.is_match("VOIP1.example.com"));
        let re = regex::Regex::new(schemas["TenantCode"]["pattern"].as_str().unwrap()).unwrap();
        assert!(re.is_match("CANISTRACCI"));
        assert!(!re.is_match("acme-corp"));
    }

    /// The property names of a component schema (following `allOf` for flattened fields).
    fn properties(doc: &Value, name: &str) -> Vec<String> {
        let schema = &doc["components"]["schemas"][name];
        let mut out: Vec<String> = schema["properties"]
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        for part in schema["allOf"].as_array().into_iter().flatten() {
            if let Some(r) = part["$ref"].as_str() {
                out.extend(properties(doc, r.rsplit('/').next().unwrap()));
            }
            if let Some(o) = part["properties"].as_object() {
                out.extend(o.keys().cloned());
            }
        }
        out.sort();
        out
    }

    fn keys(v: impl serde::Serialize) -> Vec<String> {
        let mut k: Vec<String> = serde_json::to_value(v)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    }

    #[test]
    fn row_schemas_name_the_serialised_fields() {
        use crate::domain::ids::ServerId;
        let doc = doc();
        let page = crate::store::TenantPage {
            rows: vec![],
            total: 0,
            page: 1,
            per_page: 1,
            next_after: None,
            prev_before: None,
            moves: Default::default(),
        };
        assert_eq!(keys(&page), properties(&doc, "TenantPage"));
        let stats = crate::app::cluster::ServerStats {
            server: "voip1".into(),
            state: crate::domain::model::ServerState::Active,
            registered: 0,
            home: 0,
            away: 0,
            awaiting: 0,
            unmatched: 0,
            projected: 0.0,
            capacity: None,
            last_report_at: None,
            reporting_since: None,
            worst_n1: None,
        };
        assert_eq!(keys(&stats), properties(&doc, "ServerStats"));
        let summary = crate::store::IngestSummary {
            snapshot_id: 1,
            contacts: 0,
            registered: 0,
            matched: 0,
            unmatched: 0,
            moves: 0,
            written: 0,
        };
        assert_eq!(keys(&summary), properties(&doc, "IngestSummary"));
        let row = crate::store::PhoneRow {
            endpoint: "100-ACME".into(),
            server_id: ServerId::new(1),
            server: "voip1".into(),
            tenant_id: None,
            contact: "sip:100@192.0.2.1".into(),
            user_agent: None,
            status: "Avail".into(),
            since: None,
        };
        assert_eq!(keys(&row), properties(&doc, "PhoneRow"));
        let regs = crate::app::tenants::TenantRegistrations {
            home: None,
            home_servers: vec![],
            phones_by_server: vec![],
            registered: 0,
            placement: None,
            normal_away_share: 0.1,
            away: vec![row],
            moves: vec![],
            awaiting_servers: vec![],
            listed_twice: vec![],
        };
        assert_eq!(keys(&regs), properties(&doc, "TenantRegistrations"));
        let m = crate::store::TenantMove {
            id: crate::domain::ids::MoveId::new(1),
            tenant_id: crate::domain::ids::TenantId::new(1),
            tenant: "ROSSI".into(),
            from_pool_id: None,
            to_pool_id: None,
            from_pool: "pbxA".into(),
            to_pool: "pbxB".into(),
            started_at: 0,
            started_by: "admin".into(),
            phones_at_start: 12,
            state: crate::domain::moves::MoveState::Moving,
            end_reason: None,
            ended_at: None,
            ended_by: None,
            progress: Default::default(),
            version: 1,
        };
        assert_eq!(keys(&m), properties(&doc, "TenantMove"));
        let row = crate::app::moves::TenantMoveRow {
            m,
            age_secs: 0,
            percent: 0,
        };
        let mut flat = keys(&row);
        flat.sort();
        let mut schema = properties(&doc, "TenantMoveRow");
        schema.sort();
        assert_eq!(
            flat, schema,
            "TenantMoveRow's schema lists the move's fields flattened"
        );
        let (page, row) = crate::web::alerts::example_page();
        assert_eq!(keys(&page), properties(&doc, "AlertPage"));
        assert_eq!(keys(&row), properties(&doc, "AlertRow"));
    }
}
