/*
 * kms_registry: the registry of key rings, crypto keys and versions, in memory, written
 * through to metadata.db on every change (one transaction per change; memory is updated
 * only after the commit succeeds, so the two never disagree). At open it builds its
 * objects from the store's rows (kms_store.h). Changes live in kms_keys.c and
 * kms_versions.c; what the three share is kms_registry.h.
 *
 * Locking: one process-wide rwlock, taken in the registry's files and nowhere else:
 * lookups read, changes write. Callers never see the registry's objects: they get copies
 * (kms_key_copy, lists, views for replies) or, for cryptographic calls, a version held
 * by reference (kms_version_get/_put): a copy of its state and a reference to its key
 * material, so the cryptography runs with no lock held and a version destroyed meanwhile
 * is erased when the last call using it ends. Key generation (a create, a new version, a
 * rotation) also runs with no lock held; the result is checked and published under the
 * write lock, so a slow RSA-4096 key never stalls other calls.
 */
#include "kms_registry.h"

#include "em_crypto.h"
#include "em_log.h"
#include "em_iam.h"
#include "em_names.h"
#include "em_orgpolicy.h"
#include "em_store.h"
#include "kms_errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kms_registry_read_lock(struct kms_registry *reg)
{
    pthread_rwlock_rdlock(&reg->lock);
}

void kms_registry_write_lock(struct kms_registry *reg)
{
    pthread_rwlock_wrlock(&reg->lock);
}

void kms_registry_unlock(struct kms_registry *reg)
{
    pthread_rwlock_unlock(&reg->lock);
}

/* --- key material, shared by reference --- */

/* Moves *m into a new shared material with one reference; NULL (m erased) when out of
 * memory. */
struct kms_shared_material *kms_material_share(struct kms_material *m)
{
    struct kms_shared_material *shared = malloc(sizeof(*shared));
    if (!shared) {
        kms_material_erase(m);
        return NULL;
    }
    atomic_init(&shared->refs, 1);
    shared->m = *m;
    memset(m, 0, sizeof(*m));
    return shared;
}

static void material_ref(struct kms_shared_material *shared)
{
    if (shared)
        atomic_fetch_add_explicit(&shared->refs, 1, memory_order_relaxed);
}

void kms_material_put(struct kms_shared_material *shared)
{
    if (shared && atomic_fetch_sub_explicit(&shared->refs, 1, memory_order_acq_rel) == 1) {
        kms_material_erase(&shared->m);
        free(shared);
    }
}

/* --- objects and their copies --- */

void kms_version_free(struct kms_version *v)
{
    if (!v)
        return;
    kms_material_put(v->material);
    free(v);
}

void kms_key_free(struct kms_key *key)
{
    if (!key)
        return;
    for (uint32_t i = 0; i < key->version_count; i++)
        kms_version_free(key->versions[i]);
    free(key->versions);
    free(key->labels_json);
    free(key->name);
    free(key);
}

void kms_key_ring_free(struct kms_key_ring *ring)
{
    if (!ring)
        return;
    free(ring->name);
    free(ring);
}

struct kms_key_ring *kms_key_ring_dup(const struct kms_key_ring *ring)
{
    struct kms_key_ring *copy = calloc(1, sizeof(*copy));
    if (!copy || !(copy->name = strdup(ring->name))) {
        free(copy);
        return NULL;
    }
    copy->create_ns = ring->create_ns;
    return copy;
}

/* A deep copy of key and its versions, without key material (lock held); NULL when out
 * of memory. */
static struct kms_key *key_copy(const struct kms_key *key)
{
    struct kms_key *copy = calloc(1, sizeof(*copy));
    if (!copy)
        return NULL;
    *copy = *key;
    copy->version_count = 0;
    copy->labels_json = strdup(key->labels_json);
    copy->name = strdup(key->name);
    copy->versions = calloc(key->version_count ? key->version_count : 1, sizeof(*copy->versions));
    if (!copy->labels_json || !copy->name || !copy->versions) {
        kms_key_free(copy);
        return NULL;
    }
    for (uint32_t i = 0; i < key->version_count; i++) {
        struct kms_version *v = malloc(sizeof(*v));
        if (!v) {
            kms_key_free(copy);
            return NULL;
        }
        *v = *key->versions[i];
        v->material = NULL;
        copy->versions[copy->version_count++] = v;
    }
    return copy;
}

/* Sets *out to a copy of key (lock held), unless out is NULL. */
enum em_code kms_key_give_copy(const struct kms_key *key, struct kms_key **out,
                               struct em_status *st)
{
    if (out && !(*out = key_copy(key)))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

void kms_version_view_free(struct kms_version_view *view)
{
    kms_key_free(view->key);
    view->key = NULL;
    view->version = NULL;
}

/* A view of version id of key (lock held), unless out is NULL. */
enum em_code kms_version_give_view(const struct kms_key *key, uint32_t id,
                                   struct kms_version_view *out, struct em_status *st)
{
    if (!out)
        return EM_OK;
    if (!(out->key = key_copy(key)))
        return EM_FAIL_OOM(st);
    out->version = kms_version_find(out->key, id);
    return EM_OK;
}

/* --- lookups (lock held) --- */

struct kms_key_ring *kms_registry_find_ring(struct kms_registry *reg, const char *name)
{
    return em_index_find(&reg->rings, name);
}

struct kms_key *kms_registry_find_key(struct kms_registry *reg, const char *name)
{
    return em_index_find(&reg->keys, name);
}

struct kms_import_job *kms_registry_find_import_job(struct kms_registry *reg, const char *name)
{
    return em_index_find(&reg->import_jobs, name);
}

struct kms_version *kms_version_find(const struct kms_key *key, uint32_t id)
{
    return id >= 1 && id <= key->version_count ? key->versions[id - 1] : NULL;
}

void kms_version_name(const struct kms_key *key, const struct kms_version *v, char *out, size_t len)
{
    snprintf(out, len, "%s/cryptoKeyVersions/%u", key->name, v->id);
}

bool kms_version_id_parse(const char *text, uint32_t *id)
{
    if (!text || text[0] < '1' || text[0] > '9') /* digits only, no sign, no leading zero */
        return false;
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (*end || v > UINT32_MAX)
        return false;
    *id = (uint32_t)v;
    return true;
}

/* Parses "<key>/cryptoKeyVersions/<n>" and finds the key and version. */
enum em_code kms_registry_find_version(struct kms_registry *reg, const char *version_name,
                                       struct kms_key **key, struct kms_version **version,
                                       struct em_status *st)
{
    char key_name[512], id_text[32];
    if (!em_name_prefix(version_name, "cryptoKeys", key_name, sizeof(key_name)) ||
        !em_name_id(version_name, "cryptoKeyVersions", id_text, sizeof(id_text)))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid CryptoKeyVersion name \"%.200s\".",
                       version_name);
    *key = kms_registry_find_key(reg, key_name);
    if (!*key)
        return KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, key_name);
    uint32_t id;
    if (!kms_version_id_parse(id_text, &id))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid CryptoKeyVersion id \"%.40s\": versions are numbered from 1.",
                       id_text);
    *version = kms_version_find(*key, id);
    if (!*version)
        return KMS_ERR_VERSION_NOT_FOUND(st, version_name);
    return EM_OK;
}

static bool has_child_prefix(const char *name, const char *parent, const char *collection)
{
    size_t plen = strlen(parent), clen = strlen(collection);
    return strncmp(name, parent, plen) == 0 && name[plen] == '/' &&
           strncmp(name + plen + 1, collection, clen) == 0 && name[plen + 1 + clen] == '/' &&
           !strchr(name + plen + clen + 2, '/');
}

/* --- rows <-> objects --- */

struct kms_key_row kms_key_row_of(const struct kms_key *key)
{
    return (struct kms_key_row){
        .name = key->name,
        .purpose = key->purpose,
        .create_ns = key->create_ns,
        .primary = key->primary,
        .template_alg = key->template_alg,
        .template_protection = key->template_protection,
        .rotation_period_ns = key->rotation_period_ns,
        .next_rotation_ns = key->next_rotation_ns,
        .destroy_scheduled_ns = key->destroy_scheduled_ns,
        .import_only = key->import_only,
        .labels_json = key->labels_json,
        .backend = key->backend,
        .coordinated = key->coordinated,
        .kaj_policy = key->kaj_policy,
    };
}

struct kms_version_row kms_version_row_of(const char *key_name, const struct kms_version *v)
{
    struct kms_version_row row = {
        .key_name = key_name,
        .id = v->id,
        .state = v->state,
        .prior_state = v->prior_state,
        .state_changed_ns = v->state_changed_ns,
        .alg = v->alg,
        .protection = v->protection,
        .create_ns = v->create_ns,
        .generate_ns = v->generate_ns,
        .destroy_ns = v->destroy_ns,
        .destroy_event_ns = v->destroy_event_ns,
        .material = v->material ? v->material->m.raw : NULL,
        .material_len = v->material ? v->material->m.raw_len : 0,
        .import_job = v->import_job,
        .import_ns = v->import_ns,
        .failure_reason = v->failure_reason,
        .external_key = v->external_key,
    };
    memcpy(row.material_digest, v->material_digest, KMS_MATERIAL_DIGEST);
    return row;
}

enum em_code kms_registry_add_ring(struct kms_registry *reg, struct kms_key_ring *ring,
                                   struct em_status *st)
{
    if (!em_index_insert(&reg->rings, ring))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

enum em_code kms_registry_add_key(struct kms_registry *reg, struct kms_key *key,
                                  struct em_status *st)
{
    if (!em_index_insert(&reg->keys, key))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

/* Appends v, whose id must be the next one, to key's versions. */
enum em_code kms_key_add_version(struct kms_key *key, struct kms_version *v, struct em_status *st)
{
    if (v->id != key->version_count + 1)
        return EM_FAIL(st, EM_DATA_LOSS, "version %u of %s is out of sequence", v->id, key->name);
    struct kms_version **grown = realloc(key->versions, (key->version_count + 1) * sizeof(*grown));
    if (!grown)
        return EM_FAIL_OOM(st);
    key->versions = grown;
    key->versions[key->version_count++] = v;
    return EM_OK;
}

static enum em_code ring_from_row(const struct kms_key_ring_row *row, void *arg,
                                  struct em_status *st)
{
    struct kms_key_ring ring = {(char *)row->name, row->create_ns};
    struct kms_key_ring *copy = kms_key_ring_dup(&ring);
    if (!copy)
        return EM_FAIL_OOM(st);
    enum em_code code = kms_registry_add_ring(arg, copy, st);
    if (code)
        kms_key_ring_free(copy);
    return code;
}

static enum em_code key_from_row(const struct kms_key_row *row, void *arg, struct em_status *st)
{
    struct kms_key *key = calloc(1, sizeof(*key));
    if (!key)
        return EM_FAIL_OOM(st);
    *key = (struct kms_key){
        .name = strdup(row->name),
        .purpose = row->purpose,
        .create_ns = row->create_ns,
        .primary = row->primary,
        .template_alg = row->template_alg,
        .template_protection = row->template_protection,
        .rotation_period_ns = row->rotation_period_ns,
        .next_rotation_ns = row->next_rotation_ns,
        .destroy_scheduled_ns = row->destroy_scheduled_ns,
        .import_only = row->import_only,
        .labels_json = strdup(row->labels_json),
    };
    snprintf(key->backend, sizeof(key->backend), "%s", row->backend ? row->backend : "");
    key->coordinated = row->coordinated;
    key->kaj_policy = row->kaj_policy;
    enum em_code code =
        key->name && key->labels_json ? kms_registry_add_key(arg, key, st) : EM_FAIL_OOM(st);
    if (code)
        kms_key_free(key);
    return code;
}

/* Takes the row's material (parsed for its algorithm) into a new version of its key. */
static enum em_code version_from_row(struct kms_version_row *row, void *arg, struct em_status *st)
{
    struct kms_key *key = kms_registry_find_key(arg, row->key_name);
    if (!key)
        return EM_FAIL(st, EM_DATA_LOSS, "version of unknown key %s", row->key_name);
    struct kms_version *v = calloc(1, sizeof(*v));
    if (!v)
        return EM_FAIL_OOM(st);
    *v = (struct kms_version){
        .id = row->id,
        .state = row->state,
        .prior_state = row->prior_state,
        .state_changed_ns = row->state_changed_ns,
        .alg = row->alg,
        .protection = row->protection,
        .create_ns = row->create_ns,
        .generate_ns = row->generate_ns,
        .destroy_ns = row->destroy_ns,
        .destroy_event_ns = row->destroy_event_ns,
        .import_ns = row->import_ns,
    };
    snprintf(v->import_job, sizeof(v->import_job), "%s", row->import_job ? row->import_job : "");
    snprintf(v->failure_reason, sizeof(v->failure_reason), "%s",
             row->failure_reason ? row->failure_reason : "");
    snprintf(v->external_key, sizeof(v->external_key), "%s",
             row->external_key ? row->external_key : "");
    memcpy(v->material_digest, row->material_digest, KMS_MATERIAL_DIGEST);
    enum em_code code = EM_OK;
    if (row->material) {
        struct kms_material m;
        unsigned char *raw = row->material;
        row->material = NULL; /* kms_material_load takes it, even when it fails */
        code = kms_material_load(v->alg, raw, row->material_len, &m, st);
        if (!code && !(v->material = kms_material_share(&m)))
            code = EM_FAIL_OOM(st);
    }
    if (!code)
        code = kms_key_add_version(key, v, st);
    if (code)
        kms_version_free(v);
    return code;
}

/* --- registry lifecycle --- */

static void registry_clear(struct kms_registry *reg)
{
    for (size_t i = 0; i < reg->keys.count; i++)
        kms_key_free(reg->keys.items[i]);
    for (size_t i = 0; i < reg->rings.count; i++)
        kms_key_ring_free(reg->rings.items[i]);
    for (size_t i = 0; i < reg->import_jobs.count; i++)
        kms_import_job_free(reg->import_jobs.items[i]);
    reg->keys.count = reg->rings.count = reg->import_jobs.count = 0;
}

enum em_code kms_registry_open(struct em_store *store, const char *data_dir, int64_t propagation_ns,
                               struct kms_registry **out, struct em_status *st)
{
    struct kms_registry *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return EM_FAIL_OOM(st);
    pthread_rwlock_init(&reg->lock, NULL);
    reg->store = store;
    reg->propagation_ns = propagation_ns;
    struct kms_store_visitor build = {ring_from_row, key_from_row, version_from_row,
                                      kms_import_job_from_row, reg};
    /* creations and destructions read the organization policies (kms_orgpolicy.c) */
    if (kms_store_root_key(data_dir, reg->root_key, st) || kms_store_migrate(store, st) ||
        em_iam_open(store, st) || em_orgpolicy_open(store, st) ||
        kms_store_load(store, reg->root_key, &build, st)) {
        kms_registry_close(reg);
        return st->code;
    }
    em_info("kms: loaded %zu key rings, %zu crypto keys and %zu import jobs", reg->rings.count,
            reg->keys.count, reg->import_jobs.count);
    *out = reg;
    return EM_OK;
}

void kms_registry_close(struct kms_registry *reg)
{
    if (!reg)
        return;
    registry_clear(reg);
    em_index_release(&reg->keys);
    em_index_release(&reg->rings);
    em_index_release(&reg->import_jobs);
    em_wipe(reg->root_key, sizeof(reg->root_key));
    pthread_rwlock_destroy(&reg->lock);
    free(reg);
}

void kms_registry_set_generation_delay(struct kms_registry *reg, int64_t ns)
{
    reg->generation_ns = ns;
}

void kms_registry_set_ekm_route(struct kms_registry *reg, kms_ekm_route_fn fn, void *arg)
{
    reg->ekm_route = fn;
    reg->ekm_route_arg = arg;
}

enum em_code kms_registry_reset(struct kms_registry *reg, struct em_status *st)
{
    kms_registry_write_lock(reg);
    enum em_code code = kms_store_clear(reg->store, st);
    if (!code)
        registry_clear(reg);
    kms_registry_unlock(reg);
    if (!code)
        kms_store_purge(reg->store);
    return code;
}

/* --- copies --- */

enum em_code kms_key_ring_copy(struct kms_registry *reg, const char *name,
                               struct kms_key_ring **out, struct em_status *st)
{
    kms_registry_read_lock(reg);
    const struct kms_key_ring *ring = kms_registry_find_ring(reg, name);
    *out = ring ? kms_key_ring_dup(ring) : NULL;
    kms_registry_unlock(reg);
    if (!ring)
        return KMS_ERR_KEY_RING_NOT_FOUND(st, name);
    return *out ? EM_OK : EM_FAIL_OOM(st);
}

enum em_code kms_key_copy(struct kms_registry *reg, const char *name, struct kms_key **out,
                          struct em_status *st)
{
    kms_registry_read_lock(reg);
    const struct kms_key *key = kms_registry_find_key(reg, name);
    *out = key ? key_copy(key) : NULL;
    kms_registry_unlock(reg);
    if (!key)
        return KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, name);
    return *out ? EM_OK : EM_FAIL_OOM(st);
}

bool kms_key_ring_exists(struct kms_registry *reg, const char *name)
{
    kms_registry_read_lock(reg);
    bool exists = kms_registry_find_ring(reg, name) != NULL;
    kms_registry_unlock(reg);
    return exists;
}

bool kms_key_exists(struct kms_registry *reg, const char *name)
{
    kms_registry_read_lock(reg);
    bool exists = kms_registry_find_key(reg, name) != NULL;
    kms_registry_unlock(reg);
    return exists;
}

enum em_code kms_version_copy(struct kms_registry *reg, const char *version_name,
                              struct kms_version_view *out, struct em_status *st)
{
    struct kms_key *key;
    struct kms_version *v;
    *out = (struct kms_version_view){0};
    kms_registry_read_lock(reg);
    enum em_code code = kms_registry_find_version(reg, version_name, &key, &v, st);
    if (!code)
        code = kms_version_give_view(key, v->id, out, st);
    kms_registry_unlock(reg);
    return code;
}

enum em_code kms_key_ring_list(struct kms_registry *reg, const char *location,
                               struct kms_key_ring_list *out, struct em_status *st)
{
    *out = (struct kms_key_ring_list){0};
    enum em_code code = EM_OK;
    kms_registry_read_lock(reg);
    size_t cap = reg->rings.count;
    if (cap && !(out->items = calloc(cap, sizeof(*out->items))))
        code = EM_FAIL_OOM(st);
    for (size_t i = 0; out->items && i < cap && !code; i++) {
        const struct kms_key_ring *ring = reg->rings.items[i];
        if (has_child_prefix(ring->name, location, "keyRings") &&
            !(out->items[out->count++] = kms_key_ring_dup(ring)))
            code = EM_FAIL_OOM(st);
    }
    kms_registry_unlock(reg);
    if (code)
        kms_key_ring_list_free(out);
    return code;
}

enum em_code kms_key_list(struct kms_registry *reg, const char *key_ring, struct kms_key_list *out,
                          struct em_status *st)
{
    *out = (struct kms_key_list){0};
    enum em_code code = EM_OK;
    kms_registry_read_lock(reg);
    size_t cap = reg->keys.count;
    if (!kms_registry_find_ring(reg, key_ring))
        code = KMS_ERR_KEY_RING_NOT_FOUND(st, key_ring);
    else if (cap && !(out->items = calloc(cap, sizeof(*out->items))))
        code = EM_FAIL_OOM(st);
    for (size_t i = 0; out->items && i < cap && !code; i++) {
        const struct kms_key *key = reg->keys.items[i];
        if (has_child_prefix(key->name, key_ring, "cryptoKeys") &&
            !(out->items[out->count++] = key_copy(key)))
            code = EM_FAIL_OOM(st);
    }
    kms_registry_unlock(reg);
    if (code)
        kms_key_list_free(out);
    return code;
}

void kms_key_ring_list_free(struct kms_key_ring_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        kms_key_ring_free(list->items[i]);
    free(list->items);
    *list = (struct kms_key_ring_list){0};
}

void kms_key_list_free(struct kms_key_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        kms_key_free(list->items[i]);
    free(list->items);
    *list = (struct kms_key_list){0};
}

/* --- versions held by cryptographic calls --- */

/* Fills ref from key and v (lock held; v may be NULL), taking a material reference. */
static void hold(const struct kms_key *key, const struct kms_version *v,
                 struct kms_version_ref *ref)
{
    snprintf(ref->key_name, sizeof(ref->key_name), "%s", key->name);
    ref->purpose = key->purpose;
    snprintf(ref->backend, sizeof(ref->backend), "%s", key->backend);
    ref->kaj_policy = key->kaj_policy;
    ref->found = v != NULL;
    if (!v)
        return;
    kms_version_name(key, v, ref->name, sizeof(ref->name));
    ref->primary = v->id == key->primary;
    ref->version = *v;
    material_ref(v->material);
}

enum em_code kms_version_get(struct kms_registry *reg, const char *version_name,
                             struct kms_version_ref *out, struct em_status *st)
{
    struct kms_key *key;
    struct kms_version *v;
    memset(out, 0, sizeof(*out));
    kms_registry_read_lock(reg);
    enum em_code code = kms_registry_find_version(reg, version_name, &key, &v, st);
    if (!code)
        hold(key, v, out);
    kms_registry_unlock(reg);
    return code;
}

/* id 0 with use_primary: the key's primary version. */
static enum em_code hold_by_key(struct kms_registry *reg, const char *key_name, uint32_t id,
                                bool use_primary, struct kms_version_ref *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    kms_registry_read_lock(reg);
    const struct kms_key *key = kms_registry_find_key(reg, key_name);
    if (key)
        hold(key, kms_version_find(key, use_primary ? key->primary : id), out);
    kms_registry_unlock(reg);
    return key ? EM_OK : KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, key_name);
}

enum em_code kms_key_version_get(struct kms_registry *reg, const char *key_name, uint32_t id,
                                 struct kms_version_ref *out, struct em_status *st)
{
    return hold_by_key(reg, key_name, id, false, out, st);
}

enum em_code kms_primary_version_get(struct kms_registry *reg, const char *key_name,
                                     struct kms_version_ref *out, struct em_status *st)
{
    return hold_by_key(reg, key_name, 0, true, out, st);
}

void kms_version_put(struct kms_version_ref *ref)
{
    kms_material_put(ref->version.material);
    ref->version.material = NULL;
}

const struct kms_material *kms_version_material(const struct kms_version_ref *ref)
{
    return ref->version.material ? &ref->version.material->m : NULL;
}

/* --- state --- */

enum kms_state kms_version_effective_state(const struct kms_registry *reg,
                                           const struct kms_version *v, int64_t now)
{
    if (!v->material)
        return v->state == KMS_DESTROYED ? KMS_DESTROYED : v->state;
    if (reg->propagation_ns > 0 && now < v->state_changed_ns + reg->propagation_ns)
        return v->prior_state;
    return v->state;
}

enum em_code kms_version_check_usable(const struct kms_registry *reg,
                                      const struct kms_version_ref *ref, int64_t now,
                                      struct em_status *st)
{
    const struct kms_version *v = &ref->version;
    enum kms_state state = kms_version_effective_state(reg, v, now);
    if (state == KMS_ENABLED && v->material)
        return EM_OK;
    /* the state it is in (an ENABLED one without material can only have been destroyed) */
    return EM_FAIL(st, EM_FAILED_PRECONDITION, "%s is not enabled, current state is: %s.",
                   ref->name, kms_state_name(state == KMS_ENABLED ? KMS_DESTROYED : state));
}

/* Records a state change, remembering what cryptographic calls saw until now. */
void kms_version_change_state(const struct kms_registry *reg, struct kms_version *v,
                              enum kms_state state, int64_t now)
{
    v->prior_state = kms_version_effective_state(reg, v, now);
    v->state_changed_ns = now;
    v->state = state;
}

/* --- persistence helpers: one transaction per change (write lock held) --- */

/* Saves the key (when save_key) and/or a version of it, in one transaction. */
enum em_code kms_registry_save(struct kms_registry *reg, const struct kms_key *key, bool save_key,
                               const struct kms_version *v, struct em_status *st)
{
    if (em_store_begin(reg->store, st))
        return st->code;
    struct kms_key_row krow = kms_key_row_of(key);
    struct kms_version_row vrow =
        v ? kms_version_row_of(key->name, v) : (struct kms_version_row){0};
    if ((save_key && kms_store_save_key(reg->store, &krow, st)) ||
        (v && kms_store_save_version(reg->store, reg->root_key, &vrow, st))) {
        em_store_rollback(reg->store);
        return st->code;
    }
    return em_store_commit(reg->store, st);
}

/* Saves a changed copy of a version; on success the copy replaces the original's fields. */
enum em_code kms_registry_commit_version(struct kms_registry *reg, const struct kms_key *key,
                                         struct kms_version *v, const struct kms_version *changed,
                                         struct em_status *st)
{
    if (kms_registry_save(reg, key, false, changed, st) != EM_OK)
        return st->code;
    struct kms_shared_material *material = v->material;
    *v = *changed;
    v->material = material;
    return EM_OK;
}
