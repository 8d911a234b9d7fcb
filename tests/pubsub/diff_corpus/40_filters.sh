# Subscription filters (https://cloud.google.com/pubsub/docs/subscription-message-filter):
# attributes:KEY, attributes.KEY = "v", attributes.KEY != "v", hasPrefix(attributes.KEY,
# "v"), with AND, OR, NOT and unary minus, NOT binding tightest; AND and OR mixed only with
# parentheses; values are string literals (with backslash, Unicode, hexadecimal and octal
# escapes); a key other than letters, digits, - and _ is a string literal; hasPrefix is the
# only function; at most 256 bytes.
#
# Google's emulator (0.8.20) accepts any text as a filter and delivers every message: each
# refusal and each filtered delivery below is marked wrong, with what Google's API does.
ACCEPTS_ANY="it accepts any text as a filter (it parses none)"
DELIVERS_ALL="it ignores filters and delivers every message"
n=0
accepts() {
    n=$((n + 1))
    check_filter "filter-$n" "$1"
}
refuses() {
    n=$((n + 1))
    wrong "$ACCEPTS_ANY; Google refuses this one: $2" '400 INVALID_ARGUMENT'
    check_filter "filter-$n" "$1"
}

accepts ''
accepts 'attributes:kind'
accepts 'attributes:a-b_c9'
accepts 'attributes.kind = "a"'
accepts 'attributes.kind != "a"'
accepts 'hasPrefix(attributes.kind, "a")'
accepts 'NOT attributes:kind'
accepts '-attributes:kind'
accepts 'attributes:"iana.org/language_tag" AND NOT attributes.name = "com"'
accepts 'attributes:a AND attributes:b AND attributes:c'
accepts 'attributes:a OR attributes:b OR attributes:c'
accepts 'attributes:a AND (attributes:b OR attributes:c)'
accepts '(attributes:a AND attributes:b) OR attributes:c'
accepts 'attributes:"\u307F\u3093\u306A"'
accepts 'attributes.kind = "\x41\101\""'
accepts "attributes:$(printf 'k%.0s' $(seq 245))" # 256 bytes
refuses "attributes:$(printf 'k%.0s' $(seq 246))" "longer than 256 bytes"
refuses 'attributes:a AND attributes:b OR attributes:c' "AND and OR mixed without parentheses"
refuses 'attributes:a OR attributes:b AND attributes:c' "AND and OR mixed without parentheses"
refuses 'attributes:a attributes:b' "two conditions with no operator"
refuses 'attributes:a and attributes:b' "operators are uppercase"
refuses 'attributes.kind = a' "the value must be a string literal"
refuses '"a" = attributes.kind' "an equality must begin with a key"
refuses 'attributes.kind = attributes.other' "an equality compares a key and a value"
refuses 'attributes.kind = "a" OR "b"' "a value is no condition"
refuses 'attributes.kind > "a"' "only :, = and != compare"
refuses 'hasSuffix(attributes.kind, "a")' "hasPrefix is the only function"
refuses 'hasprefix(attributes.kind, "a")' "hasPrefix is the only function"
refuses 'hasPrefix(attributes.kind, a)' "the prefix must be a string literal"
refuses 'hasPrefix(attributes.kind)' "hasPrefix takes a key and a prefix"
refuses 'data = "a"' "only attributes can be filtered"
refuses 'attributes.a.b = "x"' "a key with a period must be a string literal"
refuses 'attributes:みんな' "a key with other characters than letters, digits, - and _ must be a string literal"
refuses '(attributes:a' "unbalanced parentheses"
refuses 'attributes:a)' "unbalanced parentheses"
refuses 'NOT' "NOT needs a condition"
refuses 'attributes:' "a key is needed"
refuses 'AND attributes:a' "AND needs two conditions"

# which messages each filter delivers: subscriptions first, then the messages
while read -r sub filter; do
    check_filter "$sub" "$filter"
done <<'FILTERS'
f-eq attributes.kind = "a"
f-ne attributes.kind != "a"
f-has attributes:region
f-not-has NOT attributes:region
f-minus -attributes:region
f-prefix hasPrefix(attributes.region, "eu")
f-prefix-empty hasPrefix(attributes.kind, "")
f-not-prefix NOT hasPrefix(attributes.region, "eu")
f-and attributes.kind = "a" AND attributes:region
f-or attributes.kind = "b" OR attributes.kind = "c"
f-paren attributes:kind AND (attributes.region = "us-east" OR attributes.kind = "c")
f-not-paren NOT (attributes.kind = "a" OR attributes:region)
f-not-first NOT attributes.kind = "a" AND attributes:region
f-ne-missing attributes.region != "eu-west"
f-quoted-key attributes:"iana.org/language_tag"
f-quoted-key-eq attributes."iana.org/language_tag" = "en"
f-unicode attributes.kind = "é"
f-unicode-escape attributes.kind = "\u00e9"
f-hex attributes.kind = "\x41"
f-octal attributes.kind = "\101"
f-escaped-quote attributes.kind = "quo\"te"
f-space attributes.kind = "a b"
f-space-key attributes:"x y"
f-empty-value attributes.kind = ""
f-star attributes.region = "eu*"
f-case attributes.kind = "A"
FILTERS

publish filtered '[
  {"data": "m1", "attributes": {"kind": "a", "region": "eu-west"}},
  {"data": "m2", "attributes": {"kind": "b", "region": "us-east"}},
  {"data": "m3", "attributes": {"kind": "a"}},
  {"data": "m4"},
  {"data": "m5", "attributes": {"iana.org/language_tag": "en", "kind": "c"}},
  {"data": "m6", "attributes": {"kind": "é"}},
  {"data": "m7", "attributes": {"kind": "A"}},
  {"data": "m8", "attributes": {"kind": "a b", "x y": "1"}},
  {"data": "m9", "attributes": {"kind": "quo\"te"}},
  {"data": "m10", "attributes": {"kind": ""}},
  {"data": "m11", "attributes": {"region": "eu*"}}]'

all='["m1","m10","m11","m2","m3","m4","m5","m6","m7","m8","m9"]'
delivers() {
    [[ $2 == "$all" ]] || wrong "$DELIVERS_ALL; Google delivers only these" "200 $2"
    pulled "$1"
}
delivers f-eq '["m1","m3"]'
delivers f-ne '["m10","m11","m2","m4","m5","m6","m7","m8","m9"]'
delivers f-has '["m1","m11","m2"]'
delivers f-not-has '["m10","m3","m4","m5","m6","m7","m8","m9"]'
delivers f-minus '["m10","m3","m4","m5","m6","m7","m8","m9"]'
delivers f-prefix '["m1","m11"]'
delivers f-prefix-empty '["m1","m10","m2","m3","m5","m6","m7","m8","m9"]'
delivers f-not-prefix '["m10","m2","m3","m4","m5","m6","m7","m8","m9"]'
delivers f-and '["m1"]'
delivers f-or '["m2","m5"]'
delivers f-paren '["m2","m5"]'
delivers f-not-paren '["m10","m4","m5","m6","m7","m8","m9"]'
delivers f-not-first '["m11","m2"]'
delivers f-ne-missing '["m10","m11","m2","m3","m4","m5","m6","m7","m8","m9"]'
delivers f-quoted-key '["m5"]'
delivers f-quoted-key-eq '["m5"]'
delivers f-unicode '["m6"]'
delivers f-unicode-escape '["m6"]'
delivers f-hex '["m7"]'
delivers f-octal '["m7"]'
delivers f-escaped-quote '["m9"]'
delivers f-space '["m8"]'
delivers f-space-key '["m8"]'
delivers f-empty-value '["m10"]'
delivers f-star '["m11"]'
delivers f-case '["m7"]'
# a filter cannot change (Google: the filter is immutable)
check PATCH {P}/subscriptions/f-eq '{"subscription":{"filter":"attributes:kind"},"updateMask":"filter"}'

# attributes:KEY names one key: "*" is a key like any other, and an empty value is there
check PUT {P}/topics/starred '{}'
check PUT {P}/subscriptions/star-key '{"topic":"{P}/topics/starred","filter":"attributes:\"*\""}'
check PUT {P}/subscriptions/k-key '{"topic":"{P}/topics/starred","filter":"attributes:k"}'
publish starred '[{"data": "star", "attributes": {"*": "x"}}, {"data": "empty", "attributes": {"k": ""}},
  {"data": "other", "attributes": {"kk": "v"}}]'
wrong "$DELIVERS_ALL; Google delivers only these" '200 ["star"]'
pulled star-key
wrong "$DELIVERS_ALL; Google delivers only these" '200 ["empty"]'
pulled k-key
