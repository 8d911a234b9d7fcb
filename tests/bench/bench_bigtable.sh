#!/usr/bin/env bash
# bench_bigtable: Bigtable's data plane over REST (no REST peer exists: Google's Bigtable
# emulator speaks gRPC only), in one run of the script:
#
#   single-row mutateRow (one setCell, server time) and single-row readRows (one row key),
#   16 connections, BENCH_SECONDS each, against the empty libmicrohttpd handler of the
#   same run; on a table whose cluster has a CMEK key and on one with Google default
#   encryption (each measured twice, the better run kept: the machine is shared);
#   a full scan of 100,000 rows (BENCH_ROWS) with one readRows, in MB/s of response.
#   BENCH_GC_RULE gives the family a GcRule (JSON, e.g. '{"maxNumVersions":1}'): then each
#   mutateRow also deletes its column's garbage; by default the family has none.
#
# Targets (issue 10, DESIGN section 8): mutateRow and readRows >= 30 % of the empty
# handler; CMEK costs < 20 % against no key.
source "$(dirname "$0")/bench_lib.sh"
THREADS="${BENCH_THREADS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}"
ROWS="${BENCH_ROWS:-100000}"
GC_RULE="${BENCH_GC_RULE:-"{}"}"
P=projects/bench-project

base=$(free_base 10) || { echo "no free ports" >&2; exit 1; }
json() { curl -sf -X "$1" -H 'Content-Type: application/json' "$2" -d "$3"; }

start_bg "$BENCH_DIR/empty_server" raw "$base" "$THREADS"
wait_http "http://127.0.0.1:$base/"
raw=$(wrk_rate "http://127.0.0.1:$base/") || exit 1
stop_last

start_bg "$BIN_DIR/emulator" --ephemeral --port-base "$((base + 1))" --services kms,bigtable \
    --threads "$THREADS" --log-level warning
KMS="http://127.0.0.1:$((base + 2))/v1/$P/locations/us-east1"
BT="http://127.0.0.1:$((base + 4))/v2/$P/instances"
wait_http "http://127.0.0.1:$((base + 4))/health" || exit 1
wait_http "http://127.0.0.1:$((base + 2))/health" || exit 1
json POST "$KMS/keyRings?keyRingId=bench" '{}' >/dev/null &&
    json POST "$KMS/keyRings/bench/cryptoKeys?cryptoKeyId=bt" '{"purpose":"ENCRYPT_DECRYPT"}' >/dev/null ||
    { echo "cannot create the benchmark key" >&2; exit 1; }

# the mutations pile up versions of one row; reads read another, written once; the scan
# reads the rows "row-..." only
HOT_ROW=$(printf 'hot-row' | base64 -w0)
READ_ROW=$(printf 'read-row' | base64 -w0)
VALUE=$(head -c 100 /dev/urandom | base64 -w0)
SCAN_RANGE="{\"rows\":{\"rowRanges\":[{\"startKeyClosed\":\"$(printf 'row-' | base64 -w0)\",\"endKeyOpen\":\"$(printf 'row.' | base64 -w0)\"}]}}"

# setup INSTANCE [KEY]: an instance with one cluster in us-east1-b (bench-c1, under KEY when given)
# and table t with family cf
setup() {
    local id=$1 key=${2:-} enc=""
    [[ -n $key ]] && enc=",\"encryptionConfig\":{\"kmsKeyName\":\"$key\"}"
    json POST "$BT" "{\"instanceId\":\"$id\",\"instance\":{\"displayName\":\"Benchmark $id\"},
        \"clusters\":{\"bench-c1\":{\"location\":\"$P/locations/us-east1-b\",\"serveNodes\":1$enc}}}" >/dev/null ||
        return 1
    for _ in $(seq 100); do
        [[ $(curl -s "$BT/$id" | jq -r .state) == READY ]] && break
        sleep 0.1
    done
    json POST "$BT/$id/tables" "{\"tableId\":\"t\",\"table\":{\"columnFamilies\":{\"cf\":{\"gcRule\":$GC_RULE}}}}" >/dev/null &&
        json POST "$BT/$id/tables/t:mutateRow" "{\"rowKey\":\"$READ_ROW\",\"mutations\":[{\"setCell\":
            {\"familyName\":\"cf\",\"columnQualifier\":\"cQ==\",\"timestampMicros\":\"-1\",\"value\":\"$VALUE\"}}]}" >/dev/null
}
setup bench-cmek "$P/locations/us-east1/keyRings/bench/cryptoKeys/bt" || { echo "cannot create the CMEK instance" >&2; exit 1; }
setup bench-plain || { echo "cannot create the instance without a key" >&2; exit 1; }

post_script "$BENCH_TMP/mutate.lua" \
    "{\"rowKey\":\"$HOT_ROW\",\"mutations\":[{\"setCell\":{\"familyName\":\"cf\",\"columnQualifier\":\"cQ==\",\"timestampMicros\":\"-1\",\"value\":\"$VALUE\"}}]}"
post_script "$BENCH_TMP/read.lua" "{\"rows\":{\"rowKeys\":[\"$READ_ROW\"]}}"
best() { (( $1 > $2 )) && echo "$1" || echo "$2"; }
# measure TABLE_URL: "mutate read" (better of two runs each)
measure() {
    local m1 m2 r1 r2
    m1=$(wrk_rate "$1:mutateRow" "$BENCH_TMP/mutate.lua") || return 1
    r1=$(wrk_rate "$1:readRows" "$BENCH_TMP/read.lua") || return 1
    m2=$(wrk_rate "$1:mutateRow" "$BENCH_TMP/mutate.lua") || return 1
    r2=$(wrk_rate "$1:readRows" "$BENCH_TMP/read.lua") || return 1
    echo "$(best "$m1" "$m2") $(best "$r1" "$r2")"
}
read -r cmek_mutate cmek_read < <(measure "$BT/bench-cmek/tables/t") || exit 1
read -r plain_mutate plain_read < <(measure "$BT/bench-plain/tables/t") || exit 1

# the scan: ROWS rows of 100 bytes written with mutateRows, 1,000 a request, then read
batch="$BENCH_TMP/batch.json"
for (( start = 0; start < ROWS; start += 1000 )); do
    perl -MMIME::Base64 -e '
        my ($s, $n, $v) = @ARGV;
        my @entries;
        for (my $i = $s; $i < $s + 1000 && $i < $n; $i++) {
            my $key = encode_base64(sprintf("row-%08d", $i), "");
            push @entries, qq({"rowKey":"$key","mutations":[{"setCell":{"familyName":"cf",)
                . qq("columnQualifier":"cQ==","timestampMicros":"-1","value":"$v"}}]});
        }
        print "{\"entries\":[" . join(",", @entries) . "]}";' "$start" "$ROWS" "$VALUE" >"$batch"
    curl -sf -X POST -H 'Content-Type: application/json' "$BT/bench-cmek/tables/t:mutateRows" \
        --data-binary "@$batch" -o /dev/null || { echo "cannot load the scan's rows" >&2; exit 1; }
done
scan_start=$(date +%s.%N)
bytes=$(curl -sf -X POST -H 'Content-Type: application/json' "$BT/bench-cmek/tables/t:readRows" \
    -d "$SCAN_RANGE" -o "$BENCH_TMP/scan.json" -w '%{size_download}') || { echo "the scan failed" >&2; exit 1; }
scan_end=$(date +%s.%N)
scanned=$(jq '[.[].chunks[] | select(.commitRow)] | length' "$BENCH_TMP/scan.json")
stop_last

scan_s=$(awk -v a="$scan_start" -v b="$scan_end" 'BEGIN { printf "%.3f", b - a }')
scan_mbs=$(awk -v n="$bytes" -v s="$scan_s" 'BEGIN { printf "%.1f", (s > 0 ? n / s / 1e6 : 0) }')
printf '%-58s %12s %12s\n' "Bigtable, $BENCH_SECONDS s runs, 16 connections" "mutateRow/s" "readRows/s"
printf '%-58s %12s %12s\n' "empty libmicrohttpd handler (reference)" "$raw" "$raw"
printf '%-58s %12s %12s\n' "our Bigtable, cluster with a CMEK key" "$cmek_mutate" "$cmek_read"
printf '%-58s %12s %12s\n' "our Bigtable, cluster without a key" "$plain_mutate" "$plain_read"
printf 'scan: %s rows (%s wanted), %s bytes of response in %s s = %s MB/s\n' "$scanned" "$ROWS" \
    "$bytes" "$scan_s" "$scan_mbs"
for what in mutate read; do
    c=cmek_$what p=plain_$what
    pct=$(ratio "${!c}" "$raw")
    printf '%s: CMEK = %s %% of the empty handler (target >= 30 %%): %s\n' "$what" "$pct" \
        "$(awk -v x="$pct" 'BEGIN { print (x >= 30 ? "MET" : "NOT MET") }')"
    cost=$(awk -v c="${!c}" -v p="${!p}" 'BEGIN { printf "%.1f", (p > 0 ? 100 * (p - c) / p : 0) }')
    printf '%s: CMEK costs %s %% against no key (target < 20 %%): %s\n' "$what" "$cost" \
        "$(awk -v x="$cost" 'BEGIN { print (x < 20 ? "MET" : "NOT MET") }')"
done
(( scanned == ROWS )) || { echo "the scan returned $scanned rows, not $ROWS" >&2; exit 1; }
