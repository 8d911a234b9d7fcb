/*
 * em_names: resource names, resource IDs, projects and locations, with Google's rules.
 *
 * Resource names are "collection/id" pairs: projects/p/locations/l/keyRings/r. The
 * router already guarantees a path variable has the right shape; these helpers pull the
 * IDs out and validate them before any storage is touched, so every error names the ID
 * and the rule it broke.
 *
 * Project numbers are deterministic: a project ID always maps to the same 12-digit
 * number, and service agents derive from it (service-<number>@gcp-sa-pubsub...).
 */
#ifndef EM_NAMES_H
#define EM_NAMES_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A rule for resource IDs: allowed characters, first character, length. */
struct em_id_rule {
    const char *what; /* "key ring ID", for messages */
    size_t min_len, max_len;
    const char *allowed;     /* extra characters allowed besides letters and digits */
    bool letter_first;       /* must start with a letter */
    bool lowercase_only;     /* letters must be lowercase */
    const char *description; /* the rule in words, appended to the error */
};

/* Checks id against rule; INVALID_ARGUMENT naming the id and the rule otherwise. */
enum em_code em_id_check(const char *id, const struct em_id_rule *rule, struct em_status *st);

/* Copies the ID that follows "<collection>/" in name into out; false when absent. */
bool em_name_id(const char *name, const char *collection, char *out, size_t len);

/* Copies name up to and including the "<collection>/<id>" pair into out. */
bool em_name_prefix(const char *name, const char *collection, char *out, size_t len);

/* Folder and organization IDs: 1 to 20 decimal digits. */
bool em_numeric_id(const char *id);

/* Project IDs: 6-30 characters, lowercase letters, digits and hyphens, starting with a
 * letter and not ending with a hyphen. Checks the "projects/<id>" part of a name. */
enum em_code em_project_check(const char *project_id, struct em_status *st);

/* A CryptoKey's resource name, by Google's grammar and nothing more:
 *   projects/{project}/locations/{location}/keyRings/{key_ring}/cryptoKeys/{crypto_key}
 * project: a project ID (em_project_check's rule); location: 1 to 63 lowercase letters,
 * digits or hyphens, starting with a letter (known or not: KMS answers NOT_FOUND for an
 * unknown one); key ring and crypto key: 1 to 63 letters, digits, '_' or '-'. No other
 * character (no space, no control character, no ':', '?', '%' or '#') can appear, so a
 * name that passes is safe in a URL path. The one check every service runs on a key name
 * it accepts (Pub/Sub kmsKeyName, Spanner and Bigtable encryption configs, the CMEK
 * engine); field names the request field in the INVALID_ARGUMENT message
 * ("kms_key_name"). out may be NULL. */
struct em_crypto_key_name {
    char project[32];
    char location[64];
    char key_ring[64];
    char crypto_key[64];
};

enum em_code em_crypto_key_name_parse(const char *name, const char *field,
                                      struct em_crypto_key_name *out, struct em_status *st);

/* The project's number (deterministic, 12 digits). */
int64_t em_project_number(const char *project_id);

/* Locations. */
enum em_location_kind { EM_LOC_GLOBAL, EM_LOC_MULTI_REGION, EM_LOC_REGION };

struct em_location {
    const char *id;           /* "us-central1", "us", "global" */
    const char *display_name; /* "Iowa" */
    enum em_location_kind kind;
    const char *members; /* multi-regions: the region prefix they cover ("us-") */
};

/* The known location with this id, or NULL. */
const struct em_location *em_location_find(const char *id);

/* All known locations, in a stable order; *count is set. */
const struct em_location *em_locations(size_t *count);

/* Whether `inner` (a region) lies within `outer` (global, a multi-region or itself). */
bool em_location_covers(const char *outer, const char *inner);

/* Labels (a JSON object of strings), Google's rules, the same for every service: at most
 * 64; keys 1 to 63 characters, starting with a lowercase letter or an international
 * character; values 0 to 63 characters; both of lowercase letters, digits, '_', '-' and
 * international characters (UTF-8; lengths count characters, not bytes). */
enum em_code em_labels_check(const cJSON *labels, struct em_status *st);

/* Reads obj's "labels" field, checked with em_labels_check, as compact JSON text into
 * *labels_json (malloc'd; NULL when the field is absent or null). */
enum em_code em_labels_read(const cJSON *obj, char **labels_json, struct em_status *st);

/* Page tokens: opaque base64url of the last name returned. */
char *em_page_token_make(const char *last_name);
/* INVALID_ARGUMENT for a page token no list of ours made: the one wording of every list
 * (name-based tokens here, offset tokens in em_list, the control plane's log entries). */
#define EM_ERR_PAGE_TOKEN_INVALID(st, token)                                                       \
    EM_FAIL((st), EM_INVALID_ARGUMENT, "Invalid page token \"%.60s\".", (token))
enum em_code em_page_token_read(const char *token, char *out, size_t len, struct em_status *st);

#endif
