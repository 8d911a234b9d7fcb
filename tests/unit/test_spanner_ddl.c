/*
 * test_spanner_ddl: Spanner DDL applied to a schema: the canonical getDdl text gcloud
 * parses, Spanner's validation errors (and that a failed statement changes nothing), and
 * the SQLite storage behaving as Spanner does: interleaving with CASCADE and NO ACTION,
 * foreign keys, CHECK constraints, NOT NULL, and ALTER TABLE on a table holding rows;
 * the row versions kept for reads at a past timestamp; sequences (CREATE, ALTER and DROP
 * SEQUENCE in both forms, Spanner's errors, and the bit-reversed values); generated
 * columns computed on write, DEFAULT as a written value, HIDDEN columns, and vector_length;
 * change streams (CREATE, ALTER and DROP, Spanner's checks and limits, getDdl replayed,
 * INFORMATION_SCHEMA, and reading one refused by name); renaming tables, table synonyms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "spanner_test_ddl.h"

static struct sp_test_db db;

static int setup(void **state)
{
    (void)state;
    return sp_test_open(&db, NULL);
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

static void sql_is(const char *sql, const char *expected)
{
    char *out = sp_test_run(&db, sql);
    if (!out || strcmp(out, expected) != 0)
        fprintf(stderr, "for %s\n  expected: %s\n  got:      %s\n", sql, expected,
                out ? out : "(null)");
    assert_non_null(out);
    assert_string_equal(out, expected);
    free(out);
}

/* The getDdl statements joined with "\n;\n". */
static char *ddl_text(void)
{
    int count;
    char **statements = sp_schema_statements(db.schema, &count);
    struct sp_buf buf = {0};
    for (int i = 0; i < count; i++)
        sp_buf_printf(&buf, "%s%s", i ? "\n;\n" : "", statements[i]);
    sp_strings_free(statements, count);
    return sp_buf_take(&buf);
}

static void test_canonical_print(void **state)
{
    (void)state;
    ddl_ok("create table Singers (SingerId int64 not null, Name string(max), "
           "Ts timestamp options (allow_commit_timestamp=true)) primary key (SingerId)");
    ddl_ok("CREATE TABLE Albums (\n  SingerId INT64 NOT NULL,\n  AlbumId INT64 NOT NULL,\n"
           "  Title STRING(1024) DEFAULT ('untitled'),\n  Tags ARRAY<STRING(10)>,\n"
           "  Price NUMERIC,\n  Upper STRING(MAX) AS (UPPER(Title)) STORED,\n"
           "  Lower STRING(MAX) AS (LOWER(Title)),\n"
           "  Created TIMESTAMP,\n  CONSTRAINT PositivePrice CHECK (Price > 0),\n"
           ") PRIMARY KEY (SingerId, AlbumId DESC),\n"
           "  INTERLEAVE IN PARENT Singers ON DELETE CASCADE,\n"
           "  ROW DELETION POLICY (OLDER_THAN(Created, INTERVAL 30 DAY));");
    ddl_ok("CREATE UNIQUE NULL_FILTERED INDEX AlbumsByTitle ON Albums(Title DESC) "
           "STORING (Price), INTERLEAVE IN Singers");
    ddl_ok("CREATE INDEX PricedAlbums ON Albums(Price) WHERE Price IS NOT NULL AND Created IS "
           "NOT NULL");
    ddl_ok("CREATE TABLE Venues (VenueId INT64 NOT NULL, SingerId INT64, "
           "CONSTRAINT FK_Singer FOREIGN KEY (SingerId) REFERENCES Singers (SingerId)) "
           "PRIMARY KEY (VenueId)");
    ddl_ok("CREATE VIEW Names SQL SECURITY INVOKER AS SELECT Singers.Name FROM Singers");
    char *text = ddl_text();
    assert_string_equal(
        text, "CREATE TABLE Singers (\n"
              "  SingerId INT64 NOT NULL,\n"
              "  Name STRING(MAX),\n"
              "  Ts TIMESTAMP OPTIONS (\n"
              "    allow_commit_timestamp = true\n"
              "  ),\n"
              ") PRIMARY KEY(SingerId)\n;\n"
              "CREATE TABLE Albums (\n"
              "  SingerId INT64 NOT NULL,\n"
              "  AlbumId INT64 NOT NULL,\n"
              "  Title STRING(1024) DEFAULT ('untitled'),\n"
              "  Tags ARRAY<STRING(10)>,\n"
              "  Price NUMERIC,\n"
              "  Upper STRING(MAX) AS (UPPER(Title)) STORED,\n"
              "  Lower STRING(MAX) AS (LOWER(Title)),\n"
              "  Created TIMESTAMP,\n"
              "  CONSTRAINT PositivePrice CHECK(Price > 0),\n"
              ") PRIMARY KEY(SingerId, AlbumId DESC),\n"
              "  INTERLEAVE IN PARENT Singers ON DELETE CASCADE,\n"
              "  ROW DELETION POLICY (OLDER_THAN(Created, INTERVAL 30 DAY))\n;\n"
              "CREATE UNIQUE NULL_FILTERED INDEX AlbumsByTitle ON Albums(Title "
              "DESC) STORING (Price), INTERLEAVE IN Singers\n;\n"
              "CREATE INDEX PricedAlbums ON Albums(Price) WHERE Price IS NOT NULL AND Created IS "
              "NOT NULL\n;\n"
              "CREATE TABLE Venues (\n"
              "  VenueId INT64 NOT NULL,\n"
              "  SingerId INT64,\n"
              "  CONSTRAINT FK_Singer FOREIGN KEY(SingerId) REFERENCES "
              "Singers(SingerId),\n"
              ") PRIMARY KEY(VenueId)\n;\n"
              "CREATE VIEW Names SQL SECURITY INVOKER AS SELECT Singers.Name FROM Singers");
    free(text);
    /* gcloud's regex: CREATE\s+TABLE\s+([\w.]+)\s+\(\s+ */
    sql_is("SELECT Name FROM Names", "[]");
}

/* A view made before views were read in strict name resolution mode, or an index storing a
 * column twice, is refused as a new statement but replayed as a stored one: a database an
 * older emulator made still opens. */
static void test_replay_of_stored_statements(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE Singers (SingerId INT64 NOT NULL, Name STRING(MAX)) PRIMARY KEY "
           "(SingerId)");
    static const char *const older[] = {
        "CREATE VIEW Names SQL SECURITY INVOKER AS SELECT Name FROM Singers",
        "CREATE INDEX SingersByName ON Singers(SingerId) STORING (Name, Name)",
    };
    for (size_t i = 0; i < sizeof(older) / sizeof(older[0]); i++) {
        struct em_status st = {0};
        struct sp_buf script = {0};
        assert_int_equal(sp_ddl_apply(db.schema, older[i], &script, &st), EM_INVALID_ARGUMENT);
        em_status_clear(&st);
        assert_int_equal(sp_ddl_replay(db.schema, older[i], &script, &st), EM_OK);
        sp_buf_free(&script);
    }
    sql_is("SELECT COUNT(*) FROM Names", "[[\"0\"]]");
    /* a new view may read the older one: only its own text is held to the strict rule */
    ddl_ok("CREATE VIEW NamesAgain SQL SECURITY INVOKER AS SELECT Names.Name FROM Names");
}

static void test_validation(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE Singers (SingerId INT64 NOT NULL, Name STRING(MAX), Info JSON) "
           "PRIMARY KEY (SingerId)");
    static const struct {
        const char *statement, *error;
    } cases[] = {
        {"CREATE TABLE Singers (a INT64) PRIMARY KEY (a)",
         "FAILED_PRECONDITION: Duplicate name in schema: Singers."},
        {"CREATE TABLE singers (a INT64) PRIMARY KEY (a)",
         "FAILED_PRECONDITION: Duplicate name in schema: singers."},
        {"CREATE TABLE T (a INT64, A STRING(MAX)) PRIMARY KEY (a)",
         "FAILED_PRECONDITION: Duplicate column name T.A."},
        {"CREATE TABLE T (a INT64) PRIMARY KEY (b)",
         "FAILED_PRECONDITION: Table T references nonexistent key column b."},
        {"CREATE TABLE T (a JSON) PRIMARY KEY (a)",
         "INVALID_ARGUMENT: Column T.a has type JSON, which cannot be part of a key."},
        {"CREATE TABLE T (a STRING) PRIMARY KEY (a)",
         "INVALID_ARGUMENT: Syntax error: Expected \"(\" but got \")\" [at 1:25]"},
        {"CREATE TABLE T (a INT64) PRIMARY KEY (a), INTERLEAVE IN PARENT Nope",
         "NOT_FOUND: Table not found: Nope"},
        {"CREATE TABLE T (a INT64) PRIMARY KEY (a), INTERLEAVE IN PARENT Singers",
         "FAILED_PRECONDITION: Table T does not reference parent key column SingerId."},
        {"CREATE TABLE T (SingerId STRING(MAX)) PRIMARY KEY (SingerId), INTERLEAVE IN PARENT "
         "Singers",
         "FAILED_PRECONDITION: Table T references parent key column SingerId with incorrect type "
         "STRING (should be INT64)."},
        {"CREATE TABLE T (a INT64, b STRING(MAX) DEFAULT (1)) PRIMARY KEY (a)",
         "INVALID_ARGUMENT: Expression of type INT64 cannot be the default value of column b of "
         "type STRING."},
        {"CREATE TABLE T (a INT64, b INT64 AS (nope + 1) STORED) PRIMARY KEY (a)",
         "INVALID_ARGUMENT: Unrecognized name: nope [at 1:1]"},
        {"CREATE TABLE T (a INT64, CHECK (a)) PRIMARY KEY (a)",
         "INVALID_ARGUMENT: Check constraint a must be a BOOL expression."},
        {"CREATE TABLE T (a INT64, CHECK (a > @p)) PRIMARY KEY (a)",
         "INVALID_ARGUMENT: Query parameters cannot be used in DDL [at 1:5]"},
        {"CREATE TABLE T (a INT64 OPTIONS (allow_commit_timestamp = true)) PRIMARY KEY (a)",
         "FAILED_PRECONDITION: Column a has invalid type INT64: allow_commit_timestamp is only "
         "allowed on TIMESTAMP columns."},
        {"CREATE TABLE T (a INT64, t INT64) PRIMARY KEY (a), ROW DELETION POLICY "
         "(OLDER_THAN(t, INTERVAL 1 DAY))",
         "INVALID_ARGUMENT: Row deletion policy column T.t must be of type TIMESTAMP."},
        {"CREATE TABLE T (a INT64, CONSTRAINT fk FOREIGN KEY (a) REFERENCES Singers (Name)) "
         "PRIMARY KEY (a)",
         "FAILED_PRECONDITION: The column types are different for column `a` of table `T` and "
         "column `Name` of table `Singers` in foreign key `fk`."},
        {"CREATE INDEX I ON Nope(a)", "NOT_FOUND: Table not found: Nope"},
        {"CREATE INDEX I ON Singers(Nope)",
         "INVALID_ARGUMENT: Index I specifies key column Nope which does not exist in the "
         "index's base table."},
        {"CREATE INDEX I ON Singers(Info)",
         "FAILED_PRECONDITION: Cannot reference JSON Info in the creation of index I."},
        {"CREATE INDEX I ON Singers(Name) STORING (SingerId)",
         "FAILED_PRECONDITION: Index I specifies stored column SingerId which is a key of table "
         "Singers."},
        {"DROP TABLE Nope", "NOT_FOUND: Table not found: Nope"},
        {"DROP INDEX Nope", "NOT_FOUND: Index not found: Nope"},
        {"ALTER TABLE Singers DROP COLUMN SingerId",
         "INVALID_ARGUMENT: Cannot drop key column SingerId from table Singers."},
        {"ALTER TABLE Singers ADD COLUMN Name INT64",
         "FAILED_PRECONDITION: Duplicate column name Singers.Name."},
        {"ALTER TABLE Singers ADD COLUMN Age INT64 NOT NULL",
         "UNIMPLEMENTED: Cannot add NOT NULL column Singers.Age to existing table "
         "Singers."},
        {"ALTER TABLE Singers ALTER COLUMN Name INT64",
         "INVALID_ARGUMENT: Cannot change type of column `Name` from `STRING` to `INT64`"},
        {"ALTER TABLE Singers ALTER COLUMN SingerId STRING(MAX)",
         "INVALID_ARGUMENT: Cannot change type of column `SingerId` from `INT64` to `STRING`"},
        {"CREATE SEARCH INDEX SingersByName ON Singers(Name)",
         "UNIMPLEMENTED: CREATE SEARCH is not supported by this emulator [at 1:8]"},
        {"ANALYZE Singers",
         "INVALID_ARGUMENT: Syntax error: Unexpected identifier Singers [at 1:9]"},
        {"ALTER DATABASE db1 SET OPTIONS (x = 1)", "INVALID_ARGUMENT: Option: x is unknown."},
        {"ALTER ROLE analyst",
         "INVALID_ARGUMENT: Syntax error: Unexpected identifier ROLE [at 1:7]"},
        {"ALTER INDEX I ADD STORED COLUMN Name", "NOT_FOUND: Index not found: I"},
        {"ALTER SEARCH INDEX I ADD STORED COLUMN Name",
         "UNIMPLEMENTED: This ALTER statement is not supported by this emulator [at 1:7]"},
        {"CREATE TABLE T (a INT64 PRIMARY KEY, b INT64 PRIMARY KEY)",
         "INVALID_ARGUMENT: Table T has more than one primary key: a column that says PRIMARY "
         "KEY is the whole key."},
        {"CREATE TABLE T (a INT64 PRIMARY KEY) PRIMARY KEY (a)",
         "INVALID_ARGUMENT: Table T has more than one primary key: a column that says PRIMARY "
         "KEY is the whole key."},
        {"ALTER TABLE Singers ADD COLUMN z INT64 PRIMARY KEY",
         "INVALID_ARGUMENT: Syntax error: Unexpected identifier PRIMARY [at 1:40]"},
        {"CREATE TABLE T (a INT64, s STRING(MAX) OPTIONS (allow_commit_timestamp = false)) "
         "PRIMARY KEY (a)",
         "FAILED_PRECONDITION: Column s has invalid type STRING: allow_commit_timestamp is only "
         "allowed on TIMESTAMP columns."},
        {"garbage", /* no Spanner DDL statement starts so: not a missing feature */
         "INVALID_ARGUMENT: Syntax error: Unexpected identifier garbage [at 1:1]"},
        {"CREATE TABLE T (a INT64) PRIMARY KEY (a) garbage",
         "INVALID_ARGUMENT: Syntax error: Unexpected identifier garbage [at 1:42]"},
        {"CREATE VIEW V AS SELECT 1",
         "INVALID_ARGUMENT: View V is missing the SQL SECURITY INVOKER or SQL SECURITY DEFINER "
         "clause."},
        {"CREATE VIEW V SQL SECURITY INVOKER AS SELECT Nope FROM Singers",
         "INVALID_ARGUMENT: Unrecognized name: Nope [at 1:8]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ddl_fails(cases[i].statement, cases[i].error);
    /* nothing of the failed statements stayed */
    char *text = ddl_text();
    assert_string_equal(text, "CREATE TABLE Singers (\n  SingerId INT64 NOT NULL,\n"
                              "  Name STRING(MAX),\n  Info JSON,\n) PRIMARY KEY(SingerId)");
    free(text);
    ddl_ok("CREATE INDEX SingersByName ON Singers(Name)");
    ddl_fails("DROP TABLE Singers",
              "FAILED_PRECONDITION: Cannot drop table Singers with indices: SingersByName.");
    ddl_fails("ALTER TABLE Singers DROP COLUMN Name",
              "FAILED_PRECONDITION: Cannot drop column Name from table Singers because it is used "
              "by index SingersByName.");
    ddl_ok("CREATE TABLE Albums (SingerId INT64 NOT NULL, AlbumId INT64 NOT NULL) "
           "PRIMARY KEY (SingerId, AlbumId), INTERLEAVE IN PARENT Singers ON DELETE NO ACTION");
    ddl_ok("DROP INDEX SingersByName");
    ddl_fails("DROP TABLE Singers",
              "FAILED_PRECONDITION: Cannot drop table Singers with interleaved tables: Albums.");
    ddl_ok("DROP TABLE Albums");
    ddl_ok("DROP TABLE Singers");
    ddl_ok("DROP TABLE IF EXISTS Singers");
    text = ddl_text();
    assert_string_equal(text, "");
    free(text);
}

#define NAME16  "Nnnnnnnnnnnnnnnn"
#define NAME128 NAME16 NAME16 NAME16 NAME16 NAME16 NAME16 NAME16 NAME16

/* Names are at most 128 characters. Before, a name of 300 made its table's trigger names
 * (truncated to 299 bytes) collide ("trigger already exists": INTERNAL), and two tables
 * sharing their first 299 characters shared trigger names: each DDL statement's drop of
 * the second's triggers dropped the first's (its ON DELETE NO ACTION check). */
/* ALTER DATABASE ... SET OPTIONS (version_retention_period): Spanner's range and units,
 * getDdl's first statement, NULL back to the default, the other options refused. */
static void test_database_options(void **state)
{
    (void)state;
    assert_int_equal(sp_schema_version_retention(db.schema), SP_DEFAULT_RETENTION_NS);
    ddl_ok("CREATE TABLE T (a INT64) PRIMARY KEY (a)");
    ddl_ok("ALTER DATABASE `my-db` SET OPTIONS (version_retention_period = '36h')");
    assert_int_equal(sp_schema_version_retention(db.schema), 36 * SP_DEFAULT_RETENTION_NS);
    char *text = ddl_text(); /* first, although it came second */
    assert_string_equal(text, "ALTER DATABASE `my-db` SET OPTIONS (\n"
                              "  version_retention_period = '36h'\n)\n;\n"
                              "CREATE TABLE T (\n  a INT64,\n) PRIMARY KEY(a)");
    free(text);
    static const struct {
        const char *period;
        int64_t hours;
    } valid[] = {{"'1h'", 1}, {"'7d'", 168}, {"'10080m'", 168}, {"'3600s'", 1}, {"'1d'", 24}};
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "ALTER DATABASE db1 SET OPTIONS (version_retention_period = %s)",
                 valid[i].period);
        ddl_ok(sql);
        assert_int_equal(sp_schema_version_retention(db.schema),
                         valid[i].hours * SP_DEFAULT_RETENTION_NS);
    }
    static const char *const too_short_or_long[] = {"'59m'", "'3599s'", "'8d'",  "'169h'",
                                                    "'0d'",  "'1H'",    "'h'",   "'1.5h'",
                                                    "'1 h'", "''",      "'-1h'", "'999999999d'"};
    for (size_t i = 0; i < sizeof(too_short_or_long) / sizeof(too_short_or_long[0]); i++) {
        char sql[128], error[512];
        snprintf(sql, sizeof(sql), "ALTER DATABASE db1 SET OPTIONS (version_retention_period = %s)",
                 too_short_or_long[i]);
        size_t len = strlen(too_short_or_long[i]);
        snprintf(error, sizeof(error),
                 "INVALID_ARGUMENT: Invalid version_retention_period: '%.*s'. It is a whole number "
                 "of seconds, minutes, hours or days ('86400s', '1440m', '24h', '1d') between 1 "
                 "hour and 7 days.",
                 (int)len - 2, too_short_or_long[i] + 1);
        ddl_fails(sql, error);
    }
    ddl_fails("ALTER DATABASE db1 SET OPTIONS (version_retention_period = 7)",
              "INVALID_ARGUMENT: Unexpected value for option: version_retention_period. Supported "
              "values are non-empty strings only.");
    ddl_fails("ALTER DATABASE db1 SET OPTIONS (optimizer_version = 5)",
              "UNIMPLEMENTED: The database option optimizer_version is not supported by this "
              "emulator [at 1:33]");
    ddl_fails("ALTER DATABASE `Bad.Name` SET OPTIONS (version_retention_period = '2h')",
              "INVALID_ARGUMENT: Invalid database ID Bad.Name in ALTER DATABASE: a database ID is "
              "a lowercase letter, then lowercase letters, digits, '_' and '-' (2 to 30 "
              "characters); write it in backquotes when it has a '-'.");
    ddl_fails("ALTER DATABASE db1 SET OPTIONS (version_retention_period = '2h'",
              "INVALID_ARGUMENT: Syntax error: Expected \")\" but got end of statement [at 1:64]");
    assert_int_equal(sp_schema_version_retention(db.schema), 24 * SP_DEFAULT_RETENTION_NS);
    ddl_ok("ALTER DATABASE db1 SET OPTIONS (version_retention_period = NULL)");
    assert_int_equal(sp_schema_version_retention(db.schema), SP_DEFAULT_RETENTION_NS);
    text = ddl_text();
    assert_null(strstr(text, "ALTER DATABASE"));
    free(text);
    char period[32];
    sp_retention_text(36 * SP_DEFAULT_RETENTION_NS, period);
    assert_string_equal(period, "36h");
    sp_retention_text(7 * 24 * SP_DEFAULT_RETENTION_NS, period);
    assert_string_equal(period, "7d");
    sp_retention_text(5400 * 1000000000LL, period);
    assert_string_equal(period, "90m");
    sp_retention_text(3601 * 1000000000LL, period);
    assert_string_equal(period, "3601s");
}

static void test_sequences(void **state)
{
    (void)state;
    /* counter n's value is n's 63 low bits reversed, as Spanner's emulator draws them */
    assert_int_equal(sp_sequence_value(1), 4611686018427387904LL);
    assert_int_equal(sp_sequence_value(2), 2305843009213693952LL);
    assert_int_equal(sp_sequence_value(3), 6917529027641081856LL);
    assert_int_equal(sp_sequence_value(5), 5764607523034234880LL);
    assert_int_equal(sp_sequence_value(INT64_MAX), INT64_MAX);
    assert_int_equal(sp_sequence_value(1LL << 62), 1);

    ddl_ok("CREATE SEQUENCE s OPTIONS (sequence_kind = 'bit_reversed_positive')");
    ddl_ok("CREATE SEQUENCE s2 OPTIONS (sequence_kind='bit_reversed_positive', skip_range_min=1, "
           "skip_range_max=1000, start_with_counter=5)");
    ddl_ok("CREATE SEQUENCE f BIT_REVERSED_POSITIVE SKIP RANGE -5, 1000 START COUNTER WITH 50");
    ddl_ok("CREATE TABLE T (id INT64 NOT NULL DEFAULT (GET_NEXT_SEQUENCE_VALUE(SEQUENCE s)), v "
           "STRING(10)) PRIMARY KEY (id)");
    ddl_ok("CREATE SEQUENCE IF NOT EXISTS s BIT_REVERSED_POSITIVE START COUNTER WITH 9");
    char *text = ddl_text(); /* sequences first, in the form they were written */
    assert_string_equal(
        text, "CREATE SEQUENCE s OPTIONS (\n  sequence_kind = 'bit_reversed_positive')\n;\n"
              "CREATE SEQUENCE s2 OPTIONS (\n  sequence_kind = 'bit_reversed_positive',\n"
              "  skip_range_min = 1,\n  skip_range_max = 1000,\n  start_with_counter = 5)\n;\n"
              "CREATE SEQUENCE f BIT_REVERSED_POSITIVE SKIP RANGE -5, 1000 START COUNTER WITH 50"
              "\n;\nCREATE TABLE T (\n  id INT64 NOT NULL DEFAULT "
              "(GET_NEXT_SEQUENCE_VALUE(SEQUENCE s)),\n  v STRING(10),\n) PRIMARY KEY(id)");
    free(text);

    ddl_ok("ALTER SEQUENCE s2 SET OPTIONS (skip_range_min = NULL, skip_range_max = NULL, "
           "start_with_counter = 100)");
    ddl_ok("ALTER SEQUENCE f NO SKIP RANGE RESTART COUNTER WITH 7");
    const struct sp_sequence *s2 = sp_schema_sequence(db.schema, "S2");
    assert_non_null(s2);
    assert_false(s2->has_skip);
    assert_int_equal(s2->start_with_counter, 100);
    assert_int_equal(sp_schema_sequence(db.schema, "f")->start_with_counter, 7);
    assert_false(sp_schema_sequence(db.schema, "f")->has_skip);

    ddl_fails("CREATE SEQUENCE a",
              "INVALID_ARGUMENT: The sequence does not have a valid sequence kind. Please specify "
              "the sequence kind explicitly or set the database option `default_sequence_kind`.");
    ddl_fails("CREATE SEQUENCE a OPTIONS (sequence_kind = 'foo')",
              "INVALID_ARGUMENT: Unsupported sequence kind: foo");
    ddl_fails("CREATE SEQUENCE a OPTIONS (sequence_kind = NULL)",
              "INVALID_ARGUMENT: The only supported sequence kind is `bit_reversed_positive`");
    ddl_fails("CREATE SEQUENCE a OPTIONS (sequence_kind = 'bit_reversed_positive', "
              "skip_range_min = 10)",
              "INVALID_ARGUMENT: `skip_range_min` and `skip_range_max` have to be set together");
    ddl_fails("CREATE SEQUENCE a BIT_REVERSED_POSITIVE SKIP RANGE 10, 5",
              "FAILED_PRECONDITION: `skip_range_min` has to be lesser than or equal to "
              "`skip_range_max`");
    ddl_fails("CREATE SEQUENCE a OPTIONS (sequence_kind = 'bit_reversed_positive', "
              "start_with_counter = 0)",
              "INVALID_ARGUMENT: `start_with_counter` has to be a positive INT64 number");
    ddl_fails("CREATE SEQUENCE a OPTIONS (sequence_kind = 'bit_reversed_positive', "
              "start_with_counter = 9223372036854775808)",
              "INVALID_ARGUMENT: Unexpected value for option: start_with_counter. It is an INT64.");
    ddl_fails("CREATE SEQUENCE a OPTIONS (sequence_kind = 'bit_reversed_positive', foo = 1)",
              "INVALID_ARGUMENT: Option: foo is unknown.");
    ddl_fails("CREATE SEQUENCE T OPTIONS (sequence_kind = 'bit_reversed_positive')",
              "FAILED_PRECONDITION: Duplicate name in schema: T.");
    ddl_fails("CREATE TABLE s (a INT64) PRIMARY KEY (a)",
              "FAILED_PRECONDITION: Duplicate name in schema: s.");
    ddl_fails("ALTER SEQUENCE nosuch SET OPTIONS (start_with_counter = 1)",
              "NOT_FOUND: Sequence not found: nosuch");
    ddl_fails("CREATE TABLE U (id INT64 DEFAULT (GET_NEXT_SEQUENCE_VALUE(SEQUENCE nosuch))) "
              "PRIMARY KEY (id)",
              "INVALID_ARGUMENT: Sequence not found: nosuch [at 1:34]");
    ddl_fails("CREATE TABLE U (id INT64, x INT64 AS (GET_NEXT_SEQUENCE_VALUE(SEQUENCE s)) STORED) "
              "PRIMARY KEY (id)",
              "INVALID_ARGUMENT: GET_NEXT_SEQUENCE_VALUE is only allowed in a column's DEFAULT, "
              "not in a generated column or a CHECK constraint of table U");
    ddl_fails("DROP SEQUENCE s",
              "FAILED_PRECONDITION: Cannot drop SEQUENCE `s` on which there is a dependent "
              "column: T.id.");
    ddl_fails("DROP SEQUENCE nosuch", "NOT_FOUND: Sequence not found: nosuch");
    ddl_ok("DROP SEQUENCE IF EXISTS nosuch");
    ddl_ok("DROP SEQUENCE s2");
    assert_null(sp_schema_sequence(db.schema, "s2"));
    ddl_ok("DROP TABLE T");
    ddl_ok("DROP SEQUENCE s");
    text = ddl_text();
    assert_string_equal(text, "CREATE SEQUENCE f BIT_REVERSED_POSITIVE START COUNTER WITH 7");
    free(text);
}

/* getDdl's statements applied to an empty schema give the same statements (what a restart
 * does). */
static void assert_ddl_replays(void)
{
    int count, again_count;
    char **statements = sp_schema_statements(db.schema, &count);
    struct sp_schema *fresh = sp_schema_new();
    struct sp_buf ignored = {0};
    struct em_status st = {0};
    for (int i = 0; i < count; i++) {
        if (sp_ddl_apply(fresh, statements[i], &ignored, &st))
            fprintf(stderr, "replay of %s: %s\n", statements[i], st.message);
        assert_int_equal(st.code, EM_OK);
    }
    char **again = sp_schema_statements(fresh, &again_count);
    assert_int_equal(again_count, count);
    for (int i = 0; i < count; i++)
        assert_string_equal(again[i], statements[i]);
    sp_strings_free(again, again_count);
    sp_strings_free(statements, count);
    sp_buf_free(&ignored);
    sp_schema_free(fresh);
}

/* Change streams: what Google's emulator accepts and refuses, with its messages (checked
 * side by side with it), and getDdl in its form. */
static void test_change_streams(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE T (K INT64 NOT NULL, A STRING(MAX), B INT64) PRIMARY KEY (K)");
    ddl_ok("CREATE TABLE U (K INT64 NOT NULL, C STRING(MAX)) PRIMARY KEY (K)");
    ddl_ok("CREATE CHANGE STREAM S0");
    ddl_ok("create change stream S1 for all");
    ddl_ok("CREATE CHANGE STREAM S2 FOR t(a), U OPTIONS (value_capture_type = 'NEW_VALUES', "
           "retention_period = '36h')");
    ddl_ok("CREATE CHANGE STREAM S3 FOR T() OPTIONS (exclude_insert = true, "
           "exclude_ttl_deletes = false, allow_txn_exclusion = NULL)");
    /* the schema's spelling of names; options in the order they were set; streams last */
    ddl_ok("CREATE TABLE Later (K INT64) PRIMARY KEY (K)");
    char *text = ddl_text();
    assert_non_null(strstr(
        text, "PRIMARY KEY(K)\n;\nCREATE CHANGE STREAM S0\n;\nCREATE CHANGE STREAM S1 FOR ALL\n;\n"
              "CREATE CHANGE STREAM S2 FOR T(A), U OPTIONS ( value_capture_type = 'NEW_VALUES', "
              "retention_period = '36h' )\n;\nCREATE CHANGE STREAM S3 FOR T() OPTIONS ( "
              "exclude_insert = true, exclude_ttl_deletes = false )"));
    free(text);

    ddl_fails("CREATE CHANGE STREAM S4 FOR Nope",
              "FAILED_PRECONDITION: Change Stream S4 cannot track Nope because either Change "
              "Streams do not track database objects of this type, or this Table does not exist.");
    ddl_fails("CREATE CHANGE STREAM S4 FOR T(Nope)",
              "FAILED_PRECONDITION: Change Stream S4 cannot track column Nope because it does not "
              "exist in Table T.");
    ddl_fails("CREATE CHANGE STREAM S4 FOR T(K)",
              "FAILED_PRECONDITION: The FOR clause of Change Stream S4 should not list the primary "
              "key column K of Table T. Please list non-key columns only, because primary key "
              "columns are always tracked if the table is tracked.");
    ddl_fails("CREATE CHANGE STREAM S4 FOR T, t",
              "FAILED_PRECONDITION: Change Stream S4 should not list Table T more than once in "
              "the FOR clause.");
    ddl_fails("CREATE CHANGE STREAM S4 FOR T(A, a)",
              "FAILED_PRECONDITION: Change Stream S4 should not list Column A of Table T more "
              "than once in the FOR clause.");
    ddl_fails("CREATE CHANGE STREAM s1 FOR ALL",
              "FAILED_PRECONDITION: Duplicate name in schema: s1.");
    ddl_fails("CREATE TABLE S1 (K INT64) PRIMARY KEY (K)",
              "FAILED_PRECONDITION: Duplicate name in schema: S1.");
    ddl_fails("CREATE CHANGE STREAM S4 OPTIONS (retention_period = '8d')",
              "FAILED_PRECONDITION: Invalid retention_period: 8d. Change Streams retention period "
              "must be a value in the range [24h, 7d].");
    ddl_fails("CREATE CHANGE STREAM S4 OPTIONS (retention_period = '1439m')",
              "FAILED_PRECONDITION: Invalid retention_period: 1439m. Change Streams retention "
              "period must be a value in the range [24h, 7d].");
    ddl_fails("CREATE CHANGE STREAM S4 OPTIONS (retention_period = '99999999999d')",
              "FAILED_PRECONDITION: Invalid time duration format: 99999999999d.");
    ddl_fails("CREATE CHANGE STREAM S4 OPTIONS (value_capture_type = 'new_row')",
              "FAILED_PRECONDITION: Invalid value_capture_type: new_row. Change Streams only "
              "support value capture types in OLD_AND_NEW_VALUES, NEW_ROW, NEW_VALUES, and "
              "NEW_ROW_AND_OLD_VALUES.");
    ddl_fails("CREATE CHANGE STREAM S4 OPTIONS (foo = 'x')",
              "INVALID_ARGUMENT: Option: foo is unknown.");
    ddl_fails("CREATE CHANGE STREAM S4 OPTIONS (retention_period = 5)",
              "INVALID_ARGUMENT: Unexpected value for option: retention_period. Supported option "
              "values are strings and NULL.");
    ddl_fails("CREATE CHANGE STREAM S4 OPTIONS (exclude_delete = 'true')",
              "INVALID_ARGUMENT: Unexpected value for option: exclude_delete. Supported option "
              "values are booleans and NULL.");
    ddl_fails("CREATE CHANGE STREAM S4 OPTIONS (retention_period = '1d', retention_period = '2d')",
              "INVALID_ARGUMENT: Duplicate option: retention_period");
    ddl_fails("CREATE CHANGE STREAM S4 FOR ALL, T",
              "INVALID_ARGUMENT: Syntax error: Unexpected \",\" [at 1:32]");

    /* what a change stream lists cannot be dropped; FOR ALL and a whole table do not count */
    ddl_fails(
        "DROP TABLE U",
        "FAILED_PRECONDITION: Cannot drop table U. Table U is tracked by 1 Change Stream: S2. "
        "Tables explicitly tracked by a Change Stream cannot be dropped. Please drop the "
        "Change Stream or modify its FOR clause to stop tracking the table explicitly "
        "before dropping the table.");
    ddl_fails("ALTER TABLE T DROP COLUMN A",
              "FAILED_PRECONDITION: Cannot drop column T.A . Column T.A is tracked by 1 Change "
              "Stream: S2. Columns explicitly tracked by a Change Stream cannot be dropped. Please "
              "alter the Change Stream to stop tracking the column before dropping the column.");
    ddl_ok("ALTER TABLE U DROP COLUMN C");
    ddl_ok("ALTER TABLE T DROP COLUMN B");
    ddl_ok("DROP TABLE Later");

    /* at most 3 streams on a table, a non-key column, or ALL; 10 in a database */
    ddl_ok("CREATE CHANGE STREAM S5 FOR T(A)");
    ddl_fails("CREATE CHANGE STREAM S6 FOR T(A)",
              "FAILED_PRECONDITION: Failed to create or alter Change Stream S6 : because it is not "
              "allowed to have more than 3 Change Streams tracking the same table or non-key "
              "column or ALL: A.");
    ddl_ok("CREATE CHANGE STREAM S6 FOR U");
    ddl_fails("CREATE CHANGE STREAM S7 FOR U",
              "FAILED_PRECONDITION: Failed to create or alter Change Stream S7 : because it is not "
              "allowed to have more than 3 Change Streams tracking the same table or non-key "
              "column or ALL: U.");
    ddl_fails("ALTER CHANGE STREAM S0 SET FOR U",
              "FAILED_PRECONDITION: Failed to create or alter Change Stream S0 : because it is not "
              "allowed to have more than 3 Change Streams tracking the same table or non-key "
              "column or ALL: U.");
    for (int i = 7; i <= 11; i++) { /* S4 was refused: S11 is the eleventh */
        char statement[64];
        snprintf(statement, sizeof(statement), "CREATE CHANGE STREAM S%d", i);
        if (i < 11)
            ddl_ok(statement);
        else
            ddl_fails(statement, "FAILED_PRECONDITION: Cannot add Change Stream S11 : because the "
                                 "maximum number of Change Streams per Database (limit 10) has "
                                 "been reached.");
    }

    /* ALTER: SET FOR replaces, DROP FOR ALL stops tracking, SET OPTIONS merges (NULL unsets) */
    ddl_ok("ALTER CHANGE STREAM S3 SET FOR U()");
    ddl_ok("ALTER CHANGE STREAM S1 DROP FOR ALL");
    ddl_ok("ALTER CHANGE STREAM S2 SET OPTIONS (retention_period = NULL, exclude_update = true)");
    ddl_ok("ALTER CHANGE STREAM S2 SET OPTIONS (retention_period = '7d')");
    ddl_fails("ALTER CHANGE STREAM S2 SET OPTIONS (retention_period = '1h')",
              "FAILED_PRECONDITION: Invalid retention_period: 1h. Change Streams retention period "
              "must be a value in the range [24h, 7d].");
    ddl_fails("ALTER CHANGE STREAM Nope SET FOR ALL", "NOT_FOUND: Change Stream not found: Nope");
    ddl_fails("DROP CHANGE STREAM Nope", "NOT_FOUND: Change Stream not found: Nope");
    text = ddl_text();
    assert_non_null(strstr(text, "CREATE CHANGE STREAM S1\n;\nCREATE CHANGE STREAM S2 FOR T(A), U "
                                 "OPTIONS ( value_capture_type = 'NEW_VALUES', exclude_update = "
                                 "true, retention_period = '7d' )\n;\nCREATE CHANGE STREAM S3 FOR "
                                 "U() OPTIONS ( exclude_insert = true, exclude_ttl_deletes = false "
                                 ")\n;\nCREATE CHANGE STREAM S5 FOR T(A)"));
    free(text);
    assert_ddl_replays();

    sql_is("SELECT CHANGE_STREAM_NAME, `ALL` FROM INFORMATION_SCHEMA.CHANGE_STREAMS "
           "WHERE CHANGE_STREAM_NAME IN ('S0', 'S1', 'S2', 'S3') ORDER BY 1",
           "[[\"S0\",false],[\"S1\",false],[\"S2\",false],[\"S3\",false]]");
    sql_is("SELECT CHANGE_STREAM_NAME, TABLE_NAME, ALL_COLUMNS FROM "
           "INFORMATION_SCHEMA.CHANGE_STREAM_TABLES ORDER BY 1, 2",
           "[[\"S2\",\"T\",false],[\"S2\",\"U\",true],[\"S3\",\"U\",false],"
           "[\"S5\",\"T\",false],[\"S6\",\"U\",true]]");
    sql_is("SELECT CHANGE_STREAM_NAME, TABLE_NAME, COLUMN_NAME FROM "
           "INFORMATION_SCHEMA.CHANGE_STREAM_COLUMNS ORDER BY 1",
           "[[\"S2\",\"T\",\"A\"],[\"S5\",\"T\",\"A\"]]");
    sql_is("SELECT OPTION_NAME, OPTION_TYPE, OPTION_VALUE FROM "
           "INFORMATION_SCHEMA.CHANGE_STREAM_OPTIONS WHERE CHANGE_STREAM_NAME = 'S2' ORDER BY 1",
           "[[\"exclude_update\",\"BOOL\",\"TRUE\"],[\"retention_period\",\"STRING\","
           "\"7d\"],[\"value_capture_type\",\"STRING\",\"NEW_VALUES\"]]");
    sql_is("SELECT COUNT(*) FROM READ_S2(start_timestamp => CURRENT_TIMESTAMP())",
           "INVALID_ARGUMENT: A change stream is read only by SELECT ChangeRecord FROM "
           "READ_S2(...) on its own, with executeStreamingSql [at 1:22]");

    ddl_ok("DROP CHANGE STREAM S2");
    ddl_fails("ALTER TABLE T DROP COLUMN A", /* S5 lists it still */
              "FAILED_PRECONDITION: Cannot drop column T.A . Column T.A is tracked by 1 Change "
              "Stream: S5. Columns explicitly tracked by a Change Stream cannot be dropped. Please "
              "alter the Change Stream to stop tracking the column before dropping the column.");
    ddl_ok("ALTER CHANGE STREAM S5 SET FOR T");
    ddl_ok("ALTER TABLE T DROP COLUMN A");
}

/* Renaming tables: ALTER TABLE ... RENAME TO and RENAME TABLE (pairs in order, so a swap
 * goes through a third name); every reference follows, the rows and the constraints on
 * them too; a view that uses the table refuses it. */
static void test_rename_tables(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE T (K INT64 NOT NULL, A STRING(MAX)) PRIMARY KEY (K)");
    ddl_ok("CREATE INDEX IA ON T(A)");
    ddl_ok("CREATE TABLE C (K INT64 NOT NULL, X INT64 NOT NULL) PRIMARY KEY (K, X), "
           "INTERLEAVE IN PARENT T ON DELETE CASCADE");
    ddl_ok("CREATE TABLE F (Id INT64, TK INT64, CONSTRAINT FK_T FOREIGN KEY (TK) REFERENCES T (K)) "
           "PRIMARY KEY (Id)");
    ddl_ok("CREATE CHANGE STREAM CS FOR T(A)");
    sql_is("INSERT INTO T (K, A) VALUES (1, 'one'), (2, 'two')", "modified 2");
    sql_is("INSERT INTO C (K, X) VALUES (1, 10), (2, 20)", "modified 2");
    sql_is("INSERT INTO F (Id, TK) VALUES (1, 1)", "modified 1");

    ddl_ok("CREATE VIEW VT SQL SECURITY INVOKER AS SELECT T.K FROM T");
    ddl_fails("ALTER TABLE T RENAME TO T2",
              "FAILED_PRECONDITION: Cannot rename table T: view VT uses it. Drop the view, rename "
              "the table, then create the view again.");
    ddl_ok("DROP VIEW VT");
    ddl_fails("ALTER TABLE T RENAME TO t", "FAILED_PRECONDITION: Duplicate name in schema: t.");
    ddl_fails("ALTER TABLE T RENAME TO CS", "FAILED_PRECONDITION: Duplicate name in schema: CS.");
    ddl_fails("ALTER TABLE Nope RENAME TO N2", "NOT_FOUND: Table not found: Nope");
    ddl_fails("ALTER TABLE C RENAME TO X",
              "FAILED_PRECONDITION: Cannot rename table C to X: an interleaved table cannot take "
              "the name of one of its columns.");
    ddl_fails("RENAME TABLE T TO F", "FAILED_PRECONDITION: Duplicate name in schema: F.");
    ddl_fails("RENAME TABLE T TO T2 F TO T",
              "INVALID_ARGUMENT: Syntax error: Unexpected identifier "
              "F [at 1:22]");

    ddl_ok("ALTER TABLE T RENAME TO T2");
    ddl_ok("RENAME TABLE F TO Tmp, C TO F, Tmp TO C"); /* a swap of C and F */
    char *text = ddl_text();
    assert_string_equal(text, "CREATE TABLE T2 (\n  K INT64 NOT NULL,\n  A STRING(MAX),\n) PRIMARY "
                              "KEY(K)\n;\nCREATE INDEX IA ON T2(A)\n;\nCREATE TABLE F (\n  K INT64 "
                              "NOT NULL,\n  X INT64 NOT NULL,\n) PRIMARY KEY(K, X),\n  INTERLEAVE "
                              "IN PARENT T2 ON DELETE CASCADE\n;\nCREATE TABLE C (\n  Id INT64,\n  "
                              "TK INT64,\n  CONSTRAINT FK_T FOREIGN KEY(TK) REFERENCES T2(K),\n) "
                              "PRIMARY KEY(Id)\n;\nCREATE CHANGE STREAM CS FOR T2(A)");
    free(text);
    assert_ddl_replays();

    /* the rows came along, and the rules on them hold under the new names */
    sql_is("SELECT K, A FROM T2@{FORCE_INDEX=IA} WHERE A = 'two'", "[[\"2\",\"two\"]]");
    sql_is("SELECT COUNT(*) FROM F", "[[\"2\"]]");
    sql_is("DELETE FROM C WHERE TRUE", "modified 1");
    sql_is("DELETE FROM T2 WHERE K = 2", "modified 1");
    sql_is("SELECT K, X FROM F", "[[\"1\",\"10\"]]"); /* ON DELETE CASCADE */
    sql_is("INSERT INTO C (Id, TK) VALUES (9, 99)",
           "FAILED_PRECONDITION: Foreign key constraint `FK_T` is violated on table `C`. Cannot "
           "find referenced values in T2.");
    sql_is("INSERT INTO F (K, X) VALUES (7, 70)",
           "NOT_FOUND: Parent row for a row in table F is missing. Row cannot be written.");
    sql_is("SELECT * FROM T", "INVALID_ARGUMENT: Table not found: T [at 1:15]");
    ddl_fails("ALTER TABLE T2 DROP COLUMN A",
              "FAILED_PRECONDITION: Cannot drop column A from table T2 because it is used by index "
              "IA.");
    ddl_ok("CREATE TABLE T (K INT64 NOT NULL) PRIMARY KEY (K)"); /* the old name is free */
    sql_is("INSERT INTO T (K) VALUES (1)", "modified 1");
    ddl_ok("ANALYZE"); /* SQLite's statistics gathered: its planner's, as Spanner's package */
    sqlite3_stmt *stats = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db.db, "SELECT COUNT(*) FROM sqlite_stat1", -1, &stats, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stats), SQLITE_ROW);
    assert_true(sqlite3_column_int(stats, 0) > 0);
    sqlite3_finalize(stats);
}

/* Named schemas: objects named sch.x, checked, printed after the options, dropped only
 * empty. */
static void test_named_schemas(void **state)
{
    (void)state;
    ddl_fails("CREATE TABLE nope.T (Id INT64) PRIMARY KEY (Id)",
              "NOT_FOUND: Schema not found: nope");
    ddl_ok("CREATE SCHEMA sch");
    ddl_fails("CREATE SCHEMA SCH", "FAILED_PRECONDITION: Duplicate name in schema: SCH.");
    ddl_fails("CREATE SCHEMA INFORMATION_SCHEMA",
              "INVALID_ARGUMENT: Schema name not valid: INFORMATION_SCHEMA.");
    ddl_ok("CREATE TABLE T (Id INT64, V STRING(MAX)) PRIMARY KEY (Id)");
    ddl_ok("CREATE TABLE sch.T (Id INT64, V STRING(MAX)) PRIMARY KEY (Id)");
    ddl_fails("CREATE INDEX sch.I ON T(V)",
              "FAILED_PRECONDITION: Index sch.I does not match the schema of the indexed table T.");
    ddl_ok("CREATE INDEX sch.I ON sch.T(V)");
    ddl_ok(
        "CREATE TABLE sch.C (Id INT64, N INT64) PRIMARY KEY (Id, N), INTERLEAVE IN PARENT sch.T");
    ddl_ok("CREATE VIEW sch.V SQL SECURITY INVOKER AS SELECT T.Id FROM sch.T");
    ddl_fails("CREATE TABLE a.b.c (Id INT64) PRIMARY KEY (Id)", "NOT_FOUND: Schema not found: a.b");
    ddl_ok("ALTER TABLE sch.T ADD COLUMN W INT64");
    sql_is("INSERT INTO sch.T (Id, V, W) VALUES (1, 'a', 2)", "modified 1");
    sql_is("SELECT T.V, W FROM sch.T", "[[\"a\",\"2\"]]");
    sql_is("SELECT COUNT(*) FROM T", "[[\"0\"]]");
    ddl_fails("DROP SCHEMA sch",
              "FAILED_PRECONDITION: Cannot drop schema sch while it has dependencies.\nDependent "
              "tables:sch.T, sch.C\nDependent views:sch.V\nDependent indexes:sch.I");
    ddl_fails("DROP SCHEMA nope", "NOT_FOUND: Schema not found: nope");
    char *text = ddl_text();
    assert_non_null(strstr(text, "CREATE SCHEMA sch\n;\nCREATE TABLE T ("));
    assert_non_null(strstr(text, "CREATE TABLE sch.C (\n  Id INT64,\n  N INT64,\n) PRIMARY "
                                 "KEY(Id, N),\n  INTERLEAVE IN PARENT sch.T ON DELETE NO ACTION"));
    assert_non_null(strstr(text, "CREATE INDEX sch.I ON sch.T(V)"));
    free(text);
    ddl_ok("DROP VIEW sch.V");
    ddl_ok("DROP INDEX sch.I");
    ddl_ok("DROP TABLE sch.C");
    ddl_ok("DROP TABLE sch.T");
    ddl_ok("DROP SCHEMA sch");
    ddl_fails("CREATE TABLE sch.T (Id INT64) PRIMARY KEY (Id)", "NOT_FOUND: Schema not found: sch");
}

/* Table synonyms: one per table, in CREATE TABLE, ADD and DROP SYNONYM, and RENAME TO ...,
 * ADD SYNONYM; queries and DML may name the table by it, DDL may not. */
static void test_table_synonyms(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE Singers (Id INT64 NOT NULL, Name STRING(MAX), SYNONYM(Artists)) "
           "PRIMARY KEY (Id)");
    ddl_fails("CREATE TABLE Artists (Id INT64) PRIMARY KEY (Id)",
              "FAILED_PRECONDITION: Duplicate name in schema: Artists.");
    ddl_fails("CREATE TABLE X (Id INT64, SYNONYM(Singers)) PRIMARY KEY (Id)",
              "FAILED_PRECONDITION: Duplicate name in schema: Singers.");
    ddl_fails("CREATE TABLE X (Id INT64, SYNONYM(A), SYNONYM(B)) PRIMARY KEY (Id)",
              "FAILED_PRECONDITION: Table X can have only one synonym.");
    ddl_fails("ALTER TABLE Singers ADD SYNONYM Other",
              "INVALID_ARGUMENT: Cannot add a synonym to table Singers because the table already "
              "has a synonym Artists.");
    ddl_fails("ALTER TABLE Singers DROP SYNONYM Other",
              "INVALID_ARGUMENT: SYNONYM Other does not exist on table Singers.");
    ddl_fails("ALTER TABLE Artists ADD COLUMN X INT64", "NOT_FOUND: Table not found: Artists");
    sql_is("INSERT INTO Artists (Id, Name) VALUES (1, 'ann'), (2, 'bo')", "modified 2");
    sql_is("UPDATE Artists SET Name = 'bob' WHERE Artists.Id = 2 THEN RETURN Artists.Name",
           "modified 1 [[\"bob\"]]");
    sql_is("SELECT a.Id, Singers.Name FROM Artists a JOIN Singers USING (Id) ORDER BY 1",
           "[[\"1\",\"ann\"],[\"2\",\"bob\"]]");
    sql_is("SELECT SYNONYM_TABLE_NAME, TABLE_NAME FROM INFORMATION_SCHEMA.TABLE_SYNONYMS",
           "[[\"Artists\",\"Singers\"]]");

    ddl_ok("ALTER TABLE Singers DROP SYNONYM artists");
    sql_is("SELECT * FROM Artists", "INVALID_ARGUMENT: Table not found: Artists [at 1:15]");
    ddl_ok("ALTER TABLE Singers RENAME TO Performers, ADD SYNONYM Singers");
    char *text = ddl_text();
    assert_string_equal(text, "CREATE TABLE Performers (\n  Id INT64 NOT NULL,\n  Name "
                              "STRING(MAX),\n  SYNONYM(Singers),\n) PRIMARY KEY(Id)");
    free(text);
    assert_ddl_replays();
    sql_is("SELECT COUNT(*) FROM Singers", "[[\"2\"]]");
    ddl_fails("RENAME TABLE Performers TO Singers",
              "FAILED_PRECONDITION: Duplicate name in schema: Singers.");
    ddl_fails("ALTER TABLE Performers RENAME TO P2, ADD SYNONYM X",
              "INVALID_ARGUMENT: Cannot add a synonym to table P2 because the table already has a "
              "synonym Singers.");
    ddl_ok("ALTER TABLE Performers DROP SYNONYM Singers");
    ddl_ok("RENAME TABLE Performers TO Singers");
    sql_is("SELECT COUNT(*) FROM Singers", "[[\"2\"]]");
}

/* Identity columns: a column's own sequence, and the database's default_sequence_kind. */
static void test_identity_columns(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE A (Id INT64 NOT NULL GENERATED BY DEFAULT AS IDENTITY "
           "(BIT_REVERSED_POSITIVE SKIP RANGE 1, 100 START COUNTER WITH 10), V STRING(10)) PRIMARY "
           "KEY (Id)");
    ddl_fails("CREATE TABLE B (Id INT64 GENERATED BY DEFAULT AS IDENTITY) PRIMARY KEY (Id)",
              "INVALID_ARGUMENT: The sequence kind of an identity column Id is not specified. "
              "Please specify the sequence kind explicitly or set the database option "
              "`default_sequence_kind`.");
    ddl_fails("CREATE TABLE B (Id STRING(MAX) GENERATED BY DEFAULT AS IDENTITY "
              "(BIT_REVERSED_POSITIVE)) PRIMARY KEY (Id)",
              "INVALID_ARGUMENT: Identity column Id must be of type INT64, not STRING.");
    ddl_fails("CREATE TABLE B (Id INT64 DEFAULT (1) GENERATED BY DEFAULT AS IDENTITY "
              "(BIT_REVERSED_POSITIVE)) PRIMARY KEY (Id)",
              "INVALID_ARGUMENT: Column Id cannot have both a DEFAULT and a generated value");
    ddl_fails("CREATE TABLE B (Id INT64 GENERATED BY DEFAULT AS IDENTITY (BIT_REVERSED_POSITIVE "
              "SKIP RANGE 5, 1)) PRIMARY KEY (Id)",
              "FAILED_PRECONDITION: `skip_range_min` has to be lesser than or equal to "
              "`skip_range_max`");
    ddl_fails("CREATE SEQUENCE S", "INVALID_ARGUMENT: The sequence does not have a valid sequence "
                                   "kind. Please specify the sequence kind explicitly or set the "
                                   "database option `default_sequence_kind`.");
    ddl_fails("CREATE TABLE C (Id INT64 AUTO_INCREMENT) PRIMARY KEY (Id)",
              "INVALID_ARGUMENT: The sequence kind of an identity column Id is not specified. "
              "Please specify the sequence kind explicitly or set the database option "
              "`default_sequence_kind`.");
    ddl_ok("ALTER DATABASE db1 SET OPTIONS (default_sequence_kind = 'bit_reversed_positive')");
    ddl_ok("CREATE TABLE B (Id INT64 GENERATED BY DEFAULT AS IDENTITY, V STRING(10)) PRIMARY KEY "
           "(Id)");
    ddl_fails("CREATE TABLE C (Id STRING(MAX) AUTO_INCREMENT) PRIMARY KEY (Id)",
              "INVALID_ARGUMENT: Identity column Id must be of type INT64, not STRING.");
    ddl_fails("CREATE TABLE C (Id INT64 AUTO_INCREMENT GENERATED BY DEFAULT AS IDENTITY) PRIMARY "
              "KEY (Id)",
              "INVALID_ARGUMENT: Column Id is an identity column twice");
    ddl_ok("CREATE SEQUENCE S");
    ddl_ok("CREATE SEQUENCE S2 OPTIONS (start_with_counter = 3)");
    ddl_ok("ALTER TABLE A ALTER COLUMN Id ALTER IDENTITY RESTART COUNTER WITH 1000");
    ddl_ok("ALTER TABLE A ALTER COLUMN Id ALTER IDENTITY SET NO SKIP RANGE");
    ddl_fails("ALTER TABLE A ALTER COLUMN V ALTER IDENTITY SET NO SKIP RANGE",
              "FAILED_PRECONDITION: Column A.V is not an identity column.");
    ddl_fails("ALTER DATABASE db1 SET OPTIONS (default_sequence_kind = 'x')",
              "INVALID_ARGUMENT: Unsupported sequence kind: x");
    ddl_fails("ALTER DATABASE db1 SET OPTIONS (default_sequence_kind = NULL)",
              "FAILED_PRECONDITION: Cannot unset the database option `default_sequence_kind`: S "
              "takes its sequence kind from it.");
    /* AUTO_INCREMENT: an identity column of the database's default kind, printed as written
     * (its draws: test_spanner_sequences.sh) */
    ddl_ok("CREATE TABLE C (Id INT64 NOT NULL AUTO_INCREMENT, V STRING(10)) PRIMARY KEY (Id)");
    sql_is("SELECT IS_IDENTITY FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'C' AND "
           "COLUMN_NAME = 'Id'",
           "[[\"YES\"]]");
    char *c_ddl = ddl_text();
    assert_non_null(strstr(c_ddl, "CREATE TABLE C (\n  Id INT64 NOT NULL AUTO_INCREMENT,\n"));
    free(c_ddl);
    ddl_ok("DROP TABLE C");
    char *text = ddl_text();
    assert_string_equal(
        text, "ALTER DATABASE `db1` SET OPTIONS (\n  default_sequence_kind = "
              "'bit_reversed_positive'\n)\n;\nCREATE SEQUENCE S\n;\nCREATE SEQUENCE S2 OPTIONS "
              "(\n  start_with_counter = 3)\n;\nCREATE TABLE A (\n  Id INT64 NOT NULL GENERATED BY "
              "DEFAULT AS IDENTITY (BIT_REVERSED_POSITIVE START COUNTER WITH 1000),\n  V "
              "STRING(10),\n) PRIMARY KEY(Id)\n;\nCREATE TABLE B (\n  Id INT64 GENERATED BY "
              "DEFAULT AS IDENTITY,\n  V STRING(10),\n) PRIMARY KEY(Id)");
    free(text);
}

/* Generated columns are computed on every write (and when added to a table with rows),
 * and THEN RETURN shows them; DEFAULT in VALUES and SET writes a column's default. */
static void test_generated_columns_and_default_values(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE T (Id INT64 NOT NULL, Name STRING(MAX), Qty INT64 DEFAULT (7), "
           "Shout STRING(MAX) AS (CONCAT(UPPER(Name), '!')) STORED, Twice INT64 AS (Qty * 2) "
           "STORED) PRIMARY KEY (Id)");
    sql_is("INSERT INTO T (Id, Name) VALUES (1, 'ann') THEN RETURN Shout, Twice",
           "modified 1 [[\"ANN!\",\"14\"]]");
    sql_is("INSERT INTO T (Id, Name, Qty) VALUES (2, 'bo', DEFAULT), (3, DEFAULT, 1) THEN RETURN "
           "Id, Name, Qty, Twice",
           "modified 2 [[\"2\",\"bo\",\"7\",\"14\"],[\"3\",null,\"1\",\"2\"]]");
    sql_is("UPDATE T SET Name = 'cy', Qty = 5 WHERE Id = 3 THEN RETURN Shout, Twice",
           "modified 1 [[\"CY!\",\"10\"]]");
    sql_is("UPDATE T SET Qty = DEFAULT, Name = DEFAULT WHERE Id = 3 THEN RETURN Name, Qty, Twice",
           "modified 1 [[null,\"7\",\"14\"]]");
    sql_is("SELECT Id FROM T WHERE Shout = 'ANN!'", "[[\"1\"]]");
    ddl_ok("ALTER TABLE T ADD COLUMN Len INT64 AS (LENGTH(Name)) STORED");
    sql_is("SELECT Id, Len FROM T ORDER BY Id", "[[\"1\",\"3\"],[\"2\",\"2\"],[\"3\",null]]");
    ddl_ok("CREATE INDEX ByShout ON T(Shout)");
    sql_is("SELECT Id FROM T@{FORCE_INDEX=ByShout} WHERE Shout = 'BO!'", "[[\"2\"]]");
    sql_is("INSERT INTO T (Id, Shout) VALUES (4, 'x')",
           "INVALID_ARGUMENT: Cannot INSERT value on non-writable column: Shout [at 1:20]");
    sql_is("SELECT DEFAULT", "INVALID_ARGUMENT: Syntax error: Unexpected keyword DEFAULT [at 1:8]");
    ddl_fails("ALTER TABLE T ADD COLUMN Now TIMESTAMP AS (CURRENT_TIMESTAMP()) STORED",
              "INVALID_ARGUMENT: The expression of a generated column must be deterministic: it "
              "calls a function whose result can change (CURRENT_TIMESTAMP, GENERATE_UUID, ...).");
    ddl_fails("CREATE TABLE K (Id INT64 AS (1) STORED) PRIMARY KEY (Id)",
              "UNIMPLEMENTED: Generated column K.Id in the primary key is not supported by this "
              "emulator.");
}

static void test_row_deletion_policy_rules(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE E (Id INT64 NOT NULL, Ts TIMESTAMP, N INT64) PRIMARY KEY (Id), ROW "
           "DELETION POLICY (OLDER_THAN(Ts, INTERVAL 0x1E DAY))");
    assert_string_equal(sp_schema_table(db.schema, "E")->row_deletion_policy,
                        "OLDER_THAN(Ts, INTERVAL 30 DAY)");
    assert_int_equal(sp_schema_table(db.schema, "E")->ttl_days, 30);
    ddl_fails("ALTER TABLE E DROP COLUMN Ts",
              "FAILED_PRECONDITION: Cannot drop column Ts: it is used by the row deletion policy "
              "of table E.");
    ddl_fails("ALTER TABLE E REPLACE ROW DELETION POLICY (OLDER_THAN(Ts, INTERVAL 100001 DAY))",
              "INVALID_ARGUMENT: Invalid row deletion policy on table E: the interval is 0 to "
              "100000 days.");
    ddl_ok("ALTER TABLE E DROP ROW DELETION POLICY");
    assert_null(sp_schema_table(db.schema, "E")->ttl_column);
    ddl_ok("ALTER TABLE E DROP COLUMN Ts");
}

/* HIDDEN columns: read by name, left out of SELECT * (qualified or not) and THEN RETURN *. */
static void test_hidden_columns(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE H (Id INT64 NOT NULL, Secret STRING(MAX) NOT NULL HIDDEN, V INT64) "
           "PRIMARY KEY (Id)");
    ddl_ok("ALTER TABLE H ADD COLUMN Note STRING(MAX) HIDDEN");
    sql_is("INSERT INTO H (Id, Secret, V, Note) VALUES (1, 's', 2, 'n') THEN RETURN *",
           "modified 1 [[\"1\",\"2\"]]");
    sql_is("SELECT * FROM H", "[[\"1\",\"2\"]]");
    sql_is("SELECT H.*, Secret FROM H", "[[\"1\",\"2\",\"s\"]]");
    sql_is("SELECT * FROM (SELECT Secret, Note FROM H)", "[[\"s\",\"n\"]]");
    char *text = ddl_text();
    assert_string_equal(text, "CREATE TABLE H (\n  Id INT64 NOT NULL,\n  Secret STRING(MAX) NOT "
                              "NULL HIDDEN,\n  V INT64,\n  Note STRING(MAX) HIDDEN,\n) PRIMARY "
                              "KEY(Id)");
    free(text);
}

/* ARRAY<FLOAT32>(vector_length=>n): every array written holds n elements. */
static void test_vector_length(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE V (Id INT64 NOT NULL, E ARRAY<FLOAT64>(vector_length=>3)) PRIMARY KEY "
           "(Id)");
    sql_is("INSERT INTO V (Id, E) VALUES (1, [1.0, 2.0, 3.0]), (2, NULL)", "modified 2");
    sql_is("INSERT INTO V (Id, E) VALUES (3, [1.0, 2.0])",
           "INVALID_ARGUMENT: Array column V.E has 2 elements and is less than the "
           "`vector_length` limit: 3.");
    sql_is("UPDATE V SET E = [1.0, 2.0, 3.0, 4.0] WHERE Id = 1",
           "INVALID_ARGUMENT: Array column V.E has 4 elements and is greater than the "
           "`vector_length` limit: 3.");
    ddl_fails("CREATE TABLE W (Id INT64 NOT NULL, E ARRAY<INT64>(vector_length=>3)) PRIMARY KEY "
              "(Id)",
              "INVALID_ARGUMENT: vector_length is only allowed on an ARRAY<FLOAT32> or "
              "ARRAY<FLOAT64> column, not on column E.");
    ddl_fails("CREATE TABLE W (Id INT64 NOT NULL, E ARRAY<FLOAT64>(vector_length=>0)) PRIMARY "
              "KEY (Id)",
              "INVALID_ARGUMENT: Invalid vector_length of column E: a whole number from 1 to "
              "8000.");
    char *text = ddl_text();
    assert_string_equal(text, "CREATE TABLE V (\n  Id INT64 NOT NULL,\n  E "
                              "ARRAY<FLOAT64>(vector_length=>3),\n) PRIMARY KEY(Id)");
    free(text);
}

static void test_name_lengths(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE " NAME128 " (" NAME128 " INT64 NOT NULL) PRIMARY KEY (" NAME128 ")");
    ddl_ok("CREATE INDEX ByName ON " NAME128 "(" NAME128 ")");
    ddl_fails("CREATE TABLE " NAME128 "x (a INT64 NOT NULL) PRIMARY KEY (a)",
              "INVALID_ARGUMENT: The table name " NAME16 NAME16 NAME16 NAME16
              "... is too long: at most 128 characters.");
    ddl_fails("CREATE TABLE T (" NAME128 "x INT64) PRIMARY KEY (" NAME128 "x)",
              "INVALID_ARGUMENT: The column name " NAME16 NAME16 NAME16 NAME16
              "... is too long: at most 128 characters.");
    ddl_ok("DROP INDEX ByName");
    ddl_ok("DROP TABLE " NAME128);
    /* a letter, then letters, digits and underscores, even quoted: the SQL of mutations
     * quotes names with backquotes */
    ddl_fails("CREATE TABLE `T\\` WHERE TRUE --` (a INT64) PRIMARY KEY (a)",
              "INVALID_ARGUMENT: Invalid table name T` WHERE TRUE --: a name is a letter, then "
              "letters, digits and underscores.");
    ddl_fails("CREATE TABLE T (`a b` INT64) PRIMARY KEY (`a b`)",
              "INVALID_ARGUMENT: Invalid column name a b: a name is a letter, then letters, "
              "digits and underscores.");
    ddl_ok("CREATE TABLE `Order` (`Select` INT64) PRIMARY KEY (`Select`)"); /* keywords quoted */
    /* names SQLite keeps for itself, or whose table would hide json_each (UNNEST) */
#define RESERVED                                                                                   \
    ": the emulator keeps its tables, indexes and views in SQLite, which reserves names that "     \
    "start with sqlite_ and the names json_each and json_tree (Spanner accepts them): choose "     \
    "another name."
    ddl_fails("CREATE TABLE sqlite_orders (a INT64) PRIMARY KEY (a)",
              "INVALID_ARGUMENT: Invalid table name sqlite_orders" RESERVED);
    ddl_ok("CREATE TABLE R (a INT64) PRIMARY KEY (a)");
    ddl_fails("CREATE INDEX SQLITE_ByA ON R(a)",
              "INVALID_ARGUMENT: Invalid index name SQLITE_ByA" RESERVED);
    ddl_fails("CREATE TABLE Json_Each (a INT64) PRIMARY KEY (a)",
              "INVALID_ARGUMENT: Invalid table name Json_Each" RESERVED);
    ddl_fails("CREATE VIEW json_tree SQL SECURITY INVOKER AS SELECT R.a FROM R",
              "INVALID_ARGUMENT: Invalid view name json_tree" RESERVED);
    ddl_ok("CREATE TABLE sqliteish (a INT64) PRIMARY KEY (a)");
}

static void test_interleave_rules(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE P (Id INT64 NOT NULL) PRIMARY KEY (Id)");
    ddl_ok("CREATE TABLE Kept (Id INT64 NOT NULL, K INT64 NOT NULL) PRIMARY KEY (Id, K), "
           "INTERLEAVE IN PARENT P ON DELETE NO ACTION");
    ddl_ok("CREATE TABLE Gone (Id INT64 NOT NULL, G INT64 NOT NULL) PRIMARY KEY (Id, G), "
           "INTERLEAVE IN PARENT P ON DELETE CASCADE");
    ddl_ok("CREATE TABLE GrandChild (Id INT64 NOT NULL, G INT64 NOT NULL, X INT64 NOT NULL) "
           "PRIMARY KEY (Id, G, X), INTERLEAVE IN PARENT Gone ON DELETE CASCADE");
    sql_is("INSERT INTO P (Id) VALUES (1), (2)", "modified 2");
    sql_is("INSERT INTO Kept (Id, K) VALUES (1, 1)", "modified 1");
    sql_is("INSERT INTO Gone (Id, G) VALUES (2, 1)", "modified 1");
    sql_is("INSERT INTO GrandChild (Id, G, X) VALUES (2, 1, 1)", "modified 1");
    sql_is("INSERT INTO GrandChild (Id, G, X) VALUES (2, 5, 1)",
           "NOT_FOUND: Parent row for a row in table GrandChild is missing. Row cannot be "
           "written.");
    sql_is("DELETE FROM P WHERE Id = 1",
           "FAILED_PRECONDITION: Delete failed: a row of table P still has child rows in table "
           "Kept (INTERLEAVE ... ON DELETE NO ACTION).");
    sql_is("DELETE FROM P WHERE Id = 2", "modified 1");
    sql_is("SELECT (SELECT COUNT(*) FROM Gone), (SELECT COUNT(*) FROM GrandChild)",
           "[[\"0\",\"0\"]]");
    ddl_ok("ALTER TABLE Kept SET ON DELETE CASCADE");
    sql_is("DELETE FROM P WHERE Id = 1", "modified 1");
    sql_is("SELECT COUNT(*) FROM Kept", "[[\"0\"]]");
}

static void test_constraints_on_rows(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE Singers (SingerId INT64 NOT NULL, Name STRING(5)) PRIMARY KEY "
           "(SingerId)");
    ddl_ok("CREATE TABLE Concerts (Id INT64 NOT NULL, SingerId INT64, Price INT64, "
           "CONSTRAINT Positive CHECK (Price > 0), "
           "CONSTRAINT FK_Singer FOREIGN KEY (SingerId) REFERENCES Singers (SingerId)) "
           "PRIMARY KEY (Id)");
    sql_is("INSERT INTO Singers (SingerId, Name) VALUES (1, 'Ann'), (2, NULL)", "modified 2");
    sql_is("INSERT INTO Concerts (Id, SingerId, Price) VALUES (1, 1, 10), (2, NULL, NULL)",
           "modified 2");
    sql_is("INSERT INTO Concerts (Id, SingerId, Price) VALUES (3, 1, -1)",
           "OUT_OF_RANGE: Check constraint `Concerts`.`Positive` is violated");
    sql_is("INSERT INTO Concerts (Id, SingerId) VALUES (3, 9)",
           "FAILED_PRECONDITION: Foreign key constraint `FK_Singer` is violated on table "
           "`Concerts`. Cannot find referenced values in Singers.");
    sql_is("DELETE FROM Singers WHERE SingerId = 1",
           "FAILED_PRECONDITION: Foreign key constraint `FK_Singer` is violated on table "
           "`Concerts`. Cannot delete a row of Singers that rows of Concerts reference.");
    sql_is("UPDATE Concerts SET Price = 0 WHERE Id = 1",
           "OUT_OF_RANGE: Check constraint `Concerts`.`Positive` is violated");

    /* ALTER on a table with rows: existing data is checked, defaults fill old rows */
    ddl_fails("ALTER TABLE Singers ALTER COLUMN Name STRING(5) NOT NULL",
              "FAILED_PRECONDITION: Adding a NOT NULL constraint on a column Singers.Name that "
              "contains NULL values.");
    ddl_fails("ALTER TABLE Singers ALTER COLUMN Name STRING(2)",
              "FAILED_PRECONDITION: Reducing the length of column Singers.Name below the size of "
              "existing values.");
    ddl_fails("ALTER TABLE Concerts ADD CONSTRAINT Cheap CHECK (Price < 5)",
              "OUT_OF_RANGE: Check constraint `Concerts`.`Cheap` is violated by an existing "
              "row");
    /* the failed statements left neither the schema nor the stored rows changed */
    char *text = ddl_text();
    assert_non_null(strstr(text, "  Name STRING(5),\n"));
    assert_null(strstr(text, "Cheap"));
    free(text);
    sql_is("INSERT INTO Concerts (Id, SingerId, Price) VALUES (7, 1, 6)", "modified 1");
    sql_is("DELETE FROM Concerts WHERE Id = 7", "modified 1");
    ddl_ok("ALTER TABLE Singers ADD COLUMN Country STRING(MAX) NOT NULL DEFAULT ('NZ')");
    sql_is("SELECT SingerId, Country FROM Singers ORDER BY 1", "[[\"1\",\"NZ\"],[\"2\",\"NZ\"]]");
    sql_is("INSERT INTO Singers (SingerId) VALUES (3) THEN RETURN Country",
           "modified 1 [[\"NZ\"]]");
    ddl_ok("ALTER TABLE Singers ALTER COLUMN Name BYTES(MAX)");
    sql_is("SELECT Name FROM Singers WHERE SingerId = 1", "[[\"QW5u\"]]");
    ddl_ok("ALTER TABLE Concerts DROP CONSTRAINT FK_Singer");
    sql_is("DELETE FROM Singers WHERE SingerId = 1", "modified 1");
    ddl_ok("ALTER TABLE Concerts DROP COLUMN SingerId");
    sql_is("SELECT * FROM Concerts ORDER BY Id", "[[\"1\",\"10\"],[\"2\",null]]");
    ddl_fails("ALTER TABLE Concerts DROP COLUMN Price",
              "FAILED_PRECONDITION: Cannot drop column Price: it is used by check constraint "
              "Positive.");
}

static void test_sqlite_schema(void **state)
{
    (void)state;
    struct sp_buf script = {0};
    struct em_status st = {0};
    assert_int_equal(sp_ddl_apply(db.schema,
                                  "CREATE TABLE T (A INT64 NOT NULL, B STRING(MAX), C BYTES(10), "
                                  "D FLOAT64, E BOOL) PRIMARY KEY (A DESC)",
                                  &script, &st),
                     EM_OK);
    assert_non_null(strstr(script.data, "CREATE TABLE \"T\" (\"A\" INTEGER, \"B\" TEXT, \"C\" "
                                        "BLOB, \"D\" REAL, \"E\" INTEGER, PRIMARY KEY (\"A\" "
                                        "DESC)) WITHOUT ROWID;"));
    sp_buf_free(&script);
    /* a nullable key column needs a rowid table */
    assert_int_equal(
        sp_ddl_apply(db.schema, "CREATE TABLE U (K STRING(MAX)) PRIMARY KEY (K)", &script, &st),
        EM_OK);
    assert_non_null(strstr(script.data, "PRIMARY KEY (\"K\"));"));
    sp_buf_free(&script);
    assert_int_equal(sp_ddl_apply(db.schema,
                                  "CREATE NULL_FILTERED INDEX I ON T(B, D DESC) STORING (E)",
                                  &script, &st),
                     EM_OK);
    assert_non_null(strstr(script.data, "CREATE INDEX \"I\" ON \"T\" (\"B\", \"D\" DESC) WHERE "
                                        "\"B\" IS NOT NULL AND \"D\" IS NOT NULL;"));
    sp_buf_free(&script);
}

/* The rows of table (as "key:value,...", by key) as of read_ns, through the versions. */
static char *rows_at(const char *table, const char *columns, int64_t read_ns)
{
    struct sp_buf sql = {0};
    sp_buf_printf(&sql, "SELECT coalesce(group_concat(%s, ','), '') FROM (SELECT * FROM ", columns);
    sp_schema_sqlite_table_at(sp_schema_table(db.schema, table), read_ns, &sql);
    sp_buf_puts(&sql, " AS x ORDER BY 1)");
    sqlite3_stmt *stmt = NULL;
    char *out = NULL;
    if (sqlite3_prepare_v2(db.db, sql.data, -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        out = strdup((const char *)sqlite3_column_text(stmt, 0));
    else
        fprintf(stderr, "%s\n  %s\n", sql.data, sqlite3_errmsg(db.db));
    sqlite3_finalize(stmt);
    sp_buf_free(&sql);
    return out;
}

static void rows_at_are(const char *table, const char *columns, int64_t read_ns,
                        const char *expected)
{
    char *got = rows_at(table, columns, read_ns);
    assert_non_null(got);
    if (strcmp(got, expected) != 0)
        fprintf(stderr, "%s at %lld: expected %s, got %s\n", table, (long long)read_ns, expected,
                got);
    assert_string_equal(got, expected);
    free(got);
}

static int64_t set_clock(int64_t seconds)
{
    db.clock.now = (struct sp_timestamp){seconds, 0};
    return seconds * 1000000000;
}

/* Row versions: the triggers record what each write replaced, stamped with the commit's
 * time (here the clock), and a read at a timestamp sees the rows as they were then:
 * inserts, updates (twice in one commit), deletes, a NULL key (which stays NULL: no rowid
 * alias), a table of one row; an added column; pruning keeps later reads exact. */
static void test_row_versions(void **state)
{
    (void)state;
    ddl_ok("CREATE TABLE Acc (Id INT64 NOT NULL, Bal INT64) PRIMARY KEY (Id)");
    ddl_ok("CREATE TABLE N (Id INT64, V STRING(MAX)) PRIMARY KEY (Id)");
    ddl_ok("CREATE TABLE One (V STRING(MAX)) PRIMARY KEY ()");
    int64_t t1 = set_clock(1000);
    sql_is("INSERT INTO Acc (Id, Bal) VALUES (1, 10), (2, 20)", "modified 2");
    sql_is("INSERT INTO N (Id, V) VALUES (NULL, 'a')", "modified 1");
    sql_is("INSERT INTO One (V) VALUES ('x')", "modified 1");
    int64_t t2 = set_clock(2000);
    sql_is("UPDATE Acc SET Bal = 11 WHERE Id = 1", "modified 1");
    sql_is("UPDATE Acc SET Bal = 12 WHERE Id = 1", "modified 1");
    sql_is("DELETE FROM Acc WHERE Id = 2", "modified 1");
    sql_is("INSERT INTO Acc (Id, Bal) VALUES (3, 30)", "modified 1");
    sql_is("UPDATE N SET V = 'b' WHERE Id IS NULL", "modified 1");
    sql_is("UPDATE One SET V = 'y' WHERE true", "modified 1");
    int64_t t3 = set_clock(3000);
    sql_is("DELETE FROM Acc WHERE Id = 1", "modified 1");

    const char *acc = "Id || ':' || Bal";
    rows_at_are("Acc", acc, t1 - 1, "");
    rows_at_are("Acc", acc, t1, "1:10,2:20");
    rows_at_are("Acc", acc, t2 - 1, "1:10,2:20");
    rows_at_are("Acc", acc, t2, "1:12,3:30"); /* the commit's last write */
    rows_at_are("Acc", acc, t3 - 1, "1:12,3:30");
    rows_at_are("Acc", acc, t3, "3:30");
    const char *n = "coalesce(Id, 'NULL') || ':' || V";
    rows_at_are("N", n, t1, "NULL:a");
    rows_at_are("N", n, t2, "NULL:b");
    sql_is("SELECT Id, V FROM N", "[[null,\"b\"]]");
    rows_at_are("One", "V", t1, "x");
    rows_at_are("One", "V", t2, "y");

    /* a column added later: NULL in the versions from before */
    ddl_ok("ALTER TABLE Acc ADD COLUMN Note STRING(MAX)");
    rows_at_are("Acc", "Id || ':' || coalesce(Note, '-')", t2, "1:-,3:-");

    /* forgetting the versions before t2 + 1 leaves reads from then on exact */
    struct sp_buf prune = {0};
    sp_schema_sqlite_prune_versions(sp_schema_table(db.schema, "Acc"), t2 + 1, &prune);
    assert_int_equal(sqlite3_exec(db.db, prune.data, NULL, NULL, NULL), SQLITE_OK);
    sp_buf_free(&prune);
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db.db, "SELECT count(*) FROM \"Acc$versions\"", -1, &stmt, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 1); /* the delete at t3 */
    sqlite3_finalize(stmt);
    rows_at_are("Acc", acc, t3 - 1, "1:12,3:30");
    rows_at_are("Acc", acc, t3, "3:30");

    /* a dropped table takes its versions along */
    ddl_ok("DROP TABLE One");
    sql_is("SELECT 1", "[[\"1\"]]");
    assert_int_equal(sqlite3_prepare_v2(db.db, "SELECT 1 FROM \"One$versions\"", -1, &stmt, NULL),
                     SQLITE_ERROR);
    sqlite3_finalize(stmt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_canonical_print, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_of_stored_statements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_database_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequences, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_schemas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_change_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_table_synonyms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_deletion_policy_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hidden_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vector_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_columns_and_default_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleave_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_constraints_on_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sqlite_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_versions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
