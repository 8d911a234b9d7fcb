# Seek and snapshots: seek to a time or to a snapshot of the same topic; a snapshot is
# made from a subscription and holds its unacknowledged messages.
check PUT {P}/topics/replayed '{}'
check PUT {P}/subscriptions/replayer '{"topic":"{P}/topics/replayed","ackDeadlineSeconds":600}'
check PUT {P}/subscriptions/other-topic '{"topic":"{P}/topics/base"}'
publish replayed '[{"data": "r1"}, {"data": "r2"}]'
JQ='.topic' check PUT {P}/snapshots/before '{"subscription":"{P}/subscriptions/replayer"}'
wrong "it drops a new snapshot's labels; Google keeps them (Snapshot.labels)" '200 {"k":"v"}'
JQ='.labels' check PUT {P}/snapshots/labelled '{"subscription":"{P}/subscriptions/replayer","labels":{"k":"v"}}'
pulled replayer
pulled replayer
JQ='.' check POST {P}/subscriptions/replayer:seek '{"snapshot":"{P}/snapshots/before"}'
pulled replayer
check POST {P}/subscriptions/replayer:seek '{"snapshot":"{P}/snapshots/nosuch"}'
check POST {P}/subscriptions/replayer:seek '{"snapshot":"nosuch"}'
check POST {P}/subscriptions/other-topic:seek '{"snapshot":"{P}/snapshots/before"}'
check POST {P}/subscriptions/replayer:seek '{}'
check POST {P}/subscriptions/replayer:seek '{"time":"2020-01-01T00:00:00Z","snapshot":"{P}/snapshots/before"}'
check POST {P}/subscriptions/replayer:seek '{"time":"not a time"}'
check POST {P}/subscriptions/nosuch:seek '{"time":"2020-01-01T00:00:00Z"}'
JQ='.' check POST {P}/subscriptions/replayer:seek '{"time":"2099-01-01T00:00:00Z"}'
pulled replayer
JQ='.' check POST {P}/subscriptions/replayer:seek '{"time":"2020-01-01T00:00:00Z"}'
pulled replayer
wrong "it does not implement UpdateSnapshot; Google updates labels and expireTime" \
    '200 {"labels":{"k":"w"}}'
JQ='{labels}' check PATCH {P}/snapshots/labelled '{"snapshot":{"labels":{"k":"w"}},"updateMask":"labels"}'
wrong "it does not implement UpdateSnapshot; Google requires update_mask" \
    '400 INVALID_ARGUMENT'
check PATCH {P}/snapshots/labelled '{"snapshot":{"labels":{"k":"w"}}}'
check DELETE {P}/snapshots/labelled
check DELETE {P}/snapshots/labelled
check GET {P}/snapshots/labelled
