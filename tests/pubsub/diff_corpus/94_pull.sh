# Pull: maxMessages as an int32 (the largest taken, beyond refused, exponent and string
# forms read), a waiting pull (returnImmediately false) woken by a publish and one with
# nothing to deliver (both bounded here: requests time out after 4 s), and what a message
# carries back: every byte value of data, unicode attribute keys and values, a messageId
# and an RFC 3339 publishTime.
check PUT {P}/topics/payloads '{}'
check PUT {P}/subscriptions/payloads-sub '{"topic":"{P}/topics/payloads","ackDeadlineSeconds":600}'
check PUT {P}/subscriptions/payloads-idle '{"topic":"{P}/topics/payloads","ackDeadlineSeconds":600}'
check POST {P}/subscriptions/payloads-sub:pull '{"maxMessages":2147483647,"returnImmediately":true}'
check POST {P}/subscriptions/payloads-sub:pull '{"maxMessages":2147483648,"returnImmediately":true}'
check POST {P}/subscriptions/payloads-sub:pull '{"maxMessages":1e3,"returnImmediately":true}'
check POST {P}/subscriptions/payloads-sub:pull '{"maxMessages":"7","returnImmediately":true}'
check POST {P}/subscriptions/payloads-sub:pull '{"maxMessages":1.5,"returnImmediately":true}'

# a waiting pull gets what is published meanwhile (payloads-idle is never pulled: a pull
# Google's emulator still holds after the timeout would take its next message)
later 0.5 POST {P}/topics/payloads:publish '{"messages":[{"data":"d2FpdGVk"}]}'
TIMEOUT=4 JQ='[.receivedMessages[]?.message.data | @base64d]' \
    check POST {P}/subscriptions/payloads-sub:pull '{"maxMessages":10,"returnImmediately":false}'
wait "$later_pid"
pulled payloads-idle
wrong "it holds a waiting pull open while nothing comes (no answer in 4 s); PullRequest.return_immediately false: the system 'may wait (for a bounded amount of time)', and PullResponse is empty 'if no messages could be returned before the request timeout' (ours answers after 3 s)" \
    '200 OK'
TIMEOUT=4 check POST {P}/subscriptions/payloads-idle:pull '{"maxMessages":10}'

# every byte value, unicode attributes (U+0000 in an attribute is not compared: ours
# refuses it, see README, Limitations), and the message's own fields
all=$(for i in {0..255}; do printf "\\$(printf '%03o' "$i")"; done | base64 -w0)
JQ='.messageIds | length' check POST {P}/topics/payloads:publish \
    "{\"messages\":[{\"data\":\"$all\",\"attributes\":{\"clé\":\"värde ✓ 😀\",\"日本\":\"語\",\"nl\":\"a\\nb\",\"q\":\"\\\"\\\\\"}}]}"
JQ='[.receivedMessages[]?.message | {data, attributes, id: (.messageId | type), time: (.publishTime | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$"))}]' \
    check POST {P}/subscriptions/payloads-sub:pull '{"maxMessages":10,"returnImmediately":true}'
unset all
