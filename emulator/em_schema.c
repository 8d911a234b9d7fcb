/*
 * em_schema: validates request bodies like Google's JSON transcoder (see em_schema.h).
 * Recursion depth is bounded by the schema, not by the input: unknown nesting is
 * rejected at the first unknown field, and EM_F_ANY values are not descended into.
 */
#include "em_schema.h"

#include "em_json.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 256

/* Where a value sits in the body, for error messages ("subscription.push_config.
 * attributes[x]", "messages[0].data"): a chain of steps up to the root, built on the
 * stack as the check descends and written out only when a message needs it. */
struct field_path {
    const struct field_path *parent; /* NULL: the root, named by text (the body field) */
    const char *text;                /* root: its name ("" for the whole body) */
    const char *field;               /* a field, by its JSON name ... */
    const char *key;                 /* ... or a map key ... */
    int index;                       /* ... or a list index */
};

/* Writes the path into out. A path longer than PATH_MAX_LEN would only come from a schema
 * nested deeper than any Google request (a bug in the schema, hence INTERNAL), and is
 * refused rather than shown cut. */
static enum em_code path_text(const struct field_path *p, char out[PATH_MAX_LEN],
                              struct em_status *st)
{
    if (!p->parent) {
        snprintf(out, PATH_MAX_LEN, "%s", p->text);
        return EM_OK;
    }
    if (path_text(p->parent, out, st))
        return st->code;
    size_t len = strlen(out);
    int n;
    if (p->field) {
        char snake[128];
        em_snake_case(p->field, snake, sizeof(snake));
        n = snprintf(out + len, PATH_MAX_LEN - len, "%s%s", len ? "." : "", snake);
    } else if (p->key) {
        n = snprintf(out + len, PATH_MAX_LEN - len, "[%.60s]", p->key);
    } else {
        n = snprintf(out + len, PATH_MAX_LEN - len, "[%d]", p->index);
    }
    if (n < 0 || (size_t)n >= PATH_MAX_LEN - len)
        return EM_FAIL(st, EM_INTERNAL, "request schema nested too deep: field path '%.200s...'",
                       out);
    return EM_OK;
}

/* Fails with an INVALID_ARGUMENT message whose first %s is the path (INTERNAL when the
 * path is too long, see path_text). */
static enum em_code fail_at(const struct field_path *p, struct em_status *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum em_code fail_at(const struct field_path *p, struct em_status *st, const char *fmt, ...)
{
    char path[PATH_MAX_LEN];
    if (path_text(p, path, st))
        return st->code;
    char message[EM_STATUS_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid value at '%s'%s", path, message);
}

void em_snake_case(const char *camel, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = camel; *p && o + 2 < len; p++) {
        if (isupper((unsigned char)*p)) {
            out[o++] = '_';
            out[o++] = (char)tolower((unsigned char)*p);
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

const struct em_enum_value *em_enum_by_name(const struct em_enum *e, const char *name)
{
    for (const struct em_enum_value *v = e->values; v->name; v++)
        if (strcmp(v->name, name) == 0)
            return v;
    return NULL;
}

const struct em_enum_value *em_enum_by_number(const struct em_enum *e, int number)
{
    for (const struct em_enum_value *v = e->values; v->name; v++)
        if (v->number == number)
            return v;
    return NULL;
}

static const char *scalar_type_name(enum em_ftype type)
{
    switch (type) {
    case EM_F_STRING:
        return "TYPE_STRING";
    case EM_F_BYTES:
        return "TYPE_BYTES";
    case EM_F_INT32:
        return "TYPE_INT32";
    case EM_F_INT64:
        return "TYPE_INT64";
    case EM_F_BOOL:
        return "TYPE_BOOL";
    case EM_F_DOUBLE:
        return "TYPE_DOUBLE";
    case EM_F_TIMESTAMP:
        return "type.googleapis.com/google.protobuf.Timestamp";
    case EM_F_DURATION:
        return "type.googleapis.com/google.protobuf.Duration";
    default:
        return "TYPE_MESSAGE";
    }
}

/* A short, printable rendering of the offending value for the error message. */
static void describe_value(const cJSON *value, char *out, size_t len)
{
    if (cJSON_IsString(value)) {
        snprintf(out, len, "\"%.80s\"", value->valuestring);
        return;
    }
    if (cJSON_IsObject(value) || cJSON_IsArray(value)) {
        snprintf(out, len, "%s", cJSON_IsObject(value) ? "{...}" : "[...]");
        return;
    }
    char *text = cJSON_PrintUnformatted(value);
    snprintf(out, len, "%.80s", text ? text : "?");
    cJSON_free(text);
}

static enum em_code invalid_value(const struct field_path *path, const struct em_field *f,
                                  const cJSON *value, struct em_status *st)
{
    char shown[100];
    describe_value(value, shown, sizeof(shown));
    if (f->type == EM_F_ENUM)
        return fail_at(path, st, " (type.googleapis.com/%s), %s", f->enumeration->type_name, shown);
    if (f->type == EM_F_MESSAGE || f->type == EM_F_MAP)
        return fail_at(path, st, " (type.googleapis.com/%s), %s: expected an object",
                       f->message ? f->message->type_name : "google.protobuf.Map", shown);
    if (f->type == EM_F_BYTES && cJSON_IsString(value))
        return fail_at(path, st, " (TYPE_BYTES), Base64 decoding failed for %s", shown);
    return fail_at(path, st, " (%s), %s", scalar_type_name(f->type), shown);
}

static bool bytes_valid(const cJSON *value)
{
    return em_b64_valid(value->valuestring, strlen(value->valuestring));
}

static bool int_valid(const cJSON *value, enum em_ftype type)
{
    int64_t v;
    if (!em_json_value_int64(value, &v))
        return false;
    return type == EM_F_INT64 || (v >= INT32_MIN && v <= INT32_MAX);
}

/* A JSON number that is an int32, as an enum number must be. */
static bool int32_number(const cJSON *value, int *out)
{
    if (!cJSON_IsNumber(value))
        return false;
    double d = value->valuedouble;
    if (!(d >= INT32_MIN && d <= INT32_MAX) || (double)(int)d != d)
        return false;
    *out = (int)d;
    return true;
}

/* Changes the JSON type of value in place. The member's name keeps its ownership flag;
 * a string value is freed unless it was a reference (cJSON_CreateStringReference). */
static void retype(cJSON *value, int type)
{
    if (cJSON_IsString(value) && !(value->type & cJSON_IsReference))
        cJSON_free(value->valuestring);
    value->valuestring = NULL;
    value->type = (value->type & cJSON_StringIsConst) | type;
}

/* Enum numbers are rewritten to names so handlers see one spelling. */
static bool enum_normalise(cJSON *value, const struct em_field *f)
{
    if (cJSON_IsString(value))
        return em_enum_by_name(f->enumeration, value->valuestring) != NULL;
    int number;
    const struct em_enum_value *v;
    if (!int32_number(value, &number) || !(v = em_enum_by_number(f->enumeration, number)))
        return false;
    char *name = strdup(v->name);
    if (!name)
        return false;
    retype(value, cJSON_String);
    value->valuestring = name;
    return true;
}

static enum em_code check_message(const struct em_message *msg, cJSON *json,
                                  const struct field_path *path, struct em_status *st);

static enum em_code check_map(const struct em_field *f, cJSON *value, const struct field_path *path,
                              struct em_status *st)
{
    if (!cJSON_IsObject(value))
        return invalid_value(path, f, value, st);
    cJSON *entry;
    cJSON_ArrayForEach(entry, value)
    {
        struct field_path sub = {.parent = path, .key = entry->string};
        if (f->message) {
            if (!cJSON_IsObject(entry))
                return invalid_value(&sub, f, entry, st);
            enum em_code code = check_message(f->message, entry, &sub, st);
            if (code)
                return code;
        } else if (!cJSON_IsString(entry)) {
            char shown[100];
            describe_value(entry, shown, sizeof(shown));
            return fail_at(&sub, st, " (TYPE_STRING), %s", shown);
        }
    }
    return EM_OK;
}

/* One value (never null: check_message removes null members, and null list items are
 * refused before they get here). */
static enum em_code check_single(const struct em_field *f, cJSON *value,
                                 const struct field_path *path, struct em_status *st)
{
    bool ok;
    switch (f->type) {
    case EM_F_STRING:
        ok = cJSON_IsString(value);
        break;
    case EM_F_BYTES:
        ok = cJSON_IsString(value) && bytes_valid(value);
        break;
    case EM_F_INT32:
    case EM_F_INT64:
        ok = int_valid(value, f->type);
        break;
    case EM_F_BOOL:
        ok = cJSON_IsBool(value);
        break;
    case EM_F_DOUBLE:
        ok = cJSON_IsNumber(value);
        break;
    case EM_F_ENUM:
        ok = enum_normalise(value, f);
        break;
    case EM_F_TIMESTAMP: {
        int64_t ns;
        ok = cJSON_IsString(value) && em_time_parse(value->valuestring, &ns);
        break;
    }
    case EM_F_DURATION: {
        int64_t ns;
        ok = cJSON_IsString(value) && em_duration_parse(value->valuestring, &ns);
        break;
    }
    case EM_F_MESSAGE:
        if (!cJSON_IsObject(value))
            return invalid_value(path, f, value, st);
        return check_message(f->message, value, path, st);
    case EM_F_MAP:
        return check_map(f, value, path, st);
    default:
        ok = true;
        break;
    }
    return ok ? EM_OK : invalid_value(path, f, value, st);
}

static enum em_code check_field(const struct em_field *f, cJSON *value,
                                const struct field_path *path, struct em_status *st)
{
    if (!f->repeated)
        return check_single(f, value, path, st);
    if (!cJSON_IsArray(value))
        return fail_at(path, st, ", expected a list of values for a repeated field");
    int i = 0;
    cJSON *item;
    cJSON_ArrayForEach(item, value)
    {
        struct field_path sub = {.parent = path, .index = i++};
        /* Google: "null cannot occur inside of repeated fields"; handlers rely on it */
        if (cJSON_IsNull(item))
            return invalid_value(&sub, f, item, st);
        enum em_code code = check_single(f, item, &sub, st);
        if (code)
            return code;
    }
    return EM_OK;
}

static const struct em_field *find_field(const struct em_message *msg, const char *name)
{
    for (const struct em_field *f = msg->fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    /* proto3 JSON parsers accept the original snake_case names as well */
    char snake[128];
    for (const struct em_field *f = msg->fields; f->name; f++) {
        em_snake_case(f->name, snake, sizeof(snake));
        if (strcmp(snake, name) == 0)
            return f;
    }
    return NULL;
}

static enum em_code unknown_field(const char *name, const struct field_path *at,
                                  struct em_status *st)
{
    char path[PATH_MAX_LEN];
    if (path_text(at, path, st))
        return st->code;
    if (path[0])
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid JSON payload received. Unknown name \"%.100s\" at '%s': Cannot "
                       "find field.",
                       name, path);
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid JSON payload received. Unknown name \"%.100s\": Cannot find field.",
                   name);
}

/* A snake_case spelling is renamed to the JSON name so handlers look up one name. */
static bool rename_member(cJSON *member, const char *json_name)
{
    char *copy = strdup(json_name);
    if (!copy)
        return false;
    if (!(member->type & cJSON_StringIsConst))
        cJSON_free(member->string);
    member->string = copy;
    member->type &= ~cJSON_StringIsConst;
    return true;
}

static enum em_code check_message(const struct em_message *msg, cJSON *json,
                                  const struct field_path *path, struct em_status *st)
{
    if (!msg)
        return EM_OK;
    cJSON *member, *next;
    for (member = json->child; member; member = next) {
        next = member->next;
        const struct em_field *f = find_field(msg, member->string);
        if (!f)
            return unknown_field(member->string, path, st);
        if (cJSON_IsNull(member) && f->type != EM_F_ANY) {
            cJSON_Delete(cJSON_DetachItemViaPointer(json, member)); /* null: the default */
            continue;
        }
        if (strcmp(member->string, f->name) != 0 && !rename_member(member, f->name))
            return EM_FAIL_OOM(st);
        struct field_path sub = {.parent = path, .field = f->name};
        enum em_code code = check_field(f, member, &sub, st);
        if (code)
            return code;
    }
    return EM_OK;
}

/* The JSON string "" is how Google's client libraries send an empty message. */
static void empty_string_to_object(cJSON *json)
{
    if (!cJSON_IsString(json) || json->valuestring[0])
        return;
    retype(json, cJSON_Object);
    json->child = NULL;
}

enum em_code em_schema_check(const struct em_message *msg, cJSON *json, const char *body_field,
                             struct em_status *st)
{
    empty_string_to_object(json);
    if (!cJSON_IsObject(json))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid JSON payload received. Root element must be a message.");
    struct field_path root = {.text = body_field ? body_field : ""};
    return check_message(msg, json, &root, st);
}

/* --- replies: enum names to numbers --- */

static void enum_to_number(const struct em_field *f, cJSON *value)
{
    const struct em_enum_value *v;
    if (!cJSON_IsString(value) || !(v = em_enum_by_name(f->enumeration, value->valuestring)))
        return;
    retype(value, cJSON_Number);
    cJSON_SetNumberValue(value, v->number);
}

static void reply_value_to_numbers(const struct em_field *f, cJSON *value)
{
    if (f->type == EM_F_ENUM) {
        enum_to_number(f, value);
    } else if (f->type == EM_F_MESSAGE && cJSON_IsObject(value)) {
        em_schema_enums_to_numbers(f->message, value);
    } else if (f->type == EM_F_MAP && f->message && cJSON_IsObject(value)) {
        cJSON *entry;
        cJSON_ArrayForEach(entry, value)
        {
            em_schema_enums_to_numbers(f->message, entry);
        }
    }
}

void em_schema_enums_to_numbers(const struct em_message *msg, cJSON *json)
{
    if (!msg || !cJSON_IsObject(json))
        return;
    cJSON *member;
    cJSON_ArrayForEach(member, json)
    {
        const struct em_field *f = find_field(msg, member->string);
        if (!f)
            continue;
        if (!f->repeated) {
            reply_value_to_numbers(f, member);
            continue;
        }
        cJSON *item;
        cJSON_ArrayForEach(item, member)
        {
            reply_value_to_numbers(f, item);
        }
    }
}

static const struct em_field no_fields[] = {{NULL}};
const struct em_message em_empty_message = {"google.protobuf.Empty", no_fields};

/* A query argument as the JSON value it stands for: digits are an enum's proto number
 * ("2"), anything else its name ("DER"). */
static cJSON *query_value(const char *text)
{
    const char *digits = text[0] == '-' ? text + 1 : text;
    char *end;
    errno = 0;
    long number = strtol(text, &end, 10);
    if (isdigit((unsigned char)digits[0]) && !*end && !errno && number >= INT32_MIN &&
        number <= INT32_MAX)
        return cJSON_CreateNumber((double)number);
    return cJSON_CreateString(text);
}

/* Checked as a one-field request, so the words are those of em_schema_check. */
enum em_code em_schema_query_enum(const char *param, const char *text, const struct em_enum *e,
                                  int *number, struct em_status *st)
{
    *number = 0;
    if (!text || !*text)
        return EM_OK;
    const struct em_field fields[] = {{param, EM_F_ENUM, false, NULL, e}, {NULL}};
    const struct em_message request = {"query parameters", fields};
    cJSON *json = cJSON_CreateObject(), *value = query_value(text);
    if (!json || !value || !cJSON_AddItemToObject(json, param, value)) {
        cJSON_Delete(json);
        cJSON_Delete(value);
        return EM_FAIL_OOM(st);
    }
    enum em_code code = em_schema_check(&request, json, NULL, st);
    if (!code) /* the check left the value's name */
        *number = em_enum_by_name(e, em_json_string(json, param))->number;
    cJSON_Delete(json);
    return code;
}
