# Long-running operations under instances and databases: get, list.
opjq='[.operations[] | {type: .metadata["@type"], done, response: .response["@type"]}] | sort_by(.type)'
wrong "it does not implement UpdateInstance, so it has no UpdateInstanceMetadata operations (40_instance_update_delete.sh made four)" \
    '200 [{"done":true,"response":"type.googleapis.com/google.spanner.admin.instance.v1.Instance","type":"type.googleapis.com/google.spanner.admin.instance.v1.CreateInstanceMetadata"},{"done":true,"response":"type.googleapis.com/google.spanner.admin.instance.v1.Instance","type":"type.googleapis.com/google.spanner.admin.instance.v1.UpdateInstanceMetadata"},{"done":true,"response":"type.googleapis.com/google.spanner.admin.instance.v1.Instance","type":"type.googleapis.com/google.spanner.admin.instance.v1.UpdateInstanceMetadata"},{"done":true,"response":"type.googleapis.com/google.spanner.admin.instance.v1.Instance","type":"type.googleapis.com/google.spanner.admin.instance.v1.UpdateInstanceMetadata"},{"done":true,"response":"type.googleapis.com/google.spanner.admin.instance.v1.Instance","type":"type.googleapis.com/google.spanner.admin.instance.v1.UpdateInstanceMetadata"}]'
JQ=$opjq check GET {P}/instances/upd/operations
JQ=$opjq check GET {I}/databases/quoted/operations
JQ='[.operations[] | .metadata.statements] | sort' check GET {I}/databases/ddl/operations
check GET {I}/operations/no_such_op
check GET {I}/databases/quoted/operations/no_such_op
# the creation's operation, found again by the name the create answered
both POST {I}/databases '{"createStatement":"CREATE DATABASE `op_again`"}'
op_ours=$(jq -r .name "$tmp/body.ours") op_google=$(jq -r .name "$tmp/body.google")
sleep 0.5
send ours GET "$op_ours"
send google GET "$op_google"
compare "GET the create's operation" \
    "$(jq -c '{done, type: .metadata["@type"], response: .response.name}' "$tmp/body.ours")" \
    "$(jq -c '{done, type: .metadata["@type"], response: .response.name}' "$tmp/body.google")"
# ListDatabaseOperations (instance-wide): Google's emulator does not implement it
wrong "it does not implement ListDatabaseOperations (UNIMPLEMENTED)" \
    '200 ["type.googleapis.com/google.spanner.admin.database.v1.CreateDatabaseMetadata"]'
JQ='[.operations[] | .metadata["@type"]] | unique' check GET '{I}/databaseOperations?filter=metadata.@type:type.googleapis.com/google.spanner.admin.database.v1.CreateDatabaseMetadata'
