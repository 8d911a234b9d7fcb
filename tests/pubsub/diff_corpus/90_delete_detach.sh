# Deleting a topic leaves its subscriptions, their topic shown as _deleted-topic_; a
# detached subscription keeps its topic but pulls FAILED_PRECONDITION.
check PUT {P}/topics/doomed '{}'
check PUT {P}/subscriptions/orphan '{"topic":"{P}/topics/doomed"}'
check PUT {P}/subscriptions/detachee '{"topic":"{P}/topics/doomed"}'
publish doomed '[{"data": "d1"}]'
JQ='.subscriptions' check GET {P}/topics/doomed/subscriptions
DETACH="it does not implement DetachSubscription"
wrong "$DETACH" '200 {}'
JQ='.' check POST {P}/subscriptions/detachee:detach
wrong "$DETACH; Google shows the subscription detached, its topic kept" '200 {"detached":true,"topic":"projects/diff-proj/topics/doomed"}'
JQ='{topic, detached}' check GET {P}/subscriptions/detachee
wrong "$DETACH; the reference: Pull requests on a detached subscription return FAILED_PRECONDITION" '400 FAILED_PRECONDITION'
check POST {P}/subscriptions/detachee:pull '{"maxMessages":5,"returnImmediately":true}'
wrong "$DETACH; Google answers NOT_FOUND for a subscription that does not exist" '404 NOT_FOUND'
check POST {P}/subscriptions/nosuch:detach
check DELETE {P}/topics/doomed
JQ='.topic' check GET {P}/subscriptions/orphan
pulled orphan
check POST {P}/topics/doomed:publish '{"messages":[{"data":"eA=="}]}'
wrong "it lists no subscriptions of a topic that does not exist; Google answers NOT_FOUND" '404 NOT_FOUND'
check GET {P}/topics/doomed/subscriptions
check PUT {P}/subscriptions/late '{"topic":"{P}/topics/doomed"}'
check PUT {P}/topics/doomed '{}'
JQ='.subscriptions' check GET {P}/topics/doomed/subscriptions
JQ='.topic' check GET {P}/subscriptions/orphan
check DELETE {P}/subscriptions/orphan
check DELETE {P}/subscriptions/orphan
check GET {P}/subscriptions/orphan
