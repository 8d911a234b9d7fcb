/*
 * runner_jobs: the lifecycle of Dataflow jobs (states drawn in runner_jobs.h). The Job
 * JSON in metadata.db is the truth every reader sees; the lock serialises its
 * read-modify-writes between handlers, ticks and job threads. A running job also has an
 * in-memory struct active_job: its thread, stop flag, metrics and state datastore.
 */
#include "runner_jobs.h"

#include "runner_engine.h"
#include "runner_store.h"

#include "em_clock.h"
#include "em_cmek.h"
#include "em_config.h"
#include "em_crypto.h"
#include "em_datastore.h"
#include "em_descriptor.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_log.h"
#include "em_names.h"
#include "em_orgpolicy.h"
#include "em_service.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define JOB_NAME_MAX 512
#define PAGE_MAX     1000

struct active_job {
    char name[JOB_NAME_MAX];
    char id[64], project[64];
    struct rn_jobs *jobs;
    struct rn_pipeline *pipeline;
    struct em_datastore *state;
    struct rn_metrics metrics;
    struct rn_run run;
    pthread_t thread;
    bool started;
    atomic_bool finished;
    struct active_job *next;
};

struct rn_jobs {
    struct em_service *svc;
    pthread_mutex_t lock; /* the job rows' read-modify-writes, the active list */
    struct active_job *active;
    char pubsub_url[256], bigtable_url[256], spanner_url[256];
};

static const char *const terminal_states[] = {"JOB_STATE_DONE",      "JOB_STATE_FAILED",
                                              "JOB_STATE_CANCELLED", "JOB_STATE_DRAINED",
                                              "JOB_STATE_UPDATED",   NULL};

static bool is_terminal(const char *state)
{
    for (int i = 0; state && terminal_states[i]; i++)
        if (strcmp(state, terminal_states[i]) == 0)
            return true;
    return false;
}

/* --- ids and names --- */

enum em_code rn_job_id_make(int64_t now_ns, char *out, size_t len, struct em_status *st)
{
    uint64_t r;
    if (em_random_bytes(&r, sizeof(r), st))
        return st->code;
    time_t secs = (time_t)(now_ns / EM_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%d_%H_%M_%S", &tm);
    /* 19 digits, the first not 0 */
    snprintf(out, len, "%s-%019" PRIu64, date,
             (uint64_t)(1000000000000000000ULL + r % 8999999999999999999ULL));
    return EM_OK;
}

/* Google's job names: [a-z]([-a-z0-9]{0,1022}[a-z0-9])? */
static enum em_code check_job_name(const char *name, struct em_status *st)
{
    size_t len = name ? strlen(name) : 0;
    bool ok = len > 0 && len <= 1024 && islower((unsigned char)name[0]) && name[len - 1] != '-';
    for (size_t i = 0; ok && i < len; i++)
        ok = islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '-';
    if (!ok)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The job name '%s' is invalid: it must consist of only the characters "
                       "[-a-z0-9], starting with a letter and ending with a letter or number.",
                       name ? name : "");
    return EM_OK;
}

static enum em_code check_location(const char *location, struct em_status *st)
{
    const struct em_location *loc = em_location_find(location);
    if (!loc || loc->kind != EM_LOC_REGION)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The location '%s' is not a Dataflow region (such as us-central1).",
                       location);
    return EM_OK;
}

/* environment.worker_region: a region; worker_zone and zone: a zone, "<region>-<letter>". */
static enum em_code check_worker_location(const char *value, const char *field, bool zone,
                                          struct em_status *st)
{
    char region[64];
    size_t len = strlen(value);
    bool ok = len > 2 && len < sizeof(region);
    if (ok && zone) {
        ok = value[len - 2] == '-' && value[len - 1] >= 'a' && value[len - 1] <= 'z';
        len -= 2;
    }
    if (ok) {
        snprintf(region, sizeof(region), "%.*s", (int)len, value);
        const struct em_location *loc = em_location_find(region);
        ok = loc && loc->kind == EM_LOC_REGION;
    }
    if (!ok)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'environment.%s': '%.100s' is not a %s (such as %s).",
                       field, value, zone ? "zone" : "region",
                       zone ? "us-central1-a" : "us-central1");
    return EM_OK;
}

/* A Dataflow job's key must be global or in the job's region (DESIGN section 3). */
static enum em_code check_key(const char *key, const char *location, struct em_status *st)
{
    struct em_crypto_key_name parsed;
    if (em_crypto_key_name_parse(key, "environment.kms_key_name", &parsed, st))
        return st->code;
    if (strcmp(parsed.location, "global") != 0 && strcmp(parsed.location, location) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "The Cloud KMS key %s is in location '%s': a Dataflow job's key must be in "
                       "'global' or in the job's region '%s'.",
                       key, parsed.location, location);
    return EM_OK;
}

/* --- the job row --- */

static enum em_code load_job(struct rn_jobs *jobs, const char *name, cJSON **job, char **pipeline,
                             struct em_status *st)
{
    char *text;
    *job = NULL;
    if (rn_store_get_job(jobs->svc->store, name, &text, pipeline, st))
        return st->code;
    if (!text) {
        const char *id = strrchr(name, '/');
        return EM_FAIL(st, EM_NOT_FOUND, "(%s): Job %s not found.", id ? id + 1 : name, name);
    }
    *job = cJSON_Parse(text);
    free(text);
    if (!*job) {
        if (pipeline) {
            free(*pipeline);
            *pipeline = NULL;
        }
        return EM_FAIL(st, EM_INTERNAL, "A stored Dataflow job is not readable.");
    }
    return EM_OK;
}

static enum em_code save_job(struct rn_jobs *jobs, const char *name, const cJSON *job,
                             const char *pipeline, struct em_status *st)
{
    char *text = cJSON_PrintUnformatted(job);
    int64_t create_ns = 0;
    const char *create = em_json_string(job, "createTime");
    if (!text)
        return EM_FAIL_OOM(st);
    if (create)
        em_time_parse(create, &create_ns);
    rn_store_put_job(jobs->svc->store, name, em_json_string(job, "projectId"),
                     em_json_string(job, "location"), create_ns, text, pipeline, st);
    free(text);
    return st->code;
}

static void set_string(cJSON *obj, const char *key, const char *value)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddStringToObject(obj, key, value);
}

static void set_state(cJSON *job, const char *state, int64_t now)
{
    char t[EM_TIME_TEXT_MAX];
    em_time_format(now, t);
    set_string(job, "currentState", state);
    set_string(job, "currentStateTime", t);
}

/* Appends a JobMessage (importance 1 DEBUG, 2 DETAILED, 3 BASIC, 4 WARNING, 5 ERROR). */
static const char *const importance_names[] = {"JOB_MESSAGE_IMPORTANCE_UNKNOWN",
                                               "JOB_MESSAGE_DEBUG",
                                               "JOB_MESSAGE_DETAILED",
                                               "JOB_MESSAGE_BASIC",
                                               "JOB_MESSAGE_WARNING",
                                               "JOB_MESSAGE_ERROR"};

static void add_message(struct rn_jobs *jobs, const char *name, int importance, const char *text)
{
    struct em_status st = {0};
    int64_t now = em_clock_now();
    char t[EM_TIME_TEXT_MAX], id[32];
    em_time_format(now, t);
    snprintf(id, sizeof(id), "%" PRId64, now);
    cJSON *msg = cJSON_CreateObject();
    cJSON_AddStringToObject(msg, "id", id);
    cJSON_AddStringToObject(msg, "time", t);
    cJSON_AddStringToObject(msg, "messageText", text);
    cJSON_AddStringToObject(msg, "messageImportance", importance_names[importance]);
    char *json = cJSON_PrintUnformatted(msg);
    cJSON_Delete(msg);
    if (json && rn_store_add_message(jobs->svc->store, name, now, importance, json, &st))
        em_warn("runner: cannot record a message of %s: %s", name, st.message);
    free(json);
}

/* The row keeps a finished job's metrics under this member, which replies leave out. */
#define KEPT_METRICS "_metrics"

static void public_view(cJSON *job)
{
    cJSON_DeleteItemFromObjectCaseSensitive(job, KEPT_METRICS);
}

/* Moves a job to state under the lock (unless it is terminal already); metrics (taken),
 * when not NULL, are kept in its row. */
static void move_job(struct rn_jobs *jobs, const char *name, const char *state, cJSON *metrics)
{
    struct em_status st = {0};
    cJSON *job;
    char *pipeline;
    pthread_mutex_lock(&jobs->lock);
    if (!load_job(jobs, name, &job, &pipeline, &st) &&
        !is_terminal(em_json_string(job, "currentState"))) {
        int64_t now = em_clock_now();
        set_state(job, state, now);
        if (strcmp(state, "JOB_STATE_RUNNING") == 0 && !cJSON_HasObjectItem(job, "startTime")) {
            char t[EM_TIME_TEXT_MAX];
            em_time_format(now, t);
            cJSON_AddStringToObject(job, "startTime", t);
        }
        if (metrics) {
            public_view(job);
            cJSON_AddItemToObject(job, KEPT_METRICS, metrics);
            metrics = NULL;
        }
        save_job(jobs, name, job, pipeline, &st);
    }
    pthread_mutex_unlock(&jobs->lock);
    cJSON_Delete(metrics);
    if (st.code)
        em_warn("runner: cannot move %s to %s: %s", name, state, st.message);
    cJSON_Delete(job);
    free(pipeline);
}

/* --- running jobs --- */

static void engine_message(void *arg, int importance, const char *text)
{
    struct active_job *a = arg;
    add_message(a->jobs, a->name, importance, text);
}

static const char *outcome_state(enum rn_outcome outcome)
{
    switch (outcome) {
    case RN_OUTCOME_DONE:
        return "JOB_STATE_DONE";
    case RN_OUTCOME_CANCELLED:
        return "JOB_STATE_CANCELLED";
    case RN_OUTCOME_DRAINED:
        return "JOB_STATE_DRAINED";
    default:
        return "JOB_STATE_FAILED";
    }
}

static cJSON *metrics_list(struct active_job *a);

static void *job_thread(void *arg)
{
    struct active_job *a = arg;
    add_message(a->jobs, a->name, 3, "Workers have started successfully.");
    enum rn_outcome outcome = rn_engine_run(&a->run);
    if (atomic_load(&a->run.stop) != RN_STOP_SHUTDOWN) {
        if (outcome == RN_OUTCOME_FAILED) {
            char text[EM_STATUS_MESSAGE_MAX + 64];
            snprintf(text, sizeof(text), "Workflow failed. Causes: %s", a->run.failure.message);
            add_message(a->jobs, a->name, 5, text);
        } else {
            add_message(a->jobs, a->name, 3, "Worker pool stopped.");
        }
        move_job(a->jobs, a->name, outcome_state(outcome), metrics_list(a));
    }
    atomic_store(&a->finished, true);
    return NULL;
}

static void active_free(struct active_job *a)
{
    if (!a)
        return;
    if (a->started)
        pthread_join(a->thread, NULL);
    em_datastore_free(a->state);
    rn_pipeline_free(a->pipeline);
    rn_metrics_destroy(&a->metrics);
    free(a);
}

/* The worker identity a job's Pub/Sub calls act as. */
static void worker_principal(const cJSON *job, const char *project, char *out, size_t len)
{
    const char *sa =
        em_json_string(cJSON_GetObjectItemCaseSensitive(job, "environment"), "serviceAccountEmail");
    if (sa)
        snprintf(out, len, "serviceAccount:%s", sa);
    else
        snprintf(out, len, "serviceAccount:%" PRId64 "-compute@developer.gserviceaccount.com",
                 em_project_number(project));
}

static enum em_code parse_stored_pipeline(const char *stored, struct rn_pipeline **out,
                                          struct em_status *st)
{
    cJSON *wrap = cJSON_Parse(stored);
    const char *text = em_json_string(wrap, "pipeline");
    if (!text) {
        cJSON_Delete(wrap);
        return EM_FAIL(st, EM_INTERNAL, "A stored pipeline is not readable.");
    }
    rn_pipeline_parse(text, cJSON_GetObjectItemCaseSensitive(wrap, "parameters"), out, st);
    cJSON_Delete(wrap);
    return st->code;
}

static void state_path(struct rn_jobs *jobs, const char *id, char *out, size_t len)
{
    snprintf(out, len, "%s/runner/%s.state.db", jobs->svc->config.data_dir, id);
}

/* The in-memory side of a job about to run: pipeline, state datastore, engine inputs. */
static enum em_code activate(struct rn_jobs *jobs, const char *name, const cJSON *job,
                             const char *stored_pipeline, struct active_job **out,
                             struct em_status *st)
{
    struct active_job *a = calloc(1, sizeof(*a));
    if (!a)
        return EM_FAIL_OOM(st);
    rn_metrics_init(&a->metrics);
    a->jobs = jobs;
    snprintf(a->name, sizeof(a->name), "%s", name);
    snprintf(a->id, sizeof(a->id), "%s", em_json_string(job, "id"));
    snprintf(a->project, sizeof(a->project), "%s", em_json_string(job, "projectId"));
    char path[PATH_MAX + 128];
    state_path(jobs, a->id, path, sizeof(path));
    if (parse_stored_pipeline(stored_pipeline, &a->pipeline, st) ||
        em_datastore_new(jobs->svc->cmek, name, path, &rn_state_hooks, NULL, &a->state, st)) {
        active_free(a);
        return st->code;
    }
    struct rn_run *run = &a->run;
    run->pipeline = a->pipeline;
    run->state = a->state;
    run->data_dir = jobs->svc->config.data_dir;
    run->job_id = a->id;
    run->project = a->project;
    run->metrics = &a->metrics;
    run->message = engine_message;
    run->message_arg = a;
    snprintf(run->pubsub.base, sizeof(run->pubsub.base), "%s", jobs->pubsub_url);
    snprintf(run->bigtable_url, sizeof(run->bigtable_url), "%s", jobs->bigtable_url);
    snprintf(run->spanner_url, sizeof(run->spanner_url), "%s", jobs->spanner_url);
    snprintf(run->pubsub.caller, sizeof(run->pubsub.caller), "%s", name);
    worker_principal(job, a->project, run->pubsub.principal, sizeof(run->pubsub.principal));
    *out = a;
    return EM_OK;
}

static struct active_job *find_active(struct rn_jobs *jobs, const char *name)
{
    for (struct active_job *a = jobs->active; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

static enum em_code start_thread(struct rn_jobs *jobs, struct active_job *a, struct em_status *st)
{
    move_job(jobs, a->name, "JOB_STATE_RUNNING", NULL);
    if (pthread_create(&a->thread, NULL, job_thread, a) != 0)
        return EM_FAIL(st, EM_INTERNAL, "Cannot start a job thread.");
    a->started = true;
    return EM_OK;
}

/* Joins the threads of jobs that ended. */
static void reap(struct rn_jobs *jobs)
{
    pthread_mutex_lock(&jobs->lock);
    struct active_job **link = &jobs->active, *done = NULL;
    while (*link) {
        struct active_job *a = *link;
        bool cancelled_early = !a->started && atomic_load(&a->run.stop) == RN_STOP_CANCEL;
        if ((a->started && atomic_load(&a->finished)) || cancelled_early) {
            *link = a->next;
            a->next = done;
            done = a;
        } else {
            link = &a->next;
        }
    }
    pthread_mutex_unlock(&jobs->lock);
    while (done) {
        struct active_job *next = done->next;
        active_free(done);
        done = next;
    }
}

enum em_code rn_jobs_tick(struct rn_jobs *jobs, struct em_status *st)
{
    reap(jobs);
    pthread_mutex_lock(&jobs->lock);
    for (struct active_job *a = jobs->active; a && !st->code; a = a->next) {
        if (a->started || atomic_load(&a->run.stop) == RN_STOP_CANCEL)
            continue;
        pthread_mutex_unlock(&jobs->lock);
        start_thread(jobs, a, st);
        pthread_mutex_lock(&jobs->lock);
    }
    pthread_mutex_unlock(&jobs->lock);
    return st->code;
}

/* --- launch --- */

static const char *env_string(const cJSON *env, const char *key)
{
    const char *v = env ? em_json_string(env, key) : NULL;
    return v && *v ? v : NULL;
}

/* The Job resource of a new job, with labels (taken; NULL: none). */
static cJSON *new_job(const struct rn_launch *l, const char *id, bool streaming, cJSON *labels,
                      int64_t now)
{
    cJSON *job = cJSON_CreateObject();
    char t[EM_TIME_TEXT_MAX];
    if (!job) {
        cJSON_Delete(labels);
        return NULL;
    }
    em_time_format(now, t);
    cJSON_AddStringToObject(job, "id", id);
    cJSON_AddStringToObject(job, "projectId", l->project);
    cJSON_AddStringToObject(job, "name", l->job_name);
    cJSON_AddStringToObject(job, "type", streaming ? "JOB_TYPE_STREAMING" : "JOB_TYPE_BATCH");
    cJSON *env = cJSON_AddObjectToObject(job, "environment");
    const char *key = env_string(l->environment, "kmsKeyName");
    if (!key)
        key = env_string(l->environment, "serviceKmsKeyName");
    if (key)
        cJSON_AddStringToObject(env, "serviceKmsKeyName", key);
    const char *sa = env_string(l->environment, "serviceAccountEmail");
    if (sa)
        cJSON_AddStringToObject(env, "serviceAccountEmail", sa);
    const char *temp = env_string(l->environment, "tempLocation");
    if (temp)
        cJSON_AddStringToObject(env, "tempStoragePrefix", temp);
    cJSON_AddStringToObject(job, "currentState", "JOB_STATE_PENDING");
    cJSON_AddStringToObject(job, "currentStateTime", t);
    cJSON_AddStringToObject(job, "createTime", t);
    cJSON_AddStringToObject(job, "location", l->location);
    if (labels)
        cJSON_AddItemToObject(job, "labels", labels);
    if (l->client_request_id && *l->client_request_id)
        cJSON_AddStringToObject(job, "clientRequestId", l->client_request_id);
    cJSON *sdk = cJSON_AddObjectToObject(cJSON_AddObjectToObject(job, "jobMetadata"), "sdkVersion");
    cJSON_AddStringToObject(sdk, "version", "cmek-emulator");
    cJSON_AddStringToObject(sdk, "versionDisplayName", "CMEK emulator runner");
    cJSON_AddStringToObject(sdk, "sdkSupportStatus", "SUPPORTED");
    return job;
}

static char *stored_pipeline(const struct rn_launch *l)
{
    cJSON *wrap = cJSON_CreateObject();
    cJSON_AddStringToObject(wrap, "pipeline", l->pipeline_text);
    if (l->parameters)
        cJSON_AddItemToObject(wrap, "parameters", cJSON_Duplicate(l->parameters, true));
    return em_json_print_free(wrap);
}

/* The job's worker identity (environment.serviceAccountEmail), which every call of the
 * job acts as. The runner's calls carry the stack's credential, which makes a service
 * agent's token honoured: a job running as an agent (service-N@gcp-sa-pubsub...) would
 * use what the agent was granted, another project's CMEK keys included, which no caller
 * can do with a token of its own. So an agent is refused, as Dataflow refuses a worker
 * account the caller may not act as. */
static enum em_code check_worker_account(const char *email, struct em_status *st)
{
    char principal[EM_RESOURCE_MAX];
    if (!email)
        return EM_OK;
    if (!em_iam_plausible_email(email, strlen(email)) ||
        (size_t)snprintf(principal, sizeof(principal), "serviceAccount:%s", email) >=
            sizeof(principal))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid environment.service_account_email \"%.100s\": an e-mail address.",
                       email);
    if (em_iam_is_service_agent(principal))
        return EM_FAIL(st, EM_PERMISSION_DENIED,
                       "Current user cannot act as service account %.200s: a Google-managed "
                       "service agent cannot be a job's worker service account.",
                       email);
    return EM_OK;
}

/* The environment's fields the runner reads are strings, as Google's JSON parser has them
 * (a kmsKeyName of 5 was taken as no key: the job ran unprotected). */
static enum em_code check_environment_types(const cJSON *env, struct em_status *st)
{
    static const struct {
        const char *json, *proto;
    } fields[] = {{"kmsKeyName", "kms_key_name"},
                  {"serviceKmsKeyName", "service_kms_key_name"},
                  {"serviceAccountEmail", "service_account_email"},
                  {"workerRegion", "worker_region"},
                  {"workerZone", "worker_zone"},
                  {"zone", "zone"}};
    if (!env)
        return EM_OK;
    if (!cJSON_IsObject(env))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid value at 'environment': an object (RuntimeEnvironment).");
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(env, fields[i].json);
        if (value && !cJSON_IsString(value) && !cJSON_IsNull(value))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid value at 'environment.%s' (TYPE_STRING): a string.",
                           fields[i].proto);
    }
    return EM_OK;
}

/* The service name the CMEK organization policies use. */
#define RN_ORGPOLICY_SERVICE "dataflow.googleapis.com"

/* The resource locations constraint on the job's region and, when the environment names
 * them, its workers' region and zone (zone: the older field for the zone). */
static enum em_code check_launch_locations(struct em_store *store, const struct rn_launch *l,
                                           struct em_status *st)
{
    const char *locations[] = {l->location, env_string(l->environment, "workerRegion"),
                               env_string(l->environment, "workerZone"),
                               env_string(l->environment, "zone")};
    static const char *const fields[] = {NULL, "worker_region", "worker_zone", "zone"};
    for (size_t i = 1; i < sizeof(locations) / sizeof(locations[0]); i++)
        if (locations[i] && check_worker_location(locations[i], fields[i], i > 1, st))
            return st->code;
    for (size_t i = 0; i < sizeof(locations) / sizeof(locations[0]); i++)
        if (locations[i] && *locations[i] &&
            em_orgpolicy_check_location(store, l->project, locations[i], "a job", st))
            return st->code;
    return EM_OK;
}

/* The job's labels: Job.labels (CreateJob) with the environment's additionalUserLabels
 * (launches: Google puts them on the job), each checked under Google's label rules, then
 * the two together (at most 64). *out is NULL when there are none. */
static enum em_code launch_labels(const struct rn_launch *l, cJSON **out, struct em_status *st)
{
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(l->environment, "additionalUserLabels");
    const cJSON *label;
    *out = NULL;
    if (em_labels_check(l->labels, st))
        return st->code;
    if (em_labels_check(extra, st)) {
        char why[EM_STATUS_MESSAGE_MAX];
        snprintf(why, sizeof(why), "%s", st->message);
        return EM_FAIL(st, st->code, "Invalid value at 'environment.additional_user_labels': %s",
                       why);
    }
    if (!cJSON_IsObject(l->labels) && !(cJSON_IsObject(extra) && extra->child))
        return EM_OK;
    *out = cJSON_IsObject(l->labels) ? cJSON_Duplicate(l->labels, true) : cJSON_CreateObject();
    if (!*out)
        return EM_FAIL_OOM(st);
    cJSON_ArrayForEach(label, extra)
    {
        cJSON_DeleteItemFromObjectCaseSensitive(*out, label->string);
        cJSON_AddStringToObject(*out, label->string, label->valuestring);
    }
    if (em_labels_check(*out, st)) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return st->code;
}

/* The launch request checked, its key also against the organization policies of store;
 * *labels: the job's (launch_labels). */
static enum em_code check_launch(struct em_store *store, const struct rn_launch *l, cJSON **labels,
                                 struct rn_pipeline **p, struct em_status *st)
{
    if (check_environment_types(l->environment, st) || check_job_name(l->job_name, st) ||
        check_location(l->location, st) ||
        check_worker_account(env_string(l->environment, "serviceAccountEmail"), st))
        return st->code;
    const char *key = env_string(l->environment, "kmsKeyName");
    if (!key)
        key = env_string(l->environment, "serviceKmsKeyName");
    if ((key && check_key(key, l->location, st)) ||
        em_orgpolicy_check_cmek(store, l->project, RN_ORGPOLICY_SERVICE, key, "a job", st) ||
        check_launch_locations(store, l, st))
        return st->code;
    if (launch_labels(l, labels, st))
        return st->code;
    if (rn_pipeline_parse(l->pipeline_text, l->parameters, p, st)) {
        cJSON_Delete(*labels);
        *labels = NULL;
    }
    return st->code;
}

/* A CreateJob retried: the job of l's project and region with l's name and
 * client_request_id (public view), or *job NULL. Called under the lock, so that a
 * retry racing the first attempt finds it. */
static enum em_code find_retried(struct rn_jobs *jobs, const struct rn_launch *l, cJSON **job,
                                 struct em_status *st)
{
    cJSON *all, *j;
    *job = NULL;
    if (!l->client_request_id || !*l->client_request_id)
        return EM_OK;
    if (rn_store_list_jobs(jobs->svc->store, l->project, l->location, &all, st))
        return st->code;
    cJSON_ArrayForEach(j, all)
    {
        const char *crid = em_json_string(j, "clientRequestId");
        const char *name = em_json_string(j, "name");
        if (crid && name && strcmp(crid, l->client_request_id) == 0 &&
            strcmp(name, l->job_name) == 0) {
            *job = cJSON_DetachItemViaPointer(all, j);
            public_view(*job);
            break;
        }
    }
    cJSON_Delete(all);
    return EM_OK;
}

/* Protects the job's state (KMS must accept the key now), then records *job, unless a
 * retry of the same create got there first: then *job is that one (find_retried). */
static enum em_code create_job(struct rn_jobs *jobs, const struct rn_launch *l, const char *name,
                               cJSON **job, struct em_status *st)
{
    const char *key =
        em_json_string(cJSON_GetObjectItemCaseSensitive(*job, "environment"), "serviceKmsKeyName");
    if (em_cmek_protect(jobs->svc->cmek, name, l->project, key, st))
        return st->code;
    char *pipeline = stored_pipeline(l);
    struct active_job *a = NULL;
    cJSON *retried = NULL;
    if (!pipeline)
        return EM_FAIL_OOM(st);
    pthread_mutex_lock(&jobs->lock);
    if (!find_retried(jobs, l, &retried, st) && !retried &&
        !save_job(jobs, name, *job, pipeline, st) &&
        !activate(jobs, name, *job, pipeline, &a, st)) {
        a->next = jobs->active;
        jobs->active = a;
    }
    pthread_mutex_unlock(&jobs->lock);
    free(pipeline);
    if (retried) {
        struct em_status ignored = {0};
        em_cmek_forget(jobs->svc->cmek, name, &ignored);
        cJSON_Delete(*job);
        *job = retried;
        return EM_OK;
    }
    if (!st->code)
        add_message(jobs, name, 3, "Job created; workers are starting.");
    return st->code;
}

enum em_code rn_jobs_launch(struct rn_jobs *jobs, const struct rn_launch *l, cJSON **job,
                            struct em_status *st)
{
    struct rn_pipeline *p = NULL;
    cJSON *labels = NULL;
    *job = NULL;
    if (check_launch(jobs->svc->store, l, &labels, &p, st))
        return st->code;
    bool streaming = p->streaming;
    rn_pipeline_free(p);
    if (!l->validate_only) { /* a retry: answered before KMS is asked again */
        pthread_mutex_lock(&jobs->lock);
        find_retried(jobs, l, job, st);
        pthread_mutex_unlock(&jobs->lock);
    }
    if (l->validate_only || *job || st->code) {
        cJSON_Delete(labels);
        return st->code;
    }
    char id[64], name[JOB_NAME_MAX];
    int64_t now = em_clock_now();
    if (rn_job_id_make(now, id, sizeof(id), st)) {
        cJSON_Delete(labels);
        return st->code;
    }
    snprintf(name, sizeof(name), "projects/%s/locations/%s/jobs/%s", l->project, l->location, id);
    *job = new_job(l, id, streaming, labels, now);
    if (!*job)
        return EM_FAIL_OOM(st);
    if (create_job(jobs, l, name, job, st)) {
        cJSON_Delete(*job);
        *job = NULL;
    }
    return st->code;
}

/* --- reads --- */

static cJSON *steps_of(const char *stored)
{
    struct em_status st = {0};
    struct rn_pipeline *p;
    cJSON *steps = cJSON_CreateArray();
    if (parse_stored_pipeline(stored, &p, &st))
        return steps;
    for (int i = 0; i < p->count; i++) {
        cJSON *s = cJSON_CreateObject();
        char id[16];
        snprintf(id, sizeof(id), "s%d", i + 1);
        cJSON_AddStringToObject(s, "kind", rn_kind_name(p->steps[i].kind));
        cJSON_AddStringToObject(s, "name", id);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(s, "properties"), "user_name",
                                p->steps[i].name);
        cJSON_AddItemToArray(steps, s);
    }
    rn_pipeline_free(p);
    return steps;
}

enum em_code rn_jobs_get(struct rn_jobs *jobs, const char *name, enum rn_view view, cJSON **job,
                         struct em_status *st)
{
    char *pipeline = NULL;
    if (load_job(jobs, name, job, view == RN_VIEW_ALL ? &pipeline : NULL, st))
        return st->code;
    public_view(*job);
    if (view == RN_VIEW_ALL)
        cJSON_AddItemToObject(*job, "steps", steps_of(pipeline));
    free(pipeline);
    return EM_OK;
}

/* Whether q lists job: its state passes q's filter, and its name is q's name (if any). */
static bool query_keeps(const struct rn_job_query *q, const cJSON *job)
{
    bool terminal = is_terminal(em_json_string(job, "currentState"));
    const char *name = em_json_string(job, "name");
    if (q->filter != RN_FILTER_ALL && (q->filter == RN_FILTER_TERMINATED) != terminal)
        return false;
    return !q->name || !*q->name || (name && strcmp(name, q->name) == 0);
}

/* The reply's nextPageToken: where the next page starts (a job's id, a message's
 * sequence number), opaque to the client. */
static void add_page_token(cJSON *reply, const char *position)
{
    char *token = em_page_token_make(position ? position : "");
    cJSON_AddStringToObject(reply, "nextPageToken", token ? token : "");
    free(token);
}

/* The page of all (newest first) that q selects after the job whose id is after ("": from
 * the first), into *reply; INVALID_ARGUMENT when no job has that id. */
static enum em_code list_page(const cJSON *all, const struct rn_job_query *q, const char *after,
                              cJSON **reply, struct em_status *st)
{
    int page_size = q->page_size > 0 ? q->page_size : PAGE_MAX, n = 0;
    bool skipping = *after != '\0';
    const cJSON *job;
    *reply = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(*reply, "jobs");
    cJSON_ArrayForEach(job, all)
    {
        const char *id = em_json_string(job, "id");
        if (skipping) {
            skipping = strcmp(id ? id : "", after) != 0;
            continue;
        }
        if (!query_keeps(q, job))
            continue;
        if (n == page_size) {
            add_page_token(*reply, em_json_string(cJSON_GetArrayItem(list, n - 1), "id"));
            break;
        }
        cJSON *copy = cJSON_Duplicate(job, true);
        public_view(copy);
        cJSON_AddItemToArray(list, copy);
        n++;
    }
    if (skipping) { /* no job of the token's: not a token of this list */
        cJSON_Delete(*reply);
        *reply = NULL;
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid page token.");
    }
    return EM_OK;
}

enum em_code rn_jobs_list(struct rn_jobs *jobs, const char *project, const struct rn_job_query *q,
                          const char *page_token, cJSON **reply, struct em_status *st)
{
    cJSON *all;
    char after[JOB_NAME_MAX] = "";
    *reply = NULL;
    if (page_token && *page_token && em_page_token_read(page_token, after, sizeof(after), st))
        return st->code;
    if (rn_store_list_jobs(jobs->svc->store, project, q->location, &all, st))
        return st->code;
    list_page(all, q, after, reply, st);
    cJSON_Delete(all);
    return st->code;
}

/* --- updates --- */

static enum em_code request_stop(struct rn_jobs *jobs, cJSON *job, const char *name,
                                 const char *requested, struct em_status *st)
{
    bool drain = strcmp(requested, "JOB_STATE_DRAINED") == 0;
    const char *type = em_json_string(job, "type");
    if (drain && (!type || strcmp(type, "JOB_TYPE_STREAMING") != 0))
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "(%s): Draining is only supported for streaming jobs.",
                       em_json_string(job, "id"));
    struct active_job *a = find_active(jobs, name);
    const char *current = em_json_string(job, "currentState");
    set_string(job, "requestedState", requested);
    if (a && a->started) {
        atomic_store(&a->run.stop, drain ? RN_STOP_DRAIN : RN_STOP_CANCEL);
        set_state(job, drain ? "JOB_STATE_DRAINING" : "JOB_STATE_CANCELLING", em_clock_now());
    } else if (current && strcmp(current, "JOB_STATE_PENDING") == 0) {
        if (a)
            atomic_store(&a->run.stop, RN_STOP_CANCEL);
        set_state(job, drain ? "JOB_STATE_DRAINED" : "JOB_STATE_CANCELLED", em_clock_now());
    }
    return EM_OK;
}

enum em_code rn_jobs_update(struct rn_jobs *jobs, const char *name, const char *requested_state,
                            cJSON **job, struct em_status *st)
{
    char *pipeline = NULL;
    *job = NULL;
    pthread_mutex_lock(&jobs->lock);
    if (load_job(jobs, name, job, &pipeline, st))
        goto out;
    const char *current = em_json_string(*job, "currentState");
    if (requested_state && is_terminal(current)) {
        EM_FAIL(st, EM_FAILED_PRECONDITION,
                "(%s): Job has terminated in state %s: %s is not possible.",
                em_json_string(*job, "id"), current, requested_state);
        goto out;
    }
    if (requested_state && strcmp(requested_state, "JOB_STATE_CANCELLED") != 0 &&
        strcmp(requested_state, "JOB_STATE_DRAINED") != 0) {
        EM_FAIL(st, EM_INVALID_ARGUMENT,
                "The requested state %s is not one a job can be moved to (JOB_STATE_CANCELLED, "
                "JOB_STATE_DRAINED).",
                requested_state);
        goto out;
    }
    if (requested_state && !request_stop(jobs, *job, name, requested_state, st))
        save_job(jobs, name, *job, pipeline, st);
out:
    pthread_mutex_unlock(&jobs->lock);
    free(pipeline);
    if (st->code) {
        cJSON_Delete(*job);
        *job = NULL;
    } else {
        public_view(*job);
    }
    if (!st->code && requested_state) {
        add_message(jobs, name, 3,
                    strcmp(requested_state, "JOB_STATE_DRAINED") == 0 ? "Draining the job."
                                                                      : "Cancelling the job.");
    }
    return st->code;
}

/* A messages page token: the sequence number of the last message of the page before. */
static enum em_code message_page_start(const char *token, int64_t *after_seq, struct em_status *st)
{
    char text[24];
    if (em_page_token_read(token, text, sizeof(text), st))
        return st->code;
    char *end;
    errno = 0;
    long long seq = strtoll(text, &end, 10);
    if (errno || end == text || *end || seq <= 0)
        return EM_ERR_PAGE_TOKEN_INVALID(st, token);
    *after_seq = seq;
    return EM_OK;
}

enum em_code rn_jobs_messages(struct rn_jobs *jobs, const char *name, struct rn_message_query q,
                              const char *page_token, cJSON **reply, struct em_status *st)
{
    cJSON *job, *list;
    int64_t next_after;
    if (page_token && *page_token && message_page_start(page_token, &q.after_seq, st))
        return st->code;
    if (load_job(jobs, name, &job, NULL, st))
        return st->code;
    cJSON_Delete(job);
    if (rn_store_list_messages(jobs->svc->store, name, &q, &list, &next_after, st))
        return st->code;
    if (!(*reply = cJSON_CreateObject())) {
        cJSON_Delete(list);
        return EM_FAIL_OOM(st);
    }
    cJSON_AddItemToObject(*reply, "jobMessages", list);
    if (next_after > 0) {
        char seq[24];
        snprintf(seq, sizeof(seq), "%" PRId64, next_after);
        add_page_token(*reply, seq);
    }
    return EM_OK;
}

static void add_metric(cJSON *list, const char *origin, const char *metric, const char *ctx_key,
                       const char *ctx_value, int64_t value, int64_t update_ns)
{
    char t[EM_TIME_TEXT_MAX];
    em_time_format(update_ns, t);
    cJSON *m = cJSON_CreateObject();
    cJSON *name = cJSON_AddObjectToObject(m, "name");
    cJSON_AddStringToObject(name, "origin", origin);
    cJSON_AddStringToObject(name, "name", metric);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(name, "context"), ctx_key, ctx_value);
    cJSON_AddNumberToObject(m, "scalar", (double)value);
    cJSON_AddStringToObject(m, "updateTime", t);
    cJSON_AddItemToArray(list, m);
}

/* Reports every metric of a running job at now (rn_metric_report dates them) and adds
 * those updated at start_ns or later to list. */
static void metrics_snapshot(struct active_job *a, cJSON *list, int64_t now, int64_t start_ns)
{
    struct rn_metrics *m = &a->metrics;
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < a->pipeline->count; i++) {
        char out[RN_STEP_NAME_MAX + 8];
        int64_t updated = rn_metric_report(&m->elements_seen[i], m->elements[i], now);
        snprintf(out, sizeof(out), "%s.out0", a->pipeline->steps[i].name);
        if (updated >= start_ns)
            add_metric(list, "dataflow/v1b3", "ElementCount", "output_user_name", out,
                       m->elements[i], updated);
    }
    for (int i = 0; i < m->user_count; i++) {
        int64_t updated = rn_metric_report(&m->user[i].seen, m->user[i].value, now);
        if (updated >= start_ns)
            add_metric(list, "user", m->user[i].name, "step", m->user[i].step, m->user[i].value,
                       updated);
    }
    pthread_mutex_unlock(&m->lock);
}

/* The metrics a finished job keeps in its row (KEPT_METRICS): its final report, each
 * metric dated as the reports before dated it. */
static cJSON *metrics_list(struct active_job *a)
{
    cJSON *list = cJSON_CreateArray();
    if (list)
        metrics_snapshot(a, list, em_clock_now(), INT64_MIN);
    return list;
}

/* A copy of a finished job's kept metrics, those updated at start_ns or later (one whose
 * updateTime cannot be read is kept: a change is never left out). */
static cJSON *kept_metrics(const cJSON *kept, int64_t start_ns)
{
    cJSON *list = cJSON_CreateArray();
    const cJSON *m;
    cJSON_ArrayForEach(m, kept)
    {
        const char *time = em_json_string(m, "updateTime");
        int64_t updated;
        if (!time || !em_time_parse(time, &updated) || updated >= start_ns)
            cJSON_AddItemToArray(list, cJSON_Duplicate(m, true));
    }
    return list;
}

/* A running job's metrics come from its counters, a finished one's from its row, read
 * after the running one was looked for: a job that finishes in between has its final
 * metrics kept by then (job_thread keeps them before it is reaped). */
enum em_code rn_jobs_metrics(struct rn_jobs *jobs, const char *name, int64_t start_ns,
                             cJSON **reply, struct em_status *st)
{
    cJSON *job = NULL;
    int64_t now = em_clock_now();
    *reply = cJSON_CreateObject();
    if (!*reply)
        return EM_FAIL_OOM(st);
    em_json_add_time(*reply, "metricTime", now);
    cJSON *list = cJSON_AddArrayToObject(*reply, "metrics");
    pthread_mutex_lock(&jobs->lock);
    struct active_job *a = find_active(jobs, name);
    if (a)
        metrics_snapshot(a, list, now, start_ns);
    pthread_mutex_unlock(&jobs->lock);
    if (a)
        return EM_OK;
    if (load_job(jobs, name, &job, NULL, st)) {
        cJSON_Delete(*reply);
        *reply = NULL;
        return st->code;
    }
    const cJSON *kept = cJSON_GetObjectItemCaseSensitive(job, KEPT_METRICS);
    if (cJSON_IsArray(kept))
        cJSON_ReplaceItemInObjectCaseSensitive(*reply, "metrics", kept_metrics(kept, start_ns));
    cJSON_Delete(job);
    return EM_OK;
}

/* --- open, close, reset --- */

/* Reloads a job that was not finished when the runner stopped. */
static void resume(struct rn_jobs *jobs, const char *name)
{
    struct em_status st = {0};
    cJSON *job;
    char *pipeline;
    struct active_job *a;
    if (load_job(jobs, name, &job, &pipeline, &st))
        return;
    const char *state = em_json_string(job, "currentState");
    if (state && strcmp(state, "JOB_STATE_CANCELLING") == 0) {
        /* cancelled while the runner stopped: nothing is left to do */
        cJSON_Delete(job);
        free(pipeline);
        move_job(jobs, name, "JOB_STATE_CANCELLED", NULL);
        return;
    }
    if (!is_terminal(state) && !activate(jobs, name, job, pipeline, &a, &st)) {
        if (state && strcmp(state, "JOB_STATE_DRAINING") == 0)
            atomic_store(&a->run.stop, RN_STOP_DRAIN); /* closes its windows, then DRAINED */
        a->next = jobs->active;
        jobs->active = a;
        add_message(jobs, name, 4, "The runner restarted; the job resumes.");
    }
    if (st.code)
        em_warn("runner: cannot resume %s: %s", name, st.message);
    cJSON_Delete(job);
    free(pipeline);
}

/* The base URL of another service of the stack (for the job's sources and sinks). */
static void service_url(const struct em_service *svc, const char *name, char *out, size_t len)
{
    const struct em_service_desc *desc = em_service_desc_find(name);
    if (desc)
        em_config_url(&svc->config, desc->port, out, len);
}

enum em_code rn_jobs_open(struct em_service *svc, struct rn_jobs **out, struct em_status *st)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/runner", svc->config.data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return EM_FAIL(st, EM_INTERNAL, "Cannot create %s: %s", dir, strerror(errno));
    if (rn_store_migrate(svc->store, st))
        return st->code;
    struct rn_jobs *jobs = calloc(1, sizeof(*jobs));
    if (!jobs)
        return EM_FAIL_OOM(st);
    jobs->svc = svc;
    pthread_mutex_init(&jobs->lock, NULL);
    service_url(svc, "pubsub", jobs->pubsub_url, sizeof(jobs->pubsub_url));
    service_url(svc, "bigtable", jobs->bigtable_url, sizeof(jobs->bigtable_url));
    service_url(svc, "spanner", jobs->spanner_url, sizeof(jobs->spanner_url));
    cJSON *names;
    if (rn_store_job_names(svc->store, &names, st)) {
        rn_jobs_close(jobs);
        return st->code;
    }
    const cJSON *n;
    cJSON_ArrayForEach(n, names)
    {
        resume(jobs, n->valuestring);
    }
    cJSON_Delete(names);
    *out = jobs;
    return EM_OK;
}

/* Stops every thread; SHUTDOWN leaves the jobs' rows as they are. */
static void stop_all(struct rn_jobs *jobs, int how)
{
    pthread_mutex_lock(&jobs->lock);
    struct active_job *list = jobs->active;
    jobs->active = NULL;
    for (struct active_job *a = list; a; a = a->next)
        atomic_store(&a->run.stop, how);
    pthread_mutex_unlock(&jobs->lock);
    while (list) {
        struct active_job *next = list->next;
        active_free(list);
        list = next;
    }
}

void rn_jobs_close(struct rn_jobs *jobs)
{
    if (!jobs)
        return;
    stop_all(jobs, RN_STOP_SHUTDOWN);
    pthread_mutex_destroy(&jobs->lock);
    free(jobs);
}

enum em_code rn_jobs_reset(struct rn_jobs *jobs, struct em_status *st)
{
    cJSON *names;
    stop_all(jobs, RN_STOP_SHUTDOWN);
    if (rn_store_job_names(jobs->svc->store, &names, st))
        return st->code;
    const cJSON *n;
    cJSON_ArrayForEach(n, names)
    {
        struct em_status ignored = {0};
        em_cmek_forget(jobs->svc->cmek, n->valuestring, &ignored);
    }
    cJSON_Delete(names);
    return rn_store_clear(jobs->svc->store, st);
}
