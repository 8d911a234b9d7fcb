/*
 * runner_io: text files under <data dir>/gcs and Pub/Sub over REST (see runner_io.h).
 */
#include "runner_io.h"

#include "em_rest.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bucket names: 3 to 63 lowercase letters, digits, '-', '_' and '.'. */
static bool valid_bucket(const char *bucket, size_t len)
{
    if (len < 3 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!islower((unsigned char)bucket[i]) && !isdigit((unsigned char)bucket[i]) &&
            !strchr("-_.", bucket[i]))
            return false;
    return bucket[0] != '.';
}

/* A segment glob(3) may expand to "." or "..": one starting with '.' and holding a
 * wildcard (".*", "..*", ".?" all match ".."), which would lead out of the bucket: a
 * ReadText of gs://b/ then "..*" twice then kms-root.key read the data directory's root
 * key. */
static bool dot_wildcard(const char *seg, size_t len)
{
    if (seg[0] != '.')
        return false;
    for (size_t i = 0; i < len; i++)
        if (strchr("*?[", seg[i]))
            return true;
    return false;
}

/* Objects: no empty, "." or ".." segment, none that a glob expands to one, no control
 * character, no backslash (glob(3) reads "\\.\\." as ".."); wildcards only in a glob. */
static bool valid_object(const char *object, bool glob)
{
    if (!*object)
        return false;
    for (const char *seg = object; seg;) {
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && !strncmp(seg, "..", 2)) ||
            dot_wildcard(seg, len))
            return false;
        seg = end ? end + 1 : NULL;
    }
    for (const char *c = object; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == '\\' || (!glob && strchr("*?[", *c)))
            return false;
    return true;
}

bool rn_valid_file_suffix(const char *suffix)
{
    for (const char *c = suffix ? suffix : ""; *c; c++)
        if ((unsigned char)*c < 0x20 || strchr("/\\*?[", *c))
            return false;
    return true;
}

/* Whether path is a regular file inside root (both resolved: no symbolic link leads out,
 * no device or FIFO is read). */
static bool inside(const char *root, const char *path)
{
    char real_root[PATH_MAX], real[PATH_MAX];
    struct stat sb;
    if (!realpath(root, real_root) || !realpath(path, real) || stat(real, &sb) != 0 ||
        !S_ISREG(sb.st_mode))
        return false;
    size_t n = strlen(real_root);
    return strncmp(real, real_root, n) == 0 && real[n] == '/';
}

int rn_gcs_glob(const char *data_dir, const char *pattern, glob_t *out)
{
    char root[PATH_MAX];
    snprintf(root, sizeof(root), "%s/gcs", data_dir);
    int rc = glob(pattern, GLOB_NOESCAPE, NULL, out);
    if (rc != 0)
        return rc;
    size_t kept = 0;
    for (size_t i = 0; i < out->gl_pathc; i++) {
        if (inside(root, out->gl_pathv[i]))
            out->gl_pathv[kept++] = out->gl_pathv[i];
        else
            free(out->gl_pathv[i]);
    }
    for (size_t i = kept; i < out->gl_pathc; i++)
        out->gl_pathv[out->gl_offs + i] = NULL;
    out->gl_pathc = kept;
    return kept ? 0 : GLOB_NOMATCH;
}

enum em_code rn_gcs_path(const char *data_dir, const char *gs_path, const char *field, bool glob,
                         char *out, size_t len, struct em_status *st)
{
    const char *slash =
        gs_path && strncmp(gs_path, "gs://", 5) == 0 ? strchr(gs_path + 5, '/') : NULL;
    if (!slash || !valid_bucket(gs_path + 5, (size_t)(slash - gs_path - 5)) ||
        !valid_object(slash + 1, glob))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "%s must be a Cloud Storage path gs://<bucket>/<object>, not '%s'.", field,
                       gs_path ? gs_path : "");
    if ((size_t)snprintf(out, len, "%s/gcs/%s", data_dir, gs_path + 5) >= len)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s is too long.", field);
    return EM_OK;
}

/* --- text --- */

static enum em_code flush_lines(cJSON **lines, rn_lines_fn bundle, void *arg, struct em_status *st)
{
    cJSON *full = *lines;
    *lines = cJSON_CreateArray();
    if (!*lines) {
        cJSON_Delete(full);
        return EM_FAIL_OOM(st);
    }
    return bundle(full, arg, st);
}

static enum em_code read_file(const char *path, size_t bundle_size, cJSON **lines,
                              rn_lines_fn bundle, void *arg, struct em_status *st)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return EM_FAIL(st, EM_NOT_FOUND, "Cannot read input file: %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0, count = (size_t)cJSON_GetArraySize(*lines); /* (counting is O(n)) */
    ssize_t n;
    while (!st->code && (n = getline(&line, &cap, f)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        cJSON *item = cJSON_CreateString(line);
        if (!item) {
            EM_FAIL_OOM(st);
            break;
        }
        cJSON_AddItemToArray(*lines, item);
        if (++count >= bundle_size) {
            flush_lines(lines, bundle, arg, st);
            count = 0;
        }
    }
    free(line);
    fclose(f);
    return st->code;
}

enum em_code rn_text_read_file(const char *path, size_t bundle_size, rn_lines_fn bundle, void *arg,
                               struct em_status *st)
{
    cJSON *lines = cJSON_CreateArray();
    if (!lines)
        return EM_FAIL_OOM(st);
    if (!read_file(path, bundle_size, &lines, bundle, arg, st) && cJSON_GetArraySize(lines) > 0)
        return bundle(lines, arg, st);
    cJSON_Delete(lines);
    return st->code;
}

enum em_code rn_text_read(const char *data_dir, const char *pattern, size_t bundle_size,
                          rn_lines_fn bundle, void *arg, struct em_status *st)
{
    glob_t g;
    if (rn_gcs_glob(data_dir, pattern, &g) != 0) {
        globfree(&g);
        return EM_FAIL(st, EM_NOT_FOUND, "No file matches the input pattern.");
    }
    cJSON *lines = cJSON_CreateArray();
    if (!lines)
        EM_FAIL_OOM(st);
    for (size_t i = 0; lines && !st->code && i < g.gl_pathc; i++)
        read_file(g.gl_pathv[i], bundle_size, &lines, bundle, arg, st);
    globfree(&g);
    if (!st->code && cJSON_GetArraySize(lines) > 0)
        return bundle(lines, arg, st);
    cJSON_Delete(lines);
    return st->code;
}

/* mkdir -p of path's directory. */
static enum em_code make_parents(const char *path, struct em_status *st)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return EM_FAIL(st, EM_INTERNAL, "Cannot create an output directory: %s",
                           strerror(errno));
        *p = '/';
    }
    return EM_OK;
}

static enum em_code write_shard(const char *path, const cJSON *lines, int shard, int shards,
                                struct em_status *st)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return EM_FAIL(st, EM_INTERNAL, "Cannot write an output file: %s", strerror(errno));
    int i = 0;
    const cJSON *line;
    cJSON_ArrayForEach(line, lines)
    {
        if (i++ % shards == shard && cJSON_IsString(line))
            fprintf(f, "%s\n", line->valuestring);
    }
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return EM_FAIL(st, EM_INTERNAL, "Cannot write an output file: %s", strerror(errno));
    }
    return EM_OK;
}

enum em_code rn_text_write(const char *prefix, const char *window, const char *suffix, int shards,
                           const cJSON *lines, struct em_status *st)
{
    if (make_parents(prefix, st))
        return st->code;
    for (int shard = 0; shard < shards; shard++) {
        char path[PATH_MAX];
        if (!rn_valid_file_suffix(suffix))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "An output file suffix cannot hold '/', '\\', wildcards or control "
                           "characters.");
        if ((size_t)snprintf(path, sizeof(path), "%s%s%s-%05d-of-%05d%s", prefix,
                             *window ? "-" : "", window, shard, shards,
                             suffix ? suffix : "") >= sizeof(path))
            return EM_FAIL(st, EM_INVALID_ARGUMENT, "An output path is too long.");
        if (write_shard(path, lines, shard, shards, st))
            return st->code;
    }
    return EM_OK;
}

/* --- Pub/Sub --- */

/* --- the stack's services over REST --- */

enum em_code rn_peer_call(const struct rn_peer *peer, const char *version, const char *method,
                          const char *name, const char *verb, const cJSON *body, cJSON **reply,
                          struct em_status *st)
{
    struct em_rest_url url;
    em_rest_url_init(&url, peer->base);
    em_rest_url_segment(&url, version);
    em_rest_url_name(&url, name);
    if (verb)
        em_rest_url_verb(&url, verb);
    struct em_rest_request req = {.method = method,
                                  .url = em_rest_url_text(&url),
                                  .json = body,
                                  .principal = peer->principal,
                                  .caller = peer->caller,
                                  .timeout_ms = 30000,
                                  .connect_retry_ms = 2000};
    struct em_rest_reply r = {0};
    em_rest_call(&req, &r);
    if (r.status.code) {
        *st = r.status;
    } else if (reply) {
        *reply = r.json;
        r.json = NULL;
    }
    em_rest_reply_clear(&r);
    return st->code;
}

/* A call to Pub/Sub v1 as the job. */
static enum em_code call(const struct rn_pubsub *ps, const char *method, const char *name,
                         const char *verb, const cJSON *body, cJSON **reply, struct em_status *st)
{
    struct rn_peer peer = {.principal = ps->principal, .caller = ps->caller};
    snprintf(peer.base, sizeof(peer.base), "%s", ps->base);
    return rn_peer_call(&peer, "v1", method, name, verb, body, reply, st);
}

enum em_code rn_pubsub_pull(const struct rn_pubsub *ps, const char *subscription, int max,
                            cJSON **received, struct em_status *st)
{
    *received = NULL;
    cJSON *body = cJSON_CreateObject();
    cJSON_AddNumberToObject(body, "maxMessages", max);
    cJSON_AddBoolToObject(body, "returnImmediately", true);
    cJSON *reply = NULL;
    call(ps, "POST", subscription, "pull", body, &reply, st);
    cJSON_Delete(body);
    if (!st->code) {
        *received = cJSON_DetachItemFromObjectCaseSensitive(reply, "receivedMessages");
        if (!*received)
            *received = cJSON_CreateArray();
    }
    cJSON_Delete(reply);
    return st->code;
}

enum em_code rn_pubsub_ack(const struct rn_pubsub *ps, const char *subscription,
                           const cJSON *ack_ids, struct em_status *st)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "ackIds", cJSON_Duplicate(ack_ids, true));
    call(ps, "POST", subscription, "acknowledge", body, NULL, st);
    cJSON_Delete(body);
    return st->code;
}

enum em_code rn_pubsub_publish(const struct rn_pubsub *ps, const char *topic, const cJSON *messages,
                               struct em_status *st)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddItemToObject(body, "messages", cJSON_Duplicate(messages, true));
    call(ps, "POST", topic, "publish", body, NULL, st);
    cJSON_Delete(body);
    return st->code;
}

enum em_code rn_pubsub_subscribe(const struct rn_pubsub *ps, const char *topic,
                                 const char *subscription, struct em_status *st)
{
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "topic", topic);
    cJSON_AddNumberToObject(body, "ackDeadlineSeconds", 60);
    call(ps, "PUT", subscription, NULL, body, NULL, st);
    cJSON_Delete(body);
    if (st->code == EM_ALREADY_EXISTS)
        em_status_clear(st);
    return st->code;
}
