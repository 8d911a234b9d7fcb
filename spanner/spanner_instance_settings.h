/*
 * spanner_instance_settings: an instance's edition and the Instance settings the emulator
 * does not build (free instances, default backup schedules, SSD caches, storage types),
 * which are refused UNIMPLEMENTED rather than taken and dropped. Used by spanner_admin.c
 * at create and for UpdateInstance's field mask.
 */
#ifndef SPANNER_INSTANCE_SETTINGS_H
#define SPANNER_INSTANCE_SETTINGS_H

#include "em_status.h"
#include "em_store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Checks the settings of a CreateInstance request's instance and sets them on inst: the
 * edition (STANDARD when left out), defaultBackupScheduleType NONE when given. */
enum em_code sp_instance_settings_create(cJSON *inst, const cJSON *request, struct em_status *st);

/* One UpdateInstance mask path, when it names a setting (*handled true): the edition (a
 * downgrade to STANDARD refused while a database of the instance has an incremental backup
 * schedule, an Enterprise feature), instanceType PROVISIONED, defaultBackupScheduleType
 * NONE; the settings not built refused. *handled false for any other path. store: the
 * admin's, under its lock. */
enum em_code sp_instance_settings_update(struct em_store *store, cJSON *inst, const cJSON *request,
                                         const char *path, bool *handled, struct em_status *st);

#endif
