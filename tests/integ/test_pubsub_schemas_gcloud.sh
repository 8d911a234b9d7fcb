#!/usr/bin/env bash
# test_pubsub_schemas_gcloud: Pub/Sub schemas driven by the real gcloud CLI on a stack
# with IAM enforced: an Avro schema created from a file, validate-schema and
# validate-message, a topic that validates JSON messages (gcloud publish refused with
# Google's message), a committed revision and a rollback, list-revisions and
# delete-revision, a binary Protocol Buffer topic, and pubsub.schemas.attach: an editor of
# one project may not attach another project's schema until granted on the schema.
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

start_stack --iam enforce
setup_gcloud my-project user:developer@example.com # under enforce: the projects' owner
if [[ $HAVE_GCLOUD != 1 ]]; then finish; fi
cd "$TEST_TMP"

cat >order.avsc <<'EOF'
{"type": "record", "name": "Order", "fields": [
  {"name": "id", "type": "long"},
  {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
  {"name": "tags", "type": {"type": "array", "items": "string"}}
]}
EOF
cat >order.proto <<'EOF'
syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  enum State { STATE_UNSPECIFIED = 0; NEW = 1; PAID = 2; }
  State state = 2;
  map<string, string> labels = 3;
}
EOF

section "an Avro schema"
gcloud pubsub schemas create orders --type avro --definition-file order.avsc >/dev/null
expect_eq 0 $? "schemas create --definition-file"
expect_eq AVRO "$(gcloud pubsub schemas describe orders --format='value(type)')" "describe"
REV1=$(gcloud pubsub schemas describe orders --format='value(revisionId)')
expect_eq 8 "${#REV1}" "an 8-character revision ID"
out=$(gcloud pubsub schemas validate-schema --type avro --definition '{"type": "map"}' 2>&1)
expect_contains "$out" "Could not parse schema definition" "validate-schema refuses a map without values"
gcloud pubsub schemas validate-schema --type avro --definition-file order.avsc >/dev/null 2>&1
expect_eq 0 $? "validate-schema accepts the file"
gcloud pubsub schemas validate-message --schema-name orders --message-encoding json \
    --message '{"id": 1, "amount": "\u0001\u0000", "tags": ["a"]}' >/dev/null 2>&1
expect_eq 0 $? "validate-message: a valid message"
out=$(gcloud pubsub schemas validate-message --schema-name orders --message-encoding json \
    --message '{"id": 1.5, "amount": "", "tags": []}' 2>&1)
expect_contains "$out" "Invalid data in message" "validate-message: a long that is not whole"

section "a topic validating JSON messages"
gcloud pubsub topics create orders --schema orders --message-encoding json >/dev/null
expect_eq 0 $? "topics create --schema --message-encoding json"
expect_eq "projects/my-project/schemas/orders" \
    "$(gcloud pubsub topics describe orders --format='value(schemaSettings.schema)')" "schemaSettings"
gcloud pubsub subscriptions create orders-sub --topic orders >/dev/null
gcloud pubsub topics publish orders --message '{"id": 7, "amount": "", "tags": ["gift"]}' >/dev/null
expect_eq 0 $? "publish a valid message"
out=$(gcloud pubsub topics publish orders --message '{"id": "seven"}' 2>&1)
expect_contains "$out" "Message failed schema validation" "publish refused with Google's message"
out=$(gcloud pubsub subscriptions pull orders-sub --auto-ack --limit 5 \
    --format='value(message.attributes.googclient_schemarevisionid,message.attributes.googclient_schemaencoding)')
expect_eq "$REV1"$'\t'"JSON" "$out" "the message pulled carries the revision and encoding"

section "revisions"
sed 's/"string"}/"string"}},\n  {"name": "note", "type": ["null", "string"], "default": null/' order.avsc >order2.avsc
gcloud pubsub schemas commit orders --type avro --definition-file order2.avsc >/dev/null
expect_eq 0 $? "schemas commit"
REV2=$(gcloud pubsub schemas describe orders --format='value(revisionId)')
expect_eq 2 "$(gcloud pubsub schemas list-revisions orders --format='value(revisionId)' | wc -l)" \
    "list-revisions: two"
gcloud pubsub topics publish orders --message '{"id": 8, "amount": "", "tags": [], "note": {"string": "n"}}' >/dev/null
expect_eq 0 $? "a message of the new revision"
gcloud pubsub schemas rollback orders --revision-id "$REV1" >/dev/null
expect_eq 0 $? "schemas rollback"
REV3=$(gcloud pubsub schemas describe orders --format='value(revisionId)')
gcloud pubsub schemas delete-revision "orders@$REV2" >/dev/null
expect_eq 0 $? "schemas delete-revision"
expect_eq "$REV3 $REV1" "$(gcloud pubsub schemas list-revisions orders --format='value(revisionId)' | xargs)" \
    "newest first, the deleted one gone"

section "a binary Protocol Buffer topic"
gcloud pubsub schemas create proto-orders --type protocol-buffer --definition-file order.proto >/dev/null
expect_eq 0 $? "a protocol buffer schema"
gcloud pubsub schemas validate-message --schema-name proto-orders --message-encoding json \
    --message '{"id": "12", "state": "PAID", "labels": {"k": "v"}}' >/dev/null 2>&1
expect_eq 0 $? "validate-message: proto3 JSON"
out=$(gcloud pubsub schemas validate-message --schema-name proto-orders --message-encoding json \
    --message '{"id": 1, "state": "SHIPPED"}' 2>&1)
expect_contains "$out" "Invalid data in message" "an enum value the schema lacks"
gcloud pubsub topics create proto-orders --schema proto-orders --message-encoding binary >/dev/null
expect_eq 0 $? "topics create --message-encoding binary"

section "pubsub.schemas.attach: a schema of another project"
gcloud pubsub schemas create shared --project schema-home --type avro --definition-file order.avsc >/dev/null
expect_eq 0 $? "a schema in project schema-home"
gcloud projects add-iam-policy-binding my-project --member user:creator@example.com \
    --role roles/pubsub.editor >/dev/null 2>&1
out=$(gcloud_as user:creator@example.com pubsub topics create refused \
    --schema projects/schema-home/schemas/shared --message-encoding json 2>&1)
expect_contains "$out" "pubsub.schemas.attach" "an editor of my-project only may not attach it"
gcloud_as user:creator@example.com pubsub topics create allowed --schema orders \
    --message-encoding json >/dev/null 2>&1
expect_eq 0 $? "but may attach my-project's schema"
# gcloud has no schemas add-iam-policy-binding: the REST method, as the owner
API_PRINCIPAL=user:developer@example.com api POST \
    "$PUBSUB_URL/v1/projects/schema-home/schemas/shared:setIamPolicy" \
    '{"policy":{"bindings":[{"role":"roles/pubsub.editor","members":["user:creator@example.com"]}]}}'
expect_status 200
gcloud_as user:creator@example.com pubsub topics create refused \
    --schema projects/schema-home/schemas/shared --message-encoding json >/dev/null 2>&1
expect_eq 0 $? "once granted on the schema itself, it may"

section "delete"
gcloud pubsub schemas delete orders --quiet >/dev/null 2>&1
expect_eq 0 $? "schemas delete"
expect_eq "_deleted-schema_" "$(gcloud pubsub topics describe orders --format='value(schemaSettings.schema)')" \
    "the topic shows the schema deleted"
out=$(gcloud pubsub topics publish orders --message '{"id": 9}' 2>&1)
expect_contains "$out" "Schema associated with topic deleted" "publishing is refused"
expect_healthy "$PUBSUB_URL"
finish
