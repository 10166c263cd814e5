//! pbx-pools: an admin dashboard for the DNS SRV pools of multi-tenant Asterisk PBX clusters.
//!
//! Layers, from the ground up: [`domain`] (pure rules), [`store`] (SQLite/PostgreSQL) and
//! [`dnscheck`] (live DNS lookups), [`app`] (the use cases), then its callers: [`web`] (axum
//! pages and JSON API), [`jobs`] (background work) and [`cli`] (the `pbx-pools` command).
//! Arrows point one way: `web`, `cli`, `jobs` → `app` → `store`, `dnscheck`, `domain`.

pub mod app;
pub mod cli;
pub mod config;
pub mod dnscheck;
pub mod domain;
pub mod jobs;
pub mod store;
pub mod web;
