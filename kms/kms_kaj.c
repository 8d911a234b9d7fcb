/*
 * kms_kaj: Key Access Justifications policies and their check (see kms_kaj.h).
 */
#include "kms_kaj.h"

#include "em_call.h"
#include "em_iam.h"
#include "em_names.h"
#include "em_store.h"

#include <stdio.h>
#include <string.h>

static const struct em_enum_value reason_values[] = {
    {"REASON_UNSPECIFIED", 0},
    {"CUSTOMER_INITIATED_SUPPORT", 1},
    {"GOOGLE_INITIATED_SERVICE", 2},
    {"THIRD_PARTY_DATA_REQUEST", 3},
    {"GOOGLE_INITIATED_REVIEW", 4},
    {"CUSTOMER_INITIATED_ACCESS", 5},
    {"GOOGLE_INITIATED_SYSTEM_OPERATION", 6},
    {"REASON_NOT_EXPECTED", 7},
    {"MODIFIED_CUSTOMER_INITIATED_ACCESS", 8},
    {"MODIFIED_GOOGLE_INITIATED_SYSTEM_OPERATION", 9},
    {"GOOGLE_RESPONSE_TO_PRODUCTION_ALERT", 10},
    {"CUSTOMER_AUTHORIZED_WORKFLOW_SERVICING", 11},
    {NULL}};
const struct em_enum kms_access_reason_enum = {"google.cloud.kms.v1.AccessReason", reason_values};

static const struct em_field policy_fields[] = {
    {"allowedAccessReasons", EM_F_ENUM, true, NULL, &kms_access_reason_enum}, {NULL}};
const struct em_message kms_kaj_policy_schema = {
    "google.cloud.kms.v1.KeyAccessJustificationsPolicy", policy_fields};

const char *kms_kaj_reason_name(int reason)
{
    const struct em_enum_value *v = em_enum_by_number(&kms_access_reason_enum, reason);
    return v ? v->name : NULL;
}

const char *kms_kaj_reason_named(const char *name)
{
    const struct em_enum_value *v = em_enum_by_name(&kms_access_reason_enum, name);
    return v ? v->name : NULL;
}

/* AccessReason by name or number (a JSON string or number); -1 when it is none. */
static int reason_of(const cJSON *value)
{
    const struct em_enum_value *v = NULL;
    if (cJSON_IsString(value))
        v = em_enum_by_name(&kms_access_reason_enum, value->valuestring);
    else if (cJSON_IsNumber(value) && value->valuedouble >= 0 && value->valuedouble < 64 &&
             value->valuedouble == (int)value->valuedouble)
        v = em_enum_by_number(&kms_access_reason_enum, (int)value->valuedouble);
    return v ? v->number : -1;
}

enum em_code kms_kaj_policy_read(const cJSON *policy, const char *field, uint32_t *out,
                                 struct em_status *st)
{
    *out = KMS_KAJ_NO_POLICY;
    if (!policy || cJSON_IsNull(policy))
        return EM_OK;
    uint32_t bits = KMS_KAJ_POLICY;
    const cJSON *reasons = cJSON_GetObjectItemCaseSensitive(policy, "allowedAccessReasons");
    const cJSON *item;
    cJSON_ArrayForEach(item, reasons)
    {
        int reason = reason_of(item);
        if (reason < 0) /* the schema knows the names: only a number out of range is left */
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "%s.allowed_access_reasons has a value that is not an AccessReason.",
                           field);
        if (reason == 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "%s.allowed_access_reasons must not contain REASON_UNSPECIFIED.", field);
        bits |= 1u << reason;
    }
    *out = bits;
    return EM_OK;
}

cJSON *kms_kaj_policy_json(uint32_t policy)
{
    cJSON *json = cJSON_CreateObject();
    if ((policy & ~KMS_KAJ_POLICY) == 0)
        return json; /* proto3 JSON leaves an empty list out */
    cJSON *list = cJSON_AddArrayToObject(json, "allowedAccessReasons");
    for (int reason = 1; reason < KMS_KAJ_REASONS; reason++)
        if (policy & (1u << reason))
            cJSON_AddItemToArray(list, cJSON_CreateString(kms_kaj_reason_name(reason)));
    return json;
}

enum em_code kms_kaj_check(uint32_t policy, const char *key_name, const char *reason,
                           struct em_status *st)
{
    if (policy == KMS_KAJ_NO_POLICY)
        return EM_OK;
    const struct em_enum_value *v = em_enum_by_name(&kms_access_reason_enum, reason);
    if (v && v->number > 0 && (policy & (1u << v->number)))
        return EM_OK;
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "The Key Access Justifications policy of %s does not allow access reason %s.",
                   key_name, v ? v->name : "REASON_UNSPECIFIED");
}

/* --- default policies (the only SQL of kaj_policy_configs) --- */

static const char *const kaj_migrations[] = {
    "CREATE TABLE kaj_policy_configs ("
    " parent TEXT PRIMARY KEY,"
    " default_policy INTEGER NOT NULL)",
};

#define MAX_ANCESTORS 16 /* a project, ten folders deep, an organization: and a margin */

enum em_code kms_kaj_open(struct em_store *store, struct em_status *st)
{
    return em_store_migrate(store, "kms_kaj", kaj_migrations, 1, st);
}

enum em_code kms_kaj_reset(struct em_store *store, struct em_status *st)
{
    return em_store_exec(store, "DELETE FROM kaj_policy_configs", st);
}

enum em_code kms_kaj_config_get(struct em_store *store, const char *parent, uint32_t *policy,
                                struct em_status *st)
{
    *policy = KMS_KAJ_NO_POLICY;
    sqlite3_stmt *stmt =
        em_store_stmt(store, "SELECT default_policy FROM kaj_policy_configs WHERE parent = ?", st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, parent);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *policy = (uint32_t)sqlite3_column_int64(stmt, 0);
    em_stmt_done(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return em_store_error(em_store_db(store, NULL), rc, st);
    return EM_OK;
}

enum em_code kms_kaj_config_set(struct em_store *store, const char *parent, uint32_t policy,
                                struct em_status *st)
{
    sqlite3_stmt *stmt = em_store_stmt(
        store,
        policy == KMS_KAJ_NO_POLICY
            ? "DELETE FROM kaj_policy_configs WHERE parent = ?"
            : "INSERT OR REPLACE INTO kaj_policy_configs(parent, default_policy) VALUES (?, ?)",
        st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, parent);
    if (policy != KMS_KAJ_NO_POLICY)
        sqlite3_bind_int64(stmt, 2, policy);
    return em_stmt_run(stmt, st);
}

enum em_code kms_kaj_effective(struct em_store *store, const char *project, uint32_t *policy,
                               char *from, size_t from_len, struct em_status *st)
{
    char at[EM_RESOURCE_MAX], up[EM_RESOURCE_MAX];
    snprintf(at, sizeof(at), "%s", project);
    from[0] = '\0';
    for (int depth = 0; depth < MAX_ANCESTORS; depth++) {
        if (kms_kaj_config_get(store, at, policy, st))
            return st->code;
        if (*policy != KMS_KAJ_NO_POLICY) {
            snprintf(from, from_len, "%s", at);
            return EM_OK;
        }
        if (!em_iam_parent(store, at, up, sizeof(up), st))
            return st->code; /* the top, or an error */
        snprintf(at, sizeof(at), "%s", up);
    }
    return EM_OK;
}

enum em_code kms_kaj_new_key_policy(struct em_store *store, const char *project, uint32_t *policy,
                                    struct em_status *st)
{
    char from[EM_RESOURCE_MAX];
    uint32_t inherited;
    if (kms_kaj_effective(store, project, &inherited, from, sizeof(from), st))
        return st->code;
    /* an empty default allows all: the key needs no policy */
    *policy = (inherited & ~KMS_KAJ_POLICY) ? inherited : KMS_KAJ_NO_POLICY;
    return EM_OK;
}
