#!/usr/bin/env bash
# bench_kms: KMS encrypt of 1 KiB (one request each, 16 connections, BENCH_SECONDS long)
# against the empty-handler reference on the same machine and the same HTTP stack.
# Target (README, "Performance"): encrypt >= 30 % of the empty libmicrohttpd handler's rate.
source "$(dirname "$0")/bench_lib.sh"
THREADS="${BENCH_THREADS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}" # as --threads 0: one per core, at most 4

base=$(free_base 8) || { echo "no free ports" >&2; exit 1; }

start_bg "$BENCH_DIR/empty_server" raw "$base" "$THREADS"
wait_http "http://127.0.0.1:$base/"
raw=$(wrk_rate "http://127.0.0.1:$base/") || exit 1
stop_last

start_bg "$BENCH_DIR/empty_server" stack "$((base + 1))" "$THREADS"
wait_http "http://127.0.0.1:$((base + 1))/empty"
stack=$(wrk_rate "http://127.0.0.1:$((base + 1))/empty") || exit 1
stop_last

start_bg "$BIN_DIR/kms" --ephemeral --port-base "$((base + 1))" --threads "$THREADS" \
    --log-level warning
KMS="http://127.0.0.1:$((base + 2))"
wait_http "$KMS/health"
P=projects/bench-project/locations/global
curl -sf -X POST "$KMS/v1/$P/keyRings?keyRingId=bench" -d '{}' >/dev/null
curl -sf -X POST "$KMS/v1/$P/keyRings/bench/cryptoKeys?cryptoKeyId=key" \
    -d '{"purpose":"ENCRYPT_DECRYPT"}' >/dev/null
post_script "$BENCH_TMP/encrypt.lua" "{\"plaintext\":\"$(head -c 1024 /dev/urandom | base64 -w0)\"}"
encrypt=$(wrk_rate "$KMS/v1/$P/keyRings/bench/cryptoKeys/key:encrypt" "$BENCH_TMP/encrypt.lua") || exit 1
stop_last

printf '%-46s %12s\n' "KMS benchmark ($BENCH_SECONDS s each, 16 connections)" "requests/s"
printf '%-46s %12s\n' "empty libmicrohttpd handler (reference)" "$raw"
printf '%-46s %12s\n' "empty handler through the emulator's stack" "$stack"
printf '%-46s %12s\n' "KMS encrypt, 1 KiB plaintext" "$encrypt"
pct=$(ratio "$encrypt" "$raw")
printf 'encrypt = %s %% of the empty handler (target >= 30 %%): %s\n' "$pct" \
    "$(awk -v p="$pct" 'BEGIN { print (p >= 30 ? "MET" : "NOT MET") }')"
