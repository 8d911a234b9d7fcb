# CreateInstance: IDs, display names, compute capacity, configs. {"instanceId", "instance"}.
inst() { # inst ID 'INSTANCE FIELDS': the create request's body
    printf '{"instanceId":"%s","instance":{"config":"{C}",%s}}' "$1" "$2"
}
shown='{name, config, displayName, nodeCount, processingUnits, state}'

# Instance IDs: 2 to 64 characters, [a-z][-a-z0-9]*[a-z0-9]
JQ=$shown check_op POST {P}/instances "$(inst ab '"displayName":"Two chars","nodeCount":1')"
JQ=$shown check_op POST {P}/instances "$(inst a234567890123456789012345678901234567890123456789012345678901234 '"displayName":"Sixty-four","nodeCount":1')"
check POST {P}/instances "$(inst a2345678901234567890123456789012345678901234567890123456789012345 '"displayName":"Sixty-five","nodeCount":1')"
check POST {P}/instances "$(inst a '"displayName":"One char","nodeCount":1')"
check POST {P}/instances "$(inst 1abc '"displayName":"Leading digit","nodeCount":1')"
check POST {P}/instances "$(inst -abc '"displayName":"Leading dash","nodeCount":1')"
check POST {P}/instances "$(inst abc- '"displayName":"Trailing dash","nodeCount":1')"
check POST {P}/instances "$(inst Upper '"displayName":"Uppercase","nodeCount":1')"
check POST {P}/instances "$(inst with_underscore '"displayName":"Underscore","nodeCount":1')"
check POST {P}/instances '{"instance":{"config":"{C}","displayName":"No ID","nodeCount":1}}'
check POST {P}/instances "$(inst ab '"displayName":"Two chars","nodeCount":1')"

# displayName: required, 4 to 30 characters (Instance.display_name, REQUIRED, "between 4 and
# 30 characters in length")
google_names="it accepts any displayName; Instance.display_name is REQUIRED and 'must be between 4 and 30 characters in length' (spanner_instance_admin.proto)"
JQ=$shown check_op POST {P}/instances "$(inst name4 '"displayName":"abcd","nodeCount":1')"
JQ=$shown check_op POST {P}/instances "$(inst name30 '"displayName":"abcdefghijklmnopqrstuvwxyz1234","nodeCount":1')"
wrong "$google_names" '400 INVALID_ARGUMENT'
check POST {P}/instances "$(inst name3 '"displayName":"abc","nodeCount":1')"
wrong "$google_names" '400 INVALID_ARGUMENT'
check POST {P}/instances "$(inst name31 '"displayName":"abcdefghijklmnopqrstuvwxyz12345","nodeCount":1')"
wrong "$google_names" '400 INVALID_ARGUMENT'
check POST {P}/instances "$(inst noname '"nodeCount":1')"

# Compute capacity: "At most, one of either node_count or processing_units should be
# present"; processing units are multiples of 100 below 1000 and of 1000 from there. A
# zero is proto3's default, the same as leaving the field out.
JQ=$shown check_op POST {P}/instances "$(inst pu100 '"displayName":"Hundred units","processingUnits":100')"
JQ=$shown check_op POST {P}/instances "$(inst pu2000 '"displayName":"Two nodes","processingUnits":2000')"
JQ=$shown check_op POST {P}/instances "$(inst nodes3 '"displayName":"Three nodes","nodeCount":3')"
check POST {P}/instances "$(inst pu150 '"displayName":"Odd units","processingUnits":150')"
check POST {P}/instances "$(inst pu1500 '"displayName":"Odd units","processingUnits":1500')"
check POST {P}/instances "$(inst both '"displayName":"Both","nodeCount":1,"processingUnits":1000')"
check POST {P}/instances "$(inst both2 '"displayName":"Both","nodeCount":1,"processingUnits":2000')"
google_negative="it accepts a negative capacity (and shows none); Google refuses it: 'Processing units (or node count) must be specified in increments of 100 ... OR increments of 1000'"
wrong "$google_negative" '400 INVALID_ARGUMENT'
check POST {P}/instances "$(inst neg-nodes '"displayName":"Negative","nodeCount":-1')"
wrong "$google_negative" '400 INVALID_ARGUMENT'
check POST {P}/instances "$(inst neg-units '"displayName":"Negative","processingUnits":-100')"
# Neither (or zeros): both create it; Google's emulator gives it no capacity, ours one node
# (Google documents no default), so capacity is left out of the comparison.
JQ='{name, displayName, state}' check_op POST {P}/instances "$(inst neither '"displayName":"Neither"')"
JQ='{name, displayName, state}' check_op POST {P}/instances "$(inst zero-nodes '"displayName":"Zero nodes","nodeCount":0')"
JQ='{name, displayName, state}' check_op POST {P}/instances "$(inst zero-units '"displayName":"Zero units","processingUnits":0,"nodeCount":2')"

# Configs: required, and one of the project's
wrong "it creates an instance without a config; Instance.config is REQUIRED" '400 INVALID_ARGUMENT'
check POST {P}/instances '{"instanceId":"noconfig","instance":{"displayName":"No config","nodeCount":1}}'
wrong "it creates an instance in a config that does not exist; ours answers NOT_FOUND, as GetInstanceConfig does for that name" '404 NOT_FOUND'
check POST {P}/instances '{"instanceId":"badconfig","instance":{"config":"{P}/instanceConfigs/no-such","displayName":"Bad config","nodeCount":1}}'
check POST {P}/instances "$(inst labelled '"displayName":"Labelled","nodeCount":1,"labels":{"env":"dev","team":""}')"
JQ='.labels' check GET {P}/instances/labelled
