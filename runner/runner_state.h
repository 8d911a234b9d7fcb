/*
 * runner_state: the state of a job's grouping steps (GroupByKey, CountPerElement,
 * Combine, and WriteText, which gathers the lines of each window).
 *
 * Every (step, window, key) has an accumulator: the values of a GroupByKey, a count, a
 * combine's partial result (sum, [sum, count] for a mean, the n largest for top), the lines
 * of a window for a file. A bundle folds its elements into accumulators in memory
 * (struct rn_state); rn_state_commit merges them into the job's encrypted state file in
 * the writer's transaction, and rn_state_output turns a stored accumulator back into the
 * element the step emits once the watermark passed the window's end.
 *
 * Grouping keys are stored as their compact JSON in the clear column `key` (as in Google,
 * where grouping keys are outside CMEK's scope), accumulators in `acc`; both live only in
 * the job's state file, every page of which is encrypted under the job's DEK.
 */
#ifndef RUNNER_STATE_H
#define RUNNER_STATE_H

#include "runner_elements.h"

#include "em_status.h"

struct em_store;
struct rn_state;

struct rn_state *rn_state_new(void);
void rn_state_free(struct rn_state *state);

/* Folds an element into the accumulator of (step, its window, its key). False when the
 * element cannot be folded (a Combine over a value that is not a number) or memory ran
 * out; *oom tells which. */
bool rn_state_add(struct rn_state *state, const struct rn_step *step, int step_index,
                  const struct rn_elem *e, bool *oom);

/* Merges every pending accumulator into the state file (inside a write transaction) and
 * empties the pending set. */
enum em_code rn_state_commit(struct rn_state *state, const struct rn_pipeline *p,
                             struct em_store *store, struct em_status *st);

/* Forgets every pending accumulator (a bundle that will run again). */
void rn_state_discard(struct rn_state *state);

/* Whether nothing is pending. */
bool rn_state_empty(const struct rn_state *state);

/* About how many bytes the pending accumulators hold. */
size_t rn_state_bytes(const struct rn_state *state);

/* The element a step emits for a stored accumulator (key: the stored key text). */
bool rn_state_output(const struct rn_step *step, int64_t win_start, int64_t win_end,
                     const char *key, const char *acc, struct rn_elem *out);

#endif
