# Ordering keys (enableMessageOrdering): a key's messages come in publication order, one
# outstanding batch per key across pulls; a nacked or expired message holds back the key's
# later messages until it is delivered again, and they follow it; an empty ordering key is
# no key; without ordering a key's messages all come at once; a publish request carries
# one ordering key.
ORDER='[.receivedMessages[]?.message | [(.data | @base64d), .orderingKey]]'
PULL10='{"maxMessages":10,"returnImmediately":true}'
check PUT {P}/topics/keyed '{}'
check PUT {P}/subscriptions/keyed-in-order '{"topic":"{P}/topics/keyed","enableMessageOrdering":true,"ackDeadlineSeconds":600}'
check PUT {P}/subscriptions/keyed-any-order '{"topic":"{P}/topics/keyed","ackDeadlineSeconds":600}'
publish keyed '[{"data": "a1", "orderingKey": "a"}, {"data": "a2", "orderingKey": "a"}, {"data": "a3", "orderingKey": "a"}]'
publish keyed '[{"data": "b1", "orderingKey": "b"}]'
publish keyed '[{"data": "n1"}, {"data": "e1", "orderingKey": ""}]'

# a1 is out: the rest of key a waits; other keys, no key and the empty key flow
JQ="$ORDER" take keyed-in-order 1
JQ="$ORDER" check POST {P}/subscriptions/keyed-in-order:pull "$PULL10"
JQ="$ORDER" check POST {P}/subscriptions/keyed-in-order:pull "$PULL10"
# a1 nacked: delivered again first, then a2 and a3
check POST {P}/subscriptions/keyed-in-order:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":0}'
wrong "it hands out a2 and a3 before the nacked a1 (a2, a3, a1); Subscription.enable_message_ordering: messages with the same ordering_key 'will be delivered to the subscribers in the order in which they are received by the Pub/Sub system'" \
    '200 [["a1","a"],["a2","a"],["a3","a"]]'
JQ="$ORDER" check POST {P}/subscriptions/keyed-in-order:pull "$PULL10"

# an expired lease frees the key the same way (x1's deadline cut to 1 s)
publish keyed '[{"data": "x1", "orderingKey": "x"}, {"data": "x2", "orderingKey": "x"}]'
JQ="$ORDER" take keyed-in-order 1
check POST {P}/subscriptions/keyed-in-order:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":1}'
JQ="$ORDER" check POST {P}/subscriptions/keyed-in-order:pull "$PULL10"
sleep 1.1
JQ="$ORDER" check POST {P}/subscriptions/keyed-in-order:pull "$PULL10"

# without ordering: every message at once, the ordering key still shown
JQ="$ORDER | sort" check POST {P}/subscriptions/keyed-any-order:pull '{"maxMessages":100,"returnImmediately":true}'

# one ordering key per publish request; no key and "" are the same (a topic of its own:
# Google's emulator stores what it wrongly takes)
check PUT {P}/topics/keyed-mixed '{}'
MIXED="it publishes messages with different ordering keys in one request; PubsubMessage.ordering_key: 'All PubsubMessages published in a given PublishRequest must specify the same ordering_key value' (Google's service answers FAILED_PRECONDITION)"
wrong "$MIXED" '400 FAILED_PRECONDITION'
check POST {P}/topics/keyed-mixed:publish '{"messages":[{"data":"eA==","orderingKey":"a"},{"data":"eA==","orderingKey":"b"}]}'
wrong "$MIXED" '400 FAILED_PRECONDITION'
check POST {P}/topics/keyed-mixed:publish '{"messages":[{"data":"eA=="},{"data":"eA==","orderingKey":"a"}]}'
JQ='.messageIds | length' check POST {P}/topics/keyed-mixed:publish '{"messages":[{"data":"eA==","orderingKey":""},{"data":"eA=="}]}'
JQ='.messageIds | length' check POST {P}/topics/keyed-mixed:publish '{"messages":[{"data":"eA==","orderingKey":"a"},{"data":"eA==","orderingKey":"a"}]}'
