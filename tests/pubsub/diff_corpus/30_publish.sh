# Publish validation: a message needs data or attributes; at most 100 attributes, keys of at
# most 256 bytes not starting with "goog", values of at most 1024 bytes; ordering keys of at
# most 1024 bytes; data in base64; at most 1000 messages and 10 MB in a request.
k256=$(printf 'k%.0s' $(seq 256))
v1024=$(printf 'v%.0s' $(seq 1024))
attrs100=$(jq -nc '[range(100) | {key: "a\(.)", value: "x"}] | from_entries')
attrs101=$(jq -nc '[range(101) | {key: "a\(.)", value: "x"}] | from_entries')
m1000=$(jq -nc '{messages: [range(1000) | {data: "eA=="}]}')
m1001=$(jq -nc '{messages: [range(1001) | {data: "eA=="}]}')

JQ='.messageIds | length' check POST {P}/topics/abc:publish '{"messages":[{"data":"eA=="}]}'
JQ='.messageIds | length' check POST {P}/topics/abc:publish '{"messages":[{"attributes":{"k":"v"}}]}'
JQ='.messageIds | length' check POST {P}/topics/abc:publish '{"messages":[{"data":"eA==","orderingKey":"key-1"}]}'
check POST {P}/topics/abc:publish '{"messages":[{}]}'
check POST {P}/topics/abc:publish '{"messages":[{"data":""}]}'
check POST {P}/topics/abc:publish '{"messages":[{"data":"eA=="},{}]}'
check POST {P}/topics/abc:publish '{"messages":[]}'
check POST {P}/topics/abc:publish '{}'
check POST {P}/topics/abc:publish '{"messages":[{"data":"not base64!"}]}'
check POST {P}/topics/nosuch:publish '{"messages":[{"data":"eA=="}]}'
check POST {P}/topics/ab:publish '{"messages":[{"data":"eA=="}]}'
JQ='.messageIds | length' check POST {P}/topics/abc:publish "{\"messages\":[{\"attributes\":{\"$k256\":\"v\"}}]}"
wrong "it takes a 257-byte attribute key; Google's limit is 256 bytes (https://cloud.google.com/pubsub/quotas#resource_limits)" \
    '400 INVALID_ARGUMENT'
check POST {P}/topics/abc:publish "{\"messages\":[{\"attributes\":{\"${k256}k\":\"v\"}}]}"
JQ='.messageIds | length' check POST {P}/topics/abc:publish "{\"messages\":[{\"attributes\":{\"k\":\"$v1024\"}}]}"
wrong "it takes a 1025-byte attribute value; Google's limit is 1024 bytes (https://cloud.google.com/pubsub/quotas#resource_limits)" \
    '400 INVALID_ARGUMENT'
check POST {P}/topics/abc:publish "{\"messages\":[{\"attributes\":{\"k\":\"${v1024}v\"}}]}"
JQ='.messageIds | length' check POST {P}/topics/abc:publish "{\"messages\":[{\"attributes\":$attrs100}]}"
wrong "it takes 101 attributes; Google's limit is 100 per message (https://cloud.google.com/pubsub/quotas#resource_limits)" \
    '400 INVALID_ARGUMENT'
check POST {P}/topics/abc:publish "{\"messages\":[{\"attributes\":$attrs101}]}"
wrong "it takes an attribute key starting with goog, which Google reserves and refuses" \
    '400 INVALID_ARGUMENT'
check POST {P}/topics/abc:publish '{"messages":[{"attributes":{"googkey":"v"}}]}'
wrong "it takes an empty attribute key; Google refuses it (our reading: a key names an attribute, and filters could not name it)" \
    '400 INVALID_ARGUMENT'
check POST {P}/topics/abc:publish '{"messages":[{"attributes":{"":"v"}}]}'
JQ='.messageIds | length' check POST {P}/topics/abc:publish '{"messages":[{"attributes":{"k":""}}]}'
JQ='.messageIds | length' check POST {P}/topics/abc:publish "{\"messages\":[{\"data\":\"eA==\",\"orderingKey\":\"$v1024\"}]}"
wrong "it takes a 1025-byte ordering key; Google's limit is 1 KB (https://cloud.google.com/pubsub/quotas#resource_limits)" \
    '400 INVALID_ARGUMENT'
check POST {P}/topics/abc:publish "{\"messages\":[{\"data\":\"eA==\",\"orderingKey\":\"${v1024}v\"}]}"
JQ='.messageIds | length' check POST {P}/topics/abc:publish "$m1000"
check POST {P}/topics/abc:publish "$m1001"
big=$(head -c 7900000 /dev/zero | base64 -w0) # 10.5 MB of base64
wrong "it publishes a 10.5 MB request; Google refuses requests over 10 MB (INVALID_ARGUMENT, 'Request payload size exceeds the limit'); ours answers from the core's body limit, HTTP 413 (see README, Limitations)" \
    '413 INVALID_ARGUMENT'
check POST {P}/topics/abc:publish "{\"messages\":[{\"data\":\"$big\"}]}"
unset big
