/*
 * kms_ekm_handlers: Cloud KMS's EkmService REST methods (Create/Get/List/Update
 * EkmConnection, VerifyConnectivity, Get/UpdateEkmConfig, and IAM on both resources):
 * their request schemas, JSON in and out, and the glue to kms_ekm_connections; and the
 * EKM connection of a new EXTERNAL_VPC key (kms_ekm_resolve_backend).
 *
 * A connection's server certificates travel as base64 DER (rawDer; gcloud sends the URL-safe
 * alphabet) and come back with what the server parsed from them. gcloud's update sends the
 * whole connection it read, output-only fields included: they are accepted and ignored, as
 * Google does. VerifyConnectivity reaches the emulator's simulated EKM (em_ekm), which the
 * control plane's ekmUnreachable fault takes off the network.
 *
 * An EkmConfig name ends in a singleton ("projects/p/locations/l/ekmConfig"): IAM climbs
 * from it to its location and project (em_iam.c), so grants on the project reach it as on
 * Google; the routes carry the permissions.
 *
 * Google reference:
 * https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.ekmConnections and
 * projects.locations/getEkmConfig, updateEkmConfig.
 */
#include "em_clock.h"
#include "em_iam.h"
#include "em_json.h"
#include "em_list.h"
#include "em_mask.h"
#include "em_names.h"
#include "em_schema.h"
#include "em_service.h"
#include "kms_ekm_connections.h"
#include "kms_errors.h"
#include "kms_handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONFIG_SUFFIX "/ekmConfig"

static struct kms_ekm_connections *ekm_of(struct em_call *call)
{
    return ((struct kms_ctx *)call->svc->ctx)->ekm_connections;
}

/* --- schemas (google/cloud/kms/v1/ekm_service.proto); output-only fields are accepted in
 * requests and ignored --- */

static const struct em_enum_value mode_values[] = {
    {"KEY_MANAGEMENT_MODE_UNSPECIFIED", 0}, {"MANUAL", 1}, {"CLOUD_KMS", 2}, {NULL}};
static const struct em_enum mode_enum = {"google.cloud.kms.v1.EkmConnection.KeyManagementMode",
                                         mode_values};

/* notBeforeTime and notAfterTime are Timestamps, read as strings: a certificate may be
 * valid until 9999, past the nanoseconds of em_time_parse, and gcloud sends them back as
 * read (they are output only, ignored). */
static const struct em_field certificate_fields[] = {
    {"rawDer", EM_F_BYTES},
    {"parsed", EM_F_BOOL},
    {"issuer", EM_F_STRING},
    {"subject", EM_F_STRING},
    {"subjectAlternativeDnsNames", EM_F_STRING, true},
    {"notBeforeTime", EM_F_STRING},
    {"notAfterTime", EM_F_STRING},
    {"serialNumber", EM_F_STRING},
    {"sha256Fingerprint", EM_F_STRING},
    {NULL}};
static const struct em_message certificate_msg = {"google.cloud.kms.v1.Certificate",
                                                  certificate_fields};

static const struct em_field resolver_fields[] = {
    {"serviceDirectoryService", EM_F_STRING},
    {"endpointFilter", EM_F_STRING},
    {"hostname", EM_F_STRING},
    {"serverCertificates", EM_F_MESSAGE, true, &certificate_msg},
    {NULL}};
static const struct em_message resolver_msg = {"google.cloud.kms.v1.EkmConnection.ServiceResolver",
                                               resolver_fields};

static const struct em_field connection_fields[] = {
    {"name", EM_F_STRING},
    {"createTime", EM_F_TIMESTAMP},
    {"serviceResolvers", EM_F_MESSAGE, true, &resolver_msg},
    {"etag", EM_F_STRING},
    {"keyManagementMode", EM_F_ENUM, false, NULL, &mode_enum},
    {"cryptoSpacePath", EM_F_STRING},
    {NULL}};
const struct em_message kms_ekm_connection_schema = {"google.cloud.kms.v1.EkmConnection",
                                                     connection_fields};

static const struct em_field list_fields[] = {
    {"ekmConnections", EM_F_MESSAGE, true, &kms_ekm_connection_schema},
    {"nextPageToken", EM_F_STRING},
    {"totalSize", EM_F_INT32},
    {NULL}};
const struct em_message kms_list_ekm_connections_reply = {
    "google.cloud.kms.v1.ListEkmConnectionsResponse", list_fields};

static const struct em_field config_fields[] = {
    {"name", EM_F_STRING}, {"defaultEkmConnection", EM_F_STRING}, {NULL}};
const struct em_message kms_ekm_config_schema = {"google.cloud.kms.v1.EkmConfig", config_fields};

/* --- JSON out --- */

/* A time in seconds as google.protobuf.Timestamp (certificates may run to year 9999). */
static void add_seconds(cJSON *obj, const char *key, int64_t seconds)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    char text[EM_TIME_TEXT_MAX];
    if (!gmtime_r(&t, &tm))
        return;
    snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cJSON_AddStringToObject(obj, key, text);
}

static cJSON *certificate_json(const struct kms_ekm_certificate *cert)
{
    cJSON *json = cJSON_CreateObject();
    em_json_add_bytes(json, "rawDer", cert->der, cert->der_len);
    cJSON_AddBoolToObject(json, "parsed", cert->parsed);
    if (!cert->parsed)
        return json;
    cJSON_AddStringToObject(json, "issuer", cert->issuer);
    cJSON_AddStringToObject(json, "subject", cert->subject);
    if (cert->dns_count) {
        cJSON *names = cJSON_AddArrayToObject(json, "subjectAlternativeDnsNames");
        for (size_t i = 0; i < cert->dns_count; i++)
            cJSON_AddItemToArray(names, cJSON_CreateString(cert->dns_names[i]));
    }
    add_seconds(json, "notBeforeTime", cert->not_before_s);
    add_seconds(json, "notAfterTime", cert->not_after_s);
    cJSON_AddStringToObject(json, "serialNumber", cert->serial);
    cJSON_AddStringToObject(json, "sha256Fingerprint", cert->sha256);
    return json;
}

static cJSON *connection_json(const struct kms_ekm_connection *c)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", c->name);
    em_json_add_time(json, "createTime", c->create_ns);
    cJSON *resolvers = cJSON_AddArrayToObject(json, "serviceResolvers");
    for (size_t i = 0; i < c->resolver_count; i++) {
        const struct kms_ekm_resolver *r = &c->resolvers[i];
        cJSON *resolver = cJSON_CreateObject();
        cJSON_AddStringToObject(resolver, "serviceDirectoryService", r->service_directory_service);
        if (*r->endpoint_filter)
            cJSON_AddStringToObject(resolver, "endpointFilter", r->endpoint_filter);
        cJSON_AddStringToObject(resolver, "hostname", r->hostname);
        cJSON *certs = cJSON_AddArrayToObject(resolver, "serverCertificates");
        for (size_t j = 0; j < r->certificate_count; j++)
            cJSON_AddItemToArray(certs, certificate_json(&r->certificates[j]));
        cJSON_AddItemToArray(resolvers, resolver);
    }
    cJSON_AddStringToObject(json, "etag", c->etag);
    cJSON_AddStringToObject(json, "keyManagementMode", kms_ekm_mode_name(c->mode));
    if (*c->crypto_space_path)
        cJSON_AddStringToObject(json, "cryptoSpacePath", c->crypto_space_path);
    return json;
}

/* Replies with connection c, which it clears. */
static enum em_code reply_connection(struct em_call *call, struct kms_ekm_connection *c)
{
    cJSON *reply = connection_json(c);
    kms_ekm_connection_clear(c);
    return em_call_reply(call, reply);
}

/* --- JSON in --- */

/* Copies a string field of obj (absent: "") into out, refusing what does not fit. */
static enum em_code read_text(struct em_call *call, const cJSON *obj, const char *key,
                              const char *path, char *out, size_t len)
{
    const char *text = em_json_string(obj, key);
    text = text ? text : "";
    if (strlen(text) >= len)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "%s is too long: %zu characters, at most %zu.", path, strlen(text),
                            len - 1);
    snprintf(out, len, "%s", text);
    return EM_OK;
}

static enum em_code read_certificates(struct em_call *call, const cJSON *list,
                                      struct kms_ekm_resolver *r)
{
    if (kms_ekm_certificate_count_check((size_t)cJSON_GetArraySize(list), &call->status))
        return call->status.code;
    const cJSON *item;
    cJSON_ArrayForEach(item, list)
    {
        struct kms_ekm_certificate *cert = &r->certificates[r->certificate_count++];
        const char *der = em_json_string(item, "rawDer");
        if (der && *der && !em_b64_decode(der, strlen(der), &cert->der, &cert->der_len))
            return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                                "ekm_connection.service_resolvers[0].server_certificates[%zu]."
                                "raw_der is not valid base64.",
                                r->certificate_count - 1);
    }
    return EM_OK;
}

/* The service resolvers of the body into c (the schema checked their types). */
static enum em_code read_resolvers(struct em_call *call, struct kms_ekm_connection *c)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(call->body, "serviceResolvers");
    if (kms_ekm_resolver_count_check((size_t)cJSON_GetArraySize(list), &call->status))
        return call->status.code;
    const char *prefix = "ekm_connection.service_resolvers[0]";
    char path[96];
    const cJSON *item = cJSON_GetArrayItem(list, 0);
    struct kms_ekm_resolver *r = &c->resolvers[c->resolver_count++];
    snprintf(path, sizeof(path), "%s.service_directory_service", prefix);
    if (read_text(call, item, "serviceDirectoryService", path, r->service_directory_service,
                  sizeof(r->service_directory_service)))
        return call->status.code;
    snprintf(path, sizeof(path), "%s.endpoint_filter", prefix);
    if (read_text(call, item, "endpointFilter", path, r->endpoint_filter,
                  sizeof(r->endpoint_filter)))
        return call->status.code;
    snprintf(path, sizeof(path), "%s.hostname", prefix);
    if (read_text(call, item, "hostname", path, r->hostname, sizeof(r->hostname)))
        return call->status.code;
    return read_certificates(call, cJSON_GetObjectItemCaseSensitive(item, "serverCertificates"), r);
}

/* The caller's fields of an EkmConnection body into c (zeroed first); mask (all for a
 * create) says which are read. */
static enum em_code read_connection(struct em_call *call, unsigned mask,
                                    struct kms_ekm_connection *c)
{
    memset(c, 0, sizeof(*c));
    if (mask & KMS_EKM_FIELD_MODE)
        c->mode = kms_ekm_mode_parse(em_json_string(call->body, "keyManagementMode"));
    if ((mask & KMS_EKM_FIELD_CRYPTO_SPACE_PATH) &&
        read_text(call, call->body, "cryptoSpacePath", "ekm_connection.crypto_space_path",
                  c->crypto_space_path, sizeof(c->crypto_space_path)))
        return call->status.code;
    if (mask & KMS_EKM_FIELD_RESOLVERS)
        return read_resolvers(call, c);
    return EM_OK;
}

/* A body's name, when it has one, must be the request's. */
static enum em_code check_body_name(struct em_call *call, const char *what, const char *name)
{
    const char *body_name = em_json_string(call->body, "name");
    if (body_name && *body_name && strcmp(body_name, name) != 0)
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "%s.name %.200s does not match the request's %.200s.", what, body_name,
                            name);
    return EM_OK;
}

/* --- EkmConnections --- */

enum em_code kms_create_ekm_connection(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    const char *id = em_call_query(call, "ekmConnectionId");
    char name[EM_RESOURCE_MAX];
    if (kms_check_location(call, parent) || kms_ekm_location_check(parent, &call->status) ||
        kms_check_id(call, "ekm_connection_id", id))
        return call->status.code;
    snprintf(name, sizeof(name), "%s/ekmConnections/%s", parent, id);
    snprintf(call->audit_resource, sizeof(call->audit_resource), "%s", name);
    struct kms_ekm_connection spec, created;
    unsigned all = KMS_EKM_FIELD_RESOLVERS | KMS_EKM_FIELD_MODE | KMS_EKM_FIELD_CRYPTO_SPACE_PATH;
    enum em_code code = read_connection(call, all, &spec);
    if (!code)
        code = kms_ekm_connection_create(ekm_of(call), name, &spec, em_clock_now(), &created,
                                         &call->status);
    kms_ekm_connection_clear(&spec);
    return code ? code : reply_connection(call, &created);
}

enum em_code kms_get_ekm_connection(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_ekm_connection c;
    if (kms_check_location(call, name) ||
        kms_ekm_connection_get(ekm_of(call), name, &c, &call->status))
        return call->status.code;
    return reply_connection(call, &c);
}

enum em_code kms_list_ekm_connections(struct em_call *call)
{
    const char *parent = em_call_var(call, "parent");
    struct kms_ekm_connection_list list;
    if (kms_check_location(call, parent) ||
        kms_ekm_connection_list(ekm_of(call), parent, &list, &call->status))
        return call->status.code;
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < list.count; i++)
        cJSON_AddItemToArray(items, connection_json(&list.items[i]));
    kms_ekm_connection_list_free(&list);
    static const struct em_list_options options = {"ekmConnections", 1000, 1000, true};
    return em_list_reply(call, items, &options);
}

static enum em_code connection_mask_path(const char *path, void *arg, struct em_status *st)
{
    unsigned *mask = arg;
    if (em_mask_path_is(path, "serviceResolvers"))
        *mask |= KMS_EKM_FIELD_RESOLVERS;
    else if (em_mask_path_is(path, "keyManagementMode"))
        *mask |= KMS_EKM_FIELD_MODE;
    else if (em_mask_path_is(path, "cryptoSpacePath"))
        *mask |= KMS_EKM_FIELD_CRYPTO_SPACE_PATH;
    else if (!em_mask_path_is(path, "name") && !em_mask_path_is(path, "createTime") &&
             !em_mask_path_is(path, "etag")) /* output only: nothing to update */
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask path \"%s\": an EkmConnection's service_resolvers, "
                       "key_management_mode and crypto_space_path can be updated.",
                       path);
    return EM_OK;
}

enum em_code kms_update_ekm_connection(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    unsigned mask = 0;
    size_t paths = 0;
    if (kms_check_location(call, name) ||
        em_mask_each(em_call_query(call, "updateMask"), connection_mask_path, &mask, &paths,
                     &call->status))
        return call->status.code;
    if (paths == 0)
        return KMS_ERR_UPDATE_MASK_REQUIRED(&call->status);
    if (check_body_name(call, "ekm_connection", name))
        return call->status.code;
    struct kms_ekm_connection patch, updated;
    enum em_code code = read_connection(call, mask, &patch);
    if (!code)
        code =
            kms_ekm_connection_update(ekm_of(call), name, &patch, mask,
                                      em_json_string(call->body, "etag"), &updated, &call->status);
    kms_ekm_connection_clear(&patch);
    return code ? code : reply_connection(call, &updated);
}

enum em_code kms_verify_ekm_connectivity(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    struct kms_ekm_connection c;
    if (kms_check_location(call, name) ||
        kms_ekm_connection_get(ekm_of(call), name, &c, &call->status))
        return call->status.code;
    enum em_code code = kms_ekm_connection_verify(&c, em_clock_now(), &call->status);
    kms_ekm_connection_clear(&c);
    return code ? code : em_call_reply(call, cJSON_CreateObject());
}

/* --- EkmConfig --- */

/* The location of an ekmConfig name ("projects/p/locations/l"), checked as KMS checks
 * locations. (Permissions are the routes': IAM walks up from the configuration to its
 * location and project.) */
static enum em_code config_location(struct em_call *call, const char *name,
                                    char location[EM_RESOURCE_MAX])
{
    size_t len = strlen(name), suffix = strlen(CONFIG_SUFFIX);
    if (len <= suffix || len - suffix >= EM_RESOURCE_MAX ||
        strcmp(name + len - suffix, CONFIG_SUFFIX) != 0)
        return KMS_ERR_INVALID_NAME(&call->status, name);
    snprintf(location, EM_RESOURCE_MAX, "%.*s", (int)(len - suffix), name);
    return kms_check_location(call, location);
}

static cJSON *config_json(const char *name, const char *connection)
{
    cJSON *json = cJSON_CreateObject();
    cJSON_AddStringToObject(json, "name", name);
    if (*connection)
        cJSON_AddStringToObject(json, "defaultEkmConnection", connection);
    return json;
}

enum em_code kms_get_ekm_config(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    char location[EM_RESOURCE_MAX], connection[EM_RESOURCE_MAX];
    if (config_location(call, name, location) ||
        kms_ekm_default_connection(ekm_of(call), location, connection, sizeof(connection),
                                   &call->status))
        return call->status.code;
    return em_call_reply(call, config_json(name, connection));
}

static enum em_code config_mask_path(const char *path, void *arg, struct em_status *st)
{
    bool *set = arg;
    if (em_mask_path_is(path, "defaultEkmConnection"))
        *set = true;
    else if (!em_mask_path_is(path, "name")) /* output only */
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid update_mask path \"%s\": only default_ekm_connection can be "
                       "updated.",
                       path);
    return EM_OK;
}

enum em_code kms_update_ekm_config(struct em_call *call)
{
    const char *name = em_call_var(call, "name");
    char location[EM_RESOURCE_MAX], connection[EM_RESOURCE_MAX];
    bool set = false;
    size_t paths = 0;
    if (config_location(call, name, location) ||
        em_mask_each(em_call_query(call, "updateMask"), config_mask_path, &set, &paths,
                     &call->status))
        return call->status.code;
    if (paths == 0)
        return KMS_ERR_UPDATE_MASK_REQUIRED(&call->status);
    const char *value = em_json_string(call->body, "defaultEkmConnection");
    struct kms_ekm_connections *ekm = ekm_of(call);
    if (check_body_name(call, "ekm_config", name) ||
        (set && kms_ekm_default_connection_set(ekm, location, value ? value : "", &call->status)) ||
        kms_ekm_default_connection(ekm, location, connection, sizeof(connection), &call->status))
        return call->status.code;
    return em_call_reply(call, config_json(name, connection));
}

/* --- the EKM connection of a new key (CreateCryptoKey) --- */

/* Whether connection (projects/p/locations/l/ekmConnections/c) is in key_name's project
 * and location (projects/p/locations/l/keyRings/...). */
static bool same_location(const char *connection, const char *key_name)
{
    const char *c = strstr(connection, "/ekmConnections/");
    const char *k = strstr(key_name, "/keyRings/");
    return c && k && c - connection == k - key_name &&
           strncmp(connection, key_name, (size_t)(c - connection)) == 0;
}

/* A key's EKM connection: of its project and location (checked first: nothing is looked
 * up in another project), which the caller may use (cloudkms.ekmConnections.use, under
 * --iam enforce: Google names the permission without saying what it gates; a key made
 * with the connection is the use this emulator checks), and that exists. */
static enum em_code check_backend(struct em_call *call, const char *key_name, const char *name)
{
    struct kms_ekm_route route;
    if (!same_location(name, key_name))
        return EM_CALL_FAIL(call, EM_INVALID_ARGUMENT,
                            "crypto_key.crypto_key_backend %.200s is not in the project and "
                            "location of CryptoKey %.200s: a key and its EKM connection share "
                            "them.",
                            name, key_name);
    if (em_iam_check(call->svc->store, &call->svc->config, call->principal, name,
                     "cloudkms.ekmConnections.use", &call->status) ||
        kms_ekm_connection_route(ekm_of(call), name, &route, &call->status))
        return call->status.code;
    return EM_OK;
}

enum em_code kms_ekm_resolve_backend(struct em_call *call, const char *key_name,
                                     const struct kms_key_spec *spec, char *backend, size_t len)
{
    backend[0] = '\0';
    bool vpc = kms_protection_parse(spec->protection) == KMS_EXTERNAL_VPC;
    if (spec->backend && *spec->backend) {
        if (vpc && check_backend(call, key_name, spec->backend))
            return call->status.code;
        snprintf(backend, len, "%s", spec->backend); /* kms_keys.c refuses it elsewhere */
        return EM_OK;
    }
    if (!vpc)
        return EM_OK;
    char location[EM_RESOURCE_MAX];
    const char *ring = strstr(key_name, "/keyRings/");
    snprintf(location, sizeof(location), "%.*s", ring ? (int)(ring - key_name) : 0, key_name);
    if (kms_ekm_default_connection(ekm_of(call), location, backend, len, &call->status))
        return call->status.code;
    return *backend ? check_backend(call, key_name, backend) : EM_OK;
}

/* --- IAM: whether the resource exists --- */

bool kms_ekm_iam_resource(const char *name)
{
    size_t len = strlen(name), suffix = strlen(CONFIG_SUFFIX);
    return strstr(name, "/ekmConnections/") ||
           (len > suffix && strcmp(name + len - suffix, CONFIG_SUFFIX) == 0);
}

enum em_code kms_ekm_iam_resource_check(struct em_call *call)
{
    const char *name = em_call_var(call, "resource");
    char location[EM_RESOURCE_MAX];
    if (!strstr(name, "/ekmConnections/"))
        return config_location(call, name, location); /* an EkmConfig: always there */
    struct kms_ekm_connection c;
    if (kms_check_location(call, name) ||
        kms_ekm_connection_get(ekm_of(call), name, &c, &call->status))
        return call->status.code;
    kms_ekm_connection_clear(&c);
    return EM_OK;
}
