/*
 * kms_ekm_connections: Cloud EKM over VPC's records (EkmService in google.cloud.kms.v1):
 * the EKM connections of a project and location, through which EXTERNAL_VPC keys reach
 * the customer's external key manager, and the EkmConfig of each location, which names
 * the default connection of the keys created there. Who calls what:
 *
 *   CreateEkmConnection   projects/P/locations/L/ekmConnections/C  (kms_ekm_connection_create)
 *   UpdateEkmConnection   updateMask serviceResolvers, keyManagementMode, cryptoSpacePath
 *   VerifyConnectivity    the connection, then the simulated EKM (em_faults ekmUnreachable)
 *   Get/UpdateEkmConfig   projects/P/locations/L/ekmConfig: defaultEkmConnection
 *   EXTERNAL_VPC keys     kms_ekm_connection_route, kms_ekm_default_connection (the
 *                         registry reaches them through kms_service.c)
 *
 * Rules (ekm_service.proto; Google states no error texts, so ours name the field and the
 * rule): one service resolver (Google: "Currently, only a single ServiceResolver is
 * supported"), with a Service Directory service in the connection's location, a DNS
 * hostname and 1 to 10 server certificates, each an X.509 certificate in DER, parsed here
 * (issuer, subject, DNS names, validity, serial number, SHA-256 fingerprint); a
 * keyManagementMode of MANUAL (the default) or CLOUD_KMS, which needs a cryptoSpacePath.
 * EKM over VPC exists in regional locations only (not global, not multi-regions). Google
 * has no method to delete a connection; a reset clears them. The etag is computed from
 * the connection's fields, so it changes exactly when they do.
 *
 * Tables (module "kms_ekm_connections" in schema_migrations; this file owns their SQL):
 *   ekm_connections(name, create_ns, key_management_mode, crypto_space_path, etag)
 *   ekm_service_resolvers(connection, position, service_directory_service,
 *     endpoint_filter, hostname)
 *   ekm_certificates(connection, resolver, position, raw_der): parsed again when read
 *   ekm_configs(location, default_connection): a location without a row has no default
 * One lock serialises the module's reads and writes (a connection is three tables).
 *
 * Google reference:
 * https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.ekmConnections
 */
#ifndef KMS_EKM_CONNECTIONS_H
#define KMS_EKM_CONNECTIONS_H

#include "em_call.h"
#include "em_status.h"
#include "kms.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct em_store;
struct kms_ekm_connections;

#define KMS_EKM_MAX_RESOLVERS    1
#define KMS_EKM_MAX_CERTIFICATES 10
#define KMS_EKM_CERTIFICATE_MAX  16384 /* bytes of one DER certificate */
#define KMS_EKM_HOSTNAME_MAX     254   /* a DNS name: 253 characters */
#define KMS_EKM_FIELD_MAX        1024  /* cryptoSpacePath, endpointFilter, the SD service */
#define KMS_EKM_ETAG_SIZE        24
#define KMS_EKM_SERIAL_MAX       132 /* hex of a serial number of up to 64 bytes, sign */
#define KMS_EKM_CRYPTO_SPACE_MAX 900 /* leaves room for "/keys/<32 hex digits>" below it */

/* EkmConnection.KeyManagementMode; UNSPECIFIED only in requests (it means MANUAL). */
enum kms_ekm_mode {
    KMS_EKM_MODE_UNSPECIFIED,
    KMS_EKM_MANUAL,    /* the customer manages key material in the EKM; keys name its path */
    KMS_EKM_CLOUD_KMS, /* Cloud KMS asks the EKM to create and destroy key material */
};
const char *kms_ekm_mode_name(enum kms_ekm_mode mode);
/* KMS_EKM_MODE_UNSPECIFIED for NULL and for a name that is not one. */
enum kms_ekm_mode kms_ekm_mode_parse(const char *name);

/* A server certificate: the caller's DER, and what parsing it found (all of it: a
 * certificate that does not parse is refused). Times in seconds since the epoch: a
 * validity may end in 9999, beyond nanoseconds in 64 bits. */
struct kms_ekm_certificate {
    unsigned char *der; /* malloc'd */
    size_t der_len;
    bool parsed;
    char *issuer, *subject; /* RFC 2253, malloc'd */
    char **dns_names;       /* subjectAlternativeName DNS entries, malloc'd */
    size_t dns_count;
    int64_t not_before_s, not_after_s;
    char serial[KMS_EKM_SERIAL_MAX]; /* lowercase hex */
    char sha256[2 * 32 + 1];         /* of the DER, lowercase hex */
};

struct kms_ekm_resolver {
    char service_directory_service[KMS_EKM_FIELD_MAX];
    char endpoint_filter[KMS_EKM_FIELD_MAX]; /* "" when none */
    char hostname[KMS_EKM_HOSTNAME_MAX];
    struct kms_ekm_certificate certificates[KMS_EKM_MAX_CERTIFICATES];
    size_t certificate_count;
};

/* An EkmConnection. As a request (create, update) only the caller's fields are read:
 * mode, crypto_space_path, and resolvers with their certificates' DER. */
struct kms_ekm_connection {
    char name[EM_RESOURCE_MAX];
    int64_t create_ns;
    enum kms_ekm_mode mode;
    char crypto_space_path[KMS_EKM_FIELD_MAX]; /* "" when none */
    struct kms_ekm_resolver resolvers[KMS_EKM_MAX_RESOLVERS];
    size_t resolver_count;
    char etag[KMS_EKM_ETAG_SIZE];
};
/* Frees what the certificates hold and zeroes the connection (safe on a zeroed one). */
void kms_ekm_connection_clear(struct kms_ekm_connection *c);

/* Fields an update may change; `mask` bits say which. */
enum kms_ekm_field {
    KMS_EKM_FIELD_RESOLVERS = 1 << 0,
    KMS_EKM_FIELD_MODE = 1 << 1,
    KMS_EKM_FIELD_CRYPTO_SPACE_PATH = 1 << 2,
};

enum em_code kms_ekm_connections_open(struct em_store *store, struct kms_ekm_connections **out,
                                      struct em_status *st);
void kms_ekm_connections_close(struct kms_ekm_connections *ekm);
/* Forgets every connection and configuration (the emulator's reset). */
enum em_code kms_ekm_connections_reset(struct kms_ekm_connections *ekm, struct em_status *st);

/* --- rules (pure) --- */

/* Whether EKM connections exist in the location of name (".../locations/l..."): only in
 * regional locations; INVALID_ARGUMENT otherwise. */
enum em_code kms_ekm_location_check(const char *name, struct em_status *st);
/* How many service resolvers a connection has (exactly one), and certificates its
 * resolver has (1 to 10): INVALID_ARGUMENT otherwise. Callers filling a connection check
 * them first, since the struct holds no more. */
enum em_code kms_ekm_resolver_count_check(size_t count, struct em_status *st);
enum em_code kms_ekm_certificate_count_check(size_t count, struct em_status *st);

/* A certificate's DER: INVALID_ARGUMENT naming `field` when it is not one X.509
 * certificate (nothing before or after it); otherwise its parsed fields filled. */
enum em_code kms_ekm_certificate_parse(struct kms_ekm_certificate *cert, const char *field,
                                       struct em_status *st);
/* "projects/p/locations/l/ekmConnections/c" with valid IDs; into location (may be NULL)
 * its "projects/p/locations/l". INVALID_ARGUMENT naming `field` otherwise. */
enum em_code kms_ekm_connection_name_check(const char *name, const char *field, char *location,
                                           size_t len, struct em_status *st);

/* --- connections --- */

/* Creates connection `name` from spec (validated; certificates parsed): INVALID_ARGUMENT
 * naming what is wrong, FAILED_PRECONDITION when gcp.resourceLocations forbids the
 * location, ALREADY_EXISTS. *out (may be NULL) is the new connection. */
enum em_code kms_ekm_connection_create(struct kms_ekm_connections *ekm, const char *name,
                                       const struct kms_ekm_connection *spec, int64_t now,
                                       struct kms_ekm_connection *out, struct em_status *st);
/* NOT_FOUND "EkmConnection <name> not found." */
enum em_code kms_ekm_connection_get(struct kms_ekm_connections *ekm, const char *name,
                                    struct kms_ekm_connection *out, struct em_status *st);
/* Applies the fields of patch that mask names, then validates the result as create does.
 * etag (NULL or "": none) must be the current one, else ABORTED. */
enum em_code kms_ekm_connection_update(struct kms_ekm_connections *ekm, const char *name,
                                       const struct kms_ekm_connection *patch, unsigned mask,
                                       const char *etag, struct kms_ekm_connection *out,
                                       struct em_status *st);
/* The connections of a location ("projects/p/locations/l"), by name. */
struct kms_ekm_connection_list {
    struct kms_ekm_connection *items;
    size_t count;
};
enum em_code kms_ekm_connection_list(struct kms_ekm_connections *ekm, const char *parent,
                                     struct kms_ekm_connection_list *out, struct em_status *st);
void kms_ekm_connection_list_free(struct kms_ekm_connection_list *list);

/* VerifyConnectivity's verdict on a connection, at now: FAILED_PRECONDITION in Cloud EKM's
 * words (kms/docs/reference/ekm_errors) when the EKM cannot be reached (the emulator's
 * ekmUnreachable fault) or when none of the connection's server certificates is valid
 * at now (the TLS handshake would fail). */
enum em_code kms_ekm_connection_verify(const struct kms_ekm_connection *c, int64_t now,
                                       struct em_status *st);

/* --- for key creation (EXTERNAL_VPC keys, kms_keys.c) --- */

/* What a key needs of its connection (struct kms_ekm_route, kms.h: hostname, mode, crypto
 * space), read without its certificates. INVALID_ARGUMENT for a name that is not an
 * EkmConnection name, NOT_FOUND "EkmConnection <name> not found." when there is none. */
enum em_code kms_ekm_connection_route(struct kms_ekm_connections *ekm, const char *name,
                                      struct kms_ekm_route *out, struct em_status *st);

/* --- EkmConfig (one per project and location) --- */

/* The default connection of location_name ("projects/p/locations/l") into out: "" when
 * none is set. */
enum em_code kms_ekm_default_connection(struct kms_ekm_connections *ekm, const char *location_name,
                                        char *out, size_t len, struct em_status *st);
/* Sets (connection "" clears) the default connection of location_name. The connection
 * must be one of the same project and location (INVALID_ARGUMENT) and exist (NOT_FOUND).
 */
enum em_code kms_ekm_default_connection_set(struct kms_ekm_connections *ekm,
                                            const char *location_name, const char *connection,
                                            struct em_status *st);

#endif
