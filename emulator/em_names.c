/*
 * em_names: IDs, names, projects, locations and page tokens (see em_names.h).
 * Location list: Google Cloud's public regions and the KMS multi-regions.
 */
#include "em_names.h"

#include "em_json.h"

#include <ctype.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool char_allowed(char c, const struct em_id_rule *rule)
{
    if (isdigit((unsigned char)c))
        return true;
    if (isalpha((unsigned char)c) && (unsigned char)c < 128)
        return !rule->lowercase_only || islower((unsigned char)c);
    return c != '\0' && rule->allowed && strchr(rule->allowed, c) != NULL;
}

enum em_code em_id_check(const char *id, const struct em_id_rule *rule, struct em_status *st)
{
    size_t len = strlen(id);
    bool ok = len >= rule->min_len && len <= rule->max_len;
    for (size_t i = 0; ok && i < len; i++)
        ok = char_allowed(id[i], rule);
    if (ok && rule->letter_first)
        ok = isalpha((unsigned char)id[0]);
    if (ok)
        return EM_OK;
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid %s \"%.100s\": %s", rule->what, id,
                   rule->description);
}

/* Finds the "<collection>/<id>" pair of name, stepping over whole pairs from the start so
 * an ID that happens to spell a collection ("projects/locations/locations/l") is never
 * taken for one. Sets *id and *id_len; false when the pair is absent or its ID empty. */
static bool find_pair(const char *name, const char *collection, const char **id, size_t *id_len)
{
    size_t clen = strlen(collection);
    const char *p = name;
    while (*p) {
        size_t seg = strcspn(p, "/");
        if (p[seg] != '/')
            return false;
        const char *value = p + seg + 1;
        size_t n = strcspn(value, "/");
        if (seg == clen && strncmp(p, collection, clen) == 0) {
            *id = value;
            *id_len = n;
            return n > 0;
        }
        p = value + n;
        if (*p == '/')
            p++;
    }
    return false;
}

bool em_name_id(const char *name, const char *collection, char *out, size_t len)
{
    const char *id;
    size_t n;
    if (!find_pair(name, collection, &id, &n) || n >= len)
        return false;
    memcpy(out, id, n);
    out[n] = '\0';
    return true;
}

bool em_name_prefix(const char *name, const char *collection, char *out, size_t len)
{
    const char *id;
    size_t n;
    if (!find_pair(name, collection, &id, &n))
        return false;
    n += (size_t)(id - name);
    if (n >= len)
        return false;
    memcpy(out, name, n);
    out[n] = '\0';
    return true;
}

static const struct em_id_rule project_rule = {
    "project ID",
    6,
    30,
    "-",
    true,
    true,
    "project IDs are 6 to 30 lowercase letters, digits or hyphens, start with a letter and "
    "do not end with a hyphen."};

bool em_numeric_id(const char *id)
{
    size_t n = strspn(id, "0123456789");
    return n >= 1 && n <= 20 && id[n] == '\0';
}

enum em_code em_project_check(const char *project_id, struct em_status *st)
{
    size_t len = strlen(project_id);
    if (len > 0 && project_id[len - 1] == '-')
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid project ID \"%.100s\": %s", project_id,
                       project_rule.description);
    return em_id_check(project_id, &project_rule, st);
}

/* The CryptoKey grammar, collection by collection (see em_crypto_key_name_parse). */
struct key_name_part {
    const char *collection;
    const char *what;
    size_t max_len;
    bool (*valid)(const char *id);
    const char *rule;
};

static bool valid_project(const char *id)
{
    size_t len = strlen(id);
    return len > 0 && id[len - 1] != '-' && em_id_check(id, &project_rule, NULL) == EM_OK;
}

static bool valid_location(const char *id)
{
    static const struct em_id_rule rule = {"location ID", 1, 63, "-", true, true, ""};
    return em_id_check(id, &rule, NULL) == EM_OK;
}

static bool valid_kms_id(const char *id)
{
    static const struct em_id_rule rule = {"ID", 1, 63, "_-", false, false, ""};
    return em_id_check(id, &rule, NULL) == EM_OK;
}

static const struct key_name_part key_name_parts[] = {
    {"projects", "project ID", 31, valid_project,
     "6 to 30 lowercase letters, digits or hyphens, starting with a letter and not ending "
     "with a hyphen"},
    {"locations", "location ID", 64, valid_location,
     "lowercase letters, digits or hyphens, starting with a letter"},
    {"keyRings", "key ring ID", 64, valid_kms_id, "1 to 63 letters, digits, '_' or '-'"},
    {"cryptoKeys", "crypto key ID", 64, valid_kms_id, "1 to 63 letters, digits, '_' or '-'"},
};

#define KEY_NAME_SHAPE                                                                             \
    "projects/{project}/locations/{location}/keyRings/{key_ring}/cryptoKeys/{crypto_key}"

static enum em_code key_name_misshapen(const char *field, const char *name, struct em_status *st)
{
    return EM_FAIL(st, EM_INVALID_ARGUMENT, "Invalid %s \"%.300s\": expected " KEY_NAME_SHAPE ".",
                   field, name);
}

enum em_code em_crypto_key_name_parse(const char *name, const char *field,
                                      struct em_crypto_key_name *out, struct em_status *st)
{
    struct em_crypto_key_name parsed = {0};
    char *ids[] = {parsed.project, parsed.location, parsed.key_ring, parsed.crypto_key};
    const char *p = name;
    for (size_t i = 0; i < sizeof(key_name_parts) / sizeof(key_name_parts[0]); i++) {
        const struct key_name_part *part = &key_name_parts[i];
        size_t clen = strlen(part->collection);
        if (strncmp(p, part->collection, clen) != 0 || p[clen] != '/')
            return key_name_misshapen(field, name, st);
        p += clen + 1;
        size_t n = strcspn(p, "/");
        bool last = i + 1 == sizeof(key_name_parts) / sizeof(key_name_parts[0]);
        if (n == 0 || (last ? p[n] != '\0' : p[n] != '/'))
            return key_name_misshapen(field, name, st);
        char id[64];
        bool fits = n < part->max_len && n < sizeof(id);
        if (fits) {
            memcpy(id, p, n);
            id[n] = '\0';
        }
        if (!fits || !part->valid(id))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid %s \"%.300s\": the %s \"%.*s\" must be %s.", field, name,
                           part->what, (int)(n < 80 ? n : 80), p, part->rule);
        memcpy(ids[i], id, n + 1);
        p += n + (last ? 0 : 1);
    }
    if (out)
        *out = parsed;
    return EM_OK;
}

int64_t em_project_number(const char *project_id)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)project_id, strlen(project_id), digest);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | digest[i];
    return 100000000000LL + (int64_t)(v % 900000000000ULL);
}

static const struct em_location locations[] = {
    {"global", "Global", EM_LOC_GLOBAL, ""},
    {"us", "United States", EM_LOC_MULTI_REGION, "us-"},
    {"europe", "Europe", EM_LOC_MULTI_REGION, "europe-"},
    {"asia", "Asia", EM_LOC_MULTI_REGION, "asia-"},
    {"africa-south1", "Johannesburg", EM_LOC_REGION, NULL},
    {"asia-east1", "Taiwan", EM_LOC_REGION, NULL},
    {"asia-east2", "Hong Kong", EM_LOC_REGION, NULL},
    {"asia-northeast1", "Tokyo", EM_LOC_REGION, NULL},
    {"asia-northeast2", "Osaka", EM_LOC_REGION, NULL},
    {"asia-northeast3", "Seoul", EM_LOC_REGION, NULL},
    {"asia-south1", "Mumbai", EM_LOC_REGION, NULL},
    {"asia-south2", "Delhi", EM_LOC_REGION, NULL},
    {"asia-southeast1", "Singapore", EM_LOC_REGION, NULL},
    {"asia-southeast2", "Jakarta", EM_LOC_REGION, NULL},
    {"australia-southeast1", "Sydney", EM_LOC_REGION, NULL},
    {"australia-southeast2", "Melbourne", EM_LOC_REGION, NULL},
    {"europe-central2", "Warsaw", EM_LOC_REGION, NULL},
    {"europe-north1", "Finland", EM_LOC_REGION, NULL},
    {"europe-north2", "Stockholm", EM_LOC_REGION, NULL},
    {"europe-southwest1", "Madrid", EM_LOC_REGION, NULL},
    {"europe-west1", "Belgium", EM_LOC_REGION, NULL},
    {"europe-west2", "London", EM_LOC_REGION, NULL},
    {"europe-west3", "Frankfurt", EM_LOC_REGION, NULL},
    {"europe-west4", "Netherlands", EM_LOC_REGION, NULL},
    {"europe-west6", "Zurich", EM_LOC_REGION, NULL},
    {"europe-west8", "Milan", EM_LOC_REGION, NULL},
    {"europe-west9", "Paris", EM_LOC_REGION, NULL},
    {"europe-west10", "Berlin", EM_LOC_REGION, NULL},
    {"europe-west12", "Turin", EM_LOC_REGION, NULL},
    {"me-central1", "Doha", EM_LOC_REGION, NULL},
    {"me-central2", "Dammam", EM_LOC_REGION, NULL},
    {"me-west1", "Tel Aviv", EM_LOC_REGION, NULL},
    {"northamerica-northeast1", "Montréal", EM_LOC_REGION, NULL},
    {"northamerica-northeast2", "Toronto", EM_LOC_REGION, NULL},
    {"northamerica-south1", "Querétaro", EM_LOC_REGION, NULL},
    {"southamerica-east1", "São Paulo", EM_LOC_REGION, NULL},
    {"southamerica-west1", "Santiago", EM_LOC_REGION, NULL},
    {"us-central1", "Iowa", EM_LOC_REGION, NULL},
    {"us-east1", "South Carolina", EM_LOC_REGION, NULL},
    {"us-east4", "Northern Virginia", EM_LOC_REGION, NULL},
    {"us-east5", "Columbus", EM_LOC_REGION, NULL},
    {"us-south1", "Dallas", EM_LOC_REGION, NULL},
    {"us-west1", "Oregon", EM_LOC_REGION, NULL},
    {"us-west2", "Los Angeles", EM_LOC_REGION, NULL},
    {"us-west3", "Salt Lake City", EM_LOC_REGION, NULL},
    {"us-west4", "Las Vegas", EM_LOC_REGION, NULL},
};

#define LOCATION_COUNT (sizeof(locations) / sizeof(locations[0]))

const struct em_location *em_location_find(const char *id)
{
    for (size_t i = 0; i < LOCATION_COUNT; i++)
        if (strcmp(locations[i].id, id) == 0)
            return &locations[i];
    return NULL;
}

const struct em_location *em_locations(size_t *count)
{
    *count = LOCATION_COUNT;
    return locations;
}

bool em_location_covers(const char *outer, const char *inner)
{
    const struct em_location *o = em_location_find(outer);
    if (!o)
        return false;
    if (o->kind == EM_LOC_GLOBAL || strcmp(outer, inner) == 0)
        return true;
    return o->kind == EM_LOC_MULTI_REGION && strncmp(inner, o->members, strlen(o->members)) == 0;
}

/* An international character: any code point outside ASCII, one UTF-8 sequence. */
static bool is_utf8_lead(unsigned char c)
{
    return c >= 0x80 && (c & 0xc0) != 0x80;
}

static bool label_text_valid(const char *text, size_t min, size_t max)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (!(islower(*p) || isdigit(*p) || *p == '_' || *p == '-' || *p >= 0x80))
            return false;
        if (*p < 0x80 || is_utf8_lead(*p))
            chars++;
    }
    return chars >= min && chars <= max;
}

enum em_code em_labels_check(const cJSON *labels, struct em_status *st)
{
    if (labels && !cJSON_IsObject(labels) && !cJSON_IsNull(labels))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "Labels must be an object of strings.");
    if (cJSON_GetArraySize(labels) > 64)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "At most 64 labels are allowed.");
    const cJSON *label;
    cJSON_ArrayForEach(label, labels)
    {
        const char *key = label->string;
        unsigned char first = (unsigned char)key[0];
        if (!label_text_valid(key, 1, 63) || !(islower(first) || is_utf8_lead(first)))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid label key \"%.70s\": keys are 1 to 63 lowercase letters, "
                           "digits, '_' or '-', starting with a lowercase letter.",
                           key);
        if (!cJSON_IsString(label) || !label_text_valid(label->valuestring, 0, 63))
            return EM_FAIL(st, EM_INVALID_ARGUMENT,
                           "Invalid value for label \"%.70s\": values are up to 63 lowercase "
                           "letters, digits, '_' or '-'.",
                           key);
    }
    return EM_OK;
}

enum em_code em_labels_read(const cJSON *obj, char **labels_json, struct em_status *st)
{
    *labels_json = NULL;
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(obj, "labels");
    if (!labels || cJSON_IsNull(labels))
        return EM_OK;
    if (em_labels_check(labels, st))
        return st->code;
    *labels_json = cJSON_PrintUnformatted(labels);
    return *labels_json ? EM_OK : EM_FAIL_OOM(st);
}

char *em_page_token_make(const char *last_name)
{
    char *token = em_b64_encode((const unsigned char *)last_name, strlen(last_name));
    if (!token)
        return NULL;
    for (char *p = token; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=')
            *p = '\0';
    }
    return token;
}

enum em_code em_page_token_read(const char *token, char *out, size_t len, struct em_status *st)
{
    unsigned char *raw;
    size_t raw_len;
    if (!em_b64_decode(token, strlen(token), &raw, &raw_len))
        return EM_ERR_PAGE_TOKEN_INVALID(st, token);
    bool ok = raw_len > 0 && raw_len < len && memchr(raw, '\0', raw_len) == NULL;
    if (ok) {
        memcpy(out, raw, raw_len);
        out[raw_len] = '\0';
    }
    free(raw);
    return ok ? EM_OK : EM_ERR_PAGE_TOKEN_INVALID(st, token);
}
