/*
 * spanner_keyset: KeySet -> SQLite condition (see spanner_keyset.h).
 * Reference: https://cloud.google.com/spanner/docs/reference/rest/v1/KeySet
 */
#include "spanner_keyset.h"

#include <stdio.h>
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

static enum em_code wrong_parts(int nkey, int n, struct em_status *st)
{
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "Wrong number of key parts: a key has %d part%s, got a key of %d.", nkey,
                   nkey == 1 ? "" : "s", n);
}

/* Binds the values of a key prefix; *n receives its length. */
static enum em_code bind_prefix(const cJSON *values, const struct sp_key_column *key, int nkey,
                                struct sp_binds *binds, int *first, int *n, struct em_status *st)
{
    if (!cJSON_IsArray(values))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A key in a KeySet must be a list of values.");
    *n = cJSON_GetArraySize(values);
    if (*n > nkey)
        return wrong_parts(nkey, *n, st);
    *first = binds->count + 1;
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, values)
    {
        char what[160];
        snprintf(what, sizeof(what), "key column %s", key[i].name);
        if (sp_binds_add(binds, &key[i].type, v, what, st)) {
            if (st->code == EM_INVALID_ARGUMENT) /* as a mutation's bad value */
                st->code = EM_FAILED_PRECONDITION;
            return st->code;
        }
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
                             int key_parts, struct sp_buf *sql, struct sp_binds *binds,
                             struct em_status *st)
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
        if (n != key_parts)
            return wrong_parts(key_parts, n, st);
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

/* --- key spans --- */

static void stored_free(struct sp_stored *values, int n)
{
    for (int i = 0; i < n; i++)
        sp_stored_clear(&values[i]);
    free(values);
}

void sp_key_span_clear(struct sp_key_span *span)
{
    stored_free(span->start, span->nstart);
    stored_free(span->end, span->nend);
    *span = (struct sp_key_span){0};
}

void sp_key_spans_clear(struct sp_key_spans *spans)
{
    for (int i = 0; i < spans->count; i++)
        sp_key_span_clear(&spans->spans[i]);
    free(spans->spans);
    *spans = (struct sp_key_spans){0};
}

/* The values of a key prefix in storage form: *out (malloc'd) and *n. */
static enum em_code prefix_values(const cJSON *values, const struct sp_key_column *key, int nkey,
                                  struct sp_stored **out, int *n, struct em_status *st)
{
    struct sp_binds binds = {0};
    int first, count;
    if (bind_prefix(values, key, nkey, &binds, &first, &count, st)) {
        sp_binds_clear(&binds);
        return st->code;
    }
    *out = binds.values; /* the prefix's values, now the caller's */
    *n = count;
    return EM_OK;
}

static enum em_code add_span(struct sp_key_spans *out, struct em_status *st)
{
    struct sp_key_span *grown = realloc(out->spans, (size_t)(out->count + 1) * sizeof(*grown));
    if (!grown)
        return EM_FAIL_OOM(st);
    out->spans = grown;
    grown[out->count++] = (struct sp_key_span){0};
    return EM_OK;
}

/* One bound of a range into the span's start (start true) or end. */
static enum em_code span_bound(const cJSON *range, const char *closed_name, const char *open_name,
                               bool start, const struct sp_key_column *key, int nkey,
                               struct sp_key_span *span, struct em_status *st)
{
    const cJSON *closed = cJSON_GetObjectItem(range, closed_name);
    const cJSON *open = cJSON_GetObjectItem(range, open_name);
    if ((closed != NULL) == (open != NULL))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "A KeyRange needs exactly one of %s and %s.",
                       closed_name, open_name);
    if (start) {
        span->start_open = closed == NULL;
        return prefix_values(closed ? closed : open, key, nkey, &span->start, &span->nstart, st);
    }
    span->end_open = closed == NULL;
    return prefix_values(closed ? closed : open, key, nkey, &span->end, &span->nend, st);
}

static enum em_code spans_of(const cJSON *key_set, const struct sp_key_column *key, int nkey,
                             struct sp_key_spans *out, struct em_status *st)
{
    if (key_set && !cJSON_IsObject(key_set))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "keySet must be a KeySet object.");
    if (cJSON_IsTrue(cJSON_GetObjectItem(key_set, "all"))) {
        out->all = true;
        return EM_OK;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(key_set, "keys"))
    {
        if (add_span(out, st))
            return st->code;
        struct sp_key_span *span = &out->spans[out->count - 1];
        if (prefix_values(item, key, nkey, &span->start, &span->nstart, st) ||
            prefix_values(item, key, nkey, &span->end, &span->nend, st))
            return st->code;
        if (span->nstart != nkey) /* a key is whole, as in sp_keyset_where */
            return wrong_parts(nkey, span->nstart, st);
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(key_set, "ranges"))
    {
        if (!cJSON_IsObject(item))
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "A KeyRange must be an object.");
        if (add_span(out, st) ||
            span_bound(item, "startClosed", "startOpen", true, key, nkey,
                       &out->spans[out->count - 1], st) ||
            span_bound(item, "endClosed", "endOpen", false, key, nkey, &out->spans[out->count - 1],
                       st))
            return st->code;
    }
    return EM_OK;
}

enum em_code sp_keyset_spans(const cJSON *key_set, const struct sp_key_column *key, int nkey,
                             struct sp_key_spans *out, struct em_status *st)
{
    *out = (struct sp_key_spans){0};
    if (spans_of(key_set, key, nkey, out, st))
        sp_key_spans_clear(out);
    return st->code;
}

static bool stored_copy(const struct sp_stored *from, int n, struct sp_stored **out)
{
    *out = n ? calloc((size_t)n, sizeof(**out)) : NULL;
    if (n && !*out)
        return false;
    for (int i = 0; i < n; i++) {
        (*out)[i] = from[i];
        (*out)[i].data = NULL;
        if (from[i].data) {
            (*out)[i].data = malloc(from[i].len + 1);
            if (!(*out)[i].data) {
                stored_free(*out, i);
                *out = NULL;
                return false;
            }
            memcpy((*out)[i].data, from[i].data, from[i].len);
            (*out)[i].data[from[i].len] = '\0';
        }
    }
    return true;
}

bool sp_key_span_copy(const struct sp_key_span *span, struct sp_key_span *out)
{
    *out = *span;
    out->start = out->end = NULL;
    if (!stored_copy(span->start, span->nstart, &out->start))
        return false;
    if (!stored_copy(span->end, span->nend, &out->end)) {
        stored_free(out->start, out->nstart);
        out->start = NULL;
        return false;
    }
    return true;
}

/* SQLite's order of storage classes: NULL < numbers < TEXT < BLOB. */
static int class_rank(int kind)
{
    return kind == SQLITE_INTEGER || kind == SQLITE_FLOAT ? 1
           : kind == SQLITE_TEXT                          ? 2
           : kind == SQLITE_BLOB                          ? 3
                                                          : 0;
}

static int bytes_compare(const struct sp_stored *a, const struct sp_stored *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->data, b->data, n) : 0;
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* a against b as SQLite compares them (BINARY collation); both non-NULL. One exception:
 * a FLOAT64 key part holds numbers and the TEXT 'NaN' (spanner_value.h), and NaN comes
 * before every number in Spanner's order, as reads order it (sp_float_order). A number
 * and a TEXT in one key part can only be that. */
static int stored_compare(const struct sp_stored *a, const struct sp_stored *b)
{
    int ra = class_rank(a->kind), rb = class_rank(b->kind);
    if ((ra == 1 && rb == 2) || (ra == 2 && rb == 1))
        return ra == 2 ? -1 : 1;
    if (ra != rb)
        return ra < rb ? -1 : 1;
    if (ra == 1) {
        if (a->kind == SQLITE_INTEGER && b->kind == SQLITE_INTEGER)
            return (a->i > b->i) - (a->i < b->i);
        double x = a->kind == SQLITE_INTEGER ? (double)a->i : a->d;
        double y = b->kind == SQLITE_INTEGER ? (double)b->i : b->d;
        return (x > y) - (x < y);
    }
    return bytes_compare(a, b);
}

enum prefix_order { BEFORE, EQUAL, AFTER, UNKNOWN };

/* The row key's first n parts against the prefix p[0..n), in key order. */
static enum prefix_order prefix_compare(const struct sp_stored *row, int nrow,
                                        const struct sp_stored *p, int n, const bool *desc)
{
    for (int i = 0; i < n; i++) {
        if (i >= nrow)
            return UNKNOWN;
        bool row_null = class_rank(row[i].kind) == 0, p_null = class_rank(p[i].kind) == 0;
        if (row_null && p_null)
            continue; /* k IS NULL */
        if (row_null || p_null)
            return UNKNOWN; /* SQL's comparison with NULL is neither true nor false */
        int c = stored_compare(&row[i], &p[i]);
        if (desc[i])
            c = -c;
        if (c)
            return c < 0 ? BEFORE : AFTER;
    }
    return EQUAL;
}

bool sp_key_span_covers(const struct sp_key_span *span, const bool *desc,
                        const struct sp_stored *row, int nrow)
{
    enum prefix_order from = prefix_compare(row, nrow, span->start, span->nstart, desc);
    enum prefix_order to = prefix_compare(row, nrow, span->end, span->nend, desc);
    bool after_start = from == AFTER || from == UNKNOWN || (from == EQUAL && !span->start_open);
    bool before_end = to == BEFORE || to == UNKNOWN || (to == EQUAL && !span->end_open);
    return after_start && before_end;
}
