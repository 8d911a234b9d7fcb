/*
 * em_schema: request-body validation against proto message schemas declared as data.
 *
 * Google's REST front end rejects a body whose fields are unknown or of the wrong JSON
 * type before the service sees it, with messages such as
 *   Invalid JSON payload received. Unknown name "foo" at 'crypto_key': Cannot find field.
 *   Invalid value at 'crypto_key.purpose' (type.googleapis.com/...CryptoKeyPurpose), "X"
 * em_schema_check() reproduces that: it walks the JSON against a `struct em_message`,
 * names the offending field by its proto (snake_case) path, and normalises what proto3
 * JSON allows in two spellings (enum numbers become enum names). Handlers then read
 * fields knowing their types are right.
 */
#ifndef EM_SCHEMA_H
#define EM_SCHEMA_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

enum em_ftype {
    EM_F_STRING,
    EM_F_BYTES, /* base64 string */
    EM_F_INT32, /* number or decimal string */
    EM_F_INT64, /* number or decimal string */
    EM_F_BOOL,
    EM_F_DOUBLE,
    EM_F_ENUM,      /* name from enum_values, or its index */
    EM_F_MESSAGE,   /* object checked against .message */
    EM_F_MAP,       /* object whose values are strings (or .message objects) */
    EM_F_TIMESTAMP, /* RFC 3339 string */
    EM_F_DURATION,  /* "3.5s" */
    EM_F_ANY,       /* any JSON (google.protobuf.Struct / Value / Any) */
};

struct em_message;

struct em_field {
    const char *name; /* lowerCamelCase JSON name; NULL ends a field list */
    enum em_ftype type;
    bool repeated;
    const struct em_message *message; /* EM_F_MESSAGE, or EM_F_MAP with message values */
    const char *const *enum_values;   /* EM_F_ENUM: NULL-terminated, index = number */
    const char *enum_type;            /* EM_F_ENUM: full type name for messages */
};

struct em_message {
    const char *type_name; /* "google.cloud.kms.v1.CryptoKey" */
    const struct em_field *fields;
};

/* Checks json against msg. body_field is the proto name of the request field the body
 * fills ("crypto_key"), or NULL when the body is the whole request ("*"). */
enum em_code em_schema_check(const struct em_message *msg, cJSON *json, const char *body_field,
                             struct em_status *st);

/* Looks up an enum value's index; -1 when the name is not in the list. */
int em_enum_index(const char *const *values, const char *name);

/* "cryptoKeyId" -> "crypto_key_id" into out. */
void em_snake_case(const char *camel, char *out, size_t len);

#endif
