#!/usr/bin/env bash
# test_spanner_versions: reads at a past timestamp, from the row versions each database
# keeps for an hour (curl and gcloud): single-use readTimestamp and exactStaleness in
# executeSql and read (by key set and by index), rows inserted, updated and deleted
# (interleaved cascades, a nullable key, a table of one row), joins, read-only
# transactions whose reads all see their timestamp while others commit, the timestamp
# in the result's metadata (inline begin, returnReadTimestamp), Google's errors (too old,
# too far ahead, malformed), a timestamp a little ahead waited for, versions kept across
# a restart and an added column, old versions forgotten after the hour, a backup at a
# past versionTime restored with that time's rows, CMEK on; a longer
# version_retention_period (ALTER DATABASE, gcloud ddl update) keeping versions from then
# on, across a restart and into a restored backup, and NULL back to the hour; a row
# deletion policy (gcloud ddl update) deleting expired rows as the emulator clock advances.
source "$(dirname "$0")/lib.sh"

P=projects/versions-project
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent
setup_gcloud versions-project
INST="$P/instances/v-inst"
DB="$INST/databases/ledger"
KEY="$P/locations/us-central1/keyRings/r/cryptoKeys/k"
S="$SPANNER_URL/v1"
advance() { api POST "$CONTROL_URL/emulator/v1/clock:advance" "{\"seconds\": $1}"; expect_status 200; }

section "a CMEK database: a table, an interleaved child, a nullable key, a table of one row"
regional_keys "$P" us-central1
api POST "$S/$P/instances" "{\"instanceId\":\"v-inst\",\"instance\":{\"config\":\"$P/instanceConfigs/regional-us-central1\",\"displayName\":\"Versions\",\"nodeCount\":1}}"
expect_status 200
DDL='["CREATE TABLE Accounts (Id INT64 NOT NULL, Owner STRING(MAX), Balance INT64) PRIMARY KEY (Id)",
      "CREATE TABLE Entries (Id INT64 NOT NULL, EntryId INT64 NOT NULL, Amount INT64) PRIMARY KEY (Id, EntryId), INTERLEAVE IN PARENT Accounts ON DELETE CASCADE",
      "CREATE INDEX AccountsByOwner ON Accounts(Owner)",
      "CREATE TABLE Notes (Id INT64, Text STRING(MAX)) PRIMARY KEY (Id)",
      "CREATE TABLE Settings (Mode STRING(MAX)) PRIMARY KEY ()"]'
api POST "$S/$INST/databases" "{\"createStatement\":\"CREATE DATABASE ledger\",\"extraStatements\":$DDL,\"encryptionConfig\":{\"kmsKeyName\":\"$KEY\"}}"
expect_status 200
api POST "$S/$DB/sessions" '{}'
expect_status 200
SESSION=$(jq -r .name <<<"$BODY")

# commit MUTATIONS: a single-use commit; its timestamp in TS
commit() {
    api POST "$S/$SESSION:commit" "{\"singleUseTransaction\":{\"readWrite\":{}},\"mutations\":$1}"
    expect_status 200
    TS=$(jq -r .commitTimestamp <<<"$BODY")
}
# query SQL BOUND: executeSql in a single-use read-only transaction with that bound
query() {
    api POST "$S/$SESSION:executeSql" "{\"sql\":\"$1\",\"transaction\":{\"singleUse\":{\"readOnly\":$2}}}"
}
rows() { jq -c '[.rows[]? | map(tostring) | join(":")]' <<<"$BODY"; }
at() { printf '{"readTimestamp":"%s"}' "$1"; }

api POST "$S/$SESSION:beginTransaction" '{"options":{"readOnly":{"strong":true}}}'
expect_status 200
T0=$(jq -r .readTimestamp <<<"$BODY")
commit '[{"insert":{"table":"Accounts","columns":["Id","Owner","Balance"],"values":[["1","ann","100"],["2","bob","50"]]}},
  {"insert":{"table":"Entries","columns":["Id","EntryId","Amount"],"values":[["1","1","100"]]}},
  {"insert":{"table":"Notes","columns":["Id","Text"],"values":[[null,"null key"]]}},
  {"insert":{"table":"Settings","columns":["Mode"],"values":[["a"]]}}]'
T1=$TS
commit '[{"update":{"table":"Accounts","columns":["Id","Balance"],"values":[["1","70"]]}},
  {"delete":{"table":"Accounts","keySet":{"keys":[["2"]]}}},
  {"insert":{"table":"Accounts","columns":["Id","Owner","Balance"],"values":[["3","cy","10"]]}},
  {"replace":{"table":"Settings","columns":["Mode"],"values":[["b"]]}},
  {"update":{"table":"Notes","columns":["Id","Text"],"values":[[null,"changed"]]}}]'
T2=$TS
advance 100
commit '[{"delete":{"table":"Accounts","keySet":{"keys":[["1"]]}}}]'
T3=$TS
echo "  commits at $T1, $T2, $T3"

section "single-use reads at each commit's timestamp"
query 'SELECT Id, Owner, Balance FROM Accounts ORDER BY Id' "$(at "$T0")"
expect_status 200
expect_eq '[]' "$(rows)" "before the first commit there were no rows"
query 'SELECT Id, Owner, Balance FROM Accounts ORDER BY Id' "$(at "$T1")"
expect_eq '["1:ann:100","2:bob:50"]' "$(rows)" "the rows of the first commit"
query 'SELECT Id, Owner, Balance FROM Accounts ORDER BY Id' "$(at "$T2")"
expect_eq '["1:ann:70","3:cy:10"]' "$(rows)" "an update, a delete and an insert"
query 'SELECT Id, Owner, Balance FROM Accounts ORDER BY Id' "$(at "$T3")"
expect_eq '["3:cy:10"]' "$(rows)" "the delete of the third commit"
query 'SELECT Id, Owner, Balance FROM Accounts ORDER BY Id' '{"strong":true}'
expect_eq '["3:cy:10"]' "$(rows)" "a strong read sees the latest"
query 'SELECT Id, EntryId, Amount FROM Entries' "$(at "$T2")"
expect_eq '["1:1:100"]' "$(rows)" "the child row before the cascade"
query 'SELECT Id, EntryId, Amount FROM Entries' "$(at "$T3")"
expect_eq '[]' "$(rows)" "the interleaved child went with its parent"
query 'SELECT Text FROM Notes WHERE Id IS NULL' "$(at "$T1")"
expect_eq '["null key"]' "$(rows)" "a NULL key's first version"
query 'SELECT Text FROM Notes WHERE Id IS NULL' "$(at "$T2")"
expect_eq '["changed"]' "$(rows)" "a NULL key's second version"
query 'SELECT Mode FROM Settings' "$(at "$T1")"
expect_eq '["a"]' "$(rows)" "a table of one row, before its replace"
query 'SELECT Mode FROM Settings' "$(at "$T2")"
expect_eq '["b"]' "$(rows)" "a table of one row, after"
query 'SELECT a.Owner, e.Amount FROM Accounts a JOIN Entries e ON a.Id = e.Id' "$(at "$T2")"
expect_eq '["ann:100"]' "$(rows)" "a join at a timestamp"
query 'SELECT Balance FROM Accounts WHERE Id = 1' "$(at "$T2")"
expect_eq '["70"]' "$(rows)" "a point read by key"
query 'SELECT COUNT(*) FROM Accounts' "{\"exactStaleness\":\"50s\"}"
expect_status 200
expect_eq '["2"]' "$(rows)" "exactStaleness 50s falls between the second and third commits"

section "read and streamingRead at a timestamp, by key set and by index"
api POST "$S/$SESSION:read" "{\"table\":\"Accounts\",\"columns\":[\"Id\",\"Owner\"],\"keySet\":{\"all\":true},\"transaction\":{\"singleUse\":{\"readOnly\":$(at "$T1")}}}"
expect_status 200
expect_eq '["1:ann","2:bob"]' "$(rows)" "read, all keys"
api POST "$S/$SESSION:read" "{\"table\":\"Accounts\",\"index\":\"AccountsByOwner\",\"columns\":[\"Owner\",\"Id\"],\"keySet\":{\"ranges\":[{\"startClosed\":[\"b\"],\"endOpen\":[\"z\"]}]},\"transaction\":{\"singleUse\":{\"readOnly\":$(at "$T2")}}}"
expect_status 200
expect_eq '["cy:3"]' "$(rows)" "read by index and range"
api POST "$S/$SESSION:streamingRead" "{\"table\":\"Accounts\",\"columns\":[\"Id\",\"Balance\"],\"keySet\":{\"keys\":[[\"1\"],[\"2\"]]},\"transaction\":{\"singleUse\":{\"readOnly\":$(at "$T1")}}}"
expect_status 200
expect_eq '["1","100","2","50"]' "$(jq -c '[.[].values[]? | tostring]' <<<"$BODY")" "streamingRead by keys"

section "a read-only transaction reads at its timestamp while others commit"
api POST "$S/$SESSION:beginTransaction" '{"options":{"readOnly":{"strong":true,"returnReadTimestamp":true}}}'
expect_status 200
RO=$(jq -r .id <<<"$BODY")
RO_TS=$(jq -r .readTimestamp <<<"$BODY")
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT Id FROM Accounts ORDER BY Id\",\"transaction\":{\"id\":\"$RO\"}}"
expect_eq '["3"]' "$(rows)" "its first read"
commit '[{"insert":{"table":"Accounts","columns":["Id","Owner","Balance"],"values":[["4","dee","5"]]}},
  {"update":{"table":"Accounts","columns":["Id","Balance"],"values":[["3","11"]]}}]'
T4=$TS
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT Id, Balance FROM Accounts ORDER BY Id\",\"transaction\":{\"id\":\"$RO\"}}"
expect_eq '["3:10"]' "$(rows)" "its second read does not see the commit made since"
api POST "$S/$SESSION:read" "{\"table\":\"Accounts\",\"columns\":[\"Id\"],\"keySet\":{\"all\":true},\"transaction\":{\"id\":\"$RO\"}}"
expect_eq '["3"]' "$(rows)" "nor does a read in it"
query 'SELECT Id, Balance FROM Accounts ORDER BY Id' "$(at "$RO_TS")"
expect_eq '["3:10"]' "$(rows)" "the same as a single-use read at its readTimestamp"
query 'SELECT Id, Balance FROM Accounts ORDER BY Id' '{"strong":true}'
expect_eq '["3:11","4:5"]' "$(rows)" "a strong read sees the commit"
[[ "$T4" > "$RO_TS" ]] && _pass || _fail "a commit after the transaction's reads is stamped after its timestamp ($T4, $RO_TS)"

section "the read timestamp in the result's metadata"
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT COUNT(*) FROM Accounts\",\"transaction\":{\"begin\":{\"readOnly\":$(at "$T2")}}}"
expect_status 200
expect_json '.metadata.transaction.readTimestamp' "$T2"
expect_eq '["2"]' "$(rows)" "an inline begin at a timestamp"
INLINE=$(jq -r .metadata.transaction.id <<<"$BODY")
api POST "$S/$SESSION:executeSql" "{\"sql\":\"SELECT Owner FROM Accounts ORDER BY Id\",\"transaction\":{\"id\":\"$INLINE\"}}"
expect_eq '["ann","cy"]' "$(rows)" "its next read"
query 'SELECT 1' '{"strong":true,"returnReadTimestamp":true}'
expect_json '.metadata.transaction.readTimestamp | test("^[0-9-]+T[0-9:.]+Z$")' true
query 'SELECT 1' '{"strong":true}'
expect_json '.metadata | has("transaction")' false

section "Google's errors"
query 'SELECT 1' '{"readTimestamp":"2001-01-01T00:00:00Z"}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "too old" "the message says why"
query 'SELECT 1' '{"exactStaleness":"-1s"}'
expect_error_json 400 INVALID_ARGUMENT
query 'SELECT 1' '{"readTimestamp":"yesterday"}'
expect_error_json 400 INVALID_ARGUMENT
query 'SELECT 1' '{"readTimestamp":"2999-01-01T00:00:00Z"}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$S/$SESSION:beginTransaction" '{"options":{"readOnly":{"exactStaleness":"7200s"}}}'
expect_error_json 400 FAILED_PRECONDITION

section "a timestamp a little ahead is waited for"
CLOCK=$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)
AHEAD=$(date -u -d "$CLOCK +2 seconds" +%Y-%m-%dT%H:%M:%S.%6NZ)
START=$(now_ms)
query 'SELECT COUNT(*) FROM Accounts' "$(at "$AHEAD")"
expect_status 200
expect_eq '["2"]' "$(rows)" "the read answers once its time came"
(( $(now_ms) - START >= 1000 )) && _pass || _fail "the read did not wait for its timestamp ($AHEAD)"

section "gcloud execute-sql --read-timestamp"
if (( HAVE_GCLOUD )); then
    OUT=$(gcloud spanner databases execute-sql ledger --instance v-inst \
        --sql 'SELECT Id, Balance FROM Accounts ORDER BY Id' --read-timestamp "$T1" 2>&1)
    expect_contains "$OUT" "100" "gcloud reads the first commit's rows"
    expect_contains "$OUT" "50" "... both of them"
fi

section "a backup at a past versionTime restores the rows of that time"
wait_op() {
    wait_for 30 "operation $1" bash -c 'curl -s "$1" | jq -e .done >/dev/null' _ "$S/$1"
    api GET "$S/$1"
}
# backup_and_restore BACKUP VERSION_TIME DATABASE: a backup of $DB at that versionTime
# (expiring in a day), restored into a new database
backup_and_restore() {
    local clock expire
    clock=$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)
    expire=$(date -u -d "$clock 1 day" +%Y-%m-%dT%H:%M:%SZ)
    api POST "$S/$INST/backups?backupId=$1" "{\"database\":\"$DB\",\"expireTime\":\"$expire\",\"versionTime\":\"$2\"}"
    expect_status 200
    wait_op "$(jq -r .name <<<"$BODY")"
    expect_json '.response.versionTime' "$2"
    api POST "$S/$INST/databases:restore" "{\"databaseId\":\"$3\",\"backup\":\"$INST/backups/$1\"}"
    expect_status 200
    wait_op "$(jq -r .name <<<"$BODY")"
}
backup_and_restore at-t2 "$T2" rewound
expect_json '.done' true
api POST "$S/$INST/databases/rewound/sessions" '{}'
expect_status 200
REWOUND=$(jq -r .name <<<"$BODY")
api POST "$S/$REWOUND:executeSql" '{"sql":"SELECT Id, Owner, Balance FROM Accounts ORDER BY Id"}'
expect_eq '["1:ann:70","3:cy:10"]' "$(rows)" "the restored rows are those at versionTime (before the third commit)"
api POST "$S/$REWOUND:executeSql" '{"sql":"SELECT Id, EntryId FROM Entries"}'
expect_eq '["1:1"]' "$(rows)" "the child row deleted after versionTime is back"
api POST "$S/$REWOUND:executeSql" "{\"sql\":\"SELECT Id FROM Accounts ORDER BY Id\",\"transaction\":{\"singleUse\":{\"readOnly\":$(at "$T1")}}}"
expect_eq '["1","2"]' "$(rows)" "and its versions before versionTime stay readable"
CLOCK=$(curl -s "$CONTROL_URL/emulator/v1/clock" | jq -r .now)
EXPIRE=$(date -u -d "$CLOCK 1 day" +%Y-%m-%dT%H:%M:%SZ)
api POST "$S/$INST/backups?backupId=too-old" "{\"database\":\"$DB\",\"expireTime\":\"$EXPIRE\",\"versionTime\":\"$(date -u -d "$CLOCK 2 hours ago" +%Y-%m-%dT%H:%M:%SZ)\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_contains "$BODY" "version_time" "the error names version_time"
api GET "$S/$DB"
expect_json '.earliestVersionTime == .createTime' true # younger than an hour
api DELETE "$S/$INST/databases/rewound"
expect_status 200
api DELETE "$S/$INST/backups/at-t2"
expect_status 200

section "versions survive a restart and an added column"
stop_stack
start_persistent
api POST "$S/$DB/sessions" '{}'
SESSION=$(jq -r .name <<<"$BODY")
api PATCH "$S/$DB/ddl" '{"statements":["ALTER TABLE Accounts ADD COLUMN Note STRING(MAX)"]}'
expect_status 200
sleep 1
query 'SELECT Id, Owner, Balance, Note FROM Accounts ORDER BY Id' "$(at "$T1")"
expect_status 200
expect_eq '["1:ann:100:null","2:bob:50:null"]' "$(rows)" "the first commit's rows after a restart"

section "versions older than an hour are forgotten; newer reads stay exact"
advance 3700
api POST "$S/$DB/sessions" '{}' # the other one expired, idle for an hour
SESSION=$(jq -r .name <<<"$BODY")
commit '[{"update":{"table":"Accounts","columns":["Id","Balance"],"values":[["4","6"]]}}]'
T5=$TS
query 'SELECT 1' "$(at "$T1")"
expect_error_json 400 FAILED_PRECONDITION
api GET "$S/$DB"
expect_json '.earliestVersionTime > .createTime' true # an hour ago
BEFORE5=$(jq -rn --arg t "$T5" '$t | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601 - 1 | todateiso8601')
query 'SELECT Id, Balance FROM Accounts ORDER BY Id' "$(at "$BEFORE5")"
expect_eq '["3:11","4:5"]' "$(rows)" "a second before the last commit"
query 'SELECT Id, Balance FROM Accounts ORDER BY Id' "$(at "$T5")"
expect_eq '["3:11","4:6"]' "$(rows)" "at the last commit"

section "a longer version_retention_period keeps versions from then on (ALTER DATABASE, gcloud)"
RETENTION="ALTER DATABASE ledger SET OPTIONS (version_retention_period = '3h')"
if (( HAVE_GCLOUD )); then
    gcloud spanner databases ddl update ledger --instance v-inst --ddl "$RETENTION" >/dev/null 2>&1
    OUT=$(gcloud spanner databases ddl describe ledger --instance v-inst 2>&1)
    expect_contains "$OUT" "version_retention_period = '3h'" "gcloud ddl describe shows the option"
else
    api PATCH "$S/$DB/ddl" "$(jq -cn --arg s "$RETENTION" '{statements: [$s]}')"
    expect_status 200
    sleep 1
fi
api GET "$S/$DB/ddl"
expect_json '.statements[0]' "ALTER DATABASE \`ledger\` SET OPTIONS (
  version_retention_period = '3h'
)"
api GET "$S/$DB"
expect_json '.versionRetentionPeriod' 3h
commit '[{"update":{"table":"Accounts","columns":["Id","Balance"],"values":[["4","7"]]}}]'
T6=$TS
advance 5400 # 1.5 h: past the default hour, within the 3 h
api POST "$S/$DB/sessions" '{}'
SESSION=$(jq -r .name <<<"$BODY")
BEFORE6=$(jq -rn --arg t "$T6" '$t | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601 - 1 | todateiso8601')
query 'SELECT Id, Balance FROM Accounts ORDER BY Id' "$(at "$BEFORE6")"
expect_eq '["3:11","4:6"]' "$(rows)" "a read 1.5 h back, kept by the 3 h period"
query 'SELECT Id, Balance FROM Accounts ORDER BY Id' "$(at "$BEFORE5")"
expect_eq '["3:11","4:5"]' "$(rows)" "a read from before the change, within the hour kept then"
FORGOTTEN=$(jq -rn --arg t "$T5" '$t | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601 - 3700 | todateiso8601')
query 'SELECT 1' "$(at "$FORGOTTEN")"
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "forgotten" "versions from before the longer period are not back-filled"
api GET "$S/$DB"
# the earliest readable time is where the versions kept then began (an hour before the
# change), not 3 h ago
expect_json "(.earliestVersionTime > \"$FORGOTTEN\") and (.earliestVersionTime < \"$BEFORE5\")" true
query 'SELECT 1' '{"exactStaleness":"10900s"}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "kept for 3h" "older than the period: the error names it"

section "the period survives a restart and comes with a backup's restore"
stop_stack
start_persistent
api GET "$S/$DB"
expect_json '.versionRetentionPeriod' 3h
api POST "$S/$DB/sessions" '{}'
SESSION=$(jq -r .name <<<"$BODY")
query 'SELECT Id, Balance FROM Accounts ORDER BY Id' "$(at "$BEFORE6")"
expect_eq '["3:11","4:6"]' "$(rows)" "the 1.5 h old read after a restart"
query 'SELECT 1' "$(at "$FORGOTTEN")"
expect_error_json 400 FAILED_PRECONDITION
backup_and_restore kept "$BEFORE6" kept
api GET "$S/$INST/databases/kept"
expect_json '.versionRetentionPeriod' 3h
api POST "$S/$INST/databases/kept/sessions" '{}'
KEPT=$(jq -r .name <<<"$BODY")
api POST "$S/$KEPT:executeSql" '{"sql":"SELECT Id, Balance FROM Accounts ORDER BY Id"}'
expect_eq '["3:11","4:6"]' "$(rows)" "the backup 1.5 h back restored that time's rows"
api PATCH "$S/$DB/ddl" '{"statements":["ALTER DATABASE ledger SET OPTIONS (version_retention_period = NULL)"]}'
expect_status 200
sleep 1
api GET "$S/$DB"
expect_json '.versionRetentionPeriod' 1h
api GET "$S/$DB/ddl"
expect_json '[.statements[] | select(startswith("ALTER DATABASE"))] | length' 0

section "a row deletion policy deletes expired rows on the emulator clock (gcloud ddl update)"
TTL_DDL="CREATE TABLE Events (Id INT64 NOT NULL, Happened TIMESTAMP) PRIMARY KEY (Id), ROW DELETION POLICY (OLDER_THAN(Happened, INTERVAL 1 DAY))"
if (( HAVE_GCLOUD )); then
    gcloud spanner databases ddl update ledger --instance v-inst --ddl "$TTL_DDL" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "gcloud ddl update with a ROW DELETION POLICY $(cat "$TEST_TMP/err")"
else
    api PATCH "$S/$DB/ddl" "$(jq -nc --arg s "$TTL_DDL" '{statements: [$s]}')"
    expect_status 200
fi
api POST "$S/$DB/sessions" '{}'
SESSION=$(jq -r .name <<<"$BODY")
api POST "$S/$SESSION:executeSql" '{"transaction":{"begin":{"readWrite":{}}},"sql":"INSERT INTO Events (Id, Happened) VALUES (1, TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 25 HOUR)), (2, TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 23 HOUR)), (3, NULL)"}'
expect_status 200
api POST "$S/$SESSION:commit" "{\"transactionId\":\"$(jq -r .metadata.transaction.id <<<"$BODY")\"}"
expect_status 200
advance 61
events_left() {
    api POST "$S/$SESSION:executeSql" '{"sql":"SELECT Id FROM Events ORDER BY Id"}'
    [[ "$(rows)" == "$1" ]]
}
wait_for 10 "the tick to delete the 25-hour-old row" events_left '["2","3"]'
expect_eq '["2","3"]' "$(rows)" "the row past the policy's day is gone, the others stay"
advance 7200
api POST "$S/$DB/sessions" '{}'
SESSION=$(jq -r .name <<<"$BODY")
wait_for 10 "the tick to delete the next one" events_left '["3"]'
expect_eq '["3"]' "$(rows)" "two hours on, the 23-hour-old row went too; a NULL time never expires"

finish
