/*
 * em_schema: request-body validation against proto message schemas declared as data.
 *
 * Google's REST front end rejects a body whose fields are unknown or of the wrong JSON
 * type before the service sees it, with messages such as
 *   Invalid JSON payload received. Unknown name "foo" at 'crypto_key': Cannot find field.
 *   Invalid value at 'crypto_key.purpose' (type.googleapis.com/...CryptoKeyPurpose), "X"
 * em_schema_check() reproduces that: it walks the JSON against a `struct em_message`,
 * names the offending field by its proto (snake_case) path, and normalises what proto3
 * JSON allows in two spellings, so that handlers read fields knowing their types are right:
 *   - enums: a name or its proto number (Google's client libraries send numbers); numbers
 *     become names. Numbers are those of the .proto, not list positions: enums have gaps
 *     (CryptoKeyPurpose: 0, 1, 5, 6, 7, 9, ...) and are not declared in number order.
 *   - null: a member whose value is null is the field's default, so it is removed (except
 *     in EM_F_ANY values, where null is a value). null inside a list or as a map value is
 *     refused, as Google's transcoder refuses it: a handler never meets a null item.
 *   - a body of "" (what the client libraries send for an empty message) is {}.
 * em_schema_enums_to_numbers() goes the other way for replies, when a request asks for
 * `$alt=json;enum-encoding=int` (see em_dispatch.c).
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
    EM_F_ENUM,      /* name or proto number of .enumeration */
    EM_F_MESSAGE,   /* object checked against .message */
    EM_F_MAP,       /* object whose values are strings (or .message objects) */
    EM_F_TIMESTAMP, /* RFC 3339 string */
    EM_F_DURATION,  /* "3.5s" */
    EM_F_ANY,       /* any JSON (google.protobuf.Struct / Value / Any) */
};

struct em_message;

/* One value of a proto enum, as declared in the .proto. */
struct em_enum_value {
    const char *name; /* "ASYMMETRIC_SIGN"; NULL ends a value list */
    int number;       /* 5: the proto number, which clients send and may ask for */
};

/* A proto enum: its full type name (for error messages) and its values. */
struct em_enum {
    const char *type_name; /* "google.cloud.kms.v1.CryptoKey.CryptoKeyPurpose" */
    const struct em_enum_value *values;
};

struct em_field {
    const char *name; /* lowerCamelCase JSON name; NULL ends a field list */
    enum em_ftype type;
    bool repeated;
    const struct em_message *message;  /* EM_F_MESSAGE, or EM_F_MAP with message values */
    const struct em_enum *enumeration; /* EM_F_ENUM */
};

struct em_message {
    const char *type_name; /* "google.cloud.kms.v1.CryptoKey" */
    const struct em_field *fields;
};

/* google.protobuf.Empty: the body of a method that takes none (a field in it is refused). */
extern const struct em_message em_empty_message;

/* Checks json against msg. body_field is the proto name of the request field the body
 * fills ("crypto_key"), or NULL when the body is the whole request ("*"). */
enum em_code em_schema_check(const struct em_message *msg, cJSON *json, const char *body_field,
                             struct em_status *st);

/* Rewrites the enum names of json, a reply of type msg, to their proto numbers: nested
 * messages, lists and maps of messages included; members the schema does not declare and
 * EM_F_ANY values are left as they are. */
void em_schema_enums_to_numbers(const struct em_message *msg, cJSON *json);

/* A query parameter that binds an enum (param: its JSON name), by name or proto number as
 * Google binds it: *number is the value's number, 0 when text is absent or empty. A value
 * e lacks is INVALID_ARGUMENT in the words a body's enum gets ("Invalid value at
 * 'public_key_format' (type.googleapis.com/...PublicKeyFormat), \"X\""). */
enum em_code em_schema_query_enum(const char *param, const char *text, const struct em_enum *e,
                                  int *number, struct em_status *st);

/* The value of e with this name or number; NULL when e has none. */
const struct em_enum_value *em_enum_by_name(const struct em_enum *e, const char *name);
const struct em_enum_value *em_enum_by_number(const struct em_enum *e, int number);

/* "cryptoKeyId" -> "crypto_key_id" into out. */
void em_snake_case(const char *camel, char *out, size_t len);

#endif
