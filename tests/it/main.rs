//! The integration tests, built as one test binary (`cargo test --test it`) so that the crate and
//! its dependencies are linked once rather than once per file.
//!
//! One module per capability (the store on both backends, the pages and API by area, the DNS
//! check, the zone export under BIND, the browser suite); `helpers` is what they share: it spawns
//! the real router over a fresh, migrated database per test (SQLite always, PostgreSQL when
//! `PBX_POOLS_TEST_PG_URL` is set) and serves test zones from an in-process DNS server.

mod helpers;

mod browser;
mod dns_check;
mod store;
mod store_upgrade;
mod web_bulk;
mod web_input;
mod web_inventory;
mod web_plan;
mod web_registrations;
mod web_security;
mod web_srv;
mod zone_bind;
