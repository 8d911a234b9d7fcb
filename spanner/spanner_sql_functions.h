/*
 * spanner_sql_functions: the SQLite user functions the translated SQL calls, and the one
 * place that turns a SQLite error into a Spanner status.
 *
 * Every function is named sp_* and reports a GoogleSQL error as "CODE: message" (for
 * example "OUT_OF_RANGE: int64 overflow: 9223372036854775807 + 1"); sp_sql_error() reads
 * that prefix back. The constraint triggers of spanner_schema use the same format through
 * sp_raise(). A SQLite error without the prefix is an emulator defect: logged, and answered
 * INTERNAL without SQLite's text.
 */
#ifndef SPANNER_SQL_FUNCTIONS_H
#define SPANNER_SQL_FUNCTIONS_H

#include "em_status.h"

#include <sqlite3.h>

/* Registers every sp_* function on db. */
int sp_sql_functions_register(sqlite3 *db);

/* The status for a failed sqlite3_step/prepare/exec (rc) on db. */
enum em_code sp_sql_error(sqlite3 *db, int rc, struct em_status *st);

#endif
