/*
 * test_bigtable_data: Bigtable's data plane (bigtable_data, bigtable_cells,
 * bigtable_replicas) in a real service opened on a temporary directory (no sockets, no
 * KMS: the clusters use Google default encryption, each replica still in its own
 * encrypted file): writes replicated to every cluster and read back through
 * single-cluster profiles, row sets (keys, open and closed ranges), rowsLimit, reversed
 * reads, GC rules at read time, filters, per-entry statuses of mutateRows,
 * checkAndMutateRow, readModifyWriteRow, sampleRowKeys, dropRowRange, dropped families,
 * and a deleted table's replicas: kept 7 days (undelete brings its cells back, a cluster
 * made meanwhile gets a copy), then their files removed; consistency tokens over a
 * delayed replication.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bigtable/bigtable_admin.h"
#include "bigtable/bigtable_consistency.h"
#include "bigtable/bigtable_data.h"
#include "bigtable/bigtable_service.h"
#include "bigtable/bigtable_views.h"
#include "bigtable/bigtable_cells.h"
#include "bigtable/bigtable_replicas.h"
#include "em_json.h"
#include "em_log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PARENT    "projects/bt-data"
#define INST      PARENT "/instances/data-inst"
#define TABLE     INST "/tables/t1"
#define NOW       1700000000000000000LL /* ns */
#define WINDOW_NS (BT_UNDELETE_WINDOW_S * EM_NS_PER_SEC)

struct fixture {
    struct em_service *svc;
    struct bt_context *bt;
    char dir[4096];
};

static int setup(void **state)
{
    static struct fixture f;
    struct em_config cfg;
    struct em_status st = {0};
    bool help;
    char *args[] = {"test", NULL};
    em_log_init("test", EM_LOG_ERROR);
    if (em_config_load(&cfg, 1, args, &help, &st) ||
        em_make_temp_dir(cfg.data_dir, sizeof(cfg.data_dir), &st) ||
        em_service_open(&bigtable_service, &cfg, &f.svc, &st))
        return -1;
    snprintf(f.dir, sizeof(f.dir), "%s", cfg.data_dir);
    f.bt = f.svc->ctx;
    cJSON *request = cJSON_Parse(
        "{\"instanceId\":\"data-inst\",\"instance\":{\"displayName\":\"Data\"},\"clusters\":{"
        "\"east-c1\":{\"location\":\"" PARENT "/locations/us-east1-b\",\"serveNodes\":1},"
        "\"west-c2\":{\"location\":\"" PARENT "/locations/us-west1-a\",\"serveNodes\":1}}}");
    cJSON *out = NULL;
    char zone[64];
    if (bt_instance_create(f.bt->admin, PARENT, request, NOW, &out, zone, &st))
        return -1;
    cJSON_Delete(out);
    cJSON_Delete(request);
    request = cJSON_Parse("{\"tableId\":\"t1\",\"table\":{\"columnFamilies\":{\"cf1\":{\"gcRule\":"
                          "{\"maxNumVersions\":1}},\"cf2\":{}}}}");
    if (bt_table_create(f.bt->admin, INST, request, NOW, &out, &st))
        return -1;
    cJSON_Delete(out);
    cJSON_Delete(request);
    request = cJSON_Parse("{\"singleClusterRouting\":{\"clusterId\":\"west-c2\"}}");
    if (bt_app_profile_create(f.bt->admin, INST, "west", request, &out, &st))
        return -1;
    cJSON_Delete(out);
    cJSON_Delete(request);
    request = cJSON_Parse("{\"singleClusterRouting\":{\"clusterId\":\"east-c1\"}}");
    if (bt_app_profile_create(f.bt->admin, INST, "east", request, &out, &st))
        return -1;
    cJSON_Delete(out);
    cJSON_Delete(request);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    em_service_close(f->svc);
    em_remove_tree(f->dir);
    return 0;
}

static char *b64(const char *text)
{
    return em_b64_encode((const unsigned char *)text, strlen(text));
}

/* mutateRow of one setCell (ts: microseconds, or -1) through a profile (NULL: default). */
static enum em_code set_cell(struct fixture *f, const char *profile, const char *key,
                             const char *family, const char *qualifier, long long ts,
                             const char *value)
{
    char *k = b64(key), *q = b64(qualifier), *v = b64(value), json[1024];
    snprintf(json, sizeof(json),
             "{%s%s%s\"rowKey\":\"%s\",\"mutations\":[{\"setCell\":{\"familyName\":\"%s\","
             "\"columnQualifier\":\"%s\",\"timestampMicros\":\"%lld\",\"value\":\"%s\"}}]}",
             profile ? "\"appProfileId\":\"" : "", profile ? profile : "", profile ? "\"," : "", k,
             family, q, ts, v);
    free(k);
    free(q);
    free(v);
    cJSON *request = cJSON_Parse(json);
    struct em_status st = {0};
    enum em_code rc = bt_data_mutate_row(f->bt, TABLE, request, NOW, &st);
    cJSON_Delete(request);
    return rc;
}

/* readRows with the request's JSON; the row keys read, decoded, comma-separated, and the
 * number of cells into *cells. */
static enum em_code read_keys(struct fixture *f, const char *json, char *keys, size_t len,
                              int *cells)
{
    cJSON *request = cJSON_Parse(json), *responses = NULL;
    struct em_status st = {0};
    assert_non_null(request);
    enum em_code rc = bt_data_read_rows(f->bt, TABLE, request, NOW, &responses, &st);
    cJSON_Delete(request);
    keys[0] = '\0';
    *cells = 0;
    const cJSON *response, *chunk;
    cJSON_ArrayForEach(response, responses)
    {
        cJSON_ArrayForEach(chunk, cJSON_GetObjectItem(response, "chunks"))
        {
            const char *key = em_json_string(chunk, "rowKey");
            (*cells)++;
            if (!key)
                continue;
            unsigned char *raw = NULL;
            size_t raw_len = 0;
            assert_true(em_b64_decode(key, strlen(key), &raw, &raw_len));
            snprintf(keys + strlen(keys), len - strlen(keys), "%s%.*s", keys[0] ? "," : "",
                     (int)raw_len, (const char *)raw);
            free(raw);
        }
    }
    cJSON_Delete(responses);
    return rc;
}

/* The replicas' files under <data dir>/bigtable (not their -wal and -shm companions). */
static int count_files(struct fixture *f)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/bigtable", f->dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    int files = 0;
    for (struct dirent *e; (e = readdir(d));)
        files +=
            strstr(e->d_name, ".db") && !strstr(e->d_name, "-wal") && !strstr(e->d_name, "-shm");
    closedir(d);
    return files;
}

static void test_writes_replicate_to_every_cluster(void **state)
{
    struct fixture *f = *state;
    char keys[256];
    int cells;
    assert_int_equal(set_cell(f, "east", "r1", "cf2", "q", 1000, "written through east"), EM_OK);
    assert_int_equal(read_keys(f, "{\"appProfileId\":\"west\"}", keys, sizeof(keys), &cells),
                     EM_OK);
    assert_string_equal(keys, "r1");
    assert_int_equal(read_keys(f, "{\"appProfileId\":\"east\"}", keys, sizeof(keys), &cells),
                     EM_OK);
    assert_string_equal(keys, "r1");
    assert_int_equal(count_files(f), 2); /* each replica has its own file */
}

static void test_row_sets_limits_and_order(void **state)
{
    struct fixture *f = *state;
    char keys[256], json[512];
    int cells;
    const char *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(set_cell(f, NULL, names[i], "cf2", "q", 1000, "v"), EM_OK);
    char *a = b64("a"), *b = b64("b"), *d = b64("d");
    snprintf(json, sizeof(json), "{\"rows\":{\"rowKeys\":[\"%s\",\"%s\"]}}", d, a);
    assert_int_equal(read_keys(f, json, keys, sizeof(keys), &cells), EM_OK);
    assert_string_equal(keys, "a,d");
    snprintf(json, sizeof(json),
             "{\"rows\":{\"rowRanges\":[{\"startKeyOpen\":\"%s\",\"endKeyClosed\":\"%s\"}]}}", a,
             d);
    assert_int_equal(read_keys(f, json, keys, sizeof(keys), &cells), EM_OK);
    assert_string_equal(keys, "b,c,d");
    snprintf(json, sizeof(json),
             "{\"rows\":{\"rowRanges\":[{\"startKeyClosed\":\"%s\",\"endKeyOpen\":\"%s\"}]}}", b,
             d);
    assert_int_equal(read_keys(f, json, keys, sizeof(keys), &cells), EM_OK);
    assert_string_equal(keys, "b,c");
    snprintf(json, sizeof(json),
             "{\"rows\":{\"rowRanges\":[{\"startKeyClosed\":\"%s\",\"endKeyOpen\":\"%s\"}]}}", d,
             b);
    assert_int_equal(read_keys(f, json, keys, sizeof(keys), &cells), EM_INVALID_ARGUMENT);
    assert_int_equal(
        read_keys(f, "{\"rowsLimit\":\"2\",\"reversed\":true}", keys, sizeof(keys), &cells), EM_OK);
    assert_string_equal(keys, "d,c");
    assert_int_equal(read_keys(f, "{\"rowsLimit\":\"-1\"}", keys, sizeof(keys), &cells),
                     EM_INVALID_ARGUMENT);
    free(a);
    free(b);
    free(d);
}

static void test_gc_rules_and_filters_at_read(void **state)
{
    struct fixture *f = *state;
    char keys[256];
    int cells;
    /* cf1 keeps one version */
    assert_int_equal(set_cell(f, NULL, "r", "cf1", "q", 1000, "old"), EM_OK);
    assert_int_equal(set_cell(f, NULL, "r", "cf1", "q", 2000, "new"), EM_OK);
    assert_int_equal(set_cell(f, NULL, "r", "cf2", "q", 1000, "old"), EM_OK);
    assert_int_equal(set_cell(f, NULL, "r", "cf2", "q", 2000, "new"), EM_OK);
    assert_int_equal(read_keys(f, "{}", keys, sizeof(keys), &cells), EM_OK);
    assert_int_equal(cells, 3); /* cf1: 1 (GC), cf2: 2 */
    assert_int_equal(read_keys(f, "{\"filter\":{\"familyNameRegexFilter\":\"cf2\"}}", keys,
                               sizeof(keys), &cells),
                     EM_OK);
    assert_int_equal(cells, 2);
    assert_int_equal(
        read_keys(f, "{\"filter\":{\"blockAllFilter\":true}}", keys, sizeof(keys), &cells), EM_OK);
    assert_string_equal(keys, ""); /* a row without cells is not sent */
    assert_int_equal(read_keys(f, "{\"filter\":{\"bogusFilter\":1}}", keys, sizeof(keys), &cells),
                     EM_INVALID_ARGUMENT);
    /* timestamps must be whole milliseconds; families must exist */
    assert_int_equal(set_cell(f, NULL, "r", "cf2", "q", 1500, "v"), EM_INVALID_ARGUMENT);
    assert_int_equal(set_cell(f, NULL, "r", "nope", "q", 1000, "v"), EM_NOT_FOUND);
}

static void test_mutate_rows_check_and_rmw(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char *r = b64("r"), *q = b64("q"), json[1024];
    snprintf(json, sizeof(json),
             "{\"entries\":[{\"rowKey\":\"%s\",\"mutations\":[{\"setCell\":{\"familyName\":"
             "\"cf2\",\"columnQualifier\":\"%s\",\"value\":\"%s\"}}]},{\"rowKey\":\"%s\","
             "\"mutations\":[{\"deleteFromFamily\":{\"familyName\":\"zz\"}}]}]}",
             r, q, q, r);
    cJSON *request = cJSON_Parse(json), *entries = NULL;
    assert_int_equal(bt_data_mutate_rows(f->bt, TABLE, request, NOW, &entries, &st), EM_OK);
    assert_int_equal(cJSON_GetArraySize(entries), 2);
    int64_t code = 0;
    assert_false(em_json_int64(cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 0), "status"),
                               "code", &code));
    assert_true(em_json_int64(cJSON_GetObjectItem(cJSON_GetArrayItem(entries, 1), "status"), "code",
                              &code));
    assert_int_equal(code, EM_NOT_FOUND);
    cJSON_Delete(entries);
    cJSON_Delete(request);

    /* checkAndMutate: the predicate filter decides the side */
    bool matched = true;
    snprintf(json, sizeof(json),
             "{\"rowKey\":\"%s\",\"predicateFilter\":{\"familyNameRegexFilter\":\"cf1\"},"
             "\"falseMutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"%s\","
             "\"timestampMicros\":\"-1\",\"value\":\"%s\"}}]}",
             r, q, q);
    request = cJSON_Parse(json);
    assert_int_equal(bt_data_check_and_mutate(f->bt, TABLE, request, NOW, &matched, &st), EM_OK);
    assert_false(matched);
    assert_int_equal(bt_data_check_and_mutate(f->bt, TABLE, request, NOW, &matched, &st), EM_OK);
    assert_true(matched); /* the false side wrote a cf1 cell */
    cJSON_Delete(request);

    /* readModifyWrite: increments are 8-byte big-endian */
    char *counter = b64("counter");
    snprintf(json, sizeof(json),
             "{\"rowKey\":\"%s\",\"rules\":[{\"familyName\":\"cf2\",\"columnQualifier\":\"%s\","
             "\"incrementAmount\":\"7\"}]}",
             r, counter);
    free(counter);
    request = cJSON_Parse(json);
    cJSON *row = NULL;
    assert_int_equal(bt_data_read_modify_write(f->bt, TABLE, request, NOW, &row, &st), EM_OK);
    cJSON_Delete(row);
    assert_int_equal(bt_data_read_modify_write(f->bt, TABLE, request, NOW, &row, &st), EM_OK);
    const cJSON *cell = cJSON_GetArrayItem(
        cJSON_GetObjectItem(
            cJSON_GetArrayItem(
                cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(row, "families"), 0),
                                    "columns"),
                0),
            "cells"),
        0);
    assert_string_equal(em_json_string(cell, "value"), "AAAAAAAAAA4="); /* 14 */
    cJSON_Delete(row);
    cJSON_Delete(request);
    /* the cf2 "q" cell holds 1 byte: not a counter */
    snprintf(json, sizeof(json),
             "{\"rowKey\":\"%s\",\"rules\":[{\"familyName\":\"cf2\",\"columnQualifier\":\"%s\","
             "\"incrementAmount\":\"1\"}]}",
             r, q);
    request = cJSON_Parse(json);
    assert_int_equal(bt_data_read_modify_write(f->bt, TABLE, request, NOW, &row, &st),
                     EM_INVALID_ARGUMENT);
    cJSON_Delete(request);
    free(r);
    free(q);
}

/* readModifyWriteRow answers a Row as data.proto draws it: one cell per column (several
 * rules on one column: its final contents), columns in increasing qualifier order. Found by
 * tests/bigtable/bigtable_diff.js (we answered a cell per rule, in rule order). */
static void test_rmw_answers_one_cell_per_column(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char *r = b64("rmw-row"), *a = b64("a"), *b = b64("b"), *x = b64("x"), *y = b64("y");
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"rowKey\":\"%s\",\"rules\":["
             "{\"familyName\":\"cf1\",\"columnQualifier\":\"%s\",\"appendValue\":\"%s\"},"
             "{\"familyName\":\"cf1\",\"columnQualifier\":\"%s\",\"appendValue\":\"%s\"},"
             "{\"familyName\":\"cf1\",\"columnQualifier\":\"%s\",\"appendValue\":\"%s\"},"
             "{\"familyName\":\"cf2\",\"columnQualifier\":\"%s\",\"appendValue\":\"%s\"},"
             "{\"familyName\":\"cf2\",\"columnQualifier\":\"%s\",\"appendValue\":\"%s\"}]}",
             r, b, x, a, x, b, y, a, x, a, y);
    cJSON *request = cJSON_Parse(json), *row = NULL;
    assert_int_equal(bt_data_read_modify_write(f->bt, TABLE, request, NOW, &row, &st), EM_OK);
    const cJSON *families = cJSON_GetObjectItem(row, "families");
    assert_int_equal(cJSON_GetArraySize(families), 2);
    const cJSON *cf2 = cJSON_GetArrayItem(families, 1);
    assert_string_equal(em_json_string(cf2, "name"), "cf2"); /* "a" twice: one cell, "xy" */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cf2, "columns")), 1);
    const cJSON *columns = cJSON_GetObjectItem(cJSON_GetArrayItem(families, 0), "columns");
    assert_int_equal(cJSON_GetArraySize(columns), 2);
    const char *want[][2] = {{"YQ==", "eA=="}, {"Yg==", "eHk="}}; /* a = "x", b = "xy" */
    for (int i = 0; i < 2; i++) {
        const cJSON *column = cJSON_GetArrayItem(columns, i);
        const cJSON *cells = cJSON_GetObjectItem(column, "cells");
        assert_string_equal(em_json_string(column, "qualifier"), want[i][0]);
        assert_int_equal(cJSON_GetArraySize(cells), 1);
        assert_string_equal(em_json_string(cJSON_GetArrayItem(cells, 0), "value"), want[i][1]);
    }
    cJSON_Delete(row);
    cJSON_Delete(request);
    free(r);
    free(a);
    free(b);
    free(x);
    free(y);
}

/* A mutation with the row's key and the request's remaining fields (JSON after the key). */
static cJSON *row_request(const char *key, const char *rest)
{
    char *k = b64(key), json[2048];
    snprintf(json, sizeof(json), "{\"rowKey\":\"%s\",%s}", k, rest);
    free(k);
    cJSON *request = cJSON_Parse(json);
    assert_non_null(request);
    return request;
}

/* Garbage is deleted when its column is written, on every replica: once cf1's rule keeps
 * everything again, the versions it made garbage do not come back (they would if GC only
 * hid them from reads). Every writer collects: mutateRow, mutateRows, checkAndMutateRow,
 * readModifyWriteRow; cf2, without a rule, keeps all its versions. */
static void test_garbage_deleted_on_write(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    for (long long ts = 1000; ts <= 3000; ts += 1000) {
        assert_int_equal(set_cell(f, NULL, "g", "cf1", "q", ts, "v"), EM_OK);
        assert_int_equal(set_cell(f, NULL, "g", "cf2", "q", ts, "v"), EM_OK);
    }
    char *q = b64("m");
    char rest[1024];
    snprintf(
        rest, sizeof(rest),
        "\"mutations\":[{\"setCell\":{\"familyName\":\"cf1\",\"columnQualifier\":\"%s\","
        "\"timestampMicros\":\"5000\",\"value\":\"dg==\"}},{\"setCell\":{\"familyName\":"
        "\"cf1\",\"columnQualifier\":\"%s\",\"timestampMicros\":\"6000\",\"value\":\"dg==\"}}]",
        q, q);
    cJSON *request = row_request("g", rest);
    char *g = b64("g");
    cJSON *rows = cJSON_CreateObject(), *entries = cJSON_AddArrayToObject(rows, "entries");
    cJSON_AddItemToArray(entries, cJSON_Duplicate(request, true));
    assert_int_equal(bt_data_mutate_rows(f->bt, TABLE, rows, NOW, &entries, &st), EM_OK);
    cJSON_Delete(entries);
    cJSON_Delete(rows);
    cJSON_Delete(request);
    snprintf(rest, sizeof(rest),
             "\"predicateFilter\":{\"blockAllFilter\":true},\"falseMutations\":[{\"setCell\":{"
             "\"familyName\":\"cf1\",\"columnQualifier\":\"%s\",\"timestampMicros\":\"7000\","
             "\"value\":\"dg==\"}}]",
             q);
    request = row_request("g", rest);
    bool matched = true;
    assert_int_equal(bt_data_check_and_mutate(f->bt, TABLE, request, NOW, &matched, &st), EM_OK);
    cJSON_Delete(request);
    request = row_request("g", "\"rules\":[{\"familyName\":\"cf1\",\"columnQualifier\":\"Yw==\","
                               "\"appendValue\":\"eA==\"}]");
    for (int i = 0; i < 3; i++) { /* a new version each second */
        cJSON *row = NULL;
        assert_int_equal(
            bt_data_read_modify_write(f->bt, TABLE, request, NOW + i * 1000000000LL, &row, &st),
            EM_OK);
        cJSON_Delete(row);
    }
    cJSON_Delete(request);
    free(q);

    cJSON *modifications = cJSON_Parse("[{\"id\":\"cf1\",\"update\":{\"gcRule\":{}}}]");
    cJSON *out = NULL, *dropped = NULL;
    assert_int_equal(
        bt_table_modify_families(f->bt->admin, TABLE, modifications, &out, &dropped, &st), EM_OK);
    cJSON_Delete(out);
    cJSON_Delete(dropped);
    cJSON_Delete(modifications);
    char keys[256], json[256];
    int cells;
    snprintf(json, sizeof(json), "{\"appProfileId\":\"east\",\"rows\":{\"rowKeys\":[\"%s\"]}}", g);
    assert_int_equal(read_keys(f, json, keys, sizeof(keys), &cells), EM_OK);
    assert_int_equal(cells, 6); /* cf1: q, m, c one each; cf2: q three */
    snprintf(json, sizeof(json), "{\"appProfileId\":\"west\",\"rows\":{\"rowKeys\":[\"%s\"]}}", g);
    assert_int_equal(read_keys(f, json, keys, sizeof(keys), &cells), EM_OK);
    assert_int_equal(cells, 6); /* the other cluster's replica collected as well */
    free(g);
}

static void test_sample_drop_and_delete(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char keys[256];
    int cells;
    assert_int_equal(set_cell(f, NULL, "user#1", "cf2", "q", 1000, "v"), EM_OK);
    assert_int_equal(set_cell(f, NULL, "user#2", "cf2", "q", 1000, "v"), EM_OK);
    assert_int_equal(set_cell(f, NULL, "zeta", "cf1", "q", 1000, "v"), EM_OK);
    cJSON *samples = NULL;
    assert_int_equal(bt_data_sample_row_keys(f->bt, TABLE, NULL, &samples, &st), EM_OK);
    const cJSON *last = cJSON_GetArrayItem(samples, cJSON_GetArraySize(samples) - 1);
    assert_string_equal(em_json_string(last, "rowKey"), "");
    cJSON_Delete(samples);

    char *prefix = b64("user#");
    assert_int_equal(bt_data_drop_rows(f->bt, TABLE, prefix, &st), EM_OK);
    free(prefix);
    assert_int_equal(read_keys(f, "{\"appProfileId\":\"west\"}", keys, sizeof(keys), &cells),
                     EM_OK);
    assert_string_equal(keys, "zeta"); /* dropped in every replica */

    cJSON *dropped = cJSON_Parse("[\"cf1\"]");
    assert_int_equal(bt_data_drop_families(f->bt, TABLE, dropped, &st), EM_OK);
    cJSON_Delete(dropped);
    assert_int_equal(read_keys(f, "{}", keys, sizeof(keys), &cells), EM_OK);
    assert_string_equal(keys, "");

    assert_int_equal(bt_table_delete(f->bt->admin, TABLE, NOW, &st), EM_OK);
    assert_int_equal(read_keys(f, "{}", keys, sizeof(keys), &cells), EM_NOT_FOUND);
    assert_int_equal(count_files(f), 2); /* recoverable: the replicas' files stay */
    assert_int_equal(bt_deleted_tables_expire(f->bt->admin, NOW + WINDOW_NS, &st), EM_OK);
    assert_int_equal(count_files(f), 0); /* shredded once the 7 days are over */
}

/* A deleted table comes back with its cells, in every replica; a cluster made meanwhile
 * gets its replica then (a copy under its own keys). */
static void test_undelete_keeps_cells(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char keys[256];
    int cells;
    cJSON *out = NULL;
    assert_int_equal(set_cell(f, "east", "kept", "cf1", "q", 1000, "still here"), EM_OK);
    assert_int_equal(bt_table_delete(f->bt->admin, TABLE, NOW, &st), EM_OK);
    assert_int_equal(set_cell(f, "east", "lost", "cf1", "q", 1000, "refused"), EM_NOT_FOUND);

    cJSON *cluster = cJSON_Parse("{\"location\":\"" PARENT "/locations/europe-west1-b\","
                                 "\"serveNodes\":1}");
    assert_int_equal(bt_cluster_create(f->bt->admin, INST, "europe-c3", cluster, &out, &st), EM_OK);
    cJSON_Delete(out);
    assert_int_equal(bt_cluster_ready(f->bt->admin, INST "/clusters/europe-c3", &out, &st), EM_OK);
    cJSON_Delete(out);
    cJSON_Delete(cluster);
    cJSON *profile = cJSON_Parse("{\"singleClusterRouting\":{\"clusterId\":\"europe-c3\"}}");
    assert_int_equal(bt_app_profile_create(f->bt->admin, INST, "eu", profile, &out, &st), EM_OK);
    cJSON_Delete(out);
    cJSON_Delete(profile);

    assert_int_equal(bt_table_undelete(f->bt->admin, TABLE, NOW, &out, &st), EM_OK);
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(out, "columnFamilies"), "cf2"));
    cJSON_Delete(out);
    const char *profiles[] = {"{\"appProfileId\":\"west\"}", "{\"appProfileId\":\"east\"}",
                              "{\"appProfileId\":\"eu\"}"};
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
        assert_int_equal(read_keys(f, profiles[i], keys, sizeof(keys), &cells), EM_OK);
        assert_string_equal(keys, "kept");
    }
    assert_int_equal(count_files(f), 3);
}

/* checkConsistency of token on TABLE, with mode (a JSON member) or none (NULL). */
static bool consistent(struct fixture *f, const char *token, const char *mode)
{
    char json[1024];
    bool result = false;
    struct em_status st = {0};
    snprintf(json, sizeof(json), "{\"consistencyToken\":\"%s\"%s%s}", token, mode ? "," : "",
             mode ? mode : "");
    cJSON *request = cJSON_Parse(json);
    assert_int_equal(bt_consistency_check(f->bt, TABLE, request, &result, &st), EM_OK);
    cJSON_Delete(request);
    return result;
}

static char *generate(struct fixture *f)
{
    char *token = NULL;
    struct em_status st = {0};
    assert_int_equal(bt_consistency_generate(f->bt, TABLE, &token, &st), EM_OK);
    return token;
}

/* A token covers the writes made before it: consistent once they reached every replica,
 * whatever was written after it. */
static void test_consistency_tokens(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    f->bt->replication.delay_ns = 60 * EM_NS_PER_SEC;
    char *before = generate(f);
    assert_int_equal(set_cell(f, "east", "r1", "cf1", "q", 1000, "one"), EM_OK);
    char *after = generate(f);
    assert_true(consistent(f, before, NULL)); /* r1 came after it */
    assert_false(consistent(f, after, NULL)); /* r1 waits 60 s for west */
    assert_true(consistent(f, after, "\"dataBoostReadLocalWrites\":{}"));
    assert_false(consistent(f, after, "\"standardReadRemoteWrites\":{}"));
    bt_replication_drain(&f->bt->replication, NOW + 59 * EM_NS_PER_SEC);
    assert_false(consistent(f, after, NULL));
    bt_replication_drain(&f->bt->replication, NOW + 60 * EM_NS_PER_SEC);
    assert_true(consistent(f, after, NULL));

    /* errors: an unknown table, a token of nothing, a token of another table */
    char *token = NULL;
    bool result;
    cJSON *request = cJSON_Parse("{\"consistencyToken\":\"bm90IGEgdG9rZW4\"}");
    assert_int_equal(bt_consistency_generate(f->bt, INST "/tables/none", &token, &st),
                     EM_NOT_FOUND);
    assert_int_equal(bt_consistency_check(f->bt, INST "/tables/none", request, &result, &st),
                     EM_NOT_FOUND);
    assert_int_equal(bt_consistency_check(f->bt, TABLE, request, &result, &st),
                     EM_INVALID_ARGUMENT);
    cJSON_Delete(request);
    request = cJSON_Parse("{\"tableId\":\"t2\"}");
    cJSON *out = NULL;
    assert_int_equal(bt_table_create(f->bt->admin, INST, request, NOW, &out, &st), EM_OK);
    cJSON_Delete(out);
    cJSON_Delete(request);
    assert_int_equal(bt_consistency_generate(f->bt, INST "/tables/t2", &token, &st), EM_OK);
    char json[1024];
    snprintf(json, sizeof(json), "{\"consistencyToken\":\"%s\"}", token);
    request = cJSON_Parse(json);
    assert_int_equal(bt_consistency_check(f->bt, TABLE, request, &result, &st),
                     EM_INVALID_ARGUMENT);
    cJSON_Delete(request);
    free(token);
    free(before);
    free(after);
}

/* Family IDs are case-sensitive: "CF1" is not the table's "cf1", so a write to it is
 * refused and dropping it drops nothing (before, cJSON's case-insensitive lookups let a
 * write create cells of a family the table does not have, and a drop of "CF1" removed
 * "cf1" from the schema while its cells stayed, to come back when "cf1" was re-created). */
static void test_family_ids_are_case_sensitive(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char keys[256];
    int cells;
    assert_int_equal(set_cell(f, NULL, "r1", "CF1", "q", 1000, "v"), EM_NOT_FOUND);
    assert_int_equal(set_cell(f, NULL, "r1", "cf2", "q", 1000, "kept"), EM_OK);

    cJSON *mods = cJSON_Parse("[{\"id\":\"CF2\",\"drop\":true}]"), *t = NULL, *dropped = NULL;
    assert_int_equal(bt_table_modify_families(f->bt->admin, TABLE, mods, &t, &dropped, &st),
                     EM_NOT_FOUND);
    cJSON_Delete(mods);
    assert_null(t);
    assert_int_equal(read_keys(f, "{}", keys, sizeof(keys), &cells), EM_OK);
    assert_string_equal(keys, "r1");

    mods = cJSON_Parse("[{\"id\":\"CF2\",\"create\":{}}]"); /* another family */
    assert_int_equal(bt_table_modify_families(f->bt->admin, TABLE, mods, &t, &dropped, &st), EM_OK);
    cJSON_Delete(mods);
    const cJSON *families = cJSON_GetObjectItem(t, "columnFamilies");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(families, "cf2"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(families, "CF2"));
    cJSON_Delete(t);
    cJSON_Delete(dropped);

    cJSON *request =
        cJSON_Parse("{\"tableId\":\"twice\",\"table\":{\"columnFamilies\":{\"a\":{},\"a\":{}}}}");
    assert_int_equal(bt_table_create(f->bt->admin, INST, request, NOW, &t, &st),
                     EM_INVALID_ARGUMENT);
    cJSON_Delete(request);
}

/* sampleRowKeys through an authorized view counts the view's cells only: its offsets
 * used to add up the sizes of the cells the view hides. */
static void test_view_samples_count_its_cells(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char hidden[301];
    memset(hidden, 'h', 300);
    hidden[300] = '\0';
    assert_int_equal(set_cell(f, NULL, "a#1", "cf1", "q", 1000, "v"), EM_OK);
    assert_int_equal(set_cell(f, NULL, "a#1", "cf2", "q", 1000, hidden), EM_OK);
    char *prefix = b64("a#"), *q = b64("q"), json[256];
    snprintf(json, sizeof(json),
             "{\"subsetView\":{\"rowPrefixes\":[\"%s\"],\"familySubsets\":{\"cf1\":{"
             "\"qualifiers\":[\"%s\"]}}}}",
             prefix, q);
    free(prefix);
    free(q);
    cJSON *view = cJSON_Parse(json), *out = NULL;
    assert_int_equal(bt_view_create(f->bt->admin, TABLE, "narrow", view, NOW, &out, &st), EM_OK);
    cJSON_Delete(view);
    cJSON_Delete(out);
    cJSON *samples = NULL;
    assert_int_equal(
        bt_data_sample_row_keys(f->bt, TABLE "/authorizedViews/narrow", NULL, &samples, &st),
        EM_OK);
    const cJSON *last = cJSON_GetArrayItem(samples, cJSON_GetArraySize(samples) - 1);
    int64_t offset = -1;
    assert_true(em_json_int64(last, "offsetBytes", &offset));
    assert_int_equal(offset, 3 + 3 + 1 + 1 + 8); /* a#1 cf1 q v, and nothing of cf2 */
    cJSON_Delete(samples);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* mutateRow of one addToCell of family "sums" (row "r", qualifier "q", 1000 us). */
static enum em_code add_to_cell(struct fixture *f, const char *profile, long long input)
{
    char json[512];
    snprintf(
        json, sizeof(json),
        "{\"appProfileId\":\"%s\",\"rowKey\":\"cg==\",\"mutations\":[{\"addToCell\":{"
        "\"familyName\":\"sums\",\"columnQualifier\":{\"rawValue\":\"cQ==\"},"
        "\"timestamp\":{\"rawTimestampMicros\":\"1000\"},\"input\":{\"intValue\":\"%lld\"}}}]}",
        profile, input);
    cJSON *request = cJSON_Parse(json);
    struct em_status st = {0};
    enum em_code rc = bt_data_mutate_row(f->bt, TABLE, request, NOW, &st);
    cJSON_Delete(request);
    return rc;
}

/* The state of the "sums" cell read through a profile (-1 when there is none). */
static int64_t sum_read(struct fixture *f, const char *profile)
{
    char json[256];
    snprintf(json, sizeof(json),
             "{\"appProfileId\":\"%s\",\"filter\":{\"familyNameRegexFilter\":\"sums\"}}", profile);
    cJSON *request = cJSON_Parse(json), *responses = NULL;
    struct em_status st = {0};
    assert_int_equal(bt_data_read_rows(f->bt, TABLE, request, NOW, &responses, &st), EM_OK);
    const char *value = em_json_string(
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(responses, 0), "chunks"), 0),
        "value");
    unsigned char *raw = NULL;
    size_t len = 0;
    int64_t state = -1;
    if (value) {
        assert_true(em_b64_decode(value, strlen(value), &raw, &len));
        assert_true(bt_int64_decode((struct bt_bytes){raw, len}, &state));
    }
    free(raw);
    cJSON_Delete(responses);
    cJSON_Delete(request);
    return state;
}

/* An entry of another replica's log given to west-c2's replica directly. */
static void receive(struct fixture *f, const char *source, int64_t seq, int64_t input)
{
    struct bt_mutation add = {.kind = BT_MUT_ADD_TO_CELL,
                              .family = "sums",
                              .qualifier = {(const uint8_t *)"q", 1},
                              .timestamp_micros = 1000,
                              .input = input,
                              .has_input = true,
                              .aggregator = BT_AGG_SUM};
    struct bt_mutations m = {&add, 1};
    struct bt_row_mutations row = {{(const uint8_t *)"r", 1}, &m};
    char replica[BT_NAME_MAX];
    struct em_datafile *file = NULL;
    struct em_status st = {0};
    bt_replica_name(TABLE, "west-c2", replica);
    assert_int_equal(bt_replicas_open_file(f->bt->replicas, replica, &file, &st), EM_OK);
    assert_int_equal(bt_cells_mutate_received(file, &row, 1, NULL, source, seq, &st), EM_OK);
    em_datafile_put(file);
}

/* Aggregate families: AddToCell through either cluster reaches both (each replica folds
 * the other's inputs); a replication entry is folded once, however often it arrives. */
static void test_aggregate_families(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    cJSON *mods = cJSON_Parse(
              "[{\"id\":\"sums\",\"create\":{\"valueType\":{\"aggregateType\":{\"inputType\":"
              "{\"int64Type\":{\"encoding\":{\"bigEndianBytes\":{}}}},\"sum\":{}}}}}]"),
          *out = NULL, *dropped = NULL;
    assert_int_equal(bt_table_modify_families(f->bt->admin, TABLE, mods, &out, &dropped, &st),
                     EM_OK);
    cJSON_Delete(mods);
    cJSON_Delete(out);
    cJSON_Delete(dropped);
    assert_int_equal(add_to_cell(f, "east", 5), EM_OK);
    assert_int_equal(add_to_cell(f, "west", -3), EM_OK);
    assert_int_equal(sum_read(f, "east"), 2);
    assert_int_equal(sum_read(f, "west"), 2);
    /* setCell and readModifyWriteRow may not write there */
    assert_int_equal(set_cell(f, "east", "r", "sums", "q", 1000, "12345678"), EM_INVALID_ARGUMENT);
    /* entry 7 of a source's log: folded once; an older one is not folded again */
    receive(f, "source-replica", 7, 10);
    receive(f, "source-replica", 7, 10);
    assert_int_equal(sum_read(f, "west"), 12);
    receive(f, "source-replica", 5, 100);
    receive(f, "source-replica", 8, 100);
    receive(f, "another-source", 1, 1000);
    assert_int_equal(sum_read(f, "west"), 1112);
    assert_int_equal(sum_read(f, "east"), 2);
    /* the sources are known by their logs' identities: random, one per file */
    char ids[2][BT_LOG_ID_SIZE];
    const char *clusters[] = {"east-c1", "west-c2"};
    for (int i = 0; i < 2; i++) {
        char replica[BT_NAME_MAX];
        struct em_datafile *file = NULL;
        bt_replica_name(TABLE, clusters[i], replica);
        assert_int_equal(bt_replicas_open_file(f->bt->replicas, replica, &file, &st), EM_OK);
        assert_int_equal(bt_cells_log_identity(file, ids[i], &st), EM_OK);
        em_datafile_put(file);
        assert_int_equal(strspn(ids[i], "0123456789abcdef"), 32);
    }
    assert_string_not_equal(ids[0], ids[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_writes_replicate_to_every_cluster),
        T(test_row_sets_limits_and_order),
        T(test_gc_rules_and_filters_at_read),
        T(test_mutate_rows_check_and_rmw),
        T(test_rmw_answers_one_cell_per_column),
        T(test_garbage_deleted_on_write),
        T(test_sample_drop_and_delete),
        T(test_undelete_keeps_cells),
        T(test_consistency_tokens),
        T(test_family_ids_are_case_sensitive),
        T(test_view_samples_count_its_cells),
        T(test_aggregate_families),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
