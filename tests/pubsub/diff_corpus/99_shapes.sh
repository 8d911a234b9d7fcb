# Whole resources as Google's emulator shows them, field by field (only fields it knows):
# what a client reading a topic, a subscription or a snapshot gets.
# (In a project of their own, so that a list holds only them.)
check PUT projects/shape-proj/topics/shape-t '{"labels":{"a":"b"}}'
STATE="it leaves out state; Google shows the output-only state ACTIVE on topics and subscriptions"
wrong "$STATE" '200 {"labels":{"a":"b"},"name":"projects/shape-proj/topics/shape-t","state":"ACTIVE"}'
JQ='.' check GET projects/shape-proj/topics/shape-t
check PUT projects/shape-proj/subscriptions/shape-s '{"topic":"projects/shape-proj/topics/shape-t","ackDeadlineSeconds":20,"retainAckedMessages":true,"messageRetentionDuration":"3600s","expirationPolicy":{"ttl":"86400s"},"enableMessageOrdering":true,"filter":"attributes:x","labels":{"c":"d"}}'
wrong "$STATE" '200 {"ackDeadlineSeconds":20,"enableMessageOrdering":true,"expirationPolicy":{"ttl":"86400s"},"filter":"attributes:x","labels":{"c":"d"},"messageRetentionDuration":"3600s","name":"projects/shape-proj/subscriptions/shape-s","pushConfig":{},"retainAckedMessages":true,"state":"ACTIVE","topic":"projects/shape-proj/topics/shape-t"}'
JQ='.' check GET projects/shape-proj/subscriptions/shape-s
wrong "$STATE" '200 {"topics":[{"labels":{"a":"b"},"name":"projects/shape-proj/topics/shape-t","state":"ACTIVE"}]}'
JQ='.' check GET 'projects/shape-proj/topics?pageSize=1'
JQ='del(.expireTime)' check PUT projects/shape-proj/snapshots/shape-snap '{"subscription":"projects/shape-proj/subscriptions/shape-s"}'
JQ='.messageIds | length' check POST projects/shape-proj/topics/shape-t:publish '{"messages":[{"data":"eA=="}]}'
JQ='.' check DELETE projects/shape-proj/snapshots/shape-snap
JQ='.' check DELETE projects/shape-proj/subscriptions/shape-s
JQ='.' check DELETE projects/shape-proj/topics/shape-t
