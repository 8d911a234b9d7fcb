#!/usr/bin/env bash
# bench_startup: how long scripts/start-all takes to bring the (already built) stack to
# healthy, and the idle memory of its processes, 2 s after start. Targets (README,
# "Performance"): every process healthy within 1 s; together under 30 MB PSS when idle.
# Memory is reported as the sum of RSS (shared libraries counted once per process) and of
# PSS (shared pages split between the processes that map them: what the stack costs).
source "$(dirname "$0")/bench_lib.sh"
base=$(free_base 8) || { echo "no free ports" >&2; exit 1; }
start_ms=$(date +%s%3N)
"$REPO_DIR/scripts/start-all" --ephemeral --port-base "$base" >/dev/null || exit 1
elapsed_ms=$(( $(date +%s%3N) - start_ms ))
sleep 2
rss=0 pss=0 count=0
for pid in $(pgrep -f -- "--port-base[= ]$base"); do
    rss=$(( rss + $(awk '/^Rss:/ {print $2}' "/proc/$pid/smaps_rollup") ))
    pss=$(( pss + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup") ))
    count=$(( count + 1 ))
done
"$REPO_DIR/scripts/stop-all" --port-base "$base" >/dev/null
printf '%-46s %12s\n' "start-all until every service is healthy" "${elapsed_ms} ms"
printf '%-46s %12s\n' "processes (control plane + services)" "$count"
printf '%-46s %9.1f MB\n' "idle memory, sum of RSS" "$(awk -v k=$rss 'BEGIN {print k / 1024}')"
printf '%-46s %9.1f MB\n' "idle memory, sum of PSS" "$(awk -v k=$pss 'BEGIN {print k / 1024}')"
printf 'targets: healthy within 1 s: %s; under 30 MB (PSS, shared pages counted once): %s\n' \
    "$( (( elapsed_ms <= 1000 )) && echo MET || echo "NOT MET")" \
    "$( (( pss <= 30 * 1024 )) && echo MET || echo "NOT MET")"
