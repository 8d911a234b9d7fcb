/*
 * runner_engine: executes one job's pipeline, on the job's own thread and its workers.
 *
 * Bundles: a text source (ReadText) reads its files 10,000 lines at a time (in a batch
 * job, the job's thread reads and up to one worker thread per core, at most 4, runs the
 * bundles, each worker with its own pending accumulators); a Pub/Sub source is pulled by
 * one worker thread per core (at most 4), each pulling up to 500 messages at a time and
 * running its bundle to its acknowledgement; a watched ReadText polls its pattern every
 * `watch` of emulator time and reads each new file once, then records it as read in the
 * job's state (so a restart does not read it again). Each bundle runs through the
 * stateless steps at once, folds into the grouping steps' accumulators (runner_state),
 * and is then committed in one transaction of the job's encrypted state file (the CMEK
 * gate is passed for every bundle): pending accumulators merged, windows the watermark
 * passed emitted downstream and removed, WritePubSub outputs published, WriteText
 * windows written. Only after that commit are the bundle's Pub/Sub messages acknowledged:
 * at least once, never lost. A batch job (whose windows all close at the end) keeps its
 * accumulators in memory across bundles, as Dataflow's combiner lifting does, and merges
 * them into the state file once its input is read, or earlier when a worker's pass 128 MiB;
 * each bundle still passes the CMEK gate. A batch job the runner's restart interrupted
 * starts again from its input, with its state file cleared.
 *
 * Watermark: a batch job's is -infinity until its input is read, then +infinity (every
 * window closes once). A streaming job's follows the emulator clock, held back by its
 * Pub/Sub sources (as Dataflow estimates it): each worker's is the oldest event time among
 * the messages it just pulled, or the pull's time less half a second, and never moves
 * back; the job's is the least of them and of the oldest element of each bundle still in
 * flight. A fixed window [s, e) closes at the first bundle
 * or idle poll once that passed e, so a test advances the clock to close windows. An
 * element whose window ended more than allowedLateness before the watermark as it stood
 * before its bundle is late and dropped (the step's "dropped" counter): a message older
 * than what earlier pulls already saw, never an on-time one or a backlog.
 *
 * Ends: a batch job ends DONE when its input is read and every window closed; a streaming
 * one runs until cancelled (stops at once) or drained (stops pulling, closes every
 * window, then DRAINED). A key KMS refuses (the gate's FAILED_PRECONDITION) or a
 * failure of a source or sink ends the job FAILED with the reason. While KMS is
 * unreachable past the grace period (the gate's UNAVAILABLE) the job waits. While the
 * job's project is deleted (README "Deleting a project") the job waits too, as a shut-down
 * project's workers stop: no pull, no commit, a note in the job's log; it goes on where
 * it was once the project is restored.
 *
 * Sinks (WriteBigtable, WriteSpanner, runner_sinks.h): each element is mapped to its row
 * when the bundle runs (one that cannot be goes to the step's dead-letter output); the
 * rows are written in the commit, with the WritePubSub outputs, before the acknowledgement.
 */
#ifndef RUNNER_ENGINE_H
#define RUNNER_ENGINE_H

#include "runner_io.h"
#include "runner_pipeline.h"

#include "em_status.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct em_datastore;
struct em_datastore_hooks;
struct rn_envelope;

/* SHUTDOWN: the runner process stops; the job stays RUNNING and resumes at the next start. */
enum rn_stop { RN_STOP_NONE, RN_STOP_CANCEL, RN_STOP_DRAIN, RN_STOP_SHUTDOWN };
enum rn_outcome { RN_OUTCOME_DONE, RN_OUTCOME_CANCELLED, RN_OUTCOME_DRAINED, RN_OUTCOME_FAILED };

#define RN_USER_COUNTERS_MAX 32

/* What GetJobMetrics last reported of one metric: the value, and the emulator time it was
 * first reported at that value (the metric's updateTime; 0: never reported). */
struct rn_metric_seen {
    int64_t value;
    int64_t since_ns;
};

/* The job's counters. The engine only adds to them (no clock read per element); a report
 * (rn_metric_report) dates each one, so that a counter's updateTime is never earlier than
 * its last change: at worst it is the first report after it. */
struct rn_metrics {
    pthread_mutex_t lock;
    int64_t elements[RN_STEPS_MAX]; /* output elements of each step */
    struct rn_metric_seen elements_seen[RN_STEPS_MAX];
    struct {
        char name[64];
        char step[RN_STEP_NAME_MAX];
        int64_t value;
        struct rn_metric_seen seen;
    } user[RN_USER_COUNTERS_MAX];
    int user_count;
};

struct rn_run {
    /* set by the caller */
    const struct rn_pipeline *pipeline;
    struct em_datastore *state; /* the job's encrypted state */
    const char *data_dir;       /* for gs:// paths */
    const char *job_id;         /* names the job's own subscriptions */
    const char *project;        /* of the job: subscriptions it creates */
    struct rn_pubsub pubsub;
    /* the sinks' services (runner_sinks.h) */
    char bigtable_url[256], spanner_url[256];
    atomic_int stop; /* enum rn_stop, set by cancel or drain */
    struct rn_metrics *metrics;
    /* DecryptEnvelope/VerifySignature's KMS context and key cache (rn_engine_run makes it
     * when the pipeline has such a step; a test may set its own) */
    struct rn_envelope *envelope;
    /* a note for the job's log (JobMessage), importance 1..5 */
    void (*message)(void *arg, int importance, const char *text);
    void *message_arg;
    struct rn_sinks *sinks; /* the engine's, while it runs */
    /* the outcome */
    struct em_status failure; /* why, for RN_OUTCOME_FAILED */
};

void rn_metrics_init(struct rn_metrics *m);
void rn_metrics_destroy(struct rn_metrics *m);
/* Reports a counter's value at now (under the metrics' lock) and returns its updateTime:
 * now when the value differs from the one reported last, or none was; else the time that
 * value was first reported. */
int64_t rn_metric_report(struct rn_metric_seen *seen, int64_t value, int64_t now);

enum rn_outcome rn_engine_run(struct rn_run *run);

/* The hooks to create a job's state datastore with (em_datastore_new). */
extern const struct em_datastore_hooks rn_state_hooks;

#endif
