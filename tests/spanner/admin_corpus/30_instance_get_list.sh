# GetInstance and ListInstances.
google_not_found="it answers 500 INTERNAL 'failed to marshal error message' for a resource that does not exist; Google answers NOT_FOUND"
JQ='{name, config, displayName, nodeCount, processingUnits, state}' check GET {I}
wrong "$google_not_found" '404 NOT_FOUND'
check GET {P}/instances/no-such-instance
# fieldMask (GetInstanceRequest.field_mask: "the subset of Instance fields that should be
# returned"): Google's emulator ignores it and answers every field
wrong "it ignores fieldMask and answers every field; GetInstance returns only the fields the mask names" \
    '200 ["displayName","nodeCount"]'
JQ='keys' check GET '{I}?fieldMask=displayName,node_count'

# Pages, in a project of their own: every instance once, in the same order, whatever the
# page size.
L=projects/diff-list
for id in list-a list-b list-c list-d list-e; do
    both POST $L/instances "{\"instanceId\":\"$id\",\"instance\":{\"config\":\"$L/instanceConfigs/emulator-config\",\"displayName\":\"Listed\",\"nodeCount\":1,\"labels\":{\"name\":\"$id\"}}}"
done
pages $L/instances instances 2
pages $L/instances instances 5
pages $L/instances instances 1000
check GET "$L/instances?pageToken=not-a-token"
# filter (ListInstancesRequest.filter: name, display_name, labels.key): Google's emulator
# ignores it
google_filter="it ignores filter; ListInstancesRequest.filter selects on name, display_name and labels.key"
wrong "$google_filter" '200 ["projects/diff-list/instances/list-c"]'
JQ='[.instances[].name]' check GET "$L/instances?filter=labels.name:list-c"
wrong "$google_filter" '200 ["projects/diff-list/instances/list-d"]'
JQ='[.instances[].name]' check GET "$L/instances?filter=name:list-d"
JQ='[.instances[].name]' check GET "$L/instances?filter=displayName:Listed"
# gcloud's list sends instanceDeadline; both ignore it
JQ='[.instances[].name]' check GET "$L/instances?instanceDeadline=2030-01-01T00:00:00Z"
