/*
 * em_audit: the audit log every service writes and the control plane reads back as
 * Cloud Logging entries (README, "Identity, IAM and the audit log").
 *
 * One row per call in table audit_log (owned here): emulator time, service, kind
 * (admin activity or data access), principal, method, resource, the key version a
 * cryptographic call used, the resource a service called on behalf of, the access reason
 * of a call that used a Cloud KMS key (Key Access Justifications), and the result.
 * Writes are buffered in memory and committed in batches by a background thread (every
 * 50 ms, or sooner under load) so a hot path pays a queue push, not a transaction;
 * em_audit_flush() writes everything queued (the control plane asks each service to
 * flush before it reads). After every batch the table is cut back to the newest
 * audit_max_entries rows.
 */
#ifndef EM_AUDIT_H
#define EM_AUDIT_H

#include "em_router.h"
#include "em_status.h"

#include <stdbool.h>
#include <stdint.h>

struct em_store;
struct em_audit;

struct em_audit_entry {
    int64_t time_ns;
    const char *service;     /* "kms" */
    enum em_audit_kind kind; /* admin activity or data access */
    const char *principal;
    const char *method;        /* "Encrypt" */
    const char *resource;      /* resource name from the request path */
    const char *key_version;   /* or NULL */
    const char *caller;        /* resource a service acted for, or NULL */
    const char *justification; /* a key's use: its access reason (CUSTOMER_INITIATED_ACCESS...) */
    bool
        justification_enforced; /* ... checked against the key's Key Access Justifications policy */
    int code;                   /* google.rpc.Code of the result */
    const char *message;        /* error message, or NULL */
};

/* A row read back, with the id used for paging. */
struct em_audit_row {
    int64_t id;
    struct em_audit_entry entry;
};

enum em_code em_audit_open(struct em_store *store, int64_t max_entries, struct em_audit **out,
                           struct em_status *st);

/* Stops the writer thread after writing everything queued. */
void em_audit_close(struct em_audit *audit);

/* Queues a copy of entry. Never blocks on the database. */
void em_audit_record(struct em_audit *audit, const struct em_audit_entry *entry);

/* Writes everything queued so far before returning. */
enum em_code em_audit_flush(struct em_audit *audit, struct em_status *st);

/* Reads rows in id order (newest first when descending), starting after after_id
 * (0 = from the start), calling visit until it returns false. */
typedef bool (*em_audit_visit_fn)(const struct em_audit_row *row, void *arg);
enum em_code em_audit_scan(struct em_store *store, bool descending, int64_t after_id,
                           em_audit_visit_fn visit, void *arg, struct em_status *st);

/* Deletes every row (control plane reset). */
enum em_code em_audit_clear(struct em_store *store, struct em_status *st);

#endif
