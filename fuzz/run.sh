#!/usr/bin/env bash
# Runs fuzz targets one after another for SECONDS each (default 300), at the lowest CPU
# priority, one libFuzzer process each (what -jobs=1 would fork, kept in the foreground). New
# inputs go to fuzz/work/<target> (ignored by git); the committed seeds (fuzz/corpus/<target>)
# and regressions (fuzz/regressions/<target>) are read as extra corpora. A failing input lands
# in fuzz/artifacts/<target>/: copy it to fuzz/regressions/<target>/ so that `cargo test`
# replays it from then on.
#
#   fuzz/run.sh                    # every target, 300 s each
#   fuzz/run.sh 600 zone_import    # one target, 600 s
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
cargo +nightly fuzz build --sanitizer none --debug-assertions
for target in "${targets[@]}"; do
    mkdir -p "work/$target" "regressions/$target"
    echo "== $target: ${seconds}s"
    nice -n 19 cargo +nightly fuzz run --sanitizer none --debug-assertions "$target" \
        "work/$target" "corpus/$target" "regressions/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 2>&1 | tail -n 25
    echo "== $target: corpus $(ls "work/$target" | wc -l) files"
done
