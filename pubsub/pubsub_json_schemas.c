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
    {"encoding", EM_F_ENUM, false, NULL, &ps_encoding_enum},
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
    cJSON_AddStringToObject(j, "type", ps_schema_type_name(rev->type));
    if (full)
        cJSON_AddStringToObject(j, "definition", rev->definition);
    cJSON_AddStringToObject(j, "revisionId", rev->id);
    em_json_add_time(j, "revisionCreateTime", rev->create_ns);
    return j;
}

/* A checked body's enum field: its name, the value's proto number (0 when absent). */
static int enum_field(const cJSON *obj, const char *key, const struct em_enum *e)
{
    const char *name = em_json_string(obj, key);
    const struct em_enum_value *value = name ? em_enum_by_name(e, name) : NULL;
    return value ? value->number : 0;
}

enum ps_schema_type ps_json_schema_type(const cJSON *schema)
{
    return (enum ps_schema_type)enum_field(schema, "type", &type_enum);
}

enum ps_encoding ps_json_encoding(const cJSON *request)
{
    return (enum ps_encoding)enum_field(request, "encoding", &ps_encoding_enum);
}
