# Ack deadlines: a lease cut to 1 s expires and the message is delivered again (counted in
# deliveryAttempt where a dead-letter policy asks for it); an expired or stale ack ID is
# taken silently by acknowledge and modifyAckDeadline (at-least-once: "may succeed";
# refused with exactly-once delivery, the message delivered again), an
# ack ID that is not one is refused even beside good ones; a nack (deadline 0) redelivers
# at once, unless a retry policy asks for a backoff.
ATTEMPTS='[.receivedMessages[]? | [(.message.data | @base64d), .deliveryAttempt]] | sort'
check PUT {P}/topics/leased '{}'
check PUT {P}/subscriptions/leased-plain '{"topic":"{P}/topics/leased","ackDeadlineSeconds":600}'
check PUT {P}/subscriptions/leased-once '{"topic":"{P}/topics/leased","ackDeadlineSeconds":600,"enableExactlyOnceDelivery":true}'
check PUT {P}/subscriptions/leased-dl '{"topic":"{P}/topics/leased","ackDeadlineSeconds":600,"deadLetterPolicy":{"deadLetterTopic":"{P}/topics/abc","maxDeliveryAttempts":10}}'
publish leased '[{"data": "l1"}, {"data": "l2"}]'
take leased-once
once_ours=$acks_ours once_google=$acks_google
check POST {P}/subscriptions/leased-once:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":1}'
JQ="$ATTEMPTS" take leased-dl
check POST {P}/subscriptions/leased-dl:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":1}'
take leased-plain
plain_ours=$acks_ours plain_google=$acks_google
check POST {P}/subscriptions/leased-plain:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":1}'
sleep 1.1
# the dead-letter subscription: both back, the second attempt
JQ="$ATTEMPTS" check POST {P}/subscriptions/leased-dl:pull '{"maxMessages":10,"returnImmediately":true}'
# the plain one: extending and acknowledging with the expired ack IDs
acks_ours=$plain_ours acks_google=$plain_google
check POST {P}/subscriptions/leased-plain:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":60}'
check POST {P}/subscriptions/leased-plain:acknowledge '{"ackIds":{ACKS}}'
# stale ack IDs (acknowledged already): silent
check POST {P}/subscriptions/leased-plain:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":0}'
check POST {P}/subscriptions/leased-plain:acknowledge '{"ackIds":{ACKS}}'
take leased-plain
# exactly-once: an expired ack ID neither extends nor acknowledges, and the message is
# delivered again
acks_ours=$once_ours acks_google=$once_google
EXPIRED="it extends and acknowledges with an expired ack ID on an exactly-once subscription; Google: 'A message is considered outstanding until the acknowledgment deadline expires', after which the ack fails (https://cloud.google.com/pubsub/docs/exactly-once-delivery)"
wrong "$EXPIRED" '400 INVALID_ARGUMENT'
check POST {P}/subscriptions/leased-once:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":60}'
wrong "$EXPIRED" '400 INVALID_ARGUMENT'
check POST {P}/subscriptions/leased-once:acknowledge '{"ackIds":{ACKS}}'
wrong "$EXPIRED" '200 ["l1","l2"]'
take leased-once
# a garbage ack ID beside a good one: refused
publish leased '[{"data": "l3"}]'
take leased-plain
check POST {P}/subscriptions/leased-plain:modifyAckDeadline "{\"ackIds\":$(jq -c '. + ["garbage"]' <<<"$acks_ours"),\"ackDeadlineSeconds\":0}"
# a nack, then acknowledging the nacked ack ID before the redelivery: taken. Whether the
# message comes back is left open (Acknowledge: an expired ack ID's acknowledgement "may
# succeed, but such a message may be redelivered later"): Google's emulator delivers it
# again, ours counts it acknowledged; not compared
check POST {P}/subscriptions/leased-plain:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":0}'
check POST {P}/subscriptions/leased-plain:acknowledge '{"ackIds":{ACKS}}'

# deliveryAttempt only with a dead-letter policy: not with a retry policy alone
check PUT {P}/subscriptions/leased-retry '{"topic":"{P}/topics/leased","ackDeadlineSeconds":600,"retryPolicy":{"minimumBackoff":"600s","maximumBackoff":"600s"}}'
check PUT {P}/subscriptions/leased-again '{"topic":"{P}/topics/leased","ackDeadlineSeconds":600}'
publish leased '[{"data": "r1"}]'
wrong "it shows deliveryAttempt 1 on a subscription without a dead-letter policy; ReceivedMessage.delivery_attempt: 'If a DeadLetterPolicy is not set on the subscription, this will be 0' (left out in JSON)" \
    '200 [["r1",null]]'
JQ="$ATTEMPTS" take leased-retry
check POST {P}/subscriptions/leased-retry:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":0}'
wrong "it ignores the retry policy and redelivers a nacked message at once; RetryPolicy 'will be triggered on NACKs', minimum_backoff is 'the minimum delay between consecutive deliveries' (best effort, but 600 s is not none)" \
    '200 []'
take leased-retry
# without a retry policy a nack redelivers as soon as possible
take leased-again
check POST {P}/subscriptions/leased-again:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":0}'
JQ="$ATTEMPTS" take leased-again
