# Resource names: topic, subscription and snapshot IDs are 3-255 characters, start with a
# letter, hold letters, digits and - _ . ~ + %, and do not start with "goog" (Topic.name in
# the v1 reference). The project must be a valid project ID.
long255=a$(printf 'b%.0s' $(seq 254))
long256=a$(printf 'b%.0s' $(seq 255))

check PUT {P}/topics/base '{}'
check PUT {P}/topics/filtered '{}'
check PUT {P}/topics/abc '{}'
check PUT {P}/topics/ab '{}'
check PUT {P}/topics/1abc '{}'
check PUT {P}/topics/-abc '{}'
check PUT {P}/topics/googtopic '{}'
# the rule is the lowercase prefix: Googtopic is a valid ID
check PUT {P}/topics/Googtopic '{}'
check PUT {P}/topics/agoog '{}'
check PUT {P}/topics/A.b-c_d~e+f%25g '{}'
check PUT {P}/topics/a%20bc '{}'
check PUT {P}/topics/ab%C3%A9 '{}'
check PUT {P}/topics/ab%24c '{}'
check PUT {P}/topics/ab%2Ac '{}'
check PUT {P}/topics/$long255 '{}'
JQ=.name check PUT {P}/topics/plus+sign '{}'
JQ=.name check PUT {P}/topics/pct%2Bsign '{}'
# (a malformed escape such as %zz is not compared: Google's emulator drops the connection,
# ours takes it literally; see README, Limitations)
check PUT {P}/topics/$long256 '{}'
check PUT {P}/topics/abc '{}'
JQ=.name check GET {P}/topics/A.b-c_d~e+f%25g
JQ=.name check GET {P}/topics/abc
check GET {P}/topics/nosuch
check GET {P}/topics/ab
check DELETE {P}/topics/nosuch

check PUT {P}/subscriptions/sub '{"topic":"{P}/topics/base"}'
check PUT {P}/subscriptions/sub '{"topic":"{P}/topics/base"}'
check PUT {P}/subscriptions/su '{"topic":"{P}/topics/base"}'
check PUT {P}/subscriptions/9sub '{"topic":"{P}/topics/base"}'
check PUT {P}/subscriptions/goog-sub '{"topic":"{P}/topics/base"}'
check PUT {P}/subscriptions/s~b+c%25d '{"topic":"{P}/topics/base"}'
check PUT {P}/subscriptions/$long255 '{"topic":"{P}/topics/base"}'
check PUT {P}/subscriptions/$long256 '{"topic":"{P}/topics/base"}'
check PUT {P}/subscriptions/no-topic '{}'
check PUT {P}/subscriptions/bad-topic '{"topic":"base"}'
check PUT {P}/subscriptions/gone-topic '{"topic":"{P}/topics/nosuch"}'
check PUT {P}/subscriptions/bad-topic2 '{"topic":"{P}/topics/ab"}'
check GET {P}/subscriptions/nosuch
check GET {P}/subscriptions/ab

check PUT {P}/snapshots/snap '{"subscription":"{P}/subscriptions/sub"}'
check PUT {P}/snapshots/snap '{"subscription":"{P}/subscriptions/sub"}'
check PUT {P}/snapshots/sn '{"subscription":"{P}/subscriptions/sub"}'
check PUT {P}/snapshots/goog-snap '{"subscription":"{P}/subscriptions/sub"}'
check PUT {P}/snapshots/nosub '{"subscription":"{P}/subscriptions/nosuch"}'
wrong "it looks up a subscription named '' (NOT_FOUND); CreateSnapshotRequest.subscription is REQUIRED, a missing one is INVALID_ARGUMENT" \
    '400 INVALID_ARGUMENT'
check PUT {P}/snapshots/nofield '{}'
check GET {P}/snapshots/nosuch
JQ='.topic' check GET {P}/snapshots/snap
