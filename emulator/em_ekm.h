/*
 * em_ekm: the simulated external key manager (EKM), the customer's key manager outside
 * Google that Cloud KMS's EXTERNAL and EXTERNAL_VPC key versions use (README, "Cloud
 * EKM"). KMS asks it for a key's material on every cryptographic call; the customer (the
 * control plane, /emulator/v1/ekm/...) disables, enables and destroys keys in it, and the
 * ekmUnreachable fault (em_faults) takes it off the network.
 *
 * Keys are named by the URI KMS reaches them at: an EXTERNAL version's
 * externalKeyUri, or "https://<hostname>/<key path>" for an EXTERNAL_VPC version (the EKM
 * connection's hostname and the version's ekmConnectionKeyPath). Keys are made by the
 * customer (the control plane), by a new version naming a URI the EKM does not hold yet
 * (as if the customer had made the key beforehand: em_ekm_key_provision), and for a
 * coordinated key by KMS (em_ekm_key_create); a cryptographic call never makes one.
 *
 * Table ekm_keys (metadata.db, owned here): URI, state, times, and the 32-byte
 * material sealed with AES-256-GCM under <data dir>/ekm-root.key (the EKM's own root,
 * apart from KMS's), bound to the URI. States:
 *
 *    ENABLED <---enable/disable---> DISABLED
 *       |                               |
 *       +----------- destroy -----------+--> DESTROYED (material erased, purged from
 *                                            every file: what it encrypted is lost)
 *
 * A destroyed URI stays destroyed: the EKM never makes a key there again.
 */
#ifndef EM_EKM_H
#define EM_EKM_H

#include "em_status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct em_store;

#define EM_EKM_KEY_BYTES 32
#define EM_EKM_URI_MAX   2048

enum em_ekm_state { EM_EKM_ENABLED, EM_EKM_DISABLED, EM_EKM_DESTROYED };

/* What a call to the EKM met when it could not use the key. */
enum em_ekm_outcome {
    EM_EKM_OK,
    EM_EKM_UNREACHABLE,   /* the ekmUnreachable fault */
    EM_EKM_KEY_DISABLED,  /* the EKM refuses the key: permission denied */
    EM_EKM_KEY_DESTROYED, /* the EKM has no key there any more: not found */
    EM_EKM_KEY_MISSING,   /* the EKM never held a key there: not found */
};

struct em_ekm_key {
    char uri[EM_EKM_URI_MAX];
    enum em_ekm_state state;
    int64_t create_ns, update_ns;
};

/* Migrates ekm_keys and loads the EKM's root key (created on first use); em_ekm_close
 * wipes the key from memory. */
enum em_code em_ekm_open(struct em_store *store, const char *data_dir, struct em_status *st);
void em_ekm_close(void);

const char *em_ekm_state_name(enum em_ekm_state state);
/* False for a name that is not ENABLED, DISABLED or DESTROYED. */
bool em_ekm_state_parse(const char *name, enum em_ekm_state *out);

/* The key at uri, made (ENABLED) when the EKM has none there; *out gets its state.
 * Reaching the EKM is not checked here: the caller checks em_faults first. */
enum em_code em_ekm_key_provision(struct em_store *store, const char *uri, int64_t now,
                                  struct em_ekm_key *out, struct em_status *st);

/* A new key at uri for KMS (coordinated keys): ALREADY_EXISTS when the EKM holds one
 * there, in any state. */
enum em_code em_ekm_key_create(struct em_store *store, const char *uri, int64_t now,
                               struct em_status *st);

/* A cryptographic call's key: EM_EKM_OK with the material in out (wipe it after use), or
 * why the EKM did not give it (*outcome; the call is still EM_OK). A store failure is the
 * only error. */
enum em_code em_ekm_key_material(struct em_store *store, const char *uri,
                                 unsigned char out[EM_EKM_KEY_BYTES], enum em_ekm_outcome *outcome,
                                 struct em_status *st);

/* The customer's changes: ENABLED <-> DISABLED, or DESTROYED (for good, material erased
 * from the table: the caller then purges, em_ekm_purge or its own store purge, once its
 * locks are released). NOT_FOUND for a URI the EKM does not hold; FAILED_PRECONDITION for
 * a change to a destroyed key. */
enum em_code em_ekm_key_set_state(struct em_store *store, const char *uri, enum em_ekm_state state,
                                  int64_t now, struct em_ekm_key *out, struct em_status *st);

/* The customer moves a key to another URI (its material and state go along; the old URI
 * then holds nothing, and may be given a new key): NOT_FOUND for a URI the EKM does not
 * hold, ALREADY_EXISTS when new_uri holds a key (in any state), FAILED_PRECONDITION for a
 * destroyed key. KMS's versions that named the old URI find nothing there until their key
 * reference is updated (UpdateCryptoKeyVersion of externalProtectionLevelOptions). */
enum em_code em_ekm_key_move(struct em_store *store, const char *uri, const char *new_uri,
                             int64_t now, struct em_ekm_key *out, struct em_status *st);

/* Every key the EKM holds, by URI: *out is malloc'd (free it), *count set. */
enum em_code em_ekm_key_list(struct em_store *store, struct em_ekm_key **out, size_t *count,
                             struct em_status *st);

/* Makes erased material leave every file (em_store_purge), now or on the next tick when
 * readers hold it up. */
void em_ekm_purge(struct em_store *store);

/* Forgets every key (emulator reset): their material is erased and purged. */
enum em_code em_ekm_reset(struct em_store *store, struct em_status *st);

#endif
