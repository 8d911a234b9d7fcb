# Lists: pageSize and pageToken; names in order.
for t in list-a list-b list-c list-d list-e; do check PUT "projects/list-proj/topics/$t" '{}'; done
JQ='[.topics[].name]' check GET projects/list-proj/topics
JQ='[.topics[].name]' check GET 'projects/list-proj/topics?pageSize=2'
page_token() { # the next page's token each server gives
    both GET 'projects/list-proj/topics?pageSize=2'
    token_ours=$(jq -r '.nextPageToken // ""' "$tmp/body.ours")
    token_google=$(jq -r '.nextPageToken // ""' "$tmp/body.google")
}
page_token
second_page() {
    local ours google code
    code=$(send ours GET "projects/list-proj/topics?pageSize=2&pageToken=$token_ours")
    ours="$code $(jq -c '[.topics[]?.name]' "$tmp/body.ours")"
    code=$(send google GET "projects/list-proj/topics?pageSize=2&pageToken=$token_google")
    google="$code $(jq -c '[.topics[]?.name]' "$tmp/body.google")"
    compare "the second page of topics" "$ours" "$google"
}
second_page
wrong "it ignores a page token it never gave; Google refuses it (INVALID_ARGUMENT)" \
    '400 INVALID_ARGUMENT'
check GET 'projects/list-proj/topics?pageToken=garbage'
JQ='[.topics[]?.name]' check GET 'projects/list-proj/topics?pageSize=0'
wrong "it takes a negative page size; a negative page_size is INVALID_ARGUMENT (AIP-158)" \
    '400 INVALID_ARGUMENT'
check GET 'projects/list-proj/topics?pageSize=-1'
JQ='.' check GET projects/empty-proj/topics
JQ='.' check GET projects/empty-proj/subscriptions
JQ='.' check GET projects/empty-proj/snapshots
check PUT projects/list-proj/subscriptions/list-sub-a '{"topic":"projects/list-proj/topics/list-a"}'
check PUT projects/list-proj/subscriptions/list-sub-b '{"topic":"projects/list-proj/topics/list-a"}'
JQ='.subscriptions' check GET projects/list-proj/topics/list-a/subscriptions
JQ='.subscriptions' check GET 'projects/list-proj/topics/list-a/subscriptions?pageSize=1'
wrong "it lists no subscriptions of a topic that does not exist; Google answers NOT_FOUND" \
    '404 NOT_FOUND'
check GET projects/list-proj/topics/nosuch/subscriptions
JQ='[.subscriptions[].name]' check GET projects/list-proj/subscriptions
JQ='.' check GET projects/list-proj/topics/list-a/snapshots
