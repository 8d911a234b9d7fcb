/*
 * em_location_groups: the value groups of gcp.resourceLocations and which locations they
 * hold (see em_location_groups.h).
 */
#include "em_location_groups.h"

#include "em_names.h"

#include <stdio.h>
#include <string.h>

/* A multi-region value group: the regions it holds (by prefix or by name) and the
 * multi-regions it names. */
struct group {
    const char *name;
    const char *const *prefixes;
    const char *const *regions;
    const char *const *multi_regions;
};

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct group groups[] = {
    {"us-locations", WORDS("us-"), NULL, WORDS("us")},
    {"europe-locations", WORDS("europe-"), NULL, WORDS("europe", "eu")},
    {"eu-locations", NULL,
     WORDS("europe-central2", "europe-north1", "europe-north2", "europe-southwest1", "europe-west1",
           "europe-west3", "europe-west4", "europe-west8", "europe-west9", "europe-west10",
           "europe-west12"),
     WORDS("eu")},
    {"asia-locations", WORDS("asia-"), NULL, WORDS("asia")},
    {"northamerica-locations", WORDS("us-", "northamerica-"), NULL, WORDS("us")},
    {"southamerica-locations", WORDS("southamerica-"), NULL, NULL},
    {"australia-locations", WORDS("australia-"), NULL, NULL},
};

#define GROUP_COUNT (sizeof(groups) / sizeof(groups[0]))

static bool listed(const char *const *words, const char *word)
{
    for (; words && *words; words++)
        if (strcmp(*words, word) == 0)
            return true;
    return false;
}

static bool has_prefix(const char *const *prefixes, const char *s)
{
    for (; prefixes && *prefixes; prefixes++)
        if (strncmp(s, *prefixes, strlen(*prefixes)) == 0)
            return true;
    return false;
}

static bool is_region(const char *id)
{
    const struct em_location *loc = em_location_find(id);
    return loc && loc->kind == EM_LOC_REGION;
}

/* The region of a region or of a zone ("us-east1-b"), into region; false for others. */
static bool region_of(const char *location, char region[64])
{
    if (strlen(location) >= 64)
        return false;
    if (is_region(location)) {
        snprintf(region, 64, "%s", location);
        return true;
    }
    const char *dash = strrchr(location, '-');
    if (!dash || dash[1] < 'a' || dash[1] > 'z' || dash[2] != '\0')
        return false;
    snprintf(region, 64, "%.*s", (int)(dash - location), location);
    return is_region(region);
}

bool em_location_group_known(const char *group)
{
    for (size_t i = 0; i < GROUP_COUNT; i++)
        if (strcmp(groups[i].name, group) == 0)
            return true;
    const char *suffix = "-locations";
    size_t n = strlen(group), s = strlen(suffix);
    char region[64];
    if (n <= s || n - s >= sizeof(region) || strcmp(group + n - s, suffix) != 0)
        return false;
    snprintf(region, sizeof(region), "%.*s", (int)(n - s), group);
    return is_region(region);
}

size_t em_location_groups_of(const char *location, char out[][EM_LOCATION_GROUP_MAX], size_t max)
{
    size_t count = 0;
    char region[64];
    bool in_region = region_of(location, region);
    if (in_region && count < max)
        snprintf(out[count++], EM_LOCATION_GROUP_MAX, "in:%s-locations", region);
    for (size_t i = 0; i < GROUP_COUNT && count < max; i++) {
        const struct group *g = &groups[i];
        bool holds = in_region ? has_prefix(g->prefixes, region) || listed(g->regions, region)
                               : listed(g->multi_regions, location);
        if (holds)
            snprintf(out[count++], EM_LOCATION_GROUP_MAX, "in:%s", g->name);
    }
    return count;
}

void em_location_value_normalize(const char *value, char *out, size_t len)
{
    if (is_region(value))
        snprintf(out, len, "in:%s-locations", value);
    else if (em_location_group_known(value))
        snprintf(out, len, "in:%s", value);
    else
        snprintf(out, len, "%s", value);
}
