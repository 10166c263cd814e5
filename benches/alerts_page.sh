#!/usr/bin/env bash
# Size and time of the Alerts page at scale (issue 15's budget: <= 150 KB of HTML and <= 50 ms
# of server time for any page, at 10,000 tenants): generates the cluster load.sh uses
# (demo --tenants 10000 --servers 40 --seed 1), serves it, and asks each URL below RUNS times
# one after the other, after one warm-up request that builds the cached view and alerts.
# Prints, per URL: the HTML bytes, the median and worst time to the first byte as curl saw it
# (the page is rendered whole before it is sent), and the median latency the server logged.
#
#   cargo build --release && benches/alerts_page.sh
#   TENANTS=2000 RUNS=10 benches/alerts_page.sh     # a quick look
#
# Environment: TENANTS (10000), SERVERS (40), RUNS (20), PORT (18094), BIN
# (target/release/pbx-pools), KEEP=1 keeps the work directory. Needs curl and awk.
set -euo pipefail
cd "$(dirname "$0")/.."
TENANTS=${TENANTS:-10000}
SERVERS=${SERVERS:-40}
RUNS=${RUNS:-20}
PORT=${PORT:-18094}
BIN=${BIN:-target/release/pbx-pools}
base="http://127.0.0.1:$PORT"
export NO_COLOR=1
[ -x "$BIN" ] || { echo "$BIN is missing: cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
db="sqlite://$work/c.db"
"$BIN" demo --database-url "$db" --tenants "$TENANTS" --servers "$SERVERS" --seed 1 >"$work/demo.out"
echo "load-password-1" | "$BIN" user add load --role admin --password-stdin --database-url "$db" >/dev/null
token=$("$BIN" token create --name bench --scope read --database-url "$db" | grep -o 'pbxp_[A-Za-z0-9_-]*' | head -1)
RUST_LOG=warn,tower_http=info "$BIN" serve --database-url "$db" --listen "127.0.0.1:$PORT" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 200); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
cookie=$(curl -s -o /dev/null -D - -d 'name=load&password=load-password-1' "$base/login" |
  grep -i '^set-cookie: pbx_session=' | sed 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/' | tr -d '\r')
[ -n "$cookie" ] || { echo "login failed" >&2; exit 1; }

# The first page after the start builds the cluster view and evaluates the alerts (cached until
# the data changes, then rebuilt in the background while the previous one is served).
cold=$(curl -fs -o /dev/null -w '%{time_starttransfer}' -H "Cookie: $cookie" "$base/alerts")
# The number of alerts, for the last page.
total=$(curl -fs -H "Authorization: Bearer $token" "$base/api/v1/alerts?per_page=1" | grep -o '"total":[0-9]*' | cut -d: -f2)
last=$(( (total + 49) / 50 ))
mid=$(( (last + 1) / 2 ))
echo "$(tail -1 "$work/demo.out"); $total alerts, $last pages of 50"

# measure LABEL URL [HEADER]
measure() {
  local label=$1 url=$2 header=${3:-"Cookie: $cookie"} from bytes
  curl -fs -o /dev/null -H "$header" "$base$url" # warm-up
  from=$(wc -l <"$work/serve.log")
  : >"$work/times"
  for _ in $(seq 1 "$RUNS"); do
    curl -fs -o /dev/null -w '%{time_starttransfer} %{size_download}\n' -H "$header" "$base$url" >>"$work/times"
  done
  bytes=$(tail -1 "$work/times" | cut -d' ' -f2)
  local logged
  logged=$(tail -n +"$((from + 1))" "$work/serve.log" | sed 's/\x1b\[[0-9;]*m//g' |
    grep -o 'latency=[0-9.]* [mµ]*s' |
    awk '{ v = substr($1, 9) + 0; u = $2; print (u == "s") ? v * 1000 : (u == "ms") ? v : v / 1000 }' |
    sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "?" }')
  sort -n "$work/times" | awk -v label="$label" -v url="$url" -v bytes="$bytes" -v logged="$logged" '
    { t[NR] = $1 * 1000 }
    END { printf "| %s | `%s` | %.1f KB | %.1f ms | %.1f ms | %s ms |\n", label, url, bytes / 1024, t[int((NR + 1) / 2)], t[NR], logged }'
}

echo
echo "| page | URL | HTML | median | worst | server log (median) |"
echo "|---|---|---:|---:|---:|---:|"
measure "page 1" "/alerts"
measure "middle page" "/alerts?page=$mid"
measure "last page" "/alerts?page=$last"
measure "page 1, newest first" "/alerts?sort=age&dir=desc"
measure "warnings or worse, pool pbx1a" "/alerts?severity=warning&pool=pbx1a"
measure "all states, middle page" "/alerts?state=all&page=$mid"
measure "API page 1" "/api/v1/alerts" "Authorization: Bearer $token"
measure "API last page" "/api/v1/alerts?page=$last" "Authorization: Bearer $token"
measure "overview" "/"
echo
awk -v c="$cold" 'BEGIN { printf "The first /alerts after the start (view and alerts built): %.0f ms.\n", c * 1000 }'
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $RUNS requests each, one at a time"
