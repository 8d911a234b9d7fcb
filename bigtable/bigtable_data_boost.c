/*
 * bigtable_data_boost: the refusal of writes through a Data Boost app profile (see
 * bigtable_data_boost.h). Reads through one need nothing here: the emulator has no
 * serverless compute, and Google only promises that a Data Boost read sees the writes
 * older than 30 minutes, which a read of the profile's cluster does (it sees newer ones
 * too).
 *
 * Writes are the data plane's hot path, so whether a profile is read-only is kept per
 * (admin, profile) in a small cache that holds while the metadata store is unchanged
 * (bt_store_generation, as the route cache in bigtable_tables.c): a write reads
 * metadata.db again only after an admin change.
 * Reference:
 * https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/projects.instances.appProfiles
 */
#include "bigtable_data_boost.h"

#include "bigtable_admin.h"
#include "bigtable_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define SLOTS 64

struct slot {
    const struct bt_admin *admin;
    uint64_t generation; /* bt_store_generation before the profile was read */
    bool read_only;
    char profile[BT_NAME_MAX];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot cache[SLOTS];

static struct slot *slot_of(const char *profile)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = profile; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &cache[h % SLOTS];
}

/* Whether the profile (a full name) is a Data Boost one; false when it does not exist or
 * is not a valid name (the routing of the call answers for those). */
static enum em_code read_only(struct bt_admin *admin, const char *profile, bool *out,
                              struct em_status *st)
{
    uint64_t generation = bt_store_generation(); /* before reading: a change after it misses */
    struct slot *slot = slot_of(profile);
    pthread_mutex_lock(&cache_lock);
    bool hit = slot->admin == admin && slot->generation == generation &&
               strcmp(slot->profile, profile) == 0;
    if (hit)
        *out = slot->read_only;
    pthread_mutex_unlock(&cache_lock);
    if (hit)
        return EM_OK;
    cJSON *stored = NULL;
    enum em_code rc = bt_app_profile_get(admin, profile, &stored, st);
    if (rc == EM_NOT_FOUND || rc == EM_INVALID_ARGUMENT)
        *st = (struct em_status){0};
    else if (rc)
        return rc;
    *out = cJSON_GetObjectItem(stored, "dataBoostIsolationReadOnly") != NULL;
    cJSON_Delete(stored);
    pthread_mutex_lock(&cache_lock);
    slot->admin = admin;
    slot->generation = generation;
    slot->read_only = *out;
    snprintf(slot->profile, sizeof(slot->profile), "%s", profile);
    pthread_mutex_unlock(&cache_lock);
    return EM_OK;
}

enum em_code bt_data_boost_check_write(struct bt_admin *admin, const char *target,
                                       const char *app_profile, struct em_status *st)
{
    *st = (struct em_status){0}; /* the flow below reads st->code */
    const char *tables = target ? strstr(target, "/tables/") : NULL;
    if (!tables)
        return EM_OK; /* not a table's name: the call's own checks refuse it */
    char profile[BT_NAME_MAX];
    bool refused = false;
    snprintf(profile, sizeof(profile), "%.*s/appProfiles/%.100s",
             (int)(tables - target < 380 ? tables - target : 380), target,
             app_profile && *app_profile ? app_profile : "default");
    if (read_only(admin, profile, &refused, st) || !refused)
        return st->code;
    return EM_FAIL(st, EM_FAILED_PRECONDITION,
                   "The app profile %.300s uses Data Boost (data_boost_isolation_read_only), "
                   "which is read-only: write requests cannot be sent with it.",
                   profile);
}
