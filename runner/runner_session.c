/*
 * runner_session: merging of session windows in a job's state (see runner_session.h).
 */
#include "runner_session.h"

#include "runner_store.h"

#include <stdlib.h>
#include <string.h>

struct overlap {
    int64_t start, end;
    char *acc;
};

struct overlap_list {
    struct overlap *items;
    size_t count, cap;
};

static enum em_code collect(int64_t start, int64_t end, const char *key, const char *acc, void *arg,
                            struct em_status *st)
{
    (void)key;
    struct overlap_list *list = arg;
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 4;
        struct overlap *bigger = realloc(list->items, cap * sizeof(*bigger));
        if (!bigger)
            return EM_FAIL_OOM(st);
        list->items = bigger;
        list->cap = cap;
    }
    char *copy = strdup(acc ? acc : "null");
    if (!copy)
        return EM_FAIL_OOM(st);
    struct overlap *o = &list->items[list->count++];
    o->start = start;
    o->end = end;
    o->acc = copy;
    return EM_OK;
}

static void list_free(struct overlap_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i].acc);
    free(list->items);
}

/* Folds one stored session into (merged, start, end) and deletes its row. */
static enum em_code absorb(struct em_store *store, const struct rn_step *step, int step_index,
                           const char *key, const struct overlap *o, cJSON **merged, int64_t *start,
                           int64_t *end, rn_acc_merge_fn merge, struct em_status *st)
{
    cJSON *stored = cJSON_Parse(o->acc);
    if (!stored)
        return EM_FAIL(st, EM_INTERNAL, "A stored session of step '%s' is not readable.",
                       step->name);
    cJSON *both = merge(step, stored, *merged);
    cJSON_Delete(stored);
    if (!both)
        return EM_FAIL_OOM(st);
    cJSON_Delete(*merged);
    *merged = both;
    *start = o->start < *start ? o->start : *start;
    *end = o->end > *end ? o->end : *end;
    return rn_state_delete(store, step_index, o->start, o->end, key, st);
}

enum em_code rn_session_commit(struct em_store *store, const struct rn_step *step, int step_index,
                               int64_t win_start, int64_t win_end, const char *key,
                               const cJSON *acc, rn_acc_merge_fn merge, struct em_status *st)
{
    struct overlap_list list = {0};
    cJSON *merged = cJSON_Duplicate(acc, true);
    if (!merged)
        return EM_FAIL_OOM(st);
    if (!rn_state_each_overlapping(store, step_index, key, win_start, win_end, collect, &list, st))
        for (size_t i = 0; i < list.count && !st->code; i++)
            absorb(store, step, step_index, key, &list.items[i], &merged, &win_start, &win_end,
                   merge, st);
    list_free(&list);
    char *text = st->code ? NULL : cJSON_PrintUnformatted(merged);
    cJSON_Delete(merged);
    if (!st->code && !text)
        return EM_FAIL_OOM(st);
    if (text)
        rn_state_set(store, step_index, win_start, win_end, key, text, st);
    free(text);
    return st->code;
}
