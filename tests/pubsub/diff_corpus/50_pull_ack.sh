# Pull, acknowledge and modifyAckDeadline: maxMessages must be positive; ack IDs must be
# ones the subscription handed out; modifyAckDeadline takes 0-600 seconds.
check PUT {P}/topics/pulled '{}'
check PUT {P}/subscriptions/puller '{"topic":"{P}/topics/pulled"}'
check POST {P}/subscriptions/puller:pull '{"maxMessages":0,"returnImmediately":true}'
wrong "it pulls with maxMessages -1; PullRequest.max_messages is required and must be positive" '400 INVALID_ARGUMENT'
check POST {P}/subscriptions/puller:pull '{"maxMessages":-1,"returnImmediately":true}'
check POST {P}/subscriptions/puller:pull '{"returnImmediately":true}'
JQ='.receivedMessages | length' check POST {P}/subscriptions/puller:pull '{"maxMessages":5,"returnImmediately":true}'
check POST {P}/subscriptions/nosuch:pull '{"maxMessages":5,"returnImmediately":true}'
publish pulled '[{"data": "p1"}, {"data": "p2", "attributes": {"k": "v"}}, {"data": "p3"}]'
JQ='[.receivedMessages[].message | {data: (.data | @base64d), attributes}] | sort_by(.data)' \
    check POST {P}/subscriptions/puller:pull '{"maxMessages":1000,"returnImmediately":true}'
check POST {P}/subscriptions/puller:acknowledge '{"ackIds":[]}'
check POST {P}/subscriptions/puller:acknowledge '{}'
check POST {P}/subscriptions/puller:acknowledge '{"ackIds":["not-an-ack-id"]}'
check POST {P}/subscriptions/puller:acknowledge '{"ackIds":[""]}'
check POST {P}/subscriptions/nosuch:acknowledge '{"ackIds":["x"]}'
check POST {P}/subscriptions/puller:modifyAckDeadline '{"ackIds":["not-an-ack-id"],"ackDeadlineSeconds":10}'
check POST {P}/subscriptions/puller:modifyAckDeadline '{"ackIds":[],"ackDeadlineSeconds":10}'
check POST {P}/subscriptions/puller:modifyAckDeadline '{"ackIds":[],"ackDeadlineSeconds":-1}'
check POST {P}/subscriptions/puller:modifyAckDeadline '{"ackIds":[],"ackDeadlineSeconds":601}'
check POST {P}/subscriptions/puller:modifyAckDeadline '{"ackIds":[]}'
# with real ack IDs: extend, nack (deadline 0: delivered again), acknowledge
check PUT {P}/topics/acked '{}'
check PUT {P}/subscriptions/acker '{"topic":"{P}/topics/acked","ackDeadlineSeconds":600}'
publish acked '[{"data": "a1"}, {"data": "a2"}, {"data": "a3"}]'
take acker
wrong "it extends by 601 s; ModifyAckDeadlineRequest.ack_deadline_seconds: 'The maximum deadline you can specify in a single request is 600 seconds'" \
    '400 INVALID_ARGUMENT'
check POST {P}/subscriptions/acker:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":601}'
check POST {P}/subscriptions/acker:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":-1}'
check POST {P}/subscriptions/acker:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":600}'
check POST {P}/subscriptions/acker:modifyAckDeadline '{"ackIds":{ACKS},"ackDeadlineSeconds":0}'
take acker
check POST {P}/subscriptions/acker:acknowledge '{"ackIds":{ACKS}}'
check POST {P}/subscriptions/acker:acknowledge '{"ackIds":{ACKS}}'
check POST {P}/subscriptions/puller:acknowledge '{"ackIds":{ACKS}}'
take acker

# exactly-once delivery: a current ack ID acknowledges, an unknown one is refused (whether
# acknowledging twice is an error is not documented: Google's emulator refuses it, ours
# takes it; not compared)
check PUT {P}/subscriptions/exactly '{"topic":"{P}/topics/acked","enableExactlyOnceDelivery":true,"ackDeadlineSeconds":600}'
publish acked '[{"data": "e1"}]'
take exactly
check POST {P}/subscriptions/exactly:acknowledge '{"ackIds":{ACKS}}'
check POST {P}/subscriptions/exactly:acknowledge '{"ackIds":["not-an-ack-id"]}'
take exactly
