/*
 * kms_keys: the registry of key rings, crypto keys and versions, and their rules.
 *
 * The registry lives in memory (sorted arrays, binary search) and is written through to
 * metadata.db on every change, in one transaction per change; memory is updated only
 * after the commit succeeds, so the two never disagree. The store speaks rows
 * (kms_store.h); this file builds its objects from them.
 *
 * Locking: one process-wide rwlock, taken here and nowhere else: lookups read, changes
 * write. Callers never see the registry's objects: they get copies (kms_key_copy, lists,
 * views for replies) or, for cryptographic calls, a version held by reference
 * (kms_version_get/_put): a copy of its state and a reference to its key material, so
 * the cryptography runs with no lock held and a version destroyed meanwhile is erased
 * when the last call using it ends. Key generation (a create, a new version, a
 * rotation) also runs with no lock held; the result is checked and published under the
 * write lock, so a slow RSA-4096 key never stalls other calls.
 *
 * Version state machine (google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionState):
 *
 *        create ──> ENABLED <──── patch state ────> DISABLED
 *                      │                              │
 *                      └──── destroy ──┐  ┌── destroy ┘
 *                                      v  v
 *        restore (-> DISABLED) <── DESTROY_SCHEDULED
 *                                      │  destroyTime reached on the emulator clock
 *                                      v
 *                                  DESTROYED  (key material erased, in memory and on disk)
 *
 * Propagation: for EMULATOR_KMS_PROPAGATION_DELAY seconds after a change, cryptographic
 * operations still see the previous state (kms_version_effective_state), as Google's
 * key state changes take time to propagate. Rotation: a symmetric key with a
 * rotationPeriod gets a new primary version when nextRotationTime passes.
 */
#include "kms.h"
#include "kms_errors.h"
#include "kms_store.h"

#include "em_crypto.h"
#include "em_index.h"
#include "em_json.h"
#include "em_log.h"
#include "em_names.h"
#include "em_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_DAY (86400LL * EM_NS_PER_SEC)

struct kms_registry {
    pthread_rwlock_t lock; /* readers: lookups, copies, refs; writers: every change */
    struct em_store *store;
    unsigned char root_key[KMS_ROOT_KEY_BYTES];
    int64_t propagation_ns; /* set at open, read without the lock */
    struct em_index rings;  /* struct kms_key_ring, by name */
    struct em_index keys;   /* struct kms_key, by name */
};

static void read_lock(struct kms_registry *reg)
{
    pthread_rwlock_rdlock(&reg->lock);
}

static void write_lock(struct kms_registry *reg)
{
    pthread_rwlock_wrlock(&reg->lock);
}

static void unlock(struct kms_registry *reg)
{
    pthread_rwlock_unlock(&reg->lock);
}

/* --- key material, shared by reference --- */

/* Moves *m into a new shared material with one reference; NULL (m erased) when out of
 * memory. */
static struct kms_shared_material *material_share(struct kms_material *m)
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

static void material_put(struct kms_shared_material *shared)
{
    if (shared && atomic_fetch_sub_explicit(&shared->refs, 1, memory_order_acq_rel) == 1) {
        kms_material_erase(&shared->m);
        free(shared);
    }
}

/* --- objects and their copies --- */

static void version_free(struct kms_version *v)
{
    if (!v)
        return;
    material_put(v->material);
    free(v);
}

void kms_key_free(struct kms_key *key)
{
    if (!key)
        return;
    for (uint32_t i = 0; i < key->version_count; i++)
        version_free(key->versions[i]);
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

static struct kms_key_ring *ring_copy(const struct kms_key_ring *ring)
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
static enum em_code give_copy(const struct kms_key *key, struct kms_key **out, struct em_status *st)
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
static enum em_code give_view(const struct kms_key *key, uint32_t id, struct kms_version_view *out,
                              struct em_status *st)
{
    if (!out)
        return EM_OK;
    if (!(out->key = key_copy(key)))
        return EM_FAIL_OOM(st);
    out->version = kms_version_find(out->key, id);
    return EM_OK;
}

/* --- lookups (lock held) --- */

static struct kms_key_ring *find_ring(struct kms_registry *reg, const char *name)
{
    return em_index_find(&reg->rings, name);
}

static struct kms_key *find_key(struct kms_registry *reg, const char *name)
{
    return em_index_find(&reg->keys, name);
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
static enum em_code find_version(struct kms_registry *reg, const char *version_name,
                                 struct kms_key **key, struct kms_version **version,
                                 struct em_status *st)
{
    char key_name[512], id_text[32];
    if (!em_name_prefix(version_name, "cryptoKeys", key_name, sizeof(key_name)) ||
        !em_name_id(version_name, "cryptoKeyVersions", id_text, sizeof(id_text)))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid CryptoKeyVersion name \"%.200s\".",
                       version_name);
    *key = find_key(reg, key_name);
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

static struct kms_key_row key_row(const struct kms_key *key)
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
    };
}

static struct kms_version_row version_row(const char *key_name, const struct kms_version *v)
{
    return (struct kms_version_row){
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
    };
}

static enum em_code add_ring(struct kms_registry *reg, struct kms_key_ring *ring,
                             struct em_status *st)
{
    if (!em_index_insert(&reg->rings, ring))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

static enum em_code add_key(struct kms_registry *reg, struct kms_key *key, struct em_status *st)
{
    if (!em_index_insert(&reg->keys, key))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

/* Appends v, whose id must be the next one, to key's versions. */
static enum em_code add_version(struct kms_key *key, struct kms_version *v, struct em_status *st)
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
    struct kms_key_ring *copy = ring_copy(&ring);
    if (!copy)
        return EM_FAIL_OOM(st);
    enum em_code code = add_ring(arg, copy, st);
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
    enum em_code code = key->name && key->labels_json ? add_key(arg, key, st) : EM_FAIL_OOM(st);
    if (code)
        kms_key_free(key);
    return code;
}

/* Takes the row's material (parsed for its algorithm) into a new version of its key. */
static enum em_code version_from_row(struct kms_version_row *row, void *arg, struct em_status *st)
{
    struct kms_key *key = find_key(arg, row->key_name);
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
    };
    enum em_code code = EM_OK;
    if (row->material) {
        struct kms_material m;
        unsigned char *raw = row->material;
        row->material = NULL; /* kms_material_load takes it, even when it fails */
        code = kms_material_load(v->alg, raw, row->material_len, &m, st);
        if (!code && !(v->material = material_share(&m)))
            code = EM_FAIL_OOM(st);
    }
    if (!code)
        code = add_version(key, v, st);
    if (code)
        version_free(v);
    return code;
}

/* --- registry lifecycle --- */

static void registry_clear(struct kms_registry *reg)
{
    for (size_t i = 0; i < reg->keys.count; i++)
        kms_key_free(reg->keys.items[i]);
    for (size_t i = 0; i < reg->rings.count; i++)
        kms_key_ring_free(reg->rings.items[i]);
    reg->keys.count = reg->rings.count = 0;
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
    struct kms_store_visitor build = {ring_from_row, key_from_row, version_from_row, reg};
    if (kms_store_root_key(data_dir, reg->root_key, st) || kms_store_migrate(store, st) ||
        kms_store_load(store, reg->root_key, &build, st)) {
        kms_registry_close(reg);
        return st->code;
    }
    em_info("kms: loaded %zu key rings and %zu crypto keys", reg->rings.count, reg->keys.count);
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
    em_wipe(reg->root_key, sizeof(reg->root_key));
    pthread_rwlock_destroy(&reg->lock);
    free(reg);
}

enum em_code kms_registry_reset(struct kms_registry *reg, struct em_status *st)
{
    write_lock(reg);
    enum em_code code = kms_store_clear(reg->store, st);
    if (!code)
        registry_clear(reg);
    unlock(reg);
    if (!code)
        kms_store_purge(reg->store);
    return code;
}

void kms_registry_count(struct kms_registry *reg, size_t *rings, size_t *keys)
{
    read_lock(reg);
    *rings = reg->rings.count;
    *keys = reg->keys.count;
    unlock(reg);
}

/* --- copies --- */

enum em_code kms_key_ring_copy(struct kms_registry *reg, const char *name,
                               struct kms_key_ring **out, struct em_status *st)
{
    read_lock(reg);
    const struct kms_key_ring *ring = find_ring(reg, name);
    *out = ring ? ring_copy(ring) : NULL;
    unlock(reg);
    if (!ring)
        return KMS_ERR_KEY_RING_NOT_FOUND(st, name);
    return *out ? EM_OK : EM_FAIL_OOM(st);
}

enum em_code kms_key_copy(struct kms_registry *reg, const char *name, struct kms_key **out,
                          struct em_status *st)
{
    read_lock(reg);
    const struct kms_key *key = find_key(reg, name);
    *out = key ? key_copy(key) : NULL;
    unlock(reg);
    if (!key)
        return KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, name);
    return *out ? EM_OK : EM_FAIL_OOM(st);
}

bool kms_key_ring_exists(struct kms_registry *reg, const char *name)
{
    read_lock(reg);
    bool exists = find_ring(reg, name) != NULL;
    unlock(reg);
    return exists;
}

bool kms_key_exists(struct kms_registry *reg, const char *name)
{
    read_lock(reg);
    bool exists = find_key(reg, name) != NULL;
    unlock(reg);
    return exists;
}

enum em_code kms_version_copy(struct kms_registry *reg, const char *version_name,
                              struct kms_version_view *out, struct em_status *st)
{
    struct kms_key *key;
    struct kms_version *v;
    *out = (struct kms_version_view){0};
    read_lock(reg);
    enum em_code code = find_version(reg, version_name, &key, &v, st);
    if (!code)
        code = give_view(key, v->id, out, st);
    unlock(reg);
    return code;
}

enum em_code kms_key_ring_list(struct kms_registry *reg, const char *location,
                               struct kms_key_ring_list *out, struct em_status *st)
{
    *out = (struct kms_key_ring_list){0};
    enum em_code code = EM_OK;
    read_lock(reg);
    size_t cap = reg->rings.count;
    if (cap && !(out->items = calloc(cap, sizeof(*out->items))))
        code = EM_FAIL_OOM(st);
    for (size_t i = 0; out->items && i < cap && !code; i++) {
        const struct kms_key_ring *ring = reg->rings.items[i];
        if (has_child_prefix(ring->name, location, "keyRings") &&
            !(out->items[out->count++] = ring_copy(ring)))
            code = EM_FAIL_OOM(st);
    }
    unlock(reg);
    if (code)
        kms_key_ring_list_free(out);
    return code;
}

enum em_code kms_key_list(struct kms_registry *reg, const char *key_ring, struct kms_key_list *out,
                          struct em_status *st)
{
    *out = (struct kms_key_list){0};
    enum em_code code = EM_OK;
    read_lock(reg);
    size_t cap = reg->keys.count;
    if (!find_ring(reg, key_ring))
        code = KMS_ERR_KEY_RING_NOT_FOUND(st, key_ring);
    else if (cap && !(out->items = calloc(cap, sizeof(*out->items))))
        code = EM_FAIL_OOM(st);
    for (size_t i = 0; out->items && i < cap && !code; i++) {
        const struct kms_key *key = reg->keys.items[i];
        if (has_child_prefix(key->name, key_ring, "cryptoKeys") &&
            !(out->items[out->count++] = key_copy(key)))
            code = EM_FAIL_OOM(st);
    }
    unlock(reg);
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
    read_lock(reg);
    enum em_code code = find_version(reg, version_name, &key, &v, st);
    if (!code)
        hold(key, v, out);
    unlock(reg);
    return code;
}

/* id 0 with use_primary: the key's primary version. */
static enum em_code hold_by_key(struct kms_registry *reg, const char *key_name, uint32_t id,
                                bool use_primary, struct kms_version_ref *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    read_lock(reg);
    const struct kms_key *key = find_key(reg, key_name);
    if (key)
        hold(key, kms_version_find(key, use_primary ? key->primary : id), out);
    unlock(reg);
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
    material_put(ref->version.material);
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
    return EM_FAIL(st, EM_FAILED_PRECONDITION, "%s is not enabled, current state is: %s.",
                   ref->name, kms_state_name(v->material ? state : KMS_DESTROYED));
}

/* Records a state change, remembering what cryptographic calls saw until now. */
static void change_state(const struct kms_registry *reg, struct kms_version *v,
                         enum kms_state state, int64_t now)
{
    v->prior_state = kms_version_effective_state(reg, v, now);
    v->state_changed_ns = now;
    v->state = state;
}

/* --- persistence helpers: one transaction per change (write lock held) --- */

/* Saves the key (when save_key) and/or a version of it, in one transaction. */
static enum em_code save_in_transaction(struct kms_registry *reg, const struct kms_key *key,
                                        bool save_key, const struct kms_version *v,
                                        struct em_status *st)
{
    if (em_store_begin(reg->store, st))
        return st->code;
    struct kms_key_row krow = key_row(key);
    struct kms_version_row vrow = v ? version_row(key->name, v) : (struct kms_version_row){0};
    if ((save_key && kms_store_save_key(reg->store, &krow, st)) ||
        (v && kms_store_save_version(reg->store, reg->root_key, &vrow, st))) {
        em_store_rollback(reg->store);
        return st->code;
    }
    return em_store_commit(reg->store, st);
}

/* Saves a changed copy of a version; on success the copy replaces the original's fields. */
static enum em_code commit_version(struct kms_registry *reg, const struct kms_key *key,
                                   struct kms_version *v, const struct kms_version *changed,
                                   struct em_status *st)
{
    if (save_in_transaction(reg, key, false, changed, st) != EM_OK)
        return st->code;
    struct kms_shared_material *material = v->material;
    *v = *changed;
    v->material = material;
    return EM_OK;
}

/* --- key rings --- */

static enum em_code insert_ring(struct kms_registry *reg, const char *name, int64_t now,
                                struct kms_key_ring **out, struct em_status *st)
{
    if (find_ring(reg, name))
        return EM_FAIL(st, EM_ALREADY_EXISTS, "KeyRing %s already exists.", name);
    struct kms_key_ring draft = {(char *)name, now};
    struct kms_key_ring *ring = ring_copy(&draft);
    if (!ring)
        return EM_FAIL_OOM(st);
    struct kms_key_ring_row row = {ring->name, ring->create_ns};
    if (kms_store_insert_key_ring(reg->store, &row, st) || add_ring(reg, ring, st)) {
        kms_key_ring_free(ring);
        return st->code;
    }
    if (out && !(*out = ring_copy(ring)))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

enum em_code kms_key_ring_create(struct kms_registry *reg, const char *name, int64_t now,
                                 struct kms_key_ring **out, struct em_status *st)
{
    if (out)
        *out = NULL;
    write_lock(reg);
    enum em_code code = insert_ring(reg, name, now, out, st);
    unlock(reg);
    return code;
}

/* --- key creation: validation of what was asked --- */

static enum em_code resolve_algorithm(enum kms_purpose purpose, const char *name,
                                      const struct kms_algorithm **out, struct em_status *st)
{
    if (!name) {
        if (purpose != KMS_ENCRYPT_DECRYPT)
            return EM_FAIL(
                st, EM_INVALID_ARGUMENT,
                "crypto_key.version_template.algorithm must be specified for purpose %s.",
                kms_purpose_name(purpose));
        *out = kms_algorithm_find("GOOGLE_SYMMETRIC_ENCRYPTION");
        return EM_OK;
    }
    const struct kms_algorithm *alg = kms_algorithm_find(name);
    if (!alg)
        return EM_FAIL(st, EM_UNIMPLEMENTED, "Algorithm %s is not supported by this emulator.",
                       name);
    if (alg->purpose != purpose)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Algorithm %s is not compatible with CryptoKey purpose %s.", name,
                       kms_purpose_name(purpose));
    *out = alg;
    return EM_OK;
}

static enum em_code resolve_protection(const char *name, enum kms_protection *out,
                                       struct em_status *st)
{
    *out = name ? kms_protection_parse(name) : KMS_SOFTWARE;
    if (*out == KMS_PROTECTION_UNSPECIFIED && name && strcmp(name, "PROTECTION_LEVEL_UNSPECIFIED"))
        return KMS_ERR_PROTECTION_UNSUPPORTED(st, name);
    if (*out == KMS_PROTECTION_UNSPECIFIED)
        *out = KMS_SOFTWARE;
    if (*out == KMS_EXTERNAL)
        return KMS_ERR_PROTECTION_UNSUPPORTED(st, "EXTERNAL");
    return EM_OK;
}

static enum em_code check_rotation(enum kms_purpose purpose, int64_t period, int64_t next,
                                   int64_t now, struct em_status *st)
{
    if (!period && !next)
        return EM_OK;
    if (purpose != KMS_ENCRYPT_DECRYPT)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Automatic rotation (rotation_period, next_rotation_time) is only "
                       "supported for keys with purpose ENCRYPT_DECRYPT.");
    if (period && (period < NS_PER_DAY || period > 36500 * NS_PER_DAY))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "rotation_period must be between 1 day (86400s) and 100 years.");
    if (next && next < now - 60 * EM_NS_PER_SEC)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "next_rotation_time must be in the future.");
    return EM_OK;
}

static enum em_code check_destroy_duration(int64_t ns, struct em_status *st)
{
    if (ns < NS_PER_DAY || ns > 120 * NS_PER_DAY)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "destroy_scheduled_duration must be between 24 hours and 120 days.");
    return EM_OK;
}

static enum em_code resolve_spec(const struct kms_key_spec *spec, bool skip_initial, int64_t now,
                                 struct kms_key *key, struct em_status *st)
{
    key->purpose = kms_purpose_parse(spec->purpose);
    if (key->purpose == KMS_PURPOSE_UNSPECIFIED && spec->purpose &&
        strcmp(spec->purpose, "CRYPTO_KEY_PURPOSE_UNSPECIFIED") != 0)
        return EM_FAIL(st, EM_UNIMPLEMENTED, "Purpose %.60s is not supported by this emulator.",
                       spec->purpose); /* KEY_ENCAPSULATION, AES_WRAPPING: the schema knew it */
    if (key->purpose == KMS_PURPOSE_UNSPECIFIED)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "crypto_key.purpose must be specified.");
    if (key->purpose == KMS_RAW_ENCRYPT_DECRYPT)
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "Purpose RAW_ENCRYPT_DECRYPT is not supported by this emulator.");
    key->destroy_scheduled_ns =
        spec->destroy_scheduled_ns ? spec->destroy_scheduled_ns : KMS_DEFAULT_DESTROY_SCHEDULED_NS;
    if (resolve_algorithm(key->purpose, spec->algorithm, &key->template_alg, st) ||
        resolve_protection(spec->protection, &key->template_protection, st) ||
        check_rotation(key->purpose, spec->rotation_period_ns, spec->next_rotation_ns, now, st) ||
        check_destroy_duration(key->destroy_scheduled_ns, st))
        return st->code;
    if (spec->import_only && !skip_initial)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Import-only keys must be created with skipInitialVersionCreation=true.");
    key->rotation_period_ns = spec->rotation_period_ns;
    key->next_rotation_ns = spec->next_rotation_ns;
    if (key->rotation_period_ns && !key->next_rotation_ns)
        key->next_rotation_ns = now + key->rotation_period_ns;
    key->import_only = spec->import_only;
    key->create_ns = now;
    key->labels_json = strdup(spec->labels_json ? spec->labels_json : "{}");
    return key->labels_json ? EM_OK : EM_FAIL_OOM(st);
}

void (*kms_generation_hook)(const char *key_name);

/* A new version with fresh material, not yet numbered, attached or saved. Key generation
 * (a second or more for RSA-4096) runs here, with no registry lock held: the version is
 * published later under the write lock. */
static enum em_code prepare_version(const char *key_name, const struct kms_algorithm *alg,
                                    enum kms_protection protection, int64_t now,
                                    struct kms_version **out, struct em_status *st)
{
    struct kms_version *v = calloc(1, sizeof(*v));
    if (!v)
        return EM_FAIL_OOM(st);
    v->state = v->prior_state = KMS_ENABLED;
    v->state_changed_ns = now;
    v->alg = alg;
    v->protection = protection;
    v->create_ns = v->generate_ns = now;
    struct kms_material m;
    if (kms_material_generate(v->alg, &m, st)) {
        free(v);
        return st->code;
    }
    if (!(v->material = material_share(&m))) {
        free(v);
        return EM_FAIL_OOM(st);
    }
    if (kms_generation_hook)
        kms_generation_hook(key_name);
    *out = v;
    return EM_OK;
}

static enum em_code check_key_parent(struct kms_registry *reg, const char *name,
                                     struct em_status *st)
{
    if (find_key(reg, name))
        return EM_FAIL(st, EM_ALREADY_EXISTS, "CryptoKey %s already exists.", name);
    char ring[512];
    if (!em_name_prefix(name, "keyRings", ring, sizeof(ring)))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid CryptoKey name %.200s.", name);
    if (!find_ring(reg, ring))
        return KMS_ERR_KEY_RING_NOT_FOUND(st, ring);
    return EM_OK;
}

static enum em_code save_new_key(struct kms_registry *reg, struct kms_key *key,
                                 struct em_status *st)
{
    if (em_store_begin(reg->store, st))
        return st->code;
    struct kms_key_row krow = key_row(key);
    enum em_code code = kms_store_save_key(reg->store, &krow, st);
    for (uint32_t i = 0; !code && i < key->version_count; i++) {
        struct kms_version_row vrow = version_row(key->name, key->versions[i]);
        code = kms_store_save_version(reg->store, reg->root_key, &vrow, st);
    }
    if (code) {
        em_store_rollback(reg->store);
        return code;
    }
    return em_store_commit(reg->store, st);
}

/* A validated key with its first version's material, owned by the caller: no lock. */
static enum em_code prepare_key(const char *name, const struct kms_key_spec *spec,
                                bool skip_initial_version, int64_t now, struct kms_key **out,
                                struct em_status *st)
{
    struct kms_key *key = calloc(1, sizeof(*key));
    if (!key || !(key->name = strdup(name))) {
        free(key);
        return EM_FAIL_OOM(st);
    }
    struct kms_version *first = NULL;
    enum em_code code = resolve_spec(spec, skip_initial_version, now, key, st);
    if (!code && !skip_initial_version) {
        code = prepare_version(name, key->template_alg, key->template_protection, now, &first, st);
        if (!code) {
            first->id = 1;
            if ((code = add_version(key, first, st)) != EM_OK)
                version_free(first);
        }
        if (!code && key->purpose == KMS_ENCRYPT_DECRYPT)
            key->primary = 1;
    }
    if (code) {
        kms_key_free(key);
        return code;
    }
    *out = key;
    return EM_OK;
}

/* Check-then-insert, both under the write lock: a name taken while the material was
 * generated fails with ALREADY_EXISTS, and the prepared key is wiped and freed. */
static enum em_code publish_key(struct kms_registry *reg, struct kms_key *key, struct kms_key **out,
                                struct em_status *st)
{
    if (check_key_parent(reg, key->name, st) || save_new_key(reg, key, st) ||
        add_key(reg, key, st)) {
        kms_key_free(key);
        return st->code;
    }
    return give_copy(key, out, st);
}

enum em_code kms_key_create(struct kms_registry *reg, const char *name,
                            const struct kms_key_spec *spec, bool skip_initial_version, int64_t now,
                            struct kms_key **out, struct em_status *st)
{
    if (out)
        *out = NULL;
    /* the name and parent first, as Google answers (and no key generated in vain) */
    read_lock(reg);
    enum em_code taken = check_key_parent(reg, name, st);
    unlock(reg);
    struct kms_key *key = NULL;
    if (taken || prepare_key(name, spec, skip_initial_version, now, &key, st))
        return st->code;
    write_lock(reg);
    enum em_code code = publish_key(reg, key, out, st);
    unlock(reg);
    return code;
}

/* --- key updates --- */

static enum em_code apply_update(struct kms_key *draft, const struct kms_key_update *u, int64_t now,
                                 struct em_status *st)
{
    if (u->mask & KMS_FIELD_LABELS)
        draft->labels_json = (char *)(u->labels_json ? u->labels_json : "{}");
    if (u->mask & KMS_FIELD_ROTATION_PERIOD)
        draft->rotation_period_ns = u->rotation_period_ns;
    if (u->mask & KMS_FIELD_NEXT_ROTATION)
        draft->next_rotation_ns = u->next_rotation_ns;
    if ((u->mask & (KMS_FIELD_ROTATION_PERIOD | KMS_FIELD_NEXT_ROTATION)) &&
        check_rotation(draft->purpose, u->rotation_period_ns, u->next_rotation_ns, now, st))
        return st->code;
    if (draft->rotation_period_ns && !draft->next_rotation_ns)
        draft->next_rotation_ns = now + draft->rotation_period_ns;
    if (u->mask & KMS_FIELD_TEMPLATE_ALGORITHM &&
        resolve_algorithm(draft->purpose, u->algorithm, &draft->template_alg, st))
        return st->code;
    if (u->mask & KMS_FIELD_TEMPLATE_PROTECTION)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "crypto_key.version_template.protection_level cannot be updated.");
    return EM_OK;
}

static enum em_code update_key(struct kms_registry *reg, struct kms_key *key,
                               const struct kms_key_update *update, int64_t now,
                               struct em_status *st)
{
    struct kms_key draft = *key;
    if (apply_update(&draft, update, now, st) || save_in_transaction(reg, &draft, true, NULL, st))
        return st->code;
    if (draft.labels_json != key->labels_json) {
        char *labels = strdup(draft.labels_json);
        if (!labels)
            return EM_FAIL_OOM(st);
        free(key->labels_json);
        draft.labels_json = labels;
    }
    *key = draft;
    return EM_OK;
}

enum em_code kms_key_update(struct kms_registry *reg, const char *name,
                            const struct kms_key_update *update, int64_t now, struct kms_key **out,
                            struct em_status *st)
{
    if (out)
        *out = NULL;
    write_lock(reg);
    struct kms_key *key = find_key(reg, name);
    enum em_code code =
        key ? update_key(reg, key, update, now, st) : KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, name);
    if (!code)
        code = give_copy(key, out, st);
    unlock(reg);
    return code;
}

static enum em_code set_primary(struct kms_registry *reg, struct kms_key *key, uint32_t id,
                                struct em_status *st)
{
    if (key->purpose != KMS_ENCRYPT_DECRYPT)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "CryptoKey %s has purpose %s; only ENCRYPT_DECRYPT keys have a primary "
                       "version.",
                       key->name, kms_purpose_name(key->purpose));
    struct kms_version *v = kms_version_find(key, id);
    if (!v)
        return KMS_ERR_VERSION_ID_NOT_FOUND(st, key->name, id);
    if (v->state != KMS_ENABLED)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "%s/cryptoKeyVersions/%u is not enabled, current state is: %s.", key->name,
                       id, kms_state_name(v->state));
    struct kms_key draft = *key;
    draft.primary = id;
    if (save_in_transaction(reg, &draft, true, NULL, st))
        return st->code;
    key->primary = id;
    return EM_OK;
}

enum em_code kms_key_set_primary(struct kms_registry *reg, const char *name, uint32_t id,
                                 struct kms_key **out, struct em_status *st)
{
    if (out)
        *out = NULL;
    write_lock(reg);
    struct kms_key *key = find_key(reg, name);
    enum em_code code =
        key ? set_primary(reg, key, id, st) : KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, name);
    if (!code)
        code = give_copy(key, out, st);
    unlock(reg);
    return code;
}

/* --- versions --- */

static enum em_code attach_version(struct kms_registry *reg, struct kms_key *key,
                                   struct kms_version *v, bool make_primary, struct em_status *st)
{
    struct kms_key draft = *key;
    if (make_primary)
        draft.primary = v->id;
    if (save_in_transaction(reg, &draft, true, v, st) || add_version(key, v, st))
        return st->code;
    key->primary = draft.primary;
    key->next_rotation_ns = draft.next_rotation_ns;
    return EM_OK;
}

static enum em_code check_versions_creatable(const struct kms_key *key, struct em_status *st)
{
    if (key->import_only)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "CryptoKey %s is import-only: its versions must be imported, and import "
                       "is not supported by this emulator.",
                       key->name);
    return EM_OK;
}

/* Numbers and publishes a prepared version (write lock held). The key is found again:
 * the registry may have been reset while the material was generated. */
static enum em_code publish_version(struct kms_registry *reg, const char *key_name,
                                    struct kms_version *v, struct em_status *st)
{
    struct kms_key *key = find_key(reg, key_name);
    if (!key)
        return KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, key_name);
    if (check_versions_creatable(key, st))
        return st->code;
    v->id = key->version_count + 1;
    bool first_symmetric = key->purpose == KMS_ENCRYPT_DECRYPT && key->primary == 0;
    return attach_version(reg, key, v, first_symmetric, st);
}

/* The key's template is read under the read lock, the material generated with no lock,
 * and the version numbered and published under the write lock. */
enum em_code kms_version_create(struct kms_registry *reg, const char *key_name, int64_t now,
                                struct kms_version_view *out, struct em_status *st)
{
    if (out)
        *out = (struct kms_version_view){0};
    read_lock(reg);
    const struct kms_key *key = find_key(reg, key_name);
    const struct kms_algorithm *alg = key ? key->template_alg : NULL;
    enum kms_protection protection = key ? key->template_protection : 0;
    enum em_code code =
        key ? check_versions_creatable(key, st) : KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, key_name);
    unlock(reg);
    struct kms_version *v;
    if (code || prepare_version(key_name, alg, protection, now, &v, st))
        return st->code;
    write_lock(reg);
    code = publish_version(reg, key_name, v, st);
    if (!code)
        code = give_view(find_key(reg, key_name), v->id, out, st);
    else
        version_free(v);
    unlock(reg);
    return code;
}

static enum em_code wrong_state(const struct kms_key *key, const struct kms_version *v,
                                const char *action, const char *allowed, struct em_status *st)
{
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "%s/cryptoKeyVersions/%u is in state %s; %s needs a version in state %s.",
                   key->name, v->id, kms_state_name(v->state), action, allowed);
}

static enum em_code set_state(struct kms_registry *reg, struct kms_key *key, struct kms_version *v,
                              enum kms_state state, int64_t now, struct em_status *st)
{
    if (state != KMS_ENABLED && state != KMS_DISABLED)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "crypto_key_version.state can only be set to ENABLED or DISABLED, not %s.",
                       kms_state_name(state));
    if (v->state != KMS_ENABLED && v->state != KMS_DISABLED)
        return wrong_state(key, v, "changing the state", "ENABLED or DISABLED", st);
    if (v->state == state)
        return EM_OK;
    struct kms_version changed = *v;
    change_state(reg, &changed, state, now);
    return commit_version(reg, key, v, &changed, st);
}

static enum em_code schedule_destruction(struct kms_registry *reg, struct kms_key *key,
                                         struct kms_version *v, enum kms_state unused, int64_t now,
                                         struct em_status *st)
{
    (void)unused;
    if (v->state != KMS_ENABLED && v->state != KMS_DISABLED)
        return wrong_state(key, v, "DestroyCryptoKeyVersion", "ENABLED or DISABLED", st);
    struct kms_version changed = *v;
    change_state(reg, &changed, KMS_DESTROY_SCHEDULED, now);
    changed.destroy_ns = now + key->destroy_scheduled_ns;
    return commit_version(reg, key, v, &changed, st);
}

static enum em_code restore(struct kms_registry *reg, struct kms_key *key, struct kms_version *v,
                            enum kms_state unused, int64_t now, struct em_status *st)
{
    (void)unused;
    if (v->state != KMS_DESTROY_SCHEDULED)
        return wrong_state(key, v, "RestoreCryptoKeyVersion", "DESTROY_SCHEDULED", st);
    struct kms_version changed = *v;
    change_state(reg, &changed, KMS_DISABLED, now);
    changed.destroy_ns = 0;
    return commit_version(reg, key, v, &changed, st);
}

/* A change of one version's state, applied under the write lock. */
typedef enum em_code (*version_change)(struct kms_registry *reg, struct kms_key *key,
                                       struct kms_version *v, enum kms_state state, int64_t now,
                                       struct em_status *st);

static enum em_code change_version(struct kms_registry *reg, const char *version_name,
                                   version_change change, enum kms_state state, int64_t now,
                                   struct kms_version_view *out, struct em_status *st)
{
    struct kms_key *key;
    struct kms_version *v;
    if (out)
        *out = (struct kms_version_view){0};
    write_lock(reg);
    enum em_code code = find_version(reg, version_name, &key, &v, st);
    if (!code)
        code = change(reg, key, v, state, now, st);
    if (!code)
        code = give_view(key, v->id, out, st);
    unlock(reg);
    return code;
}

enum em_code kms_version_set_state(struct kms_registry *reg, const char *version_name,
                                   enum kms_state state, int64_t now, struct kms_version_view *out,
                                   struct em_status *st)
{
    return change_version(reg, version_name, set_state, state, now, out, st);
}

enum em_code kms_version_destroy(struct kms_registry *reg, const char *version_name, int64_t now,
                                 struct kms_version_view *out, struct em_status *st)
{
    return change_version(reg, version_name, schedule_destruction, KMS_DESTROY_SCHEDULED, now, out,
                          st);
}

enum em_code kms_version_restore(struct kms_registry *reg, const char *version_name, int64_t now,
                                 struct kms_version_view *out, struct em_status *st)
{
    return change_version(reg, version_name, restore, KMS_DISABLED, now, out, st);
}

/* --- timers --- */

/* DESTROY_SCHEDULED -> DESTROYED: the material is erased on disk first, then in memory. */
static enum em_code finish_destruction(struct kms_registry *reg, struct kms_key *key,
                                       struct kms_version *v, struct em_status *st)
{
    struct kms_version changed = *v;
    change_state(reg, &changed, KMS_DESTROYED, v->destroy_ns);
    changed.destroy_event_ns = v->destroy_ns;
    changed.material = NULL;
    if (save_in_transaction(reg, key, false, &changed, st))
        return st->code;
    material_put(v->material); /* erased now, or when the last call holding it ends */
    *v = changed;
    em_info("kms: %s/cryptoKeyVersions/%u destroyed; its key material is erased", key->name, v->id);
    return EM_OK;
}

static bool rotation_due(const struct kms_key *key, int64_t now)
{
    return key->purpose == KMS_ENCRYPT_DECRYPT && key->rotation_period_ns > 0 &&
           key->next_rotation_ns > 0 && key->next_rotation_ns <= now;
}

/* A rotation whose version was generated with no lock held, for the key as it was then. */
struct rotation {
    char *key_name;
    int64_t due_ns;        /* the key's next_rotation_ns when prepared */
    struct kms_version *v; /* NULL once published */
};

static void rotations_free(struct rotation *r, size_t count)
{
    for (size_t i = 0; r && i < count; i++) {
        version_free(r[i].v);
        free(r[i].key_name);
    }
    free(r);
}

/* The keys due for rotation (read lock), then their new material (no lock). */
static enum em_code prepare_rotations(struct kms_registry *reg, int64_t now, struct rotation **out,
                                      size_t *count, struct em_status *st)
{
    struct rotation *r = NULL;
    size_t n = 0;
    enum em_code code = EM_OK;
    const struct kms_algorithm **algs = NULL;
    enum kms_protection *protections = NULL;
    read_lock(reg);
    size_t due = 0;
    for (size_t i = 0; i < reg->keys.count; i++)
        due += rotation_due(reg->keys.items[i], now);
    if (due && (!(r = calloc(due, sizeof(*r))) || !(algs = calloc(due, sizeof(*algs))) ||
                !(protections = calloc(due, sizeof(*protections)))))
        code = EM_FAIL_OOM(st);
    for (size_t i = 0; !code && i < reg->keys.count; i++) {
        const struct kms_key *key = reg->keys.items[i];
        if (!rotation_due(key, now))
            continue;
        if (!(r[n].key_name = strdup(key->name)))
            code = EM_FAIL_OOM(st);
        r[n].due_ns = key->next_rotation_ns;
        algs[n] = key->template_alg;
        protections[n++] = key->template_protection;
    }
    unlock(reg);
    for (size_t i = 0; !code && i < n; i++)
        code = prepare_version(r[i].key_name, algs[i], protections[i], r[i].due_ns, &r[i].v, st);
    free(algs);
    free(protections);
    if (code) {
        rotations_free(r, n);
        return code;
    }
    *out = r;
    *count = n;
    return EM_OK;
}

/* Publishes a prepared rotation (write lock held) if the key still waits for it. */
static enum em_code rotate(struct kms_registry *reg, struct rotation *r, int64_t now,
                           struct em_status *st)
{
    struct kms_key *key = find_key(reg, r->key_name);
    if (!key || !rotation_due(key, now) || key->next_rotation_ns != r->due_ns)
        return EM_OK; /* changed meanwhile: the prepared version is wiped unused */
    struct kms_version *v = r->v;
    v->id = key->version_count + 1;
    int64_t next = key->next_rotation_ns;
    while (next <= now)
        next += key->rotation_period_ns;
    int64_t saved_next = key->next_rotation_ns;
    key->next_rotation_ns = next;
    if (attach_version(reg, key, v, true, st)) {
        key->next_rotation_ns = saved_next;
        return st->code;
    }
    r->v = NULL;
    em_info("kms: %s rotated to version %u", key->name, v->id);
    return EM_OK;
}

static enum em_code finish_destructions(struct kms_registry *reg, struct kms_key *key, int64_t now,
                                        bool *destroyed, struct em_status *st)
{
    for (uint32_t i = 0; i < key->version_count; i++) {
        struct kms_version *v = key->versions[i];
        if (v->state != KMS_DESTROY_SCHEDULED || v->destroy_ns > now)
            continue;
        if (finish_destruction(reg, key, v, st))
            return st->code;
        *destroyed = true;
    }
    return EM_OK;
}

static bool key_due(const struct kms_key *key, int64_t now)
{
    for (uint32_t i = 0; i < key->version_count; i++)
        if (key->versions[i]->state == KMS_DESTROY_SCHEDULED && key->versions[i]->destroy_ns <= now)
            return true;
    return rotation_due(key, now);
}

static bool anything_due(struct kms_registry *reg, int64_t now)
{
    bool due = false;
    read_lock(reg);
    for (size_t i = 0; i < reg->keys.count && !due; i++)
        due = key_due(reg->keys.items[i], now);
    unlock(reg);
    return due;
}

/* Rotations generate their material before the write lock is taken; destructions and the
 * publication of the rotations run under it. */
enum em_code kms_registry_tick(struct kms_registry *reg, int64_t now, struct em_status *st)
{
    if (!anything_due(reg, now))
        return EM_OK;
    struct rotation *rotations = NULL;
    size_t rotation_count = 0;
    if (prepare_rotations(reg, now, &rotations, &rotation_count, st))
        return st->code;
    write_lock(reg);
    enum em_code code = EM_OK;
    bool destroyed = false;
    for (size_t i = 0; i < reg->keys.count && !code; i++)
        code = finish_destructions(reg, reg->keys.items[i], now, &destroyed, st);
    for (size_t i = 0; i < rotation_count && !code; i++)
        code = rotate(reg, &rotations[i], now, st);
    unlock(reg);
    rotations_free(rotations, rotation_count);
    if (destroyed)
        kms_store_purge(reg->store);
    return code;
}
