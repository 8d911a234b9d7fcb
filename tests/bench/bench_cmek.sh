#!/usr/bin/env bash
# bench_cmek: one round of CMEK key checks for 10,000 protected resources (one KMS
# decrypt each, over REST), timed from the clock advance to the last state update.
# Target (README, "Performance"): within one second.
source "$(dirname "$0")/bench_lib.sh"
base=$(free_base 8) || { echo "no free ports" >&2; exit 1; }
"$BENCH_DIR/cmek_checks" "$base" "${BENCH_RESOURCES:-10000}"
