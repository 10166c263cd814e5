//! pbx-pools: an admin dashboard for the DNS SRV pools of multi-tenant Asterisk PBX clusters.
//!
//! Layers, from the ground up: [`domain`] (pure rules), [`store`] (SQLite/PostgreSQL),
//! [`web`] (axum pages and JSON API), and [`cli`] (the `pbx-pools` command).

pub mod cli;
pub mod config;
pub mod dnscheck;
pub mod domain;
pub mod store;
pub mod web;
