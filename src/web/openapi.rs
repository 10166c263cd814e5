//! `/api/v1/openapi.json`: the OpenAPI document of the JSON API, built with utoipa from the same
//! route table the router is built from, so every API route is described (a test checks it).

use axum::Json;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, Paths};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Required, Response,
};

use super::Routes;
use crate::domain::auth::{Scope, api_allows};

pub fn router() -> Routes {
    Routes::new().get("/api/v1/openapi.json", serve)
}

async fn serve() -> Json<OpenApi> {
    Json(document())
}

/// What each API call does, in a sentence.
fn summary(method: &str, path: &str) -> &'static str {
    match (method, path) {
        ("GET", "/api/v1/servers") => "List servers",
        ("GET", "/api/v1/servers/stats") => {
            "Per server: registered, home, away, projected phones, capacity, last report"
        }
        ("POST", "/api/v1/servers/{server}/registrations") => {
            "Push a server's registration dump (pjsip-contacts, sip-peers, ami-contacts, csv, json)"
        }
        ("GET", "/api/v1/servers.csv") => "Export servers as CSV",
        ("GET", "/api/v1/pools") => "List pools with their members",
        ("GET", "/api/v1/pools/{name}/shares") => {
            "Exact SRV shares of a stored pool (?down=…&model=weighted|rfc2782)"
        }
        ("GET", "/api/v1/tenants") => "List tenants (?q=&pool=&sort=&desc=&page=&per_page=)",
        ("GET", "/api/v1/tenants/{code}") => "A tenant with its phones per server and split status",
        ("PUT", "/api/v1/tenants/{code}/pool") => {
            "Assign a tenant to a pool ({\"pool\": name|null, \"version\": n})"
        }
        ("GET", "/api/v1/tenants.csv") => "Export tenants as CSV",
        ("POST", "/api/v1/srv/shares") => "Exact SRV shares of given records under a client model",
        ("GET", "/api/v1/whatif") => "Projected phones per server with servers down (?down=…)",
        ("GET", "/api/v1/export") => {
            "SRV records as bind, nsupdate, json, octodns or dnscontrol (?pools=&format=&origin=)"
        }
        ("GET", "/api/v1/dns/check") => "The latest live DNS check (?run=1 runs one)",
        ("GET", "/api/v1/alerts") => "Current alerts (?kind=&severity=&tenant=&server=)",
        ("POST", "/api/v1/plan") => "Compute a rebalance plan",
        ("POST", "/api/v1/plan/apply") => "Apply a computed plan, all or chosen moves",
        ("GET", "/api/v1/openapi.json") => "This document",
        _ => "",
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
        let public = path == "/api/v1/openapi.json";
        let allowed = scopes(method.as_str(), path);
        let mut op = OperationBuilder::new()
            .summary(Some(summary(method.as_str(), path)))
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
            .response("200", Response::new("Success"));
        if !public {
            op = op
                .response(
                    "400",
                    Response::new("Invalid input: RFC 9457 problem document naming the field"),
                )
                .response(
                    "401",
                    Response::new("No or unknown bearer token (problem document)"),
                )
                .response(
                    "403",
                    Response::new("The token's scope does not allow this call (problem document)"),
                )
                .response(
                    "404",
                    Response::new("Unknown server, pool or tenant (problem document)"),
                )
                .security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        if method == axum::http::Method::PUT || path.ends_with("/apply") {
            op = op.response(
                "409",
                Response::new("Changed by someone else since it was read (problem document)"),
            );
        }
        for name in path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            op = op.parameter(
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True),
            );
        }
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
                .security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()))
                .build(),
        ))
        .build()
}
