/*
 * bigtable_backup: the domain of Bigtable's backups and restores (part of the admin
 * domain: it shares bigtable_admin's store and lock).
 *
 * A backup lives on a cluster ("projects/p/instances/i/clusters/c/backups/b") and holds a
 * copy of that cluster's replica of a table of the same instance, taken at creation. Its
 * cells are a file of its own in the replicas' registry (bigtable_replicas.h), protected
 * by the CMEK engine pinned to the primary version of the cluster's key at backup time:
 * rotating the key does not re-wrap it, disabling that version makes it unusable, and
 * destroying the version shreds it for good. encryptionInfo.kmsKeyVersion names that
 * version, and never changes.
 *
 *   create --> CREATING --operation done--> READY --expireTime passed / delete--> gone
 *   backupType HOT --hotToStandardTime passed--> STANDARD (bt_backups_convert_hot)
 *
 * Rules (https://cloud.google.com/bigtable/docs/reference/admin/rest/v2/
 * projects.instances.clusters.backups):
 * - expireTime: at least 6 hours and at most 90 days after the backup's startTime (its
 *   creation), on the emulator clock; a copy's at least 6 hours and at most 30 days after
 *   the copy request. Expired backups are deleted by bt_backups_expire (the service's
 *   tick).
 * - backupType STANDARD (default) or HOT; hotToStandardTime only for HOT, at least 24
 *   hours after the creation; update can set or clear it (mask hot_to_standard_time).
 *   Passed on the emulator clock, the backup becomes STANDARD on the service's tick.
 * - copy: the source READY and not itself a copy; the copy lands on any cluster (another
 *   instance or project too) under that cluster's key, pinned to its primary version.
 * - restore: into a new table of any instance of the project; the backup's pinned version
 *   must be usable when asked (KMS is asked at once), else FAILED_PRECONDITION naming it;
 *   refused while a cluster of the destination instance is disabled by its key (as
 *   Google); the new table gets a replica in every cluster of the destination instance,
 *   each under its own cluster's key, and a restoreInfo.
 * - deleting a backup is always allowed (its keys are forgotten and its file removed);
 *   deleting its cluster or instance deletes it too.
 *
 * Every function starts from a clean status (it overwrites *st); thread-safe.
 */
#ifndef BIGTABLE_BACKUP_H
#define BIGTABLE_BACKUP_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdint.h>

struct bt_admin;

#define BT_BACKUP_MIN_RETENTION_S  (6LL * 3600)
#define BT_BACKUP_MAX_RETENTION_S  (90LL * 86400)
#define BT_BACKUP_COPY_RETENTION_S (30LL * 86400)
#define BT_BACKUP_HOT_MIN_S        (24LL * 3600) /* hotToStandardTime after creation */

/* backup: the Backup of the request (sourceTable, expireTime, backupType). *out is the
 * Backup, CREATING; its cells are already copied. */
enum em_code bt_backup_create(struct bt_admin *admin, const char *cluster, const char *id,
                              const cJSON *backup, int64_t now, cJSON **out, struct em_status *st);
/* The operation's end: READY, endTime now, sizeBytes. */
enum em_code bt_backup_ready(struct bt_admin *admin, const char *name, int64_t now, cJSON **out,
                             struct em_status *st);
enum em_code bt_backup_get(struct bt_admin *admin, const char *name, cJSON **out,
                           struct em_status *st);
/* cluster may be ".../clusters/-" (every cluster of the instance) and the instance "-"
 * too (the project). */
enum em_code bt_backup_list(struct bt_admin *admin, const char *cluster, cJSON **out,
                            struct em_status *st);
/* mask: expire_time / expireTime and hot_to_standard_time / hotToStandardTime (the
 * fields Google lets change here; the latter cleared when the backup has none). */
enum em_code bt_backup_update(struct bt_admin *admin, const char *name, const cJSON *backup,
                              const char *mask, int64_t now, cJSON **out, struct em_status *st);
enum em_code bt_backup_delete(struct bt_admin *admin, const char *name, struct em_status *st);
/* request: the CopyBackupRequest (backupId, sourceBackup, expireTime); *out as create. */
enum em_code bt_backup_copy(struct bt_admin *admin, const char *cluster, const cJSON *request,
                            int64_t now, cJSON **out, struct em_status *st);
/* Deletes the backups whose expireTime is at or before now. */
enum em_code bt_backups_expire(struct bt_admin *admin, int64_t now, struct em_status *st);
/* Makes the HOT backups whose hotToStandardTime is at or before now STANDARD (that time
 * cleared, as Google shows a converted backup). */
enum em_code bt_backups_convert_hot(struct bt_admin *admin, int64_t now, struct em_status *st);

/* request: the RestoreTableRequest (tableId, backup). *table is the new Table (schema
 * view, with restoreInfo); *backup_info the RestoreInfo's backupInfo, for the
 * operation's metadata. */
enum em_code bt_table_restore(struct bt_admin *admin, const char *instance, const cJSON *request,
                              int64_t now, cJSON **table, cJSON **backup_info,
                              struct em_status *st);

#endif
