/*
 * control_projects: Resource Manager projects (cloudresourcemanager v1).
 *
 * Every valid project ID names a project that exists: the emulator has no project
 * creation step, as a developer's gcloud project is simply there. A project is remembered
 * in table `projects` (owned here, migration module "projects") the first time it is
 * seen, so its createTime stays stable and `projects list` shows it. The project number
 * is em_project_number(), the same in every service.
 */
#ifndef CONTROL_PROJECTS_H
#define CONTROL_PROJECTS_H

#include "em_status.h"

#include <stdbool.h>
#include <stdint.h>

struct em_store;

struct control_project {
    char id[32];
    int64_t number;
    int64_t create_time_ns; /* emulator time of first sight */
};

enum em_code control_projects_open(struct em_store *store, struct em_status *st);

/* Validates project_id (Google's rules) and returns the project, remembering it on first
 * sight. */
enum em_code control_project_get(struct em_store *store, const char *project_id,
                                 struct control_project *out, struct em_status *st);

/* Visits every remembered project in ID order until visit returns false. */
typedef bool (*control_project_visit_fn)(const struct control_project *project, void *arg);
enum em_code control_projects_scan(struct em_store *store, control_project_visit_fn visit,
                                   void *arg, struct em_status *st);

/* Forgets every project (control plane reset). */
enum em_code control_projects_clear(struct em_store *store, struct em_status *st);

#endif
