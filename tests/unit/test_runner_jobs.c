/*
 * test_runner_jobs: the jobs domain (runner_jobs.h) on a runner service opened in process
 * (no HTTP): ListJobs' name selecting the jobs of one name, with the state filter and
 * across pages whose tokens skip the other names; GetJobMetrics' startTime returning only
 * the metrics that changed since then, a metric's updateTime being when a report first
 * saw its value (rn_metric_report), for a running job and for a finished one whose kept
 * metrics are read back after a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "em_clock.h"
#include "em_json.h"
#include "em_names.h"
#include "runner/runner_engine.h"
#include "runner/runner_jobs.h"
#include "runner/runner_service.h"
#include "unit_kms.h"
#include "unit_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROJECT "p"
#define REGION  "us-central1"
#define SEC     EM_NS_PER_SEC
/* A batch pipeline over gs://bkt/in.txt with a user counter on its read step. */
#define PIPELINE                                                                                   \
    "{\"steps\":[{\"name\":\"read\",\"transform\":\"ReadText\",\"path\":\"gs://bkt/in.txt\","      \
    "\"counters\":{\"lines\":\"output\"}},"                                                        \
    "{\"name\":\"write\",\"transform\":\"WriteText\",\"input\":\"read\",\"path\":\"gs://bkt/"      \
    "out\"}]}"

struct fixture {
    char dir[PATH_MAX];
    struct em_config cfg;
    struct em_service *svc;
};

static struct rn_jobs *jobs_of(struct fixture *f)
{
    return f->svc->ctx;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_config_init(&f->cfg, f->dir, sizeof(f->dir)) ||
        em_service_open(&runner_service, &f->cfg, &f->svc, &st)) {
        fprintf(stderr, "setup: %s\n", st.message);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    if (f->svc) { /* NULL when a test's restart failed */
        em_clock_reset(f->svc->store, &st);
        em_service_close(f->svc);
    }
    em_remove_tree(f->dir);
    free(f);
    return 0;
}

/* Launches a job of that name running PIPELINE; its id into id. */
static void launch(struct fixture *f, const char *name, char id[64])
{
    struct rn_launch l = {
        .project = PROJECT, .location = REGION, .job_name = name, .pipeline_text = PIPELINE};
    struct em_status st = {0};
    cJSON *job = NULL;
    assert_int_equal(rn_jobs_launch(jobs_of(f), &l, &job, &st), EM_OK);
    assert_non_null(job);
    snprintf(id, 64, "%s", em_json_string(job, "id"));
    cJSON_Delete(job);
}

static void job_path(const char *id, char *out, size_t len)
{
    snprintf(out, len, "projects/" PROJECT "/locations/" REGION "/jobs/%s", id);
}

/* Cancels a job that is still PENDING (no tick ran): CANCELLED at once. */
static void cancel(struct fixture *f, const char *id)
{
    char name[256];
    struct em_status st = {0};
    cJSON *job = NULL;
    job_path(id, name, sizeof(name));
    assert_int_equal(rn_jobs_update(jobs_of(f), name, "JOB_STATE_CANCELLED", &job, &st), EM_OK);
    assert_string_equal(em_json_string(job, "currentState"), "JOB_STATE_CANCELLED");
    cJSON_Delete(job);
}

/* The ids of one page of q, joined by ','; the page's token into token ("" for none). */
static void list_ids(struct fixture *f, const struct rn_job_query *q, const char *page_token,
                     char *ids, size_t len, char *token, size_t token_len)
{
    struct em_status st = {0};
    cJSON *reply = NULL;
    const cJSON *job;
    assert_int_equal(rn_jobs_list(jobs_of(f), PROJECT, q, page_token, &reply, &st), EM_OK);
    ids[0] = '\0';
    cJSON_ArrayForEach(job, cJSON_GetObjectItemCaseSensitive(reply, "jobs"))
    {
        snprintf(ids + strlen(ids), len - strlen(ids), "%s%s", ids[0] ? "," : "",
                 em_json_string(job, "id"));
    }
    const char *next = em_json_string(reply, "nextPageToken");
    if (token)
        snprintf(token, token_len, "%s", next ? next : "");
    cJSON_Delete(reply);
}

/* Every page of q at page_size, token after token (at most 20 pages), joined by ','. */
static int list_paged(struct fixture *f, struct rn_job_query q, int page_size, char *ids,
                      size_t len)
{
    char page[1024], token[256] = "", next[256];
    int pages = 0;
    q.page_size = page_size;
    ids[0] = '\0';
    do {
        list_ids(f, &q, token, page, sizeof(page), next, sizeof(next));
        if (*page)
            snprintf(ids + strlen(ids), len - strlen(ids), "%s%s", ids[0] ? "," : "", page);
        snprintf(token, sizeof(token), "%s", next);
        pages++;
    } while (*token && pages < 20);
    return pages;
}

/* ListJobs' name: only the jobs of that name, newest first; "" and NULL: every job. */
static void test_list_by_name(void **state)
{
    struct fixture *f = *state;
    char a1[64], b1[64], a2[64], ids[1024], want[256];
    launch(f, "alpha", a1);
    launch(f, "beta", b1);
    launch(f, "alpha", a2);
    struct rn_job_query q = {.location = REGION, .name = "alpha"};
    list_ids(f, &q, NULL, ids, sizeof(ids), NULL, 0);
    snprintf(want, sizeof(want), "%s,%s", a2, a1);
    assert_string_equal(ids, want);
    q.name = "beta";
    list_ids(f, &q, NULL, ids, sizeof(ids), NULL, 0);
    assert_string_equal(ids, b1);
    q.name = "alph"; /* the whole name, not a prefix */
    list_ids(f, &q, NULL, ids, sizeof(ids), NULL, 0);
    assert_string_equal(ids, "");
    q.name = "";
    list_ids(f, &q, NULL, ids, sizeof(ids), NULL, 0);
    snprintf(want, sizeof(want), "%s,%s,%s", a2, b1, a1);
    assert_string_equal(ids, want);
    q.name = NULL;
    list_ids(f, &q, NULL, ids, sizeof(ids), NULL, 0);
    assert_string_equal(ids, want);
    q.location = NULL; /* aggregated over locations: the same jobs */
    q.name = "alpha";
    list_ids(f, &q, NULL, ids, sizeof(ids), NULL, 0);
    snprintf(want, sizeof(want), "%s,%s", a2, a1);
    assert_string_equal(ids, want);
}

/* pageSize=1 over the jobs of one name, with jobs of another name between them: one page
 * per job of that name, each once, newest first, and no token after the last. */
static void test_list_by_name_paged(void **state)
{
    struct fixture *f = *state;
    char a[3][64], b[2][64], ids[1024], want[256];
    launch(f, "alpha", a[0]);
    launch(f, "beta", b[0]);
    launch(f, "alpha", a[1]);
    launch(f, "beta", b[1]);
    launch(f, "alpha", a[2]);
    struct rn_job_query q = {.location = REGION, .name = "alpha"};
    snprintf(want, sizeof(want), "%s,%s,%s", a[2], a[1], a[0]);
    assert_int_equal(list_paged(f, q, 1, ids, sizeof(ids)), 3);
    assert_string_equal(ids, want);
    assert_int_equal(list_paged(f, q, 2, ids, sizeof(ids)), 2);
    assert_string_equal(ids, want);
    assert_int_equal(list_paged(f, q, 3, ids, sizeof(ids)), 1);
    assert_string_equal(ids, want);
    q.name = "beta";
    snprintf(want, sizeof(want), "%s,%s", b[1], b[0]);
    assert_int_equal(list_paged(f, q, 1, ids, sizeof(ids)), 2);
    assert_string_equal(ids, want);
}

/* name with filter: TERMINATED and ACTIVE each list only their jobs of that name. */
static void test_list_by_name_and_state(void **state)
{
    struct fixture *f = *state;
    char a1[64], b1[64], a2[64], a3[64], ids[1024], want[256];
    launch(f, "alpha", a1);
    launch(f, "beta", b1);
    launch(f, "alpha", a2);
    launch(f, "alpha", a3);
    cancel(f, a1);
    cancel(f, b1);
    cancel(f, a3);
    struct rn_job_query q = {.location = REGION, .filter = RN_FILTER_TERMINATED, .name = "alpha"};
    snprintf(want, sizeof(want), "%s,%s", a3, a1);
    assert_int_equal(list_paged(f, q, 1, ids, sizeof(ids)), 2);
    assert_string_equal(ids, want);
    q.filter = RN_FILTER_ACTIVE;
    list_ids(f, &q, NULL, ids, sizeof(ids), NULL, 0);
    assert_string_equal(ids, a2);
    q.name = "beta";
    list_ids(f, &q, NULL, ids, sizeof(ids), NULL, 0);
    assert_string_equal(ids, "");
}

/* A page token of one listing goes on in it; one naming no job is refused. */
static void test_list_page_token(void **state)
{
    struct fixture *f = *state;
    char a1[64], b1[64], a2[64], ids[1024], token[256];
    launch(f, "alpha", a1);
    launch(f, "beta", b1);
    launch(f, "alpha", a2);
    struct rn_job_query q = {.location = REGION, .name = "alpha", .page_size = 1};
    list_ids(f, &q, NULL, ids, sizeof(ids), token, sizeof(token));
    assert_string_equal(ids, a2);
    assert_true(*token);
    list_ids(f, &q, token, ids, sizeof(ids), token, sizeof(token));
    assert_string_equal(ids, a1);
    assert_string_equal(token, "");
    char *bad = em_page_token_make("2000-01-01_00_00_00-1000000000000000000");
    struct em_status st = {0};
    cJSON *reply = NULL;
    assert_int_equal(rn_jobs_list(jobs_of(f), PROJECT, &q, bad, &reply, &st), EM_INVALID_ARGUMENT);
    assert_null(reply);
    free(bad);
}

/* A counter's updateTime: the report that first saw its value, kept while it holds. */
static void test_metric_report(void **state)
{
    (void)state;
    struct rn_metric_seen seen = {0};
    assert_int_equal(rn_metric_report(&seen, 0, 100), 100); /* first report, even of 0 */
    assert_int_equal(rn_metric_report(&seen, 0, 200), 100);
    assert_int_equal(rn_metric_report(&seen, 5, 300), 300);
    assert_int_equal(rn_metric_report(&seen, 5, 400), 300);
    assert_int_equal(rn_metric_report(&seen, 5, 500), 300);
    assert_int_equal(rn_metric_report(&seen, 9, 600), 600);
}

/* GetJobMetrics of job at start_ns: how many metrics; the last one's updateTime into
 * *updated (when there is one) and metricTime into *metric_time. */
static int metrics_since(struct fixture *f, const char *id, int64_t start_ns, int64_t *updated,
                         int64_t *metric_time)
{
    char name[256];
    struct em_status st = {0};
    cJSON *reply = NULL;
    const cJSON *m;
    job_path(id, name, sizeof(name));
    assert_int_equal(rn_jobs_metrics(jobs_of(f), name, start_ns, &reply, &st), EM_OK);
    assert_true(em_time_parse(em_json_string(reply, "metricTime"), metric_time));
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(reply, "metrics");
    cJSON_ArrayForEach(m, list)
    {
        assert_true(em_time_parse(em_json_string(m, "updateTime"), updated));
    }
    int n = cJSON_GetArraySize(list);
    cJSON_Delete(reply);
    return n;
}

static void advance(struct fixture *f, int64_t ns)
{
    struct em_status st = {0};
    int64_t offset;
    assert_int_equal(em_clock_advance(f->svc->store, ns, &offset, &st), EM_OK);
}

/* A PENDING job's counters (ElementCount of its two steps; no user counter counted yet)
 * do not change: after their first report, a startTime past it returns none of them, one
 * at or before it returns them all with that first updateTime; metricTime is now. */
static void test_metrics_start_time(void **state)
{
    struct fixture *f = *state;
    char id[64];
    int64_t first, updated, metric_time, later;
    launch(f, "alpha", id);
    assert_int_equal(metrics_since(f, id, INT64_MIN, &first, &metric_time), 2);
    assert_int_equal(first, metric_time);
    advance(f, 60 * SEC);
    assert_int_equal(metrics_since(f, id, first + 1, &updated, &later), 0);
    assert_true(later >= first + 60 * SEC);
    assert_int_equal(metrics_since(f, id, first, &updated, &metric_time), 2);
    assert_int_equal(updated, first);
    assert_int_equal(metrics_since(f, id, INT64_MIN, &updated, &metric_time), 2);
    assert_int_equal(updated, first);
    assert_int_equal(metrics_since(f, id, later + 3600 * SEC, &updated, &metric_time), 0);
    char name[256];
    struct em_status st = {0};
    cJSON *reply = NULL;
    job_path("2000-01-01_00_00_00-1000000000000000000", name, sizeof(name));
    assert_int_equal(rn_jobs_metrics(jobs_of(f), name, INT64_MIN, &reply, &st), EM_NOT_FOUND);
    assert_null(reply);
}

static void write_input(struct fixture *f, const char *text)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/gcs", f->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/gcs/bkt", f->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/gcs/bkt/in.txt", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Ticks until the job is terminal (at most 20 s of real time); its currentStateTime. */
static int64_t run_to_end(struct fixture *f, const char *id, const char *want)
{
    char name[256];
    int64_t end = 0;
    job_path(id, name, sizeof(name));
    for (int i = 0; i < 200; i++) {
        struct em_status st = {0};
        cJSON *job = NULL;
        assert_int_equal(rn_jobs_tick(jobs_of(f), &st), EM_OK);
        assert_int_equal(rn_jobs_get(jobs_of(f), name, RN_VIEW_SUMMARY, &job, &st), EM_OK);
        bool done = strcmp(em_json_string(job, "currentState"), want) == 0;
        if (done)
            assert_true(em_time_parse(em_json_string(job, "currentStateTime"), &end));
        cJSON_Delete(job);
        if (done)
            return end;
        usleep(100 * 1000);
    }
    fail_msg("job %s did not reach %s", id, want);
    return 0;
}

/* The kept metrics of a finished job: its final report, each dated when first seen, read
 * back after a restart and filtered the same way. */
static void test_finished_job_metrics(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    char id[64], name[256];
    cJSON *reply = NULL;
    int64_t updated, metric_time;
    write_input(f, "a\nb\nc\n");
    launch(f, "alpha", id);
    int64_t end = run_to_end(f, id, "JOB_STATE_DONE");
    advance(f, 60 * SEC);
    /* ElementCount of read and write, and the user counter "lines" */
    assert_int_equal(metrics_since(f, id, INT64_MIN, &updated, &metric_time), 3);
    assert_true(metric_time >= end + 60 * SEC);
    assert_int_equal(metrics_since(f, id, end + 1, &updated, &metric_time), 0);
    em_service_close(f->svc); /* a restart: the job's metrics come from its row */
    f->svc = NULL;
    assert_int_equal(em_service_open(&runner_service, &f->cfg, &f->svc, &st), EM_OK);
    job_path(id, name, sizeof(name));
    assert_int_equal(rn_jobs_metrics(jobs_of(f), name, INT64_MIN, &reply, &st), EM_OK);
    const cJSON *m;
    int counted = 0;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(reply, "metrics"))
    {
        const char *metric = em_json_string(cJSON_GetObjectItemCaseSensitive(m, "name"), "name");
        const cJSON *scalar = cJSON_GetObjectItemCaseSensitive(m, "scalar");
        assert_true(em_time_parse(em_json_string(m, "updateTime"), &updated));
        assert_true(updated <= end);
        counted += strcmp(metric, "lines") == 0 && scalar->valuedouble == 3;
    }
    assert_int_equal(counted, 1);
    cJSON_Delete(reply);
    assert_int_equal(metrics_since(f, id, end + 1, &updated, &metric_time), 0);
    assert_int_equal(metrics_since(f, id, end - 3600 * SEC, &updated, &metric_time), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_by_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_by_name_paged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_by_name_and_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_page_token, setup, teardown),
        cmocka_unit_test(test_metric_report),
        cmocka_unit_test_setup_teardown(test_metrics_start_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finished_job_metrics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
