/*
 * test_spanner_roles: fine-grained access control on a schema. The DDL (CREATE and DROP
 * ROLE, GRANT and REVOKE of privileges and of membership) with Spanner's checks, its getDdl
 * text and that replaying it gives the same schema; what other DDL meets (drops refused
 * while privileges name the object, a rename carried along); and what a statement run as a
 * role may do: the accesses the translator notes for queries, views (invoker's and
 * definer's rights) and DML, checked against the role, public and the roles it is a member
 * of; INFORMATION_SCHEMA as a role sees it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spanner/spanner_roles.h"
#include "spanner_test_ddl.h"

static struct sp_test_db db;

static const char *const base_ddl[] = {
    "CREATE TABLE Singers (SingerId INT64 NOT NULL, Name STRING(40), Salary INT64) "
    "PRIMARY KEY (SingerId)",
    "CREATE TABLE Albums (SingerId INT64 NOT NULL, AlbumId INT64 NOT NULL, Title STRING(40)) "
    "PRIMARY KEY (SingerId, AlbumId), INTERLEAVE IN PARENT Singers ON DELETE CASCADE",
    "CREATE VIEW SingerNames SQL SECURITY INVOKER AS SELECT Singers.SingerId, Singers.Name "
    "FROM Singers",
    "CREATE VIEW Payroll SQL SECURITY DEFINER AS SELECT Singers.Name, Singers.Salary FROM Singers",
    "CREATE CHANGE STREAM Changes FOR Singers",
    "CREATE ROLE reader",
    "CREATE ROLE clerk",
    "CREATE ROLE manager",
    "GRANT SELECT(SingerId, Name) ON TABLE Singers TO ROLE reader",
    "GRANT SELECT ON VIEW SingerNames, Payroll TO ROLE reader",
    "GRANT INSERT(SingerId, Name), UPDATE(Name), DELETE ON TABLE Singers TO ROLE clerk",
    "GRANT ROLE reader TO ROLE clerk",
    "GRANT ROLE clerk TO ROLE manager",
    "GRANT SELECT ON TABLE Albums TO ROLE public",
    "CREATE SEQUENCE TicketIds OPTIONS (sequence_kind = 'bit_reversed_positive')",
    "CREATE SEQUENCE Spare OPTIONS (sequence_kind = 'bit_reversed_positive')",
    "CREATE TABLE Tickets (Id INT64 NOT NULL DEFAULT (GET_NEXT_SEQUENCE_VALUE(SEQUENCE "
    "TicketIds)), Note STRING(MAX)) PRIMARY KEY (Id)",
    "GRANT INSERT ON TABLE Tickets TO ROLE clerk",
    NULL,
};

static int setup(void **state)
{
    (void)state;
    return sp_test_open(&db, base_ddl);
}

static int teardown(void **state)
{
    (void)state;
    sp_test_close(&db);
    return 0;
}

static void ddl_ok(const char *statement)
{
    sp_test_ddl_ok(&db, statement);
}

static void ddl_fails(const char *statement, const char *expected)
{
    sp_test_ddl_fails(&db, statement, expected);
}

/* The getDdl statements of the roles (those from the first CREATE ROLE on), joined with
 * "\n". */
static char *roles_ddl(const struct sp_schema *schema)
{
    int count;
    char **statements = sp_schema_statements(schema, &count);
    struct sp_buf buf = {0};
    bool roles = false;
    for (int i = 0; i < count; i++) {
        roles |= strncmp(statements[i], "CREATE ROLE", 11) == 0;
        if (roles)
            sp_buf_printf(&buf, "%s\n", statements[i]);
    }
    sp_strings_free(statements, count);
    return sp_buf_take(&buf);
}

static void test_getddl_prints_roles_and_grants(void **state)
{
    (void)state;
    char *text = roles_ddl(db.schema);
    assert_string_equal(text, "CREATE ROLE reader\n"
                              "CREATE ROLE clerk\n"
                              "CREATE ROLE manager\n"
                              "GRANT SELECT(SingerId, Name) ON TABLE Singers TO ROLE reader\n"
                              "GRANT SELECT ON VIEW SingerNames TO ROLE reader\n"
                              "GRANT SELECT ON VIEW Payroll TO ROLE reader\n"
                              "GRANT INSERT(SingerId, Name), UPDATE(Name) ON TABLE Singers TO "
                              "ROLE clerk\n"
                              "GRANT DELETE ON TABLE Singers TO ROLE clerk\n"
                              "GRANT SELECT ON TABLE Albums TO ROLE public\n"
                              "GRANT INSERT ON TABLE Tickets TO ROLE clerk\n"
                              "GRANT ROLE reader TO ROLE clerk\n"
                              "GRANT ROLE clerk TO ROLE manager\n");
    /* replayed (as a restart or a restore does), the same schema */
    int count;
    char **statements = sp_schema_statements(db.schema, &count);
    struct sp_test_db again;
    assert_int_equal(sp_test_open(&again, NULL), 0);
    for (int i = 0; i < count; i++) {
        char *error = sp_test_ddl(&again, statements[i]);
        if (error)
            fprintf(stderr, "replaying %s: %s\n", statements[i], error);
        assert_null(error);
    }
    char *replayed = roles_ddl(again.schema);
    assert_string_equal(replayed, text);
    free(replayed);
    free(text);
    sp_strings_free(statements, count);
    sp_test_close(&again);
}

static void test_views_print_their_security(void **state)
{
    (void)state;
    int count;
    char **statements = sp_schema_statements(db.schema, &count);
    bool definer = false, invoker = false;
    for (int i = 0; i < count; i++) {
        definer |= strcmp(statements[i], "CREATE VIEW Payroll SQL SECURITY DEFINER AS SELECT "
                                         "Singers.Name, Singers.Salary FROM Singers") == 0;
        invoker |= strncmp(statements[i], "CREATE VIEW SingerNames SQL SECURITY INVOKER", 44) == 0;
    }
    sp_strings_free(statements, count);
    assert_true(definer);
    assert_true(invoker);
}

static void test_ddl_checks(void **state)
{
    (void)state;
    ddl_fails("CREATE ROLE reader", "FAILED_PRECONDITION: Duplicate name in schema: reader.");
    ddl_fails("CREATE ROLE public",
              "INVALID_ARGUMENT: Role name public is reserved: public and names that start with "
              "spanner_ belong to Spanner's system roles.");
    ddl_fails("CREATE ROLE spanner_admin",
              "INVALID_ARGUMENT: Role name spanner_admin is reserved: public and names that "
              "start with spanner_ belong to Spanner's system roles.");
    ddl_fails("DROP ROLE nobody", "NOT_FOUND: Role not found: nobody.");
    ddl_fails("DROP ROLE public", "FAILED_PRECONDITION: Cannot drop system role public.");
    ddl_fails("DROP ROLE reader", "FAILED_PRECONDITION: Cannot drop role reader: it has "
                                  "privileges (SELECT on TABLE Singers). Revoke them first.");
    ddl_fails("GRANT SELECT ON TABLE Nope TO ROLE reader", "NOT_FOUND: Table not found: Nope");
    ddl_fails("GRANT SELECT(Nope) ON TABLE Singers TO ROLE reader",
              "NOT_FOUND: Column not found in table Singers: Nope");
    ddl_fails("GRANT SELECT ON TABLE Singers TO ROLE nobody", "NOT_FOUND: Role not found: nobody.");
    ddl_fails("GRANT INSERT ON VIEW SingerNames TO ROLE reader",
              "INVALID_ARGUMENT: Privilege INSERT cannot be granted on a view.");
    ddl_fails("GRANT SELECT(SingerId) ON VIEW SingerNames TO ROLE reader",
              "INVALID_ARGUMENT: Privilege SELECT takes no column list on a non-table object: "
              "only SELECT, INSERT and UPDATE on a table do.");
    ddl_fails("GRANT DELETE(Name) ON TABLE Singers TO ROLE clerk",
              "INVALID_ARGUMENT: Privilege DELETE takes no column list on a table: only SELECT, "
              "INSERT and UPDATE on a table do.");
    ddl_fails("GRANT EXECUTE ON TABLE Singers TO ROLE clerk",
              "INVALID_ARGUMENT: Privilege EXECUTE cannot be granted on a table.");
    ddl_fails("GRANT EXECUTE ON TABLE FUNCTION READ_Nope TO ROLE clerk",
              "NOT_FOUND: Table function not found: READ_Nope");
    ddl_fails("GRANT SELECT ON TABLE Singers TO ROLE spanner_info_reader",
              "INVALID_ARGUMENT: Privileges cannot be granted to or revoked from system role "
              "spanner_info_reader.");
    ddl_fails("GRANT ROLE public TO ROLE reader",
              "INVALID_ARGUMENT: Role public cannot be granted to a role: every role has its "
              "privileges.");
    ddl_fails("GRANT ROLE reader TO ROLE spanner_sys_reader",
              "INVALID_ARGUMENT: System role spanner_sys_reader cannot be a member of other "
              "roles.");
    ddl_fails("GRANT ROLE manager TO ROLE reader",
              "FAILED_PRECONDITION: Cannot grant role manager to role reader: manager is already "
              "a member of reader, and role membership cannot be circular.");
    ddl_fails("GRANT USAGE ON SCHEMA s TO ROLE reader", "NOT_FOUND: Schema not found: s");
    ddl_fails("GRANT USAGE ON TABLE Singers TO ROLE reader",
              "INVALID_ARGUMENT: Privilege USAGE cannot be granted on a table.");
    ddl_fails("GRANT REFERENCES ON TABLE Singers TO ROLE reader",
              "UNIMPLEMENTED: This privilege is not supported by this emulator [at 1:7]");
    /* a failed statement changed nothing: grants to several roles are all or nothing */
    char *before = roles_ddl(db.schema);
    ddl_fails("GRANT SELECT ON TABLE Singers TO ROLE reader, nobody",
              "NOT_FOUND: Role not found: nobody.");
    char *after = roles_ddl(db.schema);
    assert_string_equal(after, before);
    free(before);
    free(after);
    ddl_ok("GRANT ROLE spanner_info_reader TO ROLE manager");
    ddl_ok("GRANT SELECT ON TABLE Singers TO ROLE clerk"); /* twice is once */
    ddl_ok("GRANT SELECT ON TABLE Singers TO ROLE clerk");
    ddl_ok("REVOKE SELECT ON TABLE Singers FROM ROLE clerk");
    ddl_ok("REVOKE SELECT ON TABLE Singers FROM ROLE clerk"); /* not granted: nothing to do */
}

static void test_drops_wait_for_revokes(void **state)
{
    (void)state;
    ddl_fails("DROP TABLE Albums", "FAILED_PRECONDITION: Cannot drop table Albums: privilege "
                                   "SELECT on it is granted to role public. Revoke it first.");
    ddl_fails("ALTER TABLE Singers DROP COLUMN Name",
              "FAILED_PRECONDITION: Cannot drop column Singers.Name: privilege SELECT on it is "
              "granted to role reader. Revoke it first.");
    ddl_fails("DROP VIEW Payroll", "FAILED_PRECONDITION: Cannot drop view Payroll: privilege "
                                   "SELECT on it is granted to role reader. Revoke it first.");
    ddl_ok("GRANT SELECT ON CHANGE STREAM Changes TO ROLE reader");
    ddl_ok("GRANT EXECUTE ON TABLE FUNCTION READ_Changes TO ROLE reader");
    ddl_fails("DROP CHANGE STREAM Changes",
              "FAILED_PRECONDITION: Cannot drop change stream Changes: privilege SELECT on it is "
              "granted to role reader. Revoke it first.");
    ddl_ok("REVOKE SELECT ON CHANGE STREAM Changes FROM ROLE reader");
    ddl_fails("DROP CHANGE STREAM Changes",
              "FAILED_PRECONDITION: Cannot drop table function READ_Changes: privilege EXECUTE "
              "on it is granted to role reader. Revoke it first.");
    ddl_ok("REVOKE EXECUTE ON TABLE FUNCTION READ_Changes FROM ROLE reader");
    ddl_ok("DROP CHANGE STREAM Changes");
    /* a rename carries the privileges along */
    ddl_ok("ALTER TABLE Albums RENAME TO Records");
    assert_true(sp_role_sees(db.schema, "reader", SP_ON_TABLE, "Records", NULL));
    assert_false(sp_role_sees(db.schema, "reader", SP_ON_TABLE, "Albums", NULL));
    ddl_ok("REVOKE SELECT ON TABLE Records FROM ROLE public");
    ddl_ok("DROP TABLE Records");
    /* a role goes once nothing names it */
    ddl_ok("REVOKE ROLE clerk FROM ROLE manager");
    ddl_ok("DROP ROLE manager");
}

/* The outcome of running sql as role: "ok" or the error ("CODE: message"). */
static char *run_as(const char *role, const char *sql)
{
    struct em_status st = {0};
    struct sp_translation *tr;
    if (sp_translate(db.schema, sql, NULL, 0, &tr, &st))
        return sp_test_error(&st);
    enum em_code code = sp_role_check(db.schema, role, tr->accesses, tr->naccesses, &st);
    sp_translation_free(tr);
    return code ? sp_test_error(&st) : strdup("ok");
}

static void allowed(const char *role, const char *sql)
{
    char *out = run_as(role, sql);
    if (strcmp(out, "ok") != 0)
        fprintf(stderr, "%s: %s\n  expected ok, got %s\n", role, sql, out);
    assert_string_equal(out, "ok");
    free(out);
}

static void denied(const char *role, const char *sql, const char *expected)
{
    char *out = run_as(role, sql);
    if (strcmp(out, expected) != 0)
        fprintf(stderr, "%s: %s\n  expected %s\n  got      %s\n", role, sql, expected, out);
    assert_string_equal(out, expected);
    free(out);
}

static void test_queries_need_select(void **state)
{
    (void)state;
    allowed("reader", "SELECT Name FROM Singers WHERE SingerId = 1");
    allowed("reader", "SELECT s.Name FROM Singers AS s ORDER BY s.SingerId");
    allowed("reader", "SELECT COUNT(*) FROM Singers"); /* one column is enough for rows */
    denied("reader", "SELECT * FROM Singers",
           "PERMISSION_DENIED: Role reader does not have required privileges on column "
           "Singers.Salary.");
    denied("reader", "SELECT Name FROM Singers WHERE Salary > 10",
           "PERMISSION_DENIED: Role reader does not have required privileges on column "
           "Singers.Salary.");
    denied("reader", "SELECT SUM(Salary) FROM Singers",
           "PERMISSION_DENIED: Role reader does not have required privileges on column "
           "Singers.Salary.");
    denied("reader", "SELECT (SELECT MAX(Salary) FROM Singers) AS m",
           "PERMISSION_DENIED: Role reader does not have required privileges on column "
           "Singers.Salary.");
    /* Albums: public's privilege is every role's; SELECT on Singers does not reach it */
    allowed("reader", "SELECT a.Title, s.Name FROM Albums a JOIN Singers s USING (SingerId)");
    denied("nobody", "SELECT 1 FROM Albums",
           "PERMISSION_DENIED: Role nobody does not have required privileges on table Albums.");
    /* views: invoker's rights need the view and what it reads; definer's the view */
    allowed("reader", "SELECT * FROM SingerNames");
    allowed("reader", "SELECT Salary FROM Payroll");
    denied("clerk",
           "SELECT 1 FROM Payroll WHERE FALSE" /* member of reader: allowed */
           " UNION ALL SELECT Salary FROM Singers",
           "PERMISSION_DENIED: Role clerk does not have required privileges on column "
           "Singers.Salary.");
    ddl_ok("CREATE ROLE viewer");
    ddl_ok("GRANT SELECT ON VIEW SingerNames, Payroll TO ROLE viewer");
    denied("viewer", "SELECT Name FROM SingerNames",
           "PERMISSION_DENIED: Role viewer does not have required privileges on table Singers.");
    allowed("viewer", "SELECT Name FROM Payroll");
    denied("viewer", "SELECT Name FROM Singers",
           "PERMISSION_DENIED: Role viewer does not have required privileges on table Singers.");
    /* WITH queries and subqueries read their tables */
    denied("viewer", "WITH s AS (SELECT Name FROM Singers) SELECT * FROM s",
           "PERMISSION_DENIED: Role viewer does not have required privileges on table Singers.");
    allowed("viewer", "SELECT 1 + 1");
}

static void test_dml_needs_its_privileges(void **state)
{
    (void)state;
    allowed("clerk", "INSERT INTO Singers (SingerId, Name) VALUES (1, 'a')");
    denied("clerk", "INSERT INTO Singers (SingerId, Salary) VALUES (1, 2)",
           "PERMISSION_DENIED: Role clerk does not have required privileges on column "
           "Singers.Salary.");
    allowed("clerk", "INSERT OR UPDATE INTO Singers (SingerId, Name) VALUES (1, 'a')");
    denied("reader", "INSERT OR UPDATE INTO Singers (SingerId, Name) VALUES (1, 'a')",
           "PERMISSION_DENIED: Role reader does not have required privileges on column "
           "Singers.SingerId.");
    ddl_ok("CREATE ROLE adder");
    ddl_ok("GRANT INSERT ON TABLE Singers TO ROLE adder");
    allowed("adder", "INSERT INTO Singers (SingerId, Salary) VALUES (1, 2)");
    denied("adder", "INSERT OR UPDATE INTO Singers (SingerId, Salary) VALUES (1, 2)",
           "PERMISSION_DENIED: Role adder does not have required privileges on column "
           "Singers.Salary."); /* it may change a row that is there: UPDATE too */
    allowed("clerk", "UPDATE Singers SET Name = 'b' WHERE SingerId = 1");
    denied("clerk", "UPDATE Singers SET Salary = 1 WHERE SingerId = 1",
           "PERMISSION_DENIED: Role clerk does not have required privileges on column "
           "Singers.Salary.");
    denied("clerk", "UPDATE Singers SET Name = 'b' WHERE Salary = 1",
           "PERMISSION_DENIED: Role clerk does not have required privileges on column "
           "Singers.Salary.");
    allowed("clerk", "DELETE FROM Singers WHERE SingerId = 1");
    denied("reader", "DELETE FROM Singers WHERE SingerId = 1",
           "PERMISSION_DENIED: Role reader does not have required privileges on table Singers.");
    denied("clerk", "DELETE FROM Singers WHERE TRUE THEN RETURN Salary",
           "PERMISSION_DENIED: Role clerk does not have required privileges on column "
           "Singers.Salary.");
    allowed("clerk", "INSERT INTO Singers (SingerId, Name) SELECT AlbumId, Title FROM Albums "
                     "WHERE FALSE"); /* public may read Albums */
}

/* The rows of an INFORMATION_SCHEMA query run as role. */
static char *info_as(const char *role, const char *sql)
{
    struct em_status st = {0};
    struct sp_translation *tr;
    if (sp_translate_as(db.schema, sql, NULL, 0, false, 0, role, &tr, &st))
        return sp_test_error(&st);
    sqlite3_stmt *stmt;
    struct sp_buf out = {0};
    if (sqlite3_prepare_v2(db.db, tr->sql, -1, &stmt, NULL) == SQLITE_OK) {
        while (sqlite3_step(stmt) == SQLITE_ROW)
            sp_buf_printf(&out, "%s%s", out.len ? "," : "", sqlite3_column_text(stmt, 0));
        sqlite3_finalize(stmt);
    }
    sp_translation_free(tr);
    return out.data ? sp_buf_take(&out) : strdup("");
}

static void info_is(const char *role, const char *sql, const char *expected)
{
    char *out = info_as(role, sql);
    if (strcmp(out, expected) != 0)
        fprintf(stderr, "%s: %s\n  expected %s\n  got      %s\n", role ? role : "(none)", sql,
                expected, out);
    assert_string_equal(out, expected);
    free(out);
}

static void test_information_schema_as_a_role(void **state)
{
    (void)state;
    const char *tables = "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = '' "
                         "ORDER BY TABLE_NAME";
    info_is(NULL, tables, "Albums,Payroll,SingerNames,Singers,Tickets");
    info_is("clerk", tables, "Albums,Payroll,SingerNames,Singers,Tickets");
    ddl_ok("CREATE ROLE stranger");
    info_is("stranger", tables, "Albums"); /* public's */
    info_is("reader",
            "SELECT COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'Singers' "
            "ORDER BY ORDINAL_POSITION",
            "SingerId,Name");
    info_is("stranger", "SELECT ROLE_NAME FROM INFORMATION_SCHEMA.ROLES ORDER BY ROLE_NAME",
            "public,stranger");
    info_is(NULL, "SELECT ROLE_NAME FROM INFORMATION_SCHEMA.ROLES WHERE NOT IS_SYSTEM",
            "reader,clerk,manager,stranger");
    info_is(NULL,
            "SELECT GRANTEE || ':' || PRIVILEGE_TYPE || ':' || COLUMN_NAME FROM "
            "INFORMATION_SCHEMA.COLUMN_PRIVILEGES WHERE TABLE_NAME = 'Singers'",
            "reader:SELECT:SingerId,reader:SELECT:Name,clerk:INSERT:SingerId,"
            "clerk:INSERT:Name,clerk:UPDATE:Name");
    info_is("manager", "SELECT GRANTEE FROM INFORMATION_SCHEMA.ROLE_GRANTEES ORDER BY GRANTEE",
            "clerk,manager");
    /* spanner_info_reader's members see everything */
    ddl_ok("GRANT ROLE spanner_info_reader TO ROLE stranger");
    info_is("stranger", tables, "Albums,Payroll,SingerNames,Singers,Tickets");
}

static void test_sequences(void **state)
{
    (void)state;
    ddl_fails("GRANT INSERT ON SEQUENCE TicketIds TO ROLE clerk",
              "INVALID_ARGUMENT: Privilege INSERT cannot be granted on a sequence.");
    ddl_fails("GRANT UPDATE ON SEQUENCE Nope TO ROLE clerk", "NOT_FOUND: Sequence not found: Nope");
    /* a DEFAULT that draws needs the sequence too */
    denied("clerk", "INSERT INTO Tickets (Note) VALUES ('a')",
           "PERMISSION_DENIED: Role clerk does not have required privileges on sequence "
           "TicketIds.");
    allowed("clerk", "INSERT INTO Tickets (Id, Note) VALUES (1, 'a')");
    ddl_ok("GRANT SELECT ON SEQUENCE TicketIds TO ROLE clerk"); /* SELECT or UPDATE draws */
    allowed("clerk", "INSERT INTO Tickets (Note) VALUES ('a')");
    allowed("clerk", "SELECT GET_INTERNAL_SEQUENCE_STATE(SEQUENCE TicketIds)");
    ddl_ok("GRANT UPDATE ON SEQUENCE Spare TO ROLE clerk");
    denied("clerk", "SELECT GET_INTERNAL_SEQUENCE_STATE(SEQUENCE Spare)",
           "PERMISSION_DENIED: Role clerk does not have required privileges on sequence Spare.");
    allowed("clerk", "INSERT INTO Tickets (Id, Note) VALUES (GET_NEXT_SEQUENCE_VALUE(SEQUENCE "
                     "Spare), 'b')");
    ddl_fails("DROP SEQUENCE Spare", "FAILED_PRECONDITION: Cannot drop sequence Spare: privilege "
                                     "UPDATE on it is granted to role clerk. Revoke it first.");
    info_is("clerk", "SELECT NAME FROM INFORMATION_SCHEMA.SEQUENCES ORDER BY NAME",
            "Spare,TicketIds");
    info_is("reader", "SELECT NAME FROM INFORMATION_SCHEMA.SEQUENCES", "");
    /* the role's privileges, as the run as a role checks them */
    struct em_status st = {0};
    const struct sp_table *tickets = sp_schema_table(db.schema, "Tickets");
    assert_int_equal(sp_role_check_default(db.schema, "clerk", &tickets->columns[0], &st), EM_OK);
    assert_int_equal(sp_role_check_default(db.schema, "reader", &tickets->columns[0], &st),
                     EM_PERMISSION_DENIED);
    ddl_ok("REVOKE UPDATE ON SEQUENCE Spare FROM ROLE clerk");
    ddl_ok("DROP SEQUENCE Spare");
}

static void test_named_schemas_need_usage(void **state)
{
    (void)state;
    ddl_ok("CREATE SCHEMA hr");
    ddl_ok("CREATE TABLE hr.People (Id INT64 NOT NULL, Name STRING(MAX)) PRIMARY KEY (Id)");
    ddl_ok("GRANT SELECT ON TABLE hr.People TO ROLE reader");
    denied("reader", "SELECT Name FROM hr.People",
           "PERMISSION_DENIED: Role reader does not have required privileges on schema hr.");
    const char *tables =
        "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'hr'";
    info_is("reader", tables, "");
    ddl_ok("GRANT USAGE ON SCHEMA hr TO ROLE public");
    allowed("reader", "SELECT Name FROM hr.People");
    info_is("reader", tables, "People");
    allowed("clerk", "SELECT Name FROM hr.People"); /* clerk is a member of reader */
    ddl_fails("DROP SCHEMA hr", "FAILED_PRECONDITION: Cannot drop schema hr: privilege USAGE on "
                                "it is granted to role public. Revoke it first.");
    char *text = roles_ddl(db.schema);
    assert_non_null(strstr(text, "GRANT USAGE ON SCHEMA hr TO ROLE public\n"));
    assert_non_null(strstr(text, "GRANT SELECT ON TABLE hr.People TO ROLE reader\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_getddl_prints_roles_and_grants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_views_print_their_security, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ddl_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drops_wait_for_revokes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queries_need_select, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dml_needs_its_privileges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_information_schema_as_a_role, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_schemas_need_usage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
