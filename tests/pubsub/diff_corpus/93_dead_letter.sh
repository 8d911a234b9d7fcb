# Dead-letter policies: deliveryAttempt counts 1 + the nacks; after maxDeliveryAttempts
# the message is no longer delivered but forwarded to the dead-letter topic, its data and
# attributes kept and the CloudPubSubDeadLetterSource* attributes added.
ATTEMPTS='[.receivedMessages[]? | [(.message.data | @base64d), .deliveryAttempt]]'
check PUT {P}/topics/dead-end '{}'
check PUT {P}/subscriptions/dead-end-sub '{"topic":"{P}/topics/dead-end"}'
check PUT {P}/topics/poisoned '{}'
check PUT {P}/subscriptions/poisoned-sub '{"topic":"{P}/topics/poisoned","ackDeadlineSeconds":600,"deadLetterPolicy":{"deadLetterTopic":"{P}/topics/dead-end","maxDeliveryAttempts":5}}'
publish poisoned '[{"data": "d1", "attributes": {"kind": "bad"}}]'
for _ in 1 2 3 4 5; do
    JQ="$ATTEMPTS" take poisoned-sub
    check POST {P}/subscriptions/poisoned-sub:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":0}'
done
take poisoned-sub
JQ='[.receivedMessages[]?.message | {data: (.data | @base64d), orderingKey, attributes: (.attributes | del(.CloudPubSubDeadLetterSourceTopicPublishTime)), sourceTime: (.attributes.CloudPubSubDeadLetterSourceTopicPublishTime | type)}]' \
    check POST {P}/subscriptions/dead-end-sub:pull '{"maxMessages":10,"returnImmediately":true}'

# A dead-letter topic deleted after the subscription was made is not compared: Google's
# documentation says only that dead lettering is best effort; Google's emulator then hands
# the message to the subscription again (dead-letter attributes added, a sixth attempt),
# ours keeps it back until the topic exists again.
