/*
 * em_workers: a pool of threads for work that may block (a handler waiting for a store
 * job, a pull waiting for messages, a call to KMS). The HTTP threads hand such calls
 * over and go on serving other connections.
 *
 * The pool grows on demand: a job queued while no thread is idle starts a new one, up to
 * max_threads (beyond that jobs wait in the queue). Threads idle for a while exit, down
 * to none; so a pool costs nothing until it is used, and the number of threads follows
 * the number of calls waiting at once.
 */
#ifndef EM_WORKERS_H
#define EM_WORKERS_H

#include "em_status.h"

struct em_workers;

typedef void (*em_work_fn)(void *arg);

enum em_code em_workers_new(int max_threads, struct em_workers **out, struct em_status *st);

/* Queues fn(arg). Fails (RESOURCE_EXHAUSTED) only when memory runs out. */
enum em_code em_workers_submit(struct em_workers *w, em_work_fn fn, void *arg,
                               struct em_status *st);

/* Runs every queued job, waits for the threads to exit (their thread-specific destructors
 * included: what the jobs used may be freed next), frees the pool. */
void em_workers_free(struct em_workers *w);

#endif
