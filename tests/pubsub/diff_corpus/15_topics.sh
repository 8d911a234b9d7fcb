# Topic fields: messageRetentionDuration (10 minutes to 31 days), labels, the message
# storage policy; a topic's subscriptions get its retention as topicMessageRetentionDuration.
JQ=.messageRetentionDuration check PUT {P}/topics/kept-600 '{"messageRetentionDuration":"600s"}'
check PUT {P}/topics/kept-599 '{"messageRetentionDuration":"599s"}'
check PUT {P}/topics/kept-31d1 '{"messageRetentionDuration":"2678401s"}'
check PUT {P}/topics/kept-neg '{"messageRetentionDuration":"-600s"}'
check PUT {P}/topics/kept-zero '{"messageRetentionDuration":"0s"}'
check PUT {P}/topics/kept-bad '{"messageRetentionDuration":"600"}'
JQ=.messageRetentionDuration check PUT {P}/topics/kept-31d '{"messageRetentionDuration":"2678400s"}'
JQ=.labels check PUT {P}/topics/labelled-topic '{"labels":{"env":"dev","team":""}}'
wrong "it accepts a label key starting with a digit; Google's label keys start with a lowercase letter (https://cloud.google.com/pubsub/docs/labels)" \
    '400 INVALID_ARGUMENT'
check PUT {P}/topics/label-digit '{"labels":{"1env":"dev"}}'
check PUT {P}/topics/topic-unknown-field '{"noSuchField":true}'
JQ='.messageStoragePolicy.allowedPersistenceRegions' check PUT {P}/topics/stored '{"messageStoragePolicy":{"allowedPersistenceRegions":["us-east1"]}}'
wrong "it accepts an empty list of regions; Google refuses a policy that allows no region" \
    '400 INVALID_ARGUMENT'
check PUT {P}/topics/stored-none '{"messageStoragePolicy":{"allowedPersistenceRegions":[]}}'
wrong "it leaves out topicMessageRetentionDuration; Google shows the topic's retention on its subscriptions (Subscription.topic_message_retention_duration, output only)" \
    '200 "600s"'
JQ=.topicMessageRetentionDuration check PUT {P}/subscriptions/of-kept '{"topic":"{P}/topics/kept-600"}'
