/*
 * Unit tests of kms_keys: the version state machine, scheduled destruction and
 * crypto-shredding, rotation, the propagation delay, validation of key specs,
 * persistence across a restart of the registry (a step error fails the load), key
 * generation outside the registry lock, copies and lists, and versions held by
 * cryptographic calls across their destruction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_json.h"
#include "em_log.h"
#include "em_ekm.h"
#include "em_faults.h"
#include "kms/kms.h"
#include "unit_util.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RING "projects/test-project/locations/global/keyRings/ring"
#define KEY  RING "/cryptoKeys/key"
#define T0   (1800000000LL * EM_NS_PER_SEC)
#define DAY  (86400LL * EM_NS_PER_SEC)

struct fixture {
    struct unit_dir dir;
    struct kms_registry *reg;
};

static struct kms_key_spec symmetric = {.purpose = "ENCRYPT_DECRYPT"};

static int open_registry(struct fixture *f, int64_t propagation_ns)
{
    struct em_status st = {0};
    return kms_registry_open(f->dir.store, f->dir.path, propagation_ns, &f->reg, &st) ? -1 : 0;
}

static int setup_with_delay(void **state, int64_t propagation_ns)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct em_status st = {0};
    if (!f || unit_dir_open(&f->dir) || open_registry(f, propagation_ns) ||
        kms_key_ring_create(f->reg, RING, T0, NULL, &st) ||
        kms_key_create(f->reg, KEY, &symmetric, false, T0, NULL, &st))
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with_delay(state, 0);
}

static int setup_delayed(void **state)
{
    return setup_with_delay(state, 60 * EM_NS_PER_SEC);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    kms_registry_close(f->reg);
    unit_dir_close(&f->dir);
    free(f);
    return 0;
}

/* A copy of the test key as the registry holds it now (kms_key_free). */
static struct kms_key *key_now(struct fixture *f, const char *name)
{
    struct em_status st = {0};
    struct kms_key *key = NULL;
    assert_int_equal(kms_key_copy(f->reg, name, &key, &st), EM_OK);
    return key;
}

static enum kms_state state_of(struct fixture *f, uint32_t id)
{
    struct kms_key *key = key_now(f, KEY);
    const struct kms_version *v = kms_version_find(key, id);
    assert_non_null(v);
    enum kms_state state = v->state;
    kms_key_free(key);
    return state;
}

static const char *version_name(uint32_t id)
{
    static char name[256];
    snprintf(name, sizeof(name), KEY "/cryptoKeyVersions/%u", id);
    return name;
}

static const char *version_name_of(uint32_t id, char out[KMS_VERSION_NAME_MAX])
{
    snprintf(out, KMS_VERSION_NAME_MAX, KEY "/cryptoKeyVersions/%u", id);
    return out;
}

/* Holds version id of the test key, checks whether it may be used at now, lets it go. */
static enum em_code usable_at(struct fixture *f, uint32_t id, int64_t now, struct em_status *st)
{
    struct kms_version_ref ref;
    assert_int_equal(kms_key_version_get(f->reg, KEY, id, &ref, st), EM_OK);
    assert_true(ref.found);
    enum em_code code = kms_version_check_usable(f->reg, &ref, now, st);
    kms_version_put(&ref);
    return code;
}

static enum em_code set_state(struct fixture *f, uint32_t id, enum kms_state state, int64_t now,
                              struct em_status *st)
{
    return kms_version_set_state(f->reg, version_name(id), state, now, NULL, st);
}

static void test_create_gives_enabled_primary(void **state)
{
    struct fixture *f = *state;
    struct kms_key *key = key_now(f, KEY);
    assert_int_equal(key->version_count, 1);
    assert_int_equal(key->primary, 1);
    assert_int_equal(key->versions[0]->state, KMS_ENABLED);
    assert_null(key->versions[0]->material); /* copies carry no key material */
    assert_string_equal(key->template_alg->name, "GOOGLE_SYMMETRIC_ENCRYPTION");
    assert_true(key->destroy_scheduled_ns == 30 * DAY);
    kms_key_free(key);
    struct em_status st = {0};
    assert_int_equal(usable_at(f, 1, T0, &st), EM_OK);
    struct kms_version_ref ref;
    assert_int_equal(kms_primary_version_get(f->reg, KEY, &ref, &st), EM_OK);
    assert_true(ref.found && ref.primary);
    assert_string_equal(ref.name, KEY "/cryptoKeyVersions/1");
    assert_non_null(kms_version_material(&ref));
    kms_version_put(&ref);
    assert_null(kms_version_material(&ref));
}

static void test_duplicates_and_missing_parents(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct kms_key_ring *ring;
    struct kms_key *key;
    assert_int_equal(kms_key_ring_create(f->reg, RING, T0, &ring, &st), EM_ALREADY_EXISTS);
    assert_null(ring);
    assert_int_equal(kms_key_create(f->reg, KEY, &symmetric, false, T0, &key, &st),
                     EM_ALREADY_EXISTS);
    assert_null(key);
    assert_int_equal(kms_key_create(f->reg,
                                    "projects/test-project/locations/global/keyRings/"
                                    "nope/cryptoKeys/k",
                                    &symmetric, false, T0, &key, &st),
                     EM_NOT_FOUND);
    assert_non_null(strstr(st.message, "keyRings/nope"));
}

static void test_spec_validation(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct kms_key *key;
    struct kms_key_spec no_purpose = {0};
    struct kms_key_spec no_algorithm = {.purpose = "ASYMMETRIC_SIGN"};
    struct kms_key_spec mismatch = {.purpose = "MAC", .algorithm = "EC_SIGN_P256_SHA256"};
    struct kms_key_spec rotating_signer = {.purpose = "ASYMMETRIC_SIGN",
                                           .algorithm = "EC_SIGN_P256_SHA256",
                                           .rotation_period_ns = 30 * DAY};
    struct kms_key_spec short_rotation = {.purpose = "ENCRYPT_DECRYPT",
                                          .rotation_period_ns = DAY / 2};
    struct kms_key_spec short_destroy = {.purpose = "ENCRYPT_DECRYPT",
                                         .destroy_scheduled_ns = DAY / 24};
    const struct kms_key_spec *bad[] = {&no_purpose,      &no_algorithm,   &mismatch,
                                        &rotating_signer, &short_rotation, &short_destroy};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            kms_key_create(f->reg, RING "/cryptoKeys/bad", bad[i], false, T0, &key, &st),
            EM_INVALID_ARGUMENT);
        assert_false(kms_key_exists(f->reg, RING "/cryptoKeys/bad"));
    }
    /* an external key with Google's algorithm (test_external_keys has the rest) */
    struct kms_key_spec external = {.purpose = "ENCRYPT_DECRYPT", .protection = "EXTERNAL"};
    assert_int_equal(
        kms_key_create(f->reg, RING "/cryptoKeys/ext", &external, false, T0, &key, &st),
        EM_INVALID_ARGUMENT);
}

static void test_disable_enable(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct kms_version_view view;
    assert_int_equal(
        kms_version_set_state(f->reg, version_name(1), KMS_DISABLED, T0 + 1, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_DISABLED); /* the reply's copy */
    kms_version_view_free(&view);
    assert_int_equal(usable_at(f, 1, T0 + 2, &st), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "cryptoKeyVersions/1 is not enabled"));
    assert_non_null(strstr(st.message, "DISABLED"));
    assert_int_equal(set_state(f, 1, KMS_ENABLED, T0 + 3, &st), EM_OK);
    assert_int_equal(usable_at(f, 1, T0 + 4, &st), EM_OK);
    assert_int_equal(set_state(f, 1, KMS_DESTROYED, T0 + 5, &st), EM_INVALID_ARGUMENT);
}

static void test_destroy_restore_and_shred(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    const char *v1 = version_name(1);
    struct kms_version_view view;
    assert_int_equal(kms_version_destroy(f->reg, v1, T0, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_DESTROY_SCHEDULED);
    assert_true(view.version->destroy_ns == T0 + 30 * DAY);
    kms_version_view_free(&view);
    assert_int_equal(set_state(f, 1, KMS_ENABLED, T0, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(kms_version_destroy(f->reg, v1, T0, NULL, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(kms_version_restore(f->reg, v1, T0 + DAY, NULL, &st), EM_OK);
    assert_int_equal(state_of(f, 1), KMS_DISABLED);
    assert_int_equal(kms_version_restore(f->reg, v1, T0 + DAY, NULL, &st), EM_FAILED_PRECONDITION);

    assert_int_equal(kms_version_destroy(f->reg, v1, T0 + DAY, NULL, &st), EM_OK);
    assert_int_equal(kms_registry_tick(f->reg, T0 + 31 * DAY - 1, &st), EM_OK);
    assert_int_equal(state_of(f, 1), KMS_DESTROY_SCHEDULED);
    struct kms_version_ref ref;
    assert_int_equal(kms_version_get(f->reg, v1, &ref, &st), EM_OK);
    assert_non_null(kms_version_material(&ref));
    kms_version_put(&ref);
    assert_int_equal(kms_registry_tick(f->reg, T0 + 31 * DAY, &st), EM_OK);
    assert_int_equal(kms_version_copy(f->reg, v1, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_DESTROYED);
    assert_true(view.version->destroy_event_ns == T0 + 31 * DAY);
    kms_version_view_free(&view);
    assert_int_equal(kms_version_get(f->reg, v1, &ref, &st), EM_OK);
    assert_null(kms_version_material(&ref));
    assert_int_equal(kms_version_check_usable(f->reg, &ref, T0 + 31 * DAY, &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "DESTROYED"));
    kms_version_put(&ref);
    assert_int_equal(kms_version_restore(f->reg, v1, T0 + 32 * DAY, NULL, &st),
                     EM_FAILED_PRECONDITION);

    /* crypto-shredding is on disk too: the sealed material is gone */
    sqlite3_stmt *stmt = em_store_stmt(
        f->dir.store, "SELECT sealed_material FROM kms_key_versions WHERE version = 1", &st);
    assert_non_null(stmt);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(stmt, 0), SQLITE_NULL);
    em_stmt_done(stmt);
}

/* A call holding a version keeps its material through the version's destruction: the
 * call finishes with the key it started with, and the material is erased when it lets
 * go (ASan reports a use after free or a leak otherwise). Calls after the destruction
 * see DESTROYED. */
static void test_held_version_outlives_its_destruction(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct kms_version_ref held;
    assert_int_equal(kms_primary_version_get(f->reg, KEY, &held, &st), EM_OK);
    assert_int_equal(kms_version_check_usable(f->reg, &held, T0, &st), EM_OK);
    assert_int_equal(kms_version_destroy(f->reg, version_name(1), T0, NULL, &st), EM_OK);
    assert_int_equal(kms_registry_tick(f->reg, T0 + 30 * DAY, &st), EM_OK);
    assert_int_equal(state_of(f, 1), KMS_DESTROYED);

    unsigned char ct[256], pt[64];
    size_t pt_len;
    const unsigned char secret[] = "in flight";
    assert_int_equal(
        kms_encrypt(kms_version_material(&held), 1, NULL, 0, secret, sizeof(secret), ct, &st),
        EM_OK);
    assert_true(kms_decrypt(kms_version_material(&held), NULL, 0, ct,
                            kms_ciphertext_size(sizeof(secret)), pt, &pt_len));
    kms_version_put(&held);

    struct kms_version_ref later;
    assert_int_equal(kms_primary_version_get(f->reg, KEY, &later, &st), EM_OK);
    assert_null(kms_version_material(&later));
    assert_int_equal(kms_version_check_usable(f->reg, &later, T0 + 30 * DAY, &st),
                     EM_FAILED_PRECONDITION);
    kms_version_put(&later);
}

static void test_rotation(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct kms_key_update update = {.mask = KMS_FIELD_ROTATION_PERIOD | KMS_FIELD_NEXT_ROTATION,
                                    .rotation_period_ns = 7 * DAY,
                                    .next_rotation_ns = T0 + DAY};
    assert_int_equal(kms_key_update(f->reg, KEY, &update, T0, NULL, &st), EM_OK);
    assert_int_equal(kms_registry_tick(f->reg, T0 + DAY - 1, &st), EM_OK);
    struct kms_key *key = key_now(f, KEY);
    assert_int_equal(key->version_count, 1);
    kms_key_free(key);
    assert_int_equal(kms_registry_tick(f->reg, T0 + DAY, &st), EM_OK);
    key = key_now(f, KEY);
    assert_int_equal(key->version_count, 2);
    assert_int_equal(key->primary, 2);
    assert_true(key->next_rotation_ns == T0 + 8 * DAY);
    kms_key_free(key);
    /* a long jump rotates once and schedules the next rotation in the future */
    assert_int_equal(kms_registry_tick(f->reg, T0 + 100 * DAY, &st), EM_OK);
    key = key_now(f, KEY);
    assert_int_equal(key->version_count, 3);
    assert_true(key->next_rotation_ns > T0 + 100 * DAY);
    kms_key_free(key);
}

static void test_propagation_delay(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    int64_t sec = EM_NS_PER_SEC;
    assert_int_equal(set_state(f, 1, KMS_DISABLED, T0, &st), EM_OK);
    assert_int_equal(state_of(f, 1), KMS_DISABLED);
    struct kms_version_ref ref;
    assert_int_equal(kms_key_version_get(f->reg, KEY, 1, &ref, &st), EM_OK);
    assert_int_equal(kms_version_effective_state(f->reg, &ref.version, T0 + 59 * sec), KMS_ENABLED);
    assert_int_equal(kms_version_effective_state(f->reg, &ref.version, T0 + 60 * sec),
                     KMS_DISABLED);
    kms_version_put(&ref);
    assert_int_equal(usable_at(f, 1, T0 + 59 * sec, &st), EM_OK);
    assert_int_equal(usable_at(f, 1, T0 + 60 * sec, &st), EM_FAILED_PRECONDITION);
}

static void test_set_primary(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct kms_version_view view;
    assert_int_equal(kms_version_create(f->reg, KEY, T0, &view, &st), EM_OK);
    assert_int_equal(view.version->id, 2);
    assert_int_equal(view.key->primary, 1); /* a new version does not become primary */
    kms_version_view_free(&view);
    struct kms_key *key;
    assert_int_equal(kms_key_set_primary(f->reg, KEY, 2, &key, &st), EM_OK);
    assert_int_equal(key->primary, 2);
    kms_key_free(key);
    assert_int_equal(kms_key_set_primary(f->reg, KEY, 9, &key, &st), EM_NOT_FOUND);
    assert_null(key);
    assert_int_equal(set_state(f, 1, KMS_DISABLED, T0, &st), EM_OK);
    assert_int_equal(kms_key_set_primary(f->reg, KEY, 1, NULL, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(kms_key_set_primary(f->reg, KEY "x", 1, NULL, &st), EM_NOT_FOUND);
}

static void test_copies_and_lists(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(kms_key_ring_create(f->reg, RING "2", T0, NULL, &st), EM_OK);
    assert_int_equal(kms_key_create(f->reg, KEY "2", &symmetric, true, T0, NULL, &st), EM_OK);
    assert_int_equal(
        kms_key_create(f->reg, RING "2/cryptoKeys/other", &symmetric, false, T0, NULL, &st), EM_OK);
    struct kms_key_ring_list rings;
    assert_int_equal(
        kms_key_ring_list(f->reg, "projects/test-project/locations/global", &rings, &st), EM_OK);
    assert_int_equal(rings.count, 2);
    assert_string_equal(rings.items[0]->name, RING);
    assert_string_equal(rings.items[1]->name, RING "2");
    kms_key_ring_list_free(&rings);
    struct kms_key_list keys;
    assert_int_equal(kms_key_list(f->reg, RING, &keys, &st), EM_OK);
    assert_int_equal(keys.count, 2); /* not the other ring's key */
    assert_string_equal(keys.items[0]->name, KEY);
    assert_string_equal(keys.items[1]->name, KEY "2");
    assert_int_equal(keys.items[1]->version_count, 0);
    kms_key_list_free(&keys);
    assert_int_equal(kms_key_list(f->reg, RING "3", &keys, &st), EM_NOT_FOUND);
    assert_non_null(strstr(st.message, "KeyRing " RING "3 not found."));

    struct kms_key_ring *ring;
    assert_int_equal(kms_key_ring_copy(f->reg, RING, &ring, &st), EM_OK);
    assert_true(ring->create_ns == T0);
    kms_key_ring_free(ring);
    assert_int_equal(kms_key_ring_copy(f->reg, RING "3", &ring, &st), EM_NOT_FOUND);
    struct kms_key *key;
    assert_int_equal(kms_key_copy(f->reg, KEY "3", &key, &st), EM_NOT_FOUND);
    assert_string_equal(st.message, "CryptoKey " KEY "3 not found.");
    assert_true(kms_key_ring_exists(f->reg, RING "2"));
    assert_false(kms_key_exists(f->reg, KEY "3"));

    /* a copy is the caller's: later changes do not reach it */
    key = key_now(f, KEY);
    assert_int_equal(set_state(f, 1, KMS_DISABLED, T0, &st), EM_OK);
    assert_int_equal(key->versions[0]->state, KMS_ENABLED);
    kms_key_free(key);
}

static void test_survives_restart(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    unsigned char ct[256], pt[64];
    size_t pt_len;
    const unsigned char secret[] = "persisted secret";
    struct kms_version_ref ref;
    assert_int_equal(kms_key_version_get(f->reg, KEY, 1, &ref, &st), EM_OK);
    assert_int_equal(
        kms_encrypt(kms_version_material(&ref), 1, NULL, 0, secret, sizeof(secret), ct, &st),
        EM_OK);
    kms_version_put(&ref);
    assert_int_equal(set_state(f, 1, KMS_DISABLED, T0, &st), EM_OK);
    kms_registry_close(f->reg);
    assert_int_equal(open_registry(f, 0), 0);
    assert_int_equal(state_of(f, 1), KMS_DISABLED);
    assert_int_equal(kms_key_version_get(f->reg, KEY, 1, &ref, &st), EM_OK);
    assert_true(kms_decrypt(kms_version_material(&ref), NULL, 0, ct,
                            kms_ciphertext_size(sizeof(secret)), pt, &pt_len));
    kms_version_put(&ref);
    assert_memory_equal(pt, secret, sizeof(secret));
}

/* A step error part-way through any of the three loads fails the open instead of
 * returning a registry that silently lacks the rows after it. */
static void test_load_fails_on_step_error(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(kms_key_ring_create(f->reg, RING "2", T0, NULL, &st), EM_OK);
    assert_int_equal(kms_key_create(f->reg, KEY "2", &symmetric, false, T0, NULL, &st), EM_OK);
    assert_int_equal(kms_key_create(f->reg, KEY "3", &symmetric, false, T0, NULL, &st), EM_OK);
    kms_registry_close(f->reg);
    f->reg = NULL;
    static const char *const tables[] = {"FROM kms_key_rings", "FROM kms_crypto_keys",
                                         "FROM kms_key_versions"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++) {
        struct unit_step_fault fault = {.sql_part = tables[i], .rows = 1};
        unit_step_fault_arm(f->dir.store, &fault);
        assert_int_not_equal(kms_registry_open(f->dir.store, f->dir.path, 0, &f->reg, &st), EM_OK);
        unit_step_fault_disarm(f->dir.store);
        assert_int_equal(fault.seen, 1);
        assert_int_equal(st.code, EM_INTERNAL);
        f->reg = NULL;
    }
    assert_int_equal(open_registry(f, 0), 0);
    assert_true(kms_key_exists(f->reg, KEY "3"));
    assert_int_equal(state_of(f, 1), KMS_ENABLED);
}

/* Key generation runs with no registry lock held. A thread creates an RSA-4096 key and is
 * held inside generation (the hook, bounded at 30 s); meanwhile the main thread reads
 * another key and creates the same name, both completing before the creator does. The
 * creator then finds its name taken: ALREADY_EXISTS, its material wiped and freed (ASan
 * reports a leak otherwise). Were generation under the write lock, the main thread would
 * wait for the creator and its create would be the one refused. */
#define RSA_KEY RING "/cryptoKeys/rsa"

static struct generation_race {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t creator;
    bool generating, others_done, creator_finished;
    struct kms_registry *reg;
    enum em_code code;
} race = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void wait_for(bool *flag)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    while (!*flag && pthread_cond_timedwait(&race.cv, &race.mu, &until) == 0)
        ;
}

static void hold_generation(const char *key_name)
{
    if (strcmp(key_name, RSA_KEY) != 0 || !pthread_equal(pthread_self(), race.creator))
        return;
    pthread_mutex_lock(&race.mu);
    race.generating = true;
    pthread_cond_broadcast(&race.cv);
    wait_for(&race.others_done);
    pthread_mutex_unlock(&race.mu);
}

static void *create_rsa_key(void *arg)
{
    (void)arg;
    static const struct kms_key_spec rsa = {.purpose = "ASYMMETRIC_SIGN",
                                            .algorithm = "RSA_SIGN_PKCS1_4096_SHA256"};
    struct em_status st = {0};
    enum em_code code = kms_key_create(race.reg, RSA_KEY, &rsa, false, T0, NULL, &st);
    pthread_mutex_lock(&race.mu);
    race.code = code;
    race.creator_finished = true;
    pthread_mutex_unlock(&race.mu);
    return NULL;
}

static void test_generation_runs_outside_the_lock(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    race.reg = f->reg;
    kms_generation_hook = hold_generation;
    pthread_mutex_lock(&race.mu);
    assert_int_equal(pthread_create(&race.creator, NULL, create_rsa_key, NULL), 0);
    wait_for(&race.generating);
    pthread_mutex_unlock(&race.mu);
    assert_true(race.generating);

    assert_true(kms_key_exists(f->reg, KEY));
    assert_int_equal(kms_key_create(f->reg, RSA_KEY, &symmetric, false, T0, NULL, &st), EM_OK);

    pthread_mutex_lock(&race.mu);
    bool creator_finished_first = race.creator_finished;
    race.others_done = true;
    pthread_cond_broadcast(&race.cv);
    pthread_mutex_unlock(&race.mu);
    pthread_join(race.creator, NULL);
    kms_generation_hook = NULL;

    assert_false(creator_finished_first);
    assert_int_equal(race.code, EM_ALREADY_EXISTS);
    struct kms_key *key = key_now(f, RSA_KEY);
    assert_int_equal(key->purpose, KMS_ENCRYPT_DECRYPT);
    assert_int_equal(key->version_count, 1);
    kms_key_free(key);
}

/* Several threads at once, in bounded loops: encryptions on the primary (each checked by
 * decrypting with the same held version), rotations to a new primary, disabling and
 * enabling versions, destructions run to their end by the tick, and readers copying and
 * listing. Every call must end in success or in the answer its race allows
 * (FAILED_PRECONDITION for a version not usable or not enabled any more). A use after
 * free or a leak shows under `make asan`; a data race under ThreadSanitizer, with
 *   make BUILD=build/tsan CFLAGS="-O2 -g -fsanitize=thread" LDLIBS=-fsanitize=thread
 *   build/tsan/tests/test_kms_keys
 * and running that binary. Failures are counted in the threads and asserted here. */
#define RACE_ROUNDS 200

struct race_state {
    struct kms_registry *reg;
    atomic_bool writers_done;
    atomic_int unexpected, attempts, encrypted, refused;
    atomic_int settled_encrypted; /* after the writers ended: the primary is enabled */
};

#define SETTLED_ROUNDS 10

static void note_unexpected(struct race_state *r, const char *what, const struct em_status *st)
{
    fprintf(stderr, "%s: %s\n", what, st->message);
    atomic_fetch_add(&r->unexpected, 1);
}

/* One encryption on the primary, checked by decrypting; true when it succeeded. */
static bool encrypt_once(struct race_state *r)
{
    const unsigned char secret[] = "raced";
    unsigned char ct[128], pt[64];
    size_t pt_len;
    struct em_status st = {0};
    struct kms_version_ref ref;
    bool encrypted = false;
    atomic_fetch_add(&r->attempts, 1);
    if (kms_primary_version_get(r->reg, KEY, &ref, &st) || !ref.found) {
        note_unexpected(r, "primary", &st);
    } else if (kms_version_check_usable(r->reg, &ref, T0, &st)) {
        atomic_fetch_add(&r->refused, 1);
    } else if (kms_encrypt(kms_version_material(&ref), ref.version.id, NULL, 0, secret,
                           sizeof(secret), ct, &st) ||
               !kms_decrypt(kms_version_material(&ref), NULL, 0, ct,
                            kms_ciphertext_size(sizeof(secret)), pt, &pt_len)) {
        note_unexpected(r, "encrypt", &st);
    } else {
        atomic_fetch_add(&r->encrypted, 1);
        encrypted = true;
    }
    kms_version_put(&ref);
    return encrypted;
}

/* Encrypts for as long as the writers run, then SETTLED_ROUNDS more times. */
static void *encryptor(void *arg)
{
    struct race_state *r = arg;
    while (!atomic_load(&r->writers_done))
        encrypt_once(r);
    for (int i = 0; i < SETTLED_ROUNDS; i++)
        if (encrypt_once(r))
            atomic_fetch_add(&r->settled_encrypted, 1);
    return NULL;
}

static void *rotator(void *arg)
{
    struct race_state *r = arg;
    for (int i = 0; i < RACE_ROUNDS / 10; i++) {
        struct em_status st = {0};
        struct kms_version_view view;
        if (kms_version_create(r->reg, KEY, T0, &view, &st)) {
            note_unexpected(r, "create version", &st);
            continue;
        }
        uint32_t id = view.version->id;
        kms_version_view_free(&view);
        if (kms_key_set_primary(r->reg, KEY, id, NULL, &st) && st.code != EM_FAILED_PRECONDITION)
            note_unexpected(r, "set primary", &st);
    }
    return NULL;
}

/* Disables and enables the primary, and destroys older versions to the end. */
static void *disabler(void *arg)
{
    struct race_state *r = arg;
    for (int i = 0; i < RACE_ROUNDS; i++) {
        struct em_status st = {0};
        struct kms_version_ref ref;
        if (kms_primary_version_get(r->reg, KEY, &ref, &st))
            note_unexpected(r, "primary", &st);
        char name[KMS_VERSION_NAME_MAX];
        snprintf(name, sizeof(name), "%s", ref.name);
        uint32_t id = ref.version.id;
        kms_version_put(&ref);
        enum kms_state state = i % 2 ? KMS_ENABLED : KMS_DISABLED;
        if (kms_version_set_state(r->reg, name, state, T0, NULL, &st) &&
            st.code != EM_FAILED_PRECONDITION)
            note_unexpected(r, "set state", &st);
        if (i % 20 == 0 && id > 1 &&
            kms_version_destroy(r->reg, version_name_of(id - 1, name), T0, NULL, &st) &&
            st.code != EM_FAILED_PRECONDITION)
            note_unexpected(r, "destroy", &st);
        if (i % 20 == 10 && kms_registry_tick(r->reg, T0 + 31 * DAY, &st))
            note_unexpected(r, "tick", &st);
    }
    return NULL;
}

static void *reader(void *arg)
{
    struct race_state *r = arg;
    for (int i = 0; i < RACE_ROUNDS; i++) {
        struct em_status st = {0};
        struct kms_key_list keys;
        struct kms_version_view view;
        if (kms_key_list(r->reg, RING, &keys, &st))
            note_unexpected(r, "list", &st);
        else if (keys.count != 1 || keys.items[0]->version_count == 0)
            atomic_fetch_add(&r->unexpected, 1);
        kms_key_list_free(&keys);
        if (kms_version_copy(r->reg, KEY "/cryptoKeyVersions/1", &view, &st))
            note_unexpected(r, "copy", &st);
        kms_version_view_free(&view);
    }
    return NULL;
}

static void test_concurrent_crypto_and_changes(void **state)
{
    struct fixture *f = *state;
    struct race_state race_state = {.reg = f->reg};
    void *(*writers[])(void *) = {rotator, disabler};
    void *(*others[])(void *) = {encryptor, encryptor, reader};
    pthread_t writer_threads[2], other_threads[3];
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&other_threads[i], NULL, others[i], &race_state), 0);
    for (size_t i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&writer_threads[i], NULL, writers[i], &race_state), 0);
    for (size_t i = 0; i < 2; i++)
        pthread_join(writer_threads[i], NULL);
    atomic_store(&race_state.writers_done, true);
    for (size_t i = 0; i < 3; i++)
        pthread_join(other_threads[i], NULL);
    assert_int_equal(atomic_load(&race_state.unexpected), 0);
    assert_int_equal(atomic_load(&race_state.encrypted) + atomic_load(&race_state.refused),
                     atomic_load(&race_state.attempts));
    /* the disabler's last change enabled the primary, and any later one is new and enabled */
    assert_int_equal(atomic_load(&race_state.settled_encrypted), 2 * SETTLED_ROUNDS);
    struct kms_key *key = key_now(f, KEY);
    assert_int_equal(key->version_count, 1 + RACE_ROUNDS / 10);
    kms_key_free(key);
}

/* --kms-generation-delay: an asymmetric version is PENDING_GENERATION (not usable, not
 * destroyable) until the delay passed on the emulator clock, then ENABLED; a symmetric one
 * is ENABLED at once, as in Google. */
static void test_generation_delay(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    kms_registry_set_generation_delay(f->reg, 30 * EM_NS_PER_SEC);
    struct kms_key_spec signer = {.purpose = "ASYMMETRIC_SIGN", .algorithm = "EC_SIGN_P256_SHA256"};
    const char *name = RING "/cryptoKeys/signer";
    const char *v1 = RING "/cryptoKeys/signer/cryptoKeyVersions/1";
    assert_int_equal(kms_key_create(f->reg, name, &signer, false, T0, NULL, &st), EM_OK);
    struct kms_version_view view;
    assert_int_equal(kms_version_copy(f->reg, v1, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_PENDING_GENERATION);
    assert_true(view.version->generate_ns == T0 + 30 * EM_NS_PER_SEC);
    kms_version_view_free(&view);
    struct kms_version_ref ref;
    assert_int_equal(kms_version_get(f->reg, v1, &ref, &st), EM_OK);
    assert_int_equal(kms_version_check_usable(f->reg, &ref, T0, &st), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "PENDING_GENERATION"));
    kms_version_put(&ref);
    assert_int_equal(kms_version_destroy(f->reg, v1, T0, NULL, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(kms_version_create(f->reg, KEY, T0, NULL, &st), EM_OK); /* symmetric */
    assert_int_equal(state_of(f, 2), KMS_ENABLED);

    assert_int_equal(kms_registry_tick(f->reg, T0 + 30 * EM_NS_PER_SEC - 1, &st), EM_OK);
    assert_int_equal(kms_version_copy(f->reg, v1, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_PENDING_GENERATION);
    kms_version_view_free(&view);
    assert_int_equal(kms_registry_tick(f->reg, T0 + 30 * EM_NS_PER_SEC, &st), EM_OK);
    assert_int_equal(kms_version_get(f->reg, v1, &ref, &st), EM_OK);
    assert_int_equal(ref.version.state, KMS_ENABLED);
    assert_int_equal(kms_version_check_usable(f->reg, &ref, T0 + 30 * EM_NS_PER_SEC, &st), EM_OK);
    kms_version_put(&ref);
}

static void test_version_names(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    struct kms_version_view view;
    assert_int_equal(kms_version_copy(f->reg, KEY "/cryptoKeyVersions/1", &view, &st), EM_OK);
    assert_int_equal(view.version->id, 1);
    kms_version_view_free(&view);
    assert_int_equal(kms_version_copy(f->reg, KEY "/cryptoKeyVersions/9", &view, &st),
                     EM_NOT_FOUND);
    const char *bad[] = {"01", "+1", " 1", "-1", "1x", "0", "", "99999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char name[256];
        snprintf(name, sizeof(name), "%s/cryptoKeyVersions/%s", KEY, bad[i]);
        assert_int_equal(kms_version_copy(f->reg, name, &view, &st), EM_INVALID_ARGUMENT);
        struct kms_version_ref ref;
        assert_int_equal(kms_version_get(f->reg, name, &ref, &st), EM_INVALID_ARGUMENT);
        kms_version_put(&ref);
    }
    assert_int_equal(
        kms_version_copy(f->reg, RING "/cryptoKeys/nope/cryptoKeyVersions/1", &view, &st),
        EM_NOT_FOUND);
    assert_int_equal(kms_version_copy(f->reg, KEY, &view, &st), EM_INVALID_ARGUMENT);
}

#define COORD "projects/test-project/locations/us-east1/ekmConnections/coord"

/* A stand-in for the EKM connections: COORD is coordinated, any other is managed by hand. */
static enum em_code fake_route(void *arg, const char *backend, struct kms_ekm_route *out,
                               struct em_status *st)
{
    (void)st;
    const bool *all_coordinated = arg;
    snprintf(out->hostname, sizeof(out->hostname), "ekm.test");
    out->coordinated = strcmp(backend, COORD) == 0 || (all_coordinated && *all_coordinated);
    snprintf(out->crypto_space_path, sizeof(out->crypto_space_path), "v0/space");
    return EM_OK;
}

#define EKM_RING "projects/test-project/locations/us-east1/keyRings/ekm"

/* Creates name with the protection level and algorithm given; the code it answers. */
static enum em_code create_external(struct fixture *f, const char *name, const char *level,
                                    const char *alg, bool skip, const char *backend)
{
    struct kms_key_spec spec = {
        .purpose = "ENCRYPT_DECRYPT", .algorithm = alg, .protection = level, .backend = backend};
    struct em_status st = {0};
    return kms_key_create(f->reg, name, &spec, skip, T0, NULL, &st);
}

static void test_external_keys(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    const char *ext = "EXTERNAL_SYMMETRIC_ENCRYPTION";
    kms_registry_set_ekm_route(f->reg, fake_route, NULL);
    assert_int_equal(kms_key_ring_create(f->reg, EKM_RING, T0, NULL, &st), EM_OK);
    /* Cloud EKM's rules: its algorithm, no initial version, regions for VPC, a backend */
    assert_int_equal(create_external(f, EKM_RING "/cryptoKeys/a", "EXTERNAL", NULL, true, NULL),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(create_external(f, EKM_RING "/cryptoKeys/a", "SOFTWARE", ext, true, NULL),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(create_external(f, EKM_RING "/cryptoKeys/a", "EXTERNAL", ext, false, NULL),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(create_external(f, RING "/cryptoKeys/a", "EXTERNAL", ext, true, NULL),
                     EM_INVALID_ARGUMENT); /* not in global */
    assert_int_equal(create_external(f, EKM_RING "/cryptoKeys/a", "EXTERNAL_VPC", ext, true, NULL),
                     EM_INVALID_ARGUMENT); /* no EKM connection */
    assert_int_equal(create_external(f, EKM_RING "/cryptoKeys/a", "EXTERNAL", ext, true,
                                     "projects/test-project/locations/us-east1/ekmConnections/c"),
                     EM_INVALID_ARGUMENT); /* a backend is for EXTERNAL_VPC only */
    struct kms_key_spec rotating = {.purpose = "ENCRYPT_DECRYPT",
                                    .algorithm = ext,
                                    .protection = "EXTERNAL",
                                    .rotation_period_ns = 30 * DAY};
    assert_int_equal(
        kms_key_create(f->reg, EKM_RING "/cryptoKeys/a", &rotating, true, T0, NULL, &st),
        EM_INVALID_ARGUMENT);
    assert_int_equal(create_external(f, EKM_RING "/cryptoKeys/a", "EXTERNAL", ext, true, NULL),
                     EM_OK);
    assert_int_equal(create_external(f, EKM_RING "/cryptoKeys/v", "EXTERNAL_VPC", ext, true,
                                     "projects/test-project/locations/us-east1/ekmConnections/c"),
                     EM_OK);
    /* versions name their external key (the right field for the level); others do not */
    assert_int_equal(em_faults_open(f->dir.store, &st), EM_OK);
    assert_int_equal(em_ekm_open(f->dir.store, f->dir.path, &st), EM_OK);
    assert_int_equal(kms_version_create(f->reg, EKM_RING "/cryptoKeys/a", T0, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(kms_version_create_external(f->reg, KEY, "https://e/k", NULL, T0, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(
        kms_version_create_external(f->reg, EKM_RING "/cryptoKeys/a", NULL, "v0/k", T0, NULL, &st),
        EM_INVALID_ARGUMENT);
    assert_int_equal(kms_version_create_external(f->reg, EKM_RING "/cryptoKeys/a", "ftp://e/k",
                                                 NULL, T0, NULL, &st),
                     EM_FAILED_PRECONDITION);
    assert_true(st.has_violations);
    assert_non_null(strstr(st.info_metadata, "EXTERNAL_KEY_URI_INVALID"));
    assert_int_equal(em_faults_set_ekm_unreachable(f->dir.store, true, &st), EM_OK);
    assert_int_equal(kms_version_create_external(f->reg, EKM_RING "/cryptoKeys/a",
                                                 "https://ekm.example.com/v0/k1", NULL, T0, NULL,
                                                 &st),
                     EM_FAILED_PRECONDITION); /* the EKM out of reach: no version */
    assert_int_equal(em_faults_set_ekm_unreachable(f->dir.store, false, &st), EM_OK);
    struct kms_version_view view;
    assert_int_equal(kms_version_create_external(f->reg, EKM_RING "/cryptoKeys/a",
                                                 "https://ekm.example.com/v0/k1", NULL, T0, &view,
                                                 &st),
                     EM_OK);
    assert_int_equal(view.version->state, KMS_ENABLED);
    assert_int_equal(view.version->protection, KMS_EXTERNAL);
    assert_string_equal(view.version->external_key, "https://ekm.example.com/v0/k1");
    assert_int_equal(view.key->primary, 1);
    kms_version_view_free(&view);
    /* no automatic rotation afterwards either */
    struct kms_key_update update = {.mask = KMS_FIELD_ROTATION_PERIOD,
                                    .rotation_period_ns = 30 * DAY};
    assert_int_equal(kms_key_update(f->reg, EKM_RING "/cryptoKeys/a", &update, T0, NULL, &st),
                     EM_INVALID_ARGUMENT);
    /* the backend and the version's external key survive a restart */
    kms_registry_close(f->reg);
    assert_int_equal(open_registry(f, 0), 0);
    struct kms_key *vpc = key_now(f, EKM_RING "/cryptoKeys/v");
    assert_string_equal(vpc->backend, "projects/test-project/locations/us-east1/ekmConnections/c");
    kms_key_free(vpc);
    struct kms_key *a = key_now(f, EKM_RING "/cryptoKeys/a");
    assert_string_equal(a->versions[0]->external_key, "https://ekm.example.com/v0/k1");
    assert_int_equal(a->template_protection, KMS_EXTERNAL);
    kms_key_free(a);
}

/* UpdateCryptoKeyVersion of externalProtectionLevelOptions: a version names another key
 * in the EKM; only a manually managed external key's, ENABLED or DISABLED, with the
 * field of its protection level. */
static void test_a_version_names_another_external_key(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(em_faults_open(f->dir.store, &st), EM_OK);
    assert_int_equal(em_ekm_open(f->dir.store, f->dir.path, &st), EM_OK);
    kms_registry_set_ekm_route(f->reg, fake_route, NULL);
    assert_int_equal(kms_key_ring_create(f->reg, EKM_RING, T0, NULL, &st), EM_OK);
    const char *ext = "EXTERNAL_SYMMETRIC_ENCRYPTION";
    assert_int_equal(create_external(f, EKM_RING "/cryptoKeys/a", "EXTERNAL", ext, true, NULL),
                     EM_OK);
    assert_int_equal(kms_version_create_external(f->reg, EKM_RING "/cryptoKeys/a",
                                                 "https://ekm.example.com/v0/k1", NULL, T0, NULL,
                                                 &st),
                     EM_OK);
    const char *v1 = EKM_RING "/cryptoKeys/a/cryptoKeyVersions/1";
    struct kms_version_view view;
    assert_int_equal(kms_version_set_external_key(f->reg, v1, "https://ekm.example.com/v0/k2", NULL,
                                                  KMS_STATE_UNSPECIFIED, T0, &view, &st),
                     EM_OK);
    assert_string_equal(view.version->external_key, "https://ekm.example.com/v0/k2");
    assert_int_equal(view.version->state, KMS_ENABLED);
    kms_version_view_free(&view);
    /* the wrong field for the level, a bad URI, the EKM out of reach: unchanged */
    assert_int_equal(kms_version_set_external_key(f->reg, v1, NULL, "v0/k3", KMS_STATE_UNSPECIFIED,
                                                  T0, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(kms_version_set_external_key(f->reg, v1, "ftp://e/k", NULL,
                                                  KMS_STATE_UNSPECIFIED, T0, NULL, &st),
                     EM_FAILED_PRECONDITION);
    assert_int_equal(em_faults_set_ekm_unreachable(f->dir.store, true, &st), EM_OK);
    assert_int_equal(kms_version_set_external_key(f->reg, v1, "https://ekm.example.com/v0/k4", NULL,
                                                  KMS_STATE_UNSPECIFIED, T0, NULL, &st),
                     EM_FAILED_PRECONDITION);
    assert_int_equal(em_faults_set_ekm_unreachable(f->dir.store, false, &st), EM_OK);
    struct kms_key *a = key_now(f, EKM_RING "/cryptoKeys/a");
    assert_string_equal(a->versions[0]->external_key, "https://ekm.example.com/v0/k2");
    kms_key_free(a);
    /* with a state, in one change: both saved, or (a reference refused, a state that cannot
     * be set) neither */
    assert_int_equal(
        kms_version_set_external_key(f->reg, v1, "ftp://e/k", NULL, KMS_DISABLED, T0, NULL, &st),
        EM_FAILED_PRECONDITION);
    assert_int_equal(kms_version_set_external_key(f->reg, v1, "https://ekm.example.com/v0/k7", NULL,
                                                  KMS_DESTROYED, T0, NULL, &st),
                     EM_INVALID_ARGUMENT);
    a = key_now(f, EKM_RING "/cryptoKeys/a");
    assert_int_equal(a->versions[0]->state, KMS_ENABLED);
    assert_string_equal(a->versions[0]->external_key, "https://ekm.example.com/v0/k2");
    kms_key_free(a);
    assert_int_equal(kms_version_set_external_key(f->reg, v1, "https://ekm.example.com/v0/k7", NULL,
                                                  KMS_DISABLED, T0, &view, &st),
                     EM_OK);
    assert_int_equal(view.version->state, KMS_DISABLED);
    assert_string_equal(view.version->external_key, "https://ekm.example.com/v0/k7");
    kms_version_view_free(&view);
    assert_int_equal(kms_version_set_external_key(f->reg, v1, "https://ekm.example.com/v0/k2", NULL,
                                                  KMS_ENABLED, T0, NULL, &st),
                     EM_OK);
    /* not a key of Cloud EKM, a version being destroyed, a coordinated key */
    assert_int_equal(kms_version_set_external_key(f->reg, KEY "/cryptoKeyVersions/1",
                                                  "https://ekm.example.com/v0/k5", NULL,
                                                  KMS_STATE_UNSPECIFIED, T0, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(kms_version_destroy(f->reg, v1, T0, NULL, &st), EM_OK);
    assert_int_equal(kms_version_set_external_key(f->reg, v1, "https://ekm.example.com/v0/k6", NULL,
                                                  KMS_STATE_UNSPECIFIED, T0, NULL, &st),
                     EM_FAILED_PRECONDITION);
    struct kms_key_spec coordinated = {.purpose = "ENCRYPT_DECRYPT",
                                       .algorithm = ext,
                                       .protection = "EXTERNAL_VPC",
                                       .backend = COORD};
    assert_int_equal(
        kms_key_create(f->reg, EKM_RING "/cryptoKeys/c", &coordinated, false, T0, NULL, &st),
        EM_OK);
    assert_int_equal(
        kms_version_set_external_key(f->reg, EKM_RING "/cryptoKeys/c/cryptoKeyVersions/1", NULL,
                                     "v0/mine", KMS_STATE_UNSPECIFIED, T0, NULL, &st),
        EM_INVALID_ARGUMENT);
    /* kept across a restart */
    kms_registry_close(f->reg);
    assert_int_equal(open_registry(f, 0), 0);
    a = key_now(f, EKM_RING "/cryptoKeys/a");
    assert_string_equal(a->versions[0]->external_key, "https://ekm.example.com/v0/k2");
    kms_key_free(a);
}

/* The simulated EKM's state of the key at path on ekm.test. */
static enum em_ekm_state ekm_state(struct fixture *f, const char *path)
{
    char uri[1200];
    snprintf(uri, sizeof(uri), "https://ekm.test/%s", path);
    struct em_ekm_key *keys;
    size_t count;
    struct em_status st = {0};
    assert_int_equal(em_ekm_key_list(f->dir.store, &keys, &count, &st), EM_OK);
    enum em_ekm_state state = EM_EKM_ENABLED;
    bool found = false;
    for (size_t i = 0; i < count; i++)
        if (strcmp(keys[i].uri, uri) == 0) {
            state = keys[i].state;
            found = true;
        }
    free(keys);
    assert_true(found);
    return state;
}

static void test_coordinated_external_keys(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(em_faults_open(f->dir.store, &st), EM_OK);
    assert_int_equal(em_ekm_open(f->dir.store, f->dir.path, &st), EM_OK);
    kms_registry_set_ekm_route(f->reg, fake_route, NULL);
    assert_int_equal(kms_key_ring_create(f->reg, EKM_RING, T0, NULL, &st), EM_OK);
    /* an initial version and rotation, which manual external keys may not have */
    struct kms_key_spec spec = {.purpose = "ENCRYPT_DECRYPT",
                                .algorithm = "EXTERNAL_SYMMETRIC_ENCRYPTION",
                                .protection = "EXTERNAL_VPC",
                                .backend = COORD,
                                .rotation_period_ns = DAY};
    struct kms_key *key;
    assert_int_equal(kms_key_create(f->reg, EKM_RING "/cryptoKeys/c", &spec, false, T0, &key, &st),
                     EM_OK);
    assert_int_equal(key->version_count, 1);
    char first[KMS_EXTERNAL_KEY_MAX];
    snprintf(first, sizeof(first), "%s", key->versions[0]->external_key);
    assert_int_equal(strncmp(first, "v0/space/keys/", 14), 0);
    assert_int_equal(strlen(first), 14 + 32);
    assert_int_equal(ekm_state(f, first), EM_EKM_ENABLED);
    kms_key_free(key);
    /* the caller names no key; KMS makes one, unless the EKM is out of reach */
    assert_int_equal(kms_version_create_external(f->reg, EKM_RING "/cryptoKeys/c", NULL, "v0/mine",
                                                 T0, NULL, &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(em_faults_set_ekm_unreachable(f->dir.store, true, &st), EM_OK);
    assert_int_equal(kms_version_create(f->reg, EKM_RING "/cryptoKeys/c", T0, NULL, &st),
                     EM_FAILED_PRECONDITION);
    assert_true(st.has_violations);
    assert_non_null(strstr(st.info_metadata, "UNREACHABLE_NETWORK"));
    /* a rotation due then is skipped: the period passes without a version */
    assert_int_equal(kms_registry_tick(f->reg, T0 + DAY, &st), EM_OK);
    key = key_now(f, EKM_RING "/cryptoKeys/c");
    assert_int_equal(key->version_count, 1);
    kms_key_free(key);
    assert_int_equal(em_faults_set_ekm_unreachable(f->dir.store, false, &st), EM_OK);
    assert_int_equal(kms_registry_tick(f->reg, T0 + 2 * DAY, &st), EM_OK);
    key = key_now(f, EKM_RING "/cryptoKeys/c");
    assert_int_equal(key->version_count, 2);
    assert_int_equal(key->primary, 2);
    char second[KMS_EXTERNAL_KEY_MAX];
    snprintf(second, sizeof(second), "%s", key->versions[1]->external_key);
    kms_key_free(key);
    /* destruction destroys the EKM's key too; with the EKM out of reach it fails */
    const char *v1 = EKM_RING "/cryptoKeys/c/cryptoKeyVersions/1";
    const char *v2 = EKM_RING "/cryptoKeys/c/cryptoKeyVersions/2";
    assert_int_equal(kms_version_destroy(f->reg, v1, T0 + 2 * DAY, NULL, &st), EM_OK);
    assert_int_equal(kms_version_destroy(f->reg, v2, T0 + 3 * DAY, NULL, &st), EM_OK);
    assert_int_equal(kms_registry_tick(f->reg, T0 + 32 * DAY, &st), EM_OK);
    struct kms_version_view view;
    assert_int_equal(kms_version_copy(f->reg, v1, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_DESTROYED);
    kms_version_view_free(&view);
    assert_int_equal(ekm_state(f, first), EM_EKM_DESTROYED);
    assert_int_equal(em_faults_set_ekm_unreachable(f->dir.store, true, &st), EM_OK);
    assert_int_equal(kms_registry_tick(f->reg, T0 + 33 * DAY, &st), EM_OK);
    assert_int_equal(kms_version_copy(f->reg, v2, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_EXTERNAL_DESTRUCTION_FAILED);
    assert_non_null(strstr(view.version->failure_reason, "Could not reach the EKM host"));
    assert_null(view.version->material);
    kms_version_view_free(&view);
    assert_int_equal(ekm_state(f, second), EM_EKM_ENABLED); /* the EKM's key stays */
    assert_int_equal(em_faults_set_ekm_unreachable(f->dir.store, false, &st), EM_OK);
}

/* A key is coordinated or not for good: its connection switched to CLOUD_KMS later does
 * not make KMS destroy the customer's keys, nor make keys for it. */
static void test_a_manual_key_stays_manual(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    bool switched = false;
    assert_int_equal(em_faults_open(f->dir.store, &st), EM_OK);
    assert_int_equal(em_ekm_open(f->dir.store, f->dir.path, &st), EM_OK);
    kms_registry_set_ekm_route(f->reg, fake_route, &switched);
    assert_int_equal(kms_key_ring_create(f->reg, EKM_RING, T0, NULL, &st), EM_OK);
    const char *manual = "projects/test-project/locations/us-east1/ekmConnections/manual";
    assert_int_equal(create_external(f, EKM_RING "/cryptoKeys/m", "EXTERNAL_VPC",
                                     "EXTERNAL_SYMMETRIC_ENCRYPTION", true, manual),
                     EM_OK);
    assert_int_equal(kms_version_create_external(f->reg, EKM_RING "/cryptoKeys/m", NULL,
                                                 "v0/customer/shared", T0, NULL, &st),
                     EM_OK);
    switched = true; /* the connection's mode is now CLOUD_KMS */
    assert_int_equal(kms_version_create(f->reg, EKM_RING "/cryptoKeys/m", T0, NULL, &st),
                     EM_INVALID_ARGUMENT); /* still names its key */
    const char *v1 = EKM_RING "/cryptoKeys/m/cryptoKeyVersions/1";
    assert_int_equal(kms_version_destroy(f->reg, v1, T0, NULL, &st), EM_OK);
    assert_int_equal(kms_registry_tick(f->reg, T0 + 31 * DAY, &st), EM_OK);
    struct kms_version_view view;
    assert_int_equal(kms_version_copy(f->reg, v1, &view, &st), EM_OK);
    assert_int_equal(view.version->state, KMS_DESTROYED);
    kms_version_view_free(&view);
    assert_int_equal(ekm_state(f, "v0/customer/shared"), EM_EKM_ENABLED); /* the customer's */
}

static void test_root_key_must_be_private(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/kms-root.key", f->dir.path);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    chmod(path, 0644);
    struct kms_registry *other;
    struct em_status st = {0};
    assert_int_equal(kms_registry_open(f->dir.store, f->dir.path, 0, &other, &st),
                     EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "chmod 600"));
    chmod(path, 0600);
}

int main(void)
{
    em_log_init("test", EM_LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_gives_enabled_primary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_and_missing_parents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_enable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_restore_and_shred, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_version_outlives_its_destruction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_propagation_delay, setup_delayed, teardown),
        cmocka_unit_test_setup_teardown(test_set_primary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copies_and_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_survives_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_fails_on_step_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generation_runs_outside_the_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_crypto_and_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generation_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_key_must_be_private, setup, teardown),
        cmocka_unit_test_setup_teardown(test_external_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_version_names_another_external_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coordinated_external_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_manual_key_stays_manual, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
