# Subscription fields: ackDeadlineSeconds (10-600, 0 means the default 10),
# messageRetentionDuration (10 minutes to 31 days), expirationPolicy.ttl (at least 1 day,
# and not below the retention), retryPolicy (backoffs 0-600 s, minimum <= maximum),
# deadLetterPolicy.maxDeliveryAttempts (5-100, 0 means 5), enableExactlyOnceDelivery.
T='"topic":"{P}/topics/base"'
SUB='{ackDeadlineSeconds, messageRetentionDuration, retainAckedMessages, enableMessageOrdering, enableExactlyOnceDelivery, filter, deadLetterPolicy, retryPolicy, expirationPolicy}'

JQ=.ackDeadlineSeconds check PUT {P}/subscriptions/ack-default "{$T}"
JQ=.ackDeadlineSeconds check PUT {P}/subscriptions/ack-zero "{$T,\"ackDeadlineSeconds\":0}"
JQ=.ackDeadlineSeconds check PUT {P}/subscriptions/ack-10 "{$T,\"ackDeadlineSeconds\":10}"
JQ=.ackDeadlineSeconds check PUT {P}/subscriptions/ack-600 "{$T,\"ackDeadlineSeconds\":600}"
check PUT {P}/subscriptions/ack-601 "{$T,\"ackDeadlineSeconds\":601}"
check PUT {P}/subscriptions/ack-neg "{$T,\"ackDeadlineSeconds\":-1}"
check PUT {P}/subscriptions/ack-str "{$T,\"ackDeadlineSeconds\":\"20\"}"
check PUT {P}/subscriptions/ack-big "{$T,\"ackDeadlineSeconds\":99999999999}"
wrong "it accepts 9 (and keeps 9); the reference: 'The minimum custom deadline you can specify is 10 seconds'" \
    '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/ack-9 "{$T,\"ackDeadlineSeconds\":9}"

JQ=.messageRetentionDuration check PUT {P}/subscriptions/ret-600 "{$T,\"messageRetentionDuration\":\"600s\"}"
wrong "it refuses more than 7 days (Google's old limit); the reference: 'Cannot be more than 31 days or less than 10 minutes'" \
    '200 "2678400s"'
JQ=.messageRetentionDuration check PUT {P}/subscriptions/ret-31d "{$T,\"messageRetentionDuration\":\"2678400s\"}"
check PUT {P}/subscriptions/ret-599 "{$T,\"messageRetentionDuration\":\"599s\"}"
check PUT {P}/subscriptions/ret-zero "{$T,\"messageRetentionDuration\":\"0s\"}"
check PUT {P}/subscriptions/ret-31d1 "{$T,\"messageRetentionDuration\":\"2678401s\"}"
check PUT {P}/subscriptions/ret-bad "{$T,\"messageRetentionDuration\":\"ten minutes\"}"
JQ=.messageRetentionDuration check PUT {P}/subscriptions/ret-frac "{$T,\"messageRetentionDuration\":\"600.5s\"}"
JQ='{retainAckedMessages}' check PUT {P}/subscriptions/retain "{$T,\"retainAckedMessages\":true}"

TTL_SHORT="it takes an expiration period shorter than the message retention (7 days by default); Google requires the expiration period to exceed the retention"
wrong "$TTL_SHORT" '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/ttl-1d "{$T,\"expirationPolicy\":{\"ttl\":\"86400s\"}}"
JQ=.expirationPolicy check PUT {P}/subscriptions/ttl-1d-kept-1h "{$T,\"messageRetentionDuration\":\"3600s\",\"expirationPolicy\":{\"ttl\":\"86400s\"}}"
wrong "$TTL_SHORT" '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/ttl-2d-kept-3d "{$T,\"messageRetentionDuration\":\"259200s\",\"expirationPolicy\":{\"ttl\":\"172800s\"}}"
wrong "it refuses a retention past 7 days (its old limit; Google's is 31 days), so it never reaches the ttl" '200 {"ttl":"2678400s"}'
JQ=.expirationPolicy check PUT {P}/subscriptions/ttl-31d-kept-31d "{$T,\"messageRetentionDuration\":\"2678400s\",\"expirationPolicy\":{\"ttl\":\"2678400s\"}}"
JQ=.expirationPolicy check PUT {P}/subscriptions/ttl-never "{$T,\"expirationPolicy\":{}}"
wrong "it keeps a ttl of 0s (and shows it); the reference: 'The minimum allowed value for expiration_policy.ttl is 1 day', never expiring is a policy without a ttl" \
    '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/ttl-zero "{$T,\"expirationPolicy\":{\"ttl\":\"0s\"}}"
wrong "it accepts a ttl of an hour; the reference: 'The minimum allowed value for expiration_policy.ttl is 1 day'" \
    '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/ttl-1h "{$T,\"expirationPolicy\":{\"ttl\":\"3600s\"}}"
wrong "it accepts a negative ttl; Google's minimum ttl is 1 day" \
    '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/ttl-neg "{$T,\"expirationPolicy\":{\"ttl\":\"-5s\"}}"

JQ=.retryPolicy check PUT {P}/subscriptions/retry-ok "{$T,\"retryPolicy\":{\"minimumBackoff\":\"5s\",\"maximumBackoff\":\"60s\"}}"
JQ=.retryPolicy check PUT {P}/subscriptions/retry-max "{$T,\"retryPolicy\":{\"minimumBackoff\":\"600s\",\"maximumBackoff\":\"600s\"}}"
check PUT {P}/subscriptions/retry-min-big "{$T,\"retryPolicy\":{\"minimumBackoff\":\"601s\"}}"
check PUT {P}/subscriptions/retry-max-big "{$T,\"retryPolicy\":{\"maximumBackoff\":\"601s\"}}"
check PUT {P}/subscriptions/retry-inverted "{$T,\"retryPolicy\":{\"minimumBackoff\":\"60s\",\"maximumBackoff\":\"10s\"}}"
check PUT {P}/subscriptions/retry-neg "{$T,\"retryPolicy\":{\"minimumBackoff\":\"-1s\"}}"

DL='"deadLetterTopic":"{P}/topics/abc"'
JQ=.deadLetterPolicy check PUT {P}/subscriptions/dl-5 "{$T,\"deadLetterPolicy\":{$DL,\"maxDeliveryAttempts\":5}}"
JQ=.deadLetterPolicy check PUT {P}/subscriptions/dl-100 "{$T,\"deadLetterPolicy\":{$DL,\"maxDeliveryAttempts\":100}}"
check PUT {P}/subscriptions/dl-4 "{$T,\"deadLetterPolicy\":{$DL,\"maxDeliveryAttempts\":4}}"
check PUT {P}/subscriptions/dl-101 "{$T,\"deadLetterPolicy\":{$DL,\"maxDeliveryAttempts\":101}}"
JQ=.deadLetterPolicy check PUT {P}/subscriptions/dl-0 "{$T,\"deadLetterPolicy\":{$DL}}"
check PUT {P}/subscriptions/dl-nosuch "{$T,\"deadLetterPolicy\":{\"deadLetterTopic\":\"{P}/topics/nosuch\"}}"
wrong "it answers NOT_FOUND for a dead-letter topic that is not a topic name; Google checks the name's form first (INVALID_ARGUMENT), as it does for the subscription's topic" \
    '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/dl-badname "{$T,\"deadLetterPolicy\":{\"deadLetterTopic\":\"nosuch\"}}"
DL_NO_TOPIC="it answers NOT_FOUND for a dead-letter policy without deadLetterTopic; Google checks the topic's resource name (an empty one is invalid: INVALID_ARGUMENT, 'Invalid resource name given (dead_letter_topic=...)'), and a policy given is never dropped as none"
wrong "$DL_NO_TOPIC" '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/dl-notopic "{$T,\"deadLetterPolicy\":{\"maxDeliveryAttempts\":5}}"
wrong "$DL_NO_TOPIC" '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/dl-empty "{$T,\"deadLetterPolicy\":{}}"
wrong "$DL_NO_TOPIC" '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/dl-emptytopic "{$T,\"deadLetterPolicy\":{\"deadLetterTopic\":\"\"}}"
JQ=.deadLetterPolicy check PUT {P}/subscriptions/dl-null "{$T,\"deadLetterPolicy\":null}"

JQ='{enableExactlyOnceDelivery}' check PUT {P}/subscriptions/exactly-once "{$T,\"enableExactlyOnceDelivery\":true}"
JQ='{enableMessageOrdering}' check PUT {P}/subscriptions/ordered "{$T,\"enableMessageOrdering\":true}"
check PUT {P}/subscriptions/push-bad "{$T,\"pushConfig\":{\"pushEndpoint\":\"not a url\"}}"
JQ=.pushConfig.pushEndpoint check PUT {P}/subscriptions/push-ok "{$T,\"pushConfig\":{\"pushEndpoint\":\"http://127.0.0.1:9/push\"}}"
JQ=.labels check PUT {P}/subscriptions/labelled "{$T,\"labels\":{\"team\":\"a\"}}"
wrong "it accepts a label key with an uppercase letter; Google's label keys are lowercase letters, digits, - and _ (https://cloud.google.com/pubsub/docs/labels)" \
    '400 INVALID_ARGUMENT'
check PUT {P}/subscriptions/label-bad "{$T,\"labels\":{\"Team\":\"a\"}}"
check PUT {P}/subscriptions/unknown-field "{$T,\"noSuchField\":1}"
check PUT {P}/subscriptions/not-json '{"topic":'

NO_TTL="it leaves expirationPolicy out; the reference: without one 'a default policy with ttl of 31 days will be used', and Google shows it"
wrong "$NO_TTL" '200 {"ackDeadlineSeconds":10,"deadLetterPolicy":{"deadLetterTopic":"projects/diff-proj/topics/abc","maxDeliveryAttempts":5},"enableExactlyOnceDelivery":null,"enableMessageOrdering":null,"expirationPolicy":{"ttl":"2678400s"},"filter":null,"messageRetentionDuration":"604800s","retainAckedMessages":null,"retryPolicy":null}'
JQ="$SUB" check GET {P}/subscriptions/dl-0
wrong "$NO_TTL" '200 {"ackDeadlineSeconds":10,"deadLetterPolicy":null,"enableExactlyOnceDelivery":null,"enableMessageOrdering":null,"expirationPolicy":{"ttl":"2678400s"},"filter":null,"messageRetentionDuration":"604800s","retainAckedMessages":null,"retryPolicy":{"maximumBackoff":"60s","minimumBackoff":"5s"}}'
JQ="$SUB" check GET {P}/subscriptions/retry-ok
