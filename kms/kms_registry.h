/*
 * kms_registry.h: what the registry's three files share and nothing else includes:
 * kms_registry.c (the registry itself), kms_keys.c, kms_versions.c and kms_import.c. Handlers, json
 * and the store see only kms.h: they never hold the lock nor touch the registry's
 * objects. Functions marked "lock held" expect the caller to hold the registry lock
 * (read or write as said).
 */
#ifndef KMS_REGISTRY_H
#define KMS_REGISTRY_H

#include "em_index.h"
#include "kms.h"
#include "kms_store.h"

#include <pthread.h>

struct kms_registry {
    pthread_rwlock_t lock; /* readers: lookups, copies, refs; writers: every change */
    struct em_store *store;
    unsigned char root_key[KMS_ROOT_KEY_BYTES];
    int64_t propagation_ns;      /* set at open, read without the lock */
    int64_t generation_ns;       /* asymmetric versions stay PENDING_GENERATION, imported ones
                                    PENDING_IMPORT, this long (0: not) */
    struct em_index rings;       /* struct kms_key_ring, by name */
    struct em_index keys;        /* struct kms_key, by name */
    struct em_index import_jobs; /* struct kms_import_job, by name */
    kms_ekm_route_fn ekm_route;  /* EXTERNAL_VPC keys' connections (NULL: none known) */
    void *ekm_route_arg;
};

void kms_registry_read_lock(struct kms_registry *reg);
void kms_registry_write_lock(struct kms_registry *reg);
void kms_registry_unlock(struct kms_registry *reg);

/* Lookups (lock held). */
struct kms_key_ring *kms_registry_find_ring(struct kms_registry *reg, const char *name);
struct kms_key *kms_registry_find_key(struct kms_registry *reg, const char *name);
struct kms_import_job *kms_registry_find_import_job(struct kms_registry *reg, const char *name);
/* Parses "<key>/cryptoKeyVersions/<n>": INVALID_ARGUMENT for a bad name, NOT_FOUND. */
enum em_code kms_registry_find_version(struct kms_registry *reg, const char *version_name,
                                       struct kms_key **key, struct kms_version **version,
                                       struct em_status *st);

/* Insertions (write lock held; at open, the registry is not shared yet). */
enum em_code kms_registry_add_ring(struct kms_registry *reg, struct kms_key_ring *ring,
                                   struct em_status *st);
enum em_code kms_registry_add_key(struct kms_registry *reg, struct kms_key *key,
                                  struct em_status *st);
/* Appends v, whose id must be the next one, to key's versions. */
enum em_code kms_key_add_version(struct kms_key *key, struct kms_version *v, struct em_status *st);

/* Shared key material: moves *m into a new one with one reference (NULL, m erased, when
 * out of memory); the last put erases and frees it. */
struct kms_shared_material *kms_material_share(struct kms_material *m);
void kms_material_put(struct kms_shared_material *shared);
void kms_version_free(struct kms_version *v);

/* Copies for callers (lock held): of a ring (NULL when out of memory), of a key into *out
 * unless out is NULL, of a key and one of its versions into *out unless out is NULL. */
struct kms_key_ring *kms_key_ring_dup(const struct kms_key_ring *ring);
enum em_code kms_key_give_copy(const struct kms_key *key, struct kms_key **out,
                               struct em_status *st);
enum em_code kms_version_give_view(const struct kms_key *key, uint32_t id,
                                   struct kms_version_view *out, struct em_status *st);

/* Cloud EKM (kms_ekm.c). No lock needed unless said.
 * The route of backend (an EKM connection's name) through the service's hook: NOT_FOUND
 * without one. */
enum em_code kms_ekm_route_get(const struct kms_registry *reg, const char *backend,
                               struct kms_ekm_route *out, struct em_status *st);
/* A manually managed version's key (a URI for EXTERNAL, a key path for EXTERNAL_VPC through
 * backend's hostname) checked with the EKM, which makes it at the first use of the address;
 * Cloud EKM's errors naming key_name. */
enum em_code kms_ekm_link(const struct kms_registry *reg, const char *key_name,
                          enum kms_protection level, const char *backend, const char *external_key,
                          int64_t now, struct em_status *st);
/* A new key in the EKM for a new version of coordinated key_name (its connection backend):
 * its path below the connection's crypto space into path (KMS_EXTERNAL_KEY_MAX bytes). */
enum em_code kms_ekm_make(const struct kms_registry *reg, const char *key_name, const char *backend,
                          int64_t now, char *path, struct em_status *st);
/* Gives v, a new version of coordinated key_name (its connection backend), a new key in
 * the EKM (kms_ekm_make); with a generation delay it is PENDING_GENERATION until then, as
 * Google's wait for the EKM (kms_versions.c). */
enum em_code kms_version_link_coordinated(const struct kms_registry *reg, const char *key_name,
                                          const char *backend, struct kms_version *v, int64_t now,
                                          struct em_status *st);
/* Asks the EKM to destroy the key of v, a version of coordinated key being destroyed
 * (write lock held): true when it did, false with why in reason (Cloud EKM's words) when
 * it could not. A manually managed key's versions are left alone (true). */
bool kms_ekm_destroy(const struct kms_registry *reg, const struct kms_key *key,
                     const struct kms_version *v, int64_t now, char *reason, size_t reason_len);

/* Builds an import job from its row at load, taking the row's private key (kms_import.c). */
enum em_code kms_import_job_from_row(struct kms_import_job_row *row, void *arg,
                                     struct em_status *st);

/* Cloud KMS's organization policy constraints (kms_orgpolicy.c). The protection level of
 * what `name` (a key, key version or import job name) creates: FAILED_PRECONDITION when
 * cloudkms.allowedProtectionLevels does not allow it; `what` names it ("a key"). */
enum em_code kms_policy_check_level(struct em_store *store, const char *name,
                                    enum kms_protection level, const char *what,
                                    struct em_status *st);
/* Destroying a version in state: FAILED_PRECONDITION when it is ENABLED and
 * cloudkms.disableBeforeDestroy is enforced. */
enum em_code kms_policy_check_destroy(struct em_store *store, const char *version_name,
                                      enum kms_state state, struct em_status *st);
/* A new key's scheduled for destruction duration under
 * cloudkms.minimumDestroyScheduledDuration: requested_ns (0: not given) below the minimum
 * is FAILED_PRECONDITION; a key that gives none gets the larger of *ns (the default) and
 * the minimum. */
enum em_code kms_policy_destroy_duration(struct em_store *store, const char *key_name,
                                         int64_t requested_ns, int64_t *ns, struct em_status *st);
/* A new key ring, key, key version or import job (`what`; its name gives project and
 * location): FAILED_PRECONDITION when gcp.resourceLocations does not allow the location. */
enum em_code kms_policy_check_location(struct em_store *store, const char *name, const char *what,
                                       struct em_status *st);

/* Rows for the store; strings and material point into the objects. */
struct kms_key_row kms_key_row_of(const struct kms_key *key);
struct kms_version_row kms_version_row_of(const char *key_name, const struct kms_version *v);

/* Writes (write lock held): the key (when save_key) and/or one version of it in one
 * transaction; a changed copy of v saved, whose fields then replace v's. */
enum em_code kms_registry_save(struct kms_registry *reg, const struct kms_key *key, bool save_key,
                               const struct kms_version *v, struct em_status *st);
enum em_code kms_registry_commit_version(struct kms_registry *reg, const struct kms_key *key,
                                         struct kms_version *v, const struct kms_version *changed,
                                         struct em_status *st);
/* Records a state change, remembering what cryptographic calls saw until now. */
void kms_version_change_state(const struct kms_registry *reg, struct kms_version *v,
                              enum kms_state state, int64_t now);

/* Saves v (numbered next) with the key, making it primary when asked, and appends it to
 * key's versions (write lock held; kms_versions.c). */
/* PENDING_IMPORT -> ENABLED (the primary of a symmetric key without one) or
 * IMPORT_FAILED, its import's outcome, at v->generate_ns (kms_import.c; write lock held). */
enum em_code kms_import_finish(struct kms_registry *reg, struct kms_key *key, struct kms_version *v,
                               struct em_status *st);
enum em_code kms_version_attach(struct kms_registry *reg, struct kms_key *key,
                                struct kms_version *v, bool make_primary, struct em_status *st);

/* A new version with fresh material (kms_versions.c), not yet numbered, attached or
 * saved. Key generation runs here with no lock held; the version is published later
 * under the write lock. */
enum em_code kms_version_prepare(const struct kms_registry *reg, const char *key_name,
                                 const struct kms_algorithm *alg, enum kms_protection protection,
                                 int64_t now, struct kms_version **out, struct em_status *st);

#endif
