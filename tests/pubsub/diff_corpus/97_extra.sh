# What a pulled message carries (deliveryAttempt only with a dead-letter policy, the
# ordering key even when the subscription does not order), what publish ignores, and a
# deleted topic's snapshots and subscriptions.
check PUT {P}/topics/shapes '{}'
check PUT {P}/subscriptions/shapes-dl '{"topic":"{P}/topics/shapes","deadLetterPolicy":{"deadLetterTopic":"{P}/topics/abc"}}'
check PUT {P}/subscriptions/shapes-plain '{"topic":"{P}/topics/shapes"}'
publish shapes '[{"data": "s1", "orderingKey": "k1", "attributes": {"a": "1"}}]'
MSG='.receivedMessages[] | {deliveryAttempt, orderingKey, attributes, hasId: (.message.messageId | type), hasTime: (.message.publishTime | type)} + (.message | {orderingKey, attributes})'
JQ="$MSG" check POST {P}/subscriptions/shapes-dl:pull '{"maxMessages":10,"returnImmediately":true}'
JQ="$MSG" check POST {P}/subscriptions/shapes-plain:pull '{"maxMessages":10,"returnImmediately":true}'
JQ='.messageIds | length' check POST {P}/topics/shapes:publish '{"messages":[{"data":"eA==","messageId":"client-id","publishTime":"2020-01-01T00:00:00Z"}]}'
wrong "it reads the number 1 as the string \"1\" (Java's lenient JSON parsing); Google's REST front end refuses a number for a string field (INVALID_ARGUMENT, 'Invalid value at ... (TYPE_STRING)')" \
    '400 INVALID_ARGUMENT'
check POST {P}/topics/shapes:publish '{"messages":[{"data":"eA==","attributes":{"n":1}}]}'
check POST {P}/topics/shapes:publish '{"messages":[{"data":"eA==","attributes":{"n":null}}]}'
check POST {P}/topics/shapes:publish '{"messages":"eA=="}'
check POST {P}/subscriptions/shapes-plain:pull '{"maxMessages":"many"}'
check POST {P}/subscriptions/shapes-plain:pull '{"maxMessages":10,"returnImmediately":true,"extra":1}'

# a deleted topic's snapshot serves no seek. Not compared, as Google's documentation is
# silent: a deleted topic's snapshot shows topic _deleted-topic_ here (Google's emulator
# keeps the old name), and its subscriptions cannot make snapshots here (Google's emulator
# lets them)
check PUT {P}/topics/fleeting '{}'
check PUT {P}/subscriptions/fleeting-sub '{"topic":"{P}/topics/fleeting"}'
check PUT {P}/snapshots/fleeting-snap '{"subscription":"{P}/subscriptions/fleeting-sub"}'
check DELETE {P}/topics/fleeting
check POST {P}/subscriptions/fleeting-sub:seek '{"snapshot":"{P}/snapshots/fleeting-snap"}'
