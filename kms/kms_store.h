/*
 * kms_store.h: KMS persistence in rows. The store speaks plain row structs, in and out;
 * the registry (kms_registry.c) builds its objects from them and owns every lock. The store
 * never calls the registry: a load hands each row to the visitor the registry gives it.
 *
 * Strings of a row handed to a visitor point into the database's row and live only
 * during the call; key material is unsealed into a malloc'd buffer the visitor may take
 * (setting row->material to NULL), and is wiped and freed otherwise.
 */
#ifndef KMS_STORE_H
#define KMS_STORE_H

#include "kms.h"

#define KMS_ROOT_KEY_BYTES 32

struct kms_key_ring_row {
    const char *name;
    int64_t create_ns;
};

struct kms_key_row {
    const char *name;
    enum kms_purpose purpose;
    int64_t create_ns;
    uint32_t primary;
    const struct kms_algorithm *template_alg;
    enum kms_protection template_protection;
    int64_t rotation_period_ns, next_rotation_ns, destroy_scheduled_ns;
    bool import_only;
    const char *labels_json;
    const char *backend; /* "" or NULL: none */
    bool coordinated;
    uint32_t kaj_policy; /* kms_kaj.h */
};

struct kms_version_row {
    const char *key_name;
    uint32_t id;
    enum kms_state state, prior_state;
    int64_t state_changed_ns;
    const struct kms_algorithm *alg;
    enum kms_protection protection;
    int64_t create_ns, generate_ns, destroy_ns, destroy_event_ns;
    unsigned char *material; /* the raw key material; NULL once DESTROYED */
    size_t material_len;
    const char *import_job; /* "" or NULL: generated, not imported */
    int64_t import_ns;
    unsigned char material_digest[KMS_MATERIAL_DIGEST];
    const char *failure_reason; /* IMPORT_FAILED or EXTERNAL_DESTRUCTION_FAILED: why ("" or
                                   NULL: none); column import_failure */
    const char *external_key;   /* "" or NULL: none */
};

struct kms_import_job_row {
    const char *name;
    const struct kms_import_method *method;
    enum kms_protection protection;
    int64_t create_ns, expire_ns;
    unsigned char *private_key; /* DER; sealed at rest under the root key */
    size_t private_key_len;
};

/* Called for every row: rings, then keys, then versions by key and number, then import
 * jobs. A failure stops the load and is its result. */
struct kms_store_visitor {
    enum em_code (*ring)(const struct kms_key_ring_row *row, void *arg, struct em_status *st);
    enum em_code (*key)(const struct kms_key_row *row, void *arg, struct em_status *st);
    enum em_code (*version)(struct kms_version_row *row, void *arg, struct em_status *st);
    /* the private key is unsealed as a version's material is: the visitor may take it */
    enum em_code (*import_job)(struct kms_import_job_row *row, void *arg, struct em_status *st);
    void *arg;
};

enum em_code kms_store_migrate(struct em_store *store, struct em_status *st);
enum em_code kms_store_root_key(const char *data_dir, unsigned char key[KMS_ROOT_KEY_BYTES],
                                struct em_status *st);

/* Every row, through em_stmt_each_row: a step error (busy, I/O, corruption) or a row that
 * does not read (an unknown algorithm, material that does not open with root_key) fails
 * the load, never ends it early with success. */
enum em_code kms_store_load(struct em_store *store,
                            const unsigned char root_key[KMS_ROOT_KEY_BYTES],
                            const struct kms_store_visitor *visitor, struct em_status *st);

/* Writes; the caller groups them in a transaction (em_store_begin/commit). */
enum em_code kms_store_insert_key_ring(struct em_store *store, const struct kms_key_ring_row *row,
                                       struct em_status *st);
enum em_code kms_store_save_key(struct em_store *store, const struct kms_key_row *row,
                                struct em_status *st);
/* Seals row->material under root_key, bound to the version's name. */
enum em_code kms_store_save_version(struct em_store *store,
                                    const unsigned char root_key[KMS_ROOT_KEY_BYTES],
                                    const struct kms_version_row *row, struct em_status *st);
/* Seals row->private_key under root_key, bound to the job's name. Import jobs are never
 * changed nor deleted (only a reset clears them). */
enum em_code kms_store_save_import_job(struct em_store *store,
                                       const unsigned char root_key[KMS_ROOT_KEY_BYTES],
                                       const struct kms_import_job_row *row, struct em_status *st);
enum em_code kms_store_clear(struct em_store *store, struct em_status *st);

/* After erasing key material (destruction, reset): no copy stays in any file of the data
 * directory, WAL included (em_store_purge). Not under the registry lock: it may wait for
 * other processes' readers. A purge held up is retried on the next tick. */
void kms_store_purge(struct em_store *store);

#endif
