/*
 * spanner_backup: the domain of Spanner's backups and restores, persisted through
 * spanner_store (table spanner_backups) beside the admin plane's databases.
 *
 * A backup is a protected resource of the CMEK engine pinned to one key version
 * (em_cmek_protect_pinned): the version that is primary when the backup is created or
 * copied, never re-wrapped on rotation. encryptionInfo reports that version for good.
 * Disabling it makes the backup unusable (copy and restore fail FAILED_PRECONDITION naming
 * the version) until it is enabled again; destroying it makes the backup unrestorable for
 * good (crypto-shredding). Restore and copy ask KMS at once (em_cmek_check) rather than
 * trusting the last scheduled check.
 *
 * What a backup holds: the schema (canonical DDL) of its database at its version time, in
 * spanner_backups, and its rows: a data file of its own (<data dir>/spanner/backups/
 * <project>+<instance>+<backup>.db), a copy of the database's file made when the backup is
 * created (em_datastore_copy: SQLite's online backup between the writer's transactions,
 * every page encrypted again under the backup's DEK). A copy of a backup copies that file
 * under the new backup's key; a restore copies it into the new database's file under the
 * database's key (which may differ) and attaches it (sp_data_attach). Deleting or expiring
 * a backup shreds its file and forgets its keys.
 *
 * Lifecycle of a backup (state in its JSON):
 *
 *   create/copy (checked, protected, recorded) --> CREATING --operation work--> READY
 *   READY --expireTime reached on the emulator clock (tick)--> deleted (keys forgotten)
 *   READY --delete--> deleted;  refused while a restore from it is running
 *
 * versionTime: any time from the database's earliest version time (its creation, or an
 * hour ago: the row versions it keeps) to now, never in the future; other times are
 * refused naming version_time. The backup copies the file with its versions, and a
 * restore rewinds the copy's rows to versionTime (sp_data_rewind).
 *
 * Long-running methods are split as in spanner_admin.h: the first half checks, protects
 * and records; the operation's work (*_ready) finishes. Each function overwrites *st and
 * is thread-safe (one mutex serialises each call's read-modify-write).
 */
#ifndef SPANNER_BACKUP_H
#define SPANNER_BACKUP_H

#include "spanner_admin.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define SP_BACKUP_MIN_RETENTION_S (6 * 3600)
#define SP_BACKUP_MAX_RETENTION_S (366 * 86400)

struct em_store;
struct em_cmek;
struct sp_backups;

/* cmek: the service's engine (NULL in unit tests: keys are checked by grammar and
 * location only, nothing is pinned). admin: the databases backups come from and go to;
 * data (NULL: no rows are copied, unit tests) the databases' rows, and data_dir where the
 * backups' files go. */
struct sp_data;
enum em_code sp_backups_open(struct em_store *store, struct em_cmek *cmek, struct sp_admin *admin,
                             struct sp_data *data, const char *data_dir, struct sp_backups **out,
                             struct em_status *st);
void sp_backups_close(struct sp_backups *backups);
/* Forgets every backup's keys (before sp_admin_reset clears the tables). */
enum em_code sp_backups_reset(struct sp_backups *backups, struct em_status *st);

/* Create: backup is the request's Backup JSON (database, expireTime, versionTime);
 * encryption the CreateBackupEncryptionConfig (encryptionType USE_DATABASE_ENCRYPTION,
 * GOOGLE_DEFAULT_ENCRYPTION or CUSTOMER_MANAGED_ENCRYPTION; kmsKeyName or kmsKeyNames),
 * NULL for the default (the database's encryption). *name receives the backup's name. */
enum em_code sp_backup_create(struct sp_backups *backups, const char *instance, const char *id,
                              const cJSON *backup, const cJSON *encryption, int64_t now,
                              char name[SP_NAME_MAX], struct em_status *st);
/* Backup schedules (spanner_backup_schedules.h) use the rules of backups: a schedule's ID
 * has a backup ID's grammar; its encryptionConfig is a CreateBackupEncryptionConfig. */
enum em_code sp_backup_schedule_id_check(const char *id, struct em_status *st);
enum em_code sp_backup_encryption_check(struct sp_backups *backups, const char *instance,
                                        const cJSON *encryption, struct em_status *st);
/* The backup a schedule makes: of database at version_time (moved up to the database's
 * earliest version time when older), expiring retention_ns after it, encrypted as the
 * schedule's encryption config says (NULL: as the database), its backupSchedules naming
 * the schedule; *name receives its name, derived from the schedule and the version time
 * (so a second call for the same time is ALREADY_EXISTS). The database's key must be
 * usable: otherwise FAILED_PRECONDITION and no backup, as a backup call would answer. */
enum em_code sp_backup_create_scheduled(struct sp_backups *backups, const char *schedule,
                                        const char *database, const cJSON *encryption,
                                        int64_t version_time, int64_t retention_ns, int64_t now,
                                        char name[SP_NAME_MAX], struct em_status *st);
/* Copy: request is the CopyBackupRequest JSON (backupId, sourceBackup, expireTime,
 * encryptionConfig with USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION as the default). */
enum em_code sp_backup_copy(struct sp_backups *backups, const char *instance, const cJSON *request,
                            int64_t now, char name[SP_NAME_MAX], struct em_status *st);
/* The operation's work of create and copy: READY, with its size. */
enum em_code sp_backup_ready(struct sp_backups *backups, const char *name, cJSON **out,
                             struct em_status *st);

enum em_code sp_backup_get(struct sp_backups *backups, const char *name, cJSON **out,
                           struct em_status *st);
enum em_code sp_backup_list(struct sp_backups *backups, const char *instance, cJSON **out,
                            struct em_status *st);
/* update_mask: expire_time / expireTime, the only field UpdateBackup changes. */
enum em_code sp_backup_update(struct sp_backups *backups, const char *name, const cJSON *backup,
                              const char *update_mask, int64_t now, cJSON **out,
                              struct em_status *st);
enum em_code sp_backup_delete(struct sp_backups *backups, const char *name, struct em_status *st);
/* Deletes the backups whose expireTime is reached (the service's tick). */
enum em_code sp_backups_expire(struct sp_backups *backups, int64_t now, struct em_status *st);

/* Restore: request is the RestoreDatabaseRequest JSON (databaseId, backup,
 * encryptionConfig with USE_CONFIG_DEFAULT_OR_BACKUP_ENCRYPTION as the default). The new
 * database is recorded (CREATING) with the backup's schema and restoreInfo; *metadata
 * receives the RestoreDatabaseMetadata. */
enum em_code sp_backup_restore(struct sp_backups *backups, const char *instance,
                               const cJSON *request, int64_t now, char name[SP_NAME_MAX],
                               cJSON **metadata, struct em_status *st);
/* The restore operation's work: the database READY, the backup no longer referenced. */
enum em_code sp_backup_restore_ready(struct sp_backups *backups, const char *database, cJSON **out,
                                     struct em_status *st);

#endif
