/*
 * runner_state: accumulators of the grouping steps, pending in memory during a bundle and
 * merged into the job's state file at its end (see runner_state.h).
 */
#include "runner_state.h"

#include "runner_session.h"
#include "runner_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pending {
    char *slot; /* "<step>|<win_start>|<win_end>|<key>" */
    int step;
    int64_t win_start, win_end;
    char *key; /* compact JSON, "" for an element without a key */
    cJSON *acc;
    struct pending *next;
};

#define BUCKETS 4096

struct rn_state {
    struct pending *buckets[BUCKETS];
    size_t count;
};

struct rn_state *rn_state_new(void)
{
    return calloc(1, sizeof(struct rn_state));
}

static void drop_pending(struct rn_state *state)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        struct pending *p = state->buckets[b];
        while (p) {
            struct pending *next = p->next;
            free(p->slot);
            free(p->key);
            cJSON_Delete(p->acc);
            free(p);
            p = next;
        }
        state->buckets[b] = NULL;
    }
    state->count = 0;
}

void rn_state_free(struct rn_state *state)
{
    if (!state)
        return;
    drop_pending(state);
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

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
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

static struct pending *find_or_add(struct rn_state *state, const char *slot, int step_index,
                                   const struct rn_elem *e, char *key)
{
    uint32_t b = fnv1a(slot) % BUCKETS;
    for (struct pending *p = state->buckets[b]; p; p = p->next)
        if (strcmp(p->slot, slot) == 0) {
            free(key);
            return p;
        }
    struct pending *p = calloc(1, sizeof(*p));
    if (!p || !(p->slot = strdup(slot))) {
        free(p);
        free(key);
        return NULL;
    }
    p->step = step_index;
    p->win_start = e->win_start;
    p->win_end = e->win_end;
    p->key = key;
    p->next = state->buckets[b];
    state->buckets[b] = p;
    state->count++;
    return p;
}

/* The grouping key's text: the element's key, or for CountPerElement its value. */
static char *key_text(const struct rn_step *step, const struct rn_elem *e)
{
    const cJSON *key = step->kind == RN_COUNT_PER_ELEMENT ? e->value : e->key;
    if (!key || step->kind == RN_WRITE_TEXT)
        return strdup("");
    return cJSON_PrintUnformatted(key);
}

bool rn_state_add(struct rn_state *state, const struct rn_step *step, int step_index,
                  const struct rn_elem *e, bool *oom)
{
    *oom = false;
    cJSON *acc = acc_of(step, e);
    if (!acc)
        return false;
    char *key = key_text(step, e);
    size_t len = (key ? strlen(key) : 0) + 64;
    char *slot = malloc(len);
    if (!key || !slot) {
        free(key);
        free(slot);
        cJSON_Delete(acc);
        *oom = true;
        return false;
    }
    snprintf(slot, len, "%d|%" PRId64 "|%" PRId64 "|%s", step_index, e->win_start, e->win_end, key);
    struct pending *p = find_or_add(state, slot, step_index, e, key);
    free(slot);
    if (!p) {
        cJSON_Delete(acc);
        *oom = true;
        return false;
    }
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
    if (!merged) {
        *oom = true;
        return false;
    }
    cJSON_Delete(p->acc);
    p->acc = merged;
    return true;
}

static enum em_code commit_one(struct pending *p, const struct rn_pipeline *pipeline,
                               struct em_store *store, struct em_status *st)
{
    const struct rn_step *step = &pipeline->steps[p->step];
    if (step->window == RN_WINDOW_SESSION)
        return rn_session_commit(store, step, p->step, p->win_start, p->win_end, p->key, p->acc,
                                 acc_merge, st);
    char *stored_text;
    if (rn_state_get(store, p->step, p->win_start, p->win_end, p->key, &stored_text, st))
        return st->code;
    cJSON *stored = stored_text ? cJSON_Parse(stored_text) : NULL;
    free(stored_text);
    cJSON *merged = stored ? acc_merge(step, stored, p->acc) : cJSON_Duplicate(p->acc, true);
    cJSON_Delete(stored);
    char *text = merged ? cJSON_PrintUnformatted(merged) : NULL;
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
    for (size_t b = 0; b < BUCKETS && state->count; b++)
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
