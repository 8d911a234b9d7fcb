/*
 * spanner_backup_schedules: the domain of Spanner's backup schedules
 * (projects.instances.databases.backupSchedules), persisted through spanner_store (table
 * spanner_backup_schedules).
 *
 * A schedule belongs to a database and names when backups of it are made (a crontab in
 * UTC, spanner_cron.h), how long each is kept (retentionDuration, 6 hours to 366 days)
 * and how each is encrypted (encryptionConfig, a CreateBackupEncryptionConfig: by default
 * as the database, or Google default encryption, or a customer-managed key). Checked as
 * Spanner checks them: full backups at least 12 hours apart; incremental backups need an
 * Enterprise edition instance (the emulator's instances are all Standard edition, so an
 * incremental schedule is FAILED_PRECONDITION naming the edition).
 *
 * Lifecycle of a schedule:
 *
 *   create (checked, recorded; its next time is the first one after now)
 *     --emulator clock reaches a time of its crontab (the service's tick)--> the tick
 *       takes sp_backup_schedules_due() and makes the backup (sp_backup_create_scheduled,
 *       a CreateBackup operation as a backups.create call has), then records the time as
 *       done (sp_backup_schedule_done), whether the backup could be made or not
 *   patch (spec.cron_spec.text, retention_duration, encryption_config): from now on
 *   delete, or its database dropped: gone; the backups it made stay until they expire
 *
 * When the clock jumps over several times of a schedule (clock:advance), one backup is
 * made, of the latest time passed. What the emulator keeps for itself (the last time
 * handled) is stored inside the schedule's JSON and never shown.
 *
 * Each function overwrites *st and is thread-safe.
 */
#ifndef SPANNER_BACKUP_SCHEDULES_H
#define SPANNER_BACKUP_SCHEDULES_H

#include "spanner_admin.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define SP_SCHEDULE_FULL_MIN_GAP_S        (12 * 3600)
#define SP_SCHEDULE_INCREMENTAL_MIN_GAP_S (4 * 3600)

struct em_store;
struct sp_backups;
struct sp_backup_schedules;

enum em_code sp_backup_schedules_open(struct em_store *store, struct sp_admin *admin,
                                      struct sp_backups *backups, struct sp_backup_schedules **out,
                                      struct em_status *st);
void sp_backup_schedules_close(struct sp_backup_schedules *schedules);

/* Create: schedule is the request's BackupSchedule JSON (already checked against its
 * message), id the backupScheduleId; *out receives the schedule as get answers it. */
enum em_code sp_backup_schedule_create(struct sp_backup_schedules *schedules, const char *database,
                                       const char *id, const cJSON *schedule, int64_t now,
                                       cJSON **out, struct em_status *st);
enum em_code sp_backup_schedule_get(struct sp_backup_schedules *schedules, const char *name,
                                    cJSON **out, struct em_status *st);
/* The database's schedules, by name, as a JSON array. */
enum em_code sp_backup_schedule_list(struct sp_backup_schedules *schedules, const char *database,
                                     cJSON **out, struct em_status *st);
/* update_mask: spec (or spec.cron_spec, spec.cron_spec.text), retention_duration,
 * encryption_config, in camelCase or snake_case. */
enum em_code sp_backup_schedule_update(struct sp_backup_schedules *schedules, const char *name,
                                       const cJSON *schedule, const char *update_mask, int64_t now,
                                       cJSON **out, struct em_status *st);
enum em_code sp_backup_schedule_delete(struct sp_backup_schedules *schedules, const char *name,
                                       struct em_status *st);

/* The schedules with a time at or before now not yet handled, as a JSON array of
 * {"name", "database", "versionTime" (the latest such time), "retentionDuration" and,
 * when the schedule has one, "encryptionConfig"}. */
enum em_code sp_backup_schedules_due(struct sp_backup_schedules *schedules, int64_t now,
                                     cJSON **out, struct em_status *st);
/* Records that the schedule's times up to version_time are handled (nothing when the
 * schedule was deleted meanwhile). */
enum em_code sp_backup_schedule_done(struct sp_backup_schedules *schedules, const char *name,
                                     int64_t version_time, struct em_status *st);

#endif
