#!/usr/bin/env bash
# test_pubsub_gcloud: the README's Pub/Sub walkthrough, driven by the real gcloud CLI on a
# stack with IAM enforced.
#
# A CMEK topic pinned to one region (the Pub/Sub service agent must be granted the key
# first, as in Google), publishing with attributes and ordering keys, a subscription with
# an ack deadline, a filter, a dead-letter topic and message ordering, a push
# subscription delivering to a local HTTP endpoint (with retries), pull --auto-ack, ack,
# modify-message-ack-deadline, snapshots and seek (to a snapshot and to a time), IAM
# bindings that let one principal publish and another consume, and the topic's key
# disabled and enabled again on the emulator clock.
# full-run-only: a gcloud walkthrough; `FAST=1 tests/integ/run-all` (scripts/test-all --fast) skips it
source "$(dirname "$0")/lib.sh"

start_stack --iam enforce
setup_gcloud my-project user:developer@example.com # under enforce: the projects' owner
if [[ $HAVE_GCLOUD != 1 ]]; then finish; fi
cd "$TEST_TMP"
KEY=projects/my-project/locations/us-east1/keyRings/pubsub-ring/cryptoKeys/orders-key
advance() { curl -s -o /dev/null -X POST "$CONTROL_URL/emulator/v1/clock:advance" -d "{\"seconds\": $1}"; }
# pulled SUB [pull flags...]: the data of the messages pulled (gcloud must succeed); an
# empty pull waits the bounded time a pull waits for messages.
pulled() {
    local sub=$1 out
    shift
    out=$(gcloud pubsub subscriptions pull "$sub" --limit 10 "$@" \
        --format='value(message.data.decode(base64))') || _fail "gcloud pull $sub failed"
    printf %s "$out"
}

section "a push endpoint (a small HTTP server built from tests/integ)"
cc -O1 -o receiver "$INTEG_DIR/pubsub_push_receiver.c"
expect_eq 0 $? "the receiver builds"
./receiver receiver.port pushed.txt 2 & # the first two deliveries fail with 503
RECEIVER_PID=$!
on_exit "kill $RECEIVER_PID 2>/dev/null; wait $RECEIVER_PID 2>/dev/null"
wait_for 5 "the receiver's port" test -s receiver.port
PUSH_URL="http://127.0.0.1:$(cat receiver.port)/push"

section "a CMEK topic: the service agent needs the key first"
gcloud kms keyrings create pubsub-ring --location us-east1
gcloud kms keys create orders-key --location us-east1 --keyring pubsub-ring --purpose encryption
out=$(gcloud pubsub topics create orders --topic-encryption-key "$KEY" \
    --message-storage-policy-allowed-regions us-east1 2>&1)
expect_contains "$out" "gcp-sa-pubsub.iam.gserviceaccount.com" "refused: names the service agent"
expect_contains "$out" "roles/cloudkms.cryptoKeyEncrypterDecrypter" "and the role it needs"
NUMBER=$(gcloud projects describe my-project --format='value(projectNumber)')
gcloud kms keys add-iam-policy-binding orders-key --location us-east1 --keyring pubsub-ring \
    --member "serviceAccount:service-$NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com" \
    --role roles/cloudkms.cryptoKeyEncrypterDecrypter >/dev/null
gcloud pubsub topics create orders --topic-encryption-key "$KEY" \
    --message-storage-policy-allowed-regions us-east1
expect_eq 0 $? "topics create with --topic-encryption-key"
expect_eq "$KEY" "$(gcloud pubsub topics describe orders --format='value(kmsKeyName)')" "kmsKeyName"
expect_eq "us-east1" "$(gcloud pubsub topics describe orders \
    --format='value(messageStoragePolicy.allowedPersistenceRegions)')" "storage policy"
out=$(gcloud pubsub topics create orders-eu --topic-encryption-key "$KEY" \
    --message-storage-policy-allowed-regions europe-west1 2>&1)
expect_contains "$out" "europe-west1" "a key that does not cover the region is refused"
gcloud pubsub topics create orders-dead-letter

section "subscriptions"
gcloud pubsub subscriptions create orders-sub --topic orders --ack-deadline 30 \
    --message-filter 'attributes.type = "order"' \
    --dead-letter-topic orders-dead-letter --max-delivery-attempts 5 \
    --enable-message-ordering
expect_eq 0 $? "subscriptions create with filter, dead letters and ordering"
gcloud pubsub subscriptions create orders-push --topic orders --push-endpoint "$PUSH_URL"
expect_eq 0 $? "subscriptions create --push-endpoint"
# --clear-push-no-wrapper-config sends the mask pushConfig.noWrapper alone: the wrapper
# setting goes, the endpoint stays (it is still a push subscription)
gcloud pubsub subscriptions update orders-push --push-endpoint "$PUSH_URL" --push-no-wrapper \
    >/dev/null
expect_eq '{}' "$(gcloud pubsub subscriptions describe orders-push --format=json |
    jq -c .pushConfig.noWrapper)" "update --push-no-wrapper"
gcloud pubsub subscriptions update orders-push --clear-push-no-wrapper-config >/dev/null
push=$(gcloud pubsub subscriptions describe orders-push --format=json)
expect_eq "$PUSH_URL" "$(jq -r .pushConfig.pushEndpoint <<<"$push")" \
    "--clear-push-no-wrapper-config keeps the endpoint"
expect_eq null "$(jq -c .pushConfig.noWrapper <<<"$push")" "and clears the wrapper setting"
sub=$(gcloud pubsub subscriptions describe orders-sub --format=json)
expect_eq 30 "$(jq -r .ackDeadlineSeconds <<<"$sub")" "ack deadline"
expect_eq 'attributes.type = "order"' "$(jq -r .filter <<<"$sub")" "filter"
expect_eq 5 "$(jq -r .deadLetterPolicy.maxDeliveryAttempts <<<"$sub")" "max delivery attempts"
expect_eq true "$(jq -r .enableMessageOrdering <<<"$sub")" "ordering"
expect_contains "$(gcloud pubsub topics list-subscriptions orders)" "orders-push" "list-subscriptions"

section "publish and pull"
gcloud pubsub topics publish orders --message '{"id": 42}' \
    --attribute type=order,region=eu --ordering-key customer-7 >/dev/null
gcloud pubsub topics publish orders --message 'not an order' --attribute type=note >/dev/null
out=$(gcloud pubsub subscriptions pull orders-sub --auto-ack --limit 10 \
    --format='value(message.data.decode(base64),message.orderingKey,message.attributes.region)')
expect_eq $'{"id": 42}\tcustomer-7\teu' "$out" "pull --auto-ack: the order only (filter), with its key"
gcloud pubsub topics publish orders --message second --attribute type=order >/dev/null
ACK=$(gcloud pubsub subscriptions pull orders-sub --limit 1 --format='value(ackId)')
expect_eq 1 "$([[ -n $ACK ]] && echo 1)" "pull returns an ack ID"
gcloud pubsub subscriptions modify-message-ack-deadline orders-sub --ack-ids "$ACK" \
    --ack-deadline 120 >/dev/null
expect_eq 0 $? "modify-message-ack-deadline"
advance 60
expect_eq "" "$(pulled orders-sub)" "the extended deadline holds after 60 s"
gcloud pubsub subscriptions ack orders-sub --ack-ids "$ACK" >/dev/null
expect_eq 0 $? "ack"
advance 120
expect_eq "" "$(pulled orders-sub)" "acked: not redelivered"

section "exactly-once delivery: an expired ack ID is refused"
gcloud pubsub topics create once >/dev/null
gcloud pubsub subscriptions create once-sub --topic once --enable-exactly-once-delivery \
    >/dev/null
expect_eq True "$(gcloud pubsub subscriptions describe once-sub \
    --format='value(enableExactlyOnceDelivery)')" "created with exactly-once delivery"
gcloud pubsub topics publish once --message once >/dev/null
ACK=$(gcloud pubsub subscriptions pull once-sub --limit 1 --format='value(ackId)')
advance 11
# gcloud reads the ErrorInfo: it lists the ack IDs refused, and why, and exits 0
out=$(gcloud pubsub subscriptions ack once-sub --ack-ids "$ACK" 2>&1)
expect_contains "$out" "FailureReason: PERMANENT_FAILURE_INVALID_ACK_ID" \
    "gcloud reports the expired ack ID as refused"
expect_contains "$out" "$ACK" "by its ack ID"
ACK=$(gcloud pubsub subscriptions pull once-sub --limit 1 --format='value(ackId)')
gcloud pubsub subscriptions ack once-sub --ack-ids "$ACK" >/dev/null
expect_eq 0 $? "the redelivery's ack ID acknowledges it"
gcloud pubsub subscriptions delete once-sub >/dev/null
gcloud pubsub topics delete once >/dev/null

section "push delivery (two failures, then delivered)"
wait_for 20 "three push attempts" bash -c "[[ \$(wc -l < pushed.txt) -ge 3 ]]"
first=$(head -n 1 pushed.txt)
expect_eq "projects/my-project/subscriptions/orders-push" "$(jq -r .subscription <<<"$first")" \
    "push body names the subscription"
expect_eq '{"id": 42}' "$(jq -r '.message.data | @base64d' <<<"$first")" "push body carries the data"
expect_eq "customer-7" "$(jq -r .message.orderingKey <<<"$first")" "and the ordering key"
expect_eq "1" "$(jq -r .message.messageId <<<"$first")" "and the message ID"

section "snapshots and seek"
gcloud pubsub snapshots create orders-snap --subscription orders-sub >/dev/null
expect_eq 0 $? "snapshots create"
expect_contains "$(gcloud pubsub snapshots list --format='value(name)')" "orders-snap" "snapshots list"
gcloud pubsub topics publish orders --message after-snapshot --attribute type=order >/dev/null
expect_eq "after-snapshot" "$(pulled orders-sub --auto-ack)" "pulled and acked"
expect_eq "" "$(pulled orders-sub)" "nothing left"
gcloud pubsub subscriptions seek orders-sub --snapshot orders-snap >/dev/null
expect_eq 0 $? "seek --snapshot"
expect_eq "after-snapshot" "$(pulled orders-sub --auto-ack)" \
    "seek restored what the snapshot had unacked"
gcloud pubsub subscriptions seek orders-sub --time 2000-01-01T00:00:00Z >/dev/null
expect_eq 0 $? "seek --time"
expect_eq "" "$(pulled orders-sub)" \
    "acked messages are not retained by this subscription: nothing to replay"
gcloud pubsub subscriptions update orders-sub --retain-acked-messages >/dev/null
expect_eq 0 $? "subscriptions update --retain-acked-messages"
gcloud pubsub topics publish orders --message retained --attribute type=order >/dev/null
expect_eq "retained" "$(pulled orders-sub --auto-ack)" "pulled and acked"
gcloud pubsub subscriptions seek orders-sub --time 2000-01-01T00:00:00Z >/dev/null
expect_contains "$(pulled orders-sub --auto-ack)" "retained" \
    "with acked messages retained, seek --time replays them"

section "IAM: alice publishes, bob consumes, carol does neither"
gcloud pubsub topics add-iam-policy-binding orders --member user:alice@example.com \
    --role roles/pubsub.publisher >/dev/null
gcloud pubsub subscriptions add-iam-policy-binding orders-sub --member user:bob@example.com \
    --role roles/pubsub.subscriber >/dev/null
expect_contains "$(gcloud pubsub topics get-iam-policy orders --format=json)" \
    "user:alice@example.com" "topic policy"
gcloud_as user:alice@example.com pubsub topics publish orders --message from-alice \
    --attribute type=order >/dev/null
expect_eq 0 $? "alice may publish"
out=$(gcloud_as user:carol@example.com pubsub topics publish orders --message x 2>&1)
expect_contains "$out" "PERMISSION_DENIED" "carol may not publish"
expect_contains "$(gcloud_as user:bob@example.com pubsub subscriptions pull orders-sub \
    --auto-ack --limit 10 --format='value(message.data.decode(base64))')" "from-alice" "bob may pull"
out=$(gcloud_as user:carol@example.com pubsub subscriptions pull orders-sub --limit 1 2>&1)
expect_contains "$out" "PERMISSION_DENIED" "carol may not pull"

section "the topic's key disabled, then enabled again"
gcloud kms keys versions disable 1 --key orders-key --location us-east1 --keyring pubsub-ring \
    >/dev/null
advance 300
out=$(gcloud pubsub topics publish orders --message while-disabled --attribute type=order 2>&1)
expect_contains "$out" "FAILED_PRECONDITION" "publish fails while the key is disabled"
expect_contains "$out" "will be delivered once the key is accessible" "and says the messages are kept"
gcloud kms keys versions enable 1 --key orders-key --location us-east1 --keyring pubsub-ring \
    >/dev/null
advance 300
gcloud pubsub topics publish orders --message re-enabled --attribute type=order >/dev/null
expect_eq 0 $? "publish works again"
expect_contains "$(pulled orders-sub --auto-ack)" "re-enabled" "and pull too"

section "clean-up"
gcloud pubsub subscriptions delete orders-push >/dev/null
gcloud pubsub snapshots delete orders-snap >/dev/null
gcloud pubsub topics delete orders-dead-letter >/dev/null
gcloud pubsub topics delete orders >/dev/null
expect_eq "_deleted-topic_" "$(gcloud pubsub subscriptions describe orders-sub \
    --format='value(topic)')" "subscriptions outlive their topic"
expect_healthy "$PUBSUB_URL"
finish
