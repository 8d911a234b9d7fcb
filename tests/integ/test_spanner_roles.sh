#!/usr/bin/env bash
# test_spanner_roles: Spanner's fine-grained access control under --iam enforce, through
# REST and gcloud. Roles, privileges (on tables, columns, views with invoker's and definer's
# rights, a change stream and its read function) and role membership made with DDL; getDdl
# and `gcloud spanner databases roles list`; a principal allowed only to use one role
# (roles/spanner.fineGrainedAccessUser and roles/spanner.databaseRoleUser with a condition
# on the role's name) creates sessions with that role and no other, and its queries, DML,
# reads, mutations and change stream reads do what the role's privileges allow and nothing
# more (`gcloud spanner databases execute-sql --database-role`); INFORMATION_SCHEMA shows
# it what it may see; drops wait for revokes; everything survives a restart.
source "$(dirname "$0")/lib.sh"

P=projects/roles-project
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
start_persistent --iam enforce
OWNER=user:developer@example.com # the default principal owns every project
ALICE=user:alice@example.com
export API_PRINCIPAL=$OWNER
setup_gcloud roles-project "$OWNER"
INST="$P/instances/hr"
DB="$INST/databases/payroll"
S="$SPANNER_URL/v1"

section "roles, privileges and membership made with DDL"
api POST "$S/$P/instances" "{\"instanceId\":\"hr\",\"instance\":{\"config\":\"$P/instanceConfigs/emulator-config\",\"displayName\":\"People\",\"nodeCount\":1}}"
expect_status 200
DDL='["CREATE TABLE Staff (Id INT64 NOT NULL, Name STRING(MAX), Salary INT64) PRIMARY KEY (Id)",
      "CREATE VIEW Names SQL SECURITY INVOKER AS SELECT Staff.Id, Staff.Name FROM Staff",
      "CREATE VIEW Budget SQL SECURITY DEFINER AS SELECT SUM(Staff.Salary) AS Total FROM Staff",
      "CREATE CHANGE STREAM StaffChanges FOR Staff",
      "CREATE ROLE reader",
      "GRANT SELECT(Id, Name) ON TABLE Staff TO ROLE reader",
      "GRANT SELECT ON VIEW Names, Budget TO ROLE reader",
      "CREATE ROLE clerk",
      "GRANT INSERT(Id, Name), UPDATE(Name) ON TABLE Staff TO ROLE clerk",
      "GRANT ROLE reader TO ROLE clerk",
      "CREATE SEQUENCE BadgeIds OPTIONS (sequence_kind = '"'bit_reversed_positive'"')",
      "CREATE TABLE Badges (Id INT64 NOT NULL DEFAULT (GET_NEXT_SEQUENCE_VALUE(SEQUENCE BadgeIds)), Owner STRING(MAX)) PRIMARY KEY (Id)",
      "GRANT INSERT(Owner) ON TABLE Badges TO ROLE clerk",
      "CREATE ROLE auditor",
      "GRANT SELECT ON CHANGE STREAM StaffChanges TO ROLE auditor",
      "GRANT EXECUTE ON TABLE FUNCTION READ_StaffChanges TO ROLE auditor"]'
api POST "$S/$INST/databases" "{\"createStatement\":\"CREATE DATABASE payroll\",\"extraStatements\":$DDL}"
expect_status 200
api GET "$S/$DB/ddl"
expect_json '[.statements[] | select(startswith("CREATE ROLE") or startswith("GRANT"))] | join(";")' \
    "CREATE ROLE reader;CREATE ROLE clerk;CREATE ROLE auditor;GRANT SELECT(Id, Name) ON TABLE Staff TO ROLE reader;GRANT SELECT ON VIEW Names TO ROLE reader;GRANT SELECT ON VIEW Budget TO ROLE reader;GRANT INSERT(Id, Name), UPDATE(Name) ON TABLE Staff TO ROLE clerk;GRANT INSERT(Owner) ON TABLE Badges TO ROLE clerk;GRANT SELECT ON CHANGE STREAM StaffChanges TO ROLE auditor;GRANT EXECUTE ON TABLE FUNCTION READ_StaffChanges TO ROLE auditor;GRANT ROLE reader TO ROLE clerk"
expect_json '[.statements[] | select(startswith("CREATE VIEW Budget"))][0]' \
    "CREATE VIEW Budget SQL SECURITY DEFINER AS SELECT SUM(Staff.Salary) AS Total FROM Staff"
api GET "$S/$DB/databaseRoles"
expect_json '[.databaseRoles[].name | split("/") | last] | join(",")' \
    "public,spanner_info_reader,spanner_sys_reader,reader,clerk,auditor"
api PATCH "$S/$DB/ddl" '{"statements":["GRANT SELECT ON TABLE Staff TO ROLE nobody"]}'
expect_error_json 404 NOT_FOUND
expect_contains "$BODY" "Role not found: nobody." "GRANT to an unknown role"
api PATCH "$S/$DB/ddl" '{"statements":["GRANT ROLE clerk TO ROLE reader"]}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "role membership cannot be circular" "a circular membership is refused"
api POST "$S/$DB/sessions" '{}'
OWNER_SESSION=$(jq -r .name <<<"$BODY")
api POST "$S/$OWNER_SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[
  {"insert":{"table":"Staff","columns":["Id","Name","Salary"],"values":[["1","Ada","9000"],["2","Bob","7000"]]}}]}'
expect_status 200

section "IAM: alice may use the role reader, and no other"
api POST "$S/$DB:setIamPolicy" "{\"policy\":{\"version\":3,\"bindings\":[
  {\"role\":\"roles/spanner.fineGrainedAccessUser\",\"members\":[\"$ALICE\"]},
  {\"role\":\"roles/spanner.databaseRoleUser\",\"members\":[\"$ALICE\"],
   \"condition\":{\"title\":\"reader only\",\"expression\":\"resource.name.endsWith('/databaseRoles/reader')\"}}]}}"
expect_status 200
export API_PRINCIPAL=$ALICE
api POST "$S/$DB/sessions" '{"session":{"creatorRole":"clerk"}}'
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "spanner.databaseRoles.use" "another role is refused by IAM"
api POST "$S/$DB/sessions" '{"session":{"creatorRole":"nobody"}}'
expect_error_json 404 NOT_FOUND
expect_contains "$BODY" "Role not found: nobody." "an unknown role"
api POST "$S/$DB/sessions" '{}'
expect_status 200
PLAIN=$(jq -r .name <<<"$BODY")
api POST "$S/$PLAIN:executeSql" '{"sql":"SELECT Name FROM Staff"}'
expect_error_json 403 PERMISSION_DENIED
expect_contains "$BODY" "spanner.databases.select" "without a role, IAM's data permissions decide (alice has none)"
api POST "$S/$DB/sessions" '{"session":{"creatorRole":"reader"}}'
expect_status 200
READER=$(jq -r .name <<<"$BODY")
expect_json .creatorRole reader
api POST "$S/$DB/sessions" '{"session":{"creatorRole":"READER"}}'
expect_status 200 # role names compare case-insensitively; IAM sees the role as DDL spells it
api POST "$S/$DB/databaseRoles/reader:testIamPermissions" '{"permissions":["spanner.databaseRoles.use"]}'
expect_json '.permissions | join(",")' "spanner.databaseRoles.use"
api POST "$S/$DB/databaseRoles/clerk:testIamPermissions" '{"permissions":["spanner.databaseRoles.use"]}'
expect_json '.permissions // [] | length' 0

section "the role's privileges: queries, views, reads, DML, mutations, change streams"
rows() { jq -c '[.rows[]? | map(tostring) | join(":")]' <<<"$BODY"; }
sql() { api POST "$S/$1:executeSql" "$2"; }
sql "$READER" '{"sql":"SELECT Id, Name FROM Staff ORDER BY Id"}'
expect_eq '["1:Ada","2:Bob"]' "$(rows)" "the columns granted"
sql "$READER" '{"sql":"SELECT Name FROM Staff WHERE Salary > 8000"}'
expect_error_json 403 PERMISSION_DENIED
expect_json .error.message "Role reader does not have required privileges on column Staff.Salary."
sql "$READER" '{"sql":"SELECT * FROM Staff"}'
expect_error_json 403 PERMISSION_DENIED
sql "$READER" '{"sql":"SELECT COUNT(*) FROM Staff"}'
expect_eq '["2"]' "$(rows)" "COUNT(*): SELECT on one column is enough"
sql "$READER" '{"sql":"SELECT Total FROM Budget"}'
expect_eq '["16000"]' "$(rows)" "a definer's-rights view: SELECT on the view is enough"
sql "$READER" '{"sql":"SELECT Name FROM Names WHERE Id = 2"}'
expect_eq '["Bob"]' "$(rows)" "an invoker's-rights view over granted columns"
api POST "$S/$READER:read" '{"table":"Staff","columns":["Name"],"keySet":{"keys":[["1"]]}}'
expect_eq '["Ada"]' "$(rows)" "a read by key of granted columns"
api POST "$S/$READER:read" '{"table":"Staff","columns":["Id","Salary"],"keySet":{"all":true}}'
expect_error_json 403 PERMISSION_DENIED
api POST "$S/$READER:streamingRead" '{"table":"Staff","columns":["Salary"],"keySet":{"all":true}}'
expect_contains "$BODY" "PERMISSION_DENIED" "streamingRead of a column not granted"
api POST "$S/$READER:executeStreamingSql" '{"sql":"SELECT Salary FROM Staff"}'
expect_contains "$BODY" "PERMISSION_DENIED" "executeStreamingSql of a column not granted"
sql "$READER" '{"transaction":{"begin":{"readWrite":{}}},"sql":"UPDATE Staff SET Name = '"'x'"' WHERE Id = 1"}'
expect_error_json 403 PERMISSION_DENIED
expect_json .error.message "Role reader does not have required privileges on column Staff.Name."
api POST "$S/$READER:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[{"delete":{"table":"Staff","keySet":{"all":true}}}]}'
expect_error_json 403 PERMISSION_DENIED
expect_json .error.message "Role reader does not have required privileges on table Staff."
sql "$READER" '{"sql":"SELECT ChangeRecord FROM READ_StaffChanges(start_timestamp => CURRENT_TIMESTAMP(), end_timestamp => NULL, partition_token => NULL, heartbeat_milliseconds => 10000)"}'
expect_error_json 403 PERMISSION_DENIED
expect_json .error.message "Role reader does not have required privileges on change stream StaffChanges."
sql "$READER" '{"sql":"SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = '"''"' ORDER BY TABLE_NAME"}'
expect_eq '["Budget","Names","Staff"]' "$(rows)" "INFORMATION_SCHEMA.TABLES: what reader has privileges on"
sql "$READER" '{"sql":"SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = '"'Staff'"' ORDER BY ORDINAL_POSITION"}'
expect_eq '["Id","Name"]' "$(rows)" "INFORMATION_SCHEMA.COLUMNS: Salary is not shown to reader"
sql "$READER" '{"sql":"SELECT ROLE_NAME FROM INFORMATION_SCHEMA.ROLES ORDER BY ROLE_NAME"}'
expect_eq '["public","reader"]' "$(rows)" "INFORMATION_SCHEMA.ROLES: the roles reader has"

section "the owner: another role's session, writes within its privileges"
export API_PRINCIPAL=$OWNER
api POST "$S/$DB/sessions" '{"session":{"creatorRole":"clerk"}}'
expect_status 200
CLERK=$(jq -r .name <<<"$BODY")
api POST "$S/$CLERK:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[
  {"insert":{"table":"Staff","columns":["Id","Name"],"values":[["3","Cy"]]}}]}'
expect_status 200
api POST "$S/$CLERK:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[
  {"insertOrUpdate":{"table":"Staff","columns":["Id","Salary"],"values":[["3","1"]]}}]}'
expect_error_json 403 PERMISSION_DENIED
expect_json .error.message "Role clerk does not have required privileges on column Staff.Salary."
sql "$CLERK" '{"transaction":{"begin":{"readWrite":{}}},"sql":"UPDATE Staff SET Name = '"'Cyd'"' WHERE Id = 3"}'
expect_status 200
api POST "$S/$CLERK:commit" "{\"transactionId\":\"$(jq -r .metadata.transaction.id <<<"$BODY")\"}"
expect_status 200
sql "$CLERK" '{"sql":"SELECT Name FROM Staff WHERE Id = 3"}'
expect_eq '["Cyd"]' "$(rows)" "clerk reads through its membership in reader"
api POST "$S/$CLERK:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[
  {"insert":{"table":"Badges","columns":["Owner"],"values":[["Cyd"]]}}]}'
expect_error_json 403 PERMISSION_DENIED
expect_json .error.message "Role clerk does not have required privileges on sequence BadgeIds."
api PATCH "$S/$DB/ddl" '{"statements":["GRANT UPDATE ON SEQUENCE BadgeIds TO ROLE clerk"]}'
expect_status 200
api POST "$S/$CLERK:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[
  {"insert":{"table":"Badges","columns":["Owner"],"values":[["Cyd"]]}}]}'
expect_status 200
sql "$CLERK" '{"transaction":{"begin":{"readWrite":{}}},"sql":"INSERT INTO Badges (Owner) VALUES ('"'Dee'"')"}'
expect_json .stats.rowCountExact 1
api POST "$S/$DB/sessions" '{"session":{"creatorRole":"auditor"}}'
AUDITOR=$(jq -r .name <<<"$BODY")
api POST "$S/$OWNER_SESSION:commit" '{"singleUseTransaction":{"readWrite":{}},"mutations":[]}'
AT=$(jq -r .commitTimestamp <<<"$BODY")
api POST "$S/$AUDITOR:executeStreamingSql" "$(jq -nc --arg at "$AT" '{sql: "SELECT ChangeRecord FROM READ_StaffChanges(start_timestamp => @s, end_timestamp => @s, partition_token => NULL, heartbeat_milliseconds => 1000)", params: {s: $at}, paramTypes: {s: {code: "TIMESTAMP"}}}')"
expect_status 200
expect_json '.[0].metadata.rowType.fields[0].name' ChangeRecord "auditor reads the change stream (SELECT and EXECUTE)"

section "drops wait for revokes"
api PATCH "$S/$DB/ddl" '{"statements":["ALTER TABLE Staff DROP COLUMN Name"]}'
expect_error_json 400 FAILED_PRECONDITION
expect_contains "$BODY" "Cannot drop column Staff.Name: privilege SELECT on it is granted to role reader." "a column with privileges"
api PATCH "$S/$DB/ddl" '{"statements":["DROP ROLE auditor"]}'
expect_error_json 400 FAILED_PRECONDITION
api PATCH "$S/$DB/ddl" '{"statements":["REVOKE SELECT ON CHANGE STREAM StaffChanges FROM ROLE auditor","REVOKE EXECUTE ON TABLE FUNCTION READ_StaffChanges FROM ROLE auditor","DROP ROLE auditor"]}'
expect_status 200
sql "$AUDITOR" '{"sql":"SELECT 1 FROM Staff"}'
expect_error_json 403 PERMISSION_DENIED

if (( HAVE_GCLOUD )); then
    section "gcloud: roles list, ddl describe, execute-sql --database-role"
    G=(--instance=hr)
    out=$(gcloud spanner databases roles list --database=payroll "${G[@]}" --format='value(name)' 2>"$TEST_TMP/err")
    expect_eq 0 $? "gcloud roles list $(cat "$TEST_TMP/err")"
    expect_eq "public spanner_info_reader spanner_sys_reader reader clerk" \
        "$(tr '\n' ' ' <<<"$out" | sed 's|[^ ]*/databaseRoles/||g; s/ $//')" "gcloud lists the roles"
    out=$(gcloud spanner databases ddl describe payroll "${G[@]}" 2>"$TEST_TMP/err")
    expect_contains "$out" "GRANT ROLE reader TO ROLE clerk" "gcloud ddl describe shows the grants"
    gcloud spanner databases ddl update payroll "${G[@]}" --ddl="GRANT SELECT ON TABLE Staff TO ROLE clerk" >/dev/null 2>"$TEST_TMP/err"
    expect_eq 0 $? "gcloud ddl update GRANT $(cat "$TEST_TMP/err")"
    out=$(gcloud_as "$ALICE" spanner databases execute-sql payroll "${G[@]}" --database-role=reader \
        --sql="SELECT Name FROM Staff ORDER BY Id" --format=json 2>"$TEST_TMP/err")
    expect_eq 0 $? "alice: execute-sql --database-role=reader $(cat "$TEST_TMP/err")"
    expect_eq "Ada Bob Cyd" "$(jq -r '[.rows[][0]] | join(" ")' <<<"$out")" "alice reads as reader"
    gcloud_as "$ALICE" spanner databases execute-sql payroll "${G[@]}" --database-role=reader \
        --sql="SELECT Salary FROM Staff" >/dev/null 2>"$TEST_TMP/err"
    expect_contains "$(cat "$TEST_TMP/err")" "Role reader does not have required privileges on column Staff.Salary." \
        "gcloud shows the refusal"
    gcloud_as "$ALICE" spanner databases execute-sql payroll "${G[@]}" --database-role=clerk \
        --sql="SELECT 1" >/dev/null 2>"$TEST_TMP/err"
    expect_contains "$(cat "$TEST_TMP/err")" "PERMISSION_DENIED" "alice may not use clerk"
fi

section "after a restart of the stack"
api GET "$S/$DB/ddl"
BEFORE=$(jq -c .statements <<<"$BODY")
stop_stack
start_persistent --iam enforce
api GET "$S/$DB/ddl"
expect_eq "$BEFORE" "$(jq -c .statements <<<"$BODY")" "getDdl is the same"
API_PRINCIPAL=$ALICE sql "$READER" '{"sql":"SELECT Name FROM Staff WHERE Id = 1"}'
expect_eq '["Ada"]' "$(rows)" "alice's reader session still reads as reader"
API_PRINCIPAL=$ALICE sql "$READER" '{"sql":"SELECT Salary FROM Staff"}'
expect_error_json 403 PERMISSION_DENIED

finish
