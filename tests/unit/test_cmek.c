/*
 * Tests of the CMEK engine (em_cmek) against a real KMS: the KMS service runs in this
 * process behind its HTTP server on a free port, and a test service protects resources
 * through the engine, which calls KMS over REST exactly as in production. Covers every
 * transition of the state machine: disable/enable, rotation and re-wrap, destruction,
 * KMS outages with the grace period, a key disabled before an outage, restarts, IAM on
 * the service agent, Google default encryption, renaming (keys stay bound to the
 * name a resource was protected under), and the prompt retries of a restart that comes
 * before KMS (real time injected; KMS's port really closed and reopened).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_call.h"
#include "em_clock.h"
#include "em_cmek.h"
#include "em_faults.h"
#include "em_http.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_kms_client.h"
#include "em_log.h"
#include "em_service.h"
#include "kms/kms_service.h"
#include "unit_kms.h"
#include "unit_util.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define RING     "projects/cmek-project/locations/global/keyRings/ring"
#define KEY      RING "/cryptoKeys/key"
#define TOPIC    "projects/cmek-project/topics/orders"
#define MINUTES5 300

static const struct em_service_desc test_desc = {
    .name = "testsvc",
    .port = 2,
    .google_service = "test.googleapis.com",
};
static const struct em_service_def test_service = {.desc = &test_desc};

struct fixture {
    char dir[PATH_MAX];
    struct em_config cfg;
    struct em_service *kms, *svc;
    struct em_cmek *cmek;
    int changes; /* state_changed hook calls */
};

static void count_change(void *arg, const char *resource, enum em_cmek_state from,
                         enum em_cmek_state to)
{
    (void)resource, (void)from, (void)to;
    ((struct fixture *)arg)->changes++;
}

static int set_version_state(struct fixture *f, int version, const char *state)
{
    char path[256], body[64];
    snprintf(path, sizeof(path), "/v1/" KEY "/cryptoKeyVersions/%d", version);
    snprintf(body, sizeof(body), "{\"state\":\"%s\"}", state);
    return unit_kms_call(f->kms, "PATCH", path, "updateMask", "state", body);
}

/* Moves the emulator clock and runs both services' timers, KMS first (as the control
 * plane does). */
static void advance(struct fixture *f, int64_t seconds)
{
    struct em_status st = {0};
    int64_t offset;
    assert_int_equal(em_clock_advance(f->svc->store, seconds * EM_NS_PER_SEC, &offset, &st), EM_OK);
    assert_int_equal(em_service_tick(f->kms, false, &st), EM_OK);
    assert_int_equal(em_service_tick(f->svc, false, &st), EM_OK);
}

static enum em_cmek_state state_of(struct fixture *f, const char *resource)
{
    struct em_cmek_info info;
    assert_true(em_cmek_info(f->cmek, resource, &info));
    return info.state;
}

static int open_engine(struct fixture *f)
{
    struct em_status st = {0};
    struct em_cmek_hooks hooks = {.state_changed = count_change, .arg = f};
    if (em_service_open(&test_service, &f->cfg, &f->svc, &st) ||
        em_cmek_open(f->svc, "gcp-sa-test", &hooks, &f->cmek, &st)) {
        fprintf(stderr, "engine: %s\n", st.message);
        return -1;
    }
    return 0;
}

static int setup_with_iam(void **state, bool enforce)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || unit_config_init(&f->cfg, f->dir, sizeof(f->dir)))
        return -1;
    f->cfg.iam_enforce = enforce;
    if (unit_kms_start(&f->cfg, 10240, &f->kms) || open_engine(f) ||
        unit_kms_create_key(f->kms, RING, "key"))
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with_iam(state, false);
}

static int setup_enforced(void **state)
{
    return setup_with_iam(state, true);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    em_faults_set_kms_unreachable(f->kms->store, false, &st);
    em_clock_reset(f->kms->store, &st);
    em_service_close(f->svc);
    em_service_close(f->kms);
    em_remove_tree(f->dir);
    free(f);
    return 0;
}

static void protect(struct fixture *f, const char *resource, const char *key)
{
    struct em_status st = {0};
    assert_int_equal(em_cmek_protect(f->cmek, resource, "cmek-project", key, &st), EM_OK);
}

static void test_protect_and_use(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    struct em_cmek_info info;
    assert_true(em_cmek_info(f->cmek, TOPIC, &info));
    assert_int_equal(info.state, EM_CMEK_ACCESSIBLE);
    assert_string_equal(info.key_version, KEY "/cryptoKeyVersions/1");
    unsigned char dek[EM_DEK_BYTES], again[EM_DEK_BYTES];
    struct em_status st = {0};
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, dek, &st), EM_OK);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, again, &st), EM_OK);
    assert_memory_equal(dek, again, sizeof(dek));
    assert_int_equal(em_cmek_protect(f->cmek, TOPIC, "cmek-project", KEY, &st), EM_ALREADY_EXISTS);
    assert_int_equal(em_cmek_use(f->cmek, "projects/x/topics/none", dek, &st), EM_NOT_FOUND);
}

static void test_missing_key_is_refused(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(em_cmek_protect(f->cmek, TOPIC, "cmek-project", RING "/cryptoKeys/nope", &st),
                     EM_NOT_FOUND);
    assert_non_null(strstr(st.message, "cryptoKeys/nope"));
    assert_false(em_cmek_info(f->cmek, TOPIC, &(struct em_cmek_info){0}));
}

static void test_disable_then_enable(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    unsigned char before[EM_DEK_BYTES], after[EM_DEK_BYTES];
    struct em_status st = {0};
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, before, &st), EM_OK);
    assert_int_equal(set_version_state(f, 1, "DISABLED"), 200);
    advance(f, MINUTES5 - 10);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE); /* not checked yet */
    advance(f, 10);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_INACCESSIBLE);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, after, &st), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, "DISABLED"));
    assert_int_equal(set_version_state(f, 1, "ENABLED"), 200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, after, &st), EM_OK);
    assert_memory_equal(before, after, sizeof(before)); /* the same data key came back */
    assert_int_equal(f->changes, 2);
}

static void test_rotation_rewraps(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    char path[] = "/v1/" KEY "/cryptoKeyVersions";
    assert_int_equal(unit_kms_call(f->kms, "POST", path, NULL, NULL, "{}"), 200);
    assert_int_equal(unit_kms_call(f->kms, "POST", "/v1/" KEY ":updatePrimaryVersion", NULL, NULL,
                                   "{\"cryptoKeyVersionId\":\"2\"}"),
                     200);
    advance(f, MINUTES5);
    struct em_cmek_info info;
    assert_true(em_cmek_info(f->cmek, TOPIC, &info));
    assert_string_equal(info.key_version, KEY "/cryptoKeyVersions/2");
    assert_int_equal(set_version_state(f, 1, "DISABLED"), 200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
}

static void test_destroy_makes_data_unrecoverable(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    assert_int_equal(
        unit_kms_call(f->kms, "POST", "/v1/" KEY "/cryptoKeyVersions/1:destroy", NULL, NULL, "{}"),
        200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_INACCESSIBLE);
    advance(f, 30 * 86400);
    struct em_cmek_info info;
    assert_true(em_cmek_info(f->cmek, TOPIC, &info));
    assert_int_equal(info.state, EM_CMEK_INACCESSIBLE);
    assert_non_null(strstr(info.reason, "DESTROYED"));
    /* nothing brings it back: the key material is gone */
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_INACCESSIBLE);
}

/* The race the control plane's ordering (KMS, then the others) must win: a service's
 * one-second timer ticks after the clock moved but before KMS's tick ran its timers. Had it
 * checked keys then, KMS would still say DESTROY_SCHEDULED, and the resource would keep that
 * answer until its next check, five minutes later on the emulator clock. */
static void test_timer_tick_leaves_a_clock_move_to_the_control_plane(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    protect(f, TOPIC, KEY);
    assert_int_equal(
        unit_kms_call(f->kms, "POST", "/v1/" KEY "/cryptoKeyVersions/1:destroy", NULL, NULL, "{}"),
        200);
    advance(f, MINUTES5);
    /* the control plane's process moves the clock: this one has not read it yet */
    assert_int_equal(em_store_exec(f->svc->store,
                                   "UPDATE clock SET offset_ns = offset_ns + 2592000000000000",
                                   &st),
                     EM_OK);
    assert_int_equal(em_service_tick(f->svc, true, &st), EM_OK); /* its timer, first */
    assert_int_equal(em_service_tick(f->kms, false, &st), EM_OK);
    assert_int_equal(em_service_tick(f->svc, false, &st), EM_OK);
    struct em_cmek_info info;
    assert_true(em_cmek_info(f->cmek, TOPIC, &info));
    assert_non_null(strstr(info.reason, "DESTROYED"));
    assert_null(strstr(info.reason, "DESTROY_SCHEDULED"));
}

static void test_outage_grace_then_offline(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    protect(f, "projects/cmek-project/topics/plain", NULL);
    struct em_status st = {0};
    unsigned char dek[EM_DEK_BYTES];
    assert_int_equal(em_faults_set_kms_unreachable(f->kms->store, true, &st), EM_OK);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_GRACE);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, dek, &st), EM_OK); /* the cached KEK serves */
    advance(f, 3599);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_GRACE);
    advance(f, 1);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_OFFLINE);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, dek, &st), EM_UNAVAILABLE);
    /* Google default encryption does not depend on KMS */
    assert_int_equal(em_cmek_use(f->cmek, "projects/cmek-project/topics/plain", dek, &st), EM_OK);
    assert_int_equal(em_faults_set_kms_unreachable(f->kms->store, false, &st), EM_OK);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, dek, &st), EM_OK);
}

static void test_disabled_before_outage_stays_inaccessible(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    struct em_status st = {0};
    assert_int_equal(set_version_state(f, 1, "DISABLED"), 200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_INACCESSIBLE);
    assert_int_equal(em_faults_set_kms_unreachable(f->kms->store, true, &st), EM_OK);
    advance(f, 4000);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_INACCESSIBLE);
    assert_int_equal(set_version_state(f, 1, "ENABLED"), 200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_INACCESSIBLE); /* KMS still unreachable */
    assert_int_equal(em_faults_set_kms_unreachable(f->kms->store, false, &st), EM_OK);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
}

static void test_restart_reloads_and_unwraps(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    struct em_status st = {0};
    unsigned char before[EM_DEK_BYTES], after[EM_DEK_BYTES];
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, before, &st), EM_OK);
    em_service_close(f->svc);
    assert_int_equal(open_engine(f), 0);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, after, &st), EM_OK);
    assert_memory_equal(before, after, sizeof(before));
    /* a restart during an outage has no cached key: OFFLINE, not GRACE */
    em_service_close(f->svc);
    assert_int_equal(em_faults_set_kms_unreachable(f->kms->store, true, &st), EM_OK);
    assert_int_equal(open_engine(f), 0);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_OFFLINE);
    assert_int_equal(em_faults_set_kms_unreachable(f->kms->store, false, &st), EM_OK);
    assert_int_equal(em_cmek_check_all(f->cmek, em_clock_now(), &st), EM_OK);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
}

static void test_service_agent_needs_the_role(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    assert_int_equal(em_cmek_protect(f->cmek, TOPIC, "cmek-project", KEY, &st),
                     EM_FAILED_PRECONDITION);
    char agent[300];
    em_cmek_agent(f->cmek, "cmek-project", agent, sizeof(agent));
    assert_non_null(strstr(st.message, agent + strlen("serviceAccount:")));
    assert_non_null(strstr(st.message, "roles/cloudkms.cryptoKeyEncrypterDecrypter"));
    char policy_text[512];
    snprintf(policy_text, sizeof(policy_text),
             "{\"bindings\":[{\"role\":\"roles/cloudkms.cryptoKeyEncrypterDecrypter\","
             "\"members\":[\"%s\"]}]}",
             agent);
    cJSON *policy = cJSON_Parse(policy_text), *stored = NULL;
    assert_int_equal(em_iam_set_policy(f->kms->store, KEY, policy, &stored, &st), EM_OK);
    cJSON_Delete(policy);
    cJSON_Delete(stored);
    protect(f, TOPIC, KEY);
}

static void test_rekey_moves_to_the_new_key(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    assert_int_equal(unit_kms_call(f->kms, "POST", "/v1/" RING "/cryptoKeys", "cryptoKeyId",
                                   "other", "{\"purpose\":\"ENCRYPT_DECRYPT\"}"),
                     200);
    struct em_status st = {0};
    unsigned char before[EM_DEK_BYTES], after[EM_DEK_BYTES];
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, before, &st), EM_OK);
    assert_int_equal(em_cmek_rekey(f->cmek, TOPIC, RING "/cryptoKeys/other", &st), EM_OK);
    struct em_cmek_info info;
    assert_true(em_cmek_info(f->cmek, TOPIC, &info));
    assert_string_equal(info.kms_key, RING "/cryptoKeys/other");
    assert_string_equal(info.key_version, RING "/cryptoKeys/other/cryptoKeyVersions/1");
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, after, &st), EM_OK);
    assert_memory_equal(before, after, sizeof(before)); /* the data key did not change */
    /* the old key no longer matters; the new one does */
    assert_int_equal(set_version_state(f, 1, "DISABLED"), 200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
    assert_int_equal(unit_kms_call(f->kms, "PATCH",
                                   "/v1/" RING "/cryptoKeys/other/cryptoKeyVersions/1",
                                   "updateMask", "state", "{\"state\":\"DISABLED\"}"),
                     200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_INACCESSIBLE);
    /* an inaccessible resource cannot change keys; a restart still opens it */
    assert_int_equal(em_cmek_rekey(f->cmek, TOPIC, KEY, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(em_cmek_rekey(f->cmek, "projects/x/topics/none", NULL, &st), EM_NOT_FOUND);
}

static void test_renamed_resource_keeps_its_keys(void **state)
{
    struct fixture *f = *state;
    const char *retained = TOPIC "/deleted/2024-01-01T00:00:00Z";
    protect(f, TOPIC, KEY);
    protect(f, "projects/cmek-project/topics/plain", NULL);
    struct em_status st = {0};
    unsigned char before[EM_DEK_BYTES], after[EM_DEK_BYTES], fresh[EM_DEK_BYTES];
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, before, &st), EM_OK);
    assert_int_equal(em_cmek_rename(f->cmek, TOPIC, retained, &st), EM_OK);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, after, &st), EM_NOT_FOUND);
    assert_int_equal(em_cmek_use(f->cmek, retained, after, &st), EM_OK);
    assert_memory_equal(before, after, sizeof(before));
    assert_int_equal(em_cmek_rename(f->cmek, "projects/x/topics/none", TOPIC, &st), EM_NOT_FOUND);
    assert_int_equal(em_cmek_rename(f->cmek, "projects/cmek-project/topics/plain", retained, &st),
                     EM_ALREADY_EXISTS);
    /* the old name is free for a new resource with its own keys */
    protect(f, TOPIC, KEY);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, fresh, &st), EM_OK);
    assert_memory_not_equal(before, fresh, sizeof(before));
    /* rotation re-wraps the renamed resource's key too; it is checked under its new name */
    assert_int_equal(
        unit_kms_call(f->kms, "POST", "/v1/" KEY "/cryptoKeyVersions", NULL, NULL, "{}"), 200);
    assert_int_equal(unit_kms_call(f->kms, "POST", "/v1/" KEY ":updatePrimaryVersion", NULL, NULL,
                                   "{\"cryptoKeyVersionId\":\"2\"}"),
                     200);
    advance(f, MINUTES5);
    struct em_cmek_info info;
    assert_true(em_cmek_info(f->cmek, retained, &info));
    assert_string_equal(info.key_version, KEY "/cryptoKeyVersions/2");
    assert_int_equal(set_version_state(f, 2, "DISABLED"), 200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, retained), EM_CMEK_INACCESSIBLE);
    assert_int_equal(em_cmek_use(f->cmek, retained, after, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(set_version_state(f, 2, "ENABLED"), 200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, retained), EM_CMEK_ACCESSIBLE);
    /* after a restart its keys still open, with a customer key or the default one */
    assert_int_equal(em_cmek_rename(f->cmek, "projects/cmek-project/topics/plain",
                                    "projects/cmek-project/topics/plain/deleted/1", &st),
                     EM_OK);
    unsigned char plain[EM_DEK_BYTES], plain_after[EM_DEK_BYTES];
    assert_int_equal(
        em_cmek_use(f->cmek, "projects/cmek-project/topics/plain/deleted/1", plain, &st), EM_OK);
    em_service_close(f->svc);
    assert_int_equal(open_engine(f), 0);
    assert_int_equal(em_cmek_use(f->cmek, retained, after, &st), EM_OK);
    assert_memory_equal(before, after, sizeof(before));
    assert_int_equal(
        em_cmek_use(f->cmek, "projects/cmek-project/topics/plain/deleted/1", plain_after, &st),
        EM_OK);
    assert_memory_equal(plain, plain_after, sizeof(plain));
    assert_int_equal(em_cmek_forget(f->cmek, retained, &st), EM_OK);
    assert_false(em_cmek_info(f->cmek, retained, &info));
}

/* --- pinned resources (Spanner backups) --- */

#define BACKUP "projects/cmek-project/instances/i/backups/b"

static void rotate_to_version_2(struct fixture *f)
{
    assert_int_equal(
        unit_kms_call(f->kms, "POST", "/v1/" KEY "/cryptoKeyVersions", NULL, NULL, "{}"), 200);
    assert_int_equal(unit_kms_call(f->kms, "POST", "/v1/" KEY ":updatePrimaryVersion", NULL, NULL,
                                   "{\"cryptoKeyVersionId\":\"2\"}"),
                     200);
}

static void pin(struct fixture *f, const char *resource)
{
    struct em_status st = {0};
    assert_int_equal(em_cmek_protect_pinned(f->cmek, resource, "cmek-project", KEY, &st), EM_OK);
}

static void assert_version(struct fixture *f, const char *resource, int version, bool pinned)
{
    struct em_cmek_info info;
    char expected[256];
    snprintf(expected, sizeof(expected), KEY "/cryptoKeyVersions/%d", version);
    assert_true(em_cmek_info(f->cmek, resource, &info));
    assert_string_equal(info.key_version, expected);
    assert_int_equal(info.pinned, pinned);
}

static void test_pinned_version_survives_rotation(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    pin(f, BACKUP);
    rotate_to_version_2(f);
    advance(f, MINUTES5);
    assert_version(f, TOPIC, 2, false); /* the unpinned resource moved on */
    assert_version(f, BACKUP, 1, true); /* the pinned one did not */
    /* so disabling version 1 now shuts the pinned resource only */
    assert_int_equal(set_version_state(f, 1, "DISABLED"), 200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
    assert_int_equal(state_of(f, BACKUP), EM_CMEK_INACCESSIBLE);
    unsigned char dek[EM_DEK_BYTES];
    struct em_status st = {0};
    assert_int_equal(em_cmek_use(f->cmek, BACKUP, dek, &st), EM_FAILED_PRECONDITION);
    assert_int_equal(set_version_state(f, 1, "ENABLED"), 200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, BACKUP), EM_CMEK_ACCESSIBLE);
    assert_version(f, BACKUP, 1, true); /* a successful check does not re-wrap it either */
    /* a pinned resource cannot change keys, and the pin survives a restart */
    assert_int_equal(em_cmek_rekey(f->cmek, BACKUP, KEY, &st), EM_FAILED_PRECONDITION);
    assert_non_null(strstr(st.message, KEY "/cryptoKeyVersions/1"));
    em_service_close(f->svc);
    assert_int_equal(open_engine(f), 0);
    assert_version(f, BACKUP, 1, true);
    assert_int_equal(em_cmek_use(f->cmek, BACKUP, dek, &st), EM_OK);
}

static void test_check_now_sees_a_disabled_version_at_once(void **state)
{
    struct fixture *f = *state;
    pin(f, BACKUP);
    protect(f, TOPIC, KEY);
    struct em_cmek_info before, info;
    assert_true(em_cmek_info(f->cmek, BACKUP, &before));
    assert_int_equal(set_version_state(f, 1, "DISABLED"), 200);
    struct em_status st = {0};
    assert_int_equal(em_cmek_check(f->cmek, BACKUP, &st), EM_OK);
    assert_int_equal(state_of(f, BACKUP), EM_CMEK_INACCESSIBLE);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE); /* not checked: its turn is later */
    assert_true(em_cmek_info(f->cmek, BACKUP, &info));
    assert_int_equal(info.next_check_ns, before.next_check_ns); /* the schedule is kept */
    assert_int_equal(set_version_state(f, 1, "ENABLED"), 200);
    assert_int_equal(em_cmek_check(f->cmek, BACKUP, &st), EM_OK);
    assert_int_equal(state_of(f, BACKUP), EM_CMEK_ACCESSIBLE);
    assert_int_equal(em_cmek_check(f->cmek, "projects/x/topics/none", &st), EM_NOT_FOUND);
}

static void test_destroyed_pinned_version_shreds_for_good(void **state)
{
    struct fixture *f = *state;
    pin(f, BACKUP);
    rotate_to_version_2(f); /* the key lives on; only the pinned version goes */
    assert_int_equal(
        unit_kms_call(f->kms, "POST", "/v1/" KEY "/cryptoKeyVersions/1:destroy", NULL, NULL, "{}"),
        200);
    advance(f, 30 * 86400 + MINUTES5);
    struct em_status st = {0};
    assert_int_equal(em_cmek_check(f->cmek, BACKUP, &st), EM_OK);
    struct em_cmek_info info;
    assert_true(em_cmek_info(f->cmek, BACKUP, &info));
    assert_int_equal(info.state, EM_CMEK_INACCESSIBLE);
    assert_non_null(strstr(info.reason, "DESTROYED"));
    /* the erased version cannot be restored, so nothing brings the resource back */
    assert_int_not_equal(
        unit_kms_call(f->kms, "POST", "/v1/" KEY "/cryptoKeyVersions/1:restore", NULL, NULL, "{}"),
        200);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, BACKUP), EM_CMEK_INACCESSIBLE);
    assert_version(f, BACKUP, 1, true);
}

/* --- prompt retries while KMS comes up (real time, injected here) --- */

static int64_t fake_monotonic_ns;

static int64_t fake_monotonic(void)
{
    return fake_monotonic_ns;
}

/* The KMS process going away: its port refuses connections (a transport failure). */
static void stop_kms_server(struct fixture *f)
{
    em_http_stop(f->kms->http);
    f->kms->http = NULL;
}

static void start_kms_server(struct fixture *f)
{
    struct em_status st = {0};
    struct em_http_options opt = {"127.0.0.1", f->cfg.port_base + EM_PORT_KMS, 2, 1 << 20};
    assert_int_equal(em_http_start(&opt, f->kms->router, f->kms, &f->kms->http, &st), EM_OK);
}

/* Reopens the service while KMS is down: OFFLINE and retrying; then the engine's real
 * time is the test's, starting where the monotonic clock stood. */
static void restart_without_kms(struct fixture *f)
{
    em_service_close(f->svc);
    stop_kms_server(f);
    assert_int_equal(open_engine(f), 0);
    fake_monotonic_ns = em_clock_monotonic();
    em_cmek_set_monotonic(f->cmek, fake_monotonic);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_OFFLINE);
}

static void test_restart_before_kms_retries_with_backoff(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    struct em_status st = {0};
    unsigned char before[EM_DEK_BYTES], after[EM_DEK_BYTES];
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, before, &st), EM_OK);
    restart_without_kms(f);
    int64_t due = em_cmek_retry_due(f->cmek);
    assert_true(due != INT64_MAX);
    assert_true(due - fake_monotonic_ns <= 50 * 1000000LL); /* the first retry: 50 ms */
    /* while KMS stays down, each retry waits twice as long, up to 2 s */
    const int64_t ms = 1000000LL;
    const int64_t delays[] = {100 * ms,  200 * ms,  400 * ms, 800 * ms,
                              1600 * ms, 2000 * ms, 2000 * ms};
    for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
        fake_monotonic_ns = due - 1;
        assert_int_equal(em_cmek_retry(f->cmek, &st), EM_OK); /* not due yet: nothing */
        assert_int_equal(em_cmek_retry_due(f->cmek), due);
        fake_monotonic_ns = due;
        assert_int_equal(em_cmek_retry(f->cmek, &st), EM_OK);
        assert_int_equal(state_of(f, TOPIC), EM_CMEK_OFFLINE);
        due = em_cmek_retry_due(f->cmek);
        assert_int_equal(due - fake_monotonic_ns, delays[i]);
    }
    /* KMS comes up: the next retry, not the next scheduled check, restores the topic */
    start_kms_server(f);
    fake_monotonic_ns = due - 1;
    assert_int_equal(em_cmek_retry(f->cmek, &st), EM_OK);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_OFFLINE);
    int changes = f->changes;
    fake_monotonic_ns = due;
    assert_int_equal(em_cmek_retry(f->cmek, &st), EM_OK);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
    assert_int_equal(f->changes, changes + 1);
    assert_int_equal(em_cmek_retry_due(f->cmek), INT64_MAX);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, after, &st), EM_OK);
    assert_memory_equal(before, after, sizeof(before));
    /* the scheduled checks go on as before */
    struct em_cmek_info info;
    assert_true(em_cmek_info(f->cmek, TOPIC, &info));
    assert_true(info.next_check_ns > em_clock_now());
}

static void test_kms_refusals_and_injected_outages_wait_for_scheduled_checks(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    struct em_status st = {0};
    unsigned char dek[EM_DEK_BYTES];
    /* KMS answered: the key is disabled. Nothing to retry early. */
    assert_int_equal(set_version_state(f, 1, "DISABLED"), 200);
    em_service_close(f->svc);
    assert_int_equal(open_engine(f), 0);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_INACCESSIBLE);
    assert_int_equal(em_cmek_retry_due(f->cmek), INT64_MAX);
    assert_int_equal(set_version_state(f, 1, "ENABLED"), 200);
    assert_int_equal(em_cmek_check_all(f->cmek, em_clock_now(), &st), EM_OK);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
    /* the injected fault is an outage in emulator time: only scheduled checks see it end,
     * and data calls do not wait for it */
    assert_int_equal(em_faults_set_kms_unreachable(f->kms->store, true, &st), EM_OK);
    em_service_close(f->svc);
    assert_int_equal(open_engine(f), 0);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_OFFLINE);
    assert_int_equal(em_cmek_retry_due(f->cmek), INT64_MAX);
    int64_t started = em_clock_monotonic();
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, dek, &st), EM_UNAVAILABLE);
    assert_true(em_clock_monotonic() - started < EM_NS_PER_SEC / 2);
    assert_int_equal(em_faults_set_kms_unreachable(f->kms->store, false, &st), EM_OK);
    assert_int_equal(em_cmek_retry(f->cmek, &st), EM_OK);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_OFFLINE);
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
}

static void test_grace_ends_when_the_kms_process_is_back(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    protect(f, "projects/cmek-project/topics/moved", KEY);
    struct em_status st = {0};
    unsigned char dek[EM_DEK_BYTES];
    stop_kms_server(f);
    em_cmek_set_monotonic(f->cmek, fake_monotonic);
    fake_monotonic_ns = 1000 * EM_NS_PER_SEC;
    advance(f, MINUTES5);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_GRACE);
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, dek, &st), EM_OK); /* the cached KEK */
    assert_int_equal(em_cmek_retry_due(f->cmek), fake_monotonic_ns + 50 * 1000000LL);
    /* a resource moved to Google default encryption no longer waits for KMS */
    assert_int_equal(em_cmek_rekey(f->cmek, "projects/cmek-project/topics/moved", NULL, &st),
                     EM_OK);
    start_kms_server(f);
    fake_monotonic_ns += 50 * 1000000LL;
    assert_int_equal(em_cmek_retry(f->cmek, &st), EM_OK);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
    assert_int_equal(em_cmek_retry_due(f->cmek), INT64_MAX);
    assert_int_equal(state_of(f, "projects/cmek-project/topics/moved"), EM_CMEK_ACCESSIBLE);
}

struct late_kms {
    struct fixture *f;
    int64_t after_ns;
};

/* KMS comes up after_ns from now; meanwhile and after, retries run as the service's main
 * loop runs them (on the real clock). */
static void *bring_kms_up_late(void *arg)
{
    struct late_kms *late = arg;
    int64_t up_at = em_clock_monotonic() + late->after_ns;
    bool up = false;
    for (int i = 0; i < 400 && em_cmek_retry_due(late->f->cmek) != INT64_MAX; i++) {
        if (!up && em_clock_monotonic() >= up_at) {
            start_kms_server(late->f);
            up = true;
        }
        struct em_status st = {0};
        em_cmek_retry(late->f->cmek, &st);
        usleep(10 * 1000);
    }
    return NULL;
}

static void test_first_use_waits_for_kms_to_come_up(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    struct em_status st = {0};
    unsigned char before[EM_DEK_BYTES], after[EM_DEK_BYTES];
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, before, &st), EM_OK);
    em_service_close(f->svc);
    stop_kms_server(f);
    assert_int_equal(open_engine(f), 0);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_OFFLINE);
    struct late_kms late = {f, 300 * 1000000LL};
    pthread_t t;
    int64_t started = em_clock_monotonic();
    assert_int_equal(pthread_create(&t, NULL, bring_kms_up_late, &late), 0);
    /* a publish arriving now is served once KMS is up, not answered UNAVAILABLE */
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, after, &st), EM_OK);
    int64_t waited = em_clock_monotonic() - started;
    pthread_join(t, NULL);
    assert_memory_equal(before, after, sizeof(before));
    assert_true(waited >= 250 * 1000000LL && waited < 3 * EM_NS_PER_SEC);
    /* past the first few seconds of an outage, calls no longer wait */
    restart_without_kms(f);
    fake_monotonic_ns += 6 * EM_NS_PER_SEC;
    started = em_clock_monotonic();
    assert_int_equal(em_cmek_use(f->cmek, TOPIC, after, &st), EM_UNAVAILABLE);
    assert_true(em_clock_monotonic() - started < EM_NS_PER_SEC / 2);
    assert_non_null(strstr(st.message, "cannot be reached"));
    start_kms_server(f);
}

/* A key name that slipped past validation cannot steer the request: its segments are
 * percent-encoded in the URL, so "#" cannot cut off the verb and "?" cannot start a query
 * (before: "key:encrypt#" reached KMS as .../key:encrypt and succeeded). */
static void test_key_names_cannot_steer_kms_requests(void **state)
{
    struct fixture *f = *state;
    (void)f;
    static const char *const names[] = {KEY ":encrypt#", KEY ":encrypt?x=", KEY "/../key",
                                        KEY ":encrypt\r\nX-Injected: 1"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct em_kms_reply reply;
        enum em_kms_result result = em_kms_encrypt(names[i], "user:developer@example.com", NULL,
                                                   NULL, "data", 4, NULL, 0, &reply);
        if (result == EM_KMS_OK)
            fail_msg("\"%s\" was encrypted by %s", names[i], reply.key_version);
        em_kms_reply_clear(&reply);
    }
    struct em_kms_reply reply;
    assert_int_equal(
        em_kms_encrypt(KEY, "user:developer@example.com", NULL, NULL, "data", 4, NULL, 0, &reply),
        EM_KMS_OK);
    em_kms_reply_clear(&reply);
    /* the engine refuses such a name before calling KMS, naming the field */
    struct em_status st = {0};
    assert_int_equal(em_cmek_protect(f->cmek, TOPIC, "cmek-project", KEY ":encrypt#", &st),
                     EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "kms_key_name"));
}

static void count_listed(const struct em_cmek_info *info, void *arg)
{
    int *count = arg;
    if (strcmp(info->service, "testsvc") == 0)
        (*count)++;
}

static void test_listing_sees_every_resource(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    protect(f, "projects/cmek-project/topics/plain", NULL);
    struct em_status st = {0};
    int count = 0;
    assert_int_equal(em_cmek_list(f->kms->store, count_listed, &count, &st), EM_OK);
    assert_int_equal(count, 2);
    assert_int_equal(em_cmek_forget(f->cmek, TOPIC, &st), EM_OK);
    count = 0;
    assert_int_equal(em_cmek_list(f->kms->store, count_listed, &count, &st), EM_OK);
    assert_int_equal(count, 1);
}

/* A step error part-way through the rows fails the listing and the reload of a restart,
 * instead of a partial result that looks complete. */
static void test_a_step_error_fails_the_load(void **state)
{
    struct fixture *f = *state;
    protect(f, TOPIC, KEY);
    protect(f, "projects/cmek-project/topics/plain", NULL);
    struct em_status st = {0};
    int count = 0;
    struct unit_step_fault listing = {.sql_part = "FROM cmek_resources", .rows = 1};
    unit_step_fault_arm(f->kms->store, &listing);
    assert_int_equal(em_cmek_list(f->kms->store, count_listed, &count, &st), EM_INTERNAL);
    unit_step_fault_disarm(f->kms->store);
    assert_int_equal(listing.seen, 1);

    em_service_close(f->svc);
    f->cmek = NULL;
    assert_int_equal(em_service_open(&test_service, &f->cfg, &f->svc, &st), EM_OK);
    struct unit_step_fault reload = {.sql_part = "FROM cmek_resources", .rows = 1};
    struct em_cmek_hooks hooks = {.state_changed = count_change, .arg = f};
    unit_step_fault_arm(f->svc->store, &reload);
    assert_int_equal(em_cmek_open(f->svc, "gcp-sa-test", &hooks, &f->cmek, &st), EM_INTERNAL);
    unit_step_fault_disarm(f->svc->store);
    assert_int_equal(reload.seen, 1);
    em_service_close(f->svc);
    assert_int_equal(open_engine(f), 0);
    assert_int_equal(state_of(f, TOPIC), EM_CMEK_ACCESSIBLE);
}

int main(void)
{
    em_log_init("test", EM_LOG_ERROR + 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_protect_and_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_key_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_then_enable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rotation_rewraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_makes_data_unrecoverable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timer_tick_leaves_a_clock_move_to_the_control_plane,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_outage_grace_then_offline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disabled_before_outage_stays_inaccessible, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_reloads_and_unwraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_agent_needs_the_role, setup_enforced,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_listing_sees_every_resource, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_step_error_fails_the_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rekey_moves_to_the_new_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renamed_resource_keeps_its_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pinned_version_survives_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_now_sees_a_disabled_version_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_destroyed_pinned_version_shreds_for_good, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_before_kms_retries_with_backoff, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_kms_refusals_and_injected_outages_wait_for_scheduled_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grace_ends_when_the_kms_process_is_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_first_use_waits_for_kms_to_come_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_names_cannot_steer_kms_requests, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
