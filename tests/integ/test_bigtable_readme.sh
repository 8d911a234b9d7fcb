#!/usr/bin/env bash
# test_bigtable_readme: the README's Bigtable walkthrough (the sh block after the marker
# <!-- bigtable-walkthrough -->) run verbatim by bash, with only its ports moved to this
# run's (8790 -> control, 8793 -> bigtable), then what it printed checked step by step, in
# order: the cell written and read, the cascade (east-c1 DISABLED at the first key check
# while west-c2 serves multi-cluster reads, both DISABLED at the second and reads failing
# FAILED_PRECONDITION), re-enabling restoring both, and 30 days of a refused key deleting
# east-c1's data (NOT_FOUND) while west-c2 serves again. Then a kill -9 of bigtable while
# a writer writes: every acknowledged mutation is read back after the restart, and the
# cascade's state is as before; east-c1, its data gone, can then be deleted.
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

start_stack
setup_gcloud my-project
if [[ $HAVE_GCLOUD != 1 ]]; then finish; fi
cd "$TEST_TMP"

section "the README block, extracted"
awk '/<!-- bigtable-walkthrough -->/ {found = 1; next}
     found && /^```sh$/ {inside = 1; next}
     inside && /^```$/ {exit}
     inside {print}' "$REPO_DIR/README.md" >walkthrough.sh
expect_eq 1 "$(grep -c 'gcloud bigtable instances create orders-inst' walkthrough.sh)" \
    "the block is found"
control_port=${CONTROL_URL##*:}
bigtable_port=${BIGTABLE_URL##*:}
sed -i "s/127\.0\.0\.1:8790/127.0.0.1:$control_port/g; s/127\.0\.0\.1:8793/127.0.0.1:$bigtable_port/g" \
    walkthrough.sh
expect_eq 0 "$(grep -c ':879[0-9]' walkthrough.sh)" "every port is this run's"

section "the README block, run"
# curl answers without a final newline: a curlrc of this run ends each with one, so every
# answer is a line of its own
mkdir -p curlhome
printf 'write-out = "\\n"\n' >curlhome/.curlrc
CURL_HOME=$PWD/curlhome bash -e walkthrough.sh >out.txt 2>err.txt
expect_eq 0 $? "the block runs through (stderr: $(tail -5 err.txt))"

# Each pattern must match a line after the line the previous one matched.
LAST=0
step() {
    local pattern=$1 what=$2 line
    line=$(awk -v from="$LAST" -v re="$pattern" 'NR > from && $0 ~ re {print NR; exit}' out.txt)
    if [[ -z $line ]]; then
        _fail "$what: no line matching /$pattern/ after line $LAST of the output"
        return
    fi
    _pass "$what"
    LAST=$line
}
HELLO='"value":"aGVsbG8="'
states() { printf 'east-c1[[:space:]]+%s' "$1"; }
west() { printf 'west-c2[[:space:]]+%s' "$1"; }

section "what the walkthrough printed, in order"
step "$HELLO" "the cell written is read back"
step "$(states DISABLED)" "first key check: east-c1 DISABLED"
step "$(west READY)" "... west-c2 still READY"
step "$HELLO" "a multi-cluster read is served by west-c2"
step 'FAILED_PRECONDITION' "a read routed to east-c1 fails FAILED_PRECONDITION"
step "$(states DISABLED)" "second key check: east-c1 DISABLED"
step "$(west DISABLED)" "... and west-c2 DISABLED too"
step 'FAILED_PRECONDITION' "a multi-cluster read fails FAILED_PRECONDITION"
step "$(states READY)" "re-enabled: east-c1 READY"
step "$(west READY)" "... west-c2 READY"
step "$(states DISABLED)" "30 days later: east-c1 DISABLED for good"
step "$(west READY)" "... west-c2 READY again"
step "$HELLO" "a multi-cluster read is served by west-c2"
step '"status": *"NOT_FOUND"' "a read routed to east-c1: NOT_FOUND (its data deleted)"

(( FAILURES )) && { echo "--- the walkthrough printed:"; cat out.txt; } >&2

section "after the 30 days"
api GET "$BIGTABLE_URL/v2/projects/my-project/instances/orders-inst/tables/orders?view=ENCRYPTION_VIEW"
expect_status 200
expect_eq 5 "$(jq -r '.clusterStates["east-c1"].encryptionInfo[0].encryptionStatus.code' <<<"$BODY")" \
    "east-c1's encryption status: NOT_FOUND (data deleted)"
expect_eq CUSTOMER_MANAGED_ENCRYPTION \
    "$(jq -r '.clusterStates["west-c2"].encryptionInfo[0].encryptionType' <<<"$BODY")" \
    "west-c2 still under its key"
section "kill -9 of bigtable while a writer writes: acknowledged mutations survive"
T="$BIGTABLE_URL/v2/projects/my-project/instances/orders-inst/tables/orders"
bigtable_pid() { curl -s "$CONTROL_URL/emulator/v1/status" | jq -r '.services[] | select(.name=="bigtable") | .pid'; }
bigtable_back() {
    curl -s "$CONTROL_URL/emulator/v1/status" |
        jq -e --arg old "$1" '.services[] | select(.name=="bigtable") |
            .healthy and .state == "RUNNING" and (.pid | tostring) != $old' >/dev/null
}
# writer: 40 mutateRow calls (row keys k00..k39), each retried until acknowledged (bigtable
# may be down meanwhile), recording the acknowledged keys; fails after 120 s in all
writer() {
    local i key deadline=$(( $(now_ms) + 120000 ))
    for (( i = 0; i < 40; i++ )); do
        key=$(printf 'k%02d' "$i")
        until curl -s --max-time 5 -X POST "$T:mutateRow" -d "{\"rowKey\":\"$(printf %s "$key" | base64 -w0)\",
            \"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"cQ==\",
            \"timestampMicros\":\"-1\",\"value\":\"dg==\"}}]}" | jq -e '. == {}' >/dev/null 2>&1; do
            (( $(now_ms) < deadline )) || return 1
            sleep 0.1
        done
        echo "$key" >>acked
    done
}
acked_at_least() { (( $(cat acked 2>/dev/null | wc -l) >= $1 )); }
writer &
WRITER=$!
wait_for 60 "writes acknowledged before the kill" acked_at_least 10
OLD_PID=$(bigtable_pid)
kill -9 "$OLD_PID"
expect_eq 0 $? "killed bigtable (pid $OLD_PID)"
wait_for 30 "the control plane to restart bigtable" bigtable_back "$OLD_PID"
wait "$WRITER"
expect_eq 0 $? "every write was acknowledged within 120 s"
api POST "$T:readRows" '{"rows":{"rowRanges":[{"startKeyClosed":"aw==","endKeyOpen":"bA=="}]}}'
expect_status 200
jq -r '.[].chunks[] | .rowKey // empty' <<<"$BODY" | base64 -d 2>/dev/null | fold -w3 | sort >read
sort acked >acked.sorted
expect_eq "" "$(comm -23 acked.sorted read | paste -sd,)" \
    "every acknowledged row is read back after the restart ($(wc -l <acked.sorted) acknowledged)"
expect_eq "east-c1 DISABLED;west-c2 READY" \
    "$(gcloud bigtable clusters list --instances=orders-inst --format='value(name.basename(),state)' | tr '\t' ' ' | paste -sd';')" \
    "the cascade's state survives the kill"

section "a cluster whose data is gone no longer holds the instance down: it can be deleted"
gcloud bigtable clusters delete east-c1 --instance=orders-inst --quiet >/dev/null 2>err.txt
expect_eq 0 $? "clusters delete east-c1 $(cat err.txt)"
expect_eq "west-c2 READY" \
    "$(gcloud bigtable clusters list --instances=orders-inst --format='value(name.basename(),state)' | tr '\t' ' ' | paste -sd';')" \
    "west-c2 alone, READY"
finish
