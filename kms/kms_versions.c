/*
 * kms_versions: crypto key versions: creation (material generated with no lock held,
 * numbered and published under the write lock), their state machine, and the timers
 * that run on the emulator clock: scheduled destruction and automatic rotation.
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
 * rotationPeriod gets a new primary version when nextRotationTime passes (not while its
 * project is deleted: the period passes without one).
 */
#include "kms_registry.h"

#include "em_api_state.h"
#include "em_log.h"
#include "kms_errors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- new versions --- */

void (*kms_generation_hook)(const char *key_name);

/* A new version with fresh material, not yet numbered, attached or saved. Key generation
 * (a second or more for RSA-4096) runs here, with no registry lock held: the version is
 * published later under the write lock. */
enum em_code kms_version_prepare(const struct kms_registry *reg, const char *key_name,
                                 const struct kms_algorithm *alg, enum kms_protection protection,
                                 int64_t now, struct kms_version **out, struct em_status *st)
{
    struct kms_version *v = calloc(1, sizeof(*v));
    if (!v)
        return EM_FAIL_OOM(st);
    /* with a generation delay, an asymmetric key is ready only later, as Google's */
    bool pending = reg->generation_ns > 0 && !kms_alg_raw_material(alg);
    v->state = v->prior_state = pending ? KMS_PENDING_GENERATION : KMS_ENABLED;
    v->state_changed_ns = now;
    v->alg = alg;
    v->protection = protection;
    v->create_ns = now;
    v->generate_ns = pending ? now + reg->generation_ns : now;
    struct kms_material m;
    if (kms_material_generate(v->alg, &m, st)) {
        free(v);
        return st->code;
    }
    if (!(v->material = kms_material_share(&m))) {
        free(v);
        return EM_FAIL_OOM(st);
    }
    if (kms_generation_hook)
        kms_generation_hook(key_name);
    *out = v;
    return EM_OK;
}

enum em_code kms_version_attach(struct kms_registry *reg, struct kms_key *key,
                                struct kms_version *v, bool make_primary, struct em_status *st)
{
    struct kms_key draft = *key;
    if (make_primary)
        draft.primary = v->id;
    if (kms_registry_save(reg, &draft, true, v, st) || kms_key_add_version(key, v, st))
        return st->code;
    key->primary = draft.primary;
    key->next_rotation_ns = draft.next_rotation_ns;
    return EM_OK;
}

static enum em_code check_versions_creatable(const struct kms_key *key, struct em_status *st)
{
    if (key->import_only)
        return EM_FAIL(st, EM_FAILED_PRECONDITION,
                       "CryptoKey %s is import-only: its versions must be imported "
                       "(ImportCryptoKeyVersion).",
                       key->name);
    return EM_OK;
}

/* Numbers and publishes a prepared version (write lock held). The key is found again:
 * the registry may have been reset while the material was generated. */
static enum em_code publish_version(struct kms_registry *reg, const char *key_name,
                                    struct kms_version *v, struct em_status *st)
{
    struct kms_key *key = kms_registry_find_key(reg, key_name);
    if (!key)
        return KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, key_name);
    if (check_versions_creatable(key, st))
        return st->code;
    v->id = key->version_count + 1;
    bool first_symmetric = key->purpose == KMS_ENCRYPT_DECRYPT && key->primary == 0;
    return kms_version_attach(reg, key, v, first_symmetric, st);
}

/* What a new version of key names in the EKM (externalProtectionLevelOptions: uri, path;
 * NULL or "" when absent), checked against the key (read lock held): *external_key is the
 * one to link, NULL when none (a coordinated key's: KMS makes it). */
static enum em_code check_external_key(const struct kms_key *key, const char *uri, const char *path,
                                       const char **external_key, struct em_status *st)
{
    bool has_uri = uri && *uri, has_path = path && *path;
    enum kms_protection level = key->template_protection;
    const char *level_name = kms_protection_name(level);
    *external_key = NULL;
    if (!kms_protection_is_external(level) && (has_uri || has_path))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "external_protection_level_options can only be set on versions of keys "
                       "with protection level EXTERNAL or EXTERNAL_VPC; CryptoKey %s has %s.",
                       key->name, level_name);
    if (!kms_protection_is_external(level))
        return EM_OK;
    if (key->coordinated && (has_uri || has_path))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "CryptoKey %s is a coordinated external key (its EKM connection's key "
                       "management mode is CLOUD_KMS): Cloud KMS makes its versions' keys in the "
                       "EKM, so external_protection_level_options cannot be given.",
                       key->name);
    if (key->coordinated)
        return EM_OK;
    bool vpc = level == KMS_EXTERNAL_VPC;
    if (vpc ? has_uri : has_path)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "external_protection_level_options.%s is for keys with protection level "
                       "%s; CryptoKey %s has %s: set %s.",
                       vpc ? "external_key_uri" : "ekm_connection_key_path",
                       vpc ? "EXTERNAL" : "EXTERNAL_VPC", key->name, level_name,
                       vpc ? "ekm_connection_key_path" : "external_key_uri");
    if (!(vpc ? has_path : has_uri))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "external_protection_level_options.%s is required for a version of "
                       "CryptoKey %s (protection level %s).",
                       vpc ? "ekm_connection_key_path" : "external_key_uri", key->name, level_name);
    *external_key = vpc ? path : uri;
    return EM_OK;
}

enum em_code kms_version_link_coordinated(const struct kms_registry *reg, const char *key_name,
                                          const char *backend, struct kms_version *v, int64_t now,
                                          struct em_status *st)
{
    if (kms_ekm_make(reg, key_name, backend, now, v->external_key, st))
        return st->code;
    if (reg->generation_ns > 0) {
        v->state = v->prior_state = KMS_PENDING_GENERATION;
        v->generate_ns = now + reg->generation_ns;
    }
    return EM_OK;
}

/* A new version's link to its key in the EKM, made or checked with no lock held. */
static enum em_code link_external(const struct kms_registry *reg, const char *key_name,
                                  const struct kms_key *snapshot, const char *external_key,
                                  struct kms_version *v, int64_t now, struct em_status *st)
{
    if (snapshot->coordinated)
        return kms_version_link_coordinated(reg, key_name, snapshot->backend, v, now, st);
    if (!external_key)
        return EM_OK;
    snprintf(v->external_key, sizeof(v->external_key), "%s", external_key);
    return kms_ekm_link(reg, key_name, snapshot->template_protection, snapshot->backend,
                        external_key, now, st);
}

/* The key's template is read under the read lock, the material generated (and the EKM
 * reached) with no lock, and the version numbered and published under the write lock. */
static enum em_code create_version(struct kms_registry *reg, const char *key_name, const char *uri,
                                   const char *path, int64_t now, struct kms_version_view *out,
                                   struct em_status *st)
{
    if (out)
        *out = (struct kms_version_view){0};
    struct kms_key snapshot = {0}; /* what is read of the key: no pointers kept */
    const char *external_key = NULL;
    kms_registry_read_lock(reg);
    const struct kms_key *key = kms_registry_find_key(reg, key_name);
    enum em_code code =
        key ? check_versions_creatable(key, st) : KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, key_name);
    if (!code)
        code = check_external_key(key, uri, path, &external_key, st);
    if (!code) {
        snapshot.template_alg = key->template_alg;
        snapshot.template_protection = key->template_protection;
        snapshot.coordinated = key->coordinated;
        memcpy(snapshot.backend, key->backend, sizeof(snapshot.backend));
    }
    kms_registry_unlock(reg);
    struct kms_version *v;
    enum kms_protection protection = snapshot.template_protection;
    if (code || kms_policy_check_level(reg->store, key_name, protection, "a key version", st) ||
        kms_policy_check_location(reg->store, key_name, "a key version", st) ||
        kms_version_prepare(reg, key_name, snapshot.template_alg, protection, now, &v, st))
        return st->code;
    if (link_external(reg, key_name, &snapshot, external_key, v, now, st)) {
        kms_version_free(v);
        return st->code;
    }
    kms_registry_write_lock(reg);
    code = publish_version(reg, key_name, v, st);
    if (!code)
        code = kms_version_give_view(kms_registry_find_key(reg, key_name), v->id, out, st);
    else
        kms_version_free(v);
    kms_registry_unlock(reg);
    return code;
}

enum em_code kms_version_create(struct kms_registry *reg, const char *key_name, int64_t now,
                                struct kms_version_view *out, struct em_status *st)
{
    return create_version(reg, key_name, NULL, NULL, now, out, st);
}

enum em_code kms_version_create_external(struct kms_registry *reg, const char *key_name,
                                         const char *uri, const char *path, int64_t now,
                                         struct kms_version_view *out, struct em_status *st)
{
    return create_version(reg, key_name, uri, path, now, out, st);
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
    kms_version_change_state(reg, &changed, state, now);
    return kms_registry_commit_version(reg, key, v, &changed, st);
}

static enum em_code schedule_destruction(struct kms_registry *reg, struct kms_key *key,
                                         struct kms_version *v, enum kms_state unused, int64_t now,
                                         struct em_status *st)
{
    (void)unused;
    if (v->state != KMS_ENABLED && v->state != KMS_DISABLED)
        return wrong_state(key, v, "DestroyCryptoKeyVersion", "ENABLED or DISABLED", st);
    char name[KMS_VERSION_NAME_MAX];
    snprintf(name, sizeof(name), "%s/cryptoKeyVersions/%u", key->name, v->id);
    if (kms_policy_check_destroy(reg->store, name, v->state, st))
        return st->code;
    struct kms_version changed = *v;
    kms_version_change_state(reg, &changed, KMS_DESTROY_SCHEDULED, now);
    changed.destroy_ns = now + key->destroy_scheduled_ns;
    return kms_registry_commit_version(reg, key, v, &changed, st);
}

static enum em_code restore(struct kms_registry *reg, struct kms_key *key, struct kms_version *v,
                            enum kms_state unused, int64_t now, struct em_status *st)
{
    (void)unused;
    if (v->state != KMS_DESTROY_SCHEDULED)
        return wrong_state(key, v, "RestoreCryptoKeyVersion", "DESTROY_SCHEDULED", st);
    struct kms_version changed = *v;
    kms_version_change_state(reg, &changed, KMS_DISABLED, now);
    changed.destroy_ns = 0;
    return kms_registry_commit_version(reg, key, v, &changed, st);
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
    kms_registry_write_lock(reg);
    enum em_code code = kms_registry_find_version(reg, version_name, &key, &v, st);
    if (!code)
        code = change(reg, key, v, state, now, st);
    if (!code)
        code = kms_version_give_view(key, v->id, out, st);
    kms_registry_unlock(reg);
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

/* --- key references (Cloud EKM) --- */

/* The version's new reference is checked under the read lock, linked in the EKM with no
 * lock, and saved with the new state under the write lock, in one commit (the version
 * still there, in a state that allows it: another call may have changed it meanwhile). */
enum em_code kms_version_set_external_key(struct kms_registry *reg, const char *version_name,
                                          const char *uri, const char *path, enum kms_state state,
                                          int64_t now, struct kms_version_view *out,
                                          struct em_status *st)
{
    if (state != KMS_STATE_UNSPECIFIED && state != KMS_ENABLED && state != KMS_DISABLED)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "crypto_key_version.state can only be set to ENABLED or DISABLED, not %s.",
                       kms_state_name(state));
    if (out)
        *out = (struct kms_version_view){0};
    struct kms_key snapshot = {0};
    struct kms_key *key;
    struct kms_version *v;
    const char *external_key = NULL;
    kms_registry_read_lock(reg);
    enum em_code code = kms_registry_find_version(reg, version_name, &key, &v, st);
    if (!code && !kms_protection_is_external(key->template_protection))
        code = EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "external_protection_level_options can only be updated on versions of "
                       "keys with protection level EXTERNAL or EXTERNAL_VPC; %s has %s.",
                       key->name, kms_protection_name(key->template_protection));
    if (!code && key->coordinated)
        code = EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "CryptoKey %s is a coordinated external key: Cloud KMS manages its "
                       "versions' keys in the EKM, so their references cannot be updated.",
                       key->name);
    if (!code && v->state != KMS_ENABLED && v->state != KMS_DISABLED)
        code = wrong_state(key, v, "updating the key reference", "ENABLED or DISABLED", st);
    if (!code)
        code = check_external_key(key, uri, path, &external_key, st);
    if (!code) {
        snapshot.template_protection = key->template_protection;
        memcpy(snapshot.backend, key->backend, sizeof(snapshot.backend));
    }
    char key_name[KMS_VERSION_NAME_MAX];
    snprintf(key_name, sizeof(key_name), "%s", code ? "" : key->name);
    kms_registry_unlock(reg);
    if (code || kms_ekm_link(reg, key_name, snapshot.template_protection, snapshot.backend,
                             external_key, now, st))
        return st->code;
    kms_registry_write_lock(reg);
    code = kms_registry_find_version(reg, version_name, &key, &v, st);
    if (!code && v->state != KMS_ENABLED && v->state != KMS_DISABLED)
        code = wrong_state(key, v, "updating the key reference", "ENABLED or DISABLED", st);
    if (!code) {
        struct kms_version changed = *v;
        snprintf(changed.external_key, sizeof(changed.external_key), "%s", external_key);
        if (state != KMS_STATE_UNSPECIFIED && state != v->state)
            kms_version_change_state(reg, &changed, state, now);
        code = kms_registry_commit_version(reg, key, v, &changed, st);
    }
    if (!code)
        code = kms_version_give_view(key, v->id, out, st);
    kms_registry_unlock(reg);
    return code;
}

/* --- timers --- */

/* DESTROY_SCHEDULED -> DESTROYED: the material is erased on disk first, then in memory.
 * A coordinated version's EKM key is destroyed too; when the EKM cannot be reached the
 * version is EXTERNAL_DESTRUCTION_FAILED instead (its own material erased all the same). */
static enum em_code finish_destruction(struct kms_registry *reg, struct kms_key *key,
                                       struct kms_version *v, struct em_status *st)
{
    struct kms_version changed = *v;
    char reason[KMS_IMPORT_FAILURE_MAX] = "";
    bool external_gone = kms_ekm_destroy(reg, key, v, v->destroy_ns, reason, sizeof(reason));
    kms_version_change_state(reg, &changed,
                             external_gone ? KMS_DESTROYED : KMS_EXTERNAL_DESTRUCTION_FAILED,
                             v->destroy_ns);
    if (!external_gone) {
        snprintf(changed.failure_reason, sizeof(changed.failure_reason), "%s", reason);
        em_warn("kms: %s/cryptoKeyVersions/%u: the EKM did not destroy its key: %s", key->name,
                v->id, reason);
    }
    changed.destroy_event_ns = v->destroy_ns;
    changed.material = NULL;
    if (kms_registry_save(reg, key, false, &changed, st))
        return st->code;
    kms_material_put(v->material); /* erased now, or when the last call holding it ends */
    *v = changed;
    em_info("kms: %s/cryptoKeyVersions/%u destroyed; its key material is erased", key->name, v->id);
    return EM_OK;
}

static bool rotation_due(const struct kms_key *key, int64_t now)
{
    return key->purpose == KMS_ENCRYPT_DECRYPT && !key->import_only &&
           key->rotation_period_ns > 0 && key->next_rotation_ns > 0 && key->next_rotation_ns <= now;
}

/* A rotation whose version was generated with no lock held, for the key as it was then. */
struct rotation {
    char *key_name;
    char backend[KMS_BACKEND_MAX]; /* a coordinated key's EKM connection, else "" */
    int64_t due_ns;                /* the key's next_rotation_ns when prepared */
    struct kms_version *v;         /* NULL once published, or when refused */
    bool refused;                  /* an organization policy, or an EKM out of reach, refuses it */
};

static void rotations_free(struct rotation *r, size_t count)
{
    for (size_t i = 0; r && i < count; i++) {
        kms_version_free(r[i].v);
        free(r[i].key_name);
    }
    free(r);
}

/* A coordinated key's rotation also makes the new version's key in the EKM; when that
 * fails (the EKM out of reach, the connection unreadable) the rotation is refused: the
 * period passes without a version, with a warning in the log. */
static void prepare_coordinated_rotation(struct kms_registry *reg, struct rotation *r)
{
    struct em_status refusal = {0};
    if (!r->backend[0] ||
        !kms_version_link_coordinated(reg, r->key_name, r->backend, r->v, r->due_ns, &refusal))
        return;
    em_warn("kms: the rotation of %s fails: %s", r->key_name, refusal.message);
    kms_version_free(r->v);
    r->v = NULL;
    r->refused = true;
}

/* A due rotation's new version, unless the organization policies refuse its protection
 * level or its location, or the key's project is deleted (then it is marked refused:
 * rotate() skips the period, as Google's rotation fails). */
static enum em_code prepare_rotation(struct kms_registry *reg, struct rotation *r,
                                     const struct kms_algorithm *alg, enum kms_protection level,
                                     struct em_status *st)
{
    if (em_api_project_deleted_for(r->key_name)) { /* shut down: its keys do not rotate */
        em_info("kms: %s does not rotate: its project is deleted", r->key_name);
        r->refused = true;
        return EM_OK;
    }
    struct em_status refusal = {0};
    enum em_code code =
        kms_policy_check_level(reg->store, r->key_name, level, "a key version", &refusal);
    if (!code)
        code = kms_policy_check_location(reg->store, r->key_name, "a key version", &refusal);
    if (code == EM_FAILED_PRECONDITION) {
        em_warn("kms: the rotation of %s fails: %s", r->key_name, refusal.message);
        r->refused = true;
        return EM_OK;
    }
    if (code) {
        *st = refusal;
        return code;
    }
    if (kms_version_prepare(reg, r->key_name, alg, level, r->due_ns, &r->v, st))
        return st->code;
    prepare_coordinated_rotation(reg, r);
    return EM_OK;
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
    kms_registry_read_lock(reg);
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
        if (key->coordinated)
            snprintf(r[n].backend, sizeof(r[n].backend), "%s", key->backend);
        algs[n] = key->template_alg;
        protections[n++] = key->template_protection;
    }
    kms_registry_unlock(reg);
    for (size_t i = 0; !code && i < n; i++)
        code = prepare_rotation(reg, &r[i], algs[i], protections[i], st);
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
    struct kms_key *key = kms_registry_find_key(reg, r->key_name);
    if (!key || !rotation_due(key, now) || key->next_rotation_ns != r->due_ns)
        return EM_OK; /* changed meanwhile: the prepared version is wiped unused */
    int64_t next = key->next_rotation_ns;
    while (next <= now)
        next += key->rotation_period_ns;
    int64_t saved_next = key->next_rotation_ns;
    key->next_rotation_ns = next;
    if (r->refused) { /* the period passes without a new version */
        if (kms_registry_save(reg, key, true, NULL, st)) {
            key->next_rotation_ns = saved_next;
            return st->code;
        }
        return EM_OK;
    }
    struct kms_version *v = r->v;
    v->id = key->version_count + 1;
    if (kms_version_attach(reg, key, v, true, st)) {
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

static bool generated_by(const struct kms_version *v, int64_t now)
{
    return (v->state == KMS_PENDING_GENERATION || v->state == KMS_PENDING_IMPORT) &&
           v->generate_ns <= now;
}

static bool key_due(const struct kms_key *key, int64_t now)
{
    for (uint32_t i = 0; i < key->version_count; i++)
        if ((key->versions[i]->state == KMS_DESTROY_SCHEDULED &&
             key->versions[i]->destroy_ns <= now) ||
            generated_by(key->versions[i], now))
            return true;
    return rotation_due(key, now);
}

/* PENDING_GENERATION -> ENABLED once generate_ns is reached (--kms-generation-delay);
 * PENDING_IMPORT -> its import's outcome (kms_import_finish). */
static enum em_code finish_generations(struct kms_registry *reg, struct kms_key *key, int64_t now,
                                       struct em_status *st)
{
    for (uint32_t i = 0; i < key->version_count; i++) {
        struct kms_version *v = key->versions[i];
        if (!generated_by(v, now))
            continue;
        if (v->state == KMS_PENDING_IMPORT) {
            if (kms_import_finish(reg, key, v, st))
                return st->code;
            continue;
        }
        struct kms_version changed = *v;
        kms_version_change_state(reg, &changed, KMS_ENABLED, v->generate_ns);
        if (kms_registry_commit_version(reg, key, v, &changed, st))
            return st->code;
    }
    return EM_OK;
}

static bool anything_due(struct kms_registry *reg, int64_t now)
{
    bool due = false;
    kms_registry_read_lock(reg);
    for (size_t i = 0; i < reg->keys.count && !due; i++)
        due = key_due(reg->keys.items[i], now);
    kms_registry_unlock(reg);
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
    kms_registry_write_lock(reg);
    enum em_code code = EM_OK;
    bool destroyed = false;
    for (size_t i = 0; i < reg->keys.count && !code; i++)
        code = finish_destructions(reg, reg->keys.items[i], now, &destroyed, st);
    for (size_t i = 0; i < reg->keys.count && !code; i++)
        code = finish_generations(reg, reg->keys.items[i], now, st);
    for (size_t i = 0; i < rotation_count && !code; i++)
        code = rotate(reg, &rotations[i], now, st);
    kms_registry_unlock(reg);
    rotations_free(rotations, rotation_count);
    if (destroyed)
        kms_store_purge(reg->store);
    return code;
}
