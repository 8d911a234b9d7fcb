/*
 * spanner_configs: the instance configurations this emulator offers, as data:
 * `regional-<region>` for every Google region the emulator knows (em_names), the common
 * multi-region configurations with their replicas, and `emulator-config` (what Google's
 * own emulator offers, a single replica in "emulator"), and the dual-region configurations
 * (two regions of a country, quorumType DUAL_REGION). Each Google-managed config but
 * the emulator's offers a READ_ONLY replica in every region the emulator knows as its
 * optionalReplicas, what a user-managed config (spanner_instance_configs.c) may add.
 * Reference: https://cloud.google.com/spanner/docs/instance-configurations
 */
#include "spanner_admin.h"

#include "em_names.h"

#include <stdio.h>
#include <string.h>

struct sp_replica {
    const char *location;
    const char *type; /* READ_WRITE, READ_ONLY, WITNESS */
    bool default_leader;
};

struct sp_multi_config {
    const char *id;
    const char *display_name;
    struct sp_replica replicas[6];
    const char *quorum_type; /* NULL: MULTI_REGION */
};

static const struct sp_multi_config sp_multi_configs[] = {
    {"nam3",
     "North America (Northern Virginia/South Carolina)",
     {{"us-east4", "READ_WRITE", true},
      {"us-east1", "READ_WRITE", false},
      {"us-central1", "WITNESS", false}}},
    {"nam6",
     "North America (Iowa/South Carolina/Oregon/Los Angeles)",
     {{"us-central1", "READ_WRITE", true},
      {"us-east1", "READ_WRITE", false},
      {"us-west1", "READ_ONLY", false},
      {"us-west2", "READ_ONLY", false},
      {"us-central2", "WITNESS", false}}},
    {"nam7",
     "North America (Iowa/Northern Virginia/Oklahoma)",
     {{"us-central1", "READ_WRITE", true},
      {"us-east4", "READ_WRITE", false},
      {"us-central2", "WITNESS", false}}},
    {"eur3",
     "Europe (Belgium/Netherlands)",
     {{"europe-west1", "READ_WRITE", true},
      {"europe-west4", "READ_WRITE", false},
      {"europe-north1", "WITNESS", false}}},
    {"eur5",
     "Europe (London/Belgium)",
     {{"europe-west2", "READ_WRITE", true},
      {"europe-west1", "READ_WRITE", false},
      {"europe-west4", "WITNESS", false}}},
    {"eur6",
     "Europe (Netherlands/Frankfurt)",
     {{"europe-west4", "READ_WRITE", true},
      {"europe-west3", "READ_WRITE", false},
      {"europe-west6", "WITNESS", false}}},
    {"asia1",
     "Asia (Tokyo/Osaka)",
     {{"asia-northeast1", "READ_WRITE", true},
      {"asia-northeast2", "READ_WRITE", false},
      {"asia-northeast3", "WITNESS", false}}},
    {"nam-eur-asia1",
     "North America, Europe and Asia",
     {{"us-central1", "READ_WRITE", true},
      {"us-central2", "READ_WRITE", false},
      {"europe-west1", "READ_ONLY", false},
      {"asia-east1", "READ_ONLY", false},
      {"us-east1", "WITNESS", false}}},
/* dual-region: two read-write replicas and a witness in each of two regions of a
 * country (Enterprise Plus); the quorum can move to one of them (ChangeQuorum) */
#define DUAL(a, b)                                                                                 \
    {{a, "READ_WRITE", true},  {a, "READ_WRITE", false}, {a, "WITNESS", false},                    \
     {b, "READ_WRITE", false}, {b, "READ_WRITE", false}, {b, "WITNESS", false}},                   \
        "DUAL_REGION"
    {"dual-region-australia1", "Australia (Sydney/Melbourne)",
     DUAL("australia-southeast1", "australia-southeast2")},
    {"dual-region-germany1", "Germany (Frankfurt/Berlin)", DUAL("europe-west3", "europe-west10")},
    {"dual-region-india1", "India (Mumbai/Delhi)", DUAL("asia-south1", "asia-south2")},
    {"dual-region-japan1", "Japan (Tokyo/Osaka)", DUAL("asia-northeast1", "asia-northeast2")},
#undef DUAL
};

#define SP_MULTI_COUNT (sizeof(sp_multi_configs) / sizeof(sp_multi_configs[0]))

static cJSON *replica_json(const char *location, const char *type, bool leader)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "location", location);
    cJSON_AddStringToObject(r, "type", type);
    if (leader)
        cJSON_AddBoolToObject(r, "defaultLeaderLocation", true);
    return r;
}

static cJSON *config_json(const char *project, const char *id, const char *display_name,
                          bool free_instance, const char *quorum_type)
{
    char name[256];
    snprintf(name, sizeof(name), "projects/%s/instanceConfigs/%s", project, id);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", name);
    cJSON_AddStringToObject(c, "displayName", display_name);
    cJSON_AddStringToObject(c, "configType", "GOOGLE_MANAGED");
    cJSON_AddStringToObject(c, "freeInstanceAvailability",
                            free_instance ? "AVAILABLE" : "UNSUPPORTED");
    cJSON_AddStringToObject(c, "state", "READY");
    if (quorum_type)
        cJSON_AddStringToObject(c, "quorumType", quorum_type);
    cJSON_AddArrayToObject(c, "replicas");
    cJSON_AddArrayToObject(c, "leaderOptions");
    return c;
}

/* optionalReplicas: a read-only replica in any region. */
static void add_optional_replicas(cJSON *config)
{
    cJSON *optional = cJSON_AddArrayToObject(config, "optionalReplicas");
    size_t count;
    const struct em_location *locs = em_locations(&count);
    for (size_t i = 0; i < count; i++)
        if (locs[i].kind == EM_LOC_REGION)
            cJSON_AddItemToArray(optional, replica_json(locs[i].id, "READ_ONLY", false));
}

static cJSON *regional_json(const char *project, const struct em_location *loc)
{
    char id[96], display[160];
    snprintf(id, sizeof(id), "regional-%s", loc->id);
    snprintf(display, sizeof(display), "%s (%s)", loc->id, loc->display_name);
    cJSON *c = config_json(project, id, display, true, "REGION");
    cJSON *replicas = cJSON_GetObjectItem(c, "replicas");
    cJSON_AddItemToArray(replicas, replica_json(loc->id, "READ_WRITE", true));
    cJSON_AddItemToArray(replicas, replica_json(loc->id, "READ_WRITE", false));
    cJSON_AddItemToArray(replicas, replica_json(loc->id, "READ_WRITE", false));
    cJSON_AddItemToArray(cJSON_GetObjectItem(c, "leaderOptions"), cJSON_CreateString(loc->id));
    add_optional_replicas(c);
    return c;
}

static bool has_string(const cJSON *array, const char *text)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, array)
    {
        if (cJSON_IsString(item) && strcmp(item->valuestring, text) == 0)
            return true;
    }
    return false;
}

static cJSON *multi_json(const char *project, const struct sp_multi_config *m)
{
    cJSON *c = config_json(project, m->id, m->display_name, false,
                           m->quorum_type ? m->quorum_type : "MULTI_REGION");
    cJSON *replicas = cJSON_GetObjectItem(c, "replicas");
    cJSON *leaders = cJSON_GetObjectItem(c, "leaderOptions");
    for (size_t i = 0; i < 6 && m->replicas[i].location; i++) {
        const struct sp_replica *r = &m->replicas[i];
        cJSON_AddItemToArray(replicas, replica_json(r->location, r->type, r->default_leader));
        if (strcmp(r->type, "READ_WRITE") == 0 && !has_string(leaders, r->location))
            cJSON_AddItemToArray(leaders, cJSON_CreateString(r->location));
    }
    add_optional_replicas(c);
    return c;
}

static cJSON *emulator_json(const char *project)
{
    cJSON *c = config_json(project, SP_EMULATOR_CONFIG, "Emulator Instance Config", false, NULL);
    cJSON_AddItemToArray(cJSON_GetObjectItem(c, "replicas"),
                         replica_json("emulator", "READ_WRITE", true));
    cJSON_AddItemToArray(cJSON_GetObjectItem(c, "leaderOptions"), cJSON_CreateString("emulator"));
    return c;
}

cJSON *sp_configs_list(const char *project)
{
    cJSON *items = cJSON_CreateArray();
    cJSON_AddItemToArray(items, emulator_json(project));
    size_t count;
    const struct em_location *locs = em_locations(&count);
    for (size_t i = 0; i < count; i++)
        if (locs[i].kind == EM_LOC_REGION)
            cJSON_AddItemToArray(items, regional_json(project, &locs[i]));
    for (size_t i = 0; i < SP_MULTI_COUNT; i++)
        cJSON_AddItemToArray(items, multi_json(project, &sp_multi_configs[i]));
    return items;
}

cJSON *sp_config_get(const char *project, const char *id)
{
    if (strcmp(id, SP_EMULATOR_CONFIG) == 0)
        return emulator_json(project);
    if (strncmp(id, "regional-", 9) == 0) {
        const struct em_location *loc = em_location_find(id + 9);
        return loc && loc->kind == EM_LOC_REGION ? regional_json(project, loc) : NULL;
    }
    for (size_t i = 0; i < SP_MULTI_COUNT; i++)
        if (strcmp(id, sp_multi_configs[i].id) == 0)
            return multi_json(project, &sp_multi_configs[i]);
    return NULL;
}
