#!/usr/bin/env bash
# test_newcomer.sh: what someone meets on a first run, end to end:
#   - the ports of services not built yet (Bigtable +3, Spanner +4, Dataflow +5) answer
#     every call at once with Google's UNIMPLEMENTED error naming the method and path,
#     through curl and through the real gcloud (which must fail within seconds, not hang);
#   - the status page (GET / on the control plane): its content, every value HTML-escaped,
#     and the page rendered by a real headless browser (Debian's chromium; a loud
#     SKIPPING line where it is not installed);
#   - a port held by another program: a service that cannot listen is reported at once
#     (lastExit, the control plane's log), and scripts/start-all refuses or stops at once
#     and says why.
# SCREENSHOT_DIR=dir keeps the browser's screenshot of the status page there.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

PROJECT=my-project
start_stack
setup_gcloud "$PROJECT"

# unbuilt NAME: the service has no binary, so its port is the control plane's placeholder.
unbuilt() { [[ ! -x "$BIN_DIR/$1" ]]; }

section "the status lists the ports of services not built yet"
api GET "$CONTROL_URL/emulator/v1/status"
expect_status 200
for name_url in "bigtable $BIGTABLE_URL" "runner $RUNNER_URL"; do
    name=${name_url% *}
    if unbuilt "$name"; then
        expect_json ".unimplementedServices[] | select(.name == \"$name\") | .url" "${name_url#* }"
    fi
done
expect_json '[.services[] | .lastExit] | unique | join(",")' ""
expect_json '[.services[] | select(.name == "spanner")] | length' 1 # built: a service, not a placeholder

section "unbuilt ports answer every call with UNIMPLEMENTED naming the method and path"
# check_unbuilt NAME PRODUCT URL: a few calls to the port, each answered at once.
check_unbuilt() {
    local name=$1 product=$2 url=$3 started
    if ! unbuilt "$name"; then
        echo "  $name is built ($BIN_DIR/$name): its own tests cover its port"
        return 0
    fi
    started=$(now_ms)
    api GET "$url/v2/projects/$PROJECT/instances?pageSize=5"
    expect_error_json 400 UNIMPLEMENTED
    expect_json .error.message \
        "Method GET /v2/projects/$PROJECT/instances is not implemented by this emulator yet: $product comes in a later release."
    api POST "$url/v1/projects/$PROJECT/instances/i/databases/d/sessions:batchCreate" '{"sessionCount": 1}'
    expect_error_json 400 UNIMPLEMENTED
    expect_contains "$BODY" "Method POST /v1/projects/$PROJECT/instances/i/databases/d/sessions:batchCreate" \
        "$name: the message names the method and the path with its verb"
    api DELETE "$url/"
    expect_error_json 400 UNIMPLEMENTED
    # /health says the same: nothing serves on this port, and a health check must see it
    api GET "$url/health"
    expect_error_json 400 UNIMPLEMENTED
    expect_contains "$BODY" "$product comes in a later release" "$name: /health says the service is not built"
    expect_eq 1 "$(( $(now_ms) - started < 3000 ))" "$name: five calls answered within 3 s"
}
check_unbuilt bigtable Bigtable "$BIGTABLE_URL"
check_unbuilt runner Dataflow "$RUNNER_URL"
api GET "$CONTROL_URL/no/such/path"
expect_error_json 404 NOT_FOUND # the control plane's own port is not a placeholder

section "gcloud on unbuilt services fails fast with the UNIMPLEMENTED message"
# gcloud_fails_fast EXPECTED_TEXT gcloud-args...: gcloud exits non-zero within 20 s
# (it retries a 5xx or a refused connection for about 30 s) and shows the message.
gcloud_fails_fast() {
    local expected=$1 started out status=0 elapsed
    shift
    started=$(now_ms)
    out=$(timeout 90 gcloud "$@" 2>&1) || status=$?
    elapsed=$(( $(now_ms) - started ))
    echo "  gcloud $*: exit $status after $elapsed ms"
    expect_eq 1 "$(( status != 0 ))" "gcloud $1 $2 fails"
    expect_eq 1 "$(( elapsed < 20000 ))" "gcloud $1 $2 fails within 20 s (took $elapsed ms)"
    expect_contains "$out" "$expected" "gcloud $1 $2 shows the message"
    expect_eq "" "$(grep -o 'ConnectionError\|Traceback\|crashed' <<<"$out" | head -n 1)" \
        "gcloud $1 $2 does not crash"
}
if (( HAVE_GCLOUD )); then
    if unbuilt bigtable; then
        gcloud_fails_fast "UNIMPLEMENTED: Method GET /v2/projects/$PROJECT/instances is not implemented by this emulator yet: Bigtable comes in a later release." \
            bigtable instances list
    fi
    if unbuilt runner; then
        gcloud_fails_fast "Method GET /v1b3/projects/$PROJECT/locations/us-central1/jobs is not implemented by this emulator yet: Dataflow comes in a later release." \
            dataflow jobs list --region us-central1
    fi
fi

section "status page: services, clock, faults, protected resources"
api PUT "$PUBSUB_URL/v1/projects/$PROJECT/topics/plain-topic" '{}'
expect_status 200
RING="projects/$PROJECT/locations/global/keyRings/page-ring"
api POST "$KMS_URL/v1/projects/$PROJECT/locations/global/keyRings?keyRingId=page-ring" '{}'
expect_status 200
api POST "$KMS_URL/v1/$RING/cryptoKeys?cryptoKeyId=orders-key" '{"purpose": "ENCRYPT_DECRYPT"}'
expect_status 200
api PUT "$PUBSUB_URL/v1/projects/$PROJECT/topics/orders" "{\"kmsKeyName\": \"$RING/cryptoKeys/orders-key\"}"
expect_status 200
api POST "$CONTROL_URL/emulator/v1/clock:advance" '{"seconds": 600}'
expect_status 200
api GET "$CONTROL_URL/"
expect_status 200
PAGE=$BODY
expect_eq "text/html; charset=utf-8" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$CONTROL_URL/")" "the page is HTML"
expect_contains "$PAGE" "<!DOCTYPE html>" "a whole HTML document"
expect_contains "$PAGE" '<meta http-equiv="refresh" content="5">' "it reloads itself"
expect_contains "$PAGE" "$KMS_URL" "kms is listed with its URL"
expect_contains "$PAGE" "$PUBSUB_URL" "pubsub is listed with its URL"
expect_contains "$PAGE" ">healthy<" "healthy services say so"
if unbuilt bigtable; then
    expect_contains "$PAGE" "NOT BUILT YET" "unbuilt services say so"
fi
expect_contains "$PAGE" "(offset 600s" "the emulator clock and its offset"
api GET "$CONTROL_URL/emulator/v1/clock"
expect_contains "$PAGE" "$(jq -r '.now | .[0:16]' <<<"$BODY")" "the emulator time (to the minute)"
expect_contains "$PAGE" "None active." "no fault"
expect_contains "$PAGE" "projects/$PROJECT/topics/orders" "the CMEK topic is listed"
expect_contains "$PAGE" "$RING/cryptoKeys/orders-key" "with its key"
expect_contains "$PAGE" 'title="'"$RING"'/cryptoKeys/orders-key/cryptoKeyVersions/1">1<' "and key version"
expect_contains "$PAGE" '<span class="ok">ACCESSIBLE</span>' "and its state"
expect_contains "$PAGE" "projects/$PROJECT/topics/plain-topic" "a topic without a key is listed"
expect_contains "$PAGE" "Google default encryption" "as Google default encryption"
expect_contains "$PAGE" "<th>last check</th><th>next check</th>" "last and next checks"
expect_contains "$PAGE" '<span class="small">in ' "the next check reads as a time to come"
api POST "$CONTROL_URL/emulator/v1/faults" '{"kmsUnreachable": true}'
expect_status 200
api GET "$CONTROL_URL/"
expect_contains "$BODY" '<b class="bad">kmsUnreachable</b>' "an active fault is shown"
api POST "$CONTROL_URL/emulator/v1/faults" '{"kmsUnreachable": false}'
expect_status 200
expect_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$CONTROL_URL/")" "HEAD / answers 200"

section "status page: every value is HTML-escaped"
# Google's ID rules keep '<' out of every name the APIs accept, so a row with markup in
# each field is written straight into the engine's table (under a service name no
# process owns), as a name from a future service or a corrupted row could be.
api GET "$CONTROL_URL/emulator/v1/status"
DATA_DIR=$(jq -r .dataDir <<<"$BODY")
HOSTILE_TOPIC="projects/$PROJECT/topics/<script>alert(1)</script>"
HOSTILE_KEY="$RING/cryptoKeys/<img src=x onerror=alert(2)>"
if command -v sqlite3 >/dev/null; then
    sqlite3 "$DATA_DIR/metadata.db" "PRAGMA busy_timeout = 5000; INSERT INTO cmek_resources(resource,
        service, project, kms_key, key_version, wrapped_kek, wrapped_dek, state, state_since_ns,
        last_check_ns, next_check_ns, reason) VALUES ('$HOSTILE_TOPIC', 'page<test>', '$PROJECT',
        '$HOSTILE_KEY', '$HOSTILE_KEY/cryptoKeyVersions/\"><b>3', x'00', x'00', 'INACCESSIBLE', 1, 1, 1,
        'KMS said <i>no</i> & \"bye\"')" >/dev/null
    expect_eq 0 $? "a hostile row was written"
    api GET "$CONTROL_URL/"
    expect_contains "$BODY" "projects/$PROJECT/topics/&lt;script&gt;alert(1)&lt;/script&gt;" "the topic name is text"
    expect_contains "$BODY" "cryptoKeys/&lt;img src=x onerror=alert(2)&gt;" "the key name is text"
    expect_contains "$BODY" "page&lt;test&gt;" "the service name is text"
    expect_contains "$BODY" "&quot;&gt;&lt;b&gt;3" "the key version is text"
    expect_contains "$BODY" "KMS said &lt;i&gt;no&lt;/i&gt; &amp; &quot;bye&quot;" "KMS's reason is text"
    expect_eq 0 "$(grep -c '<script\|<img\|<i>\|<b>3' <<<"$BODY")" "no markup from the data reached the page"
else
    echo "!!!!!!!! SKIPPING the escaping checks: sqlite3 not installed (scripts/install-deps --dev) !!!!!!!!" >&2
fi

section "status page in a real browser (headless chromium)"
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
    echo "!!!!!!!! SKIPPING the browser checks: chromium not installed (scripts/install-deps --dev) !!!!!!!!" >&2
else
    shot_dir="${SCREENSHOT_DIR:-$TEST_TMP}"
    mkdir -p "$shot_dir"
    shot="$shot_dir/status-page.png"
    # shellcheck disable=SC2054 # the comma is the window size's, not an array separator
    chrome_args=(--headless --no-sandbox --disable-gpu --user-data-dir="$TEST_TMP/chromium"
                 --window-size=1200,900)
    dom=$(cd "$TEST_TMP" && timeout 90 "$browser" "${chrome_args[@]}" --dump-dom "$CONTROL_URL/" 2>/dev/null)
    expect_contains "$dom" "<h1>CMEK emulator</h1>" "the browser rendered the page"
    expect_contains "$dom" "projects/$PROJECT/topics/orders" "the rendered DOM lists the topic"
    expect_contains "$dom" "$RING/cryptoKeys/orders-key" "the rendered DOM shows its key"
    if command -v sqlite3 >/dev/null; then
        expect_contains "$dom" "topics/&lt;script&gt;alert(1)&lt;/script&gt;" "the browser kept the topic name as text"
        expect_eq 0 "$(grep -c '<script\|<img' <<<"$dom")" "the browser made no element from the data"
    fi
    rm -f "$shot"
    (cd "$TEST_TMP" && timeout 90 "$browser" "${chrome_args[@]}" --screenshot="$shot" "$CONTROL_URL/" >/dev/null 2>&1)
    expect_eq "89504e47" "$(head -c 4 "$shot" 2>/dev/null | od -An -tx1 | tr -d ' \n')" "a PNG screenshot was taken"
    echo "  screenshot: $shot$([[ -z "${SCREENSHOT_DIR:-}" ]] && echo " (removed at exit; set SCREENSHOT_DIR to keep it)")"
fi

section "a port held by another program: the service's failure is reported at once"
if ! command -v python3 >/dev/null; then
    echo "!!!!!!!! SKIPPING the busy-port checks: python3 not installed !!!!!!!!" >&2
else
    base=$(free_port_base)
    # a process listening on 127.0.0.1:<kms's port> until killed
    python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(300)' \
        $((base + 1)) >/dev/null 2>&1 &
    holder=$!
    on_exit "kill $holder 2>/dev/null"
    wait_for 5 "the holder to listen" port_in_use $((base + 1))
    # bin/emulator directly: no start-all check before it, as in a race for the port
    "$BIN_DIR/emulator" --ephemeral --port-base "$base" >"$TEST_TMP/busy.log" 2>&1 &
    busy_pid=$!
    on_exit "stop_pid $busy_pid"
    # kms_last_exit: the lastExit of kms in that stack's status, once set.
    # shellcheck disable=SC2317 # called through wait_for
    kms_last_exit() {
        curl -s --max-time 2 "http://127.0.0.1:$base/emulator/v1/status" |
            jq -e '.services[] | select(.name == "kms") | select(.lastExit != "")'
    }
    started=$(now_ms)
    if wait_for 10 "kms's failure to be reported" kms_last_exit; then
        echo "  reported after $(( $(now_ms) - started )) ms"
        out=$(kms_last_exit | jq -r .lastExit)
        expect_contains "$out" "exited with status 3" "lastExit gives the exit status"
        expect_contains "$out" "cannot listen on its port" "lastExit says why"
        expect_contains "$(cat "$TEST_TMP/busy.log")" "kms could not start: it exited with status 3" \
            "the control plane logs the failure as an error"
        log=$(curl -s "http://127.0.0.1:$base/emulator/v1/status" | jq -r '.services[] | select(.name == "kms") | .log')
        expect_contains "$(cat "$log")" "cannot listen on 127.0.0.1:$((base + 1))" "kms's log names the address"
    else
        _fail "kms's failure to listen was not reported within 10 s; log: $(tail -n 5 "$TEST_TMP/busy.log")"
    fi
    stop_pid "$busy_pid"

    if [[ "$(cd "$BIN_DIR" && pwd)" == "$REPO_DIR/bin" ]] && make -q -C "$REPO_DIR" >/dev/null 2>&1; then
        # start-all checks the six ports before starting
        started=$(now_ms)
        out=$(XDG_RUNTIME_DIR="$TEST_TMP" "$REPO_DIR/scripts/start-all" --ephemeral --port-base "$base" 2>&1)
        status=$?
        expect_eq 1 "$status" "start-all refuses a port base with a busy port"
        expect_eq 1 "$(( $(now_ms) - started < 5000 ))" "start-all refuses within 5 s"
        expect_contains "$out" "another program already uses port $((base + 1)) (kms)" \
            "start-all names the busy port and its service"
        expect_contains "$out" "--port-base" "start-all says how to choose another port base"
        expect_eq "" "$(ls "$TEST_TMP"/cmek-emulator-"$base".state 2>/dev/null)" "no state file is left"
        if [[ -e "$TEST_TMP/cmek-emulator-$base.state" ]]; then
            XDG_RUNTIME_DIR="$TEST_TMP" "$REPO_DIR/scripts/stop-all" --port-base "$base" >/dev/null
        fi
    else
        echo "  start-all's checks run only on the built repository (BIN_DIR=$REPO_DIR/bin, up to date)"
    fi
    kill "$holder" 2>/dev/null
fi

finish
