/*
 * kms_import: import jobs and imported key versions (ImportCryptoKeyVersion), on the
 * registry's lock like the rest of it (kms_registry.h).
 *
 * An import job is an RSA wrapping key pair (3072 or 4096 bits) made when the job is
 * created, with no lock held (kms_import_keypair), and kept for good: the API has no way
 * to delete one. It is ACTIVE for 3 days of emulator time, then EXPIRED; its private key
 * is sealed under the root key in metadata.db like key material.
 *
 * An import unwraps the material with the job's private key (read lock), checks it
 * against the algorithm (kms_material_import, no lock), then publishes it (write lock):
 *
 *   no target version  a new ENABLED version, numbered next; the key's primary when it
 *                      is a symmetric key without one (as a created version)
 *   target version     a version imported before, now DESTROYED or IMPORT_FAILED: the
 *                      same algorithm and the same material (its SHA-256, kept when the
 *                      material was erased) bring it back ENABLED, as Google's reimport
 *                      does
 *
 * Wrong arguments (no such job or key, an expired job, an algorithm for another purpose
 * or another version's, a protection level that differs) fail the call. What Google finds
 * only while it imports (material that does not unwrap, does not fit the algorithm, or
 * differs from what a reimported version held) leaves the version IMPORT_FAILED with that
 * reason (importFailureReason): reimport may then try again.
 *
 * Google's versions pass through PENDING_IMPORT first. Here they do under
 * --kms-generation-delay N: the outcome is decided when the call answers but the version
 * stays PENDING_IMPORT (not usable, no reason shown) for N seconds of emulator time, then
 * a tick makes it ENABLED (the primary of a symmetric key without one) or IMPORT_FAILED
 * (kms_import_finish). Without the flag the import is done when the call answers.
 */
#include "kms_registry.h"

#include "em_crypto.h"
#include "em_log.h"
#include "em_names.h"
#include "em_store.h"
#include "kms_errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- import jobs --- */

void kms_import_job_free(struct kms_import_job *job)
{
    if (!job)
        return;
    kms_material_erase(&job->wrapping);
    free(job->public_pem);
    free(job->name);
    free(job);
}

/* A copy without the private key (lock held); NULL when out of memory. */
static struct kms_import_job *job_copy(const struct kms_import_job *job)
{
    struct kms_import_job *copy = calloc(1, sizeof(*copy));
    if (!copy)
        return NULL;
    *copy = *job;
    copy->wrapping = (struct kms_material){0};
    copy->name = strdup(job->name);
    copy->public_pem = strdup(job->public_pem);
    if (!copy->name || !copy->public_pem) {
        kms_import_job_free(copy);
        return NULL;
    }
    return copy;
}

/* A new job and its key pair, not yet published (no lock held: RSA-4096 takes seconds). */
static enum em_code job_prepare(const char *name, const struct kms_import_method *method,
                                enum kms_protection protection, int64_t now,
                                struct kms_import_job **out, struct em_status *st)
{
    struct kms_import_job *job = calloc(1, sizeof(*job));
    if (!job)
        return EM_FAIL_OOM(st);
    job->method = method;
    job->protection = protection;
    job->create_ns = now;
    job->expire_ns = now + KMS_IMPORT_JOB_LIFETIME_NS;
    if (!(job->name = strdup(name)))
        EM_FAIL_OOM(st);
    else if (!kms_import_keypair(method, &job->wrapping, st))
        kms_public_key_pem(&job->wrapping, &job->public_pem, st);
    if (!job->public_pem) {
        kms_import_job_free(job);
        return st->code;
    }
    *out = job;
    return EM_OK;
}

static struct kms_import_job_row job_row_of(const struct kms_import_job *job)
{
    return (struct kms_import_job_row){
        job->name,      job->method,       job->protection,      job->create_ns,
        job->expire_ns, job->wrapping.raw, job->wrapping.raw_len};
}

/* Saves and inserts a prepared job (write lock held). */
static enum em_code job_publish(struct kms_registry *reg, struct kms_import_job *job,
                                struct em_status *st)
{
    char ring[512];
    if (!em_name_prefix(job->name, "keyRings", ring, sizeof(ring)))
        return KMS_ERR_INVALID_NAME(st, job->name);
    if (!kms_registry_find_ring(reg, ring))
        return KMS_ERR_KEY_RING_NOT_FOUND(st, ring);
    if (kms_registry_find_import_job(reg, job->name))
        return EM_FAIL(st, EM_ALREADY_EXISTS, "ImportJob %s already exists.", job->name);
    struct kms_import_job_row row = job_row_of(job);
    if (em_store_begin(reg->store, st))
        return st->code;
    if (kms_store_save_import_job(reg->store, reg->root_key, &row, st)) {
        em_store_rollback(reg->store);
        return st->code;
    }
    if (em_store_commit(reg->store, st))
        return st->code;
    return em_index_insert(&reg->import_jobs, job) ? EM_OK : EM_FAIL_OOM(st);
}

enum em_code kms_import_job_create(struct kms_registry *reg, const char *name,
                                   const struct kms_import_method *method,
                                   enum kms_protection protection, int64_t now,
                                   struct kms_import_job **out, struct em_status *st)
{
    struct kms_import_job *job = NULL;
    *out = NULL;
    if (kms_policy_check_level(reg->store, name, protection, "an import job", st) ||
        kms_policy_check_location(reg->store, name, "an import job", st) ||
        job_prepare(name, method, protection, now, &job, st))
        return st->code;
    kms_registry_write_lock(reg);
    enum em_code code = job_publish(reg, job, st);
    bool published = code == EM_OK;
    if (published && !(*out = job_copy(job)))
        code = EM_FAIL_OOM(st);
    kms_registry_unlock(reg);
    if (!published)
        kms_import_job_free(job); /* its private key wiped */
    return code;
}

enum em_code kms_import_job_from_row(struct kms_import_job_row *row, void *arg,
                                     struct em_status *st)
{
    struct kms_import_job *job = calloc(1, sizeof(*job));
    if (!job)
        return EM_FAIL_OOM(st);
    job->method = row->method;
    job->protection = row->protection;
    job->create_ns = row->create_ns;
    job->expire_ns = row->expire_ns;
    unsigned char *raw = row->private_key;
    row->private_key = NULL; /* kms_material_load takes it, even when it fails */
    const struct kms_algorithm rsa = {row->method->name, KMS_ASYMMETRIC_DECRYPT, KMS_ALG_RSA_OAEP,
                                      row->method->bits, row->method->digest,    NULL};
    enum em_code code = (job->name = strdup(row->name)) ? EM_OK : EM_FAIL_OOM(st);
    if (!code)
        code = kms_material_load(&rsa, raw, row->private_key_len, &job->wrapping, st);
    else if (raw) {
        em_wipe(raw, row->private_key_len);
        free(raw);
    }
    if (!code)
        code = kms_public_key_pem(&job->wrapping, &job->public_pem, st);
    if (!code && !em_index_insert(&((struct kms_registry *)arg)->import_jobs, job))
        code = EM_FAIL_OOM(st);
    if (code)
        kms_import_job_free(job);
    return code;
}

enum em_code kms_import_job_copy(struct kms_registry *reg, const char *name,
                                 struct kms_import_job **out, struct em_status *st)
{
    kms_registry_read_lock(reg);
    const struct kms_import_job *job = kms_registry_find_import_job(reg, name);
    *out = job ? job_copy(job) : NULL;
    kms_registry_unlock(reg);
    if (!job)
        return EM_FAIL(st, EM_NOT_FOUND, "ImportJob %s not found.", name);
    return *out ? EM_OK : EM_FAIL_OOM(st);
}

/* Whether name is "<key_ring>/importJobs/<id>". */
static bool in_ring(const char *name, const char *key_ring)
{
    size_t n = strlen(key_ring);
    return strncmp(name, key_ring, n) == 0 && strncmp(name + n, "/importJobs/", 12) == 0 &&
           !strchr(name + n + 12, '/');
}

enum em_code kms_import_job_list(struct kms_registry *reg, const char *key_ring,
                                 struct kms_import_job_list *out, struct em_status *st)
{
    *out = (struct kms_import_job_list){0};
    enum em_code code = EM_OK;
    kms_registry_read_lock(reg);
    if (!kms_registry_find_ring(reg, key_ring))
        code = KMS_ERR_KEY_RING_NOT_FOUND(st, key_ring);
    size_t from = em_index_lower_bound(&reg->import_jobs, key_ring);
    for (size_t i = from; !code && i < reg->import_jobs.count; i++) {
        const struct kms_import_job *job = reg->import_jobs.items[i];
        if (strncmp(job->name, key_ring, strlen(key_ring)) != 0)
            break;
        if (!in_ring(job->name, key_ring))
            continue;
        struct kms_import_job **grown = realloc(out->items, (out->count + 1) * sizeof(*grown));
        struct kms_import_job *copy = grown ? job_copy(job) : NULL;
        if (grown)
            out->items = grown;
        if (!copy)
            code = EM_FAIL_OOM(st);
        else
            out->items[out->count++] = copy;
    }
    kms_registry_unlock(reg);
    if (code)
        kms_import_job_list_free(out);
    return code;
}

void kms_import_job_list_free(struct kms_import_job_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        kms_import_job_free(list->items[i]);
    free(list->items);
    *list = (struct kms_import_job_list){0};
}

/* --- imported versions --- */

/* What an import checks before it unwraps (read lock held): the key and the algorithm's
 * purpose, the job, its state and protection level. */
static enum em_code check_import(struct kms_registry *reg, const struct kms_import_request *req,
                                 int64_t now, const struct kms_import_job **job,
                                 struct em_status *st)
{
    const struct kms_key *key = kms_registry_find_key(reg, req->key_name);
    if (!key)
        return KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, req->key_name);
    if (req->alg->purpose != key->purpose)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Algorithm %s is for purpose %s, but CryptoKey %s has purpose %s.",
                       req->alg->name, kms_purpose_name(req->alg->purpose), key->name,
                       kms_purpose_name(key->purpose));
    if (!(*job = kms_registry_find_import_job(reg, req->import_job)))
        return EM_FAIL(st, EM_NOT_FOUND, "ImportJob %s not found.", req->import_job);
    if (now >= (*job)->expire_ns)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "ImportJob %s is EXPIRED: an import job can be used for 3 days after it "
                       "is created.",
                       req->import_job);
    if ((*job)->protection != key->template_protection)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "ImportJob %s has protection level %s, but CryptoKey %s makes versions "
                       "of protection level %s: they must match.",
                       req->import_job, kms_protection_name((*job)->protection), key->name,
                       kms_protection_name(key->template_protection));
    return EM_OK;
}

/* The material of the request, unwrapped and checked against its algorithm. A wrong
 * argument fails the call (st); material that does not unwrap or fit is the import's
 * failure (failure: the version's importFailureReason), as in Google. */
static enum em_code unwrap_material(struct kms_registry *reg, const struct kms_import_request *req,
                                    int64_t now, struct kms_material *out,
                                    struct em_status *failure, struct em_status *st)
{
    const struct kms_import_job *job = NULL;
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    memset(out, 0, sizeof(*out));
    kms_registry_read_lock(reg);
    enum em_code code = check_import(reg, req, now, &job, st);
    if (!code && !kms_import_unwrap(job->method, &job->wrapping, req->wrapped, req->wrapped_len,
                                    &raw, &raw_len))
        EM_FAIL(failure, EM_INVALID_ARGUMENT,
                "The wrapped key does not unwrap with ImportJob %s: it must be wrapped with "
                "that job's public key as its import method %s says.",
                req->import_job, job->method->name);
    kms_registry_unlock(reg);
    if (code)
        return code;
    if (!failure->code)
        kms_material_import(req->alg, raw, raw_len, out, failure);
    if (raw) {
        em_wipe(raw, raw_len);
        free(raw);
    }
    if (failure->code != EM_INTERNAL) /* out of memory: the call's failure, not the import's */
        return EM_OK;
    *st = *failure;
    return st->code;
}

/* Whether a version ever held material (its digest is set). */
static bool had_material(const struct kms_version *v)
{
    static const unsigned char none[KMS_MATERIAL_DIGEST];
    return memcmp(v->material_digest, none, sizeof(none)) != 0;
}

/* The import's outcome on a version (write lock held): the material shared and ENABLED,
 * or, with a failure, no material and IMPORT_FAILED with its reason. */
static enum em_code import_outcome(struct kms_version *v, const struct kms_import_request *req,
                                   struct kms_material *m,
                                   const unsigned char digest[KMS_MATERIAL_DIGEST],
                                   const struct em_status *failure, int64_t now,
                                   struct em_status *st)
{
    snprintf(v->import_job, sizeof(v->import_job), "%s", req->import_job);
    v->import_ns = v->state == KMS_PENDING_IMPORT ? 0 : now; /* set when it is done */
    snprintf(v->failure_reason, sizeof(v->failure_reason), "%.*s",
             (int)sizeof(v->failure_reason) - 1, failure->code ? failure->message : "");
    if (failure->code)
        return EM_OK;
    memcpy(v->material_digest, digest, KMS_MATERIAL_DIGEST);
    v->alg = req->alg;
    return (v->material = kms_material_share(m)) ? EM_OK : EM_FAIL_OOM(st);
}

/* The state an import leaves a version in: PENDING_IMPORT under --kms-generation-delay,
 * else its outcome. */
static enum kms_state import_state(const struct kms_registry *reg, const struct em_status *failure)
{
    if (reg->generation_ns > 0)
        return KMS_PENDING_IMPORT;
    return failure->code ? KMS_IMPORT_FAILED : KMS_ENABLED;
}

/* Puts material back into a version imported before (write lock held). */
static enum em_code reimport(struct kms_registry *reg, struct kms_key *key,
                             const struct kms_import_request *req, struct kms_material *m,
                             const unsigned char digest[KMS_MATERIAL_DIGEST],
                             struct em_status *failure, int64_t now, uint32_t *id,
                             struct em_status *st)
{
    struct kms_key *owner;
    struct kms_version *v;
    if (kms_registry_find_version(reg, req->target_version, &owner, &v, st))
        return st->code;
    if (owner != key)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "CryptoKeyVersion %.300s is not a version of CryptoKey %s.",
                       req->target_version, key->name);
    if (!v->import_job[0])
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "%.300s was not imported: only imported versions can be reimported.",
                       req->target_version);
    if (v->state != KMS_DESTROYED && v->state != KMS_IMPORT_FAILED)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "%.300s is in state %s; reimport needs a version in state DESTROYED or "
                       "IMPORT_FAILED.",
                       req->target_version, kms_state_name(v->state));
    if (v->alg != req->alg)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "The algorithm must match %.300s's previous one exactly (%s, not %s).",
                       req->target_version, v->alg->name, req->alg->name);
    if (!failure->code && had_material(v) &&
        memcmp(v->material_digest, digest, KMS_MATERIAL_DIGEST) != 0)
        EM_FAIL(failure, EM_FAILED_PRECONDITION,
                "The key material must match the material %.300s held before exactly.",
                req->target_version);
    struct kms_version changed = *v;
    kms_version_change_state(reg, &changed, import_state(reg, failure), now);
    changed.generate_ns = reg->generation_ns > 0 ? now + reg->generation_ns : 0;
    changed.destroy_ns = changed.destroy_event_ns = 0;
    changed.material = NULL;
    if (import_outcome(&changed, req, m, digest, failure, now, st))
        return st->code;
    if (kms_registry_save(reg, key, false, &changed, st)) {
        kms_material_put(changed.material);
        return st->code;
    }
    *v = changed;
    *id = v->id;
    return EM_OK;
}

/* A new version of the material, or IMPORT_FAILED (write lock held). */
static enum em_code import_new(struct kms_registry *reg, struct kms_key *key,
                               const struct kms_import_request *req, struct kms_material *m,
                               const unsigned char digest[KMS_MATERIAL_DIGEST],
                               const struct em_status *failure, int64_t now, uint32_t *id,
                               struct em_status *st)
{
    struct kms_version *v = calloc(1, sizeof(*v));
    if (!v)
        return EM_FAIL_OOM(st);
    enum kms_state state = import_state(reg, failure);
    *v = (struct kms_version){
        .id = key->version_count + 1,
        .state = state,
        .prior_state = state,
        .state_changed_ns = now,
        .alg = req->alg,
        .protection = key->template_protection,
        .create_ns = now,
        .generate_ns = state == KMS_PENDING_IMPORT ? now + reg->generation_ns : 0,
    };
    if (import_outcome(v, req, m, digest, failure, now, st)) {
        free(v);
        return st->code;
    }
    bool make_primary =
        state == KMS_ENABLED && key->purpose == KMS_ENCRYPT_DECRYPT && key->primary == 0;
    if (kms_version_attach(reg, key, v, make_primary, st)) {
        kms_version_free(v);
        return st->code;
    }
    *id = v->id;
    return EM_OK;
}

enum em_code kms_import_finish(struct kms_registry *reg, struct kms_key *key, struct kms_version *v,
                               struct em_status *st)
{
    bool imported = !v->failure_reason[0];
    int64_t at = v->generate_ns;
    struct kms_version changed = *v;
    kms_version_change_state(reg, &changed, imported ? KMS_ENABLED : KMS_IMPORT_FAILED, at);
    changed.generate_ns = 0;
    changed.import_ns = at;
    uint32_t primary = key->primary;
    bool make_primary = imported && key->purpose == KMS_ENCRYPT_DECRYPT && key->primary == 0;
    if (make_primary)
        key->primary = v->id;
    if (kms_registry_save(reg, key, make_primary, &changed, st)) {
        key->primary = primary;
        return st->code;
    }
    *v = changed;
    return EM_OK;
}

enum em_code kms_version_import(struct kms_registry *reg, const struct kms_import_request *req,
                                int64_t now, struct kms_version_view *out, struct em_status *st)
{
    struct kms_material m;
    struct em_status failure = {0};
    unsigned char digest[KMS_MATERIAL_DIGEST] = {0};
    if (out)
        *out = (struct kms_version_view){0};
    /* a new version (not a re-import into an existing one) must be in an allowed location */
    if (!req->target_version &&
        kms_policy_check_location(reg->store, req->key_name, "a key version", st))
        return st->code;
    if (unwrap_material(reg, req, now, &m, &failure, st))
        return st->code;
    if (!failure.code)
        kms_material_digest(&m, digest);
    uint32_t id = 0;
    kms_registry_write_lock(reg);
    struct kms_key *key = kms_registry_find_key(reg, req->key_name); /* found again: a reset */
    enum em_code code = !key ? KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, req->key_name)
                        : req->target_version
                            ? reimport(reg, key, req, &m, digest, &failure, now, &id, st)
                            : import_new(reg, key, req, &m, digest, &failure, now, &id, st);
    if (!code)
        code = kms_version_give_view(key, id, out, st);
    kms_registry_unlock(reg);
    kms_material_erase(&m); /* a no-op once shared */
    if (!code && failure.code)
        em_info("kms: %s/cryptoKeyVersions/%u IMPORT_FAILED%s: %s", req->key_name, id,
                reg->generation_ns > 0 ? " (after PENDING_IMPORT)" : "", failure.message);
    else if (!code)
        em_info("kms: %s/cryptoKeyVersions/%u imported with %s", req->key_name, id,
                req->import_job);
    return code;
}
