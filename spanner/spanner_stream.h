/*
 * spanner_stream: rows handed from a statement's job, on the database's writer thread, to
 * the thread of the call that streams them (executeStreamingSql, streamingRead), while
 * the statement runs: the first rows reach the client before the last are read, a slow
 * client holds up no other call to the database (the writer never waits for it), and
 * only the rows not yet sent are kept.
 *
 *   caller thread                          writer thread (the job)
 *   sp_stream_run: submit the job   --->   collect_rows: every chunk of rows
 *     wait for a chunk or the end   <---     sp_stream_push (fails once the caller
 *     sink->chunk(chunk)                     stopped, or past SP_STREAM_BACKLOG_MAX)
 *     ...                           <---   the job ends
 *   the job's status
 *
 * Internal to spanner_exec.c.
 */
#ifndef SPANNER_STREAM_H
#define SPANNER_STREAM_H

#include "em_status.h"
#include "spanner_data.h"
#include "spanner_exec.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* The most rows' bytes (as stored) queued and not yet sent: a client that reads slower
 * than this makes the statement stop with RESOURCE_EXHAUSTED. */
#define SP_STREAM_BACKLOG_MAX (256L * 1024 * 1024)

struct sp_stream;

/* NULL when out of memory. */
struct sp_stream *sp_stream_new(const struct sp_row_sink *sink);
void sp_stream_free(struct sp_stream *s);

/* Writer thread: queues a chunk (what it holds taken; bytes: its rows' size as stored).
 * CANCELLED once the caller stopped reading, RESOURCE_EXHAUSTED past the backlog: the job
 * then stops. */
enum em_code sp_stream_push(struct sp_stream *s, struct sp_row_chunk *chunk, size_t bytes,
                            struct em_status *st);

/* Caller thread: runs fn(arg) as a job on db and hands each chunk to the sink, in order,
 * while it runs. st: the job's status. *sink_code: the sink's first failure (the job is
 * told to stop and what it queues after is dropped), EM_OK when none. */
enum em_code sp_stream_run(struct sp_stream *s, struct sp_db *db, sp_job_fn fn, void *arg,
                           enum em_code *sink_code, struct em_status *st);

#endif
