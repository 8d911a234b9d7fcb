/*
 * control_logging: the audit log (em_audit) read back as Cloud Logging, so that
 * `gcloud logging read` works (Logging v2 entries:list,
 * https://cloud.google.com/logging/docs/reference/v2/rest/v2/entries/list).
 *
 * Each audit row becomes a LogEntry with an AuditLog protoPayload
 * (https://cloud.google.com/logging/docs/reference/audit/auditlog/rest/Shared.Types/AuditLog):
 * admin activity goes to logs/cloudaudit.googleapis.com%2Factivity (severity NOTICE),
 * data access to logs/cloudaudit.googleapis.com%2Fdata_access (INFO), failures are ERROR.
 * The monitored resource is derived from the resource name by the resource types of the
 * service descriptors (em_descriptor.h: KMS key rings, keys and versions, Pub/Sub topics,
 * subscriptions and snapshots, ...); anything else is an audited_resource.
 *
 * Order is the audit row id, which follows emulator time (the clock only moves forward
 * and a reset empties the log). Page tokens carry the last row id and the direction.
 * One call examines at most scan_limit rows; when it stops there it still hands back a
 * nextPageToken (possibly with fewer entries than asked, even none), as Logging does.
 */
#ifndef CONTROL_LOGGING_H
#define CONTROL_LOGGING_H

#include "em_audit.h"
#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct em_store;

#define CONTROL_LOG_PAGE_DEFAULT 50
#define CONTROL_LOG_PAGE_MAX     1000
#define CONTROL_LOG_SCAN_LIMIT   100000
#define CONTROL_LOG_PROJECTS_MAX 100

/* The monitored resource {"type", "labels"} of an entry about `resource`, made by
 * google_service's `method`. */
cJSON *control_log_resource(const char *resource, const char *google_service, const char *method);

/* The LogEntry of an audit row; NULL when the row's resource is not in a project. */
cJSON *control_log_entry(const struct em_audit_row *row);

/* Page tokens: opaque text carrying the last row id and the order. */
char *control_log_token_make(int64_t last_id, bool descending);
enum em_code control_log_token_read(const char *token, bool descending, int64_t *last_id,
                                    struct em_status *st);

/* Whether the audit log holds a call of google_service ("pubsub.googleapis.com") on a
 * resource of the project at since_ns or later (the rows scanned newest first, up to the
 * first older one): Service Usage's "usage in the last 30 days". */
enum em_code control_log_service_used(struct em_store *store, const char *project,
                                      const char *google_service, int64_t since_ns, bool *used,
                                      struct em_status *st);

/* Answers a ListLogEntriesRequest (already schema-checked): {"entries": [...],
 * "nextPageToken": "..."}. */
enum em_code control_log_list(struct em_store *store, const cJSON *request, int64_t scan_limit,
                              cJSON **reply, struct em_status *st);

#endif
