/*
 * em_cmek: the CMEK engine every data service shares (README, "The CMEK engine").
 *
 * Envelope chain: a protected resource's data is encrypted with its DEK (em_store's
 * encrypted mode); the DEK is sealed with the resource's KEK; the KEK is wrapped by the
 * customer's key through KMS :encrypt as the project's service agent
 * (serviceAccount:service-<project number>@<agent domain>.iam.gserviceaccount.com) and
 * stored wrapped. Plaintext KEKs and DEKs live only in memory. A resource without a
 * customer key ("Google default encryption") has its KEK sealed under the data
 * directory's default key instead, and is always ACCESSIBLE.
 *
 * State machine of a protected resource, persisted in table cmek_resources (owned here,
 * one row per resource, keyed by the resource's name, read by the control plane's
 * protectedResources; a renamed resource keeps the name its keys are bound to in
 * column sealed_as):
 *
 *                 check: KMS unreachable                now >= since + grace
 *    ACCESSIBLE ------------------------------> GRACE ---------------------> OFFLINE
 *       ^  |  ^                                   |  check ok / denied          |
 *       |  |  +-------------- check ok -----------+                             |
 *       |  | check: KMS denied (disabled, destroyed, permission revoked)        |
 *       |  v                                                                    |
 *    INACCESSIBLE <---------------------- check: KMS denied --------------------+
 *       |  (stays INACCESSIBLE while KMS is unreachable)
 *       +---- check ok (key enabled again) ----> ACCESSIBLE;  OFFLINE --ok--> ACCESSIBLE
 *
 *   ACCESSIBLE, GRACE: data calls served (GRACE uses the KEK cached in memory)
 *   OFFLINE:           data calls fail UNAVAILABLE, data kept, KEK dropped from memory
 *   INACCESSIBLE:      data calls fail FAILED_PRECONDITION in the service's own words
 *
 * Key checks: every key_check_interval seconds of emulator time each resource asks KMS
 * to decrypt its wrapped KEK (one KMS call per resource, many in flight at once). A
 * check runs at its nominal time (the scheduled check time), so advancing the clock by
 * any amount gives the same states as advancing it in 300 s steps. A check whose KMS
 * answer says the primary version changed re-wraps the KEK with the new primary
 * (rotation): from then on disabling older versions does not affect the resource.
 *
 * Pinned resources (em_cmek_protect_pinned: a Spanner backup) keep their KEK wrapped by
 * the version that was primary when they were protected, for good: rotation does not
 * re-wrap them and they cannot be re-keyed, so their state follows that one version
 * (disabled: INACCESSIBLE; enabled again: ACCESSIBLE; destroyed: INACCESSIBLE forever,
 * since KMS erased the only key that unwraps their KEK: crypto-shredding).
 * After a restart the KEK is unwrapped again; if KMS cannot be reached then, the
 * resource is OFFLINE (no KEK is cached yet).
 *
 * Prompt retries (real time, not the emulator clock: they are about a process being up).
 * A check that finds KMS unreachable because its process is down or still starting
 * (connection refused, timeout, 5xx) leaves an OFFLINE or GRACE resource "retrying": it
 * is checked again 50 ms later, then after 100 ms, doubling up to every 2 s, until KMS
 * answers; the answer moves it along the drawn transitions as any check does (OFFLINE
 * --ok--> ACCESSIBLE, GRACE --ok--> ACCESSIBLE, --denied--> INACCESSIBLE), and the
 * scheduled checks go on unchanged. So a restart whose KMS comes up after the service
 * (start-up order, a crash of both) does not leave data OFFLINE until the next scheduled
 * check. "KMS answered no" (disabled, destroyed, permission) is never retried early, and
 * neither is the injected kmsUnreachable fault, an outage in emulator time whose end only
 * scheduled checks see. A data call on an OFFLINE resource that is retrying waits for
 * the retries, up to 5 s after the first failure, before it answers UNAVAILABLE.
 */
#ifndef EM_CMEK_H
#define EM_CMEK_H

#include "em_call.h"
#include "em_status.h"

#include <stdbool.h>
#include <stdint.h>

#define EM_DEK_BYTES 32

struct em_service;
struct em_store;
struct em_cmek;

enum em_cmek_state {
    EM_CMEK_ACCESSIBLE,
    EM_CMEK_GRACE,
    EM_CMEK_OFFLINE,
    EM_CMEK_INACCESSIBLE,
    EM_CMEK_DELETED, /* Bigtable only: set by the service */
};

const char *em_cmek_state_name(enum em_cmek_state state);

/* A snapshot of one resource, for replies and the control plane. */
struct em_cmek_info {
    char resource[EM_RESOURCE_MAX];
    char service[32];
    char kms_key[EM_RESOURCE_MAX];     /* "" for Google default encryption */
    char key_version[EM_RESOURCE_MAX]; /* version that wraps the KEK now */
    bool pinned;                       /* key_version never changes */
    enum em_cmek_state state;
    int64_t state_since_ns; /* when the current state began */
    int64_t last_check_ns, next_check_ns;
    char reason[EM_STATUS_MESSAGE_MAX]; /* KMS's last error, "" when fine */
};

struct em_cmek_hooks {
    /* After a state change (not under engine locks): the service opens or closes what
     * depends on the data (files, push delivery). May be NULL. */
    void (*state_changed)(void *arg, const char *resource, enum em_cmek_state from,
                          enum em_cmek_state to);
    /* The FAILED_PRECONDITION a data call gets while INACCESSIBLE, in the service's
     * words (info->reason holds KMS's last answer). NULL: a generic message. */
    void (*inaccessible_error)(void *arg, const struct em_cmek_info *info, struct em_status *st);
    /* After every check round that checked at least one resource (tick, keyChecks:run,
     * em_cmek_check, prompt retries; not the start-up round), with the round's emulator
     * time, once its state changes were reported; not under engine locks. For services
     * whose own rules advance per key check (Bigtable's cascade). May be NULL. */
    void (*round_done)(void *arg, int64_t now);
    void *arg;
};

/* Opens the engine of a service process (agent_domain: "gcp-sa-pubsub") and loads its
 * resources, unwrapping their KEKs. Attaches itself to svc (svc->cmek), so the service
 * runtime runs key checks on every tick, answers keyChecks:run, and closes the engine
 * after the service's close hook (services never call em_cmek_close themselves). */
enum em_code em_cmek_open(struct em_service *svc, const char *agent_domain,
                          const struct em_cmek_hooks *hooks, struct em_cmek **out,
                          struct em_status *st);
void em_cmek_close(struct em_cmek *cmek);

/* The service agent of a project for this engine ("serviceAccount:service-123@..."). */
void em_cmek_agent(const struct em_cmek *cmek, const char *project, char *out, size_t len);

/* Protects a new resource: fresh KEK and DEK; the KEK wrapped with kms_key (NULL for
 * Google default encryption). KMS refusals come back with KMS's code and a message
 * naming the key and the service agent; UNAVAILABLE when KMS cannot be reached. */
enum em_code em_cmek_protect(struct em_cmek *cmek, const char *resource, const char *project,
                             const char *kms_key, struct em_status *st);

/* The same, pinned to the key's primary version of now (see above). */
enum em_code em_cmek_protect_pinned(struct em_cmek *cmek, const char *resource, const char *project,
                                    const char *kms_key, struct em_status *st);

/* Changes the key protecting a resource (NULL: Google default encryption): its KEK is
 * wrapped again with the new key; the DEK and the data stay as they are. The resource
 * must be usable (ACCESSIBLE or GRACE) and not pinned (FAILED_PRECONDITION). KMS refusals
 * come back as for em_cmek_protect. */
enum em_code em_cmek_rekey(struct em_cmek *cmek, const char *resource, const char *kms_key,
                           struct em_status *st);

/* Gives a protected resource a new name, in any state and without asking KMS: the
 * engine, its hooks, key checks, audit entries and the control plane know it by the new
 * name from now on, while its wrapped keys stay bound to the name it was protected under.
 * For data that outlives the resource it belonged to (Pub/Sub keeps a deleted topic's
 * messages for its subscriptions as <topic>/deleted/<creation time>), so the old name is
 * free for a new resource. NOT_FOUND if from is unknown, ALREADY_EXISTS if to is taken. */
enum em_code em_cmek_rename(struct em_cmek *cmek, const char *from, const char *to,
                            struct em_status *st);

/* Forgets a deleted resource: its DEK and KEK are wiped from memory, and its wrapped keys
 * from every file of the data directory (its row is deleted with secure_delete and the WAL
 * truncated: em_store_purge). */
enum em_code em_cmek_forget(struct em_cmek *cmek, const char *resource, struct em_status *st);

/* The gate of every data call: OK and the DEK when ACCESSIBLE or GRACE; UNAVAILABLE when
 * OFFLINE (after waiting up to 5 s for KMS to come up when the resource is retrying);
 * the service's FAILED_PRECONDITION when INACCESSIBLE; NOT_FOUND if unknown. */
enum em_code em_cmek_use(struct em_cmek *cmek, const char *resource,
                         unsigned char dek[EM_DEK_BYTES], struct em_status *st);

/* A snapshot of one resource; false when unknown. */
bool em_cmek_info(struct em_cmek *cmek, const char *resource, struct em_cmek_info *out);

/* Checks one resource now, as a scheduled check would (its schedule is unchanged): for a
 * call that must know KMS's answer of this moment, such as a restore from a backup.
 * NOT_FOUND if unknown; the outcome is the resource's state (em_cmek_info, em_cmek_use). */
enum em_code em_cmek_check(struct em_cmek *cmek, const char *resource, struct em_status *st);

/* Runs the checks due by now and expires grace periods (called on every tick). */
enum em_code em_cmek_tick(struct em_cmek *cmek, int64_t now, struct em_status *st);

/* Checks every resource now (control plane keyChecks:run). */
enum em_code em_cmek_check_all(struct em_cmek *cmek, int64_t now, struct em_status *st);

/* Runs the prompt retries that are due (see above); the service's main loop calls it
 * whenever em_cmek_retry_due says so. */
enum em_code em_cmek_retry(struct em_cmek *cmek, struct em_status *st);

/* When the next prompt retry is due, on the engine's monotonic clock
 * (em_clock_monotonic); INT64_MAX when no resource is retrying. */
int64_t em_cmek_retry_due(struct em_cmek *cmek);

/* Replaces the engine's monotonic clock (tests; NULL: em_clock_monotonic). */
void em_cmek_set_monotonic(struct em_cmek *cmek, int64_t (*monotonic)(void));

/* Every protected resource of every service, from the store (control plane). */
typedef void (*em_cmek_visit_fn)(const struct em_cmek_info *info, void *arg);
enum em_code em_cmek_list(struct em_store *store, em_cmek_visit_fn visit, void *arg,
                          struct em_status *st);

#endif
