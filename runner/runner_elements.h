/*
 * runner_elements: the elements that flow between steps and the stateless transforms
 * (ParseJson, ExtractField, RenameFields, Map, FlatMap, Filter, KeyBy, Window).
 *
 * An element is a JSON value (a line of text is a string), an optional key (set by KeyBy,
 * CountPerElement, GroupByKey, Combine), its event time, its window [start, end) and the
 * Pub/Sub attributes it came with. Elements of the global window have start INT64_MIN
 * and end INT64_MAX. A transform that cannot handle an element (ParseJson on text that is
 * not JSON, ExtractField on a missing field) sends it to the step's dead-letter output
 * with the reason in its "error" attribute, instead of failing the job.
 */
#ifndef RUNNER_ELEMENTS_H
#define RUNNER_ELEMENTS_H

#include "runner_pipeline.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct rn_elem {
    cJSON *value; /* owned */
    cJSON *key;   /* owned, or NULL */
    cJSON *attrs; /* owned object of strings, or NULL */
    int64_t ts_ns;
    int64_t win_start, win_end;
};

struct rn_batch {
    struct rn_elem *items;
    size_t count, cap;
};

/* Appends e (taking ownership of its values); false when memory ran out (e freed). */
bool rn_batch_push(struct rn_batch *b, struct rn_elem *e);
void rn_batch_clear(struct rn_batch *b);

/* A new element of the global window with this value (owned). */
struct rn_elem rn_elem_make(cJSON *value, int64_t ts_ns);
void rn_elem_free(struct rn_elem *e);
/* A copy with every owned value duplicated. */
struct rn_elem rn_elem_copy(const struct rn_elem *e);

/* The element's value as text: a string as itself, anything else as compact JSON
 * (malloc'd). */
char *rn_value_text(const cJSON *value);

/* Applies a stateless step to one element: outputs appended to out (main) or failed
 * (dead letter). Returns false only when memory ran out. */
bool rn_apply_stateless(const struct rn_step *step, const struct rn_elem *in, struct rn_batch *out,
                        struct rn_batch *failed);

#endif
