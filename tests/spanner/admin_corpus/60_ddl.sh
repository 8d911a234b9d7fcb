# GetDatabaseDdl and UpdateDatabaseDdl ({"statements", "operationId"}). getDdl's text is
# Spanner's canonical form, which gcloud's `spanner rows` commands parse: each statement is
# compared exactly (as a set; the order is compared apart).
both_op POST {I}/databases '{"createStatement":"CREATE DATABASE `ddl`"}'
ddl() { # ddl 'STATEMENT': updateDdl with that one statement, its outcome compared
    check_op PATCH {I}/databases/ddl/ddl "$(jq -cn --arg s "$1" '{statements: [$s]}')"
}
JQ='.statements' check GET {I}/databases/ddl/ddl
ddls() { # ddls 'STATEMENT' ...: one updateDdl with these statements, its outcome compared
    check_op PATCH {I}/databases/ddl/ddl "$(jq -cn '{statements: $ARGS.positional}' --args "$@")"
}
ddls 'create table Singers (SingerId int64 not null, FirstName string(1024), LastName STRING(max), Info bytes(MAX), Ts timestamp options (allow_commit_timestamp=true), Arr ARRAY<STRING(10)>, N numeric, J json, D date, F float64, F32 float32, B bool) primary key (SingerId)' \
    'CREATE TABLE Albums (SingerId INT64 NOT NULL, AlbumId INT64 NOT NULL, Title STRING(MAX) DEFAULT ("x"), Up STRING(MAX) AS (UPPER(Title)) STORED) PRIMARY KEY (SingerId, AlbumId DESC), INTERLEAVE IN PARENT Singers ON DELETE CASCADE' \
    'create unique null_filtered index AlbumsByTitle on Albums(SingerId, Title desc) storing (Up), interleave in Singers' \
    'CREATE INDEX SingersByName ON Singers(LastName, FirstName)'
ddls 'CREATE TABLE Tagged (Id INT64 NOT NULL, Kind STRING(MAX) NOT NULL, SingerId INT64, CONSTRAINT fk FOREIGN KEY (SingerId) REFERENCES Singers (SingerId), CONSTRAINT positive CHECK (Id > 0)) PRIMARY KEY (Id)' \
    'CREATE SEQUENCE seq OPTIONS (sequence_kind = "bit_reversed_positive")' \
    'CREATE CHANGE STREAM cs FOR Singers' \
    'CREATE VIEW SingerIds SQL SECURITY INVOKER AS SELECT s.SingerId FROM Singers s'
ddls 'ALTER TABLE Singers ADD COLUMN Extra STRING(MAX)' \
    'ALTER TABLE Singers ALTER COLUMN Extra STRING(100) NOT NULL' 'DROP INDEX SingersByName'
JQ='.statements | sort' check GET {I}/databases/ddl/ddl
differs "it lists change streams before views; ours lists tables, indexes and views in the order they were made, then change streams (GetDatabaseDdl documents no order)" \
    '200 ["CREATE SEQUENCE seq","CREATE TABLE Singers","CREATE TABLE Albums","CREATE UNIQUE NULL_FILTERED","CREATE TABLE Tagged","CREATE VIEW SingerIds","CREATE CHANGE STREAM"]'
JQ='[.statements[] | split(" ")[0:3] | join(" ")]' check GET {I}/databases/ddl/ddl

# Where our text differs from Google's emulator's and no Google document settles it: kept,
# each in a database of its own.
both_op POST {I}/databases '{"createStatement":"CREATE DATABASE `ddl_opts`","extraStatements":["ALTER DATABASE `ddl_opts` SET OPTIONS (version_retention_period = \"2d\")","CREATE TABLE Expiring (Id INT64 NOT NULL, Ts TIMESTAMP) PRIMARY KEY (Id), ROW DELETION POLICY (OLDER_THAN(Ts, INTERVAL 3 DAY))"]}'
differs "Google's emulator prints one ALTER DATABASE per option on one line with the ID bare (not re-parseable for an ID with a '-'); ours backquotes the ID and puts each option on a line of its own" \
    '200 ["ALTER DATABASE `ddl_opts` SET OPTIONS (\n  version_retention_period = '"'"'2d'"'"'\n)","CREATE TABLE Expiring (\n  Id INT64 NOT NULL,\n  Ts TIMESTAMP,\n) PRIMARY KEY(Id),\n  ROW DELETION POLICY (OLDER_THAN(Ts, INTERVAL 3 DAY))"]'
JQ='.statements' check GET {I}/databases/ddl_opts/ddl

# Errors: a bad batch changes nothing
ddl 'CREATE TABLE Singers (X INT64) PRIMARY KEY (X)'
ddl 'garbage'
wrong "it answers 500 INTERNAL for an unknown column type; Google answers INVALID_ARGUMENT for DDL it cannot parse" '400 INVALID_ARGUMENT'
ddl 'CREATE TABLE Broken (X NOTATYPE) PRIMARY KEY (X)'
ddl 'DROP TABLE NoSuchTable'
ddl 'DROP TABLE Singers'
ddl 'ALTER TABLE NoSuchTable ADD COLUMN X INT64'
ddl 'CREATE INDEX Dup ON Singers(NoSuchColumn)'
check_op PATCH {I}/databases/ddl/ddl '{"statements":["CREATE TABLE Fine (X INT64) PRIMARY KEY (X)","garbage"]}'
check GET {I}/databases/ddl/ddl  # (200 OK)
JQ='[.statements[] | select(startswith("CREATE TABLE Fine"))]' check GET {I}/databases/ddl/ddl
check PATCH {I}/databases/ddl/ddl '{"statements":[]}'
check PATCH {I}/databases/ddl/ddl '{}'
wrong "$google_not_found" '404 NOT_FOUND'
check PATCH {I}/databases/no_such_db/ddl '{"statements":["CREATE TABLE X (X INT64) PRIMARY KEY (X)"]}'
wrong "$google_not_found" '404 NOT_FOUND'
check GET {I}/databases/no_such_db/ddl

# The operation: named <database>/operations/<operationId> when one is given
# (UpdateDatabaseDdlRequest.operation_id: [a-z][a-z0-9_]*, ALREADY_EXISTS when taken),
# metadata UpdateDatabaseDdlMetadata with the statements, one commit timestamp each.
opjq='{name, type: .metadata["@type"], statements: .metadata.statements, stamps: (.metadata.commitTimestamps | length)}'
JQ=$opjq check PATCH {I}/databases/ddl/ddl '{"statements":["CREATE TABLE Op1 (X INT64) PRIMARY KEY (X)","CREATE TABLE Op2 (X INT64) PRIMARY KEY (X)"],"operationId":"my_op_1"}'
JQ='{name, done, response: .response["@type"], stamps: (.metadata.commitTimestamps | length)}' \
    check GET {I}/databases/ddl/operations/my_op_1
check PATCH {I}/databases/ddl/ddl '{"statements":["CREATE TABLE Op3 (X INT64) PRIMARY KEY (X)"],"operationId":"my_op_1"}'
check PATCH {I}/databases/ddl/ddl '{"statements":["CREATE TABLE Op3 (X INT64) PRIMARY KEY (X)"],"operationId":"1starts_with_digit"}'
check PATCH {I}/databases/ddl/ddl '{"statements":["CREATE TABLE Op3 (X INT64) PRIMARY KEY (X)"],"operationId":"Upper"}'
check PATCH {I}/databases/ddl/ddl '{"statements":["CREATE TABLE Op3 (X INT64) PRIMARY KEY (X)"],"operationId":"with-dash"}'
check PATCH {I}/databases/ddl/ddl '{"statements":["CREATE TABLE Op3 (X INT64) PRIMARY KEY (X)"],"operationId":"_underscore"}'
JQ='.name' check PATCH {I}/databases/ddl/ddl '{"statements":["CREATE TABLE Op3 (X INT64) PRIMARY KEY (X)"],"operationId":"ok_9"}'
