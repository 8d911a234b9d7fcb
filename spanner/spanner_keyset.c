/*
 * spanner_keyset: KeySet -> SQLite condition (see spanner_keyset.h).
 * Reference: https://cloud.google.com/spanner/docs/reference/rest/v1/KeySet
 */
#include "spanner_keyset.h"

#include <stdlib.h>
#include <string.h>

void sp_binds_clear(struct sp_binds *binds)
{
    for (int i = 0; i < binds->count; i++)
        sp_stored_clear(&binds->values[i]);
    free(binds->values);
    *binds = (struct sp_binds){0};
}

enum em_code sp_binds_add(struct sp_binds *binds, const struct sp_type *type, const cJSON *json,
                          const char *what, struct em_status *st)
{
    if (binds->count == binds->cap) {
        int cap = binds->cap ? binds->cap * 2 : 8;
        struct sp_stored *grown = realloc(binds->values, (size_t)cap * sizeof(*grown));
        if (!grown)
            return EM_FAIL_OOM(st);
        binds->values = grown;
        binds->cap = cap;
    }
    struct sp_stored *v = &binds->values[binds->count];
    *v = (struct sp_stored){0};
    if (sp_value_from_json(type, json, what, v, st))
        return st->code;
    binds->count++;
    return EM_OK;
}

int sp_binds_apply(const struct sp_binds *binds, sqlite3_stmt *stmt)
{
    for (int i = 0; i < binds->count; i++) {
        int rc = sp_stored_bind(stmt, i + 1, &binds->values[i]);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

/* Binds the values of a key prefix; *n receives its length. */
static enum em_code bind_prefix(const cJSON *values, const struct sp_key_column *key, int nkey,
                                struct sp_binds *binds, int *first, int *n, struct em_status *st)
{
    if (!cJSON_IsArray(values))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A key in a KeySet must be a list of values.");
    *n = cJSON_GetArraySize(values);
    if (*n > nkey)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Wrong number of key parts: a key has %d part%s, got a key of %d.", nkey,
                       nkey == 1 ? "" : "s", *n);
    *first = binds->count + 1;
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, values)
    {
        if (sp_binds_add(binds, &key[i].type, v, key[i].name, st))
            return st->code;
        i++;
    }
    return EM_OK;
}

static void equal(const struct sp_key_column *key, int n, int first, struct sp_buf *sql)
{
    sp_buf_puts(sql, "(1");
    for (int i = 0; i < n; i++) {
        sp_buf_puts(sql, " AND ");
        sp_buf_ident(sql, key[i].name);
        sp_buf_printf(sql, " IS ?%d", first + i);
    }
    sp_buf_puts(sql, ")");
}

static bool is_float_key(const struct sp_key_column *column)
{
    return column->type.code == SP_TYPE_FLOAT64 || column->type.code == SP_TYPE_FLOAT32;
}

/* A key column as it orders: a FLOAT64 one by sp_float_order() (NaN first, see
 * spanner_value.h), anything else by its storage. */
static void order_term(const struct sp_key_column *column, struct sp_buf *sql)
{
    if (is_float_key(column))
        sp_buf_puts(sql, "sp_float_order(");
    sp_buf_ident(sql, column->name);
    if (is_float_key(column))
        sp_buf_puts(sql, ")");
}

/* key after (after true) or before the prefix, in key order; or equal to it with or_equal. */
static void compare(const struct sp_key_column *key, int n, int first, bool after, bool or_equal,
                    struct sp_buf *sql)
{
    sp_buf_puts(sql, "(0");
    for (int i = 0; i < n; i++) {
        sp_buf_puts(sql, " OR (1");
        for (int j = 0; j < i; j++) {
            sp_buf_puts(sql, " AND ");
            sp_buf_ident(sql, key[j].name);
            sp_buf_printf(sql, " IS ?%d", first + j);
        }
        sp_buf_puts(sql, " AND ");
        order_term(&key[i], sql);
        sp_buf_printf(sql, is_float_key(&key[i]) ? " %s sp_float_order(?%d))" : " %s ?%d)",
                      after != key[i].desc ? ">" : "<", first + i);
    }
    if (or_equal) {
        sp_buf_puts(sql, " OR ");
        equal(key, n, first, sql);
    }
    sp_buf_puts(sql, ")");
}

/* One bound of a range: startClosed/startOpen or endClosed/endOpen. */
static enum em_code bound(const cJSON *range, const char *closed_name, const char *open_name,
                          bool start, const struct sp_key_column *key, int nkey, struct sp_buf *sql,
                          struct sp_binds *binds, struct em_status *st)
{
    const cJSON *closed = cJSON_GetObjectItem(range, closed_name);
    const cJSON *open = cJSON_GetObjectItem(range, open_name);
    if ((closed != NULL) == (open != NULL))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A KeyRange needs exactly one of %s and %s.",
                       closed_name, open_name);
    int first, n;
    if (bind_prefix(closed ? closed : open, key, nkey, binds, &first, &n, st))
        return st->code;
    sp_buf_puts(sql, " AND ");
    compare(key, n, first, start, closed != NULL, sql);
    return EM_OK;
}

enum em_code sp_keyset_where(const cJSON *key_set, const struct sp_key_column *key, int nkey,
                             struct sp_buf *sql, struct sp_binds *binds, struct em_status *st)
{
    if (key_set && !cJSON_IsObject(key_set))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "keySet must be a KeySet object.");
    const cJSON *all = cJSON_GetObjectItem(key_set, "all");
    if (cJSON_IsTrue(all)) {
        sp_buf_puts(sql, "1");
        return EM_OK;
    }
    sp_buf_puts(sql, "(0");
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(key_set, "keys"))
    {
        int first, n;
        if (bind_prefix(item, key, nkey, binds, &first, &n, st))
            return st->code;
        sp_buf_puts(sql, " OR ");
        equal(key, n, first, sql);
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(key_set, "ranges"))
    {
        if (!cJSON_IsObject(item))
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "A KeyRange must be an object.");
        sp_buf_puts(sql, " OR (1");
        if (bound(item, "startClosed", "startOpen", true, key, nkey, sql, binds, st) ||
            bound(item, "endClosed", "endOpen", false, key, nkey, sql, binds, st))
            return st->code;
        sp_buf_puts(sql, ")");
    }
    sp_buf_puts(sql, ")");
    return sql->failed ? EM_FAIL_OOM(st) : EM_OK;
}

void sp_keyset_order(const struct sp_key_column *key, int nkey, struct sp_buf *sql)
{
    for (int i = 0; i < nkey; i++) {
        if (i)
            sp_buf_puts(sql, ", ");
        order_term(&key[i], sql);
        if (key[i].desc)
            sp_buf_puts(sql, " DESC");
    }
}
