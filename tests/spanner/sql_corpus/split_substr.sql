-- split_substr: SPLIT_SUBSTR(value, delimiter, start_split[, count]). Google's emulator of
-- gcloud SDK 528 lacks it ("Function not found"); the answers are those of GoogleSQL's
-- reference (docs/string_functions.md of google/zetasql: its examples, and its rules for a
-- start before the first split or past the last, overlapping delimiters, NULLs and errors).
-- ddl
CREATE TABLE T (K INT64 NOT NULL, S STRING(MAX)) PRIMARY KEY (K);
-- dml
INSERT INTO T (K, S) VALUES (1, 'a/b/c'), (2, NULL);
-- query
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[[""]]}
SELECT SPLIT_SUBSTR('www.abc.xyz.com', '.', 1, 0);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["www.abc"]]}
SELECT SPLIT_SUBSTR('www.abc.xyz.com', '.', 1, 2);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["www"]]}
SELECT SPLIT_SUBSTR('www.abc.xyz.com', '.', 1, 1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["com"]]}
SELECT SPLIT_SUBSTR('www.abc.xyz.com', '.', -1, 1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["www.abc.xyz"]]}
SELECT SPLIT_SUBSTR('www.abc.xyz.com', '.', 1, 3);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["www.abc.xyz"]]}
SELECT SPLIT_SUBSTR('www.abc.xyz.com', '.', 0, 3);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[[""]]}
SELECT SPLIT_SUBSTR('www.abc.xyz.com', '.', 5, 3);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["www.abc.xyz"]]}
SELECT SPLIT_SUBSTR('www.abc.xyz.com', '.', -5, 3);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["xyz.com"]]}
SELECT SPLIT_SUBSTR('www.abc.xyz.com', '.', 3);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["aaa***bbb"]]}
SELECT SPLIT_SUBSTR('aaa***bbb***ccc', '**', 1, 2);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["*bb"]]}
SELECT SPLIT_SUBSTR('aaa***bb***cc', '**', 2, 1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["*bb***cc"]]}
SELECT SPLIT_SUBSTR('aaa***bb***cc', '**', -2, 2);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[[""]]}
SELECT SPLIT_SUBSTR('aaa***bb***cc', '**', 4, 1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["www.abc.com"]]}
SELECT SPLIT_SUBSTR('www.abc.com', '#', 1, 1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[[""]]}
SELECT SPLIT_SUBSTR('', '.', 1, 1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[[""]]}
SELECT SPLIT_SUBSTR('a..b', '.', 2, 1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[[".b"]]}
SELECT SPLIT_SUBSTR('a..b', '.', 2, 2);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[[""]]}
SELECT SPLIT_SUBSTR('.a.', '.', -1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["語と日本"]]}
SELECT SPLIT_SUBSTR('日本語と日本', '本', 2);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[["www"]]}
SELECT SPLIT_SUBSTR('www.abc.com', '.', -9223372036854775808, 1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"]],"rows":[[""]]}
SELECT SPLIT_SUBSTR('www.abc.com', '.', 9223372036854775807);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["K","INT64"],["","STRING"]],"rows":[["1","b/c"],["2",null]]}
SELECT K, SPLIT_SUBSTR(S, '/', 2) FROM T ORDER BY K;
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"fields":[["","STRING"],["","STRING"],["","STRING"]],"rows":[[null,null,null]]}
SELECT SPLIT_SUBSTR('a.b', '.', NULL), SPLIT_SUBSTR('a.b', NULL, 1), SPLIT_SUBSTR('a.b', '.', 1, NULL);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT SPLIT_SUBSTR('www.abc.com', '', 1, 1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT SPLIT_SUBSTR('www.abc.com', '.', 1, -1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"error":"INVALID_ARGUMENT"}
SELECT SPLIT_SUBSTR(b'a.b', b'.', 1);
-- google-emulator-wrong: its SDK 528 build does not have SPLIT_SUBSTR; Spanner's GoogleSQL does
-- expect: {"error":"INVALID_ARGUMENT"}
SELECT SPLIT_SUBSTR('a.b', '.');
