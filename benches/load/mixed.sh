#!/usr/bin/env bash
# The mixed read load of BENCHMARKS.md ("Mixed load with and without pushes"): wrk at 64
# connections for DURATION seconds (default 30) over the overview, stats API, alerts API and
# healthz, against the generated 10,000-tenant / 40-server cluster, first alone, then with a
# 5,000-contact push (1% changed each time) every second. Needs a release build and wrk.
# Superseded by benches/load.sh (the performance issue's table); kept to rerun the figures
# BENCHMARKS.md recorded with it.
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${DURATION:-30}
bin=target/release/pbx-pools
port=${PORT:-18091}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
db="$work/big.db"
"$bin" demo --database-url "$db" --tenants 10000 --servers 40 --seed 1 >/dev/null
echo "load-password-1" | "$bin" user add load --role admin --password-stdin --database-url "$db" >/dev/null
read_token=$("$bin" token create --name load-read --scope read --database-url "$db" | grep -o 'pbxp_[A-Za-z0-9_-]*' | head -1)
server=$(sqlite3 "$db" "SELECT name FROM servers ORDER BY id LIMIT 1" 2>/dev/null || python3 -c "import sqlite3,sys; print(sqlite3.connect('$db').execute('SELECT name FROM servers ORDER BY id LIMIT 1').fetchone()[0])")
push_token=$("$bin" token create --name load-push --scope "ingest:$server" --database-url "$db" | grep -o 'pbxp_[A-Za-z0-9_-]*' | head -1)
"$bin" serve --database-url "$db" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
cookie=$(curl -s -o /dev/null -D - -d 'name=load&password=load-password-1' "http://127.0.0.1:$port/login" \
  | grep -i '^set-cookie: pbx_session=' | sed 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/')
curl -fs -o /dev/null -H "Cookie: $cookie" "http://127.0.0.1:$port/"   # the first view
export PBX_COOKIE="$cookie" PBX_TOKEN="$read_token"
rss() { ps -o rss= -p "$(pgrep -f "serve --database-url $db" | head -1)" | awk '{printf "%.0f MB", $1/1024}'; }
echo "== reads alone (${duration}s, 64 connections)"
wrk -t2 -c64 -d"${duration}s" --timeout 10s -s benches/load/mixed.lua "http://127.0.0.1:$port" | tail -1
echo "   RSS after: $(rss)"
echo "== reads with a 5,000-contact push to $server every second"
python3 benches/load/push.py "$db" "http://127.0.0.1:$port" "$push_token" "$server" &
pusher=$!
wrk -t2 -c64 -d"${duration}s" --timeout 10s -s benches/load/mixed.lua "http://127.0.0.1:$port" | tail -1
kill -TERM $pusher; wait $pusher || true
echo "   RSS after: $(rss)"
