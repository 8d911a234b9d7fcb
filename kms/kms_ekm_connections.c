/*
 * kms_ekm_connections: EKM connections and EkmConfigs (see kms_ekm_connections.h). The only
 * file with their SQL, and the parsing of their server certificates (OpenSSL).
 */
#include "kms_ekm_connections.h"

#include "em_faults.h"
#include "em_json.h"
#include "em_names.h"
#include "em_orgpolicy.h"
#include "em_store.h"
#include "kms_errors.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ekm_migrations[] = {
    "CREATE TABLE ekm_connections ("
    " name TEXT PRIMARY KEY,"
    " create_ns INTEGER NOT NULL,"
    " key_management_mode TEXT NOT NULL,"
    " crypto_space_path TEXT NOT NULL,"
    " etag TEXT NOT NULL);"
    "CREATE TABLE ekm_service_resolvers ("
    " connection TEXT NOT NULL,"
    " position INTEGER NOT NULL,"
    " service_directory_service TEXT NOT NULL,"
    " endpoint_filter TEXT NOT NULL,"
    " hostname TEXT NOT NULL,"
    " PRIMARY KEY (connection, position));"
    "CREATE TABLE ekm_certificates ("
    " connection TEXT NOT NULL,"
    " resolver INTEGER NOT NULL,"
    " position INTEGER NOT NULL,"
    " raw_der BLOB NOT NULL,"
    " PRIMARY KEY (connection, resolver, position));"
    "CREATE TABLE ekm_configs ("
    " location TEXT PRIMARY KEY,"
    " default_connection TEXT NOT NULL);",
};

struct kms_ekm_connections {
    struct em_store *store;
    pthread_mutex_t lock; /* every read and write: a connection spans three tables */
};

enum em_code kms_ekm_connections_open(struct em_store *store, struct kms_ekm_connections **out,
                                      struct em_status *st)
{
    *out = NULL;
    if (em_store_migrate(store, "kms_ekm_connections", ekm_migrations, 1, st))
        return st->code;
    struct kms_ekm_connections *ekm = calloc(1, sizeof(*ekm));
    if (!ekm)
        return EM_FAIL_OOM(st);
    ekm->store = store;
    pthread_mutex_init(&ekm->lock, NULL);
    *out = ekm;
    return EM_OK;
}

void kms_ekm_connections_close(struct kms_ekm_connections *ekm)
{
    if (!ekm)
        return;
    pthread_mutex_destroy(&ekm->lock);
    free(ekm);
}

enum em_code kms_ekm_connections_reset(struct kms_ekm_connections *ekm, struct em_status *st)
{
    pthread_mutex_lock(&ekm->lock);
    enum em_code code =
        em_store_exec(ekm->store,
                      "DELETE FROM ekm_connections; DELETE FROM ekm_service_resolvers;"
                      " DELETE FROM ekm_certificates; DELETE FROM ekm_configs;",
                      st);
    pthread_mutex_unlock(&ekm->lock);
    return code;
}

const char *kms_ekm_mode_name(enum kms_ekm_mode mode)
{
    switch (mode) {
    case KMS_EKM_MANUAL:
        return "MANUAL";
    case KMS_EKM_CLOUD_KMS:
        return "CLOUD_KMS";
    default:
        return "KEY_MANAGEMENT_MODE_UNSPECIFIED";
    }
}

enum kms_ekm_mode kms_ekm_mode_parse(const char *name)
{
    if (name && strcmp(name, "MANUAL") == 0)
        return KMS_EKM_MANUAL;
    if (name && strcmp(name, "CLOUD_KMS") == 0)
        return KMS_EKM_CLOUD_KMS;
    return KMS_EKM_MODE_UNSPECIFIED;
}

/* --- memory --- */

static void certificate_forget_parse(struct kms_ekm_certificate *cert)
{
    free(cert->issuer);
    free(cert->subject);
    for (size_t i = 0; i < cert->dns_count; i++)
        free(cert->dns_names[i]);
    free(cert->dns_names);
    cert->issuer = cert->subject = NULL;
    cert->dns_names = NULL;
    cert->dns_count = 0;
    cert->parsed = false;
}

static void resolver_clear(struct kms_ekm_resolver *r)
{
    for (size_t i = 0; i < r->certificate_count; i++) {
        certificate_forget_parse(&r->certificates[i]);
        free(r->certificates[i].der);
    }
    memset(r, 0, sizeof(*r));
}

void kms_ekm_connection_clear(struct kms_ekm_connection *c)
{
    for (size_t i = 0; i < c->resolver_count; i++)
        resolver_clear(&c->resolvers[i]);
    memset(c, 0, sizeof(*c));
}

/* Copies src's strings and certificates' DER (not what parsing found) into dst, cleared. */
static enum em_code resolver_copy(struct kms_ekm_resolver *dst, const struct kms_ekm_resolver *src,
                                  struct em_status *st)
{
    memset(dst, 0, sizeof(*dst));
    memcpy(dst->service_directory_service, src->service_directory_service,
           sizeof(dst->service_directory_service));
    memcpy(dst->endpoint_filter, src->endpoint_filter, sizeof(dst->endpoint_filter));
    memcpy(dst->hostname, src->hostname, sizeof(dst->hostname));
    for (size_t i = 0; i < src->certificate_count; i++) {
        const struct kms_ekm_certificate *from = &src->certificates[i];
        struct kms_ekm_certificate *to = &dst->certificates[i];
        dst->certificate_count = i + 1;
        if (from->der_len && !(to->der = malloc(from->der_len)))
            return EM_FAIL_OOM(st);
        if (from->der_len)
            memcpy(to->der, from->der, from->der_len);
        to->der_len = from->der_len;
    }
    return EM_OK;
}

static enum em_code resolvers_copy(struct kms_ekm_connection *dst,
                                   const struct kms_ekm_connection *src, struct em_status *st)
{
    for (size_t i = 0; i < dst->resolver_count; i++)
        resolver_clear(&dst->resolvers[i]);
    dst->resolver_count = 0;
    for (size_t i = 0; i < src->resolver_count; i++) {
        dst->resolver_count = i + 1;
        if (resolver_copy(&dst->resolvers[i], &src->resolvers[i], st))
            return st->code;
    }
    return EM_OK;
}

/* --- certificates --- */

static void hex_of(const unsigned char *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
}

/* An X509_NAME in RFC 2253, malloc'd; NULL when out of memory. */
static char *rfc2253(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    char *text = NULL;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        char *data = NULL;
        long len = BIO_get_mem_data(bio, &data);
        if (len >= 0 && (text = malloc((size_t)len + 1))) {
            memcpy(text, data, (size_t)len);
            text[len] = '\0';
        }
    }
    BIO_free(bio);
    return text;
}

/* Seconds since the epoch of an ASN1_TIME (proleptic Gregorian, UTC). */
static bool asn1_seconds(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return false;
    int64_t days = em_days_from_civil(tm.tm_year + 1900LL, tm.tm_mon + 1, tm.tm_mday);
    *out = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return true;
}

/* The DNS names of the subjectAlternativeName extension; false when out of memory. */
static bool read_dns_names(X509 *x, struct kms_ekm_certificate *cert)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    bool ok = true;
    int count = names ? sk_GENERAL_NAME_num(names) : 0;
    if (count > 0 && !(cert->dns_names = calloc((size_t)count, sizeof(char *))))
        ok = false;
    for (int i = 0; ok && i < count; i++) {
        const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
        if (name->type != GEN_DNS)
            continue;
        const unsigned char *data = ASN1_STRING_get0_data(name->d.dNSName);
        int len = ASN1_STRING_length(name->d.dNSName);
        if (len < 0 || memchr(data, '\0', (size_t)len) ||
            !em_utf8_valid((const char *)data, (size_t)len, NULL))
            continue; /* no DNS name; no field of the API may carry it */
        char *copy = malloc((size_t)len + 1);
        if (!copy) {
            ok = false;
            break;
        }
        memcpy(copy, data, (size_t)len);
        copy[len] = '\0';
        cert->dns_names[cert->dns_count++] = copy;
    }
    GENERAL_NAMES_free(names);
    return ok;
}

static enum em_code not_a_certificate(const char *field, struct em_status *st)
{
    return EM_FAIL(st, EM_INVALID_ARGUMENT,
                   "%s is not an X.509 certificate in DER format (give the server's leaf "
                   "certificate, base64-encoded).",
                   field);
}

enum em_code kms_ekm_certificate_parse(struct kms_ekm_certificate *cert, const char *field,
                                       struct em_status *st)
{
    certificate_forget_parse(cert);
    if (!cert->der || !cert->der_len)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s is required.", field);
    if (cert->der_len > KMS_EKM_CERTIFICATE_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "%s has %zu bytes: a certificate has at most %d bytes here.", field,
                       cert->der_len, KMS_EKM_CERTIFICATE_MAX);
    const unsigned char *p = cert->der;
    X509 *x = d2i_X509(NULL, &p, (long)cert->der_len);
    if (!x || p != cert->der + cert->der_len) {
        X509_free(x);
        return not_a_certificate(field, st);
    }
    enum em_code code = EM_OK;
    BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *serial_hex = serial ? BN_bn2hex(serial) : NULL;
    unsigned char digest[32];
    unsigned int digest_len = 0;
    if (!asn1_seconds(X509_get0_notBefore(x), &cert->not_before_s) ||
        !asn1_seconds(X509_get0_notAfter(x), &cert->not_after_s) || !serial_hex ||
        strlen(serial_hex) >= sizeof(cert->serial)) {
        code = not_a_certificate(field, st);
    } else if (!(cert->issuer = rfc2253(X509_get_issuer_name(x))) ||
               !(cert->subject = rfc2253(X509_get_subject_name(x))) || !read_dns_names(x, cert) ||
               !EVP_Digest(cert->der, cert->der_len, digest, &digest_len, EVP_sha256(), NULL)) {
        code = EM_FAIL_OOM(st);
    } else {
        for (size_t i = 0; serial_hex[i]; i++)
            cert->serial[i] = (char)tolower((unsigned char)serial_hex[i]);
        cert->serial[strlen(serial_hex)] = '\0';
        hex_of(digest, digest_len, cert->sha256);
        cert->parsed = true;
    }
    OPENSSL_free(serial_hex);
    BN_free(serial);
    X509_free(x);
    if (code)
        certificate_forget_parse(cert);
    return code;
}

/* --- names and rules --- */

/* Whether name is exactly "<collections[0]>/<id>/<collections[1]>/<id>..." with IDs of 1
 * to 63 characters; the IDs into ids. */
static bool split_name(const char *name, const char *const *collections, size_t n, char ids[][64])
{
    const char *p = name;
    for (size_t i = 0; i < n; i++) {
        size_t clen = strlen(collections[i]);
        if (strncmp(p, collections[i], clen) != 0 || p[clen] != '/')
            return false;
        p += clen + 1;
        size_t id_len = strcspn(p, "/");
        if (id_len == 0 || id_len > 63)
            return false;
        memcpy(ids[i], p, id_len);
        ids[i][id_len] = '\0';
        p += id_len;
        if (*p == '/' && i + 1 < n)
            p++;
        else if (*p || i + 1 < n)
            return false;
    }
    return true;
}

static bool chars_in(const char *s, const char *extra, bool lower_only)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool letter = lower_only ? islower(c) : isalpha(c);
        if (!letter && !isdigit(c) && !strchr(extra, c))
            return false;
    }
    return true;
}

enum em_code kms_ekm_connection_name_check(const char *name, const char *field, char *location,
                                           size_t len, struct em_status *st)
{
    static const char *const parts[] = {"projects", "locations", "ekmConnections"};
    char ids[3][64];
    struct em_status ignored = {0};
    if (!split_name(name, parts, 3, ids) || em_project_check(ids[0], &ignored) ||
        !chars_in(ids[1], "-", true) || !chars_in(ids[2], "_-", false))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s \"%.300s\": expected projects/{project}/locations/{location}/"
                       "ekmConnections/{ekm_connection}.",
                       field, name);
    if (location)
        snprintf(location, len, "projects/%s/locations/%s", ids[0], ids[1]);
    return EM_OK;
}

/* "projects/p/locations/l/namespaces/n/services/s", in the connection's location. */
static enum em_code check_service_directory(const char *service, const char *location,
                                            const char *field, struct em_status *st)
{
    static const char *const parts[] = {"projects", "locations", "namespaces", "services"};
    char ids[4][64];
    struct em_status ignored = {0};
    if (!*service)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s is required.", field);
    bool project_ok = split_name(service, parts, 4, ids) &&
                      (em_numeric_id(ids[0]) || !em_project_check(ids[0], &ignored));
    if (!project_ok || !chars_in(ids[1], "-", true) || !chars_in(ids[2], "-", true) ||
        !chars_in(ids[3], "-", true) || !islower((unsigned char)ids[2][0]) ||
        !islower((unsigned char)ids[3][0]))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s \"%.300s\": expected the name of a Service Directory service, "
                       "projects/{project}/locations/{location}/namespaces/{namespace}/services/"
                       "{service}.",
                       field, service);
    if (strcmp(ids[1], location) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "%s %.300s is in location %s: the Service Directory service must be in "
                       "the location of the EkmConnection (%s).",
                       field, service, ids[1], location);
    return EM_OK;
}

enum em_code kms_ekm_resolver_count_check(size_t count, struct em_status *st)
{
    if (count == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "ekm_connection.service_resolvers is required: an EkmConnection needs "
                       "one ServiceResolver to reach its EKM.");
    if (count > KMS_EKM_MAX_RESOLVERS)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "ekm_connection.service_resolvers has %zu entries: currently, only a "
                       "single ServiceResolver is supported.",
                       count);
    return EM_OK;
}

enum em_code kms_ekm_certificate_count_check(size_t count, struct em_status *st)
{
    const char *field = "ekm_connection.service_resolvers[0].server_certificates";
    if (count == 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "%s is required: give the EKM's leaf server certificate.", field);
    if (count > KMS_EKM_MAX_CERTIFICATES)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "%s has %zu certificates: at most %d are supported.", field, count,
                       KMS_EKM_MAX_CERTIFICATES);
    return EM_OK;
}

/* A DNS name: labels of letters, digits and hyphens (not first or last), 1 to 63
 * characters each, 253 in all. */
static enum em_code check_hostname(const char *host, const char *field, struct em_status *st)
{
    if (!*host)
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "%s is required.", field);
    bool ok = strlen(host) <= 253;
    for (const char *label = host; ok;) {
        size_t n = strcspn(label, ".");
        ok = n >= 1 && n <= 63 && label[0] != '-' && label[n - 1] != '-';
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)label[i]) || label[i] == '-';
        if (!label[n])
            break;
        label += n + 1;
    }
    if (!ok)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "Invalid %s \"%.260s\": expected the DNS name the EKM's TLS certificate "
                       "is issued for, such as ekm.example.com.",
                       field, host);
    return EM_OK;
}

static enum em_code check_resolver(struct kms_ekm_resolver *r, const char *location,
                                   struct em_status *st)
{
    char field[160];
    const char *prefix = "ekm_connection.service_resolvers[0]";
    snprintf(field, sizeof(field), "%s.service_directory_service", prefix);
    if (check_service_directory(r->service_directory_service, location, field, st))
        return st->code;
    snprintf(field, sizeof(field), "%s.hostname", prefix);
    if (check_hostname(r->hostname, field, st))
        return st->code;
    if (kms_ekm_certificate_count_check(r->certificate_count, st))
        return st->code;
    for (size_t i = 0; i < r->certificate_count; i++) {
        snprintf(field, sizeof(field), "%s.server_certificates[%zu].raw_der", prefix, i);
        if (kms_ekm_certificate_parse(&r->certificates[i], field, st))
            return st->code;
    }
    return EM_OK;
}

enum em_code kms_ekm_location_check(const char *name, struct em_status *st)
{
    char location[64] = "";
    em_name_id(name, "locations", location, sizeof(location));
    if (!kms_ekm_available(location, KMS_EXTERNAL_VPC))
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "EkmConnections are not available in location %s: Cloud EKM over VPC "
                       "is available in regional locations only (not in global or "
                       "multi-regional locations).",
                       location);
    return EM_OK;
}

/* Validates a whole connection named name (its certificates parsed in place). */
static enum em_code check_connection(const char *name, struct kms_ekm_connection *c,
                                     struct em_status *st)
{
    char location[64] = "";
    em_name_id(name, "locations", location, sizeof(location));
    if (kms_ekm_location_check(name, st) || kms_ekm_resolver_count_check(c->resolver_count, st) ||
        check_resolver(&c->resolvers[0], location, st))
        return st->code;
    if (c->mode == KMS_EKM_CLOUD_KMS && !*c->crypto_space_path)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "ekm_connection.crypto_space_path is required when key_management_mode "
                       "is CLOUD_KMS.");
    if (strlen(c->crypto_space_path) > KMS_EKM_CRYPTO_SPACE_MAX)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "ekm_connection.crypto_space_path has at most %d characters (the keys Cloud "
                       "KMS makes in it are named below it).",
                       KMS_EKM_CRYPTO_SPACE_MAX);
    return EM_OK;
}

/* The etag: a digest of every field, so it changes exactly when one does. */
static enum em_code compute_etag(struct kms_ekm_connection *c, struct em_status *st)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
#define PART(data, size)                                                                           \
    do {                                                                                           \
        uint64_t n_ = (size);                                                                      \
        ok = ok && EVP_DigestUpdate(md, &n_, sizeof(n_)) && EVP_DigestUpdate(md, (data), n_);      \
    } while (0)
    PART(c->name, strlen(c->name));
    PART(&c->create_ns, sizeof(c->create_ns));
    PART(kms_ekm_mode_name(c->mode), strlen(kms_ekm_mode_name(c->mode)));
    PART(c->crypto_space_path, strlen(c->crypto_space_path));
    for (size_t i = 0; i < c->resolver_count; i++) {
        const struct kms_ekm_resolver *r = &c->resolvers[i];
        PART(r->service_directory_service, strlen(r->service_directory_service));
        PART(r->endpoint_filter, strlen(r->endpoint_filter));
        PART(r->hostname, strlen(r->hostname));
        for (size_t j = 0; j < r->certificate_count; j++)
            PART(r->certificates[j].der, r->certificates[j].der_len);
    }
#undef PART
    ok = ok && EVP_DigestFinal_ex(md, digest, &len) && len >= 8;
    EVP_MD_CTX_free(md);
    if (!ok)
        return EM_FAIL_OOM(st);
    hex_of(digest, 8, c->etag);
    return EM_OK;
}

/* --- the store --- */

static enum em_code not_found(const char *name, struct em_status *st)
{
    return EM_FAIL(st, EM_NOT_FOUND, "EkmConnection %.400s not found.", name);
}

static enum em_code run_stmt(sqlite3_stmt *stmt, struct em_status *st)
{
    em_stmt_run(stmt, st);
    em_stmt_done(stmt);
    return st->code;
}

static enum em_code save_children(struct kms_ekm_connections *ekm,
                                  const struct kms_ekm_connection *c, struct em_status *st)
{
    if (em_store_run_text(ekm->store, "DELETE FROM ekm_service_resolvers WHERE connection = ?",
                          c->name, NULL, NULL, NULL, st) ||
        em_store_run_text(ekm->store, "DELETE FROM ekm_certificates WHERE connection = ?", c->name,
                          NULL, NULL, NULL, st))
        return st->code;
    for (size_t i = 0; i < c->resolver_count; i++) {
        const struct kms_ekm_resolver *r = &c->resolvers[i];
        sqlite3_stmt *stmt = em_store_stmt(ekm->store,
                                           "INSERT INTO ekm_service_resolvers(connection, "
                                           "position, service_directory_service, "
                                           "endpoint_filter, hostname) VALUES (?, ?, ?, ?, ?)",
                                           st);
        if (!stmt)
            return st->code;
        em_bind_text(stmt, 1, c->name);
        sqlite3_bind_int64(stmt, 2, (int64_t)i);
        em_bind_text(stmt, 3, r->service_directory_service);
        em_bind_text(stmt, 4, r->endpoint_filter);
        em_bind_text(stmt, 5, r->hostname);
        if (run_stmt(stmt, st))
            return st->code;
        for (size_t j = 0; j < r->certificate_count; j++) {
            stmt = em_store_stmt(ekm->store,
                                 "INSERT INTO ekm_certificates(connection, resolver, position, "
                                 "raw_der) VALUES (?, ?, ?, ?)",
                                 st);
            if (!stmt)
                return st->code;
            em_bind_text(stmt, 1, c->name);
            sqlite3_bind_int64(stmt, 2, (int64_t)i);
            sqlite3_bind_int64(stmt, 3, (int64_t)j);
            sqlite3_bind_blob(stmt, 4, r->certificates[j].der, (int)r->certificates[j].der_len,
                              SQLITE_STATIC);
            if (run_stmt(stmt, st))
                return st->code;
        }
    }
    return EM_OK;
}

/* Writes c, a new connection (insert) or a changed one, in one transaction. */
static enum em_code save_connection(struct kms_ekm_connections *ekm,
                                    const struct kms_ekm_connection *c, bool insert,
                                    struct em_status *st)
{
    if (em_store_begin(ekm->store, st))
        return st->code;
    sqlite3_stmt *stmt =
        em_store_stmt(ekm->store,
                      insert ? "INSERT INTO ekm_connections(name, create_ns, key_management_mode,"
                               " crypto_space_path, etag) VALUES (?, ?, ?, ?, ?)"
                             : "UPDATE ekm_connections SET create_ns = ?2, key_management_mode = "
                               "?3, crypto_space_path = ?4, etag = ?5 WHERE name = ?1",
                      st);
    if (stmt) {
        em_bind_text(stmt, 1, c->name);
        sqlite3_bind_int64(stmt, 2, c->create_ns);
        em_bind_text(stmt, 3, kms_ekm_mode_name(c->mode));
        em_bind_text(stmt, 4, c->crypto_space_path);
        em_bind_text(stmt, 5, c->etag);
        run_stmt(stmt, st);
    }
    if (st->code || save_children(ekm, c, st)) {
        em_store_rollback(ekm->store);
        return st->code;
    }
    return em_store_commit(ekm->store, st);
}

static enum em_code add_resolver(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct kms_ekm_connection *c = arg;
    int64_t position = sqlite3_column_int64(row, 0);
    if (position != (int64_t)c->resolver_count || c->resolver_count >= KMS_EKM_MAX_RESOLVERS)
        return EM_FAIL(st, EM_INTERNAL, "EkmConnection %s: stored resolvers are inconsistent.",
                       c->name);
    struct kms_ekm_resolver *r = &c->resolvers[c->resolver_count++];
    snprintf(r->service_directory_service, sizeof(r->service_directory_service), "%s",
             em_column_text(row, 1));
    snprintf(r->endpoint_filter, sizeof(r->endpoint_filter), "%s", em_column_text(row, 2));
    snprintf(r->hostname, sizeof(r->hostname), "%s", em_column_text(row, 3));
    return EM_OK;
}

static enum em_code add_certificate(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct kms_ekm_connection *c = arg;
    int64_t resolver = sqlite3_column_int64(row, 0);
    if (resolver < 0 || resolver >= (int64_t)c->resolver_count ||
        c->resolvers[resolver].certificate_count >= KMS_EKM_MAX_CERTIFICATES)
        return EM_FAIL(st, EM_INTERNAL, "EkmConnection %s: stored certificates are inconsistent.",
                       c->name);
    struct kms_ekm_resolver *r = &c->resolvers[resolver];
    struct kms_ekm_certificate *cert = &r->certificates[r->certificate_count];
    int len = sqlite3_column_bytes(row, 1);
    const void *der = sqlite3_column_blob(row, 1);
    if (len <= 0 || !(cert->der = malloc((size_t)len)))
        return len <= 0 ? EM_FAIL(st, EM_INTERNAL, "EkmConnection %s: empty stored certificate.",
                                  c->name)
                        : EM_FAIL_OOM(st);
    memcpy(cert->der, der, (size_t)len);
    cert->der_len = (size_t)len;
    r->certificate_count++;
    return kms_ekm_certificate_parse(cert, "a stored certificate", st);
}

/* Reads connection name (lock held). */
static enum em_code load_connection(struct kms_ekm_connections *ekm, const char *name,
                                    struct kms_ekm_connection *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *stmt = em_store_stmt(ekm->store,
                                       "SELECT create_ns, key_management_mode, crypto_space_path, "
                                       "etag FROM ekm_connections WHERE name = ?",
                                       st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        snprintf(out->name, sizeof(out->name), "%s", name);
        out->create_ns = sqlite3_column_int64(stmt, 0);
        out->mode = kms_ekm_mode_parse(em_column_text(stmt, 1));
        snprintf(out->crypto_space_path, sizeof(out->crypto_space_path), "%s",
                 em_column_text(stmt, 2));
        snprintf(out->etag, sizeof(out->etag), "%s", em_column_text(stmt, 3));
    }
    if (em_stmt_end(stmt, rc, st))
        return st->code;
    if (rc == SQLITE_DONE)
        return not_found(name, st);
    stmt = em_store_stmt(ekm->store,
                         "SELECT position, service_directory_service, endpoint_filter, hostname "
                         "FROM ekm_service_resolvers WHERE connection = ? ORDER BY position",
                         st);
    if (!stmt)
        return st->code;
    em_bind_text(stmt, 1, name);
    if (em_stmt_each_row(stmt, add_resolver, out, st))
        goto out_clear;
    stmt = em_store_stmt(ekm->store,
                         "SELECT resolver, raw_der FROM ekm_certificates WHERE connection = ? "
                         "ORDER BY resolver, position",
                         st);
    if (!stmt)
        goto out_clear;
    em_bind_text(stmt, 1, name);
    if (em_stmt_each_row(stmt, add_certificate, out, st))
        goto out_clear;
    return EM_OK;
out_clear:
    kms_ekm_connection_clear(out);
    return st->code;
}

static bool connection_exists(struct kms_ekm_connections *ekm, const char *name,
                              struct em_status *st)
{
    sqlite3_stmt *stmt =
        em_store_stmt(ekm->store, "SELECT 1 FROM ekm_connections WHERE name = ?", st);
    if (!stmt)
        return false;
    em_bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    em_stmt_end(stmt, rc, st);
    return rc == SQLITE_ROW;
}

/* --- connections --- */

enum em_code kms_ekm_connection_create(struct kms_ekm_connections *ekm, const char *name,
                                       const struct kms_ekm_connection *spec, int64_t now,
                                       struct kms_ekm_connection *out, struct em_status *st)
{
    char project[64] = "", location[64] = "";
    if (kms_ekm_connection_name_check(name, "name", NULL, 0, st))
        return st->code;
    struct kms_ekm_connection c = {0};
    snprintf(c.name, sizeof(c.name), "%s", name);
    c.create_ns = now;
    c.mode = spec->mode == KMS_EKM_MODE_UNSPECIFIED ? KMS_EKM_MANUAL : spec->mode;
    memcpy(c.crypto_space_path, spec->crypto_space_path, sizeof(c.crypto_space_path));
    em_name_id(name, "projects", project, sizeof(project));
    em_name_id(name, "locations", location, sizeof(location));
    if (resolvers_copy(&c, spec, st) || check_connection(name, &c, st) ||
        em_orgpolicy_check_location(ekm->store, project, location, "an EKM connection", st) ||
        compute_etag(&c, st))
        goto out_clear;
    pthread_mutex_lock(&ekm->lock);
    bool exists = connection_exists(ekm, name, st);
    if (!st->code && exists)
        EM_FAIL(st, EM_ALREADY_EXISTS, "EkmConnection %s already exists.", name);
    else if (!st->code)
        save_connection(ekm, &c, true, st);
    pthread_mutex_unlock(&ekm->lock);
    if (st->code)
        goto out_clear;
    if (out)
        *out = c; /* the caller owns the certificates now */
    else
        kms_ekm_connection_clear(&c);
    return EM_OK;
out_clear:
    kms_ekm_connection_clear(&c);
    return st->code;
}

enum em_code kms_ekm_connection_get(struct kms_ekm_connections *ekm, const char *name,
                                    struct kms_ekm_connection *out, struct em_status *st)
{
    pthread_mutex_lock(&ekm->lock);
    load_connection(ekm, name, out, st);
    pthread_mutex_unlock(&ekm->lock);
    return st->code;
}

enum em_code kms_ekm_connection_update(struct kms_ekm_connections *ekm, const char *name,
                                       const struct kms_ekm_connection *patch, unsigned mask,
                                       const char *etag, struct kms_ekm_connection *out,
                                       struct em_status *st)
{
    struct kms_ekm_connection c = {0};
    pthread_mutex_lock(&ekm->lock);
    if (load_connection(ekm, name, &c, st))
        goto out_unlock;
    if (etag && *etag && strcmp(etag, c.etag) != 0) {
        EM_FAIL(st, EM_ABORTED,
                "The etag of EkmConnection %s does not match: it changed since it was read; "
                "read it again and retry.",
                name);
        goto out_unlock;
    }
    if (mask & KMS_EKM_FIELD_MODE)
        c.mode = patch->mode == KMS_EKM_MODE_UNSPECIFIED ? KMS_EKM_MANUAL : patch->mode;
    if (mask & KMS_EKM_FIELD_CRYPTO_SPACE_PATH)
        memcpy(c.crypto_space_path, patch->crypto_space_path, sizeof(c.crypto_space_path));
    if (((mask & KMS_EKM_FIELD_RESOLVERS) && resolvers_copy(&c, patch, st)) ||
        check_connection(name, &c, st))
        goto out_unlock;
    char before[KMS_EKM_ETAG_SIZE];
    memcpy(before, c.etag, sizeof(before));
    if (!compute_etag(&c, st) && strcmp(before, c.etag) != 0)
        save_connection(ekm, &c, false, st);
out_unlock:
    pthread_mutex_unlock(&ekm->lock);
    if (st->code || !out)
        kms_ekm_connection_clear(&c);
    else
        *out = c;
    return st->code;
}

static enum em_code add_name(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    struct kms_ekm_connection_list *list = arg;
    struct kms_ekm_connection *grown = realloc(list->items, (list->count + 1) * sizeof(*grown));
    if (!grown)
        return EM_FAIL_OOM(st);
    list->items = grown;
    struct kms_ekm_connection *c = &list->items[list->count++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", em_column_text(row, 0));
    return EM_OK;
}

enum em_code kms_ekm_connection_list(struct kms_ekm_connections *ekm, const char *parent,
                                     struct kms_ekm_connection_list *out, struct em_status *st)
{
    *out = (struct kms_ekm_connection_list){0};
    char prefix[EM_RESOURCE_MAX];
    if (snprintf(prefix, sizeof(prefix), "%s/ekmConnections/", parent) >= (int)sizeof(prefix))
        return EM_FAIL(st, EM_INVALID_ARGUMENT, "The parent name is too long.");
    pthread_mutex_lock(&ekm->lock);
    sqlite3_stmt *stmt = em_store_stmt(ekm->store,
                                       "SELECT name FROM ekm_connections "
                                       "WHERE substr(name, 1, ?1) = ?2 ORDER BY name",
                                       st);
    if (stmt) {
        sqlite3_bind_int(stmt, 1, (int)strlen(prefix));
        em_bind_text(stmt, 2, prefix);
        em_stmt_each_row(stmt, add_name, out, st);
    }
    for (size_t i = 0; !st->code && i < out->count; i++) {
        char name[EM_RESOURCE_MAX];
        memcpy(name, out->items[i].name, sizeof(name));
        load_connection(ekm, name, &out->items[i], st);
    }
    pthread_mutex_unlock(&ekm->lock);
    if (st->code)
        kms_ekm_connection_list_free(out);
    return st->code;
}

void kms_ekm_connection_list_free(struct kms_ekm_connection_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        kms_ekm_connection_clear(&list->items[i]);
    free(list->items);
    *list = (struct kms_ekm_connection_list){0};
}

enum em_code kms_ekm_connection_verify(const struct kms_ekm_connection *c, int64_t now,
                                       struct em_status *st)
{
    const char *host = c->resolver_count ? c->resolvers[0].hostname : "";
    if (em_faults_ekm_unreachable())
        return kms_ekm_fail(st, EM_FAILED_PRECONDITION, "UNREACHABLE_NETWORK", KMS_EKM_UNREACHABLE,
                            c->name, "EKM host", host);
    int64_t now_s = now / EM_NS_PER_SEC;
    const struct kms_ekm_resolver *r = c->resolver_count ? &c->resolvers[0] : NULL;
    for (size_t i = 0; r && i < r->certificate_count; i++)
        if (r->certificates[i].not_before_s <= now_s && now_s <= r->certificates[i].not_after_s)
            return EM_OK;
    /* none of its server certificates is valid now (expired or not yet valid) */
    return kms_ekm_fail(st, EM_FAILED_PRECONDITION, "TLS_CERT", KMS_EKM_TLS_CERT, c->name,
                        "EKM host", host);
}

/* One row: the connection's mode and crypto space, its first resolver's hostname. */
struct route_read {
    struct kms_ekm_route *out;
    bool found;
};

static enum em_code read_route(sqlite3_stmt *row, void *arg, struct em_status *st)
{
    (void)st;
    struct route_read *read = arg;
    struct kms_ekm_route *out = read->out;
    out->coordinated = kms_ekm_mode_parse(em_column_text(row, 0)) == KMS_EKM_CLOUD_KMS;
    snprintf(out->crypto_space_path, sizeof(out->crypto_space_path), "%s", em_column_text(row, 1));
    snprintf(out->hostname, sizeof(out->hostname), "%s", em_column_text(row, 2));
    read->found = true;
    return EM_OK;
}

enum em_code kms_ekm_connection_route(struct kms_ekm_connections *ekm, const char *name,
                                      struct kms_ekm_route *out, struct em_status *st)
{
    memset(out, 0, sizeof(*out));
    if (kms_ekm_connection_name_check(name, "EkmConnection name", NULL, 0, st))
        return st->code;
    pthread_mutex_lock(&ekm->lock);
    sqlite3_stmt *stmt =
        em_store_stmt(ekm->store,
                      "SELECT c.key_management_mode, c.crypto_space_path, r.hostname"
                      " FROM ekm_connections c LEFT JOIN ekm_service_resolvers r"
                      " ON r.connection = c.name AND r.position = 0 WHERE c.name = ?",
                      st);
    struct route_read read = {out, false};
    enum em_code code = st->code;
    if (stmt) {
        em_bind_text(stmt, 1, name);
        code = em_stmt_each_row(stmt, read_route, &read, st);
    }
    pthread_mutex_unlock(&ekm->lock);
    if (!code && !read.found)
        code = EM_FAIL(st, EM_NOT_FOUND, "EkmConnection %s not found.", name);
    return code;
}

/* --- EkmConfig --- */

enum em_code kms_ekm_default_connection(struct kms_ekm_connections *ekm, const char *location_name,
                                        char *out, size_t len, struct em_status *st)
{
    if (len)
        out[0] = '\0';
    pthread_mutex_lock(&ekm->lock);
    sqlite3_stmt *stmt = em_store_stmt(
        ekm->store, "SELECT default_connection FROM ekm_configs WHERE location = ?", st);
    if (stmt) {
        em_bind_text(stmt, 1, location_name);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW && len)
            snprintf(out, len, "%s", em_column_text(stmt, 0));
        em_stmt_end(stmt, rc, st);
    }
    pthread_mutex_unlock(&ekm->lock);
    return st->code;
}

enum em_code kms_ekm_default_connection_set(struct kms_ekm_connections *ekm,
                                            const char *location_name, const char *connection,
                                            struct em_status *st)
{
    const char *field = "ekm_config.default_ekm_connection";
    char location[EM_RESOURCE_MAX];
    if (*connection &&
        kms_ekm_connection_name_check(connection, field, location, sizeof(location), st))
        return st->code;
    if (*connection && strcmp(location, location_name) != 0)
        return EM_FAIL(st, EM_INVALID_ARGUMENT,
                       "%s %.300s is not in %s: the default EkmConnection must be one of the "
                       "same project and location.",
                       field, connection, location_name);
    pthread_mutex_lock(&ekm->lock);
    if (*connection) {
        bool exists = connection_exists(ekm, connection, st);
        if (!st->code && !exists)
            not_found(connection, st);
        if (!st->code)
            em_store_run_text(ekm->store,
                              "INSERT OR REPLACE INTO ekm_configs(location, default_connection) "
                              "VALUES (?, ?)",
                              location_name, connection, NULL, NULL, st);
    } else {
        em_store_run_text(ekm->store, "DELETE FROM ekm_configs WHERE location = ?", location_name,
                          NULL, NULL, NULL, st);
    }
    pthread_mutex_unlock(&ekm->lock);
    return st->code;
}
