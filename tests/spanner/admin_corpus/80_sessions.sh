# Sessions: create (labels, creatorRole, multiplexed), batchCreate, get, list, delete.
D={I}/databases/quoted
JQ='{labels, multiplexed}' check POST $D/sessions '{}'
JQ='{labels, multiplexed}' check POST $D/sessions '{"session":{"labels":{"env":"dev","tier":"a-1"}}}'
wrong "it drops Session.multiplexed (no multiplexed sessions in SDK 528's emulator); Spanner keeps and answers it (Session.multiplexed, an optional field of the request's session)" '200 {"labels":null,"multiplexed":true}'
JQ='{labels, multiplexed}' check POST $D/sessions '{"session":{"multiplexed":true}}'
# Session.labels: Google's label rules (keys a lowercase letter then lowercase letters,
# digits, '-' or '_', 1 to 63 characters; values up to 63 of those; at most 64)
check POST $D/sessions '{"session":{"labels":{"Env":"dev"}}}'
check POST $D/sessions '{"session":{"labels":{"1env":"dev"}}}'
check POST $D/sessions '{"session":{"labels":{"":"dev"}}}'
check POST $D/sessions '{"session":{"labels":{"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01":"x"}}}'
check POST $D/sessions '{"session":{"labels":{"env":"DEV"}}}'
differs "it accepts a session creator role the database does not have (it has no fine-grained access control); ours refuses a role no CREATE ROLE made" '404 NOT_FOUND'
check POST $D/sessions '{"session":{"creatorRole":"no_such_role"}}'
wrong "$google_not_found" '404 NOT_FOUND'
check POST {I}/databases/no_such_db/sessions '{}'

# batchCreate: sessionCount is REQUIRED ("At least one session is created"); the API may
# return fewer than asked
JQ='[.session[] | .labels] | unique' check POST $D/sessions:batchCreate '{"sessionCount":3,"sessionTemplate":{"labels":{"batch":"yes"}}}'
JQ='.session | length' check POST $D/sessions:batchCreate '{"sessionCount":1}'
JQ='.session | length > 0' check POST $D/sessions:batchCreate '{"sessionCount":1000}'
wrong "it answers an empty batch for a count of 0 (proto3's unset: session_count is REQUIRED)" '400 INVALID_ARGUMENT'
check POST $D/sessions:batchCreate '{"sessionCount":0}'
wrong "it answers an empty batch without sessionCount (REQUIRED)" '400 INVALID_ARGUMENT'
check POST $D/sessions:batchCreate '{}'
check POST $D/sessions:batchCreate '{"sessionCount":-1}'

# get, list (filter on labels), delete
session_of $D
JQ='{name: (.name | split("/") | .[:-1] | join("/"))}' check GET {S}
wrong "$google_not_found" '404 NOT_FOUND'
check GET $D/sessions/no-such-session
wrong "it ignores ListSessionsRequest.filter (labels.key)" '200 [{"batch":"yes"},{"batch":"yes"},{"batch":"yes"}]'
JQ='[.sessions[].labels]' check GET "$D/sessions?filter=labels.batch:yes"
wrong "it ignores ListSessionsRequest.filter (labels.key)" '200 [{"env":"dev","tier":"a-1"}]'
JQ='[.sessions[].labels]' check GET "$D/sessions?filter=labels.env:*"
JQ='.sessions | length > 5' check GET "$D/sessions?pageSize=1000"
check DELETE {S}
wrong "$google_not_found" '404 NOT_FOUND'
check GET {S}
wrong "it answers 200 when the session is not there; DeleteSession of a missing session is NOT_FOUND" '404 NOT_FOUND'
check DELETE {S}
