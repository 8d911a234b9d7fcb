/*
 * runner_io: where pipelines read and write.
 *
 * Text in `gs://bucket/object`: until a storage service exists, an object is the file
 * <data dir>/gcs/<bucket>/<object> (DESIGN section 5). ReadText takes a glob
 * (`gs://b/logs/x-*.txt`, wildcards of glob(3)) and reads lines in bundles; WriteText writes a
 * window's lines as shards <prefix>[-<window>]-SSSSS-of-NNNNN<suffix>, each written to a temporary
 * file and renamed, so a reader never sees a partial shard.
 *
 * Pub/Sub through the emulator's own Pub/Sub REST API (em_rest), acting as the job's
 * worker service account, with the job as the calling resource: pull, acknowledge,
 * publish, and the job's own subscription when a pipeline reads a topic.
 */
#ifndef RUNNER_IO_H
#define RUNNER_IO_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <glob.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The local file of a gs:// path (wildcards allowed in the object when glob is true);
 * INVALID_ARGUMENT naming field for anything that is not gs://<bucket>/<object>. */
enum em_code rn_gcs_path(const char *data_dir, const char *gs_path, const char *field, bool glob,
                         char *out, size_t len, struct em_status *st);

/* Whether suffix may end an output file's name: no '/', '\\', wildcard or control
 * character (a suffix "/../../x" would write outside the bucket). */
bool rn_valid_file_suffix(const char *suffix);

/* glob(3) of pattern (a local path from rn_gcs_path, wildcards taken as such: no escapes)
 * keeping only regular files that resolve inside <data_dir>/gcs, so no symbolic link,
 * device or FIFO is read. glob's result: 0, or GLOB_NOMATCH when none is left; globfree
 * out in both cases. */
int rn_gcs_glob(const char *data_dir, const char *pattern, glob_t *out);

/* Reads every line of every file matching pattern (a local path with wildcards, as
 * rn_gcs_glob keeps them), calling bundle(lines, arg) with up to bundle_size lines at a
 * time (an array of strings it takes). NOT_FOUND when no file matches. */
typedef enum em_code (*rn_lines_fn)(cJSON *lines, void *arg, struct em_status *st);
enum em_code rn_text_read(const char *data_dir, const char *pattern, size_t bundle_size,
                          rn_lines_fn bundle, void *arg, struct em_status *st);

/* The same for one file (path taken as it is, no wildcards). */
enum em_code rn_text_read_file(const char *path, size_t bundle_size, rn_lines_fn bundle, void *arg,
                               struct em_status *st);

/* Writes lines (an array of strings) as shards files; window: "" or a label put between
 * prefix and shard numbers. prefix is a local path. */
enum em_code rn_text_write(const char *prefix, const char *window, const char *suffix, int shards,
                           const cJSON *lines, struct em_status *st);

/* Another service of the stack a job calls (Pub/Sub, Bigtable, Spanner): its base URL
 * and who calls (the job's worker service account, the job as the calling resource). */
struct rn_peer {
    char base[256];
    const char *principal;
    const char *caller;
};

/* One REST call to a peer: name under version ("v1", "v2"), then ":verb" when given; the
 * reply's JSON (owned by the caller) when reply is not NULL. */
enum em_code rn_peer_call(const struct rn_peer *peer, const char *version, const char *method,
                          const char *name, const char *verb, const cJSON *body, cJSON **reply,
                          struct em_status *st);

struct rn_pubsub {
    char base[256];      /* "http://127.0.0.1:<pubsub port>" */
    char principal[256]; /* the job's worker service account */
    char caller[512];    /* the job's resource name */
};

/* Up to max messages (receivedMessages of the pull reply, owned by the caller). */
enum em_code rn_pubsub_pull(const struct rn_pubsub *ps, const char *subscription, int max,
                            cJSON **received, struct em_status *st);
enum em_code rn_pubsub_ack(const struct rn_pubsub *ps, const char *subscription,
                           const cJSON *ack_ids, struct em_status *st);
/* messages: an array of PubsubMessage objects (data base64). */
enum em_code rn_pubsub_publish(const struct rn_pubsub *ps, const char *topic, const cJSON *messages,
                               struct em_status *st);
/* Creates subscription on topic unless it exists. */
enum em_code rn_pubsub_subscribe(const struct rn_pubsub *ps, const char *topic,
                                 const char *subscription, struct em_status *st);

#endif
