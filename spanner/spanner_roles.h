/*
 * spanner_roles: Spanner's fine-grained access control. The DDL that manages it (CREATE
 * and DROP ROLE, GRANT and REVOKE of privileges and of role membership) checked with
 * Spanner's rules, the refusals it puts on dropping what a privilege names, its getDdl
 * statements, and the check of what a statement run under a database role reads and
 * writes (spanner_role_check.c).
 *
 * The model is struct sp_acl (spanner_schema.h). Every database has the three system
 * roles (public, spanner_info_reader, spanner_sys_reader), which are not in it: public's
 * privileges belong to every role; spanner_info_reader and spanner_sys_reader take no
 * privileges, and membership in spanner_info_reader lets a role read INFORMATION_SCHEMA
 * unfiltered (the emulator has no SPANNER_SYS tables for spanner_sys_reader to open). A role has
 * the privileges granted to it, to public, and to every role it is a member of, directly or through
 * others. Privileges are on tables (or some of their columns), views, change streams, their READ_
 * functions and sequences (drawing from one needs UPDATE or SELECT on it, also through a column's
 * DEFAULT).
 *
 * The parser stands where spanner_ddl.c leaves it: after CREATE ROLE, DROP ROLE, GRANT or
 * REVOKE. Like every DDL statement, these change the schema only once every check passed.
 */
#ifndef SPANNER_ROLES_H
#define SPANNER_ROLES_H

#include "spanner_schema.h"
#include "spanner_sql_ast.h"

/* Spanner's limit: database roles per database (system roles not counted). */
#define SP_ROLES_MAX 100

#define SP_ROLE_PUBLIC      "public"
#define SP_ROLE_INFO_READER "spanner_info_reader"
#define SP_ROLE_SYS_READER  "spanner_sys_reader"
extern const char *const sp_system_roles[3];

enum em_code sp_role_create(struct sp_parser *p, struct sp_schema *s, struct em_status *st);
enum em_code sp_role_drop(struct sp_parser *p, struct sp_schema *s, struct em_status *st);
/* GRANT (revoke false) or REVOKE ... : privileges on objects, or ROLE membership. */
enum em_code sp_role_grant(struct sp_parser *p, struct sp_schema *s, bool revoke,
                           struct em_status *st);

/* A renamed table: privileges on `from` are privileges on `to`. */
enum em_code sp_roles_rename_table(struct sp_schema *s, const char *from, const char *to,
                                   struct em_status *st);
/* FAILED_PRECONDITION while a privilege names the object (column NULL) or the column of
 * table `object`: Spanner has them revoked first. */
enum em_code sp_roles_droppable(const struct sp_schema *s, enum sp_grant_object on,
                                const char *object, const char *column, struct em_status *st);

/* The role of that name (system roles included), as the schema spells it, or NULL. */
const char *sp_role_find(const struct sp_schema *s, const char *name);
/* getDdl: CREATE ROLE statements, then GRANTs of privileges, then GRANT ROLEs, each in the
 * order they were made; malloc'd strings appended at out[*count] (room for
 * sp_roles_statement_count of them); false on out of memory. */
int sp_roles_statement_count(const struct sp_schema *s);
bool sp_roles_statements(const struct sp_schema *s, char **out, int *count);
/* "SELECT", "INSERT" ... and "TABLE", "VIEW", "CHANGE STREAM", "TABLE FUNCTION". */
const char *sp_privilege_name(enum sp_privilege privilege);
const char *sp_grant_object_name(enum sp_grant_object on);
/* "table", "view", "change stream", "table function", "sequence": how messages name them. */
extern const char *const sp_grant_object_labels[];

/* ---- checks (spanner_role_check.c) ---- */

/* What a statement does to one object: a privilege it needs on a column, or (column NULL)
 * on the object: for a table, SELECT on at least one of its columns (it reads rows, as
 * COUNT(*) does), INSERT/UPDATE/DELETE on the table. */
struct sp_access {
    enum sp_grant_object on;
    const char *object;
    const char *column;
    enum sp_privilege privilege;
};

/* A growing list of accesses (in arena), each noted once. */
struct sp_accesses {
    struct sp_access *items;
    int count, cap;
};
enum em_code sp_accesses_add(struct sp_accesses *list, struct sp_arena *arena,
                             enum sp_grant_object on, const char *object, const char *column,
                             enum sp_privilege privilege, struct em_status *st);

/* Whether role may do every access: PERMISSION_DENIED "Role <role> does not have required
 * privileges on table <T>." (or on column T.c, view, change stream, table function) at the
 * first it may not. A role that no longer exists has no privileges. */
enum em_code sp_role_check(const struct sp_schema *s, const char *role, const struct sp_access *a,
                           int count, struct em_status *st);
/* An insert's column left to its DEFAULT: UPDATE (or SELECT) on each sequence the DEFAULT
 * draws from, as Spanner asks of a role. */
enum em_code sp_role_check_default(const struct sp_schema *s, const char *role,
                                   const struct sp_column *column, struct em_status *st);
/* Whether role is spanner_info_reader or one of its members (directly or not). */
bool sp_role_reads_info_schema(const struct sp_schema *s, const char *role);
/* Whether role has a privilege on the object, on any of its columns (column NULL) or on
 * that column (or the whole table): what a role sees of it in INFORMATION_SCHEMA without
 * spanner_info_reader. */
bool sp_role_sees(const struct sp_schema *s, const char *role, enum sp_grant_object on,
                  const char *object, const char *column);
/* Whether role has `other` (itself, public, or a role it is a member of, directly or not). */
bool sp_role_has(const struct sp_schema *s, const char *role, const char *other);

#endif
