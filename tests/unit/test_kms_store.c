/*
 * Unit tests of kms_store on its own, without the registry: rows saved and loaded back
 * field for field (key rings; keys with every template field; versions in every state
 * and of every algorithm family, material included or erased), the sealing of key
 * material (not on disk in the clear, bound to its root key and version name), and
 * loads that fail instead of returning part of the rows: a step error on any table (as a
 * busy or failing database gives), a corrupt page, an unreadable row, a visitor that
 * refuses a row. Also
 * the IAM policies set on KMS resources, which live in the same metadata.db.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_crypto.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_log.h"
#include "kms/kms_store.h"
#include "unit_util.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define RING  "projects/p/locations/global/keyRings/ring"
#define RING2 "projects/p/locations/us-east1/keyRings/other"
#define KEY   RING "/cryptoKeys/key"
#define T0    (1800000000LL * EM_NS_PER_SEC)

/* What a load handed to its visitor, copied out of the rows. */
#define MAX_SEEN 32
struct seen {
    char rings[MAX_SEEN][256];
    int64_t ring_times[MAX_SEEN];
    size_t ring_count;
    struct kms_key_row keys[MAX_SEEN];
    char key_names[MAX_SEEN][256], key_labels[MAX_SEEN][256];
    size_t key_count;
    struct kms_version_row versions[MAX_SEEN];
    char version_keys[MAX_SEEN][256];
    unsigned char materials[MAX_SEEN][64];
    char import_jobs_of_versions[MAX_SEEN][256], import_failures[MAX_SEEN][256];
    size_t version_count;
    struct kms_import_job_row jobs[MAX_SEEN];
    char job_names[MAX_SEEN][256];
    unsigned char job_keys[MAX_SEEN][64];
    size_t job_count;
    char order[4 * MAX_SEEN + 1]; /* 'r', 'k', 'v', 'j' in the order of the calls */
    int refuse_version;           /* refuse the version with this number (0: none) */
};

struct fixture {
    struct unit_dir dir;
    unsigned char root_key[KMS_ROOT_KEY_BYTES];
    struct seen seen;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_dir_open(&f->dir) || kms_store_migrate(f->dir.store, &st) ||
        kms_store_root_key(f->dir.path, f->root_key, &st))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unit_dir_close(&f->dir);
    free(f);
    return 0;
}

/* --- the visitor: copies every row it is handed --- */

static void note(struct seen *s, char what)
{
    size_t len = strlen(s->order);
    if (len + 1 < sizeof(s->order))
        s->order[len] = what;
}

static enum em_code see_ring(const struct kms_key_ring_row *row, void *arg, struct em_status *st)
{
    struct seen *s = arg;
    (void)st;
    note(s, 'r');
    snprintf(s->rings[s->ring_count], sizeof(s->rings[0]), "%s", row->name);
    s->ring_times[s->ring_count++] = row->create_ns;
    return EM_OK;
}

static enum em_code see_key(const struct kms_key_row *row, void *arg, struct em_status *st)
{
    struct seen *s = arg;
    (void)st;
    note(s, 'k');
    size_t i = s->key_count++;
    s->keys[i] = *row;
    snprintf(s->key_names[i], sizeof(s->key_names[0]), "%s", row->name);
    snprintf(s->key_labels[i], sizeof(s->key_labels[0]), "%s", row->labels_json);
    s->keys[i].name = s->key_names[i];
    s->keys[i].labels_json = s->key_labels[i];
    return EM_OK;
}

static enum em_code see_version(struct kms_version_row *row, void *arg, struct em_status *st)
{
    struct seen *s = arg;
    note(s, 'v');
    if ((int)row->id == s->refuse_version)
        return EM_FAIL(st, EM_DATA_LOSS, "refused version %u", row->id);
    size_t i = s->version_count++;
    s->versions[i] = *row;
    snprintf(s->version_keys[i], sizeof(s->version_keys[0]), "%s", row->key_name);
    s->versions[i].key_name = s->version_keys[i];
    s->versions[i].material = NULL;
    if (row->material && row->material_len <= sizeof(s->materials[0])) {
        memcpy(s->materials[i], row->material, row->material_len);
        s->versions[i].material = s->materials[i];
    }
    snprintf(s->import_jobs_of_versions[i], sizeof(s->import_jobs_of_versions[0]), "%s",
             row->import_job);
    s->versions[i].import_job = s->import_jobs_of_versions[i];
    snprintf(s->import_failures[i], sizeof(s->import_failures[0]), "%s", row->failure_reason);
    s->versions[i].failure_reason = s->import_failures[i];
    return EM_OK;
}

static enum em_code see_import_job(struct kms_import_job_row *row, void *arg, struct em_status *st)
{
    struct seen *s = arg;
    (void)st;
    note(s, 'j');
    size_t i = s->job_count++;
    s->jobs[i] = *row;
    snprintf(s->job_names[i], sizeof(s->job_names[0]), "%s", row->name);
    s->jobs[i].name = s->job_names[i];
    s->jobs[i].private_key = NULL;
    if (row->private_key && row->private_key_len <= sizeof(s->job_keys[0])) {
        memcpy(s->job_keys[i], row->private_key, row->private_key_len);
        s->jobs[i].private_key = s->job_keys[i];
    }
    return EM_OK;
}

static enum em_code load(struct fixture *f, struct em_status *st)
{
    memset(&f->seen, 0, offsetof(struct seen, refuse_version));
    struct kms_store_visitor visitor = {see_ring, see_key, see_version, see_import_job, &f->seen};
    return kms_store_load(f->dir.store, f->root_key, &visitor, st);
}

/* --- rows to save --- */

static enum em_code in_transaction_ok(struct fixture *f, enum em_code code, struct em_status *st)
{
    if (code) {
        em_store_rollback(f->dir.store);
        return code;
    }
    return em_store_commit(f->dir.store, st);
}

static void save_ring(struct fixture *f, const char *name, int64_t create_ns)
{
    struct em_status st = {0};
    struct kms_key_ring_row row = {name, create_ns};
    assert_int_equal(kms_store_insert_key_ring(f->dir.store, &row, &st), EM_OK);
}

static struct kms_key_row key_row(const char *name, const char *algorithm)
{
    const struct kms_algorithm *alg = kms_algorithm_find(algorithm);
    assert_non_null(alg);
    return (struct kms_key_row){.name = name,
                                .purpose = alg->purpose,
                                .create_ns = T0,
                                .template_alg = alg,
                                .template_protection = KMS_SOFTWARE,
                                .destroy_scheduled_ns = KMS_DEFAULT_DESTROY_SCHEDULED_NS,
                                .labels_json = "{}"};
}

static void save_key(struct fixture *f, const struct kms_key_row *row)
{
    struct em_status st = {0};
    assert_int_equal(kms_store_save_key(f->dir.store, row, &st), EM_OK);
}

static void save_version(struct fixture *f, const struct kms_version_row *row)
{
    struct em_status st = {0};
    assert_int_equal(em_store_begin(f->dir.store, &st), EM_OK);
    enum em_code code = kms_store_save_version(f->dir.store, f->root_key, row, &st);
    assert_int_equal(in_transaction_ok(f, code, &st), EM_OK);
}

/* A version row of key with distinct times and 32 bytes of material (NULL when
 * DESTROYED): byte i is id * 16 + i. */
static struct kms_version_row version_row(const char *key, uint32_t id, enum kms_state state,
                                          const char *algorithm, unsigned char material[32])
{
    for (int i = 0; i < 32; i++)
        material[i] = (unsigned char)(id * 16 + i);
    bool destroyed = state == KMS_DESTROYED;
    return (struct kms_version_row){.key_name = key,
                                    .id = id,
                                    .state = state,
                                    .prior_state = KMS_ENABLED,
                                    .state_changed_ns = T0 + id,
                                    .alg = kms_algorithm_find(algorithm),
                                    .protection = id % 2 ? KMS_SOFTWARE : KMS_HSM,
                                    .create_ns = T0 + 10 * id,
                                    .generate_ns = T0 + 10 * id + 1,
                                    .destroy_ns = destroyed ? T0 + 100 * id : 0,
                                    .destroy_event_ns = destroyed ? T0 + 100 * id + 1 : 0,
                                    .material = destroyed ? NULL : material,
                                    .material_len = destroyed ? 0 : 32};
}

/* --- round trips --- */

static void test_key_rings_round_trip(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    save_ring(f, RING2, T0 + 5);
    save_ring(f, RING, T0);
    struct kms_key_ring_row again = {RING, T0};
    assert_int_equal(kms_store_insert_key_ring(f->dir.store, &again, &st), EM_ALREADY_EXISTS);
    assert_int_equal(load(f, &st), EM_OK);
    assert_int_equal(f->seen.ring_count, 2);
    assert_string_equal(f->seen.rings[0], RING); /* in name order */
    assert_true(f->seen.ring_times[0] == T0);
    assert_string_equal(f->seen.rings[1], RING2);
    assert_true(f->seen.ring_times[1] == T0 + 5);
}

static void test_keys_round_trip_every_field(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct kms_key_row symmetric = key_row(KEY, "GOOGLE_SYMMETRIC_ENCRYPTION");
    symmetric.primary = 3;
    symmetric.rotation_period_ns = 7 * 86400 * EM_NS_PER_SEC;
    symmetric.next_rotation_ns = T0 + 42;
    symmetric.destroy_scheduled_ns = 2 * 86400 * EM_NS_PER_SEC;
    symmetric.labels_json = "{\"team\":\"payments\"}";
    struct kms_key_row signer = key_row(RING "/cryptoKeys/signer", "EC_SIGN_P384_SHA384");
    signer.template_protection = KMS_HSM;
    signer.import_only = true;
    save_key(f, &symmetric);
    save_key(f, &signer);
    symmetric.primary = 4; /* saving again replaces the row */
    save_key(f, &symmetric);
    assert_int_equal(load(f, &st), EM_OK);
    assert_int_equal(f->seen.key_count, 2);
    const struct kms_key_row *k = &f->seen.keys[0];
    assert_string_equal(k->name, KEY);
    assert_int_equal(k->purpose, KMS_ENCRYPT_DECRYPT);
    assert_true(k->create_ns == T0);
    assert_int_equal(k->primary, 4);
    assert_ptr_equal(k->template_alg, symmetric.template_alg);
    assert_int_equal(k->template_protection, KMS_SOFTWARE);
    assert_true(k->rotation_period_ns == symmetric.rotation_period_ns);
    assert_true(k->next_rotation_ns == T0 + 42);
    assert_true(k->destroy_scheduled_ns == symmetric.destroy_scheduled_ns);
    assert_false(k->import_only);
    assert_string_equal(k->labels_json, "{\"team\":\"payments\"}");
    k = &f->seen.keys[1];
    assert_string_equal(k->name, RING "/cryptoKeys/signer");
    assert_int_equal(k->purpose, KMS_ASYMMETRIC_SIGN);
    assert_string_equal(k->template_alg->name, "EC_SIGN_P384_SHA384");
    assert_int_equal(k->template_protection, KMS_HSM);
    assert_true(k->import_only);
    assert_string_equal(k->labels_json, "{}");
}

static const enum kms_state every_state[] = {
    KMS_PENDING_GENERATION, KMS_ENABLED,        KMS_DISABLED,     KMS_DESTROYED,
    KMS_DESTROY_SCHEDULED,  KMS_PENDING_IMPORT, KMS_IMPORT_FAILED};

/* One algorithm of each family the store may be given. */
static const char *const every_family[] = {"GOOGLE_SYMMETRIC_ENCRYPTION",
                                           "RSA_SIGN_PSS_2048_SHA256",
                                           "RSA_SIGN_PKCS1_3072_SHA256",
                                           "RSA_SIGN_RAW_PKCS1_4096",
                                           "RSA_DECRYPT_OAEP_2048_SHA256",
                                           "EC_SIGN_SECP256K1_SHA256",
                                           "EC_SIGN_ED25519",
                                           "HMAC_SHA512"};

static void test_versions_round_trip_every_state_and_family(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    size_t states = sizeof(every_state) / sizeof(*every_state);
    size_t families = sizeof(every_family) / sizeof(*every_family);
    size_t count = states > families ? states : families;
    unsigned char material[MAX_SEEN][32];
    struct kms_version_row saved[MAX_SEEN];
    struct kms_key_row key = key_row(KEY, "GOOGLE_SYMMETRIC_ENCRYPTION");
    save_key(f, &key);
    for (size_t i = count; i-- > 0;) { /* saved last to first: the load orders them */
        saved[i] = version_row(KEY, (uint32_t)i + 1, every_state[i % states],
                               every_family[i % families], material[i]);
        save_version(f, &saved[i]);
    }
    assert_int_equal(load(f, &st), EM_OK);
    assert_int_equal(f->seen.version_count, count);
    for (size_t i = 0; i < count; i++) {
        const struct kms_version_row *got = &f->seen.versions[i], *want = &saved[i];
        assert_string_equal(got->key_name, KEY);
        assert_int_equal(got->id, want->id);
        assert_int_equal(got->state, want->state);
        assert_int_equal(got->prior_state, KMS_ENABLED);
        assert_true(got->state_changed_ns == want->state_changed_ns);
        assert_ptr_equal(got->alg, want->alg);
        assert_int_equal(got->protection, want->protection);
        assert_true(got->create_ns == want->create_ns);
        assert_true(got->generate_ns == want->generate_ns);
        assert_true(got->destroy_ns == want->destroy_ns);
        assert_true(got->destroy_event_ns == want->destroy_event_ns);
        if (want->state == KMS_DESTROYED) {
            assert_null(got->material);
        } else {
            assert_int_equal(got->material_len, 32);
            assert_memory_equal(got->material, material[i], 32);
        }
    }
}

/* An imported version keeps its import job, time and material digest; an import job its
 * fields and its private key, sealed (not in the clear, bound to the job's name). */
static void test_imports_round_trip(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    unsigned char material[32], private_key[48];
    struct kms_key_row key = key_row(KEY, "GOOGLE_SYMMETRIC_ENCRYPTION");
    struct kms_version_row v =
        version_row(KEY, 1, KMS_DESTROYED, "GOOGLE_SYMMETRIC_ENCRYPTION", material);
    v.import_job = RING "/importJobs/job";
    v.import_ns = T0 + 7;
    v.failure_reason = "why it failed";
    memset(v.material_digest, 0xab, sizeof(v.material_digest));
    save_key(f, &key);
    save_version(f, &v);
    for (size_t i = 0; i < sizeof(private_key); i++)
        private_key[i] = (unsigned char)(0x40 + i);
    struct kms_import_job_row job = {RING "/importJobs/job",
                                     kms_import_method_find("RSA_OAEP_4096_SHA256"),
                                     KMS_HSM,
                                     T0,
                                     T0 + 3 * 86400 * EM_NS_PER_SEC,
                                     private_key,
                                     sizeof(private_key)};
    assert_int_equal(em_store_begin(f->dir.store, &st), EM_OK);
    enum em_code code = kms_store_save_import_job(f->dir.store, f->root_key, &job, &st);
    assert_int_equal(in_transaction_ok(f, code, &st), EM_OK);
    assert_int_equal(load(f, &st), EM_OK);
    assert_string_equal(f->seen.order, "kvj");
    const struct kms_version_row *got = &f->seen.versions[0];
    assert_string_equal(got->import_job, RING "/importJobs/job");
    assert_true(got->import_ns == T0 + 7);
    assert_string_equal(got->failure_reason, "why it failed");
    assert_memory_equal(got->material_digest, v.material_digest, sizeof(v.material_digest));
    const struct kms_import_job_row *j = &f->seen.jobs[0];
    assert_string_equal(j->name, job.name);
    assert_ptr_equal(j->method, job.method);
    assert_int_equal(j->protection, KMS_HSM);
    assert_true(j->create_ns == T0 && j->expire_ns == job.expire_ns);
    assert_int_equal(j->private_key_len, sizeof(private_key));
    assert_memory_equal(j->private_key, private_key, sizeof(private_key));

    sqlite3_stmt *stmt =
        em_store_stmt(f->dir.store, "SELECT sealed_private_key FROM kms_import_jobs", &st);
    assert_non_null(stmt);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    const unsigned char *blob = sqlite3_column_blob(stmt, 0);
    size_t blob_len = (size_t)sqlite3_column_bytes(stmt, 0);
    for (size_t i = 0; i + 8 <= blob_len; i++)
        assert_false(memcmp(blob + i, private_key, 8) == 0);
    em_stmt_done(stmt);
    assert_int_equal(
        em_store_exec(f->dir.store, "UPDATE kms_import_jobs SET name = name || 'x'", &st), EM_OK);
    assert_int_equal(load(f, &st), EM_DATA_LOSS); /* bound to the job's name */
    assert_int_equal(kms_store_clear(f->dir.store, &st), EM_OK);
    assert_int_equal(load(f, &st), EM_OK);
    assert_string_equal(f->seen.order, "");
}

/* The load hands rings, then keys, then versions (each key's in order). */
static void test_load_order(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    unsigned char material[3][32];
    struct kms_version_row v2 = version_row(KEY "b", 2, KMS_ENABLED, "HMAC_SHA256", material[0]);
    struct kms_version_row v1 = version_row(KEY "b", 1, KMS_ENABLED, "HMAC_SHA256", material[1]);
    struct kms_version_row a1 = version_row(KEY "a", 1, KMS_ENABLED, "HMAC_SHA256", material[2]);
    struct kms_key_row kb = key_row(KEY "b", "HMAC_SHA256"), ka = key_row(KEY "a", "HMAC_SHA256");
    save_key(f, &kb);
    save_version(f, &v2);
    save_version(f, &v1);
    save_ring(f, RING, T0);
    save_key(f, &ka);
    save_version(f, &a1);
    assert_int_equal(load(f, &st), EM_OK);
    assert_string_equal(f->seen.order, "rkkvvv");
    assert_string_equal(f->seen.version_keys[0], KEY "a");
    assert_int_equal(f->seen.versions[1].id, 1);
    assert_int_equal(f->seen.versions[2].id, 2);
}

static void test_clear_empties_every_table(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    unsigned char material[32];
    struct kms_key_row key = key_row(KEY, "GOOGLE_SYMMETRIC_ENCRYPTION");
    struct kms_version_row v =
        version_row(KEY, 1, KMS_ENABLED, "GOOGLE_SYMMETRIC_ENCRYPTION", material);
    save_ring(f, RING, T0);
    save_key(f, &key);
    save_version(f, &v);
    assert_int_equal(kms_store_clear(f->dir.store, &st), EM_OK);
    assert_int_equal(load(f, &st), EM_OK);
    assert_string_equal(f->seen.order, "");
}

/* --- sealing --- */

static bool blob_contains(struct fixture *f, const unsigned char *needle, size_t len)
{
    struct em_status st = {0};
    sqlite3_stmt *stmt =
        em_store_stmt(f->dir.store, "SELECT sealed_material FROM kms_key_versions", &st);
    assert_non_null(stmt);
    bool found = false;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const unsigned char *blob = sqlite3_column_blob(stmt, 0);
        size_t blob_len = (size_t)sqlite3_column_bytes(stmt, 0);
        for (size_t i = 0; blob && i + len <= blob_len && !found; i++)
            found = memcmp(blob + i, needle, len) == 0;
    }
    em_stmt_done(stmt);
    return found;
}

static void test_material_is_sealed_under_the_root_key(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    unsigned char material[32];
    struct kms_key_row key = key_row(KEY, "GOOGLE_SYMMETRIC_ENCRYPTION");
    struct kms_version_row v =
        version_row(KEY, 1, KMS_ENABLED, "GOOGLE_SYMMETRIC_ENCRYPTION", material);
    save_key(f, &key);
    save_version(f, &v);
    assert_false(blob_contains(f, material, 8)); /* not in the clear */
    assert_int_equal(load(f, &st), EM_OK);
    assert_memory_equal(f->seen.versions[0].material, material, 32);

    unsigned char right_key[KMS_ROOT_KEY_BYTES];
    memcpy(right_key, f->root_key, sizeof(right_key));
    f->root_key[0] ^= 1; /* another data directory's root key */
    assert_int_equal(load(f, &st), EM_DATA_LOSS);
    assert_non_null(strstr(st.message, "does not open with this data directory's root key"));
    memcpy(f->root_key, right_key, sizeof(right_key));

    /* the seal is bound to the version's name: a blob moved to another row does not open */
    assert_int_equal(em_store_exec(f->dir.store,
                                   "UPDATE kms_key_versions SET version = 2 WHERE version = 1",
                                   &st),
                     EM_OK);
    assert_int_equal(load(f, &st), EM_DATA_LOSS);
}

/* --- loads that fail --- */

static void save_some(struct fixture *f)
{
    unsigned char material[4][32];
    save_ring(f, RING, T0);
    save_ring(f, RING2, T0);
    for (uint32_t k = 0; k < 2; k++) {
        const char *name = k ? KEY "2" : KEY;
        struct kms_key_row key = key_row(name, "GOOGLE_SYMMETRIC_ENCRYPTION");
        save_key(f, &key);
        for (uint32_t id = 1; id <= 2; id++) {
            struct kms_version_row v = version_row(
                name, id, KMS_ENABLED, "GOOGLE_SYMMETRIC_ENCRYPTION", material[k * 2 + id - 1]);
            save_version(f, &v);
        }
    }
}

static void test_step_error_fails_the_load(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    save_some(f);
    static const char *const tables[] = {"FROM kms_key_rings", "FROM kms_crypto_keys",
                                         "FROM kms_key_versions"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++) {
        struct unit_step_fault fault = {.sql_part = tables[i], .rows = 1};
        unit_step_fault_arm(f->dir.store, &fault);
        assert_int_equal(load(f, &st), EM_INTERNAL);
        unit_step_fault_disarm(f->dir.store);
        assert_int_equal(fault.seen, 1);
    }
    assert_int_equal(load(f, &st), EM_OK);
    assert_string_equal(f->seen.order, "rrkkvvvv");
}

/* The versions table's root page overwritten on disk: the load reports the corruption
 * (SQLite's "database disk image is malformed") instead of stopping at it. */
static void test_corrupt_table_fails_the_load(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    save_some(f);
    sqlite3_stmt *stmt =
        em_store_stmt(f->dir.store,
                      "SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_schema"
                      " WHERE name = 'kms_key_versions'",
                      &st);
    assert_non_null(stmt);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    long page = sqlite3_column_int(stmt, 0), page_size = sqlite3_column_int(stmt, 1);
    em_stmt_done(stmt);
    em_store_close(f->dir.store); /* the WAL goes into the database file */
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/metadata.db", f->dir.path);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    unsigned char garbage[64];
    memset(garbage, 0xA5, sizeof(garbage));
    assert_int_equal(pwrite(fd, garbage, sizeof(garbage), (page - 1) * page_size),
                     (ssize_t)sizeof(garbage));
    close(fd);
    assert_int_equal(em_store_open(path, &f->dir.store, &st), EM_OK);
    assert_int_not_equal(load(f, &st), EM_OK);
    assert_int_equal(st.code, EM_INTERNAL);
    assert_int_equal(f->seen.version_count, 0);
}

static void expect_unreadable(struct fixture *f, const char *break_sql, const char *message,
                              const char *repair_sql)
{
    struct em_status st = {0};
    assert_int_equal(em_store_exec(f->dir.store, break_sql, &st), EM_OK);
    assert_int_equal(load(f, &st), EM_DATA_LOSS);
    assert_non_null(strstr(st.message, message));
    assert_int_equal(em_store_exec(f->dir.store, repair_sql, &st), EM_OK);
    if (load(f, &st))
        fail_msg("after %s: %s", repair_sql, st.message);
}

static void test_unreadable_rows_fail_the_load(void **state)
{
    struct fixture *f = *state;
    save_some(f);
    expect_unreadable(
        f, "UPDATE kms_crypto_keys SET template_algorithm = 'ROT13'",
        "crypto key row " KEY " is unreadable",
        "UPDATE kms_crypto_keys SET template_algorithm = 'GOOGLE_SYMMETRIC_ENCRYPTION'");
    expect_unreadable(f, "UPDATE kms_key_versions SET algorithm = 'ROT13' WHERE version = 2",
                      "cryptoKeyVersions/2 has no algorithm",
                      "UPDATE kms_key_versions SET algorithm = 'GOOGLE_SYMMETRIC_ENCRYPTION'");
    expect_unreadable(f, "UPDATE kms_key_versions SET sealed_material = x'0102' WHERE version = 2",
                      "cryptoKeyVersions/2 is truncated",
                      "UPDATE kms_key_versions SET sealed_material = NULL WHERE version = 2");
}

/* A visitor's failure is the load's result, and the rows after it are not handed out;
 * the refused row's material is wiped and freed by the store (ASan checks the leak). */
static void test_visitor_failure_stops_the_load(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    save_some(f);
    f->seen.refuse_version = 2;
    assert_int_equal(load(f, &st), EM_DATA_LOSS);
    assert_string_equal(st.message, "refused version 2");
    assert_string_equal(f->seen.order, "rrkkvv");
}

/* --- IAM policies on KMS resources --- */

static void test_iam_policies_on_kms_resources_persist(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(em_iam_open(f->dir.store, &st), EM_OK);
    cJSON *ring_policy = cJSON_Parse("{\"bindings\":[{\"role\":\"roles/"
                                     "cloudkms.viewer\",\"members\":[\"user:a@example.com\"]}]}");
    cJSON *key_policy =
        cJSON_Parse("{\"bindings\":[{\"role\":\"roles/cloudkms.cryptoKeyEncrypterDecrypter\","
                    "\"members\":[\"serviceAccount:b@example.com\"]}]}");
    cJSON *stored;
    assert_int_equal(em_iam_set_policy(f->dir.store, RING, ring_policy, &stored, &st), EM_OK);
    cJSON_Delete(stored);
    assert_int_equal(em_iam_set_policy(f->dir.store, KEY, key_policy, &stored, &st), EM_OK);
    cJSON_Delete(stored);
    cJSON_Delete(ring_policy);
    cJSON_Delete(key_policy);

    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/metadata.db", f->dir.path);
    em_store_close(f->dir.store);
    assert_int_equal(em_store_open(path, &f->dir.store, &st), EM_OK);
    assert_int_equal(em_iam_open(f->dir.store, &st), EM_OK);

    cJSON *policy;
    assert_int_equal(em_iam_get_policy(f->dir.store, KEY, &policy, &st), EM_OK);
    char *text = cJSON_PrintUnformatted(policy);
    assert_non_null(strstr(text, "roles/cloudkms.cryptoKeyEncrypterDecrypter"));
    assert_non_null(strstr(text, "serviceAccount:b@example.com"));
    assert_null(strstr(text, "roles/cloudkms.viewer")); /* the ring's own policy stays its own */
    cJSON_free(text);
    cJSON_Delete(policy);
    assert_int_equal(em_iam_get_policy(f->dir.store, RING, &policy, &st), EM_OK);
    text = cJSON_PrintUnformatted(policy);
    assert_non_null(strstr(text, "user:a@example.com"));
    cJSON_free(text);
    cJSON_Delete(policy);
}

int main(void)
{
    em_log_init("test", EM_LOG_WARNING);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_key_rings_round_trip),
        T(test_keys_round_trip_every_field),
        T(test_versions_round_trip_every_state_and_family),
        T(test_load_order),
        T(test_clear_empties_every_table),
        T(test_material_is_sealed_under_the_root_key),
        T(test_step_error_fails_the_load),
        T(test_corrupt_table_fails_the_load),
        T(test_unreadable_rows_fail_the_load),
        T(test_visitor_failure_stops_the_load),
        T(test_imports_round_trip),
        T(test_iam_policies_on_kms_resources_persist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
