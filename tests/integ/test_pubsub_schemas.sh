#!/usr/bin/env bash
# test_pubsub_schemas: Pub/Sub schemas through curl. Avro and Protocol Buffer schemas and
# their revisions (create, get in both views, list, commit, rollback, listRevisions,
# deleteRevision, delete), validateSchema and validateMessage, topics that validate what
# is published (JSON and BINARY encodings, a revision range), Google's three attributes on
# the messages pulled, Google's error and ErrorInfo for a refused message, a deleted
# schema refusing publishes, and hostile input (a definition over the limit, a message
# nested too deep, invalid UTF-8) answered with errors while the service stays healthy.
source "$(dirname "$0")/lib.sh"

start_stack
PROJECT=schema-project
V1="$PUBSUB_URL/v1/projects/$PROJECT"
SCHEMAS="projects/$PROJECT/schemas"
b64() { printf %s "$1" | base64 -w0; }
# b64_bytes 'escaped bytes': printf's escapes (\x08...) as base64
b64_bytes() { printf "$1" | base64 -w0; }
pull() { api POST "$V1/subscriptions/$1:pull" '{"maxMessages": 10, "returnImmediately": true}'; }
json_string() { jq -Rs . <<<"$1" | sed 's/\\n"$/"/'; }

AVRO_V1='{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["NEW","PAID"]}}]}'
AVRO_V2='{"type":"record","name":"Order","fields":[{"name":"id","type":"long"},{"name":"kind","type":{"type":"enum","name":"Kind","symbols":["NEW","PAID"]}},{"name":"note","type":["null","string"],"default":null}]}'
PROTO='syntax = "proto3";
message Order {
  int64 id = 1;
  string note = 2;
  repeated int32 lines = 3;
}'

section "create, get and list"
api POST "$V1/schemas?schemaId=orders" "{\"type\":\"AVRO\",\"definition\":$(json_string "$AVRO_V1")}"
expect_status 200
expect_json .name "$SCHEMAS/orders"
expect_json .type AVRO
expect_json '.revisionId | test("^[0-9a-f]{8}$")' true
REV1=$(jq -r .revisionId <<<"$BODY")
expect_eq "$AVRO_V1" "$(jq -r .definition <<<"$BODY")" "the definition as given"
api POST "$V1/schemas?schemaId=orders" "{\"type\":\"AVRO\",\"definition\":$(json_string "$AVRO_V1")}"
expect_status 409
api POST "$V1/schemas?schemaId=9bad" "{\"type\":\"AVRO\",\"definition\":$(json_string "$AVRO_V1")}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/schemas?schemaId=broken" '{"type":"AVRO","definition":"{\"type\":\"recor\"}"}'
expect_error_json 400 INVALID_ARGUMENT
expect_json '.error.message | startswith("Could not parse schema definition")' true
api POST "$V1/schemas?schemaId=untyped" "{\"definition\":$(json_string "$AVRO_V1")}"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid schema type: it must be AVRO or PROTOCOL_BUFFER."
api POST "$V1/schemas?schemaId=proto-orders" "{\"type\":\"PROTOCOL_BUFFER\",\"definition\":$(json_string "$PROTO")}"
expect_status 200
api POST "$V1/schemas?schemaId=proto-bad" '{"type":"PROTOCOL_BUFFER","definition":"message A { int32 a = 1; int32 b = 1; }"}'
expect_error_json 400 INVALID_ARGUMENT
api GET "$V1/schemas/orders"
expect_json .definition "$AVRO_V1"
api GET "$V1/schemas/orders?view=BASIC"
expect_json 'has("definition")' false
expect_json .revisionId "$REV1"
# view binds google.pubsub.v1.SchemaView by name or proto number; UNSPECIFIED is the
# method's default (Get: FULL, List: BASIC); any other value is refused in Google's words
api GET "$V1/schemas/orders?view=1"
expect_json '[has("definition"), .revisionId] | join(" ")' "false $REV1"
api GET "$V1/schemas/orders?view=2"
expect_json .definition "$AVRO_V1"
api GET "$V1/schemas/orders?view=SCHEMA_VIEW_UNSPECIFIED"
expect_json .definition "$AVRO_V1"
api GET "$V1/schemas/orders?view=0"
expect_json .definition "$AVRO_V1"
api GET "$V1/schemas/orders?view=SIDEWAYS"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'view' (type.googleapis.com/google.pubsub.v1.SchemaView), \"SIDEWAYS\""
api GET "$V1/schemas/orders?view=7"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid value at 'view' (type.googleapis.com/google.pubsub.v1.SchemaView), 7"
api GET "$V1/schemas?view=SIDEWAYS"
expect_error_json 400 INVALID_ARGUMENT
api GET "$V1/schemas/orders:listRevisions?view=SIDEWAYS"
expect_error_json 400 INVALID_ARGUMENT
api GET "$V1/schemas"
expect_json '[.schemas[].name] | join(",")' "$SCHEMAS/orders,$SCHEMAS/proto-orders"
expect_json '[.schemas[] | has("definition")] | any' false
api GET "$V1/schemas?view=FULL&pageSize=1"
expect_json '.schemas | length' 1
expect_json '.schemas[0].definition' "$AVRO_V1"
expect_json '.nextPageToken | length > 0' true
api GET "$V1/schemas?view=2"
expect_json '[.schemas[] | has("definition")] | all' true
api GET "$V1/schemas?view=SCHEMA_VIEW_UNSPECIFIED"
expect_json '[.schemas[] | has("definition")] | any' false
api GET "$V1/schemas/absent"
expect_error_json 404 NOT_FOUND

section "revisions: commit, rollback, listRevisions, deleteRevision"
api POST "$V1/schemas/orders:commit" "{\"schema\":{\"type\":\"AVRO\",\"definition\":$(json_string "$AVRO_V2")}}"
expect_status 200
REV2=$(jq -r .revisionId <<<"$BODY")
expect_eq true "$([[ $REV2 != "$REV1" && $REV2 =~ ^[0-9a-f]{8}$ ]] && echo true)" "a new revision ID"
api POST "$V1/schemas/orders:commit" "{\"schema\":{\"type\":\"PROTOCOL_BUFFER\",\"definition\":$(json_string "$PROTO")}}"
expect_error_json 400 INVALID_ARGUMENT
api GET "$V1/schemas/orders@$REV1"
expect_json .definition "$AVRO_V1"
api GET "$V1/schemas/orders:listRevisions"
expect_json '[.schemas[].revisionId] | join(",")' "$REV2,$REV1"
expect_json '[.schemas[] | has("definition")] | any' false
api POST "$V1/schemas/orders:rollback" "{\"revisionId\":\"$REV1\"}"
expect_status 200
REV3=$(jq -r .revisionId <<<"$BODY")
expect_json .definition "$AVRO_V1"
api POST "$V1/schemas/orders:rollback" '{"revisionId":"0badc0de"}'
expect_error_json 404 NOT_FOUND
api DELETE "$V1/schemas/orders@$REV3:deleteRevision"
expect_status 200
expect_json .revisionId "$REV3"
api GET "$V1/schemas/orders:listRevisions?view=FULL"
expect_json '[.schemas[].revisionId] | join(",")' "$REV2,$REV1"
expect_json '.schemas[1].definition' "$AVRO_V1"
api DELETE "$V1/schemas/proto-orders:deleteRevision?revisionId=whatever"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Cannot delete last revision. Please use DeleteSchema."

section "validateSchema and validateMessage"
api POST "$V1/schemas:validate" "{\"schema\":{\"type\":\"AVRO\",\"definition\":$(json_string "$AVRO_V2")}}"
expect_status 200
api POST "$V1/schemas:validate" '{"schema":{"type":"AVRO","definition":"{\"type\":\"array\"}"}}'
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/schemas:validateMessage" "{\"name\":\"$SCHEMAS/orders\",\"encoding\":\"JSON\",\"message\":\"$(b64 '{"id":1,"kind":"NEW","note":{"string":"x"}}')\"}"
expect_status 200
api POST "$V1/schemas:validateMessage" "{\"name\":\"$SCHEMAS/orders\",\"encoding\":\"JSON\",\"message\":\"$(b64 '{"id":1,"kind":"LOST"}')\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_json '.error.message | startswith("Invalid data in message: ")' true
# a revision by name: the first one lacks "note", so this message only fits it
api POST "$V1/schemas:validateMessage" "{\"name\":\"$SCHEMAS/orders@$REV1\",\"encoding\":\"JSON\",\"message\":\"$(b64 '{"id":1,"kind":"NEW"}')\"}"
expect_status 200
api POST "$V1/schemas:validateMessage" "{\"name\":\"$SCHEMAS/orders\",\"encoding\":\"JSON\",\"message\":\"$(b64 '{"id":1,"kind":"NEW"}')\"}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/schemas:validateMessage" "{\"name\":\"$SCHEMAS/orders@0badc0de\",\"encoding\":\"JSON\",\"message\":\"$(b64 '{}')\"}"
expect_error_json 404 NOT_FOUND
api POST "$V1/schemas:validateMessage" "{\"name\":\"$SCHEMAS/orders\",\"message\":\"$(b64 '{}')\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "No encoding provided."
api POST "$V1/schemas:validateMessage" "{\"name\":\"$SCHEMAS/absent\",\"encoding\":\"JSON\",\"message\":\"$(b64 '{}')\"}"
expect_error_json 404 NOT_FOUND
api POST "$V1/schemas:validateMessage" "{\"schema\":{\"type\":\"PROTOCOL_BUFFER\",\"definition\":$(json_string "$PROTO")},\"encoding\":\"BINARY\",\"message\":\"$(b64_bytes '\x08\x96\x01\x12\x02hi\x1a\x02\x01\x02')\"}"
expect_status 200
api POST "$V1/schemas:validateMessage" "{\"schema\":{\"type\":\"PROTOCOL_BUFFER\",\"definition\":$(json_string "$PROTO")},\"encoding\":\"BINARY\",\"message\":\"$(b64_bytes '\x12\x05hi')\"}"
expect_error_json 400 INVALID_ARGUMENT
api POST "$V1/schemas:validateMessage" "{\"schema\":{\"type\":\"PROTOCOL_BUFFER\",\"definition\":$(json_string "$PROTO")},\"encoding\":\"JSON\",\"message\":\"$(b64 '{"id":"9007199254740993","note":"n","lines":[1,2]}')\"}"
expect_status 200

section "a topic validating JSON Avro messages"
api PUT "$V1/topics/orders" "{\"schemaSettings\":{\"schema\":\"$SCHEMAS/orders\"}}"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid schema encoding provided"
api PUT "$V1/topics/orders" "{\"schemaSettings\":{\"schema\":\"$SCHEMAS/absent\",\"encoding\":\"JSON\"}}"
expect_error_json 404 NOT_FOUND
api PUT "$V1/topics/orders" "{\"schemaSettings\":{\"schema\":\"$SCHEMAS/orders\",\"encoding\":\"JSON\"}}"
expect_status 200
expect_json .schemaSettings.schema "$SCHEMAS/orders"
expect_json .schemaSettings.encoding JSON
api PUT "$V1/subscriptions/orders-sub" "{\"topic\":\"projects/$PROJECT/topics/orders\"}"
expect_status 200
api POST "$V1/topics/orders:publish" "{\"messages\":[{\"data\":\"$(b64 '{"id":1,"kind":"NEW"}')\",\"attributes\":{\"source\":\"shop\"}},{\"data\":\"$(b64 '{"id":2,"kind":"PAID","note":{"string":"gift"}}')\"}]}"
expect_status 200
expect_json '.messageIds | length' 2
pull orders-sub
expect_json '[.receivedMessages[].message.attributes.googclient_schemaname] | unique | join(",")' "$SCHEMAS/orders"
expect_json '[.receivedMessages[].message.attributes.googclient_schemaencoding] | unique | join(",")' JSON
expect_json '[.receivedMessages[].message.attributes.googclient_schemarevisionid] | join(",")' "$REV1,$REV2"
expect_json '.receivedMessages[0].message.attributes.source' shop
api POST "$V1/topics/orders:publish" "{\"messages\":[{\"data\":\"$(b64 '{"id":3,"kind":"NEW"}')\"},{\"data\":\"$(b64 '{"id":"three"}')\"}]}"
expect_error_json 400 INVALID_ARGUMENT
expect_json .error.message "Invalid data in message: Message failed schema validation."
expect_json '.error.details[0]["@type"]' type.googleapis.com/google.rpc.ErrorInfo
expect_json '.error.details[0].reason' INVALID_JSON_AVRO_MESSAGE
expect_json '.error.details[0].domain' pubsub.googleapis.com
expect_json ".error.details[0].metadata.revisionInfo | contains(\"revision_id=$REV1\")" true
api POST "$V1/subscriptions/orders-sub:pull" '{"maxMessages": 10, "returnImmediately": true}'
expect_json '[.receivedMessages[]?.message.data | @base64d] | map(select(contains("\"id\":3"))) | length' 0

section "a revision range, an update, clearing the schema"
api PATCH "$V1/topics/orders" "{\"topic\":{\"schemaSettings\":{\"schema\":\"$SCHEMAS/orders\",\"encoding\":\"JSON\",\"firstRevisionId\":\"$REV2\"}},\"updateMask\":\"schemaSettings\"}"
expect_status 200
expect_json .schemaSettings.firstRevisionId "$REV2"
# the second revision wants "note": a message only the first accepts is refused now
api POST "$V1/topics/orders:publish" "{\"messages\":[{\"data\":\"$(b64 '{"id":4,"kind":"NEW"}')\"}]}"
expect_error_json 400 INVALID_ARGUMENT
expect_json ".error.details[0].metadata.revisionInfo | contains(\"revision_id=$REV2\")" true
api PATCH "$V1/topics/orders" "{\"topic\":{\"schemaSettings\":{\"schema\":\"$SCHEMAS/orders\",\"encoding\":\"JSON\",\"firstRevisionId\":\"$REV2\",\"lastRevisionId\":\"$REV1\"}},\"updateMask\":\"schemaSettings\"}"
expect_error_json 400 INVALID_ARGUMENT
api PATCH "$V1/topics/orders" '{"topic":{},"updateMask":"schemaSettings"}'
expect_status 200
expect_json 'has("schemaSettings")' false
api POST "$V1/topics/orders:publish" "{\"messages\":[{\"data\":\"$(b64 'anything at all')\"}]}"
expect_status 200
pull orders-sub
expect_json '.receivedMessages[-1].message | has("attributes")' false

section "a topic validating binary Protocol Buffer messages"
api PUT "$V1/topics/proto-orders" "{\"schemaSettings\":{\"schema\":\"$SCHEMAS/proto-orders\",\"encoding\":\"BINARY\"}}"
expect_status 200
api POST "$V1/topics/proto-orders:publish" "{\"messages\":[{\"data\":\"$(b64_bytes '\x08\x2a\x12\x03abc')\"}]}"
expect_status 200
api POST "$V1/topics/proto-orders:publish" "{\"messages\":[{\"data\":\"$(b64_bytes '\x08')\"}]}"
expect_error_json 400 INVALID_ARGUMENT
expect_json '.error.details[0].reason' INVALID_BINARY_PROTO_MESSAGE

section "a deleted schema"
api DELETE "$V1/schemas/proto-orders"
expect_status 200
api GET "$V1/topics/proto-orders"
expect_json .schemaSettings.schema _deleted-schema_
api POST "$V1/topics/proto-orders:publish" "{\"messages\":[{\"data\":\"$(b64_bytes '\x08\x2a')\"}]}"
expect_error_json 404 NOT_FOUND
expect_json .error.message "Schema associated with topic deleted."
api DELETE "$V1/schemas/proto-orders"
expect_error_json 404 NOT_FOUND

section "hostile input"
big=$(head -c 310000 /dev/zero | tr '\0' ' ')
printf '{"type":"AVRO","definition":"%s\\"int\\""}' "$big" >"$TEST_TMP/big.json"
api POST "$V1/schemas?schemaId=too-big" "@$TEST_TMP/big.json"
expect_error_json 400 INVALID_ARGUMENT
expect_json '.error.message | contains("300000")' true
LIST='{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}'
deep='null'
for _ in $(seq 1 300); do deep="{\"Node\":{\"next\":$deep}}"; done
deep="{\"next\":$deep}"
api POST "$V1/schemas:validateMessage" "{\"schema\":{\"type\":\"AVRO\",\"definition\":$(json_string "$LIST")},\"encoding\":\"JSON\",\"message\":\"$(b64 "$deep")\"}"
expect_error_json 400 INVALID_ARGUMENT
# 100,000 levels of "another node follows" in binary
printf '{"schema":{"type":"AVRO","definition":%s},"encoding":"BINARY","message":"%s"}' \
    "$(json_string "$LIST")" "$(head -c 100000 /dev/zero | tr '\0' '\002' | base64 -w0)" >"$TEST_TMP/deep.json"
api POST "$V1/schemas:validateMessage" "@$TEST_TMP/deep.json"
expect_error_json 400 INVALID_ARGUMENT
expect_json '.error.message | contains("100")' true
api POST "$V1/schemas:validateMessage" "{\"schema\":{\"type\":\"PROTOCOL_BUFFER\",\"definition\":$(json_string "$PROTO")},\"encoding\":\"BINARY\",\"message\":\"$(b64_bytes '\x12\x02\xff\xfe')\"}"
expect_error_json 400 INVALID_ARGUMENT
expect_healthy "$PUBSUB_URL"

section "delete"
api DELETE "$V1/schemas/orders"
expect_status 200
api GET "$V1/schemas"
expect_json '.schemas // [] | length' 0
expect_healthy "$PUBSUB_URL"
finish
