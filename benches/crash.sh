#!/bin/sh
# Issue #13's crash test, long form: kill -9 the server 50 times on SQLite and 20 times on
# PostgreSQL while writers run, checking the database and every acknowledged write after each
# kill (tests/it/crash.rs; `cargo test` runs the same code with 5 and 3 kills).
# PostgreSQL runs when PBX_POOLS_TEST_PG_URL is set, e.g.
#   PBX_POOLS_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test benches/crash.sh
# PBX_POOLS_CRASH_SEED=N replays a run's random choices. Extra arguments go to cargo test.
set -eu
cd "$(dirname "$0")/.."
export PBX_POOLS_CRASH_KILLS="${PBX_POOLS_CRASH_KILLS:-50}"
export PBX_POOLS_CRASH_KILLS_PG="${PBX_POOLS_CRASH_KILLS_PG:-20}"
exec cargo test --release --test it "$@" crash -- --nocapture --test-threads=1
