/*
 * runner_jobs: Dataflow jobs, the runner's domain. A job is a validated pipeline (a JSON
 * pipeline, or one of Google's templates expanded into one), a Job resource persisted in
 * metadata.db, a CMEK-protected state file and, while it runs, a thread executing the
 * pipeline (runner_engine).
 *
 * States (Job.currentState), moved on ticks of the emulator clock and by the job's thread:
 *
 *   PENDING --tick--> RUNNING --input read, windows closed (batch)--> DONE
 *      |                 |----source/sink failure, key refused by KMS--> FAILED
 *      |                 |----cancel--> CANCELLING --thread stopped--> CANCELLED
 *      |                 +----drain (streaming)--> DRAINING --windows closed--> DRAINED
 *      +----cancel--> CANCELLED
 *
 * DONE, FAILED, CANCELLED and DRAINED are terminal. A runner restart resumes the jobs
 * that were RUNNING or DRAINING (a streaming job continues from its state file and its
 * subscriptions' unacknowledged messages; a batch job starts its input again and rewrites
 * its output shards whole) and starts the PENDING ones; a CANCELLING one ends CANCELLED.
 *
 * CMEK: a job launched with a key (environment.kmsKeyName, shown as
 * environment.serviceKmsKeyName) has its state file protected under it through the
 * shared engine (em_cmek): the key must be `global` or in the job's region; KMS must
 * accept it at launch; every 5 minutes of emulator time a key check runs, and a key KMS
 * refuses (disabled, destroyed, permission revoked) fails the running job with a
 * JOB_MESSAGE_ERROR naming the key. While KMS is unreachable the job runs on for the
 * 1-hour grace period, then waits until KMS answers.
 */
#ifndef RUNNER_JOBS_H
#define RUNNER_JOBS_H

#include "runner_store.h" /* struct rn_message_query */

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct em_service;
struct rn_jobs;

enum em_code rn_jobs_open(struct em_service *svc, struct rn_jobs **out, struct em_status *st);
/* Stops every job thread (jobs stay RUNNING in the store: they resume at the next start). */
void rn_jobs_close(struct rn_jobs *jobs);
/* Starts PENDING jobs and fails those whose key KMS refuses. */
enum em_code rn_jobs_tick(struct rn_jobs *jobs, struct em_status *st);
/* Stops and forgets every job. */
enum em_code rn_jobs_reset(struct rn_jobs *jobs, struct em_status *st);

/* What a launch asks for, whichever method it came through. */
struct rn_launch {
    const char *project, *location;
    const char *job_name;
    const char *pipeline_text;     /* the JSON pipeline (a template already expanded) */
    const cJSON *parameters;       /* object of strings, or NULL */
    const cJSON *environment;      /* RuntimeEnvironment / FlexTemplateRuntimeEnvironment /
                                      Environment, or NULL */
    const cJSON *labels;           /* Job.labels, or NULL */
    const char *client_request_id; /* Job.clientRequestId, or NULL */
    bool validate_only;
};

/* Validates and creates a job; *job is the Job resource (the caller's). Its labels are
 * launch->labels with the environment's additionalUserLabels (RuntimeEnvironment,
 * FlexTemplateRuntimeEnvironment), both under Google's label rules. A launch with a
 * client_request_id is idempotent: when this project and region already have a job of
 * that name created with that id, *job is that job and no other is created (CreateJob's
 * retries). */
enum em_code rn_jobs_launch(struct rn_jobs *jobs, const struct rn_launch *launch, cJSON **job,
                            struct em_status *st);

/* Job views (JobView): SUMMARY leaves out steps; ALL and DESCRIPTION include them. */
enum rn_view { RN_VIEW_SUMMARY, RN_VIEW_ALL };

enum em_code rn_jobs_get(struct rn_jobs *jobs, const char *name, enum rn_view view, cJSON **job,
                         struct em_status *st);

/* ListJobs filters. */
enum rn_filter { RN_FILTER_ALL, RN_FILTER_ACTIVE, RN_FILTER_TERMINATED };

/* Which of a project's jobs a listing returns (ListJobsRequest). */
struct rn_job_query {
    const char *location; /* NULL: every location (jobs:aggregated) */
    enum rn_filter filter;
    const char *name; /* only the jobs of this name (Job.name, not the id); NULL or "": any */
    int page_size;    /* at most this many; 0: up to 1000 */
};

/* The jobs of a project that q selects, newest first, one page: {"jobs": [...],
 * "nextPageToken"}. A page token (the last job's id) goes on after that job, skipping the
 * jobs q leaves out: the pages of a listing are its jobs, each once. */
enum em_code rn_jobs_list(struct rn_jobs *jobs, const char *project, const struct rn_job_query *q,
                          const char *page_token, cJSON **reply, struct em_status *st);

/* UpdateJob: requested_state JOB_STATE_CANCELLED or JOB_STATE_DRAINED (NULL: the job is
 * answered unchanged). The handler refuses every other change (runtime_updatable_params). */
enum em_code rn_jobs_update(struct rn_jobs *jobs, const char *name, const char *requested_state,
                            cJSON **job, struct em_status *st);

/* ListJobMessages: {"jobMessages": [...], "nextPageToken"}, the messages q selects (its
 * after_seq is the page token's, which this reads), oldest first. */
enum em_code rn_jobs_messages(struct rn_jobs *jobs, const char *name, struct rn_message_query q,
                              const char *page_token, cJSON **reply, struct em_status *st);

/* GetJobMetrics: {"metricTime", "metrics": [...]}: ElementCount per step and user counters,
 * those whose updateTime is start_ns or later (INT64_MIN: all). A metric's updateTime is
 * when a report first saw its current value (rn_metric_report): never before its last
 * change, so "changed since start_ns" leaves no change out; metricTime is now. */
enum em_code rn_jobs_metrics(struct rn_jobs *jobs, const char *name, int64_t start_ns,
                             cJSON **reply, struct em_status *st);

/* Google's job id shape, "2026-12-02_20_44_05-1234567890123456789", for emulator time now. */
enum em_code rn_job_id_make(int64_t now_ns, char *out, size_t len, struct em_status *st);

#endif
