/*
 * runner_state: accumulators of the grouping steps, pending in memory during a bundle and
 * merged into the job's state file at its end (see runner_state.h).
 */
#include "runner_state.h"

#include "em_hash.h"
#include "runner_session.h"
#include "runner_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One pending accumulator. Counts, sums, minimums and maximums are held as a number
 * (`numeric`), every other accumulator as JSON. */
struct pending {
    struct pending *next;
    uint64_t hash;
    int step;
    int64_t win_start, win_end;
    cJSON *acc;
    double number;
    bool numeric;
    char key[]; /* compact JSON, "" for an element without a key */
};

#define FIRST_BUCKETS 4096

struct rn_state {
    struct pending **buckets;
    size_t bucket_count; /* a power of two */
    size_t count;
    size_t bytes; /* about what the pending accumulators hold */
};

struct rn_state *rn_state_new(void)
{
    struct rn_state *state = calloc(1, sizeof(struct rn_state));
    if (state && !(state->buckets = calloc(FIRST_BUCKETS, sizeof(struct pending *)))) {
        free(state);
        return NULL;
    }
    if (state)
        state->bucket_count = FIRST_BUCKETS;
    return state;
}

static void drop_pending(struct rn_state *state)
{
    for (size_t b = 0; b < state->bucket_count && state->count; b++) {
        struct pending *p = state->buckets[b];
        while (p) {
            struct pending *next = p->next;
            cJSON_Delete(p->acc);
            free(p);
            state->count--;
            p = next;
        }
        state->buckets[b] = NULL;
    }
    state->count = 0;
    state->bytes = 0;
}

void rn_state_free(struct rn_state *state)
{
    if (!state)
        return;
    drop_pending(state);
    free(state->buckets);
    free(state);
}

void rn_state_discard(struct rn_state *state)
{
    drop_pending(state);
}

bool rn_state_empty(const struct rn_state *state)
{
    return state->count == 0;
}

size_t rn_state_bytes(const struct rn_state *state)
{
    return state->bytes;
}

static uint64_t slot_hash(int step, int64_t win_start, int64_t win_end, const char *key)
{
    uint64_t h = em_fnv1a_str(key);
    h ^= (uint64_t)win_start * 0x9e3779b97f4a7c15ull;
    h ^= ((uint64_t)win_end + (uint64_t)step) * 0xc2b2ae3d27d4eb4full;
    return h ^ (h >> 29);
}

/* Doubles the buckets once the table holds as many entries as buckets (best effort: a
 * table that cannot grow stays correct, only slower). */
static void grow(struct rn_state *state)
{
    size_t n = state->bucket_count * 2;
    struct pending **buckets = calloc(n, sizeof(*buckets));
    if (!buckets)
        return;
    for (size_t b = 0; b < state->bucket_count; b++)
        for (struct pending *p = state->buckets[b], *next; p; p = next) {
            next = p->next;
            p->next = buckets[p->hash & (n - 1)];
            buckets[p->hash & (n - 1)] = p;
        }
    free(state->buckets);
    state->buckets = buckets;
    state->bucket_count = n;
}

static bool number_of(const cJSON *value, double *out)
{
    if (cJSON_IsNumber(value)) {
        *out = value->valuedouble;
        return true;
    }
    if (!cJSON_IsString(value) || !*value->valuestring)
        return false;
    char *end;
    *out = strtod(value->valuestring, &end);
    return *end == '\0';
}

/* The accumulator of one element alone; NULL when the step cannot take it. */
static cJSON *acc_of(const struct rn_step *step, const struct rn_elem *e)
{
    double n;
    switch (step->kind) {
    case RN_GROUP_BY_KEY: {
        cJSON *list = cJSON_CreateArray();
        cJSON_AddItemToArray(list, cJSON_Duplicate(e->value, true));
        return list;
    }
    case RN_WRITE_TEXT: {
        char *text = rn_value_text(e->value);
        cJSON *list = cJSON_CreateArray();
        cJSON_AddItemToArray(list, cJSON_CreateString(text ? text : ""));
        free(text);
        return list;
    }
    case RN_COUNT_PER_ELEMENT:
        return cJSON_CreateNumber(1);
    default:
        break;
    }
    if (step->fn == RN_FN_COUNT)
        return cJSON_CreateNumber(1);
    if (!number_of(e->value, &n))
        return NULL;
    if (step->fn == RN_FN_MEAN) {
        double pair[2] = {n, 1};
        return cJSON_CreateDoubleArray(pair, 2);
    }
    if (step->fn == RN_FN_TOP) {
        double one[1] = {n};
        return cJSON_CreateDoubleArray(one, 1);
    }
    return cJSON_CreateNumber(n);
}

static int compare_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* top: the n largest of both lists, largest first. */
static cJSON *merge_top(const struct rn_step *step, const cJSON *a, const cJSON *b)
{
    int na = cJSON_GetArraySize(a), nb = cJSON_GetArraySize(b), n = 0;
    double *all = malloc(sizeof(double) * (size_t)(na + nb + 1));
    if (!all)
        return NULL;
    const cJSON *v;
    cJSON_ArrayForEach(v, a)
    {
        all[n++] = v->valuedouble;
    }
    cJSON_ArrayForEach(v, b)
    {
        all[n++] = v->valuedouble;
    }
    qsort(all, (size_t)n, sizeof(double), compare_desc);
    cJSON *out = cJSON_CreateDoubleArray(all, n < step->top ? n : step->top);
    free(all);
    return out;
}

/* a merged with b, as a new accumulator (a and b unchanged). */
static cJSON *acc_merge(const struct rn_step *step, const cJSON *a, const cJSON *b)
{
    if (step->kind == RN_GROUP_BY_KEY || step->kind == RN_WRITE_TEXT) {
        cJSON *list = cJSON_Duplicate(a, true);
        const cJSON *v;
        cJSON_ArrayForEach(v, b)
        {
            cJSON_AddItemToArray(list, cJSON_Duplicate(v, true));
        }
        return list;
    }
    if (step->kind == RN_COMBINE && step->fn == RN_FN_TOP)
        return merge_top(step, a, b);
    if (step->kind == RN_COMBINE && step->fn == RN_FN_MEAN) {
        double pair[2] = {
            cJSON_GetArrayItem(a, 0)->valuedouble + cJSON_GetArrayItem(b, 0)->valuedouble,
            cJSON_GetArrayItem(a, 1)->valuedouble + cJSON_GetArrayItem(b, 1)->valuedouble};
        return cJSON_CreateDoubleArray(pair, 2);
    }
    double x = a->valuedouble, y = b->valuedouble;
    if (step->kind == RN_COMBINE && step->fn == RN_FN_MIN)
        return cJSON_CreateNumber(x < y ? x : y);
    if (step->kind == RN_COMBINE && step->fn == RN_FN_MAX)
        return cJSON_CreateNumber(x > y ? x : y);
    return cJSON_CreateNumber(x + y); /* counts and sums */
}

/* Whether a step's accumulator is a plain number: a count, a sum, a minimum, a maximum. */
static bool numeric_step(const struct rn_step *step)
{
    if (step->kind == RN_COUNT_PER_ELEMENT)
        return true;
    return step->kind == RN_COMBINE && step->fn != RN_FN_MEAN && step->fn != RN_FN_TOP;
}

/* The number an element adds to a numeric accumulator; false if it is not a number. */
static bool number_in(const struct rn_step *step, const struct rn_elem *e, double *n)
{
    if (step->kind == RN_COUNT_PER_ELEMENT || step->fn == RN_FN_COUNT) {
        *n = 1;
        return true;
    }
    return number_of(e->value, n);
}

static double fold_number(const struct rn_step *step, double acc, double n)
{
    if (step->kind == RN_COMBINE && step->fn == RN_FN_MIN)
        return n < acc ? n : acc;
    if (step->kind == RN_COMBINE && step->fn == RN_FN_MAX)
        return n > acc ? n : acc;
    return acc + n; /* counts and sums */
}

/* The grouping key's compact JSON (the element's key, or for CountPerElement its value)
 * into buf, or a new string when it does not fit (*allocated). NULL if memory ran out. */
static const char *key_text(const struct rn_step *step, const struct rn_elem *e, char *buf,
                            size_t size, char **allocated)
{
    *allocated = NULL;
    const cJSON *key = step->kind == RN_COUNT_PER_ELEMENT ? e->value : e->key;
    if (!key || step->kind == RN_WRITE_TEXT)
        return "";
    if (cJSON_IsString(key)) {
        /* what cJSON prints for a string that needs no escape: the text in quotes */
        size_t n = 0;
        const unsigned char *c = (const unsigned char *)key->valuestring;
        while (c[n] >= 0x20 && c[n] != '"' && c[n] != '\\')
            n++;
        if (c[n] == '\0' && n + 3 <= size) {
            buf[0] = '"';
            memcpy(buf + 1, c, n);
            buf[n + 1] = '"';
            buf[n + 2] = '\0';
            return buf;
        }
    }
    return *allocated = cJSON_PrintUnformatted(key);
}

static struct pending *find(const struct rn_state *state, uint64_t hash, int step,
                            int64_t win_start, int64_t win_end, const char *key)
{
    for (struct pending *p = state->buckets[hash & (state->bucket_count - 1)]; p; p = p->next)
        if (p->hash == hash && p->step == step && p->win_start == win_start &&
            p->win_end == win_end && strcmp(p->key, key) == 0)
            return p;
    return NULL;
}

static struct pending *add(struct rn_state *state, uint64_t hash, int step, int64_t win_start,
                           int64_t win_end, const char *key)
{
    if (state->count >= state->bucket_count)
        grow(state);
    size_t key_len = strlen(key);
    struct pending *p = calloc(1, sizeof(*p) + key_len + 1);
    if (!p)
        return NULL;
    p->hash = hash;
    p->step = step;
    p->win_start = win_start;
    p->win_end = win_end;
    memcpy(p->key, key, key_len + 1);
    size_t b = hash & (state->bucket_count - 1);
    p->next = state->buckets[b];
    state->buckets[b] = p;
    state->count++;
    state->bytes += sizeof(*p) + key_len + 1;
    return p;
}

/* Folds a JSON accumulator of one element into p's. */
static bool fold_json(const struct rn_step *step, struct pending *p, cJSON *acc)
{
    if (!p->acc) {
        p->acc = acc;
        return true;
    }
    if (step->kind == RN_GROUP_BY_KEY || step->kind == RN_WRITE_TEXT) {
        /* a list: append in place (acc_merge would copy the whole list per element) */
        cJSON *item;
        while ((item = cJSON_DetachItemFromArray(acc, 0)))
            cJSON_AddItemToArray(p->acc, item);
        cJSON_Delete(acc);
        return true;
    }
    cJSON *merged = acc_merge(step, p->acc, acc);
    cJSON_Delete(acc);
    if (!merged)
        return false;
    cJSON_Delete(p->acc);
    p->acc = merged;
    return true;
}

/* About the memory an element's accumulator takes (lists grow by their items). */
static size_t acc_bytes(const struct rn_elem *e)
{
    return 64 + (cJSON_IsString(e->value) ? strlen(e->value->valuestring) : 32);
}

bool rn_state_add(struct rn_state *state, const struct rn_step *step, int step_index,
                  const struct rn_elem *e, bool *oom)
{
    *oom = false;
    double n = 0;
    bool numeric = numeric_step(step);
    if (numeric && !number_in(step, e, &n))
        return false;
    cJSON *acc = numeric ? NULL : acc_of(step, e);
    if (!numeric && !acc)
        return false;
    char buf[256], *allocated;
    const char *key = key_text(step, e, buf, sizeof(buf), &allocated);
    uint64_t hash = key ? slot_hash(step_index, e->win_start, e->win_end, key) : 0;
    struct pending *p = !key ? NULL : find(state, hash, step_index, e->win_start, e->win_end, key);
    bool fresh = !p;
    if (key && !p)
        p = add(state, hash, step_index, e->win_start, e->win_end, key);
    free(allocated);
    if (!p) {
        cJSON_Delete(acc);
        *oom = true;
        return false;
    }
    if (numeric) {
        p->number = fresh ? n : fold_number(step, p->number, n);
        p->numeric = true;
        return true;
    }
    state->bytes += acc_bytes(e);
    if (!fold_json(step, p, acc)) {
        *oom = true;
        return false;
    }
    return true;
}

/* p's accumulator as JSON (a number is made one now). */
static const cJSON *pending_acc(struct pending *p)
{
    if (p->numeric && !p->acc)
        p->acc = cJSON_CreateNumber(p->number);
    return p->acc;
}

static enum em_code commit_one(struct pending *p, const struct rn_pipeline *pipeline,
                               struct em_store *store, struct em_status *st)
{
    const struct rn_step *step = &pipeline->steps[p->step];
    const cJSON *acc = pending_acc(p);
    if (!acc)
        return EM_FAIL_OOM(st);
    if (step->window == RN_WINDOW_SESSION)
        return rn_session_commit(store, step, p->step, p->win_start, p->win_end, p->key, acc,
                                 acc_merge, st);
    char *stored_text;
    if (rn_state_get(store, p->step, p->win_start, p->win_end, p->key, &stored_text, st))
        return st->code;
    cJSON *stored = stored_text ? cJSON_Parse(stored_text) : NULL;
    free(stored_text);
    cJSON *merged = stored ? acc_merge(step, stored, acc) : NULL;
    cJSON_Delete(stored);
    char *text = cJSON_PrintUnformatted(merged ? merged : acc);
    cJSON_Delete(merged);
    if (!text)
        return EM_FAIL_OOM(st);
    rn_state_set(store, p->step, p->win_start, p->win_end, p->key, text, st);
    free(text);
    return st->code;
}

enum em_code rn_state_commit(struct rn_state *state, const struct rn_pipeline *p,
                             struct em_store *store, struct em_status *st)
{
    for (size_t b = 0; b < state->bucket_count && state->count; b++)
        for (struct pending *e = state->buckets[b]; e; e = e->next)
            if (commit_one(e, p, store, st))
                return st->code;
    drop_pending(state);
    return EM_OK;
}

static cJSON *acc_value(const struct rn_step *step, cJSON *acc)
{
    if (step->kind == RN_COMBINE && step->fn == RN_FN_MEAN) {
        double sum = cJSON_GetArrayItem(acc, 0) ? cJSON_GetArrayItem(acc, 0)->valuedouble : 0;
        double n = cJSON_GetArrayItem(acc, 1) ? cJSON_GetArrayItem(acc, 1)->valuedouble : 1;
        cJSON_Delete(acc);
        return cJSON_CreateNumber(n > 0 ? sum / n : 0);
    }
    return acc;
}

bool rn_state_output(const struct rn_step *step, int64_t win_start, int64_t win_end,
                     const char *key, const char *acc, struct rn_elem *out)
{
    cJSON *value = cJSON_Parse(acc);
    if (!value)
        return false;
    *out = rn_elem_make(acc_value(step, value), win_end - 1);
    out->win_start = win_start;
    out->win_end = win_end;
    if (*key && !(out->key = cJSON_Parse(key))) {
        rn_elem_free(out);
        return false;
    }
    return out->value != NULL;
}
