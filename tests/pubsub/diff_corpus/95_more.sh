# More of the data plane: modifyPushConfig, message ordering, replaying acknowledged
# messages by seeking to a time, a snapshot's rules, paging subscriptions and snapshots.
check PUT {P}/topics/more '{}'
check PUT {P}/subscriptions/pushed '{"topic":"{P}/topics/more"}'
check POST {P}/subscriptions/pushed:modifyPushConfig '{"pushConfig":{"pushEndpoint":"http://127.0.0.1:9/x"}}'
JQ=.pushConfig.pushEndpoint check GET {P}/subscriptions/pushed
check POST {P}/subscriptions/pushed:modifyPushConfig '{"pushConfig":{"pushEndpoint":"ftp://127.0.0.1/x"}}'
check POST {P}/subscriptions/pushed:modifyPushConfig '{"pushConfig":{}}'
JQ=.pushConfig check GET {P}/subscriptions/pushed
check POST {P}/subscriptions/nosuch:modifyPushConfig '{"pushConfig":{}}'

# ordering: one key's messages come in publication order, one batch at a time
check PUT {P}/subscriptions/in-order '{"topic":"{P}/topics/more","enableMessageOrdering":true,"ackDeadlineSeconds":600}'
publish more '[{"data": "o1", "orderingKey": "k"}, {"data": "o2", "orderingKey": "k"}, {"data": "o3", "orderingKey": "k"}]'
JQ='[.receivedMessages[].message | [(.data | @base64d), .orderingKey]]' \
    check POST {P}/subscriptions/in-order:pull '{"maxMessages":10,"returnImmediately":true}'
pulled pushed

# replay: with retainAckedMessages, seeking to a past time brings acknowledged messages back,
# but only those published since the subscription was created (o1-o3 came before it)
check PUT {P}/subscriptions/replay-acked '{"topic":"{P}/topics/more","retainAckedMessages":true}'
check PUT {P}/subscriptions/forget-acked '{"topic":"{P}/topics/more"}'
publish more '[{"data": "x1"}, {"data": "x2"}]'
pulled replay-acked
pulled forget-acked
check POST {P}/subscriptions/replay-acked:seek '{"time":"2020-01-01T00:00:00Z"}'
check POST {P}/subscriptions/forget-acked:seek '{"time":"2020-01-01T00:00:00Z"}'
pulled replay-acked
pulled forget-acked

# a snapshot's expireTime is set by Google; a snapshot of a missing or malformed subscription
JQ='has("expireTime")' check PUT {P}/snapshots/snap-more '{"subscription":"{P}/subscriptions/replay-acked"}'
wrong "it answers NOT_FOUND for a subscription that is not a subscription name; Google checks the name's form first (INVALID_ARGUMENT)" '400 INVALID_ARGUMENT'
check PUT {P}/snapshots/snap-bad '{"subscription":"replay-acked"}'
JQ='[.snapshots[]?.name]' check GET {P}/snapshots
JQ='[.subscriptions[]?.name] | length' check GET '{P}/subscriptions?pageSize=3'
JQ='.snapshots' check GET {P}/topics/more/snapshots

# acknowledging with another subscription's ack IDs
check PUT {P}/subscriptions/mine '{"topic":"{P}/topics/more","ackDeadlineSeconds":600}'
check PUT {P}/subscriptions/yours '{"topic":"{P}/topics/more","ackDeadlineSeconds":600}'
publish more '[{"data": "y1"}]'
take mine
check POST {P}/subscriptions/yours:acknowledge '{"ackIds":{ACKS}}'
take yours
check POST {P}/subscriptions/mine:acknowledge '{"ackIds":{ACKS}}'

# a filter of 256 bytes of two-byte characters is over the limit (bytes, not characters)
e128=$(printf 'é%.0s' $(seq 121))
wrong "it accepts any text as a filter (it parses none); Google counts the filter's bytes (256 at most), not its characters" '400 INVALID_ARGUMENT'
check_filter filter-bytes "attributes.k = \"$e128\""

# with topic retention a new subscription may seek back to messages older than itself
check PUT {P}/topics/kept-topic '{"messageRetentionDuration":"3600s"}'
check PUT {P}/subscriptions/kept-early '{"topic":"{P}/topics/kept-topic"}'
publish kept-topic '[{"data": "k1"}]'
check PUT {P}/subscriptions/kept-late '{"topic":"{P}/topics/kept-topic"}'
wrong "it hands a new subscription what its topic retains; with Google a subscription starts empty, and topic retention lets it seek back (https://cloud.google.com/pubsub/docs/replay-overview)" '200 []'
pulled kept-late
check POST {P}/subscriptions/kept-late:seek '{"time":"2020-01-01T00:00:00Z"}'
pulled kept-late
