#!/usr/bin/env bash
# bench_runner: the Dataflow runner's figures (issue 11), in one run of the script:
#
#   batch      Google's Word_Count template over a BENCH_WC_MB (default 100) MB text in
#              gs://, launch to JOB_STATE_DONE, against the coreutils pipeline
#              `tr -cs "A-Za-z'" '\n' | sort | uniq -c` on the same file (LC_ALL=C); the two
#              counts are compared word for word. Bounded: a job not done within
#              BENCH_WC_LIMIT seconds (default 600) is cancelled and reported so.
#   streaming  Cloud_PubSub_to_Cloud_PubSub with CMEK on the job and on both topics:
#              messages published at BENCH_RATE per second (default 12,000: above the
#              target, which the sustained rate can then show it passes) for
#              BENCH_STREAM_SECONDS (default 10 s) in batches of 100, pulled from the output
#              topic's subscription; sustained messages/s and end-to-end latency (publish to
#              pull) percentiles (runner_stream_load.py).
#
# Targets (README, "Performance"): Word_Count faster than coreutils; streaming at least
# 10,000 messages/s with p99 under 250 ms. The machine is shared: load average printed.
source "$(dirname "$0")/bench_lib.sh"
WC_MB="${BENCH_WC_MB:-100}"
WC_LIMIT="${BENCH_WC_LIMIT:-600}"
RATE="${BENCH_RATE:-12000}"
STREAM_SECONDS="${BENCH_STREAM_SECONDS:-10}"
PROJECT=bench-project
P=projects/$PROJECT
R=us-central1

base=$(free_base 8) || { echo "no free ports" >&2; exit 1; }
DATA="$BENCH_TMP/data"
mkdir -p "$DATA/gcs/bench-bkt"
start_bg "$BIN_DIR/emulator" --data-dir "$DATA" --port-base "$base" --services kms,pubsub,runner \
    --log-level warning
KMS="http://127.0.0.1:$((base + 1))/v1/$P/locations/global"
PUBSUB="http://127.0.0.1:$((base + 2))"
LOC="http://127.0.0.1:$((base + 5))/v1b3/$P/locations/$R"
for port in 1 2 5; do wait_http "http://127.0.0.1:$((base + port))/health" || exit 1; done

json() { curl -sf -X "$1" -H 'Content-Type: application/json' "$2" -d "$3"; }
KEY="$P/locations/global/keyRings/bench/cryptoKeys"
json POST "$KMS/keyRings?keyRingId=bench" '{}' >/dev/null &&
    for k in job topics; do
        json POST "$KMS/keyRings/bench/cryptoKeys?cryptoKeyId=$k" '{"purpose":"ENCRYPT_DECRYPT"}' >/dev/null || exit 1
    done || { echo "cannot create the keys" >&2; exit 1; }

now_s() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
job_state() { curl -s "$LOC/jobs/$1" | jq -r .currentState; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"

# --- batch: Word_Count against coreutils ---

# A text of WC_MB MB: lines of 9 words drawn from a vocabulary of 20,000 words of 2 to 9
# letters with a long-tailed (log-uniform) frequency as in prose, some capitalised, some
# with "'s", commas and full stops; one MB is generated, then repeated.
awk 'BEGIN { srand(11)
    for (i = 0; i < 20000; i++) { len = 2 + int(rand() * 8); word = ""
        for (c = 0; c < len; c++) word = word sprintf("%c", 97 + int(rand() * 26))
        vocab[i] = word }
    n = 0
    while (n < 1048576) { line = ""
        for (w = 0; w < 9; w++) { word = vocab[int(20000 ^ rand()) - 1]
            if (rand() < 0.05) word = word "'"'"'s"
            if (rand() < 0.1) word = toupper(substr(word, 1, 1)) substr(word, 2)
            line = line (w ? (rand() < 0.1 ? ", " : " ") : "") word }
        print line "."; n += length(line) + 2 } }' >"$BENCH_TMP/one.txt"
for _ in $(seq "$WC_MB"); do cat "$BENCH_TMP/one.txt"; done >"$DATA/gcs/bench-bkt/input.txt"
size=$(stat -c %s "$DATA/gcs/bench-bkt/input.txt")

t0=$(now_s)
LC_ALL=C tr -cs "A-Za-z'" '\n' <"$DATA/gcs/bench-bkt/input.txt" | LC_ALL=C sort | LC_ALL=C uniq -c >"$BENCH_TMP/coreutils.txt"
t1=$(now_s)
coreutils_s=$(elapsed "$t0" "$t1")

t0=$(now_s)
job=$(json POST "$LOC/templates" "{\"jobName\":\"wc\",\"gcsPath\":\"gs://dataflow-templates/latest/Word_Count\",\"parameters\":{\"inputFile\":\"gs://bench-bkt/input.txt\",\"output\":\"gs://bench-bkt/out/counts\"},\"environment\":{\"kmsKeyName\":\"$KEY/job\"}}" | jq -r .id)
[[ -n "$job" && "$job" != null ]] || { echo "Word_Count was not launched" >&2; exit 1; }
state=""
while :; do
    state=$(job_state "$job")
    [[ $state == JOB_STATE_DONE || $state == JOB_STATE_FAILED ]] && break
    if (( $(awk -v a="$t0" -v b="$(now_s)" -v l="$WC_LIMIT" 'BEGIN { print (b - a > l) }') )); then
        json PUT "$LOC/jobs/$job" '{"requestedState":"JOB_STATE_CANCELLED"}' >/dev/null
        state="not done within $WC_LIMIT s (cancelled)"
        break
    fi
    sleep 0.2
done
t1=$(now_s)
runner_s=$(elapsed "$t0" "$t1")
same="-"
if [[ $state == JOB_STATE_DONE ]]; then
    awk '$2 != "" { print $2 ": " $1 }' "$BENCH_TMP/coreutils.txt" | LC_ALL=C sort >"$BENCH_TMP/expected.txt"
    LC_ALL=C sort "$DATA"/gcs/bench-bkt/out/counts-* >"$BENCH_TMP/got.txt"
    cmp -s "$BENCH_TMP/expected.txt" "$BENCH_TMP/got.txt" && same=yes || same=NO
fi
printf '%-58s %12s\n' "Word_Count over $((size / 1048576)) MB ($(wc -l <"$BENCH_TMP/expected.txt" 2>/dev/null || echo ?) words)" seconds
printf '%-58s %12s\n' "  coreutils: tr | sort | uniq -c" "$coreutils_s"
printf '%-58s %12s\n' "  runner, launch to $state" "$runner_s"
printf '%-58s %12s\n' "  same counts" "$same"
rm -f "$DATA/gcs/bench-bkt/input.txt"

# --- streaming: Pub/Sub -> Pub/Sub, CMEK on both topics and the job ---

for t in in out; do
    json PUT "$PUBSUB/v1/$P/topics/stream-$t" "{\"kmsKeyName\":\"$KEY/topics\"}" >/dev/null || exit 1
    json PUT "$PUBSUB/v1/$P/subscriptions/stream-$t-sub" \
        "{\"topic\":\"$P/topics/stream-$t\",\"ackDeadlineSeconds\":60}" >/dev/null || exit 1
done
job=$(json POST "$LOC/templates" "{\"jobName\":\"relay\",\"gcsPath\":\"gs://dataflow-templates/latest/Cloud_PubSub_to_Cloud_PubSub\",\"parameters\":{\"inputSubscription\":\"$P/subscriptions/stream-in-sub\",\"outputTopic\":\"$P/topics/stream-out\"},\"environment\":{\"kmsKeyName\":\"$KEY/job\"}}" | jq -r .id)
for _ in $(seq 100); do [[ $(job_state "$job") == JOB_STATE_RUNNING ]] && break; sleep 0.1; done
runner_pid=$(pgrep -f "bin/runner --port-base=$base " | head -1)
pubsub_pid=$(pgrep -f "bin/pubsub --port-base=$base " | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
r0=$(ticks "$runner_pid") p0=$(ticks "$pubsub_pid") t0=$(now_s)
result=$(python3 "$BENCH_LIB_DIR/runner_stream_load.py" "$PUBSUB" "$PROJECT" stream-in stream-out-sub \
    "$RATE" "$STREAM_SECONDS") || { echo "the streaming load failed" >&2; exit 1; }
r1=$(ticks "$runner_pid") p1=$(ticks "$pubsub_pid") t1=$(now_s)
json PUT "$LOC/jobs/$job" '{"requestedState":"JOB_STATE_CANCELLED"}' >/dev/null
cpu() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v s="$(elapsed "$t0" "$t1")" 'BEGIN { printf "%.0f %%", 100 * t / hz / s }'; }
printf '%-58s %12s\n' "Pub/Sub -> runner -> Pub/Sub, CMEK (offered $RATE/s, ${STREAM_SECONDS} s)" ""
printf '%-58s %12s\n' "  sent / received" "$(jq -r '"\(.sent) / \(.received)"' <<<"$result")"
printf '%-58s %12s\n' "  sustained messages/s" "$(jq -r .rate <<<"$result")"
printf '%-58s %12s\n' "  latency p50 / p99 / max (ms)" "$(jq -r '"\(.p50_ms) / \(.p99_ms) / \(.max_ms)"' <<<"$result")"
printf '%-58s %12s\n' "  CPU of runner / pubsub processes" "$(cpu $((r1 - r0))) / $(cpu $((p1 - p0)))"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
