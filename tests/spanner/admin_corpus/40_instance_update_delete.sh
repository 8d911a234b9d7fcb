# UpdateInstance (PATCH {"instance", "fieldMask"}) and DeleteInstance. Google's emulator does
# not update instances at all (UNIMPLEMENTED); the expected answers are Google's documented
# ones (UpdateInstanceRequest: field_mask REQUIRED, names the fields to change).
no_update="it does not implement UpdateInstance (UNIMPLEMENTED)"
shown='{name, displayName, nodeCount, processingUnits}'
updated() { # updated 'PROJECTION': the result of an update of upd that Google's API answers
    printf '200 %s/instances/upd/operations/* %s -> %s' "$PROJECT" \
        type.googleapis.com/google.spanner.admin.instance.v1.UpdateInstanceMetadata "$1"
}
both_op POST {P}/instances '{"instanceId":"upd","instance":{"config":"{C}","displayName":"Update me","nodeCount":1}}'
wrong "$no_update" "$(updated '{"displayName":"Renamed","name":"projects/diff-project/instances/upd","nodeCount":1,"processingUnits":1000}')"
JQ=$shown check_op PATCH {P}/instances/upd '{"instance":{"displayName":"Renamed"},"fieldMask":"displayName"}'
wrong "$no_update" "$(updated '{"displayName":"Renamed","name":"projects/diff-project/instances/upd","nodeCount":3,"processingUnits":3000}')"
JQ=$shown check_op PATCH {P}/instances/upd '{"instance":{"nodeCount":3},"fieldMask":"nodeCount"}'
wrong "$no_update" "$(updated '{"displayName":"Renamed","name":"projects/diff-project/instances/upd","nodeCount":null,"processingUnits":500}')"
JQ=$shown check_op PATCH {P}/instances/upd '{"instance":{"processingUnits":500},"fieldMask":"processingUnits"}'
wrong "$no_update" "$(updated '{"env":"prod"}')"
JQ=.labels check_op PATCH {P}/instances/upd '{"instance":{"labels":{"env":"prod"}},"fieldMask":"labels"}'
wrong "$no_update; the mask is REQUIRED" '400 INVALID_ARGUMENT'
check PATCH {P}/instances/upd '{"instance":{"displayName":"No mask"}}'
wrong "$no_update; the new display name is checked as at creation" '400 INVALID_ARGUMENT'
check PATCH {P}/instances/upd '{"instance":{"displayName":"abc"},"fieldMask":"displayName"}'
wrong "$no_update; processing units are checked as at creation" '400 INVALID_ARGUMENT'
check PATCH {P}/instances/upd '{"instance":{"processingUnits":150},"fieldMask":"processingUnits"}'
wrong "$no_update; a mask naming no field of Instance is refused" '400 INVALID_ARGUMENT'
check PATCH {P}/instances/upd '{"instance":{"displayName":"Bogus"},"fieldMask":"bogus"}'
wrong "$no_update; the instance must exist" '404 NOT_FOUND'
check PATCH {P}/instances/no-such-instance '{"instance":{"displayName":"Nowhere"},"fieldMask":"displayName"}'
JQ='{name, displayName}' check GET {P}/instances/name4

# Delete: an instance with databases goes with them.
both_op POST {P}/instances '{"instanceId":"gone","instance":{"config":"{C}","displayName":"To delete","nodeCount":1}}'
both_op POST {P}/instances/gone/databases '{"createStatement":"CREATE DATABASE `inside`"}'
check DELETE {P}/instances/gone
wrong "$google_not_found" '404 NOT_FOUND'
check GET {P}/instances/gone
wrong "$google_not_found" '404 NOT_FOUND'
check GET {P}/instances/gone/databases/inside
wrong "$google_not_found" '404 NOT_FOUND'
check DELETE {P}/instances/gone
