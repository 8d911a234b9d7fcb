/*
 * kms.h: the Cloud KMS emulator's internal model, shared by the files of kms/.
 *
 *   kms_crypto.c   algorithms: key generation, encrypt/decrypt, sign, MAC (OpenSSL)
 *   kms_registry.c the registry of key rings, keys and versions: its lock, loading,
 *                  copies and versions held by cryptographic calls (kms_registry.h)
 *   kms_keys.c     key rings and crypto keys: creation, updates, the primary version
 *   kms_versions.c versions: creation, the state machine, rotation and scheduled
 *                  destruction (the domain files use no JSON and no HTTP)
 *   kms_import.c   import jobs and imported versions (reimport included)
 *   kms_store.c    the only SQL of KMS, and sealing of key material under the root key
 *                  (kms_store.h: rows in and out, no registry)
 *   kms_json.c     JSON <-> the model, and the request schemas
 *   kms_handlers.c one function per REST method
 *   kms_errors.h   the catalogue of error messages sent from more than one place
 *   kms_routes.c   the route table
 *
 * Google reference: https://cloud.google.com/kms/docs/reference/rest
 */
#ifndef KMS_H
#define KMS_H

#include "em_index.h"
#include "em_status.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct em_store;

/* "projects/p/locations/l/keyRings/r/importJobs/j": ids of at most 63 characters. */
#define KMS_IMPORT_JOB_NAME_MAX 256
#define KMS_MATERIAL_DIGEST     32 /* SHA-256 */
#define KMS_IMPORT_FAILURE_MAX  256
#define KMS_EXTERNAL_KEY_MAX    1024 /* an externalKeyUri or ekmConnectionKeyPath */
#define KMS_BACKEND_MAX         256  /* "projects/p/locations/l/ekmConnections/c" */

enum kms_purpose {
    KMS_PURPOSE_UNSPECIFIED,
    KMS_ENCRYPT_DECRYPT,
    KMS_ASYMMETRIC_SIGN,
    KMS_ASYMMETRIC_DECRYPT,
    KMS_RAW_ENCRYPT_DECRYPT,
    KMS_MAC,
};

/* Version states (google.cloud.kms.v1.CryptoKeyVersion.CryptoKeyVersionState). */
enum kms_state {
    KMS_STATE_UNSPECIFIED,
    KMS_PENDING_GENERATION,
    KMS_ENABLED,
    KMS_DISABLED,
    KMS_DESTROYED,
    KMS_DESTROY_SCHEDULED,
    KMS_PENDING_IMPORT,
    KMS_IMPORT_FAILED,
    KMS_EXTERNAL_DESTRUCTION_FAILED, /* a coordinated version whose EKM key stays */
};

enum kms_protection {
    KMS_PROTECTION_UNSPECIFIED,
    KMS_SOFTWARE,
    KMS_HSM,
    KMS_EXTERNAL,     /* Cloud EKM over the internet: the key is in the EKM at a URI */
    KMS_EXTERNAL_VPC, /* Cloud EKM through an EKM connection: a key path on its host */
};

enum kms_alg_kind {
    KMS_ALG_AES_GCM, /* GOOGLE_SYMMETRIC_ENCRYPTION: KMS's own ciphertext format */
    KMS_ALG_RAW_GCM, /* RAW_ENCRYPT_DECRYPT: standard AES ciphertexts (rawEncrypt) */
    KMS_ALG_RAW_CBC,
    KMS_ALG_RAW_CTR,
    KMS_ALG_RSA_PSS,
    KMS_ALG_RSA_PKCS1,
    KMS_ALG_RSA_RAW_PKCS1,
    KMS_ALG_RSA_OAEP,
    KMS_ALG_EC,
    KMS_ALG_ED25519,
    KMS_ALG_HMAC,
    KMS_ALG_EXTERNAL, /* EXTERNAL_SYMMETRIC_ENCRYPTION: AES-256-GCM under the EKM's key,
                         then under the version's own (kms_ekm.c) */
};

struct kms_algorithm {
    const char *name; /* "RSA_SIGN_PSS_2048_SHA256" */
    enum kms_purpose purpose;
    enum kms_alg_kind kind;
    int bits;           /* RSA modulus; AES and HMAC key size */
    const char *digest; /* "SHA256"; NULL for raw PKCS#1 and Ed25519 */
    const char *curve;  /* EC: "P-256", "P-384", "secp256k1" */
};

/* Usable key material of one version: raw bytes (AES, HMAC) or a parsed key pair. */
struct kms_material {
    unsigned char *raw; /* AES/HMAC key, or DER private key */
    size_t raw_len;
    EVP_PKEY *pkey; /* asymmetric only */
};

/* --- kms_crypto.c --- */

const struct kms_algorithm *kms_algorithm_find(const char *name);
const char *kms_purpose_name(enum kms_purpose purpose);
enum kms_purpose kms_purpose_parse(const char *name);
const char *kms_state_name(enum kms_state state);
enum kms_state kms_state_parse(const char *name);
const char *kms_protection_name(enum kms_protection level);
enum kms_protection kms_protection_parse(const char *name);
/* EXTERNAL or EXTERNAL_VPC: Cloud EKM's levels. */
bool kms_protection_is_external(enum kms_protection level);

enum em_code kms_material_generate(const struct kms_algorithm *alg, struct kms_material *out,
                                   struct em_status *st);
/* Takes the raw bytes (malloc'd) and parses asymmetric keys. */
enum em_code kms_material_load(const struct kms_algorithm *alg, unsigned char *raw, size_t raw_len,
                               struct kms_material *out, struct em_status *st);
void kms_material_erase(struct kms_material *m);

/* Symmetric ciphertext: 'K' || version (4 bytes, big-endian) || nonce || body || tag. */
#define KMS_CIPHERTEXT_HEADER 5
size_t kms_ciphertext_size(size_t plaintext_len);
enum em_code kms_encrypt(const struct kms_material *m, uint32_t version, const unsigned char *aad,
                         size_t aad_len, const unsigned char *plaintext, size_t plaintext_len,
                         unsigned char *out, struct em_status *st);
bool kms_ciphertext_version(const unsigned char *ciphertext, size_t len, uint32_t *version);
/* out must hold len bytes; *plaintext_len is set. False when authentication fails. */
bool kms_decrypt(const struct kms_material *m, const unsigned char *aad, size_t aad_len,
                 const unsigned char *ciphertext, size_t len, unsigned char *out,
                 size_t *plaintext_len);

/* Signs a digest (or the data itself for raw PKCS#1 and Ed25519). *sig is malloc'd. */
enum em_code kms_sign(const struct kms_algorithm *alg, const struct kms_material *m,
                      const unsigned char *input, size_t input_len, unsigned char **sig,
                      size_t *sig_len, struct em_status *st);
/* Length a digest must have for alg (0 when alg signs data, not digests). */
size_t kms_digest_length(const struct kms_algorithm *alg);

enum em_code kms_public_key_pem(const struct kms_material *m, char **pem, struct em_status *st);

/* GetPublicKey's formats (google.cloud.kms.v1.PublicKey.PublicKeyFormat), by proto number. */
enum kms_key_format {
    KMS_KEY_FORMAT_UNSPECIFIED = 0, /* PEM, answered in the reply's pem field */
    KMS_KEY_FORMAT_PEM = 1,
    KMS_KEY_FORMAT_DER = 2, /* the DER SubjectPublicKeyInfo */
    KMS_KEY_FORMAT_NIST_PQC = 3,
    KMS_KEY_FORMAT_XWING_RAW_BYTES = 4,
};
/* The public key of m as format asks: PEM text (unspecified or PEM; NUL-terminated, the
 * NUL not counted in *len) or DER. NIST_PQC and XWING_RAW_BYTES are the formats of
 * post-quantum keys, which this emulator does not create: INVALID_ARGUMENT naming the
 * format and alg. *out is malloc'd (NULL on failure). */
enum em_code kms_public_key_export(const struct kms_algorithm *alg, const struct kms_material *m,
                                   enum kms_key_format format, unsigned char **out, size_t *len,
                                   struct em_status *st);

/* Whether alg's material is raw key bytes (AES, HMAC) rather than a DER private key. */
bool kms_alg_raw_material(const struct kms_algorithm *alg);

/* rawEncrypt / rawDecrypt (RAW_ENCRYPT_DECRYPT keys): standard AES-GCM (a 16-byte IV the
 * service draws, as gcloud raw-decrypt expects; 12 to 16 bytes taken back; the tag
 * appended to the ciphertext), AES-CBC without padding (the data a multiple of 16 bytes)
 * and AES-CTR (16-byte IVs, given or drawn). */
#define KMS_RAW_BLOCK   16
#define KMS_RAW_GCM_TAG 16
struct kms_raw_io {
    const unsigned char *in; /* plaintext, or ciphertext (with the GCM tag at its end) */
    size_t in_len;
    const unsigned char *aad; /* GCM only */
    size_t aad_len;
    unsigned char iv[KMS_RAW_BLOCK];
    size_t iv_len;      /* encrypt: 0 draws one; decrypt: the caller's */
    int tag_len;        /* decrypt: 0 for 16; GCM tags of 12 to 16 bytes */
    unsigned char *out; /* malloc'd */
    size_t out_len;
};
/* INVALID_ARGUMENT naming what the mode refuses (AAD or an IV where it takes none, a size
 * that is not whole blocks, an IV of the wrong length); decrypt also INVALID_ARGUMENT
 * "Decryption failed" when a GCM tag does not verify. io->out holds the result. */
enum em_code kms_raw_encrypt(const struct kms_algorithm *alg, const struct kms_material *m,
                             struct kms_raw_io *io, struct em_status *st);
enum em_code kms_raw_decrypt(const struct kms_algorithm *alg, const struct kms_material *m,
                             struct kms_raw_io *io, struct em_status *st);

/* RSA-OAEP. *plaintext is malloc'd. False when the ciphertext does not decrypt. */
bool kms_asymmetric_decrypt(const struct kms_algorithm *alg, const struct kms_material *m,
                            const unsigned char *ciphertext, size_t len, unsigned char **plaintext,
                            size_t *plaintext_len);

#define KMS_MAC_MAX 64
enum em_code kms_mac(const struct kms_algorithm *alg, const struct kms_material *m,
                     const unsigned char *data, size_t len, unsigned char mac[KMS_MAC_MAX],
                     size_t *mac_len, struct em_status *st);

/* --- import (kms_crypto.c: the wrapping; kms_import.c: jobs and imported versions) --- */

/* An ImportJob's import method: the RSA wrapping key's size and OAEP hash, and whether the
 * material comes wrapped with an ephemeral AES-256 key (CKM_RSA_AES_KEY_WRAP: RSA-OAEP of
 * the AES key, then AES-KWP of the material, RFC 5649) or with RSA-OAEP alone. */
struct kms_import_method {
    const char *name; /* "RSA_OAEP_3072_SHA1_AES_256" */
    int bits;
    const char *digest; /* OAEP and MGF1 hash */
    bool aes_wrap;
};
const struct kms_import_method *kms_import_method_find(const char *name);
/* The wrapping key pair of a new import job, and its public key in PEM. */
enum em_code kms_import_keypair(const struct kms_import_method *method, struct kms_material *out,
                                struct em_status *st);
/* Unwraps material wrapped for an import job's key. *material is malloc'd; false when the
 * bytes do not unwrap (wrong key, method or format). */
bool kms_import_unwrap(const struct kms_import_method *method, const struct kms_material *wrapping,
                       const unsigned char *wrapped, size_t len, unsigned char **material,
                       size_t *material_len);
/* Imported material as alg uses it: the raw key of its size (AES, HMAC), or a PKCS#8
 * private key of its type and size, stored as generated keys are. INVALID_ARGUMENT
 * naming what does not fit. */
enum em_code kms_material_import(const struct kms_algorithm *alg, const unsigned char *raw,
                                 size_t len, struct kms_material *out, struct em_status *st);
/* SHA-256 of a version's material as stored. */
void kms_material_digest(const struct kms_material *m, unsigned char out[KMS_MATERIAL_DIGEST]);

#define KMS_IMPORT_JOB_LIFETIME_NS (3LL * 86400 * 1000000000LL) /* expires 3 days after */

/* An import job. In the registry it holds its wrapping key pair; copies (kms_import_job_copy,
 * lists) hold only the public key. Its state follows from the clock: ACTIVE until expire_ns,
 * then EXPIRED. */
struct kms_import_job {
    char *name;
    const struct kms_import_method *method;
    enum kms_protection protection;
    int64_t create_ns, expire_ns;
    char *public_pem;
    struct kms_material wrapping; /* empty in copies */
};
void kms_import_job_free(struct kms_import_job *job);

/* --- the registry: kms_registry.c, kms_keys.c, kms_versions.c, kms_import.c --- */

/* Key material shared by a version and the cryptographic calls using it: erased (and
 * freed) with its last reference, so a version destroyed while a call uses it is erased
 * when that call ends, and never under a call's feet. */
struct kms_shared_material {
    atomic_int refs;
    struct kms_material m;
};

struct kms_version {
    uint32_t id;
    enum kms_state state;
    enum kms_state prior_state; /* before the last change, for the propagation delay */
    int64_t state_changed_ns;
    const struct kms_algorithm *alg;
    enum kms_protection protection;
    int64_t create_ns, destroy_ns, destroy_event_ns;
    int64_t generate_ns; /* when generated (PENDING_GENERATION: when it will be) */
    /* imported versions: the import job of the last import ("" for generated ones), when,
     * and the SHA-256 of the material, which a reimport into the version must match */
    char import_job[KMS_IMPORT_JOB_NAME_MAX];
    int64_t import_ns;
    unsigned char material_digest[KMS_MATERIAL_DIGEST];
    /* IMPORT_FAILED or EXTERNAL_DESTRUCTION_FAILED: why ("" otherwise) */
    char failure_reason[KMS_IMPORT_FAILURE_MAX];
    /* EXTERNAL: the externalKeyUri; EXTERNAL_VPC: the ekmConnectionKeyPath ("" for the
     * other levels). Such a version has two keys, as Cloud EKM's: its own material (the
     * "internal" key, erased at destruction like any version's) and the EKM's key at that
     * address (em_ekm), fetched for every call and never held here. */
    char external_key[KMS_EXTERNAL_KEY_MAX];
    /* NULL once DESTROYED, and in the copies of kms_key_copy and the other copies */
    struct kms_shared_material *material;
};

struct kms_key {
    char *name;
    enum kms_purpose purpose;
    int64_t create_ns;
    uint32_t primary; /* 0: none */
    const struct kms_algorithm *template_alg;
    enum kms_protection template_protection;
    int64_t rotation_period_ns; /* 0: no automatic rotation */
    int64_t next_rotation_ns;   /* 0: unset */
    int64_t destroy_scheduled_ns;
    bool import_only;
    char backend[KMS_BACKEND_MAX]; /* cryptoKeyBackend: EXTERNAL_VPC's EKM connection, or "" */
    bool coordinated;    /* its connection was in mode CLOUD_KMS when it was made (kms_ekm.c) */
    uint32_t kaj_policy; /* Key Access Justifications: allowed reasons (kms_kaj.h) */
    char *labels_json;   /* a JSON object, "{}" when none */
    struct kms_version **versions; /* versions[i]->id == i + 1 */
    uint32_t version_count;
};

struct kms_key_ring {
    char *name;
    int64_t create_ns;
};

/* The registry (kms_registry.c): key rings, keys and versions in memory, written through to
 * the store. It locks internally; callers get copies or references, never its objects. */
struct kms_registry;

/* What a create request asks for, before validation. Strings may be NULL (absent). */
struct kms_key_spec {
    const char *purpose;
    const char *algorithm;
    const char *protection;
    int64_t rotation_period_ns;   /* 0: absent */
    int64_t next_rotation_ns;     /* 0: absent */
    int64_t destroy_scheduled_ns; /* 0: default (30 days) */
    bool import_only;
    const char *backend;     /* cryptoKeyBackend; NULL: none */
    const char *labels_json; /* NULL: none */
    uint32_t kaj_policy;     /* keyAccessJustificationsPolicy (kms_kaj.h); 0: none */
};

/* Fields a patch may change; `mask` bits say which are set. */
enum kms_key_field {
    KMS_FIELD_LABELS = 1 << 0,
    KMS_FIELD_ROTATION_PERIOD = 1 << 1,
    KMS_FIELD_NEXT_ROTATION = 1 << 2,
    KMS_FIELD_TEMPLATE_ALGORITHM = 1 << 3,
    KMS_FIELD_TEMPLATE_PROTECTION = 1 << 4,
    KMS_FIELD_KAJ_POLICY = 1 << 5,
};

struct kms_key_update {
    unsigned mask;
    const char *labels_json;
    int64_t rotation_period_ns;
    int64_t next_rotation_ns;
    const char *algorithm;
    const char *protection;
    uint32_t kaj_policy;
};

#define KMS_DEFAULT_DESTROY_SCHEDULED_NS (30LL * 86400 * 1000000000LL)
#define KMS_VERSION_NAME_MAX             600 /* "<key>/cryptoKeyVersions/<n>" */

enum em_code kms_registry_open(struct em_store *store, const char *data_dir, int64_t propagation_ns,
                               struct kms_registry **out, struct em_status *st);
void kms_registry_close(struct kms_registry *reg);
enum em_code kms_registry_reset(struct kms_registry *reg, struct em_status *st);
/* Asymmetric versions created from now on stay PENDING_GENERATION, and imported versions
 * PENDING_IMPORT, for ns of emulator time (0, the default: ENABLED at once), then a tick
 * makes them ENABLED (or IMPORT_FAILED). Set once, after open. */
void kms_registry_set_generation_delay(struct kms_registry *reg, int64_t ns);

/* --- copies: consistent snapshots taken under the registry lock, owned by the caller.
 * Key copies hold every version (without key material): kms_key_free. --- */

void kms_key_ring_free(struct kms_key_ring *ring);
void kms_key_free(struct kms_key *key);
/* NOT_FOUND in Google's words when the ring or key does not exist. */
enum em_code kms_key_ring_copy(struct kms_registry *reg, const char *name,
                               struct kms_key_ring **out, struct em_status *st);
enum em_code kms_key_copy(struct kms_registry *reg, const char *name, struct kms_key **out,
                          struct em_status *st);
bool kms_key_ring_exists(struct kms_registry *reg, const char *name);
bool kms_key_exists(struct kms_registry *reg, const char *name);

/* One version and its key, copied together for a reply: kms_version_view_free. */
struct kms_version_view {
    struct kms_key *key;
    const struct kms_version *version; /* in key->versions */
};
void kms_version_view_free(struct kms_version_view *view);
/* Parses "<key>/cryptoKeyVersions/<n>": INVALID_ARGUMENT for a bad name, NOT_FOUND. */
enum em_code kms_version_copy(struct kms_registry *reg, const char *version_name,
                              struct kms_version_view *out, struct em_status *st);

/* The children of a parent, in name order. */
struct kms_key_ring_list {
    struct kms_key_ring **items;
    size_t count;
};
struct kms_key_list {
    struct kms_key **items;
    size_t count;
};
enum em_code kms_key_ring_list(struct kms_registry *reg, const char *location,
                               struct kms_key_ring_list *out, struct em_status *st);
/* NOT_FOUND when the key ring does not exist. */
enum em_code kms_key_list(struct kms_registry *reg, const char *key_ring, struct kms_key_list *out,
                          struct em_status *st);
void kms_key_ring_list_free(struct kms_key_ring_list *list);
void kms_key_list_free(struct kms_key_list *list);

/* --- versions held by cryptographic calls --- */

/* A version held for a cryptographic call: a copy of the version and of what the call
 * checks of its key, taken together under the registry lock, and a reference to the
 * version's key material, which stays usable until kms_version_put even when the version
 * is disabled or destroyed meanwhile (the call is ordered before that change). The
 * cryptography itself runs with no lock held. */
struct kms_version_ref {
    char key_name[KMS_VERSION_NAME_MAX];
    char name[KMS_VERSION_NAME_MAX]; /* the version's; "" when !found */
    enum kms_purpose purpose;
    char backend[KMS_BACKEND_MAX]; /* the key's cryptoKeyBackend ("" when none) */
    uint32_t kaj_policy;           /* the key's Key Access Justifications policy */
    bool found;                    /* false: the key has no such version (only by key) */
    bool primary;                  /* the version is the key's primary */
    struct kms_version version;    /* a copy; version.material is the reference */
};

/* By version name: as kms_version_copy (found is true on success). */
enum em_code kms_version_get(struct kms_registry *reg, const char *version_name,
                             struct kms_version_ref *out, struct em_status *st);
/* By key name: NOT_FOUND without the key; otherwise OK, with `found` telling whether the
 * key has version id (kms_key_version_get; 0 finds none) or a primary version. */
enum em_code kms_key_version_get(struct kms_registry *reg, const char *key_name, uint32_t id,
                                 struct kms_version_ref *out, struct em_status *st);
enum em_code kms_primary_version_get(struct kms_registry *reg, const char *key_name,
                                     struct kms_version_ref *out, struct em_status *st);
/* Drops the reference to the material (safe on a zeroed or failed ref, and twice). */
void kms_version_put(struct kms_version_ref *ref);
/* The held material: NULL when the version is DESTROYED (or nothing is held). */
const struct kms_material *kms_version_material(const struct kms_version_ref *ref);

/* The state cryptographic operations see (the previous one during the propagation delay). */
enum kms_state kms_version_effective_state(const struct kms_registry *reg,
                                           const struct kms_version *v, int64_t now);
/* OK when the held version may be used now; FAILED_PRECONDITION naming the version and
 * its state. */
enum em_code kms_version_check_usable(const struct kms_registry *reg,
                                      const struct kms_version_ref *ref, int64_t now,
                                      struct em_status *st);

/* --- names --- */

struct kms_version *kms_version_find(const struct kms_key *key, uint32_t id);
/* A version number ("1", "42": decimal, from 1); false for anything else. */
bool kms_version_id_parse(const char *text, uint32_t *id);
void kms_version_name(const struct kms_key *key, const struct kms_version *v, char *out,
                      size_t len);

/* --- changes: each takes the registry's locks itself and is one transaction in the
 * store; `out` (may be NULL) receives a copy of the result for the reply. --- */

/* Creations that generate key material validate the spec and generate the material
 * (RSA-4096 takes seconds) with no lock held, then check the name and insert the result
 * under the write lock, so a name taken meanwhile fails with ALREADY_EXISTS and the
 * prepared material is wiped. */
enum em_code kms_key_create(struct kms_registry *reg, const char *name,
                            const struct kms_key_spec *spec, bool skip_initial_version, int64_t now,
                            struct kms_key **out, struct em_status *st);
enum em_code kms_version_create(struct kms_registry *reg, const char *key_name, int64_t now,
                                struct kms_version_view *out, struct em_status *st);
/* A version naming its key in the EKM (externalProtectionLevelOptions: uri or path, NULL
 * or "" when absent): an EXTERNAL key's needs the URI, a manually managed EXTERNAL_VPC
 * key's the path, a coordinated key's neither (KMS makes the key in the EKM, as
 * kms_version_create does), other keys' none (INVALID_ARGUMENT naming the rule). The EKM
 * is reached before the version is made (Cloud EKM's errors). */
enum em_code kms_version_create_external(struct kms_registry *reg, const char *key_name,
                                         const char *uri, const char *path, int64_t now,
                                         struct kms_version_view *out, struct em_status *st);
/* How the registry reaches the EKM connection of an EXTERNAL_VPC key (its backend): set
 * once, after open, by the service from the EKM connections' records. */
struct kms_ekm_route {
    char hostname[256];           /* the connection's first service resolver's */
    bool coordinated;             /* key management mode CLOUD_KMS */
    char crypto_space_path[1024]; /* where Cloud KMS makes keys in the EKM */
};
typedef enum em_code (*kms_ekm_route_fn)(void *arg, const char *backend, struct kms_ekm_route *out,
                                         struct em_status *st);
void kms_registry_set_ekm_route(struct kms_registry *reg, kms_ekm_route_fn fn, void *arg);

/* --- Cloud EKM (kms_ekm.c) --- */

/* Whether Cloud EKM serves a location ("us-east1") at level: EXTERNAL everywhere but
 * global and nam-eur-asia1, EXTERNAL_VPC (EKM connections too) in regions only (Google's
 * EKM documentation); no other level. */
bool kms_ekm_available(const char *location_id, enum kms_protection level);

/* Cloud EKM's error (kms/docs/reference/ekm_errors; messages in kms_errors.h): code
 * (FAILED_PRECONDITION, or INVALID_ARGUMENT for DECRYPTION_FAILED) with "<message>
 * <label>: <address>." and a google.rpc.PreconditionFailure: the Cloud EKM key or EKM
 * connection (subject: its name), then the attempt to reach the EKM, whose type is the
 * error domain. */
enum em_code kms_ekm_fail(struct em_status *st, enum em_code code, const char *domain,
                          const char *message, const char *subject, const char *label,
                          const char *address);

/* Encrypt and decrypt with a held EXTERNAL or EXTERNAL_VPC version, usable now (the
 * caller checked): the EKM is reached for its key; Cloud EKM's errors. out must hold
 * kms_ekm_ciphertext_size(len) bytes to encrypt, len bytes to decrypt. */
size_t kms_ekm_ciphertext_size(size_t plaintext_len);
enum em_code kms_ekm_encrypt(struct kms_registry *reg, const struct kms_version_ref *ref,
                             int64_t now, const unsigned char *aad, size_t aad_len,
                             const unsigned char *plaintext, size_t len, unsigned char *out,
                             struct em_status *st);
enum em_code kms_ekm_decrypt(struct kms_registry *reg, const struct kms_version_ref *ref,
                             int64_t now, const unsigned char *aad, size_t aad_len,
                             const unsigned char *ciphertext, size_t len, unsigned char *out,
                             size_t *plaintext_len, struct em_status *st);

/* Tests only: called with no registry lock held once a version's material is generated,
 * before it is published. NULL in the service. */
extern void (*kms_generation_hook)(const char *key_name);

enum em_code kms_key_ring_create(struct kms_registry *reg, const char *name, int64_t now,
                                 struct kms_key_ring **out, struct em_status *st);
enum em_code kms_key_update(struct kms_registry *reg, const char *name,
                            const struct kms_key_update *update, int64_t now, struct kms_key **out,
                            struct em_status *st);
enum em_code kms_key_set_primary(struct kms_registry *reg, const char *name, uint32_t id,
                                 struct kms_key **out, struct em_status *st);
/* UpdateCryptoKeyVersion of externalProtectionLevelOptions: an ENABLED or DISABLED version
 * of a manually managed external key names another key in the EKM (uri for EXTERNAL, path
 * for EXTERNAL_VPC; made there when the EKM holds none, as a new version's is), and takes
 * state (ENABLED or DISABLED; KMS_STATE_UNSPECIFIED keeps its own) in the same change:
 * both are saved, or neither. */
enum em_code kms_version_set_external_key(struct kms_registry *reg, const char *version_name,
                                          const char *uri, const char *path, enum kms_state state,
                                          int64_t now, struct kms_version_view *out,
                                          struct em_status *st);
enum em_code kms_version_set_state(struct kms_registry *reg, const char *version_name,
                                   enum kms_state state, int64_t now, struct kms_version_view *out,
                                   struct em_status *st);
enum em_code kms_version_destroy(struct kms_registry *reg, const char *version_name, int64_t now,
                                 struct kms_version_view *out, struct em_status *st);
enum em_code kms_version_restore(struct kms_registry *reg, const char *version_name, int64_t now,
                                 struct kms_version_view *out, struct em_status *st);

/* Import jobs: created (the key pair generated with no lock held; ALREADY_EXISTS when the
 * name is taken meanwhile; NOT_FOUND without the key ring), copied, listed by key ring. */
enum em_code kms_import_job_create(struct kms_registry *reg, const char *name,
                                   const struct kms_import_method *method,
                                   enum kms_protection protection, int64_t now,
                                   struct kms_import_job **out, struct em_status *st);
enum em_code kms_import_job_copy(struct kms_registry *reg, const char *name,
                                 struct kms_import_job **out, struct em_status *st);
struct kms_import_job_list {
    struct kms_import_job **items;
    size_t count;
};
enum em_code kms_import_job_list(struct kms_registry *reg, const char *key_ring,
                                 struct kms_import_job_list *out, struct em_status *st);
void kms_import_job_list_free(struct kms_import_job_list *list);

/* ImportCryptoKeyVersion: wrapped material unwrapped with an ACTIVE import job's key,
 * checked against alg (which must suit the key's purpose), and published as a new ENABLED
 * version, or (target_version set) put back into a DESTROYED or IMPORT_FAILED version
 * imported before, whose algorithm it must match. Arguments that are wrong fail the call;
 * material that does not unwrap, does not fit alg or (reimport) differs from the
 * version's makes the version IMPORT_FAILED with the reason, as Google's import does. */
struct kms_import_request {
    const char *key_name;
    const char *import_job;
    const struct kms_algorithm *alg;
    const unsigned char *wrapped;
    size_t wrapped_len;
    const char *target_version; /* NULL: a new version */
};
enum em_code kms_version_import(struct kms_registry *reg, const struct kms_import_request *req,
                                int64_t now, struct kms_version_view *out, struct em_status *st);

/* Runs what is due by now: scheduled destructions, automatic rotations. */
enum em_code kms_registry_tick(struct kms_registry *reg, int64_t now, struct em_status *st);

#endif
