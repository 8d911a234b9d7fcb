/*
 * runner_session: session windows in a job's state. An element of a session-windowed
 * step opens the window [t, t + gap); when its accumulator is committed, every stored
 * window of the same step and key that overlaps it is merged into one row: the union of
 * the windows, the accumulators merged. Stored sessions of a key therefore never overlap,
 * and a session closes (is emitted) once the watermark passes its end, that is, once no
 * element of its key came for a whole gap.
 */
#ifndef RUNNER_SESSION_H
#define RUNNER_SESSION_H

#include "runner_pipeline.h"

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdint.h>

struct em_store;

/* A new accumulator holding a and b (the step's own merge, runner_state.c). */
typedef cJSON *(*rn_acc_merge_fn)(const struct rn_step *step, const cJSON *a, const cJSON *b);

/* Stores acc for (step_index, [win_start, win_end), key), merged with the sessions of key
 * it overlaps (inside the caller's write transaction). */
enum em_code rn_session_commit(struct em_store *store, const struct rn_step *step, int step_index,
                               int64_t win_start, int64_t win_end, const char *key,
                               const cJSON *acc, rn_acc_merge_fn merge, struct em_status *st);

#endif
