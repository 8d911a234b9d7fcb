/*
 * runner_engine: the execution of a pipeline (see runner_engine.h for bundles,
 * watermarks and how a job ends).
 */
#include "runner_engine.h"

#include "runner_elements.h"
#include "runner_envelope.h"
#include "runner_sinks.h"
#include "runner_state.h"
#include "runner_store.h"

#include "em_api_state.h"
#include "em_clock.h"
#include "em_datastore.h"
#include "em_json.h"

#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TEXT_BUNDLE   10000
#define PUBSUB_BUNDLE 500
#define IDLE_PAUSE_MS 100
/* how long a published message may take to become visible to a pull */
#define PUBLISH_VISIBLE_NS  (500 * 1000000LL)
#define BATCH_PENDING_BYTES (128u << 20) /* per batch worker */
#define STREAM_WORKERS      4            /* per Pub/Sub source */
#define STREAM_SLOTS_MAX    16           /* workers of a job, all sources together */

/* What one bundle or flush collects before its commit. */
struct bundle {
    struct rn_run *run;
    struct rn_state *state;
    cJSON *outbox[RN_STEPS_MAX]; /* WritePubSub steps: messages to publish */
    int64_t late_mark; /* the watermark before the bundle: windows it passed take no input */
    int64_t watermark; /* the commit emits the windows it passed */
    bool oom;
    bool retry; /* an envelope step could not reach KMS: run the bundle again */
    /* the elements being processed are a closed window's results (flush_step): the
     * watermark that closed it passed their window, but they are on time by construction,
     * as Beam's grouping output is (its watermark holds until the window fires) */
    bool from_window;
    /* a batch bundle: the grouping steps' accumulators stay in memory across bundles (up
     * to BATCH_PENDING_BYTES a worker, then merged into the state file) until the input is read */
    bool keep_pending;
    /* a watched ReadText: the file just read whole, recorded as read in the commit */
    int seen_step;
    const char *seen_file;
};

void rn_metrics_init(struct rn_metrics *m)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->lock, NULL);
}

void rn_metrics_destroy(struct rn_metrics *m)
{
    pthread_mutex_destroy(&m->lock);
}

int64_t rn_metric_report(struct rn_metric_seen *seen, int64_t value, int64_t now)
{
    if (seen->since_ns == 0 || seen->value != value) {
        seen->value = value;
        seen->since_ns = now;
    }
    return seen->since_ns;
}

static void count_user(struct rn_metrics *m, const struct rn_step *step, const char *name,
                       int64_t n)
{
    int i = 0;
    while (i < m->user_count &&
           (strcmp(m->user[i].name, name) != 0 || strcmp(m->user[i].step, step->name) != 0))
        i++;
    if (i == m->user_count) {
        if (i == RN_USER_COUNTERS_MAX)
            return;
        snprintf(m->user[i].name, sizeof(m->user[i].name), "%s", name);
        snprintf(m->user[i].step, sizeof(m->user[i].step), "%s", step->name);
        m->user_count++;
    }
    m->user[i].value += n;
}

/* The step's counters of this kind, by n. */
static void count(struct rn_run *run, const struct rn_step *step, enum rn_counter_on on, int64_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&run->metrics->lock);
    for (int i = 0; i < step->counter_count; i++)
        if (step->counters[i].on == on)
            count_user(run->metrics, step, step->counters[i].name, n);
    pthread_mutex_unlock(&run->metrics->lock);
}

static void count_elements(struct rn_run *run, int step_index, int64_t n)
{
    pthread_mutex_lock(&run->metrics->lock);
    run->metrics->elements[step_index] += n;
    pthread_mutex_unlock(&run->metrics->lock);
}

/* What a source read: its element count and its "output" counters. */
static void count_source(struct rn_run *run, int step_index, int64_t n)
{
    count_elements(run, step_index, n);
    count(run, &run->pipeline->steps[step_index], RN_COUNT_OUTPUT, n);
}

/* Cancelled, or the process stops: no more work, no final windows. */
static bool halted(struct rn_run *run)
{
    int stop = atomic_load(&run->stop);
    return stop == RN_STOP_CANCEL || stop == RN_STOP_SHUTDOWN;
}

/* Whether the job's project was deleted: its job processes nothing until it is restored. */
static bool project_deleted(const struct rn_run *run)
{
    if (!run->project)
        return false;
    return em_api_use(run->project, "dataflow.googleapis.com") == EM_API_PROJECT_DELETED;
}

/* Whether a call refused with st failed because the job's project was deleted meanwhile.
 * The services hear of a deletion one after another: Pub/Sub may refuse the job's pull
 * (403) a moment before this process knows, so a refusal waits up to 2 s to see it. */
static bool deleted_meanwhile(const struct rn_run *run, const struct em_status *st)
{
    if (st->code != EM_PERMISSION_DENIED)
        return false;
    for (int i = 0; i < 20 && !project_deleted(run); i++) {
        struct timespec pause = {0, IDLE_PAUSE_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
    return project_deleted(run);
}

/* Waits while the job's project is deleted, noting it once in the job's log. Returns
 * false when the job was cancelled or the process stops meanwhile. */
static bool wait_while_project_deleted(struct rn_run *run)
{
    bool noted = false;
    while (project_deleted(run)) {
        if (halted(run))
            return false;
        if (!noted && run->message)
            run->message(run->message_arg, 4,
                         "The job's project was deleted; processing waits until it is restored.");
        noted = true;
        struct timespec pause = {0, IDLE_PAUSE_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
    return true;
}

/* --- elements through the graph --- */

static void process(struct bundle *b, int from, int port, struct rn_batch *in);

static int64_t empty_inputs(const struct rn_batch *in)
{
    int64_t n = 0;
    for (size_t i = 0; i < in->count; i++)
        n += cJSON_IsString(in->items[i].value) && !*in->items[i].value->valuestring;
    return n;
}

/* A message for Pub/Sub: the element's text as data, its attributes kept (a dead-letter
 * element's reason in "error"). */
static cJSON *to_message(const struct rn_elem *e)
{
    char *text = rn_value_text(e->value);
    cJSON *msg = cJSON_CreateObject();
    if (!text || !msg) {
        free(text);
        cJSON_Delete(msg);
        return NULL;
    }
    em_json_add_bytes(msg, "data", (const unsigned char *)text, strlen(text));
    free(text);
    if (e->attrs && cJSON_GetArraySize(e->attrs) > 0)
        cJSON_AddItemToObject(msg, "attributes", cJSON_Duplicate(e->attrs, true));
    return msg;
}

static void to_outbox(struct bundle *b, int step_index, const struct rn_batch *in)
{
    if (!b->outbox[step_index] && !(b->outbox[step_index] = cJSON_CreateArray())) {
        b->oom = true;
        return;
    }
    for (size_t i = 0; i < in->count; i++) {
        cJSON *msg = to_message(&in->items[i]);
        if (!msg) {
            b->oom = true;
            return;
        }
        cJSON_AddItemToArray(b->outbox[step_index], msg);
    }
    count_elements(b->run, step_index, (int64_t)in->count);
}

/* Maps elements to a sink's rows (written in the commit, kept in the step's outbox);
 * those that cannot be mapped go to its dead-letter output. */
static void to_sink(struct bundle *b, int step_index, const struct rn_batch *in)
{
    struct rn_batch failed = {0};
    char reason[RN_SINK_REASON_MAX];
    if (!b->outbox[step_index] && !(b->outbox[step_index] = cJSON_CreateArray())) {
        b->oom = true;
        return;
    }
    for (size_t i = 0; i < in->count && !b->oom; i++) {
        if (rn_sinks_map(b->run->sinks, step_index, &in->items[i], b->outbox[step_index], reason))
            continue;
        struct rn_elem e = rn_elem_copy(&in->items[i]);
        if (!e.attrs)
            e.attrs = cJSON_CreateObject();
        b->oom = !reason[0] || !e.attrs || !cJSON_AddStringToObject(e.attrs, "error", reason) ||
                 !rn_batch_push(&failed, &e);
    }
    count_elements(b->run, step_index, (int64_t)(in->count - failed.count));
    count(b->run, &b->run->pipeline->steps[step_index], RN_COUNT_DROPPED, (int64_t)failed.count);
    process(b, step_index, 1, &failed);
    rn_batch_clear(&failed);
}

/* Folds elements into a grouping step; late ones are dropped. */
static void to_state(struct bundle *b, int step_index, const struct rn_batch *in)
{
    const struct rn_step *step = &b->run->pipeline->steps[step_index];
    int64_t dropped = 0;
    for (size_t i = 0; i < in->count && !b->oom; i++) {
        const struct rn_elem *e = &in->items[i];
        bool late = !b->from_window && e->win_end != INT64_MAX && b->late_mark != INT64_MIN &&
                    e->win_end + step->lateness_ns <= b->late_mark;
        if (late || !rn_state_add(b->state, step, step_index, e, &b->oom))
            dropped++;
    }
    count(b->run, step, RN_COUNT_DROPPED, dropped);
}

static void run_stateless(struct bundle *b, int step_index, const struct rn_batch *in)
{
    const struct rn_step *step = &b->run->pipeline->steps[step_index];
    struct rn_batch out = {0}, failed = {0};
    bool envelope = step->kind == RN_DECRYPT_ENVELOPE || step->kind == RN_VERIFY_SIGNATURE;
    for (size_t i = 0; i < in->count && !b->oom && !b->retry; i++) {
        if (!envelope) {
            b->oom = !rn_apply_stateless(step, &in->items[i], &out, &failed);
            continue;
        }
        enum rn_envelope_result r =
            rn_envelope_apply(b->run->envelope, step, &in->items[i], em_clock_now(), &out, &failed);
        b->oom = r == RN_ENVELOPE_OOM;
        b->retry = r == RN_ENVELOPE_RETRY;
    }
    if (b->retry) {
        rn_batch_clear(&out);
        rn_batch_clear(&failed);
        return;
    }
    count(b->run, step, RN_COUNT_OUTPUT, (int64_t)out.count);
    if (step->kind == RN_FILTER)
        count(b->run, step, RN_COUNT_DROPPED, (int64_t)(in->count - out.count));
    count_elements(b->run, step_index, (int64_t)out.count);
    process(b, step_index, 0, &out);
    process(b, step_index, 1, &failed);
    rn_batch_clear(&out);
    rn_batch_clear(&failed);
}

/* Sends the output `port` of step `from` to every step that reads it. */
static void process(struct bundle *b, int from, int port, struct rn_batch *in)
{
    const struct rn_pipeline *p = b->run->pipeline;
    if (in->count == 0)
        return;
    for (int j = from + 1; j < p->count && !b->oom && !b->retry; j++) {
        const struct rn_step *step = &p->steps[j];
        if (step->input != from || step->input_port != port)
            continue;
        count(b->run, step, RN_COUNT_INPUT, (int64_t)in->count);
        count(b->run, step, RN_COUNT_EMPTY_INPUT, empty_inputs(in));
        if (rn_step_is_stateful(step))
            to_state(b, j, in);
        else if (step->kind == RN_WRITE_PUBSUB)
            to_outbox(b, j, in);
        else if (rn_step_is_sink(step))
            to_sink(b, j, in);
        else
            run_stateless(b, j, in);
    }
}

/* --- the commit of a bundle (a job on the state file's writer thread) --- */

struct flush_walk {
    struct bundle *b;
    struct em_store *store;
    int step;
    struct rn_batch out;
};

static void window_label(int64_t start, int64_t end, char *out, size_t len)
{
    if (end == INT64_MAX) {
        out[0] = '\0';
        return;
    }
    char s[EM_TIME_TEXT_MAX], e[EM_TIME_TEXT_MAX];
    em_time_format(start, s);
    em_time_format(end, e);
    snprintf(out, len, "%s-%s", s, e);
}

static enum em_code write_window(struct flush_walk *w, int64_t start, int64_t end, const char *acc,
                                 struct em_status *st)
{
    const struct rn_step *step = &w->b->run->pipeline->steps[w->step];
    char prefix[PATH_MAX], label[2 * EM_TIME_TEXT_MAX + 2];
    cJSON *lines = cJSON_Parse(acc);
    if (!lines)
        return EM_FAIL(st, EM_INTERNAL, "A stored window of step '%s' is not readable.",
                       step->name);
    window_label(start, end, label, sizeof(label));
    if (!rn_gcs_path(w->b->run->data_dir, step->path, "WriteText path", false, prefix,
                     sizeof(prefix), st))
        rn_text_write(prefix, label, step->suffix, step->shards, lines, st);
    if (!st->code)
        count_elements(w->b->run, w->step, cJSON_GetArraySize(lines));
    cJSON_Delete(lines);
    return st->code;
}

static enum em_code flush_row(int64_t start, int64_t end, const char *key, const char *acc,
                              void *arg, struct em_status *st)
{
    struct flush_walk *w = arg;
    const struct rn_step *step = &w->b->run->pipeline->steps[w->step];
    if (step->kind == RN_WRITE_TEXT)
        return write_window(w, start, end, acc, st);
    struct rn_elem e;
    if (!rn_state_output(step, start, end, key, acc, &e))
        return EM_FAIL(st, EM_INTERNAL, "A stored accumulator of step '%s' is not readable.",
                       step->name);
    if (!rn_batch_push(&w->out, &e))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

/* Emits every window of step the watermark passed, then forgets them. */
static enum em_code flush_step(struct bundle *b, struct em_store *store, int step,
                               struct em_status *st)
{
    struct flush_walk w = {.b = b, .store = store, .step = step};
    if (!rn_state_each_ready(store, step, b->watermark, flush_row, &w, st)) {
        count_elements(b->run, step,
                       b->run->pipeline->steps[step].kind == RN_WRITE_TEXT ? 0
                                                                           : (int64_t)w.out.count);
        b->from_window = true;
        process(b, step, 0, &w.out);
        b->from_window = false;
        if (b->oom)
            EM_FAIL_OOM(st);
    }
    rn_batch_clear(&w.out);
    return st->code ? st->code : rn_state_delete_ready(store, step, b->watermark, st);
}

static enum em_code publish_outbox(struct bundle *b, struct em_status *st)
{
    const struct rn_pipeline *p = b->run->pipeline;
    for (int i = 0; i < p->count; i++) {
        if (rn_step_is_sink(&p->steps[i]))
            continue;
        cJSON *msgs = b->outbox[i];
        for (int start = 0; msgs && start < cJSON_GetArraySize(msgs); start += 1000) {
            cJSON *part = cJSON_CreateArray();
            for (int k = start; k < start + 1000 && k < cJSON_GetArraySize(msgs); k++)
                cJSON_AddItemToArray(part, cJSON_Duplicate(cJSON_GetArrayItem(msgs, k), true));
            rn_pubsub_publish(&b->run->pubsub, p->steps[i].topic, part, st);
            cJSON_Delete(part);
            if (st->code) {
                char why[EM_STATUS_MESSAGE_MAX];
                snprintf(why, sizeof(why), "%s", st->message);
                return EM_FAIL(st, st->code, "Step '%s': publishing to %s failed: %s",
                               p->steps[i].name, p->steps[i].topic, why);
            }
        }
        cJSON_Delete(msgs);
        b->outbox[i] = NULL;
    }
    return EM_OK;
}

static enum em_code commit_job(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct bundle *b = arg;
    struct em_store *store = em_datafile_store(file);
    const struct rn_pipeline *p = b->run->pipeline;
    bool merge = !b->keep_pending || rn_state_bytes(b->state) >= BATCH_PENDING_BYTES;
    for (int i = 0; i < p->count && merge; i++) {
        if (!rn_step_is_stateful(&p->steps[i]))
            continue;
        if (rn_state_commit(b->state, p, store, st) || flush_step(b, store, i, st))
            return st->code;
    }
    if ((merge && rn_state_commit(b->state, p, store, st)) ||
        (b->seen_file && rn_state_set(store, b->seen_step, 0, 0, b->seen_file, "true", st)))
        return st->code;
    if (publish_outbox(b, st))
        return st->code;
    for (int i = 0; i < p->count; i++)
        if (rn_step_is_sink(&p->steps[i]) && b->outbox[i] &&
            rn_sinks_write(b->run->sinks, i, b->outbox[i], st))
            return st->code;
    return EM_OK;
}

static enum em_code state_opened(struct em_store *store, void *arg, void **state,
                                 struct em_status *st)
{
    (void)arg;
    *state = NULL;
    return rn_state_migrate(store, st);
}

/* Commits a bundle through the CMEK gate. UNAVAILABLE (KMS unreachable past the grace
 * period) is waited out, unless the job is cancelled meanwhile. */
static enum em_code commit(struct bundle *b, struct em_status *st)
{
    bool warned = false;
    for (;;) {
        struct em_datafile *file;
        em_status_clear(st);
        if (!wait_while_project_deleted(b->run))
            return EM_FAIL(st, EM_UNAVAILABLE, "The job's project was deleted.");
        if (em_datastore_open(b->run->state, &file, st) == EM_OK) {
            em_datafile_run(file, commit_job, b, st);
            em_datafile_put(file);
            return st->code;
        }
        if (st->code != EM_UNAVAILABLE || halted(b->run))
            return st->code;
        if (!warned && b->run->message)
            b->run->message(b->run->message_arg, 4,
                            "The job's state is unavailable (Cloud KMS cannot be reached past the "
                            "grace period); processing waits.");
        warned = true;
        struct timespec pause = {1, 0};
        nanosleep(&pause, NULL);
    }
}

static void bundle_init(struct bundle *b, struct rn_run *run, struct rn_state *state,
                        int64_t watermark)
{
    memset(b, 0, sizeof(*b));
    b->run = run;
    b->state = state;
    b->late_mark = watermark;
    b->watermark = watermark;
}

static void bundle_clear(struct bundle *b)
{
    for (int i = 0; i < RN_STEPS_MAX; i++)
        cJSON_Delete(b->outbox[i]);
}

/* Runs a source's bundle through the graph. While an envelope step cannot reach KMS, the
 * bundle's partial results are thrown away and it runs again a second later (as Beam
 * retries a failed bundle); b->retry stays set only when the job was halted meanwhile. */
static void process_source(struct bundle *b, int step, struct rn_batch *in)
{
    bool warned = false;
    for (;;) {
        process(b, step, 0, in);
        if (!b->retry || b->oom || halted(b->run))
            return;
        rn_state_discard(b->state);
        for (int i = 0; i < RN_STEPS_MAX; i++) {
            cJSON_Delete(b->outbox[i]);
            b->outbox[i] = NULL;
        }
        b->retry = false;
        if (!warned && b->run->message)
            b->run->message(b->run->message_arg, 4,
                            "Cloud KMS cannot be reached to unwrap a message's key; the bundle "
                            "is retried until it can.");
        warned = true;
        struct timespec pause = {1, 0};
        nanosleep(&pause, NULL);
    }
}

static bool has_envelope_step(const struct rn_pipeline *p)
{
    for (int i = 0; i < p->count; i++)
        if (p->steps[i].kind == RN_DECRYPT_ENVELOPE || p->steps[i].kind == RN_VERIFY_SIGNATURE)
            return true;
    return false;
}

/* --- batch --- */

struct text_source {
    struct rn_run *run;
    struct rn_state *state;
    int step;
    int64_t watermark; /* -infinity in a batch job, the job's watermark when streaming */
    bool keep_pending; /* see struct bundle */
};

/* Runs a bundle of lines (taken: the array is freed) through the graph with the pending
 * accumulators of `state`, and commits it. */
static enum em_code run_lines(const struct text_source *src, struct rn_state *state, cJSON *lines,
                              struct em_status *st)
{
    struct bundle b;
    bundle_init(&b, src->run, state, src->watermark);
    b.keep_pending = src->keep_pending;
    struct rn_batch in = {0};
    int64_t now = em_clock_now();
    cJSON *line;
    while ((line = lines->child)) {
        struct rn_elem e = rn_elem_make(cJSON_DetachItemViaPointer(lines, line), now);
        if (!rn_batch_push(&in, &e))
            b.oom = true;
    }
    cJSON_Delete(lines);
    count_source(src->run, src->step, (int64_t)in.count);
    process_source(&b, src->step, &in);
    rn_batch_clear(&in);
    if (b.oom)
        EM_FAIL_OOM(st);
    else if (halted(src->run) || b.retry)
        EM_FAIL(st, EM_CANCELLED, "Cancelled.");
    else
        commit(&b, st);
    bundle_clear(&b);
    return st->code;
}

static enum em_code text_bundle(cJSON *lines, void *arg, struct em_status *st)
{
    const struct text_source *src = arg;
    return run_lines(src, src->state, lines, st);
}

/* A batch text source's bundles, run by up to BATCH_WORKERS worker threads, each with its
 * own pending accumulators: the job's thread reads the lines and queues them. */
#define BATCH_WORKERS 4
#define BATCH_QUEUE   8

struct batch_pool {
    struct text_source src;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    cJSON *queue[BATCH_QUEUE];
    size_t head, queued;
    bool closed;           /* no more bundles come */
    struct em_status fail; /* the first failure; it stops the pool */
    int worker_count;
    pthread_t threads[BATCH_WORKERS];
    struct rn_state *states[BATCH_WORKERS];
};

struct batch_worker {
    struct batch_pool *pool;
    int index;
};

/* The next bundle, or NULL once the pool is closed and empty or failed. */
static cJSON *pool_take(struct batch_pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    while (!pool->queued && !pool->closed && !pool->fail.code)
        pthread_cond_wait(&pool->changed, &pool->lock);
    cJSON *lines = NULL;
    if (pool->queued && !pool->fail.code) {
        lines = pool->queue[pool->head];
        pool->head = (pool->head + 1) % BATCH_QUEUE;
        pool->queued--;
        pthread_cond_broadcast(&pool->changed);
    }
    pthread_mutex_unlock(&pool->lock);
    return lines;
}

static void pool_fail(struct batch_pool *pool, const struct em_status *st)
{
    pthread_mutex_lock(&pool->lock);
    if (!pool->fail.code)
        pool->fail = *st;
    pthread_cond_broadcast(&pool->changed);
    pthread_mutex_unlock(&pool->lock);
}

static void *batch_worker_main(void *arg)
{
    struct batch_worker *w = arg;
    struct batch_pool *pool = w->pool;
    cJSON *lines;
    while ((lines = pool_take(pool))) {
        struct em_status st = {0};
        if (run_lines(&pool->src, pool->states[w->index], lines, &st))
            pool_fail(pool, &st);
    }
    free(w);
    return NULL;
}

/* The reader's callback: queues a bundle, waiting while the queue is full. */
static enum em_code pool_put(cJSON *lines, void *arg, struct em_status *st)
{
    struct batch_pool *pool = arg;
    pthread_mutex_lock(&pool->lock);
    while (pool->queued == BATCH_QUEUE && !pool->fail.code)
        pthread_cond_wait(&pool->changed, &pool->lock);
    if (pool->fail.code) {
        *st = pool->fail;
        cJSON_Delete(lines);
    } else {
        pool->queue[(pool->head + pool->queued) % BATCH_QUEUE] = lines;
        pool->queued++;
        pthread_cond_broadcast(&pool->changed);
    }
    pthread_mutex_unlock(&pool->lock);
    return st->code;
}

static int batch_worker_count(const struct rn_run *run)
{
    if (has_envelope_step(run->pipeline))
        return 1; /* its bundles may be retried, which the envelope's cache is built for */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > BATCH_WORKERS ? BATCH_WORKERS : (int)cores;
}

static void pool_start(struct batch_pool *pool, int workers)
{
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->changed, NULL);
    for (int i = 0; i < workers; i++) {
        struct batch_worker *w = malloc(sizeof(*w));
        if (!w || !(pool->states[i] = rn_state_new())) {
            free(w);
            break;
        }
        *w = (struct batch_worker){pool, i};
        if (pthread_create(&pool->threads[i], NULL, batch_worker_main, w) != 0) {
            free(w);
            rn_state_free(pool->states[i]);
            pool->states[i] = NULL;
            break;
        }
        pool->worker_count++;
    }
}

/* Waits for the workers, then merges what each kept pending into the state file. */
static enum em_code pool_finish(struct batch_pool *pool, struct em_status *st)
{
    pthread_mutex_lock(&pool->lock);
    pool->closed = true;
    pthread_cond_broadcast(&pool->changed);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->worker_count; i++)
        pthread_join(pool->threads[i], NULL);
    if (!st->code && pool->fail.code)
        *st = pool->fail;
    for (int i = 0; i < pool->worker_count; i++) {
        if (!st->code && !rn_state_empty(pool->states[i])) {
            struct bundle b;
            bundle_init(&b, pool->src.run, pool->states[i], INT64_MIN);
            commit(&b, st);
            bundle_clear(&b);
        }
        rn_state_free(pool->states[i]);
    }
    for (size_t i = 0; i < pool->queued; i++)
        cJSON_Delete(pool->queue[(pool->head + i) % BATCH_QUEUE]);
    pthread_cond_destroy(&pool->changed);
    pthread_mutex_destroy(&pool->lock);
    return st->code;
}

static enum em_code read_text(struct rn_run *run, int step, struct em_status *st)
{
    char pattern[PATH_MAX];
    const struct rn_step *s = &run->pipeline->steps[step];
    if (rn_gcs_path(run->data_dir, s->path, "ReadText path", true, pattern, sizeof(pattern), st))
        return st->code;
    /* a bundle that may be retried (an envelope step) cannot keep earlier ones pending */
    struct batch_pool pool = {
        .src = {run, NULL, step, INT64_MIN, !has_envelope_step(run->pipeline)}};
    pool_start(&pool, batch_worker_count(run));
    if (pool.worker_count == 0)
        EM_FAIL_OOM(st);
    else if (rn_text_read(run->data_dir, pattern, TEXT_BUNDLE, pool_put, &pool, st) == EM_NOT_FOUND)
        EM_FAIL(st, EM_NOT_FOUND, "Step '%s': no file matches %s.", s->name, s->path);
    pool_finish(&pool, st);
    return st->code;
}

/* Closes every window (watermark +infinity). */
static enum em_code close_all(struct rn_run *run, struct rn_state *state, struct em_status *st)
{
    struct bundle b;
    bundle_init(&b, run, state, INT64_MAX);
    commit(&b, st);
    bundle_clear(&b);
    return st->code;
}

static enum em_code clear_job(struct em_datafile *file, void *arg, struct em_status *st)
{
    const struct rn_run *run = arg;
    for (int i = 0; i < run->pipeline->count && !st->code; i++)
        rn_state_delete_ready(em_datafile_store(file), i, INT64_MAX, st);
    return st->code;
}

/* Forgets what an earlier, interrupted run of a batch job left in its state: a batch job
 * that the runner's restart interrupted starts again from its input. */
static enum em_code clear_state(struct rn_run *run, struct em_status *st)
{
    struct em_datafile *file;
    if (em_datastore_open(run->state, &file, st))
        return st->code;
    em_datafile_run(file, clear_job, run, st);
    em_datafile_put(file);
    return st->code;
}

static enum rn_outcome run_batch(struct rn_run *run, struct rn_state *state)
{
    struct em_status *st = &run->failure;
    clear_state(run, st);
    for (int i = 0; i < run->pipeline->count && !st->code; i++)
        if (run->pipeline->steps[i].kind == RN_READ_TEXT)
            read_text(run, i, st);
    if (!st->code)
        close_all(run, state, st);
    if (halted(run))
        return RN_OUTCOME_CANCELLED;
    return st->code ? RN_OUTCOME_FAILED : RN_OUTCOME_DONE;
}

/* --- streaming --- */

/* The subscription a ReadPubSub step reads: its own, or the job's on its topic. */
static enum em_code source_subscription(struct rn_run *run, const struct rn_step *s, char *out,
                                        size_t len, struct em_status *st)
{
    if (s->subscription) {
        snprintf(out, len, "%s", s->subscription);
        return EM_OK;
    }
    snprintf(out, len, "projects/%s/subscriptions/dataflow-%s-%s", run->project, run->job_id,
             s->name);
    return rn_pubsub_subscribe(&run->pubsub, s->topic, out, st);
}

/* The element of a received message: data as text, attributes, event time. */
static bool message_elem(const struct rn_step *s, const cJSON *received, struct rn_elem *e)
{
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(received, "message");
    const char *data = em_json_string(msg, "data");
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (data && !s->binary && !em_b64_decode(data, strlen(data), &bytes, &len))
        return false;
    char *text =
        s->binary ? strdup(data ? data : "") : strndup(bytes ? (const char *)bytes : "", len);
    free(bytes);
    if (!text)
        return false;
    int64_t ts = em_clock_now();
    const char *publish = em_json_string(msg, "publishTime");
    if (publish)
        em_time_parse(publish, &ts);
    const cJSON *attrs = cJSON_GetObjectItemCaseSensitive(msg, "attributes");
    const char *event =
        s->timestamp_attribute ? em_json_string(attrs, s->timestamp_attribute) : NULL;
    if (event)
        em_time_parse(event, &ts);
    *e = rn_elem_make(cJSON_CreateString(text), ts);
    free(text);
    e->attrs = cJSON_IsObject(attrs) ? cJSON_Duplicate(attrs, true) : NULL;
    return e->value != NULL;
}

/* A Pub/Sub source's watermark after a pull (Dataflow's estimate): no later than the oldest
 * event time among the messages just pulled (still unacknowledged), nor than the pull's
 * time less PUBLISH_VISIBLE_NS (a message published just before may not have shown yet);
 * it never moves back. So on-time messages are never late, even a backlog's. */
static int64_t pubsub_mark(int64_t before, int64_t pulled_at, const struct rn_batch *in)
{
    int64_t mark = pulled_at - PUBLISH_VISIBLE_NS;
    for (size_t i = 0; i < in->count; i++)
        if (in->items[i].ts_ns < mark)
            mark = in->items[i].ts_ns;
    return mark > before ? mark : before;
}

/* What a streaming job's threads share: for each worker (a slot), the watermark of what
 * its pulls saw and the oldest event time of its bundle in flight, which together hold
 * the job's watermark back, and the first failure of a worker (it ends the job). A pull
 * that finds nothing says nothing of what a concurrent pull of another worker gets: so
 * each worker keeps its own watermark, and the job's is the least of them. */
struct stream {
    struct rn_run *run;
    pthread_mutex_t lock;
    int64_t marks[STREAM_SLOTS_MAX];     /* INT64_MIN until its first pull, unused INT64_MAX */
    int64_t in_flight[STREAM_SLOTS_MAX]; /* INT64_MAX: no bundle */
    char subs[RN_STEPS_MAX][512];
    struct em_status fail;
};

/* The job's watermark (lock held): the least of the clock, of its workers' and of the
 * bundles in flight but the one in slot `except` (-1: all). A watched file's lines are
 * stamped when read, so the clock bounds them. */
static int64_t stream_mark(const struct stream *s, int except)
{
    int64_t mark = em_clock_now();
    for (int k = 0; k < STREAM_SLOTS_MAX; k++) {
        if (s->marks[k] < mark)
            mark = s->marks[k];
        if (k != except && s->in_flight[k] < mark)
            mark = s->in_flight[k];
    }
    return mark;
}

static int64_t stream_mark_now(struct stream *s, int except)
{
    pthread_mutex_lock(&s->lock);
    int64_t mark = stream_mark(s, except);
    pthread_mutex_unlock(&s->lock);
    return mark;
}

/* Records a pulled bundle in slot: its worker's watermark moves on, and its oldest element
 * that is not late holds the job's back until it is committed. Returns the watermark before
 * it (its elements' lateness is judged against it). */
static int64_t stream_enter(struct stream *s, int slot, int64_t pulled_at,
                            const struct rn_batch *in)
{
    pthread_mutex_lock(&s->lock);
    int64_t before = stream_mark(s, -1), oldest = INT64_MAX;
    for (size_t i = 0; i < in->count; i++)
        if (in->items[i].ts_ns < oldest)
            oldest = in->items[i].ts_ns;
    s->marks[slot] = pubsub_mark(s->marks[slot], pulled_at, in);
    s->in_flight[slot] = oldest > before ? oldest : before;
    pthread_mutex_unlock(&s->lock);
    return before;
}

static void stream_leave(struct stream *s, int slot)
{
    pthread_mutex_lock(&s->lock);
    s->in_flight[slot] = INT64_MAX;
    pthread_mutex_unlock(&s->lock);
}

/* One pull, its bundle and its commit, then the acknowledgement. Returns how many messages
 * came, -1 on failure (st set). */
static int pull_bundle(struct stream *s, struct rn_state *state, int step, int slot,
                       struct em_status *st)
{
    struct rn_run *run = s->run;
    const char *sub = s->subs[step];
    int64_t pulled_at = em_clock_now();
    cJSON *received;
    if (rn_pubsub_pull(&run->pubsub, sub, PUBSUB_BUNDLE, &received, st)) {
        if (deleted_meanwhile(run, st)) { /* the next pull waits for it */
            em_status_clear(st);
            return 0;
        }
        char why[EM_STATUS_MESSAGE_MAX];
        snprintf(why, sizeof(why), "%s", st->message);
        EM_FAIL(st, st->code, "Step '%s': reading %s failed: %s", run->pipeline->steps[step].name,
                sub, why);
        return -1;
    }
    struct bundle b;
    bundle_init(&b, run, state, INT64_MIN);
    struct rn_batch in = {0};
    cJSON *ack_ids = cJSON_CreateArray();
    const cJSON *r;
    cJSON_ArrayForEach(r, received)
    {
        struct rn_elem e;
        const char *ack_id = em_json_string(r, "ackId");
        if (ack_id)
            cJSON_AddItemToArray(ack_ids, cJSON_CreateString(ack_id));
        if (message_elem(&run->pipeline->steps[step], r, &e) && !rn_batch_push(&in, &e))
            b.oom = true;
    }
    int n = cJSON_GetArraySize(received);
    cJSON_Delete(received);
    b.late_mark = stream_enter(s, slot, pulled_at, &in);
    count_source(run, step, (int64_t)in.count);
    process_source(&b, step, &in);
    rn_batch_clear(&in);
    /* this bundle's elements are merged before the windows close: only the others count */
    b.watermark = stream_mark_now(s, slot);
    if (b.oom)
        EM_FAIL_OOM(st);
    else if (!b.retry && !commit(&b, st) && n > 0 &&
             rn_pubsub_ack(&run->pubsub, sub, ack_ids, st) && deleted_meanwhile(run, st))
        em_status_clear(st); /* deleted meanwhile: the messages come again, at least once */
    stream_leave(s, slot);
    bundle_clear(&b);
    cJSON_Delete(ack_ids);
    return st->code ? -1 : n;
}

static bool stream_failed(struct stream *s)
{
    pthread_mutex_lock(&s->lock);
    bool failed = s->fail.code != EM_OK;
    pthread_mutex_unlock(&s->lock);
    return failed;
}

struct stream_worker {
    struct stream *s;
    int step, slot;
    pthread_t thread;
};

/* A worker of a Pub/Sub source: pulls and runs bundles until the job stops or fails. */
static void *stream_worker_main(void *arg)
{
    struct stream_worker *w = arg;
    struct stream *s = w->s;
    struct em_status st = {0};
    struct rn_state *state = rn_state_new();
    if (!state)
        EM_FAIL_OOM(&st);
    while (!st.code && atomic_load(&s->run->stop) == RN_STOP_NONE && !stream_failed(s)) {
        if (!wait_while_project_deleted(s->run))
            break;
        if (pull_bundle(s, state, w->step, w->slot, &st) == 0) {
            struct timespec pause = {0, IDLE_PAUSE_MS * 1000000L};
            nanosleep(&pause, NULL);
        }
    }
    if (st.code) {
        pthread_mutex_lock(&s->lock);
        if (!s->fail.code)
            s->fail = st;
        pthread_mutex_unlock(&s->lock);
    }
    rn_state_free(state);
    return NULL;
}

/* --- watched text files (Stream_GCS_Text_to_Cloud_PubSub) --- */

struct seen_walk {
    cJSON *set; /* object: path -> true */
};

static enum em_code seen_row(int64_t start, int64_t end, const char *key, const char *acc,
                             void *arg, struct em_status *st)
{
    (void)start;
    (void)end;
    (void)acc;
    (void)st;
    struct seen_walk *w = arg;
    cJSON_AddTrueToObject(w->set, key);
    return EM_OK;
}

struct seen_job {
    int step;
    cJSON *set;
};

static enum em_code load_seen_job(struct em_datafile *file, void *arg, struct em_status *st)
{
    struct seen_job *job = arg;
    struct seen_walk w = {job->set};
    return rn_state_each_ready(em_datafile_store(file), job->step, INT64_MAX, seen_row, &w, st);
}

/* The files a watched ReadText already read whole (kept in the job's state). */
static enum em_code load_seen(struct rn_run *run, int step, cJSON *set, struct em_status *st)
{
    struct em_datafile *file;
    struct seen_job job = {step, set};
    if (em_datastore_open(run->state, &file, st))
        return st->code;
    em_datafile_run(file, load_seen_job, &job, st);
    em_datafile_put(file);
    return st->code;
}

static int compare_paths(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads the files matching a watched step's pattern that it has not read yet, each whole
 * and then recorded as read. Returns how many lines came. */
static int64_t poll_files(struct stream *stream, struct rn_state *state, int step, cJSON *seen,
                          struct em_status *st)
{
    struct rn_run *run = stream->run;
    char pattern[PATH_MAX];
    const struct rn_step *s = &run->pipeline->steps[step];
    int64_t before = run->metrics->elements[step];
    glob_t g;
    if (rn_gcs_path(run->data_dir, s->path, "ReadText path", true, pattern, sizeof(pattern), st))
        return -1;
    if (rn_gcs_glob(run->data_dir, pattern, &g) != 0) {
        globfree(&g);
        return 0;
    }
    qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), compare_paths);
    for (size_t i = 0; i < g.gl_pathc && !st->code && !halted(run); i++) {
        const char *path = g.gl_pathv[i];
        if (cJSON_HasObjectItem(seen, path))
            continue;
        struct text_source src = {run, state, step, stream_mark_now(stream, -1), false};
        rn_text_read_file(path, TEXT_BUNDLE, text_bundle, &src, st);
        struct bundle b;
        bundle_init(&b, run, state, stream_mark_now(stream, -1));
        b.seen_step = step;
        b.seen_file = path;
        if (!st->code && !commit(&b, st))
            cJSON_AddTrueToObject(seen, path);
        bundle_clear(&b);
    }
    globfree(&g);
    return st->code ? -1 : run->metrics->elements[step] - before;
}

/* How many workers pull each Pub/Sub source: one per core, at most STREAM_WORKERS. */
static int stream_worker_count(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > STREAM_WORKERS ? STREAM_WORKERS : (int)cores;
}

/* Starts the workers of every Pub/Sub source; returns how many run. */
static int start_stream_workers(struct stream *s, struct stream_worker *workers)
{
    const struct rn_pipeline *p = s->run->pipeline;
    int started = 0;
    for (int i = 0; i < p->count; i++)
        for (int k = 0; s->subs[i][0] && k < stream_worker_count(); k++) {
            if (started == STREAM_SLOTS_MAX)
                return started;
            struct stream_worker *w = &workers[started];
            *w = (struct stream_worker){.s = s, .step = i, .slot = started};
            pthread_mutex_lock(&s->lock);
            s->marks[started] = INT64_MIN; /* holds the job's watermark until its first pull */
            pthread_mutex_unlock(&s->lock);
            if (pthread_create(&w->thread, NULL, stream_worker_main, w) != 0) {
                pthread_mutex_lock(&s->lock);
                s->marks[started] = INT64_MAX;
                pthread_mutex_unlock(&s->lock);
                return started;
            }
            started++;
        }
    return started;
}

/* A streaming job: workers pull its Pub/Sub sources; the job's thread polls its watched
 * files. When it stops: cancelled at once, drained after every window closed. */
static enum rn_outcome run_streaming(struct rn_run *run, struct rn_state *state)
{
    struct em_status *st = &run->failure;
    const struct rn_pipeline *p = run->pipeline;
    struct stream s = {.run = run};
    struct stream_worker workers[STREAM_SLOTS_MAX];
    cJSON *seen[RN_STEPS_MAX] = {0};
    int64_t next_poll[RN_STEPS_MAX] = {0};
    pthread_mutex_init(&s.lock, NULL);
    for (int k = 0; k < STREAM_SLOTS_MAX; k++)
        s.marks[k] = s.in_flight[k] = INT64_MAX;
    for (int i = 0; i < p->count && !st->code; i++) {
        if (p->steps[i].kind == RN_READ_PUBSUB)
            source_subscription(run, &p->steps[i], s.subs[i], sizeof(s.subs[i]), st);
        if (p->steps[i].kind == RN_READ_TEXT && (seen[i] = cJSON_CreateObject()))
            load_seen(run, i, seen[i], st);
    }
    int started = st->code ? 0 : start_stream_workers(&s, workers);
    while (!st->code && atomic_load(&run->stop) == RN_STOP_NONE && !stream_failed(&s)) {
        for (int i = 0; i < p->count && !st->code; i++) {
            if (seen[i] && em_clock_now() >= next_poll[i]) {
                poll_files(&s, state, i, seen[i], st);
                next_poll[i] = em_clock_now() + p->steps[i].watch_ns;
            }
        }
        struct timespec pause = {0, IDLE_PAUSE_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
    if (st->code && !halted(run)) /* the workers stop with the job */
        atomic_store(&run->stop, RN_STOP_CANCEL);
    for (int k = 0; k < started; k++)
        pthread_join(workers[k].thread, NULL);
    if (!st->code && s.fail.code)
        *st = s.fail;
    pthread_mutex_destroy(&s.lock);
    for (int i = 0; i < p->count; i++)
        cJSON_Delete(seen[i]);
    if (halted(run) && !st->code)
        return RN_OUTCOME_CANCELLED;
    if (st->code)
        return RN_OUTCOME_FAILED;
    return close_all(run, state, st) ? RN_OUTCOME_FAILED : RN_OUTCOME_DRAINED;
}

enum rn_outcome rn_engine_run(struct rn_run *run)
{
    em_status_clear(&run->failure);
    struct rn_state *state = rn_state_new();
    struct rn_envelope *own_envelope = NULL;
    if (!run->envelope && has_envelope_step(run->pipeline))
        run->envelope = own_envelope = rn_envelope_new(run->pubsub.principal, run->pubsub.caller);
    if (!state || (has_envelope_step(run->pipeline) && !run->envelope)) {
        rn_state_free(state);
        EM_FAIL_OOM(&run->failure);
        return RN_OUTCOME_FAILED;
    }
    struct rn_peer bigtable = {.principal = run->pubsub.principal, .caller = run->pubsub.caller};
    struct rn_peer spanner = bigtable;
    snprintf(bigtable.base, sizeof(bigtable.base), "%s", run->bigtable_url);
    snprintf(spanner.base, sizeof(spanner.base), "%s", run->spanner_url);
    enum rn_outcome outcome = RN_OUTCOME_FAILED;
    if (!rn_sinks_open(run->pipeline, &bigtable, &spanner, &run->sinks, &run->failure))
        outcome = run->pipeline->streaming ? run_streaming(run, state) : run_batch(run, state);
    rn_sinks_free(run->sinks);
    run->sinks = NULL;
    rn_state_free(state);
    if (own_envelope) {
        rn_envelope_free(own_envelope);
        run->envelope = NULL;
    }
    return outcome;
}

/* The hooks of a job's state file (runner_jobs.c creates the datastore with them). */
const struct em_datastore_hooks rn_state_hooks = {.opened = state_opened};
