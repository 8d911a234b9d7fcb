#!/usr/bin/env bash
# test_node_clients: Google's Node.js client libraries, @google-cloud/kms,
# @google-cloud/pubsub, the generated clients of @google-cloud/spanner (v1),
# @google-cloud/bigtable (v2), @google-cloud/dataflow (v1beta3) and
# @google-cloud/org-policy and @google-cloud/service-usage, over their REST transport against a fresh stack: every KMS and
# Pub/Sub method the emulator implements, a CMEK topic driven by both, Spanner's admin and
# data planes with CMEK databases and backups, a two-cluster Bigtable instance under two
# keys, Dataflow templates launched, listed and read back, the CMEK organization
# policies set and felt by Pub/Sub, Service Usage through @google-cloud/service-usage,
# Cloud EKM and Key Access Justifications through @google-cloud/kms, Resource Manager v3
# projects and folders through @google-cloud/resource-manager and v1 (a deleted project, liens)
# through googleapis, with Pub/Sub's and KMS's libraries seeing the deleted project (the
# tests are tests/node/*.test.js, every one
# listed below, run with node's built-in test runner).
#
# The libraries are installed from npm into tests/node/node_modules with `npm ci`
# (exact versions from tests/node/package-lock.json) when that folder is missing or was
# installed from another lockfile. Node and npm are required: without them this test
# fails, loudly (scripts/install-deps --dev installs them).
source "$(dirname "$0")/lib.sh"

NODE_DIR="$REPO_DIR/tests/node"
NODE_MIN_MAJOR=20 # what the tests run on; the libraries themselves declare node >= 22

section "node and npm"
for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "!!!!!!!! $TEST_NAME: $tool is not installed: the client-library tests cannot run !!!!!!!!" >&2
        echo "!!!!!!!! install Node.js >= $NODE_MIN_MAJOR with npm (scripts/install-deps --dev)   !!!!!!!!" >&2
        _fail "$tool is required"
        finish
    fi
done
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if (( node_major < NODE_MIN_MAJOR )); then
    echo "!!!!!!!! $TEST_NAME: node $(node --version) is too old; Node.js >= $NODE_MIN_MAJOR is needed !!!!!!!!" >&2
    _fail "node >= $NODE_MIN_MAJOR is required, found $(node --version)"
    finish
fi
_pass "node $(node --version), npm $(npm --version)"

# node_modules is current when it was installed from this very lockfile (its hash is
# stamped after a successful `npm ci`). A lock keeps parallel runs from installing at once.
section "npm ci (when tests/node/node_modules is missing or stale)"
install_modules() {
    local want stamp="$NODE_DIR/node_modules/.installed-from-lock"
    want=$(sha256sum "$NODE_DIR/package-lock.json" | cut -d' ' -f1)
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    echo "  installing the client libraries from npm (package-lock.json)"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) || return 1
    printf '%s\n' "$want" >"$stamp"
}
exec {lock_fd}>"$NODE_DIR/.npm-install.lock"
if command -v flock >/dev/null 2>&1; then flock "$lock_fd"; fi
if install_modules; then
    _pass "client libraries installed"
else
    echo "!!!!!!!! $TEST_NAME: npm ci failed in $NODE_DIR (network or registry?) !!!!!!!!" >&2
    _fail "npm ci in tests/node"
    finish
fi
exec {lock_fd}>&-

start_stack

section "node --test tests/node (the *_URL variables from start_stack)"
NODE_TESTS=(kms.test.js kms_autokey.test.js kms_ekm.test.js kms_kaj.test.js projects.test.js
    folders.test.js pubsub.test.js pubsub_schemas.test.js cmek.test.js spanner.test.js spanner_roles.test.js
    orgpolicy.test.js serviceusage.test.js bigtable.test.js dataflow.test.js)
for path in "$NODE_DIR"/*.test.js; do # a test file left out of the list would never run
    [[ " ${NODE_TESTS[*]} " == *" $(basename "$path") "* ]] ||
        _fail "$(basename "$path") is not in NODE_TESTS: add it"
done
# Two reporters: spec for people, TAP for counting each test here.
tap="$TEST_TMP/node.tap"
status=0
(cd "$NODE_DIR" && NODE_NO_WARNINGS=1 timeout 150 node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "${NODE_TESTS[@]}") || status=$?

# Every test (not the suites around them) counts as one check; a failing one is named.
while IFS=$'\t' read -r result name; do
    if [[ "$result" == ok ]]; then _pass "node: $name"; else _fail "node: $name"; fi
done < <(awk '
    function flush() { if (pending != "" && !suite) print pending; pending = ""; suite = 0 }
    /^ *(not )?ok [0-9]+ - / {
        flush()
        line = $0; sub(/^ */, "", line)
        result = (line ~ /^not ok/) ? "not ok" : "ok"
        sub(/^(not )?ok [0-9]+ - /, "", line)
        pending = result "\t" line
        next
    }
    /^ *type: .suite.$/ { suite = 1 }
    END { flush() }' "$tap" 2>/dev/null)

if (( status != 0 )); then
    _fail "node --test exited with status $status$( (( status == 124 )) && echo ' (timed out)')"
fi
expect_healthy "$KMS_URL"
expect_healthy "$PUBSUB_URL"
expect_healthy "$SPANNER_URL"
expect_healthy "$BIGTABLE_URL"
expect_healthy "$RUNNER_URL"
finish
