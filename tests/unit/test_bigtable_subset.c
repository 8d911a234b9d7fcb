/*
 * test_bigtable_subset: an authorized view's subset (bigtable_subset) and the views domain
 * (bigtable_views) on a real metadata store: rows by prefix, cells by exact qualifier and
 * by qualifier prefix ("" for a whole family), the cells a read keeps, the writes refused
 * outside the view (row key, column, a family not wholly in it, a row with a family
 * outside it), bad subsets; views created, read at each detail, listed, updated with the
 * etag checked, protected against deletion (theirs and their table's), and gone with
 * their table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_admin.h"
#include "bigtable/bigtable_store.h"
#include "bigtable/bigtable_subset.h"
#include "bigtable/bigtable_views.h"
#include "em_json.h"
#include "unit_bigtable.h"
#include "unit_util.h"

#include <stdio.h>
#include <string.h>

#define B(s)                                                                                       \
    {                                                                                              \
        (const uint8_t *)(s), sizeof(s) - 1                                                        \
    }

/* rows "a#", family cf1: qualifier "name" and qualifiers starting "addr"; cf2 whole. */
#define SUBSET                                                                                     \
    "{\"rowPrefixes\":[\"YSM=\"],\"familySubsets\":{\"cf1\":{\"qualifiers\":[\"bmFtZQ==\"],"       \
    "\"qualifierPrefixes\":[\"YWRkcg==\"]},\"cf2\":{\"qualifierPrefixes\":[\"\"]}}}"

static void parse(const char *json, struct bt_subset *out)
{
    cJSON *doc = cJSON_Parse(json);
    struct em_status st = {0};
    assert_non_null(doc);
    assert_int_equal(bt_subset_parse(doc, out, &st), EM_OK);
    cJSON_Delete(doc);
}

static enum em_code parse_code(const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    struct em_status st = {0};
    struct bt_subset s;
    enum em_code rc = bt_subset_parse(doc, &s, &st);
    if (rc == EM_OK)
        bt_subset_free(&s);
    cJSON_Delete(doc);
    return rc;
}

static void test_rows_and_cells(void **state)
{
    (void)state;
    struct bt_subset s;
    parse(SUBSET, &s);
    assert_true(bt_subset_has_row(&s, (struct bt_bytes)B("a#1")));
    assert_true(bt_subset_has_row(&s, (struct bt_bytes)B("a#")));
    assert_false(bt_subset_has_row(&s, (struct bt_bytes)B("a")));
    assert_false(bt_subset_has_row(&s, (struct bt_bytes)B("b#1")));
    assert_true(bt_subset_has_cell(&s, (struct bt_bytes)B("cf1"), (struct bt_bytes)B("name")));
    assert_false(bt_subset_has_cell(&s, (struct bt_bytes)B("cf1"), (struct bt_bytes)B("names")));
    assert_true(bt_subset_has_cell(&s, (struct bt_bytes)B("cf1"), (struct bt_bytes)B("addr")));
    assert_true(bt_subset_has_cell(&s, (struct bt_bytes)B("cf1"), (struct bt_bytes)B("addr-x")));
    assert_false(bt_subset_has_cell(&s, (struct bt_bytes)B("cf1"), (struct bt_bytes)B("secret")));
    assert_true(bt_subset_has_cell(&s, (struct bt_bytes)B("cf2"), (struct bt_bytes)B("")));
    assert_true(bt_subset_has_cell(&s, (struct bt_bytes)B("cf2"), (struct bt_bytes)B("any")));
    assert_false(bt_subset_has_cell(&s, (struct bt_bytes)B("cf3"), (struct bt_bytes)B("name")));
    assert_true(bt_subset_has_family(&s, "cf2"));
    assert_false(bt_subset_has_family(&s, "cf1"));

    struct bt_cell cells[] = {
        {B("cf1"), B("addr-home"), 1, B("h"), NULL}, {B("cf1"), B("name"), 1, B("n"), NULL},
        {B("cf1"), B("secret"), 1, B("s"), NULL},    {B("cf2"), B("x"), 1, B("x"), NULL},
        {B("cf3"), B("name"), 1, B("y"), NULL},
    };
    assert_int_equal(bt_subset_keep_cells(&s, cells, 5), 3);
    assert_memory_equal(cells[0].qualifier.data, "addr-home", 9);
    assert_memory_equal(cells[1].qualifier.data, "name", 4);
    assert_memory_equal(cells[2].family.data, "cf2", 3);
    bt_subset_free(&s);

    /* no row prefix: no row; an empty prefix: every row */
    parse("{\"familySubsets\":{\"cf1\":{\"qualifierPrefixes\":[\"\"]}}}", &s);
    assert_false(bt_subset_has_row(&s, (struct bt_bytes)B("a")));
    bt_subset_free(&s);
    parse("{\"rowPrefixes\":[\"\"]}", &s);
    assert_true(bt_subset_has_row(&s, (struct bt_bytes)B("")));
    assert_false(bt_subset_has_cell(&s, (struct bt_bytes)B("cf1"), (struct bt_bytes)B("q")));
    bt_subset_free(&s);
}

/* The code of a write of mutations (a JSON list) to key through SUBSET. */
static enum em_code write_code(const char *key, const char *mutations)
{
    struct bt_subset s;
    struct bt_mutations m;
    struct em_status st = {0};
    cJSON *list = cJSON_Parse(mutations), *families = cJSON_Parse("{\"cf1\":{},\"cf2\":{}}");
    parse(SUBSET, &s);
    assert_int_equal(bt_mutations_parse(list, "mutations", false, &m, &st), EM_OK);
    enum em_code rc = bt_subset_check_mutations(
        &s, "v", (struct bt_bytes){(const uint8_t *)key, strlen(key)}, &m, families, &st);
    if (rc)
        assert_non_null(strstr(st.message, "outside the authorized view v"));
    bt_mutations_free(&m);
    bt_subset_free(&s);
    cJSON_Delete(list);
    cJSON_Delete(families);
    return rc;
}

#define SET(family, qualifier_b64)                                                                 \
    "[{\"setCell\":{\"familyName\":\"" family "\",\"columnQualifier\":\"" qualifier_b64            \
    "\",\"timestampMicros\":\"1000\",\"value\":\"\"}}]"

static void test_writes(void **state)
{
    (void)state;
    assert_int_equal(write_code("a#1", SET("cf1", "bmFtZQ==")), EM_OK); /* name */
    assert_int_equal(write_code("a#1", SET("cf1", "YWRkci0x")), EM_OK); /* addr-1 */
    assert_int_equal(write_code("a#1", SET("cf2", "eA==")), EM_OK);     /* x */
    assert_int_equal(write_code("b#1", SET("cf1", "bmFtZQ==")), EM_PERMISSION_DENIED);
    assert_int_equal(write_code("a#1", SET("cf1", "c2VjcmV0")), EM_PERMISSION_DENIED); /* secret */
    assert_int_equal(write_code("a#1", "[{\"deleteFromColumn\":{\"familyName\":\"cf1\","
                                       "\"columnQualifier\":\"c2VjcmV0\"}}]"),
                     EM_PERMISSION_DENIED);
    assert_int_equal(write_code("a#1", "[{\"deleteFromFamily\":{\"familyName\":\"cf2\"}}]"), EM_OK);
    assert_int_equal(write_code("a#1", "[{\"deleteFromFamily\":{\"familyName\":\"cf1\"}}]"),
                     EM_PERMISSION_DENIED); /* cf1 is not wholly in the view */
    assert_int_equal(write_code("a#1", "[{\"deleteFromRow\":{}}]"), EM_PERMISSION_DENIED);

    /* readModifyWriteRow's rules */
    struct bt_subset s;
    struct bt_rmw_rules rules;
    struct em_status st = {0};
    cJSON *json = cJSON_Parse("[{\"familyName\":\"cf1\",\"columnQualifier\":\"bmFtZQ==\","
                              "\"appendValue\":\"eA==\"}]");
    parse(SUBSET, &s);
    assert_int_equal(bt_rmw_rules_parse(json, &rules, &st), EM_OK);
    assert_int_equal(bt_subset_check_rules(&s, "v", (struct bt_bytes)B("a#2"), &rules, &st), EM_OK);
    assert_int_equal(bt_subset_check_rules(&s, "v", (struct bt_bytes)B("c"), &rules, &st),
                     EM_PERMISSION_DENIED);
    bt_rmw_rules_free(&rules);
    bt_subset_free(&s);
    cJSON_Delete(json);
}

static void test_bad_subsets(void **state)
{
    (void)state;
    assert_int_equal(parse_code("null"), EM_INVALID_ARGUMENT);
    assert_int_equal(parse_code("{\"rowPrefixes\":[\"***\"]}"), EM_INVALID_ARGUMENT);
    assert_int_equal(parse_code("{\"rowPrefixes\":\"YQ==\"}"), EM_INVALID_ARGUMENT);
    assert_int_equal(parse_code("{\"familySubsets\":{\"cf1\":3}}"), EM_INVALID_ARGUMENT);
    assert_int_equal(parse_code("{\"familySubsets\":[]}"), EM_INVALID_ARGUMENT);
    char big[4096] = "{\"rowPrefixes\":[\"\"";
    for (int i = 0; i < BT_SUBSET_MAX_PARAMS; i++)
        strcat(big, ",\"YQ==\"");
    strcat(big, "]}");
    assert_int_equal(parse_code(big), EM_INVALID_ARGUMENT); /* 101 parameters */
}

/* --- the views domain --- */

#define PARENT "projects/bt-unit"
#define INST   PARENT "/instances/view-inst"
#define TABLE  INST "/tables/t1"
#define VIEW   TABLE "/authorizedViews/v1"
#define NOW    1700000000000000000LL

static void make_table(struct fixture *f)
{
    struct em_status st = {0};
    char zone[64];
    cJSON *out = NULL, *ready = NULL;
    cJSON *request =
        cJSON_Parse("{\"instanceId\":\"view-inst\",\"instance\":{\"displayName\":\"Views\"},"
                    "\"clusters\":{\"east-c1\":{\"location\":\"" PARENT "/locations/us-east1-b\","
                    "\"serveNodes\":1}}}");
    assert_int_equal(bt_instance_create(f->admin, PARENT, request, NOW, &out, zone, &st), EM_OK);
    assert_int_equal(bt_instance_ready(f->admin, INST, &ready, &st), EM_OK);
    cJSON_Delete(request);
    cJSON_Delete(out);
    cJSON_Delete(ready);
    request = cJSON_Parse("{\"tableId\":\"t1\",\"table\":{\"columnFamilies\":{\"cf1\":{},"
                          "\"cf2\":{}}}}");
    assert_int_equal(bt_table_create(f->admin, INST, request, NOW, &out, &st), EM_OK);
    cJSON_Delete(request);
    cJSON_Delete(out);
}

static enum em_code create_view(struct fixture *f, const char *id, const char *json)
{
    struct em_status st = {0};
    cJSON *body = cJSON_Parse(json), *out = NULL;
    enum em_code rc = bt_view_create(f->admin, TABLE, id, body, NOW, &out, &st);
    cJSON_Delete(body);
    cJSON_Delete(out);
    return rc;
}

static char *get_etag(struct fixture *f)
{
    struct em_status st = {0};
    cJSON *out = NULL;
    assert_int_equal(bt_view_get(f->admin, VIEW, BT_AV_BASIC, &out, &st), EM_OK);
    char *etag = strdup(em_json_string(out, "etag"));
    cJSON_Delete(out);
    return etag;
}

static enum em_code update_view(struct fixture *f, const char *json, const char *mask)
{
    struct em_status st = {0};
    cJSON *body = cJSON_Parse(json), *out = NULL;
    enum em_code rc = bt_view_update(f->admin, VIEW, body, mask, NOW + 1, &out, &st);
    cJSON_Delete(body);
    cJSON_Delete(out);
    return rc;
}

static void test_views_domain(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *out = NULL;
    make_table(f);
    assert_int_equal(create_view(f, "v1", "{\"subsetView\":" SUBSET "}"), EM_OK);
    assert_int_equal(create_view(f, "v1", "{\"subsetView\":" SUBSET "}"), EM_ALREADY_EXISTS);
    assert_int_equal(create_view(f, "bad id!", "{\"subsetView\":" SUBSET "}"), EM_INVALID_ARGUMENT);
    assert_int_equal(create_view(f, "v2", "{}"), EM_INVALID_ARGUMENT);
    assert_int_equal(create_view(f, "v2", "{\"subsetView\":{\"familySubsets\":{\"cf9\":{}}}}"),
                     EM_INVALID_ARGUMENT); /* not a family of the table */

    /* details */
    assert_int_equal(bt_view_get(f->admin, VIEW, BT_AV_NAME_ONLY, &out, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(out), 1);
    cJSON_Delete(out);
    assert_int_equal(bt_view_get(f->admin, VIEW, BT_AV_FULL, &out, &st), EM_OK);
    assert_true(cJSON_HasObjectItem(out, "subsetView"));
    assert_true(cJSON_HasObjectItem(out, "etag"));
    cJSON_Delete(out);
    assert_int_equal(bt_view_list(f->admin, TABLE, BT_AV_NAME_ONLY, &out, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(out), 1);
    cJSON_Delete(out);

    /* the data plane's resolution */
    char table[BT_NAME_MAX];
    struct bt_subset subset;
    assert_int_equal(bt_view_resolve(f->admin, VIEW, table, &subset, &st), EM_OK);
    assert_string_equal(table, TABLE);
    assert_true(bt_subset_has_family(&subset, "cf2"));
    bt_subset_free(&subset);

    /* update: the etag, the mask, a new etag */
    char *etag = get_etag(f);
    assert_int_equal(update_view(f, "{\"etag\":\"stale\",\"deletionProtection\":true}", ""),
                     EM_ABORTED);
    assert_int_equal(update_view(f, "{\"deletionProtection\":true}", "display_name"),
                     EM_INVALID_ARGUMENT);
    char body[128];
    snprintf(body, sizeof(body), "{\"etag\":\"%s\",\"deletionProtection\":true}", etag);
    assert_int_equal(update_view(f, body, "deletion_protection"), EM_OK);
    char *etag2 = get_etag(f);
    assert_string_not_equal(etag, etag2);

    /* protected: neither the view nor its table can go */
    assert_int_equal(bt_view_delete(f->admin, VIEW, NULL, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(update_view(f, "{}", "deletion_protection"), EM_OK);
    assert_int_equal(bt_view_delete(f->admin, VIEW, etag2, &st), EM_ABORTED); /* changed */
    free(etag);
    free(etag2);

    /* the table's deletion takes its views */
    assert_int_equal(bt_table_delete(f->admin, TABLE, NOW, &st), EM_OK);
    assert_int_equal(bt_view_get(f->admin, VIEW, BT_AV_BASIC, &out, &st), EM_NOT_FOUND);
}

/* --- the subset at rest --- */

#define MARKER     "view-prefix-marker-41"
#define MARKER_B64 "dmlldy1wcmVmaXgtbWFya2VyLTQx" /* as the JSON carries the row prefix */
#define MARKED_SUBSET                                                                              \
    "{\"rowPrefixes\":[\"" MARKER_B64                                                              \
    "\"],\"familySubsets\":{\"cf2\":{\"qualifierPrefixes\":[\"\"]}}}"

static void expect_marked_subset(struct fixture *f, const char *view)
{
    struct em_status st = {0};
    cJSON *out = NULL;
    assert_int_equal(bt_view_get(f->admin, view, BT_AV_FULL, &out, &st), EM_OK);
    const cJSON *prefixes =
        cJSON_GetObjectItem(cJSON_GetObjectItem(out, "subsetView"), "rowPrefixes");
    assert_string_equal(cJSON_GetArrayItem(prefixes, 0)->valuestring, MARKER_B64);
    cJSON_Delete(out);
}

/* A view's row prefixes (customer data) are sealed in metadata.db; a view stored in clear
 * by an earlier release is sealed at the next start, its clear copy purged. */
static void test_view_subsets_are_sealed_at_rest(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    make_table(f);
    assert_int_equal(create_view(f, "v1", "{\"subsetView\":" MARKED_SUBSET "}"), EM_OK);
    expect_marked_subset(f, VIEW);
    assert_int_equal(update_view(f, "{\"subsetView\":" MARKED_SUBSET "}", "subset_view"), EM_OK);
    cJSON *list = NULL;
    assert_int_equal(bt_view_list(f->admin, TABLE, BT_AV_FULL, &list, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    cJSON_Delete(list);
    assert_false(unit_store_files_hold(f->dir.path, MARKER_B64));
    assert_false(unit_store_files_hold(f->dir.path, MARKER));

    /* as an earlier release stored it: in clear */
    const char *old = "{\"name\":\"" TABLE "/authorizedViews/old\",\"deletionProtection\":false,"
                      "\"etag\":\"e1\",\"subsetView\":" MARKED_SUBSET "}";
    assert_int_equal(bt_store_put(f->dir.store, TABLE "/authorizedViews/old",
                                  BT_KIND_AUTHORIZED_VIEW, INST, old, false, &st),
                     EM_OK);
    assert_true(unit_store_files_hold(f->dir.path, MARKER_B64));
    bt_admin_close(f->admin);
    assert_int_equal(bt_admin_open(f->dir.store, NULL, f->dir.path, &f->admin, &st), EM_OK);
    expect_marked_subset(f, TABLE "/authorizedViews/old");
    assert_false(unit_store_files_hold(f->dir.path, MARKER_B64));

    /* a sealed subset is bound to its view's name */
    char *sealed = NULL;
    assert_int_equal(bt_store_get(f->dir.store, VIEW, BT_KIND_AUTHORIZED_VIEW, &sealed, &st),
                     EM_OK);
    cJSON *moved = cJSON_Parse(sealed);
    free(sealed);
    cJSON_ReplaceItemInObject(moved, "name", cJSON_CreateString(TABLE "/authorizedViews/moved"));
    char *text = cJSON_PrintUnformatted(moved);
    assert_int_equal(bt_store_put(f->dir.store, TABLE "/authorizedViews/moved",
                                  BT_KIND_AUTHORIZED_VIEW, INST, text, false, &st),
                     EM_OK);
    free(text);
    cJSON_Delete(moved);
    cJSON *out = NULL;
    assert_int_equal(bt_view_get(f->admin, TABLE "/authorizedViews/moved", BT_AV_FULL, &out, &st),
                     EM_DATA_LOSS);
    assert_null(out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_and_cells),   cmocka_unit_test(test_writes),
        cmocka_unit_test(test_bad_subsets),      T(test_views_domain),
        T(test_view_subsets_are_sealed_at_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
