#!/usr/bin/env bash
# Fuzzes the JSON API from its own OpenAPI document with schemathesis (RELIABILITY.md, "API
# fuzzing"): a demo database, the server on it, an admin-scoped token, then every operation of
# /api/v1/openapi.json with every check, EXAMPLES test cases per operation and phase. Exits
# non-zero when schemathesis finds a failure or the server logged a panic or an internal error.
#
#   benches/schemathesis.sh                 # 50 examples per operation and phase (CI)
#   EXAMPLES=200 benches/schemathesis.sh    # longer
#   BIN=target/release/pbx-pools SEED=7 benches/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/debug/pbx-pools}
examples=${EXAMPLES:-50}
port=${PORT:-18093}
seed=${SEED:-1}
[ -x "$bin" ] || cargo build
command -v schemathesis >/dev/null || { echo "schemathesis is not installed: pip install schemathesis" >&2; exit 2; }
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
db="sqlite://$work/demo.db"
"$bin" demo --database-url "$db" >/dev/null
token=$("$bin" token create --name schemathesis --scope admin --database-url "$db" | grep -o 'pbxp_[A-Za-z0-9_-]*' | head -1)
RUST_LOG=${RUST_LOG:-warn,tower_http=info} "$bin" serve --database-url "$db" --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/serve.log"; exit 1; }

status=0
schemathesis --config-file benches/schemathesis.toml run "http://127.0.0.1:$port/api/v1/openapi.json" \
  -H "Authorization: Bearer $token" \
  --checks all \
  --max-examples "$examples" \
  --seed "$seed" \
  --generation-database none \
  --request-timeout 20 \
  --no-color \
  ${SCHEMATHESIS_ARGS:-} || status=$?

calls=$(grep -c 'finished processing request' "$work/serve.log" || true)
errors=$(grep -cE 'status=5[0-9][0-9]' "$work/serve.log" || true)
echo "server: $calls requests answered, $errors with a 5xx status"
if grep -E 'panicked|internal error|ERROR' "$work/serve.log"; then
  echo "the server logged the errors above" >&2
  status=1
fi
exit $status
