/*
 * runner_store: the only file with the runner's SQL.
 *
 * In metadata.db (module "runner"):
 *   runner_jobs(name PRIMARY KEY, project, location, create_ns, json, pipeline)
 *       one row per job: the Job resource as JSON, and the validated pipeline it runs
 *   runner_messages(job, seq, time_ns, importance, json)
 *       the job's JobMessages (importance: 1 DEBUG .. 5 ERROR, the proto numbers)
 *
 * In a job's encrypted state file (module "runner_state", em_datastore):
 *   state(step, win_start, win_end, key, acc) PRIMARY KEY(step, win_start, win_end, key)
 *       the accumulator of each (step, window, key) still open: a GroupByKey's values,
 *       a count, a combine's partial result, the lines of a WriteText window
 */
#ifndef RUNNER_STORE_H
#define RUNNER_STORE_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdint.h>

struct em_store;

enum em_code rn_store_migrate(struct em_store *store, struct em_status *st);

/* Inserts or replaces a job's row. */
enum em_code rn_store_put_job(struct em_store *store, const char *name, const char *project,
                              const char *location, int64_t create_ns, const char *json,
                              const char *pipeline, struct em_status *st);
/* The job's JSON (and pipeline, if asked), malloc'd; *json NULL when there is none. */
enum em_code rn_store_get_job(struct em_store *store, const char *name, char **json,
                              char **pipeline, struct em_status *st);
/* The Jobs of a project (location NULL: every location), newest first, as an array. */
enum em_code rn_store_list_jobs(struct em_store *store, const char *project, const char *location,
                                cJSON **out, struct em_status *st);
/* The names of every job, as an array of strings. */
enum em_code rn_store_job_names(struct em_store *store, cJSON **out, struct em_status *st);
enum em_code rn_store_clear(struct em_store *store, struct em_status *st);

enum em_code rn_store_add_message(struct em_store *store, const char *job, int64_t time_ns,
                                  int importance, const char *json, struct em_status *st);
/* Which of a job's messages a listing returns (ListJobMessagesRequest). */
struct rn_message_query {
    int min_importance;       /* 1 DEBUG .. 5 ERROR */
    int64_t start_ns, end_ns; /* recorded in [start_ns, end_ns) */
    int64_t after_seq;        /* recorded after this one (where a page token left off) */
    int page_size;            /* at most this many; 0: all */
};

/* The messages q selects, oldest first, as an array. *next_after: where the next page
 * starts (the last message's sequence number), 0 when none is left. */
enum em_code rn_store_list_messages(struct em_store *store, const char *job,
                                    const struct rn_message_query *q, cJSON **out,
                                    int64_t *next_after, struct em_status *st);

/* --- a job's state file --- */
enum em_code rn_state_migrate(struct em_store *store, struct em_status *st);
/* The accumulator text of (step, window, key), malloc'd, or NULL. */
enum em_code rn_state_get(struct em_store *store, int step, int64_t win_start, int64_t win_end,
                          const char *key, char **acc, struct em_status *st);
enum em_code rn_state_set(struct em_store *store, int step, int64_t win_start, int64_t win_end,
                          const char *key, const char *acc, struct em_status *st);
/* Every row of step whose window ended by watermark, in window then key order. */
typedef enum em_code (*rn_state_row_fn)(int64_t win_start, int64_t win_end, const char *key,
                                        const char *acc, void *arg, struct em_status *st);
enum em_code rn_state_each_ready(struct em_store *store, int step, int64_t watermark,
                                 rn_state_row_fn row, void *arg, struct em_status *st);
enum em_code rn_state_delete_ready(struct em_store *store, int step, int64_t watermark,
                                   struct em_status *st);
/* Every row of (step, key) whose window overlaps [win_start, win_end) (session windows). */
enum em_code rn_state_each_overlapping(struct em_store *store, int step, const char *key,
                                       int64_t win_start, int64_t win_end, rn_state_row_fn row,
                                       void *arg, struct em_status *st);
enum em_code rn_state_delete(struct em_store *store, int step, int64_t win_start, int64_t win_end,
                             const char *key, struct em_status *st);
/* How many rows the state holds (tests, metrics). */
enum em_code rn_state_count(struct em_store *store, int64_t *count, struct em_status *st);

#endif
