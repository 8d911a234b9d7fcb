/*
 * pubsub_json_schemas: the JSON shapes of Pub/Sub's SchemaService (google/pubsub/v1/
 * schema.proto, field names as in gcloud's pubsub_v1_messages.py): the request schemas
 * bodies are checked against, a Schema revision as JSON in the BASIC or FULL view, and
 * the Schema a request carries.
 */
#include "pubsub_json.h"

#include "em_json.h"

#include <stdlib.h>
#include <string.h>

static const struct em_enum_value type_values[] = {
    {"TYPE_UNSPECIFIED", 0}, {"PROTOCOL_BUFFER", 1}, {"AVRO", 2}, {NULL}};
static const struct em_enum type_enum = {"google.pubsub.v1.Schema.Type", type_values};

static const struct em_enum_value encoding_values[] = {
    {"ENCODING_UNSPECIFIED", 0}, {"JSON", 1}, {"BINARY", 2}, {NULL}};
static const struct em_enum encoding_enum = {"google.pubsub.v1.Encoding", encoding_values};

static const struct em_field schema_fields[] = {{"name", EM_F_STRING},
                                                {"type", EM_F_ENUM, false, NULL, &type_enum},
                                                {"definition", EM_F_STRING},
                                                {"revisionId", EM_F_STRING},
                                                {"revisionCreateTime", EM_F_TIMESTAMP},
                                                {NULL}};
const struct em_message ps_schema_schema = {"google.pubsub.v1.Schema", schema_fields};

static const struct em_field commit_fields[] = {{"schema", EM_F_MESSAGE, false, &ps_schema_schema},
                                                {NULL}};
const struct em_message ps_commit_schema_schema = {"google.pubsub.v1.CommitSchemaRequest",
                                                   commit_fields};

static const struct em_field rollback_fields[] = {{"revisionId", EM_F_STRING}, {NULL}};
const struct em_message ps_rollback_schema_schema = {"google.pubsub.v1.RollbackSchemaRequest",
                                                     rollback_fields};

static const struct em_field validate_fields[] = {
    {"schema", EM_F_MESSAGE, false, &ps_schema_schema}, {NULL}};
const struct em_message ps_validate_schema_schema = {"google.pubsub.v1.ValidateSchemaRequest",
                                                     validate_fields};

static const struct em_field validate_message_fields[] = {
    {"name", EM_F_STRING},
    {"schema", EM_F_MESSAGE, false, &ps_schema_schema},
    {"message", EM_F_BYTES},
    {"encoding", EM_F_ENUM, false, NULL, &encoding_enum},
    {NULL}};
const struct em_message ps_validate_message_schema = {"google.pubsub.v1.ValidateMessageRequest",
                                                      validate_message_fields};

static const struct em_field list_schemas_fields[] = {
    {"schemas", EM_F_MESSAGE, true, &ps_schema_schema}, {NULL}};
const struct em_message ps_list_schemas_reply = {"google.pubsub.v1.ListSchemasResponse",
                                                 list_schemas_fields};

static const struct em_field list_revisions_fields[] = {
    {"schemas", EM_F_MESSAGE, true, &ps_schema_schema}, {NULL}};
const struct em_message ps_list_revisions_reply = {"google.pubsub.v1.ListSchemaRevisionsResponse",
                                                   list_revisions_fields};

cJSON *ps_json_schema(const struct ps_revision *rev, bool full)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", rev->name);
    cJSON_AddStringToObject(j, "type", rev->type == PS_SCHEMA_AVRO ? "AVRO" : "PROTOCOL_BUFFER");
    if (full)
        cJSON_AddStringToObject(j, "definition", rev->definition);
    cJSON_AddStringToObject(j, "revisionId", rev->id);
    em_json_add_time(j, "revisionCreateTime", rev->create_ns);
    return j;
}

enum ps_schema_type ps_json_schema_type(const cJSON *schema)
{
    const char *type = em_json_string(schema, "type");
    return !type                                  ? PS_SCHEMA_TYPE_UNSPECIFIED
           : strcmp(type, "AVRO") == 0            ? PS_SCHEMA_AVRO
           : strcmp(type, "PROTOCOL_BUFFER") == 0 ? PS_SCHEMA_PROTOCOL_BUFFER
                                                  : PS_SCHEMA_TYPE_UNSPECIFIED;
}

enum ps_encoding ps_json_encoding(const cJSON *request)
{
    const char *encoding = em_json_string(request, "encoding");
    return !encoding                         ? PS_ENCODING_UNSPECIFIED
           : strcmp(encoding, "JSON") == 0   ? PS_ENCODING_JSON
           : strcmp(encoding, "BINARY") == 0 ? PS_ENCODING_BINARY
                                             : PS_ENCODING_UNSPECIFIED;
}
