/*
 * Unit tests of Cloud EKM's connections and configurations (kms_ekm_connections,
 * kms_ekm_handlers) through KMS's own dispatcher, in process, with certificates made here
 * with OpenSSL: certificate parsing (issuer, subject, DNS names, validity up to 9999,
 * serial, fingerprint; DER that is not one certificate refused), the rules of a
 * connection (one resolver, its Service Directory service in the connection's location,
 * a DNS hostname, 1 to 10 certificates, CLOUD_KMS needs a crypto space path, regional
 * locations only), create/get/list/patch (update mask, etag, gcloud's whole-resource
 * body), VerifyConnectivity (ekmUnreachable fault, expired certificates), the EkmConfig
 * (default connection of the same project and location), the interface key creation
 * uses, IAM on both, and persistence across a restart and a reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "em_call.h"
#include "em_config.h"
#include "em_faults.h"
#include "em_iam.h"
#include "em_json.h"
#include "kms/kms_ekm_connections.h"
#include "kms/kms_handlers.h"
#include "unit_kms.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#define LOC   "projects/ekm-project/locations/us-central1"
#define CONNS "/v1/" LOC "/ekmConnections"
#define SDS   "projects/vpc-project/locations/us-central1/namespaces/ekm/services/replica"

struct fixture {
    struct em_config cfg;
    char dir[PATH_MAX];
    struct em_service *kms;
    char *cert_b64;    /* a valid certificate for ekm.example.com, standard base64 */
    char *expired_b64; /* one that expired in 2001 */
};

/* --- certificates --- */

/* A self-signed certificate (DER, malloc'd): CN=cn,O=Example, serial, validity from
 * not_before to not_after (GeneralizedTime text "YYYYMMDDHHMMSSZ"), and the DNS names of
 * san ("DNS:a,DNS:b"; NULL: none). */
static unsigned char *make_cert(const char *cn, long serial, const char *not_before,
                                const char *not_after, const char *san, size_t *len)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    assert_non_null(key);
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notBefore(x), not_before), 1);
    assert_int_equal(ASN1_TIME_set_string_X509(X509_getm_notAfter(x), not_after), 1);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Example", -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    if (san) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        assert_non_null(ext);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_set_pubkey(x, key);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    assert_true(n > 0);
    unsigned char *copy = malloc((size_t)n);
    memcpy(copy, der, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(key);
    return copy;
}

static char *make_cert_b64(const char *not_after)
{
    size_t len;
    unsigned char *der =
        make_cert("ekm.example.com", 7, "20200101000000Z", not_after, "DNS:ekm.example.com", &len);
    char *b64 = em_b64_encode(der, len);
    free(der);
    return b64;
}

/* --- the service --- */

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || unit_config_init(&f->cfg, f->dir, sizeof(f->dir)) || unit_kms_open(&f->cfg, &f->kms))
        return -1;
    f->cert_b64 = make_cert_b64("99991231235959Z");
    f->expired_b64 = make_cert_b64("20010101000000Z");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    struct em_status st = {0};
    em_faults_set_ekm_unreachable(f->kms->store, false, &st);
    em_service_close(f->kms);
    em_remove_tree(f->dir);
    free(f->cert_b64);
    free(f->expired_b64);
    free(f);
    return 0;
}

static struct kms_ekm_connections *ekm_of(struct fixture *f)
{
    return ((struct kms_ctx *)f->kms->ctx)->ekm_connections;
}

/* A call as the owner with query arguments (key, value, ..., NULL); the HTTP status, and
 * the reply's JSON into *reply (may be NULL). */
static int call(struct fixture *f, const char *method, const char *path, const char *const *query,
                const char *body, cJSON **reply)
{
    struct em_call c = {0};
    c.method = method;
    c.path = path;
    c.body_text = body;
    c.body_len = body ? strlen(body) : 0;
    c.svc = f->kms;
    c.authorization = "Bearer user:developer@example.com";
    for (int i = 0; query && query[2 * i]; i++) {
        c.query[i] = (struct em_query_arg){query[2 * i], query[2 * i + 1]};
        c.query_count = i + 1;
    }
    em_dispatch(f->kms->router, &c);
    int status = c.http_status;
    if (reply)
        *reply = cJSON_ParseWithLength(c.response, c.response_len);
    em_call_reset(&c);
    return status;
}

#define Q(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The error message of a failed call with status want. */
static void expect_error(struct fixture *f, const char *method, const char *path,
                         const char *const *query, const char *body, int want, const char *needle)
{
    cJSON *r = NULL;
    int got = call(f, method, path, query, body, &r);
    const char *message = em_json_string(cJSON_GetObjectItem(r, "error"), "message");
    if (got != want || !message || (needle && !strstr(message, needle)))
        fail_msg("%s %s: expected %d with \"%s\", got %d: %s", method, path, want,
                 needle ? needle : "", got, message ? message : "(no message)");
    cJSON_Delete(r);
}

static void assert_field(const cJSON *json, const char *key, const char *want)
{
    const char *got = em_json_string(json, key);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s: expected \"%s\", got \"%s\"", key, want, got ? got : "(absent)");
}

/* A connection body: one resolver with sds, host and the certificates (JSON objects) of
 * certs; extra top-level members (",\"keyManagementMode\":...") after them. */
static char *body_of(const char *sds, const char *host, const char *certs, const char *extra)
{
    size_t len = strlen(sds) + strlen(host) + strlen(certs) + strlen(extra) + 256;
    char *body = malloc(len);
    snprintf(body, len,
             "{\"serviceResolvers\":[{\"serviceDirectoryService\":\"%s\",\"hostname\":\"%s\","
             "\"serverCertificates\":[%s]}]%s}",
             sds, host, certs, extra);
    return body;
}

static char *cert_json(const char *b64)
{
    size_t len = strlen(b64) + 32;
    char *json = malloc(len);
    snprintf(json, len, "{\"rawDer\":\"%s\"}", b64);
    return json;
}

/* Creates connection id with the fixture's certificate; 200 expected. */
static void create(struct fixture *f, const char *id, const char *extra)
{
    char *cert = cert_json(f->cert_b64);
    char *body = body_of(SDS, "ekm.example.com", cert, extra);
    cJSON *r = NULL;
    int status = call(f, "POST", CONNS, Q("ekmConnectionId", id), body, &r);
    if (status != 200)
        fail_msg("create %s: %d %s", id, status, cJSON_PrintUnformatted(r));
    cJSON_Delete(r);
    free(body);
    free(cert);
}

/* --- certificates and rules --- */

static void test_certificate_parse(void **state)
{
    (void)state;
    size_t len;
    unsigned char *der =
        make_cert("ekm.example.com", 0x0123456789L, "20240102030405Z", "99991231235959Z",
                  "DNS:ekm.example.com,DNS:ekm-2.example.com,IP:10.0.0.1", &len);
    struct kms_ekm_certificate cert = {.der = der, .der_len = len};
    struct em_status st = {0};
    assert_int_equal(kms_ekm_certificate_parse(&cert, "raw_der", &st), EM_OK);
    assert_true(cert.parsed);
    assert_string_equal(cert.subject, "O=Example,CN=ekm.example.com");
    assert_string_equal(cert.issuer, "O=Example,CN=ekm.example.com");
    assert_int_equal(cert.dns_count, 2); /* the IP address is no DNS name */
    assert_string_equal(cert.dns_names[0], "ekm.example.com");
    assert_string_equal(cert.dns_names[1], "ekm-2.example.com");
    assert_int_equal(cert.not_before_s, 1704164645);  /* 2024-01-02T03:04:05Z */
    assert_int_equal(cert.not_after_s, 253402300799); /* 9999-12-31T23:59:59Z */
    assert_string_equal(cert.serial, "0123456789");
    unsigned char digest[32];
    char hex[65];
    EVP_Digest(der, len, digest, NULL, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    assert_string_equal(cert.sha256, hex);

    /* what is not exactly one certificate is refused, naming the field */
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, der, len);
    longer[len] = 0;
    struct kms_ekm_certificate bad[] = {
        {.der = longer, .der_len = len + 1}, /* a byte after it */
        {.der = der, .der_len = len - 1},    /* cut short */
        {.der = (unsigned char *)"hello", .der_len = 5},
        {.der = NULL, .der_len = 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st = (struct em_status){0};
        assert_int_equal(kms_ekm_certificate_parse(&bad[i], "the_field", &st), EM_INVALID_ARGUMENT);
        assert_non_null(strstr(st.message, "the_field"));
        assert_false(bad[i].parsed);
    }
    free(longer);
    /* parsing again frees what the last parse found (ASan checks) */
    assert_int_equal(kms_ekm_certificate_parse(&cert, "raw_der", &st), EM_OK);
    struct kms_ekm_connection c = {.resolver_count = 1};
    c.resolvers[0].certificates[0] = cert;
    c.resolvers[0].certificate_count = 1;
    kms_ekm_connection_clear(&c); /* frees der too */
}

static void test_rules(void **state)
{
    (void)state;
    struct em_status st = {0};
    char location[128];
    assert_int_equal(kms_ekm_connection_name_check(LOC "/ekmConnections/c_1-x", "f", location,
                                                   sizeof(location), &st),
                     EM_OK);
    assert_string_equal(location, LOC);
    static const char *const bad[] = {
        LOC "/ekmConnections/",
        LOC "/ekmConnections/a/b",
        LOC "/ekmConnection/a",
        "projects/P/locations/us-central1/ekmConnections/a",
        "projects/ekm-project/locations/us-central1/keyRings/a",
        LOC "/ekmConnections/a b",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st = (struct em_status){0};
        assert_int_equal(kms_ekm_connection_name_check(bad[i], "the_field", NULL, 0, &st),
                         EM_INVALID_ARGUMENT);
        assert_non_null(strstr(st.message, "the_field"));
    }
    assert_int_equal(kms_ekm_resolver_count_check(1, &st), EM_OK);
    assert_int_equal(kms_ekm_resolver_count_check(0, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(kms_ekm_resolver_count_check(2, &st), EM_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "only a single ServiceResolver"));
    assert_int_equal(kms_ekm_certificate_count_check(10, &st), EM_OK);
    assert_int_equal(kms_ekm_certificate_count_check(11, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(kms_ekm_certificate_count_check(0, &st), EM_INVALID_ARGUMENT);
    assert_int_equal(kms_ekm_location_check(LOC, &st), EM_OK);
    assert_int_equal(kms_ekm_location_check("projects/p/locations/global", &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(kms_ekm_location_check("projects/p/locations/europe", &st),
                     EM_INVALID_ARGUMENT);
    assert_int_equal(kms_ekm_mode_parse("CLOUD_KMS"), KMS_EKM_CLOUD_KMS);
    assert_int_equal(kms_ekm_mode_parse(NULL), KMS_EKM_MODE_UNSPECIFIED);
    assert_string_equal(kms_ekm_mode_name(KMS_EKM_MANUAL), "MANUAL");
}

/* --- EkmConnections --- */

static void test_create_get_list(void **state)
{
    struct fixture *f = *state;
    create(f, "first", "");
    cJSON *r = NULL;
    assert_int_equal(call(f, "GET", CONNS "/first", NULL, NULL, &r), 200);
    assert_field(r, "name", LOC "/ekmConnections/first");
    assert_field(r, "keyManagementMode", "MANUAL"); /* the default */
    assert_null(cJSON_GetObjectItem(r, "cryptoSpacePath"));
    assert_int_equal(strlen(em_json_string(r, "etag")), 16);
    int64_t created;
    assert_true(em_time_parse(em_json_string(r, "createTime"), &created));
    const cJSON *resolver = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "serviceResolvers"), 0);
    assert_field(resolver, "serviceDirectoryService", SDS);
    assert_field(resolver, "hostname", "ekm.example.com");
    assert_null(cJSON_GetObjectItem(resolver, "endpointFilter"));
    const cJSON *cert = cJSON_GetArrayItem(cJSON_GetObjectItem(resolver, "serverCertificates"), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cert, "parsed")));
    assert_field(cert, "rawDer", f->cert_b64);
    assert_field(cert, "subject", "O=Example,CN=ekm.example.com");
    assert_field(cert, "notBeforeTime", "2020-01-01T00:00:00Z");
    assert_field(cert, "notAfterTime", "9999-12-31T23:59:59Z");
    assert_field(cert, "serialNumber", "07");
    assert_int_equal(strlen(em_json_string(cert, "sha256Fingerprint")), 64);
    const cJSON *dns = cJSON_GetObjectItem(cert, "subjectAlternativeDnsNames");
    assert_int_equal(cJSON_GetArraySize(dns), 1);
    assert_string_equal(cJSON_GetArrayItem(dns, 0)->valuestring, "ekm.example.com");
    cJSON_Delete(r);

    /* gcloud's URL-safe base64, an endpoint filter, CLOUD_KMS with its crypto space path */
    char *urlsafe = strdup(f->cert_b64);
    for (char *p = urlsafe; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    char *cert_obj = cert_json(urlsafe);
    char *body =
        body_of(SDS, "ekm.example.com", cert_obj,
                ",\"keyManagementMode\":\"CLOUD_KMS\",\"cryptoSpacePath\":\"v0/cryptospaces/x\"");
    assert_int_equal(call(f, "POST", CONNS, Q("ekmConnectionId", "second"), body, &r), 200);
    assert_field(r, "keyManagementMode", "CLOUD_KMS");
    assert_field(r, "cryptoSpacePath", "v0/cryptospaces/x");
    cJSON_Delete(r);
    free(body);
    free(cert_obj);
    free(urlsafe);

    /* list, in pages */
    assert_int_equal(call(f, "GET", CONNS, NULL, NULL, &r), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "ekmConnections")), 2);
    assert_int_equal(cJSON_GetObjectItem(r, "totalSize")->valueint, 2);
    cJSON_Delete(r);
    assert_int_equal(call(f, "GET", CONNS, Q("pageSize", "1"), NULL, &r), 200);
    const cJSON *items = cJSON_GetObjectItem(r, "ekmConnections");
    assert_int_equal(cJSON_GetArraySize(items), 1);
    assert_field(cJSON_GetArrayItem(items, 0), "name", LOC "/ekmConnections/first");
    char token[256];
    snprintf(token, sizeof(token), "%s", em_json_string(r, "nextPageToken"));
    cJSON_Delete(r);
    assert_int_equal(call(f, "GET", CONNS, Q("pageSize", "1", "pageToken", token), NULL, &r), 200);
    assert_field(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "ekmConnections"), 0), "name",
                 LOC "/ekmConnections/second");
    cJSON_Delete(r);
    assert_int_equal(call(f, "GET", CONNS, Q("filter", "keyManagementMode=CLOUD_KMS"), NULL, &r),
                     200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "ekmConnections")), 1);
    cJSON_Delete(r);
    assert_int_equal(call(f, "GET", CONNS, Q("orderBy", "name desc"), NULL, &r), 200);
    assert_field(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "ekmConnections"), 0), "name",
                 LOC "/ekmConnections/second");
    cJSON_Delete(r);
    assert_int_equal(call(f, "GET", "/v1/projects/ekm-project/locations/us-east1/ekmConnections",
                          NULL, NULL, &r),
                     200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "ekmConnections")), 0);
    cJSON_Delete(r);
}

static void test_create_refusals(void **state)
{
    struct fixture *f = *state;
    create(f, "taken", "");
    char *cert = cert_json(f->cert_b64);
    char *good = body_of(SDS, "ekm.example.com", cert, "");
    expect_error(f, "POST", CONNS, Q("ekmConnectionId", "taken"), good, 409, "already exists");
    expect_error(f, "POST", CONNS, NULL, good, 400, "ekm_connection_id");
    expect_error(f, "POST", CONNS, Q("ekmConnectionId", "bad id"), good, 400, "bad id");
    expect_error(f, "POST", "/v1/projects/ekm-project/locations/nowhere-land/ekmConnections",
                 Q("ekmConnectionId", "x"), good, 404, "nowhere-land");
    expect_error(f, "POST", "/v1/projects/ekm-project/locations/global/ekmConnections",
                 Q("ekmConnectionId", "x"), good, 400, "regional locations only");
    expect_error(f, "POST", "/v1/projects/ekm-project/locations/us/ekmConnections",
                 Q("ekmConnectionId", "x"), good, 400, "regional locations only");

    struct {
        const char *body_sds, *host, *extra, *needle;
    } cases[] = {
        {"", "ekm.example.com", "", "service_directory_service is required"},
        {"foo", "ekm.example.com", "", "projects/{project}/locations/{location}/namespaces"},
        {"projects/vpc-project/locations/us-east1/namespaces/ekm/services/replica",
         "ekm.example.com", "", "must be in the location of the EkmConnection"},
        {SDS, "", "", "hostname is required"},
        {SDS, "ekm..example.com", "", "Invalid ekm_connection.service_resolvers[0].hostname"},
        {SDS, "-ekm.example.com", "", "hostname"},
        {SDS, "ekm.example.com", ",\"keyManagementMode\":\"CLOUD_KMS\"",
         "crypto_space_path is required when key_management_mode is CLOUD_KMS"},
        {SDS, "ekm.example.com", ",\"keyManagementMode\":\"SOMETIMES\"", "SOMETIMES"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *body = body_of(cases[i].body_sds, cases[i].host, cert, cases[i].extra);
        expect_error(f, "POST", CONNS, Q("ekmConnectionId", "x"), body, 400, cases[i].needle);
        free(body);
    }

    /* certificates: none, too many, not base64, not a certificate, one expired is fine */
    char *body = body_of(SDS, "ekm.example.com", "", "");
    expect_error(f, "POST", CONNS, Q("ekmConnectionId", "x"), body, 400,
                 "server_certificates is required");
    free(body);
    char eleven[16384] = "";
    for (int i = 0; i < 11; i++)
        snprintf(eleven + strlen(eleven), sizeof(eleven) - strlen(eleven), "%s%s", i ? "," : "",
                 cert);
    body = body_of(SDS, "ekm.example.com", eleven, "");
    expect_error(f, "POST", CONNS, Q("ekmConnectionId", "x"), body, 400, "at most 10");
    free(body);
    body = body_of(SDS, "ekm.example.com", "{\"rawDer\":\"!!!\"}", "");
    expect_error(f, "POST", CONNS, Q("ekmConnectionId", "x"), body, 400, "raw_der");
    free(body);
    body = body_of(SDS, "ekm.example.com", "{\"rawDer\":\"aGVsbG8=\"}", "");
    expect_error(f, "POST", CONNS, Q("ekmConnectionId", "x"), body, 400,
                 "server_certificates[0].raw_der is not an X.509 certificate");
    free(body);
    body = body_of(SDS, "ekm.example.com", "{\"parsed\":true}", "");
    expect_error(f, "POST", CONNS, Q("ekmConnectionId", "x"), body, 400,
                 "server_certificates[0].raw_der is required");
    free(body);
    /* two resolvers */
    size_t size = strlen(cert) * 2 + 512;
    body = malloc(size);
    snprintf(body, size,
             "{\"serviceResolvers\":[{\"serviceDirectoryService\":\"" SDS
             "\",\"hostname\":\"a.example.com\",\"serverCertificates\":[%s]},"
             "{\"serviceDirectoryService\":\"" SDS
             "\",\"hostname\":\"b.example.com\",\"serverCertificates\":[%s]}]}",
             cert, cert);
    expect_error(f, "POST", CONNS, Q("ekmConnectionId", "x"), body, 400,
                 "only a single ServiceResolver");
    free(body);
    expect_error(f, "POST", CONNS, Q("ekmConnectionId", "x"), "{}", 400,
                 "service_resolvers is required");
    /* nothing was created by the refusals */
    cJSON *r = NULL;
    assert_int_equal(call(f, "GET", CONNS, NULL, NULL, &r), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "ekmConnections")), 1);
    cJSON_Delete(r);
    expect_error(f, "GET", CONNS "/x", NULL, NULL, 404, "EkmConnection " LOC "/ekmConnections/x");
    free(good);
    free(cert);
}

static void test_update(void **state)
{
    struct fixture *f = *state;
    create(f, "conn", "");
    const char *path = CONNS "/conn";
    cJSON *r = NULL;
    assert_int_equal(call(f, "GET", path, NULL, NULL, &r), 200);
    char etag[32];
    snprintf(etag, sizeof(etag), "%s", em_json_string(r, "etag"));

    /* gcloud's update: the whole resource as read, output-only fields included */
    cJSON *resolver = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "serviceResolvers"), 0);
    cJSON_ReplaceItemInObject(resolver, "hostname", cJSON_CreateString("ekm2.example.com"));
    cJSON_AddStringToObject(resolver, "endpointFilter", "metadata.zone=a");
    char *body = cJSON_PrintUnformatted(r);
    cJSON_Delete(r);
    int status = call(f, "PATCH", path, Q("updateMask", "serviceResolvers"), body, &r);
    if (status != 200)
        fail_msg("gcloud-style update: %d %s", status, cJSON_PrintUnformatted(r));
    resolver = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "serviceResolvers"), 0);
    assert_field(resolver, "hostname", "ekm2.example.com");
    assert_field(resolver, "endpointFilter", "metadata.zone=a");
    assert_true(strcmp(em_json_string(r, "etag"), etag) != 0);
    char newer[32];
    snprintf(newer, sizeof(newer), "%s", em_json_string(r, "etag"));
    cJSON_Delete(r);
    /* the same body again: the stale etag it carries is ABORTED */
    expect_error(f, "PATCH", path, Q("updateMask", "serviceResolvers"), body, 409, "etag");
    cJSON_free(body);

    /* the mask: required, known paths only; output-only paths change nothing */
    expect_error(f, "PATCH", path, NULL, "{}", 400, "update_mask is required");
    expect_error(f, "PATCH", path, Q("updateMask", "hostname"), "{}", 400, "hostname");
    assert_int_equal(call(f, "PATCH", path, Q("updateMask", "etag"), "{}", &r), 200);
    assert_field(r, "etag", newer);
    cJSON_Delete(r);
    expect_error(f, "PATCH", path, Q("updateMask", "cryptoSpacePath"),
                 "{\"name\":\"" LOC "/ekmConnections/other\"}", 400, "does not match");

    /* CLOUD_KMS needs a crypto space path, in the same update or before */
    expect_error(f, "PATCH", path, Q("updateMask", "keyManagementMode"),
                 "{\"keyManagementMode\":\"CLOUD_KMS\"}", 400, "crypto_space_path is required");
    char with_etag[128];
    snprintf(with_etag, sizeof(with_etag),
             "{\"keyManagementMode\":\"CLOUD_KMS\",\"cryptoSpacePath\":\"v0/spaces/a\","
             "\"etag\":\"%s\"}",
             newer);
    assert_int_equal(call(f, "PATCH", path,
                          Q("updateMask", "key_management_mode,crypto_space_path"), with_etag, &r),
                     200);
    assert_field(r, "keyManagementMode", "CLOUD_KMS");
    assert_field(r, "cryptoSpacePath", "v0/spaces/a");
    snprintf(newer, sizeof(newer), "%s", em_json_string(r, "etag"));
    cJSON_Delete(r);
    /* an update that changes nothing keeps the etag */
    assert_int_equal(call(f, "PATCH", path, Q("updateMask", "cryptoSpacePath"),
                          "{\"cryptoSpacePath\":\"v0/spaces/a\"}", &r),
                     200);
    assert_field(r, "etag", newer);
    cJSON_Delete(r);
    /* resolvers replaced as a whole: the new ones are checked */
    expect_error(f, "PATCH", path, Q("updateMask", "serviceResolvers"), "{}", 400,
                 "service_resolvers is required");
    expect_error(f, "PATCH", CONNS "/none", Q("updateMask", "cryptoSpacePath"), "{}", 404,
                 "not found");
    /* back to MANUAL (an unspecified mode is the default) */
    assert_int_equal(call(f, "PATCH", path, Q("updateMask", "keyManagementMode"), "{}", &r), 200);
    assert_field(r, "keyManagementMode", "MANUAL");
    cJSON_Delete(r);
}

static void test_verify_connectivity(void **state)
{
    struct fixture *f = *state;
    create(f, "conn", "");
    cJSON *r = NULL;
    const char *path = CONNS "/conn:verifyConnectivity";
    assert_int_equal(call(f, "GET", path, NULL, NULL, &r), 200);
    assert_int_equal(cJSON_GetArraySize(r), 0); /* {} */
    cJSON_Delete(r);

    struct em_status st = {0};
    assert_int_equal(em_faults_set_ekm_unreachable(f->kms->store, true, &st), EM_OK);
    expect_error(f, "GET", path, NULL, NULL, 400,
                 "Could not reach the EKM host due to an external networking error");
    assert_int_equal(call(f, "GET", path, NULL, NULL, &r), 400);
    assert_field(cJSON_GetObjectItem(r, "error"), "status", "FAILED_PRECONDITION");
    assert_non_null(
        strstr(em_json_string(cJSON_GetObjectItem(r, "error"), "message"), "ekm.example.com"));
    const cJSON *detail =
        cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "error"), "details"), 0);
    assert_field(detail, "@type", "type.googleapis.com/google.rpc.PreconditionFailure");
    const cJSON *violations = cJSON_GetObjectItem(detail, "violations");
    assert_field(cJSON_GetArrayItem(violations, 0), "subject", LOC "/ekmConnections/conn");
    assert_field(cJSON_GetArrayItem(violations, 1), "type", "UNREACHABLE_NETWORK");
    assert_field(cJSON_GetArrayItem(violations, 1), "subject", "ekm.example.com");
    cJSON_Delete(r);
    assert_int_equal(em_faults_set_ekm_unreachable(f->kms->store, false, &st), EM_OK);
    assert_int_equal(call(f, "GET", path, NULL, NULL, NULL), 200);

    /* a connection whose only certificate has expired fails the TLS handshake */
    char *cert = cert_json(f->expired_b64);
    char *body = body_of(SDS, "ekm.example.com", cert, "");
    assert_int_equal(call(f, "POST", CONNS, Q("ekmConnectionId", "old"), body, NULL), 200);
    expect_error(f, "GET", CONNS "/old:verifyConnectivity", NULL, NULL, 400,
                 "Could not validate the TLS server certificate");
    /* with a valid one beside it, the handshake succeeds */
    size_t len = strlen(cert) * 2 + strlen(f->cert_b64) + 64;
    char *both = malloc(len);
    snprintf(both, len, "%s,{\"rawDer\":\"%s\"}", cert, f->cert_b64);
    char *patch = body_of(SDS, "ekm.example.com", both, "");
    assert_int_equal(
        call(f, "PATCH", CONNS "/old", Q("updateMask", "serviceResolvers"), patch, NULL), 200);
    assert_int_equal(call(f, "GET", CONNS "/old:verifyConnectivity", NULL, NULL, NULL), 200);
    expect_error(f, "GET", CONNS "/none:verifyConnectivity", NULL, NULL, 404, "not found");
    free(patch);
    free(both);
    free(body);
    free(cert);
}

/* --- EkmConfig --- */

static void test_ekm_config(void **state)
{
    struct fixture *f = *state;
    const char *path = "/v1/" LOC "/ekmConfig";
    cJSON *r = NULL;
    assert_int_equal(call(f, "GET", path, NULL, NULL, &r), 200);
    assert_field(r, "name", LOC "/ekmConfig");
    assert_null(cJSON_GetObjectItem(r, "defaultEkmConnection"));
    cJSON_Delete(r);

    const char *set =
        "{\"name\":\"" LOC "/ekmConfig\",\"defaultEkmConnection\":\"" LOC "/ekmConnections/conn\"}";
    expect_error(f, "PATCH", path, Q("updateMask", "defaultEkmConnection"), set, 404,
                 "EkmConnection " LOC "/ekmConnections/conn not found");
    create(f, "conn", "");
    expect_error(f, "PATCH", path, NULL, set, 400, "update_mask is required");
    expect_error(f, "PATCH", path, Q("updateMask", "etag"), set, 400, "default_ekm_connection");
    assert_int_equal(call(f, "PATCH", path, Q("updateMask", "default_ekm_connection"), set, &r),
                     200);
    assert_field(r, "defaultEkmConnection", LOC "/ekmConnections/conn");
    cJSON_Delete(r);
    assert_int_equal(call(f, "GET", path, NULL, NULL, &r), 200);
    assert_field(r, "defaultEkmConnection", LOC "/ekmConnections/conn");
    cJSON_Delete(r);

    /* a connection of another location or project, a malformed name, another config */
    expect_error(f, "PATCH", path, Q("updateMask", "defaultEkmConnection"),
                 "{\"defaultEkmConnection\":\"projects/ekm-project/locations/us-east1/"
                 "ekmConnections/conn\"}",
                 400, "same project and location");
    expect_error(f, "PATCH", path, Q("updateMask", "defaultEkmConnection"),
                 "{\"defaultEkmConnection\":\"projects/other-project/locations/us-central1/"
                 "ekmConnections/conn\"}",
                 400, "same project and location");
    expect_error(f, "PATCH", path, Q("updateMask", "defaultEkmConnection"),
                 "{\"defaultEkmConnection\":\"conn\"}", 400,
                 "Invalid ekm_config.default_ekm_connection");
    expect_error(f, "PATCH", path, Q("updateMask", "defaultEkmConnection"),
                 "{\"name\":\"projects/ekm-project/locations/us-east1/ekmConfig\"}", 400,
                 "does not match");
    expect_error(f, "GET", "/v1/projects/ekm-project/locations/nowhere-land/ekmConfig", NULL, NULL,
                 404, "nowhere-land");
    /* each location has its own */
    assert_int_equal(
        call(f, "GET", "/v1/projects/ekm-project/locations/us-east1/ekmConfig", NULL, NULL, &r),
        200);
    assert_null(cJSON_GetObjectItem(r, "defaultEkmConnection"));
    cJSON_Delete(r);

    /* the empty string removes the default (gcloud sends it) */
    assert_int_equal(call(f, "PATCH", path, Q("updateMask", "defaultEkmConnection"),
                          "{\"name\":\"" LOC "/ekmConfig\",\"defaultEkmConnection\":\"\"}", &r),
                     200);
    assert_null(cJSON_GetObjectItem(r, "defaultEkmConnection"));
    cJSON_Delete(r);
}

/* --- what key creation uses --- */

static void test_key_creation_interface(void **state)
{
    struct fixture *f = *state;
    struct kms_ekm_connections *ekm = ekm_of(f);
    struct kms_ekm_route route;
    struct em_status st = {0};
    assert_int_equal(kms_ekm_connection_route(ekm, LOC "/ekmConnections/conn", &route, &st),
                     EM_NOT_FOUND);
    assert_string_equal(st.message, "EkmConnection " LOC "/ekmConnections/conn not found.");
    st = (struct em_status){0};
    assert_int_equal(kms_ekm_connection_route(ekm, "conn", &route, &st), EM_INVALID_ARGUMENT);
    create(f, "conn", ",\"keyManagementMode\":\"CLOUD_KMS\",\"cryptoSpacePath\":\"v0/cs/1\"");
    st = (struct em_status){0};
    assert_int_equal(kms_ekm_connection_route(ekm, LOC "/ekmConnections/conn", &route, &st), EM_OK);
    assert_string_equal(route.hostname, "ekm.example.com");
    assert_true(route.coordinated);
    assert_string_equal(route.crypto_space_path, "v0/cs/1");

    char def[256] = "x";
    assert_int_equal(kms_ekm_default_connection(ekm, LOC, def, sizeof(def), &st), EM_OK);
    assert_string_equal(def, "");
    assert_int_equal(kms_ekm_default_connection_set(ekm, LOC, LOC "/ekmConnections/conn", &st),
                     EM_OK);
    assert_int_equal(kms_ekm_default_connection(ekm, LOC, def, sizeof(def), &st), EM_OK);
    assert_string_equal(def, LOC "/ekmConnections/conn");
    assert_int_equal(kms_ekm_default_connection(ekm, "projects/ekm-project/locations/us-east1", def,
                                                sizeof(def), &st),
                     EM_OK);
    assert_string_equal(def, "");
}

/* --- IAM --- */

static void test_iam(void **state)
{
    struct fixture *f = *state;
    create(f, "conn", "");
    cJSON *r = NULL;
    const char *policy = "{\"policy\":{\"bindings\":[{\"role\":\"roles/cloudkms.viewer\","
                         "\"members\":[\"user:alice@example.com\"]}]}}";
    assert_int_equal(call(f, "POST", CONNS "/conn:setIamPolicy", NULL, policy, NULL), 200);
    assert_int_equal(call(f, "GET", CONNS "/conn:getIamPolicy", NULL, NULL, &r), 200);
    assert_field(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "bindings"), 0), "role",
                 "roles/cloudkms.viewer");
    cJSON_Delete(r);
    expect_error(f, "GET", CONNS "/none:getIamPolicy", NULL, NULL, 404, "not found");
    expect_error(f, "POST", CONNS "/none:setIamPolicy", NULL, policy, 404, "not found");
    assert_int_equal(call(f, "POST", CONNS "/conn:testIamPermissions", NULL,
                          "{\"permissions\":[\"cloudkms.ekmConnections.get\"]}", &r),
                     200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "permissions")), 1);
    cJSON_Delete(r);

    assert_int_equal(call(f, "POST", "/v1/" LOC "/ekmConfig:setIamPolicy", NULL, policy, NULL),
                     200);
    assert_int_equal(call(f, "GET", "/v1/" LOC "/ekmConfig:getIamPolicy", NULL, NULL, &r), 200);
    assert_field(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "bindings"), 0), "role",
                 "roles/cloudkms.viewer");
    cJSON_Delete(r);
    assert_int_equal(call(f, "POST", "/v1/" LOC "/ekmConfig:testIamPermissions", NULL,
                          "{\"permissions\":[\"cloudkms.ekmConfigs.get\"]}", &r),
                     200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "permissions")), 1);
    cJSON_Delete(r);
    expect_error(f, "GET", "/v1/projects/ekm-project/locations/nowhere-land/ekmConfig:getIamPolicy",
                 NULL, NULL, 404, "nowhere-land");
}

/* Under --iam enforce: grants on the project reach connections and the configuration
 * (whose name ends in a singleton), grants on the configuration itself too. */
static void test_iam_enforced(void **state)
{
    struct fixture *f = *state;
    create(f, "conn", "");
    em_service_close(f->kms);
    f->cfg.iam_enforce = true;
    assert_int_equal(unit_kms_open(&f->cfg, &f->kms), 0);
    struct em_status st = {0};
    cJSON *grant =
        cJSON_Parse("{\"bindings\":[{\"role\":\"roles/cloudkms.viewer\",\"members\":[\"user:"
                    "alice@example.com\"]}]}");
    cJSON *stored = NULL;
    assert_int_equal(em_iam_set_policy(f->kms->store, "projects/ekm-project", grant, &stored, &st),
                     EM_OK);
    cJSON_Delete(stored);
    struct em_call c = {0};
    const char *paths[] = {CONNS "/conn", CONNS, "/v1/" LOC "/ekmConfig"};
    for (size_t i = 0; i < 3; i++) {
        c = (struct em_call){.method = "GET", .path = paths[i], .svc = f->kms};
        c.authorization = "Bearer user:alice@example.com";
        em_dispatch(f->kms->router, &c);
        if (c.http_status != 200)
            fail_msg("alice GET %s: %d %.*s", paths[i], c.http_status, (int)c.response_len,
                     c.response);
        em_call_reset(&c);
        c = (struct em_call){.method = "GET", .path = paths[i], .svc = f->kms};
        c.authorization = "Bearer user:bob@example.com";
        em_dispatch(f->kms->router, &c);
        assert_int_equal(c.http_status, 403);
        em_call_reset(&c);
    }
    /* alice may read, not update the configuration */
    c = (struct em_call){.method = "PATCH", .path = "/v1/" LOC "/ekmConfig", .svc = f->kms};
    c.authorization = "Bearer user:alice@example.com";
    c.query[0] = (struct em_query_arg){"updateMask", "defaultEkmConnection"};
    c.query_count = 1;
    c.body_text = "{}";
    c.body_len = 2;
    em_dispatch(f->kms->router, &c);
    assert_int_equal(c.http_status, 403);
    assert_non_null(strstr(c.response, "cloudkms.ekmConfigs.update"));
    em_call_reset(&c);
    /* a grant on the configuration itself */
    cJSON *admin = cJSON_Parse("{\"bindings\":[{\"role\":\"roles/cloudkms.ekmConnectionsAdmin\","
                               "\"members\":[\"user:bob@example.com\"]}]}");
    assert_int_equal(em_iam_set_policy(f->kms->store, LOC "/ekmConfig", admin, &stored, &st),
                     EM_OK);
    cJSON_Delete(stored);
    cJSON_Delete(admin);
    c = (struct em_call){.method = "GET", .path = "/v1/" LOC "/ekmConfig", .svc = f->kms};
    c.authorization = "Bearer user:bob@example.com";
    em_dispatch(f->kms->router, &c);
    assert_int_equal(c.http_status, 200);
    em_call_reset(&c);
    cJSON_Delete(grant);
}

/* --- persistence --- */

static void test_restart_and_reset(void **state)
{
    struct fixture *f = *state;
    create(f, "kept", "");
    struct em_status st = {0};
    assert_int_equal(
        kms_ekm_default_connection_set(ekm_of(f), LOC, LOC "/ekmConnections/kept", &st), EM_OK);
    cJSON *before = NULL, *after = NULL;
    assert_int_equal(call(f, "GET", CONNS "/kept", NULL, NULL, &before), 200);
    em_service_close(f->kms);
    assert_int_equal(unit_kms_open(&f->cfg, &f->kms), 0);
    assert_int_equal(call(f, "GET", CONNS "/kept", NULL, NULL, &after), 200);
    char *a = cJSON_PrintUnformatted(before), *b = cJSON_PrintUnformatted(after);
    assert_string_equal(a, b); /* the same, etag and parsed fields included */
    cJSON_free(a);
    cJSON_free(b);
    cJSON_Delete(before);
    cJSON_Delete(after);
    char def[256];
    assert_int_equal(kms_ekm_default_connection(ekm_of(f), LOC, def, sizeof(def), &st), EM_OK);
    assert_string_equal(def, LOC "/ekmConnections/kept");

    assert_int_equal(f->kms->def->reset(f->kms, &st), EM_OK);
    assert_int_equal(call(f, "GET", CONNS "/kept", NULL, NULL, NULL), 404);
    assert_int_equal(kms_ekm_default_connection(ekm_of(f), LOC, def, sizeof(def), &st), EM_OK);
    assert_string_equal(def, "");
    create(f, "kept", ""); /* the name is free again */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_parse),
        cmocka_unit_test(test_rules),
        cmocka_unit_test_setup_teardown(test_create_get_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_connectivity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ekm_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_creation_interface, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iam, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iam_enforced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_and_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
