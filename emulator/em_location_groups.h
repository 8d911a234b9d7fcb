/*
 * em_location_groups: the value groups of the resource locations constraint
 * (gcp.resourceLocations), which say where resources may be created.
 *
 * A policy names locations exactly ("us-east1", a region; "us-east1-b", a zone; "us", a
 * multi-region; "global") or through value groups written "in:<group>"
 * (https://cloud.google.com/resource-manager/docs/organization-policy/defining-locations):
 *   in:<region>-locations      the region and its zones: in:europe-west1-locations;
 *   in:us-locations            the multi-region "us", every us-* region and its zones;
 *   in:europe-locations        "europe" and "eu", every europe-* region and its zones;
 *   in:eu-locations            "eu" and the regions in the European Union (not London,
 *                              not Zurich) with their zones;
 *   in:asia-locations          "asia", every asia-* region;
 *   in:northamerica-locations  "us", every us-* and northamerica-* region;
 *   in:southamerica-locations  every southamerica-* region;
 *   in:australia-locations     every australia-* region.
 * Regions are those em_names knows; a zone is "<region>-<letter>".
 *
 * Google completes what is written without the prefix: a region becomes its group
 * ("us-east1" is stored as "in:us-east1-locations"), a group name gains "in:"
 * ("us-locations"); zones, multi-regions and "is:" values stay as written.
 */
#ifndef EM_LOCATION_GROUPS_H
#define EM_LOCATION_GROUPS_H

#include <stdbool.h>
#include <stddef.h>

#define EM_LOCATION_GROUP_MAX 96 /* bytes of "in:<group>" with its NUL */

/* Whether group ("us-locations", "us-east1-locations", without "in:") is a value group. */
bool em_location_group_known(const char *group);

/* The value groups holding location, each as "in:<group>", in out (at most max of them);
 * returns how many. A location outside every group (global, an unknown one) has none. */
size_t em_location_groups_of(const char *location, char out[][EM_LOCATION_GROUP_MAX], size_t max);

/* The value as Google stores it (see above), into out. */
void em_location_value_normalize(const char *value, char *out, size_t len);

#endif
