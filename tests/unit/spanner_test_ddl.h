/*
 * spanner_test_ddl: the DDL assertions the Spanner unit tests share (cmocka; include after
 * <cmocka.h>): a statement applied to a test database (spanner_test_db.h) succeeds, or
 * fails with exactly this "CODE: message".
 */
#ifndef SPANNER_TEST_DDL_H
#define SPANNER_TEST_DDL_H

#include "spanner_test_db.h"

static inline void sp_test_ddl_ok(struct sp_test_db *t, const char *statement)
{
    char *error = sp_test_ddl(t, statement);
    if (error)
        fprintf(stderr, "unexpected error for %s\n  %s\n", statement, error);
    assert_null(error);
}

static inline void sp_test_ddl_fails(struct sp_test_db *t, const char *statement,
                                     const char *expected)
{
    char *error = sp_test_ddl(t, statement);
    if (!error || strcmp(error, expected) != 0)
        fprintf(stderr, "for %s\n  expected: %s\n  got:      %s\n", statement, expected,
                error ? error : "success");
    assert_non_null(error);
    assert_string_equal(error, expected);
    free(error);
}

#endif
