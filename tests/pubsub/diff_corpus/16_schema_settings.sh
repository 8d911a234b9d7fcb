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

# updateMask paths naming one field of schemaSettings change that field only (Google's Go
# client sends them so); "schemaSettings" replaces the settings, left out it clears them.
check PUT {P}/topics/schema-patched "{\"schemaSettings\":{$SCHEMA,\"encoding\":\"JSON\"}}"
JQ=.schemaSettings check PATCH {P}/topics/schema-patched '{"topic":{"schemaSettings":{"encoding":"BINARY"}},"updateMask":"schemaSettings.encoding"}'
JQ=.schemaSettings check PATCH {P}/topics/schema-patched '{"topic":{},"updateMask":"schema_settings.last_revision_id"}'
check PATCH {P}/topics/schema-patched '{"topic":{"schemaSettings":{"firstRevisionId":"0badc0de"}},"updateMask":"schemaSettings.firstRevisionId"}'
check PATCH {P}/topics/schema-patched '{"topic":{},"updateMask":"schemaSettings.schema"}'
check PATCH {P}/topics/schema-patched '{"topic":{"schemaSettings":{}},"updateMask":"schemaSettings"}'
JQ=.schemaSettings check GET {P}/topics/schema-patched
JQ=.schemaSettings check PATCH {P}/topics/schema-patched '{"topic":{},"updateMask":"schemaSettings"}'
check PUT {P}/topics/schema-later '{}'
check PATCH {P}/topics/schema-later '{"topic":{"schemaSettings":{"encoding":"JSON"}},"updateMask":"schemaSettings.encoding"}'
JQ=.schemaSettings check PATCH {P}/topics/schema-later "{\"topic\":{\"schemaSettings\":{$SCHEMA,\"encoding\":\"JSON\"}},\"updateMask\":\"schemaSettings.schema,schemaSettings.encoding\"}"
