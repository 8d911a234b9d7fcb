#!/usr/bin/env bash
# bench_pubsub: REST publish throughput, one 1 KiB message per request, 16 connections,
# BENCH_SECONDS per run, in one run of the script:
#
#   our Pub/Sub, CMEK topic (customer key in KMS)         each topic has one subscription,
#   our Pub/Sub, topic without a key (default encryption)  so every message is stored
#   Google's Pub/Sub emulator (platform/pubsub-emulator, its REST port), until warm
#   both, a topic validating Avro JSON records (what schema validation costs), once
#   our Pub/Sub, CMEK topic, with its data directory on disk (a second stack), twice
#
# Our stack runs with --ephemeral, whose data directory is in memory (/dev/shm) where the
# machine allows, as Google's emulator keeps everything in memory: that is the like-for-
# like comparison. The run on disk (--data-dir under $TMPDIR or /tmp; its file system type
# is printed) shows what a persistent data directory costs.
#
# Our two topics are measured twice each, interleaved, and the better run of each is
# kept (the machine is shared; the spread is about 10 %). Google's emulator is a JVM that
# keeps getting faster for tens of seconds, so it is reported twice: its first run after
# start-up, and its best run once warm: runs follow one another until one is no more than
# 5 % faster than the best before it (at most GOOGLE_WARM_RUNS, default 10). It takes
# about six 5 s runs here (1,177, 1,821, 2,438, 3,408, 3,825, 3,967/s in session 36);
# until then the script took its second run as warm, which was not. Both ratios are
# printed; the 20x target is checked against the warmed rate (issue 8: "at least 20x
# against the warmed emulator").
#
# Targets (README, "Performance"): CMEK publish >= 20x Google's warmed emulator; CMEK costs
# < 20 % against the topic without a key.
source "$(dirname "$0")/bench_lib.sh"
THREADS="${BENCH_THREADS:-$(( $(nproc) < 4 ? $(nproc) : 4 ))}" # as --threads 0: one per core, at most 4
GOOGLE_EMULATOR="${PUBSUB_EMULATOR:-/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator}"

base=$(free_base 8) || { echo "no free ports" >&2; exit 1; }
PROJECT=bench-project
json() { curl -sf -X "$1" -H 'Content-Type: application/json' "$2" -d "$3" >/dev/null; }

# start_ours DATA_DIR_FLAGS...: our stack (the control plane on base, kms on base + 1,
# pubsub on base + 2; Google's goes on base + 7) with a CMEK topic and a topic without a
# key, each with a subscription; sets PUBSUB.
start_ours() {
    start_bg "$BIN_DIR/emulator" "$@" --port-base "$base" --services kms,pubsub \
        --threads "$THREADS" --log-level warning
    PUBSUB="http://127.0.0.1:$((base + 2))/v1/projects/$PROJECT"
    local kms="http://127.0.0.1:$((base + 1))/v1/projects/$PROJECT/locations/global"
    wait_http "http://127.0.0.1:$((base + 2))/health" || return 1
    wait_http "http://127.0.0.1:$((base + 1))/health" || return 1
    json POST "$kms/keyRings?keyRingId=bench" '{}' &&
        json POST "$kms/keyRings/bench/cryptoKeys?cryptoKeyId=topics" '{"purpose":"ENCRYPT_DECRYPT"}' &&
        json PUT "$PUBSUB/topics/cmek" \
            "{\"kmsKeyName\":\"projects/$PROJECT/locations/global/keyRings/bench/cryptoKeys/topics\"}" &&
        json PUT "$PUBSUB/subscriptions/cmek-sub" "{\"topic\":\"projects/$PROJECT/topics/cmek\"}" &&
        json PUT "$PUBSUB/topics/plain" '{}' &&
        json PUT "$PUBSUB/subscriptions/plain-sub" "{\"topic\":\"projects/$PROJECT/topics/plain\"}" ||
        { echo "cannot create the benchmark topics" >&2; return 1; }
}
start_ours --ephemeral || exit 1
data_dir=$(curl -s "http://127.0.0.1:$base/emulator/v1/status" | jq -r .dataDir)

post_script "$BENCH_TMP/publish.lua" \
    "{\"messages\":[{\"data\":\"$(head -c 1024 /dev/urandom | base64 -w0)\"}]}"

# A topic validating Avro JSON: a record of 16 strings and 8 longs, messages of 1.1 KiB
fields="" record=""
for i in $(seq 0 15); do
    fields+="{\"name\":\"f$i\",\"type\":\"string\"},"
    record+="\"f$i\":\"value-$i-$(printf '%040d' 0)\","
done
for i in $(seq 0 7); do
    fields+="{\"name\":\"n$i\",\"type\":\"long\"},"
    record+="\"n$i\":$((1234567890123 + i)),"
done
AVRO_SCHEMA="{\"type\":\"AVRO\",\"definition\":$(printf '{"type":"record","name":"Event","fields":[%s]}' \
    "${fields%,}" | sed 's/"/\\"/g; s/^/"/; s/$/"/')}"
post_script "$BENCH_TMP/publish-avro.lua" \
    "{\"messages\":[{\"data\":\"$(printf '{%s}' "${record%,}" | base64 -w0)\"}]}"
# avro_topic BASE_URL: the schema, a topic validating with it and a subscription
avro_topic() {
    json POST "$1/schemas?schemaId=event" "$AVRO_SCHEMA" &&
        json PUT "$1/topics/avro" \
            "{\"schemaSettings\":{\"schema\":\"projects/$PROJECT/schemas/event\",\"encoding\":\"JSON\"}}" &&
        json PUT "$1/subscriptions/avro-sub" "{\"topic\":\"projects/$PROJECT/topics/avro\"}"
}
avro_topic "$PUBSUB" || { echo "cannot create the Avro topic" >&2; exit 1; }

best() { (( $1 > $2 )) && echo "$1" || echo "$2"; }
# CPU time of our pubsub process (user + system, clock ticks), to count CPU per publish
pubsub_pid=$(pgrep -f "bin/pubsub --port-base=$base " | head -1)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pubsub_pid/stat"; }
# context switches of all its threads (voluntary and not): less sensitive to other load
switches() { cat "/proc/$pubsub_pid"/task/*/status | awk '/ctxt_switches/ { n += $2 } END { print n }'; }
ticks_before=$(cpu_ticks)
switches_before=$(switches)
cmek1=$(wrk_rate "$PUBSUB/topics/cmek:publish" "$BENCH_TMP/publish.lua") || exit 1
ticks_after=$(cpu_ticks)
switches_after=$(switches)
cpu_us=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v r="$cmek1" \
    -v s="$BENCH_SECONDS" 'BEGIN { printf "%.1f", (r > 0 ? t / hz * 1e6 / (r * s) : 0) }')
cs_per=$(awk -v c=$((switches_after - switches_before)) -v r="$cmek1" -v s="$BENCH_SECONDS" \
    'BEGIN { printf "%.2f", (r > 0 ? c / (r * s) : 0) }')
plain1=$(wrk_rate "$PUBSUB/topics/plain:publish" "$BENCH_TMP/publish.lua") || exit 1
cmek2=$(wrk_rate "$PUBSUB/topics/cmek:publish" "$BENCH_TMP/publish.lua") || exit 1
plain2=$(wrk_rate "$PUBSUB/topics/plain:publish" "$BENCH_TMP/publish.lua") || exit 1
cmek=$(best "$cmek1" "$cmek2")
plain=$(best "$plain1" "$plain2")
avro=$(wrk_rate "$PUBSUB/topics/avro:publish" "$BENCH_TMP/publish-avro.lua") || exit 1
stop_last

disk_dir="$BENCH_TMP/data"
start_ours --data-dir "$disk_dir" || exit 1
disk1=$(wrk_rate "$PUBSUB/topics/cmek:publish" "$BENCH_TMP/publish.lua") || exit 1
disk2=$(wrk_rate "$PUBSUB/topics/cmek:publish" "$BENCH_TMP/publish.lua") || exit 1
disk=$(best "$disk1" "$disk2")
stop_last

google=0
warm=0
google_avro=0
if [[ -x $GOOGLE_EMULATOR ]] && command -v java >/dev/null; then
    gport=$((base + 7))
    start_bg "$GOOGLE_EMULATOR" --host=127.0.0.1 --port="$gport"
    GOOGLE="http://127.0.0.1:$gport/v1/projects/$PROJECT"
    for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$gport/" && break; sleep 0.1; done
    json PUT "$GOOGLE/topics/plain" '{}' &&
        json PUT "$GOOGLE/subscriptions/plain-sub" "{\"topic\":\"projects/$PROJECT/topics/plain\"}" ||
        { echo "Google's Pub/Sub emulator did not start on port $gport" >&2; exit 1; }
    google=$(wrk_rate "$GOOGLE/topics/plain:publish" "$BENCH_TMP/publish.lua") || exit 1
    warm_runs=""
    for _ in $(seq "${GOOGLE_WARM_RUNS:-10}"); do
        rate=$(wrk_rate "$GOOGLE/topics/plain:publish" "$BENCH_TMP/publish.lua") || exit 1
        warm_runs+="${warm_runs:+, }$rate"
        rising=$(( rate * 100 > warm * 105 ))
        warm=$(best "$warm" "$rate")
        (( rising )) || break
    done
    avro_topic "$GOOGLE" || { echo "cannot create the Avro topic on Google's emulator" >&2; exit 1; }
    google_avro=$(wrk_rate "$GOOGLE/topics/avro:publish" "$BENCH_TMP/publish-avro.lua") || exit 1
    stop_last
else
    echo "!!!!!!!! Google's Pub/Sub emulator (and java) not found: no peer to compare with !!!!!!!!"
fi

printf '%-56s %12s\n' "Pub/Sub publish, 1 KiB, $BENCH_SECONDS s runs, 16 connections" "requests/s"
printf 'our data directory (--ephemeral): %s, on %s\n' "$data_dir" "$(stat -f -c %T "$(dirname "$data_dir")" 2>/dev/null)"
printf '%-56s %12s\n' "our Pub/Sub, CMEK topic (runs: $cmek1, $cmek2)" "$cmek"
printf '%-56s %12s\n' "our Pub/Sub, topic without a key (runs: $plain1, $plain2)" "$plain"
printf '%-56s %12s\n' "Google's Pub/Sub emulator, first run after start-up" "$google"
printf '%-56s %12s\n' "Google's Pub/Sub emulator, warmed up (runs: ${warm_runs:-none})" "$warm"
printf '%-56s %12s\n' "our Pub/Sub, topic with an Avro schema (JSON, 1.1 KiB)" "$avro"
printf '%-56s %12s\n' "Google's Pub/Sub emulator, Avro topic (after the warm runs)" "$google_avro"
printf '%-56s %12s\n' "our Pub/Sub, CMEK topic, data on $(stat -f -c %T "$disk_dir") (runs: $disk1, $disk2)" "$disk"
printf 'server CPU per CMEK publish (first run): %s us, %s context switches\n' "$cpu_us" "$cs_per"
cost=$(awk -v c="$cmek" -v p="$plain" 'BEGIN { printf "%.1f", (p > 0 ? 100 * (p - c) / p : 0) }')
printf 'CMEK costs %s %% against the topic without a key (target < 20 %%): %s\n' "$cost" \
    "$(awk -v c="$cmek" -v p="$plain" 'BEGIN { print (100 * (p - c) < 20 * p ? "MET" : "NOT MET") }')"
if (( google > 0 )); then
    times=$(awk -v c="$cmek" -v g="$google" 'BEGIN { printf "%.1f", c / g }')
    warm_times=$(awk -v c="$cmek" -v g="$warm" 'BEGIN { printf "%.2f", (g > 0 ? c / g : 0) }')
    printf 'CMEK publish = %sx Google'"'"'s emulator, first run after start-up\n' "$times"
    # the verdict from the rates themselves (19.96 is not 20, though it prints as 20.0)
    printf 'CMEK publish = %sx Google'"'"'s emulator, warmed up (target >= 20x): %s\n' \
        "$warm_times" \
        "$(awk -v c="$cmek" -v g="$warm" 'BEGIN { print (g > 0 && c >= 20 * g ? "MET" : "NOT MET") }')"
    printf 'CMEK publish, data on disk = %sx Google'"'"'s emulator, warmed up\n' \
        "$(awk -v c="$disk" -v g="$warm" 'BEGIN { printf "%.1f", (g > 0 ? c / g : 0) }')"
fi
