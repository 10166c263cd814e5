//! `/metrics` in the Prometheus text format (prometheus-client): phones per server, away phones
//! per pool, alerts by kind and severity (silenced ones apart), seconds since each server's last
//! snapshot.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use super::{AppState, Result, Routes};
use crate::app::Seen;
use crate::app::cluster::load_with_alerts;

pub fn router() -> Routes {
    Routes::new().get("/metrics", metrics)
}

type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

fn family(registry: &mut Registry, name: &str, help: &str) -> Family<Labels, FloatGauge> {
    let f = Family::<Labels, FloatGauge>::default();
    registry.register(name, help, f.clone());
    f
}

fn label(k: &str, v: &str) -> Labels {
    vec![(k.to_string(), v.to_string())]
}

async fn metrics(State(st): State<AppState>, seen: Seen) -> Result<Response> {
    let (view, all) = load_with_alerts(&st.app, seen).await?;
    let now = jiff::Timestamp::now().as_second();
    let mut registry = Registry::with_prefix("pbx_pools");
    let phones = family(
        &mut registry,
        "server_phones",
        "Phones registered on the server in its newest snapshot",
    );
    let home = family(
        &mut registry,
        "server_home_phones",
        "Registered phones whose pool prefers this server",
    );
    let away = family(
        &mut registry,
        "server_away_phones",
        "Registered phones whose pool prefers another server",
    );
    let projected = family(
        &mut registry,
        "server_projected_phones",
        "Expected phones of the tenants' pools on this server, nothing down",
    );
    let capacity = family(
        &mut registry,
        "server_capacity_phones",
        "Configured capacity of the server",
    );
    let age = family(
        &mut registry,
        "server_snapshot_age_seconds",
        "Seconds since the server's last registration snapshot",
    );
    for s in &view.stats {
        let l = label("server", &s.server);
        phones.get_or_create(&l).set(s.registered as f64);
        home.get_or_create(&l).set(s.home as f64);
        away.get_or_create(&l).set(s.away as f64);
        projected.get_or_create(&l).set(s.projected);
        if let Some(c) = s.capacity {
            capacity.get_or_create(&l).set(c as f64);
        }
        if let Some(t) = s.last_report_at {
            age.get_or_create(&l).set((now - t).max(0) as f64);
        }
    }
    let pool_away = family(
        &mut registry,
        "pool_away_phones",
        "Registered phones of the pool on servers other than its home",
    );
    let pool_phones = family(
        &mut registry,
        "pool_phones",
        "Registered phones of the pool's tenants",
    );
    let pool_changing = family(
        &mut registry,
        "pool_changing",
        "1 while the pool's member change waits for publication or for caches to expire (its placement alerts held back), else 0",
    );
    for p in &view.pool_stats {
        let l = label("pool", &p.pool);
        pool_away.get_or_create(&l).set(p.away_phones as f64);
        pool_phones.get_or_create(&l).set(p.registered as f64);
        pool_changing
            .get_or_create(&l)
            .set(if view.pool_changing(Some(p.pool_id)) {
                1.0
            } else {
                0.0
            });
    }
    let alert_family = family(
        &mut registry,
        "alerts",
        "Current alerts by kind and severity, silenced ones left out",
    );
    let silenced = Gauge::<i64>::default();
    registry.register(
        "alerts_silenced",
        "Current alerts a silence covers (left out of pbx_pools_alerts)",
        silenced.clone(),
    );
    let states = super::alerts::alert_states(&st, None, seen).await?;
    let mut by: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut silenced_count = 0i64;
    for a in all.alerts.iter() {
        if states.state(a).is_silenced() {
            silenced_count += 1;
            continue;
        }
        *by.entry((a.kind.as_str().to_string(), a.severity.as_str().to_string()))
            .or_default() += 1;
    }
    for ((kind, severity), n) in by {
        alert_family
            .get_or_create(&vec![("kind".into(), kind), ("severity".into(), severity)])
            .set(n as f64);
    }
    silenced.set(silenced_count);
    let moves = family(
        &mut registry,
        "tenant_moves",
        "Tenant moves by state (moving and stalled are in flight)",
    );
    let awaiting = Gauge::<i64>::default();
    registry.register(
        "phones_awaiting_reprovisioning",
        "Phones of tenants in a move that are not on the new pool's home servers yet",
        awaiting.clone(),
    );
    let (by_state, waiting) = crate::app::moves::gauges(&st.app).await?;
    for (state, n) in by_state {
        moves
            .get_or_create(&label("state", state.as_str()))
            .set(n as f64);
    }
    awaiting.set(i64::try_from(waiting).unwrap_or(i64::MAX));
    let dns = family(
        &mut registry,
        "dns_pool_in_sync",
        "1 when the pool's live SRV records match the export at the last DNS check, 0 on drift, -1 when DNS could not be asked",
    );
    let dns_age = family(
        &mut registry,
        "dns_check_age_seconds",
        "Seconds since the last DNS check",
    );
    if let Some(crate::store::StoredCheck { report, .. }) = st.store().latest_dns_check().await? {
        for p in &report.pools {
            let v = match p.status {
                crate::domain::dnscheck::PoolStatus::InSync => 1.0,
                crate::domain::dnscheck::PoolStatus::Drift => 0.0,
                crate::domain::dnscheck::PoolStatus::Unknown => -1.0,
            };
            dns.get_or_create(&label("pool", &p.pool)).set(v);
        }
        dns_age
            .get_or_create(&vec![])
            .set((now - report.at).max(0) as f64);
    }
    let mut body = String::new();
    if encode(&mut body, &registry).is_err() {
        return Ok((StatusCode::INTERNAL_SERVER_ERROR, "metrics encoding failed").into_response());
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
