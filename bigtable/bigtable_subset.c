/*
 * bigtable_subset: an authorized view's subset, parsed, and its row, cell and write checks
 * (see bigtable_subset.h).
 */
#include "bigtable_subset.h"

#include "em_json.h"

#include <stdlib.h>
#include <string.h>

/* --- parsing --- */

/* The base64 strings of array (absent: none) decoded into *out (malloc'd). */
static enum em_code decode_list(const cJSON *array, const char *what, struct bt_bytes **out,
                                size_t *n, size_t *params, struct em_status *st)
{
    *out = NULL;
    *n = 0;
    if (!array)
        return EM_OK;
    if (!cJSON_IsArray(array))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid %s: a list of base64 strings.", what);
    size_t count = (size_t)cJSON_GetArraySize(array);
    *params += count;
    if (*params > BT_SUBSET_MAX_PARAMS)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "An authorized view can have at most %d row prefixes, qualifiers and "
                       "qualifier prefixes.",
                       BT_SUBSET_MAX_PARAMS);
    if (count && !(*out = calloc(count, sizeof(**out))))
        return EM_FAIL_OOM(st);
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        unsigned char *data = NULL;
        size_t len = 0;
        const char *text = cJSON_GetStringValue(item);
        if (!text || (*text && !em_b64_decode(text, strlen(text), &data, &len)))
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid base64 in %s.", what);
        (*out)[(*n)++] = (struct bt_bytes){data ? data : (uint8_t *)calloc(1, 1), len};
        if (!(*out)[*n - 1].data)
            return EM_FAIL_OOM(st);
    }
    return EM_OK;
}

static enum em_code parse_family(const cJSON *json, struct bt_subset_family *f, size_t *params,
                                 struct em_status *st)
{
    if (!cJSON_IsObject(json))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid familySubsets entry %.100s: an object with qualifiers and "
                       "qualifierPrefixes.",
                       json->string);
    if (!(f->name = strdup(json->string)))
        return EM_FAIL_OOM(st);
    if (decode_list(cJSON_GetObjectItem(json, "qualifiers"), "qualifiers", &f->qualifiers,
                    &f->n_qualifiers, params, st))
        return st->code;
    return decode_list(cJSON_GetObjectItem(json, "qualifierPrefixes"), "qualifierPrefixes",
                       &f->prefixes, &f->n_prefixes, params, st);
}

enum em_code bt_subset_parse(const cJSON *subset_view, struct bt_subset *out, struct em_status *st)
{
    *out = (struct bt_subset){0};
    size_t params = 0;
    const cJSON *families = cJSON_GetObjectItem(subset_view, "familySubsets");
    if (!cJSON_IsObject(subset_view))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The authorized view's subset_view is required.");
    if (families && !cJSON_IsObject(families))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid familySubsets: a map of families.");
    if (decode_list(cJSON_GetObjectItem(subset_view, "rowPrefixes"), "rowPrefixes",
                    &out->row_prefixes, &out->n_row_prefixes, &params, st))
        goto fail;
    size_t count = (size_t)cJSON_GetArraySize(families);
    if (count && !(out->families = calloc(count, sizeof(*out->families)))) {
        EM_FAIL_OOM(st);
        goto fail;
    }
    const cJSON *f;
    cJSON_ArrayForEach(f, families)
    {
        if (parse_family(f, &out->families[out->n_families++], &params, st))
            goto fail;
    }
    return EM_OK;
fail:
    bt_subset_free(out);
    return st->code;
}

static void free_list(struct bt_bytes *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)list[i].data);
    free(list);
}

void bt_subset_free(struct bt_subset *s)
{
    free_list(s->row_prefixes, s->n_row_prefixes);
    for (size_t i = 0; i < s->n_families; i++) {
        free(s->families[i].name);
        free_list(s->families[i].qualifiers, s->families[i].n_qualifiers);
        free_list(s->families[i].prefixes, s->families[i].n_prefixes);
    }
    free(s->families);
    *s = (struct bt_subset){0};
}

/* --- questions --- */

static bool starts_with(struct bt_bytes b, struct bt_bytes prefix)
{
    return b.len >= prefix.len && (prefix.len == 0 || memcmp(b.data, prefix.data, prefix.len) == 0);
}

static bool equal(struct bt_bytes a, struct bt_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static const struct bt_subset_family *family_of(const struct bt_subset *s, struct bt_bytes name)
{
    for (size_t i = 0; i < s->n_families; i++)
        if (equal((struct bt_bytes){(const uint8_t *)s->families[i].name,
                                    strlen(s->families[i].name)},
                  name))
            return &s->families[i];
    return NULL;
}

static struct bt_bytes text_bytes(const char *text)
{
    return (struct bt_bytes){(const uint8_t *)text, strlen(text)};
}

bool bt_subset_has_row(const struct bt_subset *s, struct bt_bytes key)
{
    for (size_t i = 0; i < s->n_row_prefixes; i++)
        if (starts_with(key, s->row_prefixes[i]))
            return true;
    return false;
}

bool bt_subset_has_cell(const struct bt_subset *s, struct bt_bytes family,
                        struct bt_bytes qualifier)
{
    const struct bt_subset_family *f = family_of(s, family);
    if (!f)
        return false;
    for (size_t i = 0; i < f->n_qualifiers; i++)
        if (equal(qualifier, f->qualifiers[i]))
            return true;
    for (size_t i = 0; i < f->n_prefixes; i++)
        if (starts_with(qualifier, f->prefixes[i]))
            return true;
    return false;
}

bool bt_subset_has_family(const struct bt_subset *s, const char *family)
{
    const struct bt_subset_family *f = family_of(s, text_bytes(family));
    for (size_t i = 0; f && i < f->n_prefixes; i++)
        if (f->prefixes[i].len == 0)
            return true;
    return false;
}

size_t bt_subset_keep_cells(const struct bt_subset *s, struct bt_cell *cells, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (bt_subset_has_cell(s, cells[i].family, cells[i].qualifier))
            cells[kept++] = cells[i];
    return kept;
}

/* --- writes --- */

static enum em_code outside(const char *view, const char *what, struct em_status *st)
{
    return EM_FAIL(st, EM_PERMISSION_DENIED,
                   "The request references data outside the authorized view %.300s: %s.", view,
                   what);
}

/* A deleteFromRow through the view: every family of the table wholly in it. */
static bool covers_row(const struct bt_subset *s, const cJSON *table_families)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, table_families)
    {
        if (!bt_subset_has_family(s, f->string))
            return false;
    }
    return true;
}

static bool mutation_inside(const struct bt_subset *s, const struct bt_mutation *m,
                            const cJSON *table_families)
{
    switch (m->kind) {
    case BT_MUT_SET_CELL:
    case BT_MUT_ADD_TO_CELL:
    case BT_MUT_MERGE_TO_CELL:
    case BT_MUT_DELETE_FROM_COLUMN:
        return bt_subset_has_cell(s, text_bytes(m->family), m->qualifier);
    case BT_MUT_DELETE_FROM_FAMILY:
        return bt_subset_has_family(s, m->family);
    case BT_MUT_DELETE_FROM_ROW:
        return covers_row(s, table_families);
    }
    return false;
}

enum em_code bt_subset_check_mutations(const struct bt_subset *s, const char *view,
                                       struct bt_bytes key, const struct bt_mutations *m,
                                       const cJSON *table_families, struct em_status *st)
{
    if (!bt_subset_has_row(s, key))
        return outside(view, "the row key", st);
    for (size_t i = 0; i < m->n; i++)
        if (!mutation_inside(s, &m->items[i], table_families))
            return outside(view, "a mutation's column", st);
    return EM_OK;
}

enum em_code bt_subset_check_rules(const struct bt_subset *s, const char *view, struct bt_bytes key,
                                   const struct bt_rmw_rules *rules, struct em_status *st)
{
    if (!bt_subset_has_row(s, key))
        return outside(view, "the row key", st);
    for (size_t i = 0; i < rules->n; i++)
        if (!bt_subset_has_cell(s, text_bytes(rules->items[i].family), rules->items[i].qualifier))
            return outside(view, "a rule's column", st);
    return EM_OK;
}
