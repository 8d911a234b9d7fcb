# Topic schemaSettings: schema is required (settings naming none are refused, not taken
# as none), the encoding must be JSON or BINARY, the schema and its revisions must exist;
# settings absent or null are none.
AVRO='{"type":"AVRO","definition":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"id\",\"type\":\"long\"}]}"}'
check POST '{P}/schemas?schemaId=settings-avro' "$AVRO"
SCHEMA='"schema":"{P}/schemas/settings-avro"'
JQ=.schemaSettings check PUT {P}/topics/with-schema "{\"schemaSettings\":{$SCHEMA,\"encoding\":\"JSON\"}}"
check PUT {P}/topics/schema-no-name '{"schemaSettings":{"encoding":"JSON"}}'
check PUT {P}/topics/schema-empty '{"schemaSettings":{}}'
check PUT {P}/topics/schema-blank '{"schemaSettings":{"schema":"","encoding":"JSON"}}'
JQ=.schemaSettings check PUT {P}/topics/schema-null '{"schemaSettings":null}'
check PUT {P}/topics/schema-no-encoding "{\"schemaSettings\":{$SCHEMA}}"
check PUT {P}/topics/schema-missing '{"schemaSettings":{"schema":"{P}/schemas/nosuch","encoding":"JSON"}}'
check PUT {P}/topics/schema-no-revision "{\"schemaSettings\":{$SCHEMA,\"encoding\":\"JSON\",\"firstRevisionId\":\"0badc0de\"}}"
