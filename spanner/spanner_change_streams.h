/*
 * spanner_change_streams: the DDL of Spanner's change streams (CREATE, ALTER and DROP
 * CHANGE STREAM) checked with Spanner's rules and wording, and the refusals they put on
 * dropping what a change stream lists. The model is struct sp_change_stream
 * (spanner_schema.h); getDdl and INFORMATION_SCHEMA show it. The records a change stream
 * streams, and the queries that read them, are spanner_change_records.h's.
 *
 * The parser stands where spanner_ddl.c leaves it: after the change stream's name for
 * CREATE, after ALTER CHANGE STREAM for ALTER. Like every DDL statement, these change the
 * schema only once every check passed.
 */
#ifndef SPANNER_CHANGE_STREAMS_H
#define SPANNER_CHANGE_STREAMS_H

#include "spanner_schema.h"
#include "spanner_sql_ast.h"

/* Spanner's limits: change streams per database, and change streams tracking one non-key
 * column (those tracking ALL or the whole table count). */
#define SP_CHANGE_STREAMS_MAX        10
#define SP_CHANGE_STREAMS_PER_COLUMN 3

/* [FOR ALL | FOR t[(c, ...)], ...] [OPTIONS (name = value, ...)]; the name is checked
 * (free in the schema) by the caller. */
enum em_code sp_change_stream_create(struct sp_parser *p, struct sp_schema *s, const char *name,
                                     struct em_status *st);
/* name SET FOR ... | DROP FOR ALL | SET OPTIONS (...): SET OPTIONS changes the options it
 * names (NULL puts one back to its default) and keeps the others. */
enum em_code sp_change_stream_alter(struct sp_parser *p, struct sp_schema *s, struct em_status *st);
enum em_code sp_change_stream_drop(struct sp_schema *s, const char *name, struct em_status *st);

/* A renamed table: every FOR clause naming `from` names `to` (streams are copied, not
 * edited: they may be shared with the schema this one was cloned from). */
enum em_code sp_change_stream_rename_table(struct sp_schema *s, const char *from, const char *to,
                                           struct em_status *st);

/* FAILED_PRECONDITION while a change stream lists the table in its FOR clause (FOR ALL
 * does not count), or the column in its table's column list. */
enum em_code sp_change_stream_table_droppable(const struct sp_schema *s, const char *table,
                                              struct em_status *st);
enum em_code sp_change_stream_column_droppable(const struct sp_schema *s, const char *table,
                                               const char *column, struct em_status *st);

#endif
