/*
 * bigtable_views: authorized views (create, get, list, update, delete), their removal with
 * their table, and their resolution for the data plane (see bigtable_views.h).
 */
#include "bigtable_views.h"

#include "bigtable_admin_parts.h"
#include "bigtable_errors.h"
#include "bigtable_store.h"
#include "em_crypto.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_log.h"
#include "em_names.h"
#include "em_store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIEWS_SEGMENT "/authorizedViews/"

static const struct em_id_rule view_id_rule = {
    "authorized view ID",
    1,
    50,
    "_-.",
    false,
    false,
    "an authorized view ID is 1 to 50 letters, digits, underscores, hyphens or periods."};

enum em_code bt_view_detail_parse(const char *text, enum bt_view_detail fallback,
                                  enum bt_view_detail *out, struct em_status *st)
{
    static const char *const names[] = {"NAME_ONLY", "BASIC", "FULL"};
    *out = fallback;
    if (!text || !*text || strcmp(text, "RESPONSE_VIEW_UNSPECIFIED") == 0)
        return EM_OK;
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (enum bt_view_detail)i;
            return EM_OK;
        }
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid view %.64s.", text);
}

/* --- names --- */

/* "projects/p/instances/i/tables/t/authorizedViews/v": the table part checked and copied. */
static enum em_code check_view_name(const char *name, char table[BT_NAME_MAX], struct em_status *st)
{
    const char *views = name ? strstr(name, VIEWS_SEGMENT) : NULL;
    if (!views || views - name >= BT_NAME_MAX)
        return BT_ERR_INVALID_NAME(st, "authorized view", name ? name : "");
    snprintf(table, BT_NAME_MAX, "%.*s", (int)(views - name), name);
    if (bt_check_name(table, "tables", "authorized view", st))
        return st->code;
    const char *id = views + strlen(VIEWS_SEGMENT);
    if (strchr(id, '/'))
        return BT_ERR_INVALID_NAME(st, "authorized view", name);
    return em_id_check(id, &view_id_rule, st);
}

/* --- the subset at rest --- */

#define SEALED_SUBSET "sealedSubsetView"

/* view's subsetView, replaced by SEALED_SUBSET: base64 of em_seal(the default key, the
 * view's name, the subset's JSON). */
static enum em_code seal_subset(const struct bt_admin *admin, cJSON *view, struct em_status *st)
{
    cJSON *subset = cJSON_DetachItemFromObject(view, "subsetView");
    if (!subset)
        return EM_OK;
    char *text = cJSON_PrintUnformatted(subset);
    cJSON_Delete(subset);
    size_t len = text ? strlen(text) : 0;
    unsigned char *sealed = text ? malloc(len + EM_SEAL_OVERHEAD) : NULL;
    const char *name = em_json_string(view, "name");
    name = name ? name : "";
    char *b64 = NULL;
    if (!sealed)
        EM_FAIL_OOM(st);
    else if (!em_seal(admin->seal_key, name, strlen(name), text, len, sealed, st) &&
             !(b64 = em_b64_encode(sealed, len + EM_SEAL_OVERHEAD)))
        EM_FAIL_OOM(st);
    if (b64)
        cJSON_AddStringToObject(view, SEALED_SUBSET, b64);
    if (text)
        em_wipe(text, len);
    free(text);
    free(sealed);
    free(b64);
    return st->code;
}

/* The stored view's SEALED_SUBSET opened back into subsetView (a view stored in clear by
 * an earlier release is left as it is). */
static enum em_code open_subset(const struct bt_admin *admin, cJSON *view, struct em_status *st)
{
    const char *b64 = em_json_string(view, SEALED_SUBSET);
    if (!b64)
        return EM_OK;
    const char *name = em_json_string(view, "name");
    name = name ? name : "";
    unsigned char *sealed = NULL, *text = NULL;
    size_t len = 0;
    bool opened = em_b64_decode(b64, strlen(b64), &sealed, &len) && len >= EM_SEAL_OVERHEAD &&
                  (text = malloc(len - EM_SEAL_OVERHEAD + 1)) != NULL &&
                  em_open(admin->seal_key, name, strlen(name), sealed, len, text);
    cJSON *subset = NULL;
    if (opened) {
        text[len - EM_SEAL_OVERHEAD] = '\0';
        subset = cJSON_Parse((const char *)text);
        em_wipe(text, len - EM_SEAL_OVERHEAD);
    }
    free(text);
    free(sealed);
    if (!subset)
        return EM_FAIL(st, EM_DATA_LOSS,
                       "The authorized view %.300s cannot be read: its stored "
                       "definition does not open with this data directory's key.",
                       name);
    cJSON_DeleteItemFromObject(view, SEALED_SUBSET);
    cJSON_AddItemToObject(view, "subsetView", subset);
    return EM_OK;
}

/* --- stored views --- */

static enum em_code load_view(struct bt_admin *admin, const char *name, cJSON **out,
                              struct em_status *st)
{
    if (bt_load(admin, name, BT_KIND_AUTHORIZED_VIEW, "AuthorizedView", out, st) ||
        open_subset(admin, *out, st)) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

static enum em_code save_view(struct bt_admin *admin, const cJSON *view, bool replace,
                              struct em_status *st)
{
    char instance[BT_NAME_MAX];
    bt_instance_of(em_json_string(view, "name"), instance);
    cJSON *stored = cJSON_Duplicate(view, true);
    if (!stored)
        return EM_FAIL_OOM(st);
    if (!seal_subset(admin, stored, st))
        bt_save(admin, stored, BT_KIND_AUTHORIZED_VIEW, instance, replace, st);
    cJSON_Delete(stored);
    return st->code;
}

/* A fresh etag: emulator time and a process-wide counter. */
static void set_new_etag(cJSON *view, int64_t now)
{
    static atomic_uint_fast64_t counter;
    char etag[48];
    snprintf(etag, sizeof(etag), "%llx-%llx", (unsigned long long)now,
             (unsigned long long)atomic_fetch_add(&counter, 1));
    cJSON_DeleteItemFromObject(view, "etag");
    cJSON_AddStringToObject(view, "etag", etag);
}

/* A reply: the stored view with the detail asked for. */
static cJSON *render(const cJSON *stored, enum bt_view_detail detail)
{
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "name", em_json_string(stored, "name"));
    if (detail == BT_AV_NAME_ONLY)
        return out;
    cJSON_AddBoolToObject(out, "deletionProtection",
                          cJSON_IsTrue(cJSON_GetObjectItem(stored, "deletionProtection")));
    cJSON_AddStringToObject(out, "etag", em_json_string(stored, "etag"));
    const cJSON *subset = cJSON_GetObjectItem(stored, "subsetView");
    if (detail == BT_AV_FULL && subset)
        cJSON_AddItemToObject(out, "subsetView", cJSON_Duplicate(subset, true));
    return out;
}

/* subset (a SubsetView) parses, and names only families of the table. */
static enum em_code check_subset(const cJSON *subset, const cJSON *table, struct em_status *st)
{
    struct bt_subset parsed;
    if (bt_subset_parse(subset, &parsed, st))
        return st->code;
    const cJSON *families = cJSON_GetObjectItem(table, "columnFamilies");
    for (size_t i = 0; i < parsed.n_families && !st->code; i++)
        if (!cJSON_GetObjectItemCaseSensitive(families, parsed.families[i].name))
            EM_FAIL(st, EM_INVALID_ARGUMENT,
                    "The authorized view names the column family %.100s, which the table "
                    "%.300s does not have.",
                    parsed.families[i].name, em_json_string(table, "name"));
    bt_subset_free(&parsed);
    return st->code;
}

/* --- create, get, list --- */

/* Under the lock: the view's JSON checked against its table and stored. */
static enum em_code insert_view(struct bt_admin *admin, const char *table_name, cJSON *created,
                                struct em_status *st)
{
    cJSON *table = NULL;
    if (!bt_load(admin, table_name, BT_KIND_TABLE, "Table", &table, st) &&
        !check_subset(cJSON_GetObjectItem(created, "subsetView"), table, st))
        save_view(admin, created, false, st);
    if (st->code == EM_ALREADY_EXISTS)
        BT_ERR_EXISTS(st, "AuthorizedView", em_json_string(created, "name"));
    cJSON_Delete(table);
    return st->code;
}

enum em_code bt_view_create(struct bt_admin *admin, const char *table, const char *id,
                            const cJSON *view, int64_t now, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char name[BT_NAME_MAX + 80];
    *out = NULL;
    if (bt_check_name(table, "tables", "table", st))
        return st->code;
    if (!id || !*id)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The authorized_view_id must be specified.");
    if (em_id_check(id, &view_id_rule, st))
        return st->code;
    snprintf(name, sizeof(name), "%s" VIEWS_SEGMENT "%s", table, id);
    if (strlen(name) >= BT_NAME_MAX)
        return BT_ERR_INVALID_NAME(st, "authorized view", name);
    cJSON *created = cJSON_CreateObject();
    cJSON_AddStringToObject(created, "name", name);
    cJSON_AddBoolToObject(created, "deletionProtection",
                          cJSON_IsTrue(cJSON_GetObjectItem(view, "deletionProtection")));
    const cJSON *subset = cJSON_GetObjectItem(view, "subsetView");
    cJSON_AddItemToObject(created, "subsetView",
                          subset ? cJSON_Duplicate(subset, true) : cJSON_CreateNull());
    set_new_etag(created, now);
    pthread_mutex_lock(&admin->lock);
    insert_view(admin, table, created, st);
    pthread_mutex_unlock(&admin->lock);
    if (!st->code)
        *out = render(created, BT_AV_FULL);
    cJSON_Delete(created);
    return st->code;
}

enum em_code bt_view_get(struct bt_admin *admin, const char *name, enum bt_view_detail detail,
                         cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char table[BT_NAME_MAX];
    cJSON *stored = NULL;
    *out = NULL;
    if (check_view_name(name, table, st) || load_view(admin, name, &stored, st))
        return st->code;
    *out = render(stored, detail);
    cJSON_Delete(stored);
    return EM_OK;
}

/* The stored views of table (an array, by name). */
static enum em_code views_of(struct bt_admin *admin, const char *prefix, cJSON **out,
                             struct em_status *st)
{
    char instance[BT_NAME_MAX], start[BT_NAME_MAX + 20];
    cJSON *all = NULL;
    *out = NULL;
    if (!bt_instance_of(prefix, instance))
        return BT_ERR_INVALID_NAME(st, "table", prefix);
    if (bt_store_list(admin->store, BT_KIND_AUTHORIZED_VIEW, instance, false, &all, st))
        return st->code;
    snprintf(start, sizeof(start), "%s/", prefix);
    *out = cJSON_CreateArray();
    cJSON *v;
    while (!st->code && (v = cJSON_DetachItemFromArray(all, 0))) {
        if (strncmp(em_json_string(v, "name"), start, strlen(start)) == 0 &&
            !open_subset(admin, v, st))
            cJSON_AddItemToArray(*out, v);
        else
            cJSON_Delete(v);
    }
    cJSON_Delete(all);
    if (st->code) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

enum em_code bt_views_seal_stored(struct bt_admin *admin, struct em_status *st)
{
    cJSON *all = NULL;
    if (bt_store_list(admin->store, BT_KIND_AUTHORIZED_VIEW, "projects/", true, &all, st))
        return st->code;
    int sealed = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, all)
    {
        if (cJSON_HasObjectItem(v, "subsetView") && !save_view(admin, v, true, st))
            sealed++;
        if (st->code)
            break;
    }
    cJSON_Delete(all);
    if (st->code || sealed == 0)
        return st->code;
    em_info("bigtable: %d authorized views stored in clear are sealed now", sealed);
    struct em_status later = {0};
    if (em_store_purge(admin->store, &later))
        em_store_purge_later(admin->store); /* the next tick takes the clear copies away */
    return EM_OK;
}

enum em_code bt_view_list(struct bt_admin *admin, const char *table, enum bt_view_detail detail,
                          cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *stored = NULL, *t = NULL;
    *out = NULL;
    if (bt_check_name(table, "tables", "table", st) ||
        bt_load(admin, table, BT_KIND_TABLE, "Table", &t, st) ||
        views_of(admin, table, &stored, st))
        goto out;
    *out = cJSON_CreateArray();
    const cJSON *v;
    cJSON_ArrayForEach(v, stored)
    {
        cJSON_AddItemToArray(*out, render(v, detail));
    }
out:
    cJSON_Delete(t);
    cJSON_Delete(stored);
    return st->code;
}

/* --- update, delete --- */

static bool etag_differs(const cJSON *stored, const char *etag)
{
    return etag && *etag && strcmp(etag, em_json_string(stored, "etag")) != 0;
}

static enum em_code aborted_etag(const char *name, struct em_status *st)
{
    return EM_FAIL(st, EM_ABORTED,
                   "The etag given does not match the authorized view %.300s's: it changed "
                   "since it was read.",
                   name);
}

static bool mask_is(const char *field, const char *snake, const char *camel)
{
    return strcmp(field, snake) == 0 || strcmp(field, camel) == 0;
}

/* Sets stored's member key to the body's (absent: removed, or false for a bool). */
static void copy_member(cJSON *stored, const cJSON *view, const char *key)
{
    const cJSON *value = cJSON_GetObjectItem(view, key);
    cJSON_DeleteItemFromObject(stored, key);
    if (strcmp(key, "deletionProtection") == 0)
        cJSON_AddBoolToObject(stored, key, cJSON_IsTrue(value));
    else
        cJSON_AddItemToObject(stored, key,
                              value ? cJSON_Duplicate(value, true) : cJSON_CreateNull());
}

/* Applies the mask (empty: the fields the body sets; "*": every field) to stored. */
static enum em_code apply_mask(cJSON *stored, const cJSON *view, const char *mask,
                               struct em_status *st)
{
    if (!mask || !*mask) {
        if (cJSON_HasObjectItem(view, "subsetView"))
            copy_member(stored, view, "subsetView");
        if (cJSON_HasObjectItem(view, "deletionProtection"))
            copy_member(stored, view, "deletionProtection");
        return EM_OK;
    }
    char fields[256];
    snprintf(fields, sizeof(fields), "%s", mask);
    char *save = NULL;
    for (char *f = strtok_r(fields, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        bool all = strcmp(f, "*") == 0;
        if (all || mask_is(f, "subset_view", "subsetView"))
            copy_member(stored, view, "subsetView");
        if (all || mask_is(f, "deletion_protection", "deletionProtection"))
            copy_member(stored, view, "deletionProtection");
        if (!all && !mask_is(f, "subset_view", "subsetView") &&
            !mask_is(f, "deletion_protection", "deletionProtection"))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid update_mask: the field %.100s of an authorized view cannot "
                           "be updated; only subset_view and deletion_protection can.",
                           f);
    }
    return EM_OK;
}

/* Under the lock: the update of the stored view, checked and saved. */
static enum em_code update_stored(struct bt_admin *admin, const char *table_name, cJSON *stored,
                                  const cJSON *view, const char *mask, int64_t now,
                                  struct em_status *st)
{
    cJSON *table = NULL;
    if (etag_differs(stored, em_json_string(view, "etag")))
        return aborted_etag(em_json_string(stored, "name"), st);
    if (!apply_mask(stored, view, mask, st) &&
        !bt_load(admin, table_name, BT_KIND_TABLE, "Table", &table, st) &&
        !check_subset(cJSON_GetObjectItem(stored, "subsetView"), table, st)) {
        set_new_etag(stored, now);
        save_view(admin, stored, true, st);
    }
    cJSON_Delete(table);
    return st->code;
}

enum em_code bt_view_update(struct bt_admin *admin, const char *name, const cJSON *view,
                            const char *mask, int64_t now, cJSON **out, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char table[BT_NAME_MAX];
    cJSON *stored = NULL;
    *out = NULL;
    if (check_view_name(name, table, st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    if (!load_view(admin, name, &stored, st))
        update_stored(admin, table, stored, view, mask, now, st);
    pthread_mutex_unlock(&admin->lock);
    if (!st->code)
        *out = render(stored, BT_AV_FULL);
    cJSON_Delete(stored);
    return st->code;
}

static enum em_code protected_view(const cJSON *view, struct em_status *st)
{
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "The authorized view %.300s is protected against deletion: update it with "
                   "deletion_protection false first.",
                   em_json_string(view, "name"));
}

enum em_code bt_view_delete(struct bt_admin *admin, const char *name, const char *etag,
                            struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    char table[BT_NAME_MAX];
    cJSON *stored = NULL;
    if (check_view_name(name, table, st))
        return st->code;
    pthread_mutex_lock(&admin->lock);
    if (!load_view(admin, name, &stored, st)) {
        if (etag_differs(stored, etag))
            aborted_etag(name, st);
        else if (cJSON_IsTrue(cJSON_GetObjectItem(stored, "deletionProtection")))
            protected_view(stored, st);
        else if (!bt_store_delete(admin->store, name, st))
            em_iam_delete_under(admin->store, name, st);
    }
    pthread_mutex_unlock(&admin->lock);
    cJSON_Delete(stored);
    return st->code;
}

/* --- the data plane, the table and instance deletes --- */

enum em_code bt_view_resolve(struct bt_admin *admin, const char *name, char *table,
                             struct bt_subset *subset, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    cJSON *stored = NULL;
    *subset = (struct bt_subset){0};
    if (check_view_name(name, table, st) || load_view(admin, name, &stored, st))
        return st->code;
    bt_subset_parse(cJSON_GetObjectItem(stored, "subsetView"), subset, st);
    cJSON_Delete(stored);
    return st->code;
}

enum em_code bt_views_check_unprotected(struct bt_admin *admin, const char *prefix,
                                        struct em_status *st)
{
    cJSON *views = NULL;
    if (views_of(admin, prefix, &views, st))
        return st->code;
    const cJSON *v;
    cJSON_ArrayForEach(v, views)
    {
        if (cJSON_IsTrue(cJSON_GetObjectItem(v, "deletionProtection"))) {
            protected_view(v, st);
            break;
        }
    }
    cJSON_Delete(views);
    return st->code;
}

void bt_views_remove_under(struct bt_admin *admin, const char *table)
{
    cJSON *views = NULL;
    struct em_status st = {0};
    if (views_of(admin, table, &views, &st))
        return;
    const cJSON *v;
    cJSON_ArrayForEach(v, views)
    {
        const char *name = em_json_string(v, "name");
        if (!bt_store_delete(admin->store, name, &st))
            em_iam_delete_under(admin->store, name, &st);
    }
    cJSON_Delete(views);
}
