/*
 * kms_keys: key rings and crypto keys: creation (the spec validated as Google does, the
 * first version's material generated with no lock held, then the name checked and the key
 * inserted under the write lock), updates, and the primary version.
 *
 * Google reference:
 * https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys
 */
#include "kms_registry.h"

#include "em_json.h"
#include "em_names.h"
#include "em_store.h"
#include "kms_errors.h"

#include <stdlib.h>
#include <string.h>

#define NS_PER_DAY (86400LL * EM_NS_PER_SEC)

/* --- key rings --- */

static enum em_code insert_ring(struct kms_registry *reg, const char *name, int64_t now,
                                struct kms_key_ring **out, struct em_status *st)
{
    if (kms_registry_find_ring(reg, name))
        return EM_FAIL(st, EM_ALREADY_EXISTS, "KeyRing %s already exists.", name);
    if (kms_policy_check_location(reg->store, name, "a key ring", st))
        return st->code;
    struct kms_key_ring draft = {(char *)name, now};
    struct kms_key_ring *ring = kms_key_ring_dup(&draft);
    if (!ring)
        return EM_FAIL_OOM(st);
    struct kms_key_ring_row row = {ring->name, ring->create_ns};
    if (kms_store_insert_key_ring(reg->store, &row, st) || kms_registry_add_ring(reg, ring, st)) {
        kms_key_ring_free(ring);
        return st->code;
    }
    if (out && !(*out = kms_key_ring_dup(ring)))
        return EM_FAIL_OOM(st);
    return EM_OK;
}

enum em_code kms_key_ring_create(struct kms_registry *reg, const char *name, int64_t now,
                                 struct kms_key_ring **out, struct em_status *st)
{
    if (out)
        *out = NULL;
    kms_registry_write_lock(reg);
    enum em_code code = insert_ring(reg, name, now, out, st);
    kms_registry_unlock(reg);
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
    return EM_OK;
}

/* A manually managed external key gets versions only from its customer's EKM keys. */
static enum em_code manual_external_rotation(struct em_status *st)
{
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Automatic rotation (rotation_period, next_rotation_time) is not supported for "
                   "manually-managed external keys.");
}

/* What protection level EXTERNAL or EXTERNAL_VPC allows (key->purpose and template
 * resolved): Cloud EKM's algorithm, for encryption, where Cloud EKM serves. */
static enum em_code check_external_fit(const struct kms_key *key, struct em_status *st)
{
    const char *name = kms_protection_name(key->template_protection);
    if (key->purpose != KMS_ENCRYPT_DECRYPT)
        return EM_FAIL(st, EM_UNIMPLEMENTED,
                       "Keys with protection level %s and purpose %s are not supported by this "
                       "emulator (only ENCRYPT_DECRYPT).",
                       name, kms_purpose_name(key->purpose));
    if (key->template_alg->kind != KMS_ALG_EXTERNAL)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Algorithm %s is not compatible with protection level %s: use "
                       "EXTERNAL_SYMMETRIC_ENCRYPTION.",
                       key->template_alg->name, name);
    char location[64] = "";
    em_name_id(key->name, "locations", location, sizeof(location));
    if (!kms_ekm_available(location, key->template_protection))
        return EM_FAIL(
            st, EM_INVALID_ARGUMENT, "Protection level %s is not available in this location%s.",
            name,
            key->template_protection == KMS_EXTERNAL_VPC ? " (EXTERNAL_VPC needs a region)" : "");
    return EM_OK;
}

/* How an external key's versions come (spec): a manually managed key's each name a key in
 * the EKM (no initial version, no rotation), a coordinated key's are made by KMS; none is
 * imported. An EXTERNAL_VPC key has its EKM connection (cryptoKeyBackend). */
static enum em_code check_external_versions(const struct kms_key_spec *spec, bool skip_initial,
                                            bool coordinated, const struct kms_key *key,
                                            struct em_status *st)
{
    const char *name = kms_protection_name(key->template_protection);
    if (!skip_initial && !coordinated)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Keys with protection level %s must be created with "
                       "skipInitialVersionCreation=true: each version names its key in the "
                       "external key manager (CreateCryptoKeyVersion with "
                       "external_protection_level_options).",
                       name);
    if ((spec->rotation_period_ns || spec->next_rotation_ns) && !coordinated)
        return manual_external_rotation(st);
    if (spec->import_only)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Keys with protection level %s cannot be import-only: their key material "
                       "is in the external key manager.",
                       name);
    if (key->template_protection == KMS_EXTERNAL_VPC && (!spec->backend || !*spec->backend))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "crypto_key.crypto_key_backend (an EKM connection) is required for keys "
                       "with protection level EXTERNAL_VPC when the location has no default EKM "
                       "connection (ekmConfig).");
    return EM_OK;
}

/* Cloud EKM's rules for a key (key->purpose and template resolved): only Cloud EKM's
 * levels take its algorithm and a backend; an EXTERNAL or EXTERNAL_VPC key follows
 * check_external_fit and check_external_versions (coordinated: its connection is in key
 * management mode CLOUD_KMS). */
static enum em_code check_external(const struct kms_key_spec *spec, bool skip_initial,
                                   bool coordinated, struct kms_key *key, struct em_status *st)
{
    enum kms_protection level = key->template_protection;
    if (!kms_protection_is_external(level) && key->template_alg->kind == KMS_ALG_EXTERNAL)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Algorithm EXTERNAL_SYMMETRIC_ENCRYPTION needs protection level EXTERNAL or "
                       "EXTERNAL_VPC, not %s.",
                       kms_protection_name(level));
    if (spec->backend && *spec->backend && level != KMS_EXTERNAL_VPC)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "crypto_key.crypto_key_backend can only be set on keys with protection "
                       "level EXTERNAL_VPC, not %s.",
                       kms_protection_name(level));
    if (!kms_protection_is_external(level))
        return EM_OK;
    if (check_external_fit(key, st) ||
        check_external_versions(spec, skip_initial, coordinated, key, st))
        return st->code;
    if (spec->backend)
        snprintf(key->backend, sizeof(key->backend), "%s", spec->backend);
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

/* An import-only key gets versions only by import: KMS cannot rotate it. */
static enum em_code import_only_rotation(struct em_status *st)
{
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "Automatic rotation (rotation_period, next_rotation_time) cannot be set on an "
                   "import-only key: its versions can only be imported.");
}

static enum em_code check_destroy_duration(int64_t ns, struct em_status *st)
{
    if (ns < NS_PER_DAY || ns > 120 * NS_PER_DAY)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "destroy_scheduled_duration must be between 24 hours and 120 days.");
    return EM_OK;
}

static enum em_code resolve_spec(const struct kms_key_spec *spec, bool skip_initial,
                                 bool coordinated, int64_t now, struct kms_key *key,
                                 struct em_status *st)
{
    key->purpose = kms_purpose_parse(spec->purpose);
    if (key->purpose == KMS_PURPOSE_UNSPECIFIED && spec->purpose &&
        strcmp(spec->purpose, "CRYPTO_KEY_PURPOSE_UNSPECIFIED") != 0)
        return EM_FAIL(st, EM_UNIMPLEMENTED, "Purpose %.60s is not supported by this emulator.",
                       spec->purpose); /* KEY_ENCAPSULATION, AES_WRAPPING: the schema knew it */
    if (key->purpose == KMS_PURPOSE_UNSPECIFIED)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "crypto_key.purpose must be specified.");
    key->destroy_scheduled_ns =
        spec->destroy_scheduled_ns ? spec->destroy_scheduled_ns : KMS_DEFAULT_DESTROY_SCHEDULED_NS;
    if (resolve_algorithm(key->purpose, spec->algorithm, &key->template_alg, st) ||
        resolve_protection(spec->protection, &key->template_protection, st) ||
        check_rotation(key->purpose, spec->rotation_period_ns, spec->next_rotation_ns, now, st) ||
        check_destroy_duration(key->destroy_scheduled_ns, st) ||
        check_external(spec, skip_initial, coordinated, key, st))
        return st->code;
    if (spec->import_only && !skip_initial)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Import-only keys must be created with skipInitialVersionCreation=true.");
    if (spec->import_only && (spec->rotation_period_ns || spec->next_rotation_ns))
        return import_only_rotation(st);
    key->rotation_period_ns = spec->rotation_period_ns;
    key->next_rotation_ns = spec->next_rotation_ns;
    if (key->rotation_period_ns && !key->next_rotation_ns)
        key->next_rotation_ns = now + key->rotation_period_ns;
    key->import_only = spec->import_only;
    key->kaj_policy = spec->kaj_policy;
    key->create_ns = now;
    key->labels_json = strdup(spec->labels_json ? spec->labels_json : "{}");
    return key->labels_json ? EM_OK : EM_FAIL_OOM(st);
}

static enum em_code check_key_parent(struct kms_registry *reg, const char *name,
                                     struct em_status *st)
{
    if (kms_registry_find_key(reg, name))
        return EM_FAIL(st, EM_ALREADY_EXISTS, "CryptoKey %s already exists.", name);
    char ring[512];
    if (!em_name_prefix(name, "keyRings", ring, sizeof(ring)))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid CryptoKey name %.200s.", name);
    if (!kms_registry_find_ring(reg, ring))
        return KMS_ERR_KEY_RING_NOT_FOUND(st, ring);
    return EM_OK;
}

static enum em_code save_new_key(struct kms_registry *reg, struct kms_key *key,
                                 struct em_status *st)
{
    if (em_store_begin(reg->store, st))
        return st->code;
    struct kms_key_row krow = kms_key_row_of(key);
    enum em_code code = kms_store_save_key(reg->store, &krow, st);
    for (uint32_t i = 0; !code && i < key->version_count; i++) {
        struct kms_version_row vrow = kms_version_row_of(key->name, key->versions[i]);
        code = kms_store_save_version(reg->store, reg->root_key, &vrow, st);
    }
    if (code) {
        em_store_rollback(reg->store);
        return code;
    }
    return em_store_commit(reg->store, st);
}

/* A validated key with its first version's material, owned by the caller: no lock. */
static enum em_code prepare_key(const struct kms_registry *reg, const char *name,
                                const struct kms_key_spec *spec, bool skip_initial_version,
                                int64_t now, struct kms_key **out, struct em_status *st)
{
    struct kms_key *key = calloc(1, sizeof(*key));
    if (!key || !(key->name = strdup(name))) {
        free(key);
        return EM_FAIL_OOM(st);
    }
    struct kms_version *first = NULL;
    struct kms_ekm_route route = {0};
    enum em_code code = EM_OK;
    if (spec->backend && *spec->backend && spec->protection &&
        strcmp(spec->protection, "EXTERNAL_VPC") == 0)
        code = kms_ekm_route_get(reg, spec->backend, &route, st);
    key->coordinated = route.coordinated; /* for good: a later change of mode is not its */
    if (!code)
        code = resolve_spec(spec, skip_initial_version, route.coordinated, now, key, st);
    if (!code)
        code = kms_policy_check_level(reg->store, name, key->template_protection, "a key", st);
    if (!code)
        code = kms_policy_check_location(reg->store, name, "a key", st);
    if (!code)
        code = kms_policy_destroy_duration(reg->store, name, spec->destroy_scheduled_ns,
                                           &key->destroy_scheduled_ns, st);
    if (!code && !skip_initial_version) {
        code = kms_version_prepare(reg, name, key->template_alg, key->template_protection, now,
                                   &first, st);
        if (!code && key->coordinated &&
            kms_version_link_coordinated(reg, name, key->backend, first, now, st)) {
            kms_version_free(first);
            code = st->code;
            first = NULL;
        }
        if (!code) {
            first->id = 1;
            if ((code = kms_key_add_version(key, first, st)) != EM_OK)
                kms_version_free(first);
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
        kms_registry_add_key(reg, key, st)) {
        kms_key_free(key);
        return st->code;
    }
    return kms_key_give_copy(key, out, st);
}

enum em_code kms_key_create(struct kms_registry *reg, const char *name,
                            const struct kms_key_spec *spec, bool skip_initial_version, int64_t now,
                            struct kms_key **out, struct em_status *st)
{
    if (out)
        *out = NULL;
    /* the name and parent first, as Google answers (and no key generated in vain) */
    kms_registry_read_lock(reg);
    enum em_code taken = check_key_parent(reg, name, st);
    kms_registry_unlock(reg);
    struct kms_key *key = NULL;
    if (taken || prepare_key(reg, name, spec, skip_initial_version, now, &key, st))
        return st->code;
    kms_registry_write_lock(reg);
    enum em_code code = publish_key(reg, key, out, st);
    kms_registry_unlock(reg);
    return code;
}

/* --- key updates --- */

static enum em_code apply_update(struct kms_key *draft, const struct kms_key_update *u,
                                 bool coordinated, int64_t now, struct em_status *st)
{
    if (u->mask & KMS_FIELD_LABELS)
        draft->labels_json = (char *)(u->labels_json ? u->labels_json : "{}");
    if (u->mask & KMS_FIELD_KAJ_POLICY)
        draft->kaj_policy = u->kaj_policy;
    if (u->mask & KMS_FIELD_ROTATION_PERIOD)
        draft->rotation_period_ns = u->rotation_period_ns;
    if (u->mask & KMS_FIELD_NEXT_ROTATION)
        draft->next_rotation_ns = u->next_rotation_ns;
    if ((u->mask & (KMS_FIELD_ROTATION_PERIOD | KMS_FIELD_NEXT_ROTATION)) &&
        check_rotation(draft->purpose, u->rotation_period_ns, u->next_rotation_ns, now, st))
        return st->code;
    if (draft->import_only && (draft->rotation_period_ns || draft->next_rotation_ns))
        return import_only_rotation(st);
    if (kms_protection_is_external(draft->template_protection) && !coordinated &&
        (draft->rotation_period_ns || draft->next_rotation_ns))
        return manual_external_rotation(st);
    if (draft->rotation_period_ns && !draft->next_rotation_ns)
        draft->next_rotation_ns = now + draft->rotation_period_ns;
    if (u->mask & KMS_FIELD_TEMPLATE_ALGORITHM &&
        resolve_algorithm(draft->purpose, u->algorithm, &draft->template_alg, st))
        return st->code;
    if ((draft->template_alg->kind == KMS_ALG_EXTERNAL) !=
        kms_protection_is_external(draft->template_protection))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Algorithm %s is not compatible with protection level %s.",
                       draft->template_alg->name, kms_protection_name(draft->template_protection));
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
    if (apply_update(&draft, update, key->coordinated, now, st) ||
        kms_registry_save(reg, &draft, true, NULL, st))
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
    kms_registry_write_lock(reg);
    struct kms_key *key = kms_registry_find_key(reg, name);
    enum em_code code =
        key ? update_key(reg, key, update, now, st) : KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, name);
    if (!code)
        code = kms_key_give_copy(key, out, st);
    kms_registry_unlock(reg);
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
    if (kms_registry_save(reg, &draft, true, NULL, st))
        return st->code;
    key->primary = id;
    return EM_OK;
}

enum em_code kms_key_set_primary(struct kms_registry *reg, const char *name, uint32_t id,
                                 struct kms_key **out, struct em_status *st)
{
    if (out)
        *out = NULL;
    kms_registry_write_lock(reg);
    struct kms_key *key = kms_registry_find_key(reg, name);
    enum em_code code =
        key ? set_primary(reg, key, id, st) : KMS_ERR_CRYPTO_KEY_NOT_FOUND(st, name);
    if (!code)
        code = kms_key_give_copy(key, out, st);
    kms_registry_unlock(reg);
    return code;
}
