/*
 * spanner_sql_info_schema: the INFORMATION_SCHEMA views a query can read (SCHEMATA,
 * TABLES, COLUMNS, INDEXES, INDEX_COLUMNS, TABLE_CONSTRAINTS, SEQUENCES, SEQUENCE_OPTIONS,
 * TABLE_SYNONYMS, CHANGE_STREAMS, CHANGE_STREAM_TABLES, CHANGE_STREAM_COLUMNS,
 * CHANGE_STREAM_OPTIONS, and fine-grained access control's ROLES, ROLE_GRANTEES,
 * TABLE_PRIVILEGES, COLUMN_PRIVILEGES, CHANGE_STREAM_PRIVILEGES), generated from the schema model
 * with Spanner's columns and values.
 *
 * The translator reads FROM INFORMATION_SCHEMA.<view> as a derived table: the SQLite SQL
 * of its rows (a VALUES list over the storage forms of spanner_value.h, its columns named
 * "$c1", "$c2" ... as every translated query's) and the GoogleSQL columns, so WHERE, JOIN,
 * GROUP BY and ORDER BY work on it as on any table. Only the user's schema ('') is
 * described: the views of INFORMATION_SCHEMA and SPANNER_SYS themselves are not listed,
 * nor the indexes Spanner manages for foreign keys.
 */
#ifndef SPANNER_SQL_INFO_SCHEMA_H
#define SPANNER_SQL_INFO_SCHEMA_H

#include "spanner_schema.h"
#include "spanner_sql_translate.h"

/* The rows and columns of INFORMATION_SCHEMA.<view> (view compared case-insensitively),
 * allocated in arena. EM_NOT_FOUND (status not set) when there is no such view. With a
 * database role that is not spanner_info_reader (or one of its members), the rows are
 * those of what the role has privileges on (sp_role_sees), and of the roles it has. */
enum em_code sp_info_schema_view(const struct sp_schema *schema, const char *view, const char *role,
                                 struct sp_arena *arena, const char **sql,
                                 struct sp_result_column **cols, int *ncols, struct em_status *st);

#endif
