/*
 * control_liens: Resource Manager liens (cloudresourcemanager v1 and v3 `liens`,
 * https://cloud.google.com/resource-manager/docs/project-liens): a lien on a project
 * blocks what its restrictions name. As in Google, a project's only supported restriction
 * is `resourcemanager.projects.delete`: while such a lien exists, DeleteProject fails
 * FAILED_PRECONDITION, which is how a team keeps its key project from being deleted by
 * mistake. Table `liens` (migration module "liens") is owned here; a reset forgets every
 * lien.
 */
#ifndef CONTROL_LIENS_H
#define CONTROL_LIENS_H

#include "em_status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct em_store;

#define CONTROL_LIEN_TEXT_MAX  200 /* reason and origin: at most 200 characters */
#define CONTROL_LIEN_TEXT_SIZE (4 * CONTROL_LIEN_TEXT_MAX + 1) /* in UTF-8 bytes */
#define CONTROL_LIEN_DELETE    "resourcemanager.projects.delete"

struct control_lien {
    char name[80];       /* "liens/p<project number>-<uuid>" */
    char parent[48];     /* as its creator named it: "projects/<id>" or "projects/<number>" */
    char project_id[32]; /* the project parent names */
    char reason[CONTROL_LIEN_TEXT_SIZE];
    char origin[CONTROL_LIEN_TEXT_SIZE];
    int64_t create_time_ns;
};

enum em_code control_liens_open(struct em_store *store, struct em_status *st);
enum em_code control_liens_clear(struct em_store *store, struct em_status *st);

/* A lien's parent is a project: "projects/<id or number>" (INVALID_ARGUMENT naming
 * `parent` for anything else); the caller resolves and authorizes it. */
enum em_code control_lien_parent_check(const char *parent, struct em_status *st);

/* CreateLien on project_id (the project body's parent names, resolved): body is a Lien
 * (parent, restrictions, reason, origin; Google's rules, the error naming the field); out
 * is the lien as saved at now. A project whose deletion was requested takes no lien
 * (FAILED_PRECONDITION; checked in the insert's transaction). */
enum em_code control_lien_create(struct em_store *store, const cJSON *body, const char *project_id,
                                 int64_t now, struct control_lien *out, struct em_status *st);

/* The lien called name; NOT_FOUND when there is none. */
enum em_code control_lien_get(struct em_store *store, const char *name, struct control_lien *out,
                              struct em_status *st);
enum em_code control_lien_delete(struct em_store *store, const char *name, struct em_status *st);

/* Visits project_id's liens, oldest first. */
typedef void (*control_lien_visit_fn)(const struct control_lien *lien, void *arg);
enum em_code control_liens_of(struct em_store *store, const char *project_id,
                              control_lien_visit_fn visit, void *arg, struct em_status *st);

/* DeleteProject's check: FAILED_PRECONDITION, with a PreconditionFailure violation of type
 * LIEN naming it, when a lien on project_id restricts resourcemanager.projects.delete. */
enum em_code control_liens_allow_delete(struct em_store *store, const char *project_id,
                                        struct em_status *st);

/* The Lien JSON: name, parent, restrictions, reason, origin, createTime. */
cJSON *control_lien_json(const struct control_lien *lien);

#endif
