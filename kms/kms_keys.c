/*
 * kms_keys: the registry of key rings, crypto keys and versions, and their rules.
 *
 * The registry lives in memory (sorted arrays, binary search) and is written through to
 * metadata.db on every change, in one transaction per change; memory is updated only
 * after the commit succeeds, so the two never disagree. A process-wide rwlock guards
 * it: lookups and cryptographic operations read, changes write. Key generation (a
 * create, a new version, a rotation) runs with no lock held; the result is checked
 * and published under the write lock, so a slow RSA-4096 key never stalls other calls.
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

#include "em_crypto.h"
#include "em_index.h"
#include "em_json.h"
#include "em_log.h"
#include "em_names.h"
#include "em_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_DAY (86400LL * EM_NS_PER_SEC)

/* --- registry lifecycle --- */

void kms_read_lock(struct kms_registry *reg)
{
    pthread_rwlock_rdlock(&reg->lock);
}

void kms_write_lock(struct kms_registry *reg)
{
    pthread_rwlock_wrlock(&reg->lock);
}

void kms_unlock(struct kms_registry *reg)
{
    pthread_rwlock_unlock(&reg->lock);
}

static void version_free(struct kms_version *v)
{
    if (!v)
        return;
    kms_material_erase(&v->material);
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

static void ring_free(struct kms_key_ring *ring)
{
    if (!ring)
        return;
    free(ring->name);
    free(ring);
}

static void registry_clear(struct kms_registry *reg)
{
    for (size_t i = 0; i < reg->keys.count; i++)
        kms_key_free(reg->keys.items[i]);
    for (size_t i = 0; i < reg->rings.count; i++)
        ring_free(reg->rings.items[i]);
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
    if (kms_store_root_key(data_dir, reg->root_key, st) || kms_store_migrate(store, st) ||
        kms_store_load(reg, st)) {
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
    kms_write_lock(reg);
    enum em_code code = kms_store_clear(reg->store, st);
    if (!code)
        registry_clear(reg);
    kms_unlock(reg);
    if (!code)
        kms_store_purge(reg->store);
    return code;
}

enum em_code kms_registry_adopt_ring(struct kms_registry *reg, struct kms_key_ring *ring,
                                     struct em_status *st)
{
    if (!em_index_insert(&reg->rings, ring))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

enum em_code kms_registry_adopt_key(struct kms_registry *reg, struct kms_key *key,
                                    struct em_status *st)
{
    if (!em_index_insert(&reg->keys, key))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

enum em_code kms_key_adopt_version(struct kms_key *key, struct kms_version *v, struct em_status *st)
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

/* --- lookups --- */

struct kms_key_ring *kms_key_ring_find(struct kms_registry *reg, const char *name)
{
    return em_index_find(&reg->rings, name);
}

struct kms_key *kms_key_find(struct kms_registry *reg, const char *name)
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

enum em_code kms_version_lookup(struct kms_registry *reg, const char *version_name,
                                struct kms_key **key, struct kms_version **version,
                                struct em_status *st)
{
    char key_name[512], id_text[32];
    if (!em_name_prefix(version_name, "cryptoKeys", key_name, sizeof(key_name)) ||
        !em_name_id(version_name, "cryptoKeyVersions", id_text, sizeof(id_text)))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid CryptoKeyVersion name \"%.200s\".",
                       version_name);
    *key = kms_key_find(reg, key_name);
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

void kms_each_key_ring(struct kms_registry *reg, const char *location, kms_ring_fn fn, void *arg)
{
    for (size_t i = 0; i < reg->rings.count; i++) {
        const struct kms_key_ring *ring = reg->rings.items[i];
        if (has_child_prefix(ring->name, location, "keyRings"))
            fn(ring, arg);
    }
}

void kms_each_key(struct kms_registry *reg, const char *key_ring, kms_key_fn fn, void *arg)
{
    for (size_t i = 0; i < reg->keys.count; i++) {
        const struct kms_key *key = reg->keys.items[i];
        if (has_child_prefix(key->name, key_ring, "cryptoKeys"))
            fn(key, arg);
    }
}

/* --- state --- */

enum kms_state kms_version_effective_state(const struct kms_registry *reg,
                                           const struct kms_version *v, int64_t now)
{
    if (!v->material.raw)
        return v->state == KMS_DESTROYED ? KMS_DESTROYED : v->state;
    if (reg->propagation_ns > 0 && now < v->state_changed_ns + reg->propagation_ns)
        return v->prior_state;
    return v->state;
}

enum em_code kms_version_check_usable(const struct kms_registry *reg, const struct kms_key *key,
                                      const struct kms_version *v, int64_t now,
                                      struct em_status *st)
{
    enum kms_state state = kms_version_effective_state(reg, v, now);
    if (state == KMS_ENABLED && v->material.raw)
        return EM_OK;
    char name[600];
    kms_version_name(key, v, name, sizeof(name));
    return EM_FAIL(st, EM_FAILED_PRECONDITION, "%s is not enabled, current state is: %s.", name,
                   kms_state_name(v->material.raw ? state : KMS_DESTROYED));
}

/* Records a state change, remembering what cryptographic calls saw until now. */
static void change_state(const struct kms_registry *reg, struct kms_version *v,
                         enum kms_state state, int64_t now)
{
    v->prior_state = kms_version_effective_state(reg, v, now);
    v->state_changed_ns = now;
    v->state = state;
}

/* --- persistence helpers: one transaction per change --- */

/* Saves the key (when save_key) and/or a version of it, in one transaction. */
static enum em_code save_in_transaction(struct kms_registry *reg, const struct kms_key *key,
                                        bool save_key, const struct kms_version *v,
                                        struct em_status *st)
{
    if (em_store_begin(reg->store, st))
        return st->code;
    if ((save_key && kms_store_save_key(reg->store, key, st)) ||
        (v && kms_store_save_version(reg, key, v, st))) {
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
    struct kms_material material = v->material;
    *v = *changed;
    v->material = material;
    return EM_OK;
}

/* --- key rings --- */

enum em_code kms_key_ring_create(struct kms_registry *reg, const char *name, int64_t now,
                                 struct kms_key_ring **out, struct em_status *st)
{
    if (kms_key_ring_find(reg, name))
        return EM_FAIL(st, EM_ALREADY_EXISTS, "KeyRing %s already exists.", name);
    struct kms_key_ring *ring = calloc(1, sizeof(*ring));
    if (!ring || !(ring->name = strdup(name))) {
        free(ring);
        return EM_FAIL_OOM(st);
    }
    ring->create_ns = now;
    if (kms_store_insert_key_ring(reg->store, ring, st) || kms_registry_adopt_ring(reg, ring, st)) {
        ring_free(ring);
        return st->code;
    }
    *out = ring;
    return EM_OK;
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
    if (kms_material_generate(v->alg, &v->material, st)) {
        free(v);
        return st->code;
    }
    if (kms_generation_hook)
        kms_generation_hook(key_name);
    *out = v;
    return EM_OK;
}

static enum em_code check_key_parent(struct kms_registry *reg, const char *name,
                                     struct em_status *st)
{
    if (kms_key_find(reg, name))
        return EM_FAIL(st, EM_ALREADY_EXISTS, "CryptoKey %s already exists.", name);
    char ring[512];
    if (!em_name_prefix(name, "keyRings", ring, sizeof(ring)))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid CryptoKey name %.200s.", name);
    if (!kms_key_ring_find(reg, ring))
        return KMS_ERR_KEY_RING_NOT_FOUND(st, ring);
    return EM_OK;
}

static enum em_code save_new_key(struct kms_registry *reg, struct kms_key *key,
                                 struct em_status *st)
{
    if (em_store_begin(reg->store, st))
        return st->code;
    enum em_code code = kms_store_save_key(reg->store, key, st);
    for (uint32_t i = 0; !code && i < key->version_count; i++)
        code = kms_store_save_version(reg, key, key->versions[i], st);
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
            if ((code = kms_key_adopt_version(key, first, st)) != EM_OK)
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
static enum em_code publish_key(struct kms_registry *reg, struct kms_key *key, struct em_status *st)
{
    enum em_code code = check_key_parent(reg, key->name, st);
    if (!code)
        code = save_new_key(reg, key, st);
    if (!code)
        code = kms_registry_adopt_key(reg, key, st);
    if (code)
        kms_key_free(key);
    return code;
}

enum em_code kms_key_create(struct kms_registry *reg, const char *name,
                            const struct kms_key_spec *spec, bool skip_initial_version, int64_t now,
                            struct kms_key **out, struct em_status *st)
{
    /* the name and parent first, as Google answers (and no key generated in vain) */
    kms_read_lock(reg);
    enum em_code taken = check_key_parent(reg, name, st);
    kms_unlock(reg);
    struct kms_key *key = NULL;
    if (taken || prepare_key(name, spec, skip_initial_version, now, &key, st))
        return st->code;
    kms_write_lock(reg);
    enum em_code code = publish_key(reg, key, st);
    kms_unlock(reg);
    if (!code && out)
        *out = key;
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

enum em_code kms_key_update(struct kms_registry *reg, struct kms_key *key,
                            const struct kms_key_update *update, int64_t now, struct em_status *st)
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

enum em_code kms_key_set_primary(struct kms_registry *reg, struct kms_key *key, uint32_t id,
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

/* --- versions --- */

static enum em_code attach_version(struct kms_registry *reg, struct kms_key *key,
                                   struct kms_version *v, bool make_primary, struct em_status *st)
{
    struct kms_key draft = *key;
    if (make_primary)
        draft.primary = v->id;
    if (save_in_transaction(reg, &draft, true, v, st) || kms_key_adopt_version(key, v, st))
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

/* The key's template is read under the read lock, the material generated with no lock,
 * and the version numbered and published under the write lock (the key is found again:
 * the registry may have been reset meanwhile). */
enum em_code kms_version_create(struct kms_registry *reg, const char *key_name, int64_t now,
                                uint32_t *id, struct em_status *st)
{
    kms_read_lock(reg);
    struct kms_key *key = kms_key_find(reg, key_name);
    const struct kms_algorithm *alg = key ? key->template_alg : NULL;
    enum kms_protection protection = key ? key->template_protection : 0;
    enum em_code code =
        key ? check_versions_creatable(key, st) : KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, key_name);
    kms_unlock(reg);
    struct kms_version *v;
    if (code || prepare_version(key_name, alg, protection, now, &v, st))
        return st->code;
    kms_write_lock(reg);
    key = kms_key_find(reg, key_name);
    code = key ? check_versions_creatable(key, st) : KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, key_name);
    if (!code) {
        v->id = key->version_count + 1;
        bool first_symmetric = key->purpose == KMS_ENCRYPT_DECRYPT && key->primary == 0;
        code = attach_version(reg, key, v, first_symmetric, st);
    }
    kms_unlock(reg);
    if (code) {
        version_free(v);
        return code;
    }
    if (id)
        *id = v->id;
    return EM_OK;
}

static enum em_code wrong_state(const struct kms_key *key, const struct kms_version *v,
                                const char *action, const char *allowed, struct em_status *st)
{
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "%s/cryptoKeyVersions/%u is in state %s; %s needs a version in state %s.",
                   key->name, v->id, kms_state_name(v->state), action, allowed);
}

enum em_code kms_version_set_state(struct kms_registry *reg, struct kms_key *key,
                                   struct kms_version *v, enum kms_state state, int64_t now,
                                   struct em_status *st)
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

enum em_code kms_version_destroy(struct kms_registry *reg, struct kms_key *key,
                                 struct kms_version *v, int64_t now, struct em_status *st)
{
    if (v->state != KMS_ENABLED && v->state != KMS_DISABLED)
        return wrong_state(key, v, "DestroyCryptoKeyVersion", "ENABLED or DISABLED", st);
    struct kms_version changed = *v;
    change_state(reg, &changed, KMS_DESTROY_SCHEDULED, now);
    changed.destroy_ns = now + key->destroy_scheduled_ns;
    return commit_version(reg, key, v, &changed, st);
}

enum em_code kms_version_restore(struct kms_registry *reg, struct kms_key *key,
                                 struct kms_version *v, int64_t now, struct em_status *st)
{
    if (v->state != KMS_DESTROY_SCHEDULED)
        return wrong_state(key, v, "RestoreCryptoKeyVersion", "DESTROY_SCHEDULED", st);
    struct kms_version changed = *v;
    change_state(reg, &changed, KMS_DISABLED, now);
    changed.destroy_ns = 0;
    return commit_version(reg, key, v, &changed, st);
}

/* --- timers --- */

/* DESTROY_SCHEDULED -> DESTROYED: the material is erased on disk first, then in memory. */
static enum em_code finish_destruction(struct kms_registry *reg, struct kms_key *key,
                                       struct kms_version *v, struct em_status *st)
{
    struct kms_version changed = *v;
    change_state(reg, &changed, KMS_DESTROYED, v->destroy_ns);
    changed.destroy_event_ns = v->destroy_ns;
    memset(&changed.material, 0, sizeof(changed.material));
    if (save_in_transaction(reg, key, false, &changed, st))
        return st->code;
    kms_material_erase(&v->material);
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
    kms_read_lock(reg);
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
    kms_unlock(reg);
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
    struct kms_key *key = kms_key_find(reg, r->key_name);
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
    kms_read_lock(reg);
    for (size_t i = 0; i < reg->keys.count && !due; i++)
        due = key_due(reg->keys.items[i], now);
    kms_unlock(reg);
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
    kms_write_lock(reg);
    enum em_code code = EM_OK;
    bool destroyed = false;
    for (size_t i = 0; i < reg->keys.count && !code; i++)
        code = finish_destructions(reg, reg->keys.items[i], now, &destroyed, st);
    for (size_t i = 0; i < rotation_count && !code; i++)
        code = rotate(reg, &rotations[i], now, st);
    kms_unlock(reg);
    rotations_free(rotations, rotation_count);
    if (destroyed)
        kms_store_purge(reg->store);
    return code;
}
