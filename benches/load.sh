#!/usr/bin/env bash
# Load bench of the performance issue (14): every row of its table, side by side in one run,
# printed as a BENCHMARKS.md table with the goals and whether each is met.
#
# usage:
#   cargo build --release && cargo build --release --example static_body
#   benches/load.sh            # the generated 10,000-tenant / 40-server cluster
#   benches/load.sh --large    # ... then also a 50,000-tenant / 100-server one: cold start,
#                              # RSS under load, and `pbx-pools plan`
#
# Environment (all optional):
#   DURATION=120        seconds of the long run (overview load + a push every second, RSS
#                       sampled every second); shorten for a quick look, the goals say 120
#   SHORT=15            seconds of each throughput / latency run
#   LARGE_DURATION=30   seconds of the load run on the 50k cluster (--large)
#   CONNECTIONS=64      wrk connections (wrk -t2)
#   PORT=18091 STATIC_PORT=18092
#   BIN=target/release/pbx-pools
#   STATIC_BIN=target/release/examples/static_body
#   TENANTS_PAGE1, TENANTS_DEEP   the two /tenants URLs (paths with query), default page 1 and
#                       page 200 of the list sorted by phones (descending)
#   TENANTS=10000       tenants of the first cluster (smaller only to smoke-test this script)
#   CLUSTER_CACHE=DIR   keep each generated cluster in DIR and copy it from there next time
#                       (saves minutes at 50k; only while the schema and generator are unchanged)
#   KEEP=1              keep the work directory (databases, logs, raw wrk lines) and print it
#
# Needs: the two release binaries above (this script builds nothing), wrk, sqlite3, python3,
# curl. wrk, the server and the pushes share the machine's cores, as in the issue's figures.
#
# Rows:
#   /  overview          wrk SHORT s on / (logged in) vs. static_body serving the overview's
#                        own HTML (same size) on the same axum + tower-http stack
#   overview, long run   wrk DURATION s on / while benches/load/push.py pushes a 5,000-contact
#                        report (1% changed) to voip1 every second: p99, and the stalls
#                        (answers over 1 s in the server's log, wrk timeouts, max latency)
#   push                 those pushes' request times
#   /tenants             page 1 and the deep page, sorted by phones: wrk SHORT s each, p50;
#                        and the deep page with a new URL per request (benches/load/unique.lua)
#   /alerts              size of the page, wrk SHORT s, p50
#   ingest               one POST of 22,000 and of 100,000 new contacts (benches/load/dump.py),
#                        each to its own server (voip3, voip4), against sqlite3 .import of the
#                        very rows it stored into a table with the registrations table's schema
#                        and indexes (copied from the database), WAL like the product
#   cold start           the first / after a restart (logged in before), as soon as it listens
#   RSS                  the server's RSS sampled every second through every phase; the long
#                        run's and the overall maximum
#   plan (--large)       `pbx-pools plan` at 50k tenants / 100 servers, median of 3
set -euo pipefail
cd "$(dirname "$0")/.."

large=0
for arg in "$@"; do
  case "$arg" in
    --large) large=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $arg (see --help)" >&2; exit 2 ;;
  esac
done

DURATION=${DURATION:-120}
SHORT=${SHORT:-15}
LARGE_DURATION=${LARGE_DURATION:-30}
CONNECTIONS=${CONNECTIONS:-64}
TENANTS=${TENANTS:-10000}
PORT=${PORT:-18091}
STATIC_PORT=${STATIC_PORT:-18092}
BIN=${BIN:-target/release/pbx-pools}
STATIC_BIN=${STATIC_BIN:-target/release/examples/static_body}
TENANTS_PAGE1=${TENANTS_PAGE1:-/tenants?sort=phones&dir=desc&page=1}
TENANTS_DEEP=${TENANTS_DEEP:-/tenants?sort=phones&dir=desc&page=200}
base="http://127.0.0.1:$PORT"
export NO_COLOR=1 # plain server logs: the stall count reads their latencies

fail() { echo "load.sh: $*" >&2; exit 1; }
for tool in wrk sqlite3 python3 curl awk; do
  command -v "$tool" >/dev/null || fail "$tool is missing (Debian: apt-get install $tool)"
done
[ -x "$BIN" ] || fail "$BIN is missing: cargo build --release"
[ -x "$STATIC_BIN" ] || fail "$STATIC_BIN is missing: cargo build --release --example static_body"
if curl -s -o /dev/null "http://127.0.0.1:$PORT/" || curl -s -o /dev/null "http://127.0.0.1:$STATIC_PORT/"; then
  fail "something already listens on port $PORT or $STATIC_PORT (set PORT / STATIC_PORT)"
fi

load_start=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
work=$(mktemp -d /tmp/pbx-load.XXXXXX)
server_pid="" static_pid="" sampler_pid="" pusher_pid=""
cleanup() {
  for pid in $pusher_pid $sampler_pid $static_pid $server_pid; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "${KEEP:-}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
echo "load.sh: work directory $work; $(nproc) cores; $("$BIN" --version)" >&2
say() { echo "== $*" >&2; }
now_ms() { date +%s%3N; }

# --- results: one "key value" per line in $work/results -------------------------------------
put() { echo "$1 $2" >>"$work/results"; }
get() { awk -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "-" : v) }' "$work/results"; }
# field KEY LINE: the value of key=value in a stats.lua line.
field() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

# --- the server --------------------------------------------------------------------------------
# start_server DB: starts `serve` on DB, waits until /healthz answers; sets server_pid.
start_server() {
  "$BIN" serve --database-url "$1" --listen "127.0.0.1:$PORT" >>"$work/serve.log" 2>&1 &
  server_pid=$!
  echo "$server_pid" >"$work/server.pid"
  for _ in $(seq 1 600); do
    curl -fs -o /dev/null "$base/healthz" && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  tail -20 "$work/serve.log" >&2
  fail "the server did not come up on $base"
}
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  : >"$work/server.pid"
}

# phase NAME: what the RSS sampler labels its samples with from now on.
phase() { echo "$1" >"$work/phase"; }
# The sampler follows whatever server runs: one line per second, "unix-time phase rss-kB".
start_sampler() {
  (
    while :; do
      pid=$(cat "$work/server.pid" 2>/dev/null || true)
      if [ -n "$pid" ] && rss=$(ps -o rss= -p "$pid" 2>/dev/null); then
        echo "$(date +%s) $(cat "$work/phase") $rss" >>"$work/rss.log"
      fi
      sleep 1
    done
  ) &
  sampler_pid=$!
}
# rss_max PATTERN: the largest sample (MB) of the phases matching the awk regex PATTERN.
rss_max() { awk -v p="$1" '$2 ~ p && $3 > m { m = $3 } END { printf "%.0f", m / 1024 }' "$work/rss.log"; }

# wrk_run NAME DURATION PATH [curl-style header] [wrk script]: one wrk run; its stats line in
# $work/NAME.wrk. The script defaults to stats.lua (the URL as given).
wrk_run() {
  local name=$1 secs=$2 path=$3 header=${4:-} script=${5:-benches/load/stats.lua}
  local args=(-t2 -c"$CONNECTIONS" -d"${secs}s" --timeout 30s -s "$script")
  [ -n "$header" ] && args+=(-H "$header")
  wrk "${args[@]}" "$base$path" >"$work/$name.out" 2>&1 || true
  grep '^requests=' "$work/$name.out" >"$work/$name.wrk" || {
    cat "$work/$name.out" >&2
    fail "wrk on $path gave no summary"
  }
  say "$name: $(cat "$work/$name.wrk")"
}
wrk_field() { field "$2" "$(cat "$work/$1.wrk")"; }

# Server-side latencies (TraceLayer's "latency=N ms") logged after line FROM of serve.log:
# "count-over-1s max-ms".
slow_answers() {
  tail -n +"$1" "$work/serve.log" | sed 's/\x1b\[[0-9;]*m//g' | grep -o 'latency=[0-9.]* [mµ]*s' |
    awk '{ v = substr($1, 9) + 0; u = $2; ms = (u == "s") ? v * 1000 : (u == "ms") ? v : v / 1000
           if (ms > 1000) n++; if (ms > m) m = ms } END { printf "%d %.0f", n, m }'
}

# make_cluster DB TENANTS SERVERS: generates the cluster, an admin (load / load-password-1) and
# ingest tokens for voip1, voip3 and voip4 (in $work/token.voipN).
make_cluster() {
  local started cached="${CLUSTER_CACHE:-}/c$2-$3.db"
  started=$(now_ms)
  if [ -n "${CLUSTER_CACHE:-}" ] && [ -f "$cached" ]; then
    cp "$cached" "$1"
    say "copied the $2-tenant / $3-server cluster from $cached"
  else
    "$BIN" demo --database-url "$1" --tenants "$2" --servers "$3" --seed 1 >"$work/demo.out" 2>&1 ||
      { cat "$work/demo.out" >&2; fail "demo failed"; }
    say "generated $2 tenants / $3 servers in $(( $(now_ms) - started )) ms: $(tail -1 "$work/demo.out")"
    # The database file alone is the cluster only once its write-ahead log is copied into it
    # (a command's connections are not closed at exit, so its last writes may still be in the
    # log): a copy without the checkpoint lost the charts' history.
    if [ -n "${CLUSTER_CACHE:-}" ]; then
      sqlite3 "$1" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
      mkdir -p "$CLUSTER_CACHE" && cp "$1" "$cached"
    fi
  fi
  echo "load-password-1" | "$BIN" user add load --role admin --password-stdin --database-url "$1" >/dev/null
  for s in voip1 voip3 voip4; do
    "$BIN" token create --name "load-$s-$RANDOM" --scope "ingest:$s" --database-url "$1" 2>/dev/null |
      grep -o 'pbxp_[A-Za-z0-9_-]*' | head -1 >"$work/token.$s"
  done
}

# login: a session cookie for user load (stored in the database, so it survives a restart).
login() {
  curl -s -o /dev/null -D - -d 'name=load&password=load-password-1' "$base/login" |
    grep -i '^set-cookie: pbx_session=' | sed 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/' | tr -d '\r'
}

# cold_start DB COOKIE KEY: restarts the server and asks for / the moment it listens; records
# KEY (the request's ms) and KEY.spawn (ms from starting the process to the answer).
cold_start() {
  stop_server
  local t0 out code secs
  t0=$(now_ms)
  "$BIN" serve --database-url "$1" --listen "127.0.0.1:$PORT" >>"$work/serve.log" 2>&1 &
  server_pid=$!
  echo "$server_pid" >"$work/server.pid"
  for _ in $(seq 1 3000); do
    out=$(curl -s -o "$work/$3.html" -w '%{http_code} %{time_total}' -H "Cookie: $2" "$base/" || true)
    code=${out%% *}
    if [ "$code" = 200 ]; then
      secs=${out#* }
      put "$3" "$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }')"
      put "$3.spawn" "$(( $(now_ms) - t0 ))"
      say "cold start: first / in $(get "$3") ms, $(get "$3.spawn") ms after spawning the server"
      return 0
    fi
    [ "$code" = 000 ] || fail "the first / answered $code (is the session cookie valid?)"
    kill -0 "$server_pid" 2>/dev/null || fail "the server exited; see $work/serve.log (KEEP=1)"
    sleep 0.01
  done
  fail "no answer to / within 30 s of starting"
}

# pushes_start DB SERVER: push.py against SERVER every second, logging to $work/push.log.
pushes_start() {
  : >"$work/push.log"
  PUSH_LOG="$work/push.log" python3 benches/load/push.py "$1" "$base" "$(cat "$work/token.$2")" "$2" \
    >"$work/push.out" 2>&1 &
  pusher_pid=$!
}
pushes_stop() {
  kill -TERM "$pusher_pid" 2>/dev/null || true
  wait "$pusher_pid" 2>/dev/null || true
  pusher_pid=""
  say "pushes: $(cat "$work/push.out")"
}
# push_stats KEY: pushes, statuses other than 200, p50 and max (ms) of $work/push.log.
push_stats() {
  sort -k3 -g "$work/push.log" | awk -v k="$1" '
    { t[NR] = $3; if ($2 != 200) bad++ }
    END { printf "%s.n %d\n%s.bad %d\n%s.p50 %.1f\n%s.max %.1f\n", k, NR, k, bad + 0,
          k, NR ? t[int((NR + 1) / 2)] * 1000 : 0, k, NR ? t[NR] * 1000 : 0 }' >>"$work/results"
}

# ingest N SERVER EXT_BASE KEY: POSTs a report of N new contacts to SERVER, then times sqlite3
# .import of the rows it stored into an equally indexed table.
ingest() {
  local n=$1 server=$2 key=$4 out code secs
  python3 benches/load/dump.py "$db" "$n" "$3" >"$work/dump.$n.txt"
  out=$(curl -s -o "$work/ingest.$n.out" -w '%{http_code} %{time_total}' \
    -H "Authorization: Bearer $(cat "$work/token.$server")" -H 'Content-Type: text/plain' \
    --data-binary @"$work/dump.$n.txt" "$base/api/v1/servers/$server/registrations?format=pjsip-contacts")
  code=${out%% *} secs=${out#* }
  [ "$code" = 200 ] || { cat "$work/ingest.$n.out" >&2; fail "ingest of $n contacts answered $code"; }
  put "$key" "$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }')"
  # The same report again: nothing changed.
  out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' \
    -H "Authorization: Bearer $(cat "$work/token.$server")" -H 'Content-Type: text/plain' \
    --data-binary @"$work/dump.$n.txt" "$base/api/v1/servers/$server/registrations?format=pjsip-contacts")
  put "$key.again" "$(awk -v s="${out#* }" 'BEGIN { printf "%.0f", s * 1000 }')"
  # The baseline: the rows as stored, into a fresh database with the same table and indexes.
  sqlite3 "$db" "SELECT sql || ';' FROM sqlite_master WHERE tbl_name = 'registrations' AND type IN ('table', 'index') AND sql IS NOT NULL" >"$work/schema.sql"
  # The stored columns only: generated ones (the search's, migration 0019) are computed on insert,
  # in the baseline's table as in the product's.
  local cols
  cols=$(sqlite3 "$db" "SELECT group_concat(name, ', ') FROM pragma_table_xinfo('registrations') WHERE hidden = 0")
  sqlite3 -csv "$db" "SELECT $cols FROM registrations WHERE server_id = (SELECT id FROM servers WHERE name = '$server')" \
    >"$work/rows.$n.csv"
  local rows
  rows=$(wc -l <"$work/rows.$n.csv")
  [ "$rows" -eq "$n" ] || fail "ingest of $n contacts stored $rows rows for $server"
  rm -f "$work/import.db"*
  sqlite3 "$work/import.db" "PRAGMA journal_mode = WAL;" >/dev/null
  sqlite3 "$work/import.db" <"$work/schema.sql"
  # sqlite3's .import counts a table's generated columns among the values it inserts, so the rows
  # go through a plain staging table, then into the table with its generated columns and
  # indexes: both steps are timed.
  sqlite3 "$work/import.db" "CREATE TABLE staging AS SELECT $cols FROM registrations WHERE 0"
  local t0
  t0=$(date +%s%N)
  sqlite3 "$work/import.db" -cmd ".mode csv" ".import $work/rows.$n.csv staging" \
    "INSERT INTO registrations ($cols) SELECT $cols FROM staging"
  put "$key.import" "$(( ($(date +%s%N) - t0) / 1000000 ))"
  [ "$(sqlite3 "$work/import.db" 'SELECT count(*) FROM registrations')" -eq "$n" ] || fail ".import of $n rows"
  say "ingest of $n contacts to $server: $(get "$key") ms (again, unchanged: $(get "$key.again") ms); sqlite3 .import of the same rows: $(get "$key.import") ms"
}

# ================================ the 10,000-tenant cluster ===================================
db="$work/c10k.db"
: >"$work/results"
phase setup
start_sampler
say "generating the $TENANTS-tenant / 40-server cluster (demo --tenants $TENANTS --servers 40 --seed 1)"
make_cluster "$db" "$TENANTS" 40
start_server "$db"
cookie=$(login)
[ -n "$cookie" ] || fail "login as load failed"
phase cold-start-10k
cold_start "$db" "$cookie" cold10k
auth="Cookie: $cookie"

phase overview
put overview.bytes "$(curl -s -o "$work/overview.html" -w '%{size_download}' -H "$auth" "$base/")"
wrk_run overview "$SHORT" / "$auth"

phase static
"$STATIC_BIN" "$work/overview.html" "127.0.0.1:$STATIC_PORT" >"$work/static.out" 2>"$work/static.log" &
static_pid=$!
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$STATIC_PORT/healthz" && break; sleep 0.05; done
put static.bytes "$(curl -s -o /dev/null -w '%{size_download}' "http://127.0.0.1:$STATIC_PORT/")"
base_saved=$base base="http://127.0.0.1:$STATIC_PORT"
wrk_run static "$SHORT" /
base=$base_saved
kill "$static_pid"; wait "$static_pid" 2>/dev/null || true; static_pid=""

phase tenants
wrk_run tenants1 "$SHORT" "$TENANTS_PAGE1" "$auth"
wrk_run tenants200 "$SHORT" "$TENANTS_DEEP" "$auth"
# Each request a URL never asked before (unique.lua adds r=random): the list's shared rendering
# never serves it, so this is the cost of a page rendered for its own request.
wrk_run tenantsnew "$SHORT" "$TENANTS_DEEP" "$auth" benches/load/unique.lua
for p in tenants1 tenants200 tenantsnew; do
  [ "$(wrk_field $p non2xx)" = 0 ] || say "warning: $p had non-2xx answers (check TENANTS_PAGE1 / TENANTS_DEEP)"
done

phase alerts
put alerts.bytes "$(curl -s -o /dev/null -w '%{size_download}' -H "$auth" "$base/alerts")"
wrk_run alerts "$SHORT" /alerts "$auth"

phase long-run
say "long run: ${DURATION}s of / with a 5,000-contact push (1% changed) to voip1 every second"
log_from=$(( $(wc -l <"$work/serve.log") + 1 ))
pushes_start "$db" voip1
wrk_run long "$DURATION" / "$auth"
pushes_stop
push_stats push
read -r n max <<<"$(slow_answers "$log_from")"
put long.slow "$n"
put long.server_max "$max"

phase ingest
ingest 22000 voip3 8000 ingest22k
ingest 100000 voip4 9000 ingest100k
phase done-10k
put rss.long "$(rss_max '^long-run$')"
put rss.reads "$(rss_max '^(cold-start-10k|overview|static|tenants|alerts|long-run)$')"
put rss.ingest "$(rss_max '^ingest$')"
put rss.all10k "$(rss_max '.')"
stop_server
problems=$(sed 's/\x1b\[[0-9;]*m//g' "$work/serve.log" | grep -c ' WARN \| ERROR ' || true)
[ "$problems" = 0 ] || say "the server logged $problems warnings or errors (KEEP=1 keeps serve.log)"

# ================================ the 50,000-tenant cluster ===================================
if [ "$large" = 1 ]; then
  db="$work/c50k.db"
  phase setup-50k
  say "generating the 50,000-tenant / 100-server cluster (demo --tenants 50000 --servers 100 --seed 1)"
  make_cluster "$db" 50000 100
  start_server "$db"
  cookie=$(login)
  [ -n "$cookie" ] || fail "login as load failed (50k)"
  phase cold-start-50k
  cold_start "$db" "$cookie" cold50k
  phase load-50k
  say "50k load: ${LARGE_DURATION}s of / with a push to voip1 every second"
  mv "$work/push.log" "$work/push-10k.log"
  pushes_start "$db" voip1
  wrk_run long50k "$LARGE_DURATION" / "Cookie: $cookie"
  pushes_stop
  push_stats push50k
  put rss.50k "$(rss_max '50k$')"
  phase plan
  stop_server
  say "plan at 50,000 tenants / 100 servers (3 runs)"
  for i in 1 2 3; do
    t0=$(date +%s%N)
    "$BIN" plan --database-url "$db" --json >"$work/plan.json" || fail "plan failed"
    echo $(( ($(date +%s%N) - t0) / 1000000 )) >>"$work/plan.times"
  done
  put plan "$(sort -n "$work/plan.times" | sed -n 2p)"
  say "plan: $(tr '\n' ' ' <"$work/plan.times")ms"
fi

# ====================================== the table =============================================
# fmt_int N: 12345 -> 12,345
fmt_int() { awk -v n="$1" 'BEGIN { if (n == "-") { print "-"; exit } s = sprintf("%.0f", n); o = "";
  while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f KB", b / 1024 }'; }
# verdict CONDITION(awk expression over the variables given as name=value): "met" or "**missed**"
verdict() {
  local expr=$1 a; shift
  for a in "$@"; do
    case "$a" in *=- | *=) echo "not measured"; return ;; esac
  done
  awk "$@" "BEGIN { exit !($expr) }" && echo met || echo "**missed**"
}
ov_rps=$(wrk_field overview rps) st_rps=$(wrk_field static rps)
ratio=$(awk -v a="$ov_rps" -v b="$st_rps" 'BEGIN { printf "%.2f", a / b }')
long_p99=$(wrk_field long p99_ms) long_max=$(wrk_field long max_ms) long_to=$(wrk_field long timeouts)
t1=$(wrk_field tenants1 p50_ms) t200=$(wrk_field tenants200 p50_ms)
al_p50=$(wrk_field alerts p50_ms) al_bytes=$(get alerts.bytes)
i22=$(get ingest22k) i22b=$(get ingest22k.import) i100=$(get ingest100k) i100b=$(get ingest100k.import)
x22=$(awk -v a="$i22" -v b="$i22b" 'BEGIN { printf "%.1f", a / b }')
x100=$(awk -v a="$i100" -v b="$i100b" 'BEGIN { printf "%.1f", a / b }')
c10=$(get cold10k) rss_long=$(get rss.long) rss_all=$(get rss.all10k)

cat <<EOF

Measured $(date -u +%Y-%m-%d) on the generated $(fmt_int "$TENANTS")-tenant / 40-server cluster$([ "$large" = 1 ] && echo " and the 50,000-tenant / 100-server one") with \`$([ "$TENANTS" != 10000 ] && echo "TENANTS=$TENANTS ")DURATION=$DURATION SHORT=$SHORT$([ "$large" = 1 ] && echo " LARGE_DURATION=$LARGE_DURATION") benches/load.sh$([ "$large" = 1 ] && echo " --large")\` ($(nproc) cores; wrk -t2 -c$CONNECTIONS on the same machine; load average $load_start at the start, $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?') at the end: above 2 means something else was using the cores):

| what | measured | baseline in the same run | goal | |
| --- | --- | --- | --- | --- |
| \`/\` overview ($(kb "$(get overview.bytes)")) | $(fmt_int "$ov_rps") req/s, p50 $(wrk_field overview p50_ms) ms, p99 $(wrk_field overview p99_ms) ms (${SHORT} s) | static body of $(fmt_int "$(get static.bytes)") bytes, same stack: $(fmt_int "$st_rps") req/s, p99 $(wrk_field static p99_ms) ms; ratio $ratio | ≥ 0.5× the static body | $(verdict "r >= 0.5" -v r="$ratio") |
| \`/\` over ${DURATION} s, a push every second | $(fmt_int "$(wrk_field long rps)") req/s, p50 $(wrk_field long p50_ms) ms, p99 $long_p99 ms | — | p99 ≤ 25 ms over 120 s | $(verdict "p <= 25 && d >= 120" -v p="$long_p99" -v d="$DURATION") |
| stalls in that run | $(get long.slow) answers over 1 s (server log: max $(get long.server_max) ms), $long_to wrk timeouts (30 s), max $long_max ms at wrk | — | none | $(verdict "s == 0 && t == 0 && m < 1000" -v s="$(get long.slow)" -v t="$long_to" -v m="$long_max") |
| push: 5,000 contacts, 1% changed | $(get push.n) pushes, p50 $(get push.p50) ms, max $(get push.max) ms, $(get push.bad) not 200 | — | ≤ 20 ms | $(verdict "p <= 20 && b == 0" -v p="$(get push.p50)" -v b="$(get push.bad)") |
| \`/tenants\` page 1 / deep page (by phones) | $(fmt_int "$(wrk_field tenants1 rps)") / $(fmt_int "$(wrk_field tenants200 rps)") req/s, p50 $t1 / $t200 ms | — | ≤ 10 ms p50 for any page | $(verdict "a <= 10 && b <= 10" -v a="$t1" -v b="$t200") |
| \`/tenants\` deep page, every request a new URL (rendered for it) | $(fmt_int "$(wrk_field tenantsnew rps)") req/s, p50 $(wrk_field tenantsnew p50_ms) ms | — | (the rows above are pages asked again: one rendering per page and data version) | |
| \`/alerts\` | $(kb "$al_bytes"), $(fmt_int "$(wrk_field alerts rps)") req/s, p50 $al_p50 ms | — | ≤ 150 KB, ≤ 50 ms | $(verdict "s <= 153600 && p <= 50" -v s="$al_bytes" -v p="$al_p50") |
| ingest, 22,000 contacts | $(fmt_int "$i22") ms (the same report again: $(get ingest22k.again) ms) | sqlite3 \`.import\` of the same rows: $(fmt_int "$i22b") ms ($x22×) | ≤ 2× \`.import\` | $(verdict "x <= 2" -v x="$x22") |
| ingest, 100,000 contacts | $(fmt_int "$i100") ms (again: $(get ingest100k.again) ms) | sqlite3 \`.import\`: $(fmt_int "$i100b") ms ($x100×) | ≤ 2× \`.import\` | $(verdict "x <= 2" -v x="$x100") |
| first overview after start, 10k | $c10 ms ($(get cold10k.spawn) ms after spawning) | — | ≤ 250 ms | $(verdict "c <= 250" -v c="$c10") |
EOF
if [ "$large" = 1 ]; then
  c50=$(get cold50k)
  cat <<EOF
| first overview after start, 50k | $c50 ms ($(get cold50k.spawn) ms after spawning) | — | linear: ≤ 5 × 250 ms | $(verdict "c <= 1250" -v c="$c50") |
EOF
else
  echo "| first overview after start, 50k | not run (--large) | — | linear: ≤ 5 × 250 ms | |"
fi
cat <<EOF
| RSS at 10k | max $rss_long MB in the long run, $(get rss.reads) MB over every read load, $(get rss.ingest) MB while ingesting 22,000 then 100,000 contacts | — | ≤ 100 MB under any load | $(verdict "a <= 100" -v a="$rss_all") |
EOF
if [ "$large" = 1 ]; then
  plan=$(get plan)
  cat <<EOF
| RSS at 50k | max $(get rss.50k) MB (cold start, then ${LARGE_DURATION} s of / at $(fmt_int "$(wrk_field long50k rps)") req/s, p99 $(wrk_field long50k p99_ms) ms, a push every second: p50 $(get push50k.p50) ms) | — | ≤ 300 MB | $(verdict "a <= 300" -v a="$(get rss.50k)") |
| \`plan\` at 50k tenants / 100 servers | $(fmt_int "$plan") ms (median of 3, whole command) | — | ≤ 2 s | $(verdict "p <= 2000" -v p="$plan") |
EOF
else
  echo "| RSS at 50k | not run (--large) | — | ≤ 300 MB | |"
  echo "| \`plan\` at 50k tenants / 100 servers | not run (--large) | — | ≤ 2 s | |"
fi
