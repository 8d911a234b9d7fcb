/*
 * bigtable_tables: tables with Google's rules (see bigtable_admin.h): column families and
 * their GC rules (checked by bigtable_gc and stored as it writes them back), views, one
 * replica per cluster under the cluster's key, deletion protection (a deleted table stays
 * recoverable: bigtable_undelete.c), and the routing of a data call (bt_route_for).
 *
 * Stored beside the Table's JSON: "_protectedNs" ({cluster id: the engine's check time
 * when that replica was protected}: a replica's key version and status read UNKNOWN until
 * a key check after it, as Google reports them for up to 5 minutes after a table's
 * creation). A request's initialSplits are checked and not kept: they are row keys, which
 * metadata.db would hold in clear, and only Bigtable's tablet layout reads them.
 * Reference:
 * https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/projects.instances.tables
 */
#include "bigtable_admin_parts.h"

#include "bigtable_aggregate.h"
#include "bigtable_errors.h"
#include "bigtable_gc.h"
#include "bigtable_store.h"
#include "bigtable_views.h"
#include "em_json.h"
#include "em_mask.h"
#include "em_names.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct em_id_rule bt_table_id_rule = {
    "table ID",
    1,
    50,
    "-_.",
    false,
    false,
    "a table ID is 1 to 50 letters, digits, underscores, hyphens or periods, and starts with a "
    "letter, a digit or an underscore."};

static const struct em_id_rule bt_family_id_rule = {
    "column family ID",
    1,
    64,
    "-_.",
    false,
    false,
    "a column family ID is 1 to 64 letters, digits, underscores, hyphens or periods, and "
    "starts with a letter, a digit or an underscore."};

static enum em_code check_id(const char *id, const struct em_id_rule *rule, struct em_status *st)
{
    if (!id || !*id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The %s must be specified.", rule->what);
    if (em_id_check(id, rule, st))
        return st->code;
    if (id[0] == '-' || id[0] == '.')
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid %s \"%.100s\": %s", rule->what, id,
                       rule->description);
    return EM_OK;
}

enum em_code bt_table_view_parse(const char *text, enum bt_table_view fallback,
                                 enum bt_table_view *out, struct em_status *st)
{
    /* by name, or by the proto number Google's client libraries send (ENCRYPTION_VIEW is 5,
     * FULL 4) */
    static const struct {
        const char *name;
        const char *number;
        enum bt_table_view view;
    } views[] = {
        {"NAME_ONLY", "1", BT_VIEW_NAME_ONLY},
        {"SCHEMA_VIEW", "2", BT_VIEW_SCHEMA},
        {"REPLICATION_VIEW", "3", BT_VIEW_REPLICATION},
        {"ENCRYPTION_VIEW", "5", BT_VIEW_ENCRYPTION},
        {"FULL", "4", BT_VIEW_FULL},
    };
    *out = fallback;
    if (!text || !*text || strcmp(text, "VIEW_UNSPECIFIED") == 0 || strcmp(text, "0") == 0)
        return EM_OK;
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        if (strcmp(text, views[i].name) == 0 || strcmp(text, views[i].number) == 0) {
            *out = views[i].view;
            return EM_OK;
        }
    if (strcmp(text, "STATS_VIEW") == 0)
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "The table view STATS_VIEW is not supported by this "
                       "emulator.");
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid table view %.64s.", text);
}

/* --- views --- */

/* One encryptionInfo entry of a replica: the key version in use and its status, UNKNOWN
 * until a key check after the table's creation. */
static cJSON *encryption_info(struct bt_admin *admin, const char *replica, int64_t protected_ns)
{
    cJSON *entry = cJSON_CreateObject();
    struct em_cmek_info info;
    bool known = bt_replicas_info(admin->replicas, replica, &info);
    if (!known || !info.kms_key[0]) {
        cJSON_AddStringToObject(entry, "encryptionType", "GOOGLE_DEFAULT_ENCRYPTION");
        cJSON_AddObjectToObject(entry, "encryptionStatus");
        return entry;
    }
    cJSON_AddStringToObject(entry, "encryptionType", "CUSTOMER_MANAGED_ENCRYPTION");
    cJSON *status = cJSON_AddObjectToObject(entry, "encryptionStatus");
    if (info.last_check_ns <= protected_ns) {
        cJSON_AddNumberToObject(status, "code", EM_UNKNOWN);
        cJSON_AddStringToObject(status, "message",
                                "The key version and its status are not known yet: the first "
                                "key check after the table's creation has not run.");
        return entry;
    }
    if (info.state == EM_CMEK_INACCESSIBLE) {
        cJSON_AddNumberToObject(status, "code", EM_FAILED_PRECONDITION);
        cJSON_AddStringToObject(status, "message", info.reason);
    } else if (info.state == EM_CMEK_GRACE) { /* served from the cached key meanwhile */
        char until[EM_TIME_TEXT_MAX], message[EM_STATUS_MESSAGE_MAX];
        em_time_format(info.state_since_ns + admin->grace_ns, until);
        snprintf(message, sizeof(message),
                 "Cloud KMS cannot be reached; this cluster serves from its cached key until %s "
                 "(grace).",
                 until);
        cJSON_AddNumberToObject(status, "code", EM_UNAVAILABLE);
        cJSON_AddStringToObject(status, "message", message);
    } else if (info.state == EM_CMEK_OFFLINE) {
        cJSON_AddNumberToObject(status, "code", EM_UNAVAILABLE);
        cJSON_AddStringToObject(status, "message", "Cloud KMS cannot be reached.");
    }
    if (info.key_version[0])
        cJSON_AddStringToObject(entry, "kmsKeyVersion", info.key_version);
    return entry;
}

/* The encryption info of a replica whose data the cascade deleted (30 days). */
static cJSON *deleted_encryption_info(void)
{
    cJSON *entry = cJSON_CreateObject();
    cJSON_AddStringToObject(entry, "encryptionType", "CUSTOMER_MANAGED_ENCRYPTION");
    cJSON *status = cJSON_AddObjectToObject(entry, "encryptionStatus");
    cJSON_AddNumberToObject(status, "code", EM_NOT_FOUND);
    cJSON_AddStringToObject(status, "message",
                            "The data of this cluster was deleted: its Cloud KMS key was not "
                            "usable for 30 days.");
    return entry;
}

/* clusterStates: each cluster of the instance, with what the view asks for. */
static void add_cluster_states(struct bt_admin *admin, cJSON *out, const cJSON *stored,
                               bool replication, bool encryption)
{
    char instance[BT_NAME_MAX];
    cJSON *clusters = NULL;
    struct em_status st = {0};
    const char *name = em_json_string(stored, "name");
    if (!bt_instance_of(name, instance) ||
        bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, &st))
        return;
    const cJSON *stamps = cJSON_GetObjectItem(stored, "_protectedNs");
    cJSON *cascade = bt_cascade_load(admin, instance);
    cJSON *states = cJSON_AddObjectToObject(out, "clusterStates");
    const cJSON *c;
    cJSON_ArrayForEach(c, clusters)
    {
        const char *id = bt_last_id(em_json_string(c, "name"));
        cJSON *state = cJSON_AddObjectToObject(states, id);
        if (replication)
            cJSON_AddStringToObject(state, "replicationState", "READY");
        if (encryption && bt_cascade_mark_of(cascade, id) == BT_CASCADE_DATA_DELETED) {
            cJSON_AddItemToArray(cJSON_AddArrayToObject(state, "encryptionInfo"),
                                 deleted_encryption_info());
        } else if (encryption) {
            char replica[BT_NAME_MAX];
            int64_t protected_ns = 0;
            em_json_int64(stamps, id, &protected_ns);
            bt_replica_name(name, id, replica);
            cJSON_AddItemToArray(cJSON_AddArrayToObject(state, "encryptionInfo"),
                                 encryption_info(admin, replica, protected_ns));
        }
    }
    cJSON_Delete(cascade);
    cJSON_Delete(clusters);
}

/* The Table as a view shows it (a new object; stored is untouched). */
static cJSON *render(struct bt_admin *admin, const cJSON *stored, enum bt_table_view view)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "name", em_json_string(stored, "name"));
    bool schema = view == BT_VIEW_SCHEMA || view == BT_VIEW_FULL;
    bool replication = view == BT_VIEW_REPLICATION || view == BT_VIEW_FULL;
    bool encryption = view == BT_VIEW_ENCRYPTION || view == BT_VIEW_FULL;
    if (replication || encryption)
        add_cluster_states(admin, out, stored, replication, encryption);
    if (schema) {
        const char *keys[] = {"columnFamilies",     "granularity",         "deletionProtection",
                              "changeStreamConfig", "tieredStorageConfig", "restoreInfo"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            const cJSON *v = cJSON_GetObjectItem(stored, keys[i]);
            if (v)
                cJSON_AddItemToObject(out, keys[i], cJSON_Duplicate(v, true));
        }
    }
    return out;
}

/* --- create --- */

void bt_stamp_protection(struct bt_admin *admin, cJSON *table, const char *cluster_id,
                         const char *replica)
{
    struct em_cmek_info info;
    cJSON *stamps = cJSON_GetObjectItem(table, "_protectedNs");
    if (!stamps)
        stamps = cJSON_AddObjectToObject(table, "_protectedNs");
    cJSON_DeleteItemFromObject(stamps, cluster_id);
    if (bt_replicas_info(admin->replicas, replica, &info))
        em_json_add_int64(stamps, cluster_id, info.last_check_ns);
}

/* A family's GC rule as bigtable_gc parses and writes it back ({} keeps everything), at
 * most 500 bytes as a protobuf (table.proto: ColumnFamily.gc_rule). */
static enum em_code canonical_gc_rule(const cJSON *family, const char *field, cJSON **out,
                                      struct em_status *st)
{
    const cJSON *rule = cJSON_GetObjectItem(family, "gcRule");
    struct bt_gc_rule *parsed = NULL;
    *out = NULL;
    if (!rule)
        return (*out = cJSON_CreateObject()) ? EM_OK : EM_FAIL_OOM(st);
    if (bt_gc_rule_parse(rule, field, &parsed, st))
        return st->code;
    size_t size = bt_gc_rule_proto_size(parsed);
    if (size > BT_GC_MAX_PROTO_BYTES) {
        bt_gc_rule_free(parsed);
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Error in field '%s' : a GC rule must serialize to at most %d bytes, this "
                       "one takes %zu.",
                       field, BT_GC_MAX_PROTO_BYTES, size);
    }
    *out = bt_gc_rule_to_json(parsed);
    bt_gc_rule_free(parsed);
    return *out ? EM_OK : EM_FAIL_OOM(st);
}

/* A family as a request gives it, checked, as stored: {gcRule, valueType (an aggregate
 * family's, bigtable_aggregate.h; absent for raw bytes)}. prefix names it in errors
 * ("table.column_families[cf]"). */
static enum em_code canonical_family(const cJSON *family, const char *prefix, cJSON **out,
                                     struct em_status *st)
{
    char field[160];
    cJSON *rule = NULL, *value_type = NULL;
    *out = NULL;
    snprintf(field, sizeof(field), "%s.value_type", prefix);
    if (bt_value_type_parse(cJSON_GetObjectItem(family, "valueType"), field, &value_type, st))
        return st->code;
    snprintf(field, sizeof(field), "%s.gc_rule", prefix);
    if (canonical_gc_rule(family, field, &rule, st) || !(*out = cJSON_CreateObject())) {
        cJSON_Delete(rule);
        cJSON_Delete(value_type);
        return st->code ? st->code : EM_FAIL_OOM(st);
    }
    cJSON_AddItemToObject(*out, "gcRule", rule);
    if (value_type)
        cJSON_AddItemToObject(*out, "valueType", value_type);
    return EM_OK;
}

/* A family named twice in one request's columnFamilies (JSON allows the repeated key). */
static enum em_code duplicate_family(const cJSON *families, const char *id, struct em_status *st)
{
    if (!cJSON_GetObjectItemCaseSensitive(families, id))
        return EM_OK;
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "The column family %.64s is named twice.", id);
}

/* The columnFamilies of a request, checked (ids, GC rules, value types), as stored:
 * {id: {gcRule, valueType}}. */
static enum em_code new_families(const cJSON *families, cJSON **out, struct em_status *st)
{
    const cJSON *family;
    *out = cJSON_CreateObject();
    cJSON_ArrayForEach(family, families)
    {
        cJSON *stored = NULL;
        char prefix[96];
        snprintf(prefix, sizeof(prefix), "table.column_families[%.64s]", family->string);
        if (check_id(family->string, &bt_family_id_rule, st) ||
            duplicate_family(*out, family->string, st) ||
            canonical_family(family, prefix, &stored, st)) {
            cJSON_Delete(*out);
            *out = NULL;
            return st->code;
        }
        cJSON_AddItemToObject(*out, family->string, stored);
    }
    return EM_OK;
}

static cJSON *new_table(const char *name, const cJSON *request, cJSON *families, int64_t now)
{
    const cJSON *table = cJSON_GetObjectItem(request, "table");
    cJSON *stored = cJSON_CreateObject();
    cJSON_AddStringToObject(stored, "name", name);
    cJSON_AddItemToObject(stored, "columnFamilies", families);
    cJSON_AddStringToObject(stored, "granularity", "MILLIS");
    if (cJSON_IsTrue(cJSON_GetObjectItem(table, "deletionProtection")))
        cJSON_AddTrueToObject(stored, "deletionProtection");
    (void)now;
    cJSON_AddObjectToObject(stored, "_protectedNs");
    return stored;
}

/* A replica of the table in every cluster of the instance, each under its cluster's key
 * (under the lock); on failure none is left. */
static enum em_code protect_table_replicas(struct bt_admin *admin, const char *project,
                                           cJSON *stored, const cJSON *clusters,
                                           struct em_status *st)
{
    const char *table = em_json_string(stored, "name");
    if (!admin->replicas)
        return EM_OK;
    const cJSON *c;
    char replica[BT_NAME_MAX];
    cJSON_ArrayForEach(c, clusters)
    {
        bt_replica_name(table, bt_last_id(em_json_string(c, "name")), replica);
        if (bt_replicas_protect(admin->replicas, replica, project, bt_cluster_key(c), st))
            break;
        bt_stamp_protection(admin, stored, bt_last_id(em_json_string(c, "name")), replica);
    }
    if (st->code) {
        struct em_status ignored = {0};
        for (const cJSON *done = clusters->child; done != c; done = done->next) {
            bt_replica_name(table, bt_last_id(em_json_string(done, "name")), replica);
            bt_replicas_shred(admin->replicas, replica, &ignored);
        }
    }
    return st->code;
}

void bt_table_shred_replicas(struct bt_admin *admin, const char *table, const char *instance)
{
    cJSON *clusters = NULL;
    struct em_status st = {0};
    if (!admin->replicas ||
        bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, &st))
        return;
    const cJSON *c;
    cJSON_ArrayForEach(c, clusters)
    {
        char replica[BT_NAME_MAX];
        bt_replica_name(table, bt_last_id(em_json_string(c, "name")), replica);
        bt_replicas_shred(admin->replicas, replica, &st);
    }
    cJSON_Delete(clusters);
}

/* Under the lock: the instance exists, the table does not; protects and records it. A
 * deleted table of the same name is shredded first: its replicas have the new one's
 * names, so it cannot be recovered afterwards. */
static enum em_code insert_table(struct bt_admin *admin, const char *project, const char *instance,
                                 cJSON *table, struct em_status *st)
{
    cJSON *inst = NULL, *clusters = NULL;
    char *existing = NULL;
    const char *name = em_json_string(table, "name");
    if (!bt_load(admin, instance, BT_KIND_INSTANCE, "Instance", &inst, st) &&
        !bt_store_get(admin->store, name, BT_KIND_TABLE, &existing, st) &&
        !bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, st)) {
        if (existing)
            BT_ERR_EXISTS(st, "Table", name);
        else if (!bt_table_settings_check_storage(table, clusters, st) &&
                 !bt_check_no_disabled_cluster(admin, instance, "create a table", st) &&
                 !bt_deleted_table_purge(admin, name, st) &&
                 !protect_table_replicas(admin, project, table, clusters, st) &&
                 bt_save(admin, table, BT_KIND_TABLE, instance, false, st))
            bt_table_shred_replicas(admin, name, instance);
    }
    free(existing);
    cJSON_Delete(inst);
    cJSON_Delete(clusters);
    return st->code;
}

enum em_code bt_table_create(struct bt_admin *admin, const char *instance, const cJSON *request,
                             int64_t now, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char project[64], name[BT_NAME_MAX];
    *out = NULL;
    const char *id = em_json_string(request, "tableId");
    cJSON *families = NULL;
    if (bt_check_name(instance, NULL, "instance", st) || bt_project_of(instance, project, st) ||
        check_id(id, &bt_table_id_rule, st) ||
        new_families(cJSON_GetObjectItem(cJSON_GetObjectItem(request, "table"), "columnFamilies"),
                     &families, st))
        return st->code;
    snprintf(name, sizeof(name), "%.380s/tables/%.100s", instance, id);
    cJSON *table = new_table(name, request, families, now);
    if (bt_table_settings_create(cJSON_GetObjectItem(request, "table"), table, st)) {
        cJSON_Delete(table);
        return st->code;
    }
    pthread_mutex_lock(&admin->lock);
    insert_table(admin, project, instance, table, st);
    pthread_mutex_unlock(&admin->lock);
    if (!st->code)
        *out = render(admin, table, BT_VIEW_SCHEMA);
    cJSON_Delete(table);
    return st->code;
}

/* --- read --- */

enum em_code bt_table_get(struct bt_admin *admin, const char *name, enum bt_table_view view,
                          cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *stored = NULL;
    *out = NULL;
    if (bt_check_name(name, "tables", "table", st) ||
        bt_load(admin, name, BT_KIND_TABLE, "Table", &stored, st))
        return st->code;
    *out = render(admin, stored, view);
    cJSON_Delete(stored);
    return EM_OK;
}

enum em_code bt_table_list(struct bt_admin *admin, const char *instance, enum bt_table_view view,
                           cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *inst = NULL, *stored = NULL;
    *out = NULL;
    if (view != BT_VIEW_NAME_ONLY && view != BT_VIEW_SCHEMA && view != BT_VIEW_REPLICATION &&
        view != BT_VIEW_ENCRYPTION && view != BT_VIEW_FULL)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid table view.");
    if (bt_check_name(instance, NULL, "instance", st) ||
        bt_load(admin, instance, BT_KIND_INSTANCE, "Instance", &inst, st))
        return st->code;
    cJSON_Delete(inst);
    if (bt_store_list(admin->store, BT_KIND_TABLE, instance, false, &stored, st))
        return st->code;
    *out = cJSON_CreateArray();
    const cJSON *t;
    cJSON_ArrayForEach(t, stored)
    {
        cJSON_AddItemToArray(*out, render(admin, t, view));
    }
    cJSON_Delete(stored);
    return EM_OK;
}

/* --- change --- */

/* The family a create or update modification makes, as createTable stores it (index and
 * kind name the field in errors). An update keeps the family's value_type, which is
 * immutable (table.proto): one that differs from it is refused. */
static enum em_code modified_family(const cJSON *family, const cJSON *existing, int index,
                                    const char *kind, cJSON **out, struct em_status *st)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "modifications[%d].%s", index, kind);
    if (canonical_family(family, prefix, out, st) || !existing)
        return st->code;
    const cJSON *had = cJSON_GetObjectItem(existing, "valueType");
    const cJSON *asked = cJSON_GetObjectItem(*out, "valueType");
    if (asked && !(had && cJSON_Compare(had, asked, true))) {
        cJSON_Delete(*out);
        *out = NULL;
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Error in field '%s.value_type' : the value_type of a column family is "
                       "set when it is created and cannot change",
                       prefix);
    }
    if (had && !asked)
        cJSON_AddItemToObject(*out, "valueType", cJSON_Duplicate(had, true));
    return EM_OK;
}

/* An update's update_mask (comma-separated): gc_rule, the only field of a family an update
 * changes here, is also what an empty mask means (bigtable_table_admin.proto); any other
 * field is refused, value_type included (immutable once the family exists). */
static enum em_code check_update_mask(const cJSON *mod, const char *id, struct em_status *st)
{
    const char *mask = em_json_string(mod, "updateMask");
    char fields[256], *save = NULL;
    snprintf(fields, sizeof(fields), "%s", mask ? mask : "");
    for (char *f = strtok_r(fields, ", ", &save); f; f = strtok_r(NULL, ", ", &save)) {
        if (strcmp(f, "gc_rule") != 0 && strcmp(f, "gcRule") != 0)
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid update_mask of the column family %.64s: the field %.64s "
                           "cannot be updated (gc_rule can).",
                           id, f);
    }
    return EM_OK;
}

/* Applies modification index of ModifyColumnFamilies to families; a dropped family's name
 * goes to dropped. A table protected against deletion keeps its families (table.proto:
 * deletion_protection covers "the column families in the table"). */
static enum em_code modify_family(cJSON *families, const cJSON *mod, int index,
                                  bool protected_table, cJSON *dropped, struct em_status *st)
{
    const char *id = em_json_string(mod, "id");
    const cJSON *create = cJSON_GetObjectItem(mod, "create");
    const cJSON *update = cJSON_GetObjectItem(mod, "update");
    bool drop = cJSON_IsTrue(cJSON_GetObjectItem(mod, "drop"));
    if (check_id(id, &bt_family_id_rule, st))
        return st->code;
    if ((create ? 1 : 0) + (update ? 1 : 0) + (drop ? 1 : 0) != 1)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "A modification of the column family %.64s needs exactly one of create, "
                       "update or drop.",
                       id);
    /* family IDs are case-sensitive: "CF1" is another family than "cf1" */
    cJSON *existing = cJSON_GetObjectItemCaseSensitive(families, id);
    if (create && existing)
        return EM_FAIL(st, EM_ALREADY_EXISTS, "Column family already exists: %.64s", id);
    if (!create && !existing)
        return EM_FAIL(st, EM_NOT_FOUND, "Column family not found: %.64s", id);
    if (update && check_update_mask(mod, id, st))
        return st->code;
    if (drop && protected_table)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The column family %.64s cannot be dropped: its table is protected against "
                       "deletion. Update the table with deletion_protection false first.",
                       id);
    if (drop) {
        cJSON_DeleteItemFromObjectCaseSensitive(families, id);
        cJSON_AddItemToArray(dropped, cJSON_CreateString(id));
        return EM_OK;
    }
    cJSON *family = NULL;
    if (modified_family(create ? create : update, existing, index, create ? "create" : "update",
                        &family, st))
        return st->code;
    if (existing)
        cJSON_ReplaceItemInObjectCaseSensitive(families, id, family);
    else
        cJSON_AddItemToObject(families, id, family);
    return EM_OK;
}

enum em_code bt_table_modify_families(struct bt_admin *admin, const char *name,
                                      const cJSON *modifications, cJSON **out, cJSON **dropped,
                                      struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char instance[BT_NAME_MAX];
    cJSON *stored = NULL;
    *out = *dropped = NULL;
    if (bt_check_name(name, "tables", "table", st))
        return st->code;
    if (cJSON_GetArraySize(modifications) == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "No modifications in the request.");
    bt_instance_of(name, instance);
    *dropped = cJSON_CreateArray();
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, name, BT_KIND_TABLE, "Table", &stored, st) &&
        !bt_check_no_disabled_cluster(admin, instance, "modify column families", st)) {
        cJSON *families = cJSON_GetObjectItem(stored, "columnFamilies");
        if (!families)
            families = cJSON_AddObjectToObject(stored, "columnFamilies");
        bool protected_table = cJSON_IsTrue(cJSON_GetObjectItem(stored, "deletionProtection"));
        const cJSON *mod;
        int index = 0;
        cJSON_ArrayForEach(mod, modifications)
        {
            if (modify_family(families, mod, index++, protected_table, *dropped, st))
                break;
        }
        if (!st->code)
            bt_save(admin, stored, BT_KIND_TABLE, instance, true, st);
    }
    pthread_mutex_unlock(&admin->lock);
    if (!st->code)
        *out = render(admin, stored, BT_VIEW_SCHEMA);
    else {
        cJSON_Delete(*dropped);
        *dropped = NULL;
    }
    cJSON_Delete(stored);
    return st->code;
}

/* One path of an UpdateTable mask: deletion protection or a setting, from table to stored. */
struct update_target {
    const cJSON *table;
    cJSON *stored;
};

static enum em_code update_path(const char *path, void *arg, struct em_status *st)
{
    struct update_target *t = arg;
    bool handled;
    if (em_mask_path_is(path, "deletionProtection")) {
        cJSON_DeleteItemFromObject(t->stored, "deletionProtection");
        if (cJSON_IsTrue(cJSON_GetObjectItem(t->table, "deletionProtection")))
            cJSON_AddTrueToObject(t->stored, "deletionProtection");
        return EM_OK;
    }
    if (bt_table_settings_update(path, t->table, t->stored, &handled, st) || handled)
        return st->code;
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Invalid update_mask: the field %.100s of a table cannot be updated (these "
                   "can: deletion_protection, change_stream_config, tiered_storage_config).",
                   path);
}

enum em_code bt_table_update(struct bt_admin *admin, const char *name, const cJSON *table,
                             const char *mask, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char instance[BT_NAME_MAX];
    cJSON *stored = NULL;
    *out = NULL;
    size_t paths = 0;
    if (bt_check_name(name, "tables", "table", st))
        return st->code;
    if (!mask || !*mask)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The update_mask must be specified.");
    bt_instance_of(name, instance);
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, name, BT_KIND_TABLE, "Table", &stored, st)) {
        struct update_target target = {table, stored};
        cJSON *clusters = NULL;
        if (!em_mask_each(mask, update_path, &target, &paths, st) && paths == 0)
            EM_FAIL(st, EM_INVALID_ARGUMENT, "The update_mask must be specified.");
        if (!st->code &&
            !bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, st) &&
            !bt_table_settings_check_storage(stored, clusters, st))
            bt_save(admin, stored, BT_KIND_TABLE, instance, true, st);
        cJSON_Delete(clusters);
    }
    pthread_mutex_unlock(&admin->lock);
    if (!st->code)
        *out = render(admin, stored, BT_VIEW_SCHEMA);
    cJSON_Delete(stored);
    return st->code;
}

enum em_code bt_table_delete(struct bt_admin *admin, const char *name, int64_t now,
                             struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *stored = NULL;
    if (bt_check_name(name, "tables", "table", st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    if (!bt_load(admin, name, BT_KIND_TABLE, "Table", &stored, st)) {
        if (cJSON_IsTrue(cJSON_GetObjectItem(stored, "deletionProtection")))
            EM_FAIL(st, EM_FAILED_PRECONDITION,
                    "The table %.300s is protected against deletion: update it with "
                    "deletion_protection false first.",
                    name);
        else if (!bt_views_check_unprotected(admin, name, st) &&
                 !bt_deleted_table_keep(admin, stored, now, st))
            bt_views_remove_under(admin, name);
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(stored);
    return st->code;
}

enum em_code bt_table_remove(struct bt_admin *admin, const char *name, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char instance[BT_NAME_MAX];
    if (!bt_instance_of(name, instance))
        return BT_ERR_INVALID_NAME(st, "table", name);
    pthread_mutex_lock(&admin->lock);
    if (!bt_store_delete(admin->store, name, st))
        bt_table_shred_replicas(admin, name, instance);
    pthread_mutex_unlock(&admin->lock);
    return st->code;
}

/* --- routing of data calls --- */

void bt_route_clear(struct bt_route *route)
{
    cJSON_Delete(route->table);
    route->table = NULL;
}

/* Whether the multi-cluster policy's clusterIds (none: every cluster) include id. */
static bool routes_to(const cJSON *multi, const char *id)
{
    const cJSON *ids = cJSON_GetObjectItem(multi, "clusterIds");
    if (cJSON_GetArraySize(ids) == 0)
        return true;
    const cJSON *c;
    cJSON_ArrayForEach(c, ids)
    {
        if (cJSON_IsString(c) && strcmp(c->valuestring, id) == 0)
            return true;
    }
    return false;
}

/* Fills the route's clusters from the profile (clusters: the instance's). */
static void fill_route(struct bt_route *out, const char *table, const cJSON *profile,
                       const cJSON *clusters, const cJSON *cascade)
{
    const cJSON *single = cJSON_GetObjectItem(profile, "singleClusterRouting");
    const cJSON *multi = cJSON_GetObjectItem(profile, "multiClusterRoutingUseAny");
    const char *single_id = em_json_string(single, "clusterId");
    out->single_cluster = single != NULL;
    const cJSON *c;
    cJSON_ArrayForEach(c, clusters)
    {
        if (out->all_count >= BT_MAX_CLUSTERS)
            break;
        const char *name = em_json_string(c, "name");
        const char *id = bt_last_id(name);
        bt_replica_name(table, id, out->all_replicas[out->all_count++]);
        bool chosen = single ? single_id && strcmp(single_id, id) == 0 : routes_to(multi, id);
        if (!chosen)
            continue;
        snprintf(out->clusters[out->cluster_count], BT_NAME_MAX, "%s", name);
        out->marks[out->cluster_count] = bt_cascade_mark_of(cascade, id);
        bt_replica_name(table, id, out->replicas[out->cluster_count++]);
    }
}

/* The route cache: every readRows and mutateRow needs its call's route, which reads four
 * rows of metadata.db (table, app profile, clusters, the cascade's record) and parses
 * them. A route stays in the cache while no row of the admin plane has been written since
 * it was read (bt_store_generation); a slot per (table, profile) hash, the last one in it
 * kept. */
#define ROUTE_SLOTS 32

/* A route read once and shared by the calls that use it (immutable once published);
 * freed with its last reference, the cache's included. */
struct shared_route {
    atomic_int refs;
    struct bt_route route; /* route.table owned */
};

struct route_slot {
    uint64_t generation; /* bt_store_generation before the route was read */
    char table[BT_NAME_MAX];
    char profile[BT_NAME_MAX];
    struct shared_route *shared; /* NULL: empty */
};

struct bt_route_cache {
    pthread_mutex_t lock;
    struct route_slot slots[ROUTE_SLOTS];
};

static void shared_put(struct shared_route *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
        bt_route_clear(&s->route);
        free(s);
    }
}

void bt_route_put(const struct bt_route *route)
{
    if (route)
        shared_put(
            (struct shared_route *)((const char *)route - offsetof(struct shared_route, route)));
}

struct bt_route_cache *bt_route_cache_new(void)
{
    struct bt_route_cache *cache = calloc(1, sizeof(*cache));
    if (cache)
        pthread_mutex_init(&cache->lock, NULL);
    return cache;
}

void bt_route_cache_free(struct bt_route_cache *cache)
{
    if (!cache)
        return;
    for (int i = 0; i < ROUTE_SLOTS; i++)
        shared_put(cache->slots[i].shared);
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

static struct route_slot *route_slot(struct bt_route_cache *cache, const char *table,
                                     const char *profile)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = table; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (const char *p = profile; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &cache->slots[h % ROUTE_SLOTS];
}

/* A reference to the cached route, or NULL when there is none that still holds. */
static struct shared_route *route_cached(struct bt_route_cache *cache, const char *table,
                                         const char *profile)
{
    uint64_t now = bt_store_generation();
    struct shared_route *hit = NULL;
    pthread_mutex_lock(&cache->lock);
    struct route_slot *slot = route_slot(cache, table, profile);
    if (slot->shared && slot->generation == now && strcmp(slot->table, table) == 0 &&
        strcmp(slot->profile, profile) == 0) {
        hit = slot->shared;
        atomic_fetch_add(&hit->refs, 1);
    }
    pthread_mutex_unlock(&cache->lock);
    return hit;
}

/* Keeps s (a reference of its own), read at generation. */
static void route_keep(struct bt_route_cache *cache, const char *table, const char *profile,
                       uint64_t generation, struct shared_route *s)
{
    if (strlen(table) >= BT_NAME_MAX || strlen(profile) >= BT_NAME_MAX)
        return;
    atomic_fetch_add(&s->refs, 1);
    pthread_mutex_lock(&cache->lock);
    struct route_slot *slot = route_slot(cache, table, profile);
    struct shared_route *old = slot->shared;
    slot->generation = generation;
    snprintf(slot->table, sizeof(slot->table), "%s", table);
    snprintf(slot->profile, sizeof(slot->profile), "%s", profile);
    slot->shared = s;
    pthread_mutex_unlock(&cache->lock);
    shared_put(old);
}

/* Reads the route of table through profile_id from metadata.db. */
static enum em_code load_route(struct bt_admin *admin, const char *table, const char *profile_id,
                               struct bt_route *out, struct em_status *st)
{
    char instance[BT_NAME_MAX], profile_name[BT_NAME_MAX];
    *out = (struct bt_route){0};
    if (bt_check_name(table, "tables", "table", st))
        return st->code;
    bt_instance_of(table, instance);
    snprintf(profile_name, sizeof(profile_name), "%.380s/appProfiles/%.100s", instance, profile_id);
    cJSON *profile = NULL, *clusters = NULL, *cascade = NULL;
    if (!bt_load(admin, table, BT_KIND_TABLE, "Table", &out->table, st) &&
        !bt_load(admin, profile_name, BT_KIND_APP_PROFILE, "AppProfile", &profile, st) &&
        !bt_store_list(admin->store, BT_KIND_CLUSTER, instance, false, &clusters, st)) {
        cascade = bt_cascade_load(admin, instance);
        fill_route(out, table, profile, clusters, cascade);
    }
    cJSON_Delete(cascade);
    cJSON_Delete(profile);
    cJSON_Delete(clusters);
    if (st->code)
        bt_route_clear(out);
    return st->code;
}

enum em_code bt_route_get(struct bt_admin *admin, const char *table, const char *app_profile,
                          const struct bt_route **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    *out = NULL;
    const char *profile_id = app_profile && *app_profile ? app_profile : "default";
    uint64_t generation = bt_store_generation(); /* before reading: see route_keep */
    struct shared_route *s = route_cached(admin->routes, table, profile_id);
    if (!s) {
        if (!(s = malloc(sizeof(*s))))
            return EM_FAIL_OOM(st);
        atomic_init(&s->refs, 1);
        if (load_route(admin, table, profile_id, &s->route, st)) {
            free(s);
            return st->code;
        }
        route_keep(admin->routes, table, profile_id, generation, s);
    }
    *out = &s->route;
    return EM_OK;
}

enum em_code bt_route_for(struct bt_admin *admin, const char *table, const char *app_profile,
                          struct bt_route *out, struct em_status *st)
{
    const struct bt_route *shared;
    *out = (struct bt_route){0};
    if (bt_route_get(admin, table, app_profile, &shared, st))
        return st->code;
    *out = *shared;
    out->table = cJSON_Duplicate(shared->table, true);
    bt_route_put(shared);
    return out->table ? EM_OK : EM_FAIL_OOM(st);
}

enum em_code bt_table_names(struct bt_admin *admin, cJSON **out, struct em_status *st)
{
    cJSON *tables = NULL;
    *out = NULL;
    if (bt_store_list(admin->store, BT_KIND_TABLE, "projects/", true, &tables, st))
        return st->code;
    *out = cJSON_CreateArray();
    const cJSON *t;
    cJSON_ArrayForEach(t, tables)
    {
        cJSON_AddItemToArray(*out, cJSON_CreateString(em_json_string(t, "name")));
    }
    cJSON_Delete(tables);
    return EM_OK;
}
