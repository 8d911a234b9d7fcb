/*
 * spanner_ddl: Spanner's DDL statements, applied one at a time to a schema.
 *
 * sp_ddl_apply() parses one statement, checks it against the schema with Spanner's rules
 * and wording (duplicate names, missing tables and columns, key and interleave rules,
 * what may be dropped or altered), and only then changes the schema: a failed statement
 * changes nothing. It appends to sqlite_out the SQLite script that brings the stored rows
 * along (spanner_schema.h describes that storage): the schema's triggers are dropped first
 * and recreated last, the structural change in between, and checks of existing rows (a
 * new NOT NULL, CHECK or foreign key) run as SELECTs that raise through sp_raise(), so the
 * script fails, as Spanner's statement does, when existing data violates the change. To
 * keep the schema and the rows in step, apply to a clone (sp_schema_clone) and run the
 * script in a savepoint; keep the clone only when the script succeeded.
 *
 * Accepted: CREATE TABLE (columns with NOT NULL, DEFAULT, AS (...) STORED, OPTIONS
 * (allow_commit_timestamp = true); CONSTRAINT ... FOREIGN KEY / CHECK; PRIMARY KEY with
 * ASC/DESC; INTERLEAVE IN PARENT ... ON DELETE CASCADE|NO ACTION; ROW DELETION POLICY
 * (OLDER_THAN(col, INTERVAL n DAY))), CREATE [UNIQUE] [NULL_FILTERED] INDEX with STORING
 * and INTERLEAVE IN, CREATE [OR REPLACE] VIEW ... SQL SECURITY INVOKER AS, DROP TABLE /
 * INDEX / VIEW, ALTER TABLE ADD COLUMN / DROP COLUMN / ALTER COLUMN (type, NOT NULL,
 * SET/DROP DEFAULT, SET OPTIONS) / ADD and DROP CONSTRAINT / ADD, REPLACE and DROP ROW
 * DELETION POLICY / SET ON DELETE, ALTER DATABASE ... SET OPTIONS (version_retention_period),
 * CREATE SEQUENCE [IF NOT EXISTS] (OPTIONS (...) or BIT_REVERSED_POSITIVE [SKIP RANGE a, b]
 * [START COUNTER WITH n]), ALTER SEQUENCE (SET OPTIONS, [NO] SKIP RANGE, RESTART COUNTER
 * WITH) and DROP SEQUENCE [IF EXISTS] (refused while a column's DEFAULT uses it). Other
 * DDL (change streams, roles, other database options ...) is UNIMPLEMENTED, by name.
 */
#ifndef SPANNER_DDL_H
#define SPANNER_DDL_H

#include "spanner_schema.h"

enum em_code sp_ddl_apply(struct sp_schema *schema, const char *statement,
                          struct sp_buf *sqlite_out, struct em_status *st);

#endif
