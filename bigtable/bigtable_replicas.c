/*
 * bigtable_replicas: the registry of table replicas and their encrypted files (see
 * bigtable_replicas.h).
 */
#include "bigtable_replicas.h"

#include "bigtable_cells.h"
#include "em_datastore.h"

#include <errno.h>
#include <limits.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct replica {
    char name[BT_NAME_MAX];
    struct em_datastore *data;
    struct replica *next;
};

struct bt_replicas {
    struct em_cmek *cmek;
    char dir[PATH_MAX];
    pthread_mutex_t lock; /* the lists; taken before a datastore's own locks */
    struct replica *list;
    /* shredded replicas: kept until close, since a call may still hold their datastore
     * (it then finds it shredded: NOT_FOUND) */
    struct replica *shredded;
};

enum em_code bt_replicas_open(struct em_cmek *cmek, const char *data_dir, struct bt_replicas **out,
                              struct em_status *st)
{
    *out = NULL;
    struct bt_replicas *reps = calloc(1, sizeof(*reps));
    if (!reps)
        return EM_FAIL_OOM(st);
    if (snprintf(reps->dir, sizeof(reps->dir), "%s/bigtable", data_dir) >= (int)sizeof(reps->dir)) {
        free(reps);
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "data directory path too long: %.200s...",
                       data_dir);
    }
    if (mkdir(reps->dir, 0700) != 0 && errno != EEXIST) {
        EM_FAIL(st, EM_INTERNAL, "cannot create %s: %s", reps->dir, strerror(errno));
        free(reps);
        return st->code;
    }
    reps->cmek = cmek;
    pthread_mutex_init(&reps->lock, NULL);
    *out = reps;
    return EM_OK;
}

void bt_replicas_set_engine(struct bt_replicas *reps, struct em_cmek *cmek)
{
    pthread_mutex_lock(&reps->lock);
    reps->cmek = cmek;
    pthread_mutex_unlock(&reps->lock);
}

static void free_list(struct replica *r)
{
    while (r) {
        struct replica *next = r->next;
        em_datastore_free(r->data);
        free(r);
        r = next;
    }
}

void bt_replicas_close(struct bt_replicas *reps)
{
    if (!reps)
        return;
    free_list(reps->list);
    free_list(reps->shredded);
    pthread_mutex_destroy(&reps->lock);
    free(reps);
}

void bt_replica_name(const char *table, const char *cluster_id, char out[BT_NAME_MAX])
{
    const char *tables = strstr(table, "/tables/");
    int instance_len = tables ? (int)(tables - table) : (int)strlen(table);
    snprintf(out, BT_NAME_MAX, "%.*s/clusters/%s%s", instance_len, table, cluster_id,
             tables ? tables : "");
}

static void file_path(const struct bt_replicas *reps, const char *replica, char out[PATH_MAX])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char hex[2 * SHA256_DIGEST_LENGTH + 1];
    SHA256((const unsigned char *)replica, strlen(replica), digest);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    if (snprintf(out, PATH_MAX, "%.3900s/%s.db", reps->dir, hex) >= PATH_MAX)
        out[0] = '\0';
}

static struct replica *find(struct bt_replicas *reps, const char *replica)
{
    for (struct replica *r = reps->list; r; r = r->next)
        if (strcmp(r->name, replica) == 0)
            return r;
    return NULL;
}

/* The replica's entry, made now if needed; under reps->lock. */
static struct replica *find_or_add(struct bt_replicas *reps, const char *replica,
                                   struct em_status *st)
{
    struct replica *r = find(reps, replica);
    if (r)
        return r;
    if (strlen(replica) >= BT_NAME_MAX || !(r = calloc(1, sizeof(*r)))) {
        EM_FAIL_OOM(st);
        free(r);
        return NULL;
    }
    snprintf(r->name, sizeof(r->name), "%s", replica);
    char path[PATH_MAX];
    file_path(reps, replica, path);
    if (em_datastore_new(reps->cmek, replica, path, &bt_cells_hooks, NULL, &r->data, st)) {
        free(r);
        return NULL;
    }
    r->next = reps->list;
    reps->list = r;
    return r;
}

enum em_code bt_replicas_protect(struct bt_replicas *reps, const char *replica, const char *project,
                                 const char *kms_key, struct em_status *st)
{
    if (em_cmek_protect(reps->cmek, replica, project, kms_key, st))
        return st->code;
    pthread_mutex_lock(&reps->lock);
    find_or_add(reps, replica, st);
    pthread_mutex_unlock(&reps->lock);
    return st->code;
}

enum em_code bt_replicas_shred(struct bt_replicas *reps, const char *replica, struct em_status *st)
{
    struct em_cmek_info info;
    bool known = em_cmek_info(reps->cmek, replica, &info);
    pthread_mutex_lock(&reps->lock);
    struct replica *r = known ? find_or_add(reps, replica, st) : find(reps, replica);
    if (r) {
        struct replica **link = &reps->list;
        while (*link != r)
            link = &(*link)->next;
        *link = r->next;
        r->next = reps->shredded;
        reps->shredded = r;
    }
    pthread_mutex_unlock(&reps->lock);
    if (!r)
        return st->code;
    return em_datastore_shred(r->data, known, st);
}

/* The datastore of a replica the engine knows; NOT_FOUND otherwise. */
static struct em_datastore *datastore(struct bt_replicas *reps, const char *replica,
                                      struct em_status *st)
{
    pthread_mutex_lock(&reps->lock);
    struct replica *r = find(reps, replica);
    if (!r) {
        struct em_cmek_info info;
        if (em_cmek_info(reps->cmek, replica, &info))
            r = find_or_add(reps, replica, st);
        else
            EM_FAIL(st, EM_NOT_FOUND, "Replica not found: %.400s", replica);
    }
    pthread_mutex_unlock(&reps->lock);
    return r ? r->data : NULL;
}

enum em_code bt_replicas_open_file(struct bt_replicas *reps, const char *replica,
                                   struct em_datafile **out, struct em_status *st)
{
    *out = NULL;
    struct em_datastore *ds = datastore(reps, replica, st);
    if (!ds)
        return st->code;
    return em_datastore_open(ds, out, st);
}

enum em_code bt_replicas_gate(struct bt_replicas *reps, const char *replica, struct em_status *st)
{
    struct em_datastore *ds = datastore(reps, replica, st);
    if (!ds)
        return st->code;
    return em_datastore_gate(ds, st);
}

void bt_replicas_state_changed(void *arg, const char *resource, enum em_cmek_state from,
                               enum em_cmek_state to)
{
    (void)from;
    struct bt_replicas *reps = arg;
    if (!reps)
        return;
    pthread_mutex_lock(&reps->lock);
    struct replica *r = find(reps, resource);
    if (r)
        em_datastore_state_changed(r->data, to);
    pthread_mutex_unlock(&reps->lock);
}

bool bt_replicas_info(struct bt_replicas *reps, const char *replica, struct em_cmek_info *out)
{
    return reps && reps->cmek && em_cmek_info(reps->cmek, replica, out);
}

/* --- backups --- */

enum em_code bt_replicas_protect_pinned(struct bt_replicas *reps, const char *name,
                                        const char *project, const char *kms_key,
                                        struct em_status *st)
{
    if (em_cmek_protect_pinned(reps->cmek, name, project, kms_key, st))
        return st->code;
    pthread_mutex_lock(&reps->lock);
    find_or_add(reps, name, st);
    pthread_mutex_unlock(&reps->lock);
    return st->code;
}

enum em_code bt_replicas_copy(struct bt_replicas *reps, const char *from, const char *to,
                              struct em_status *st)
{
    struct em_datastore *source = datastore(reps, from, st);
    struct em_datastore *target = source ? datastore(reps, to, st) : NULL;
    if (!target)
        return st->code;
    em_datastore_copy(source, target, st);
    if (strstr(from, "/backups/")) /* a backup's file is open only while it is copied */
        em_datastore_close(source);
    return st->code;
}

enum em_code bt_replicas_check_now(struct bt_replicas *reps, const char *name, struct em_status *st)
{
    if (em_cmek_check(reps->cmek, name, st))
        return st->code;
    return bt_replicas_gate(reps, name, st);
}

int64_t bt_replicas_file_size(struct bt_replicas *reps, const char *name)
{
    char path[PATH_MAX];
    struct stat sb;
    file_path(reps, name, path);
    return path[0] && stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}
