//! The integration tests, built as one test binary (`cargo test --test it`) so that the crate and
//! its dependencies are linked once rather than once per file.
//!
//! One module per capability (the store, the pages and API by area, the DNS check, the zone
//! export under BIND, the browser suite); `helpers` is what they share: it runs each store and
//! HTTP test once per backend, on a fresh, migrated database each time (SQLite always,
//! PostgreSQL when `PBX_POOLS_TEST_PG_URL` is set; `helpers::each_backend` gives the HTTP tests
//! the real router), and serves test zones from an in-process DNS server. The browser suite and
//! the DNS-check and BIND tests that need no router run on SQLite only.

mod helpers;

mod alert_log;
mod alert_webhook;
mod browser;
mod browser_alerts;
mod browser_bulk;
mod browser_charts;
mod browser_moves;
mod browser_plan;
mod browser_preview;
mod browser_search;
mod bulk_scale;
mod crash;
mod dns_check;
mod impact_preview;
mod import_versions;
mod instances;
mod jobs_shared;
mod moves;
mod moves_web;
mod rough_edges;
mod store;
mod store_checkpoint;
mod store_ingest;
mod store_jobs;
mod store_series;
mod store_upgrade;
mod tenant_book;
mod two_servers;
mod web_alerts;
mod web_api_schema;
mod web_bulk;
mod web_charts;
mod web_hardening;
mod web_input;
mod web_inventory;
mod web_pages;
mod web_plan;
mod web_registrations;
mod web_search;
mod web_security;
mod web_srv;
mod zone_bind;
