-- json_edit: the functions that change JSON (JSON_SET, JSON_REMOVE, JSON_STRIP_NULLS,
-- JSON_ARRAY_APPEND, JSON_ARRAY_INSERT) and their named arguments, and the conversions of JSON
-- to arrays (BOOL_ARRAY, INT64_ARRAY, ...) and to FLOAT32, and JSON_CONTAINS. Google's emulator of gcloud
-- SDK 528 has none of them ("Function not found"); Spanner's GoogleSQL has them all, so each
-- statement says what Spanner answers: the examples of GoogleSQL's reference for these
-- functions (docs/json_functions.md of google/zetasql), and edge cases read off its rules
-- (a NULL path skips its pair, a NULL option returns the input, an array grows to 1,000,000
-- elements at most, '$' cannot be removed, named arguments come last and only once).
-- ddl
CREATE TABLE T (
  K INT64 NOT NULL,
  J JSON,
) PRIMARY KEY (K);
-- dml
INSERT INTO T (K, J) VALUES (1, JSON '{"a": [1, null, {"b": null}], "c": {"d": 1}}'), (2, NULL), (3, JSON 'null');
-- query
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"]],"rows":[["{\"b\":2,\"c\":3}"]]}
SELECT JSON_SET(JSON '{"a": 1}', '$', JSON '{"b": 2, "c": 3}');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"]],"rows":[["{\"a\":1}","{\"a\":999}"]]}
SELECT JSON_SET(JSON '{"a": 1}', "$.b", 999, create_if_missing => false), JSON_SET(JSON '{"a": 1}', "$.a", 999, create_if_missing => false);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"]],"rows":[["{\"a\":{\"b\":100}}","{\"a\":{\"b\":100}}"]]}
SELECT JSON_SET(JSON '{"a": {}}', '$.a.b', 100), JSON_SET(JSON 'null', '$.a.b', 100);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"]],"rows":[["{\"a\":1,\"b\":2,\"d\":3}","{\"a\":1,\"b\":2}"]]}
SELECT JSON_SET(JSON '{"a": 1}', '$.b', 2, '$.a.c', 100, '$.d', 3), JSON_SET(JSON '{"a": 1}', '$.a[2]', 100, '$.b', 2);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"]],"rows":[["[\"a\",\"foo\",\"d\"]","[\"a\",[\"foo\",\"c\"],\"d\"]","[[null,null,null,\"foo\"]]"]]}
SELECT JSON_SET(JSON '["a", ["b", "c"], "d"]', '$[1]', "foo"), JSON_SET(JSON '["a", ["b", "c"], "d"]', '$[1][0]', "foo"), JSON_SET(JSON 'null', '$[0][3]', "foo");
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"]],"rows":[["[\"a\",[\"b\",\"c\",null,null,\"foo\"],\"d\"]","[\"a\",[\"b\",\"c\"],\"d\"]","[\"a\",[\"b\",\"c\",[null,\"foo\"]],\"d\"]"]]}
SELECT JSON_SET(JSON '["a", ["b", "c"], "d"]', '$[1][4]', "foo"), JSON_SET(JSON '["a", ["b", "c"], "d"]', '$[1][0][0]', "foo"), JSON_SET(JSON '["a", ["b", "c"], "d"]', '$[1][2][1]', "foo");
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"]],"rows":[["{\"b\":[null,null,{\"d\":100}]}","{\"a\":\"v1\",\"b\":{\"c\":3,\"e\":\"v2\"},\"d\":[4,null,\"v3\"]}"]]}
SELECT JSON_SET(JSON '{}', '$.b[2].d', 100), JSON_SET(JSON '{"a": 1, "b": {"c":3}, "d": [4]}', '$.a', 'v1', '$.b.e', 'v2', '$.d[2]', 'v3');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT JSON_SET(JSON '[]', '$[1000000]', 1);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"],["","JSON"],["","JSON"]],"rows":[[null,"{}","{}","{\"a\":null}","{\"a\":[1,2],\"d\":\"2020-01-02\",\"s\":{\"x\":1,\"z\":\"y\"}}"]]}
SELECT JSON_SET(NULL, '$.a', 1), JSON_SET(JSON '{}', NULL, 1), JSON_SET(JSON '{}', '$.a', 1, create_if_missing => NULL), JSON_SET(JSON '{}', '$.a', NULL), JSON_SET(JSON '{}', '$.a', [1, 2], '$.d', DATE '2020-01-02', '$.s', STRUCT(1 AS x, 'y' AS z));
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT JSON_SET(JSON '{}', 'a', 1);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"error":"INVALID_ARGUMENT"}
SELECT JSON_SET(JSON '{}', '$.a', 1, TRUE);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"error":"INVALID_ARGUMENT"}
SELECT JSON_SET(JSON '{}', '$.a', 1, create_if_missing => 1);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"error":"INVALID_ARGUMENT"}
SELECT JSON_SET('{}', '$.a', 1);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"]],"rows":[["[\"a\",\"d\"]","[\"a\"]","[]"]]}
SELECT JSON_REMOVE(JSON '["a", ["b", "c"], "d"]', '$[1]'), JSON_REMOVE(JSON '["a", ["b", "c"], "d"]', '$[1]', '$[1]'), JSON_REMOVE(JSON '["a", ["b", "c"], "d"]', '$[1]', '$[1]', '$[0]');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"],["","JSON"],["","JSON"]],"rows":[["{\"a\":{\"b\":{}}}","{\"a\":{}}","{\"a\":1}","{\"a\":[3]}","null"]]}
SELECT JSON_REMOVE(JSON '{"a": {"b": {"c": "d"}}}', '$.a.b.c'), JSON_REMOVE(JSON '{"a": {"b": {"c": "d"}}}', '$.a.b'), JSON_REMOVE(JSON '{"a": 1}', '$.b'), JSON_REMOVE(JSON '{"a": [1, 2, 3]}', '$.a[0]', '$.a.b', '$.b', '$.a[0]'), JSON_REMOVE(JSON 'null', '$.a.b');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT JSON_REMOVE(JSON '{}', '$');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"],["","JSON"]],"rows":[["{\"b\":\"c\"}","[1,2]","[1,null,2,null]","[1,2,[]]"]]}
SELECT JSON_STRIP_NULLS(JSON '{"a": null, "b": "c"}'), JSON_STRIP_NULLS(JSON '[1, null, 2, null]'), JSON_STRIP_NULLS(JSON '[1, null, 2, null]', include_arrays=>FALSE), JSON_STRIP_NULLS(JSON '[1, null, 2, null, [null]]');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"],["","JSON"]],"rows":[["[1,2]","null","null","null"]]}
SELECT JSON_STRIP_NULLS(JSON '[1, null, 2, null, [null]]', remove_empty=>TRUE), JSON_STRIP_NULLS(JSON '{"a": null}', remove_empty=>TRUE), JSON_STRIP_NULLS(JSON '{"a": [null]}', remove_empty=>TRUE), JSON_STRIP_NULLS(JSON 'null');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"]],"rows":[["{\"d\":[null],\"e\":[],\"f\":1}","{\"f\":1}"]]}
SELECT JSON_STRIP_NULLS(JSON '{"a": {"b": {"c": null}}, "d": [null], "e": [], "f": 1}', include_arrays=>FALSE, remove_empty=>TRUE), JSON_STRIP_NULLS(JSON '{"a": {"b": {"c": null}}, "d": [null], "e": [], "f": 1}', remove_empty=>TRUE);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"]],"rows":[["{\"a\":null,\"c\":null}","{\"a\":1}","[{}]"]]}
SELECT JSON_STRIP_NULLS(JSON '{"a": {"b": null}, "c": null}', '$.a', remove_empty => TRUE), JSON_STRIP_NULLS(JSON '{"a": 1}', NULL), JSON_STRIP_NULLS(JSON '[{"a": null}]', include_arrays => FALSE, remove_empty => TRUE);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"error":"INVALID_ARGUMENT"}
SELECT JSON_STRIP_NULLS(JSON '{}', '$', TRUE);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"]],"rows":[["[\"a\",\"b\",\"c\",1]","[\"a\",\"b\",\"c\",1,2]","[\"a\",\"b\",\"c\",[1,2]]"]]}
SELECT JSON_ARRAY_APPEND(JSON '["a", "b", "c"]', '$', 1), JSON_ARRAY_APPEND(JSON '["a", "b", "c"]', '$', [1, 2]), JSON_ARRAY_APPEND(JSON '["a", "b", "c"]', '$', [1, 2], append_each_element=>FALSE);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"]],"rows":[["[\"a\",[\"b\",[1,2,[3,4]]],\"c\"]","[\"a\",[\"b\",1,2],\"c\"]"]]}
SELECT JSON_ARRAY_APPEND(JSON '["a", ["b"], "c"]', '$[1]', [1, 2], '$[1][1]', [3, 4], append_each_element=>FALSE), JSON_ARRAY_APPEND(JSON '["a", ["b"], "c"]', '$[1]', [1, 2], '$[1][1]', [3, 4]);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"],["","JSON"]],"rows":[["{\"a\":[1,2]}","{\"a\":[10]}","{\"a\":1}","{\"a\":1}"]]}
SELECT JSON_ARRAY_APPEND(JSON '{"a": [1]}', '$.a', 2), JSON_ARRAY_APPEND(JSON '{"a": null}', '$.a', 10), JSON_ARRAY_APPEND(JSON '{"a": 1}', '$.a', 2), JSON_ARRAY_APPEND(JSON '{"a": 1}', '$.b', 2);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"],["","JSON"]],"rows":[["[\"a\",1,[\"b\",\"c\"],\"d\"]","[\"a\",[1,\"b\",\"c\"],\"d\"]","[\"a\",1,2,\"b\",\"c\"]","[\"a\",[1,2],\"b\",\"c\"]"]]}
SELECT JSON_ARRAY_INSERT(JSON '["a", ["b", "c"], "d"]', '$[1]', 1), JSON_ARRAY_INSERT(JSON '["a", ["b", "c"], "d"]', '$[1][0]', 1), JSON_ARRAY_INSERT(JSON '["a", "b", "c"]', '$[1]', [1, 2]), JSON_ARRAY_INSERT(JSON '["a", "b", "c"]', '$[1]', [1, 2], insert_each_element=>FALSE);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"],["","JSON"],["","JSON"]],"rows":[["[\"a\",\"b\",\"c\",\"d\",null,null,null,\"e\"]","{\"a\":{}}","[1,2]","{\"a\":[null,null,10]}","1"]]}
SELECT JSON_ARRAY_INSERT(JSON '["a", "b", "c", "d"]', '$[7]', "e"), JSON_ARRAY_INSERT(JSON '{"a": {}}', '$.a[0]', 2), JSON_ARRAY_INSERT(JSON '[1, 2]', '$', 3), JSON_ARRAY_INSERT(JSON '{"a": null}', '$.a[2]', 10), JSON_ARRAY_INSERT(JSON '1', '$[0]', 'r1');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"],["","JSON"]],"rows":[["[]","[null]","[]"]]}
SELECT JSON_ARRAY_APPEND(JSON '[]', '$', CAST(NULL AS ARRAY<INT64>)), JSON_ARRAY_APPEND(JSON '[]', '$', CAST(NULL AS ARRAY<INT64>), append_each_element => FALSE), JSON_ARRAY_APPEND(JSON '[]', '$', 1, append_each_element => NULL);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT JSON_ARRAY_INSERT(JSON '[]', '$[1000000]', 1);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","JSON"],["","JSON"]],"rows":[["{}",null]]}
SELECT SAFE.JSON_SET(JSON '{}', '$[1000000]', 1), SAFE.JSON_REMOVE(JSON '{}', '$');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"error":"INVALID_ARGUMENT"}
SELECT JSON_SET(JSON '{}', '$.a', 1, create_if_missing => TRUE, create_if_missing => FALSE);
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"error":"INVALID_ARGUMENT"}
SELECT JSON_STRIP_NULLS(JSON '{}', remove_empty => TRUE, '$');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["K","INT64"],["","JSON"],["","JSON"],["","JSON"]],"rows":[["1","{\"a\":[1,null,{\"b\":null}],\"c\":{\"d\":2}}","{\"a\":[1,{}],\"c\":{\"d\":1}}","{\"a\":[1,null,{\"b\":null},\"x\"],\"c\":{\"d\":1}}"],["2",null,null,null],["3","{\"c\":{\"d\":2}}","null","null"]]}
SELECT K, JSON_SET(J, '$.c.d', 2), JSON_STRIP_NULLS(J), JSON_ARRAY_APPEND(J, '$.a', 'x') FROM T ORDER BY K;
-- The JSON to ARRAY conversions and FLOAT32 of JSON: Google's emulator of SDK 528 has the
-- arrays for PostgreSQL only and no FLOAT32; GoogleSQL's reference gives these answers
-- (an element of another kind, a JSON null among them, is an error).
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"fields":[["","ARRAY<BOOL>"],["","ARRAY<INT64>"],["","ARRAY<INT64>"],["","ARRAY<FLOAT64>"],["","ARRAY<FLOAT32>"],["","ARRAY<STRING>"]],"rows":[[[true,false],["2005","2003"],["10"],[1,2.5,1e+300],[1.5,16777216],["a","b"]]]}
SELECT BOOL_ARRAY(JSON '[true, false]'), INT64_ARRAY(JSON '[2005, 2003]'), INT64_ARRAY(JSON '[10.0]'), FLOAT64_ARRAY(JSON '[1, 2.5, 1e300]'), FLOAT32_ARRAY(JSON '[1.5, 16777217]'), STRING_ARRAY(JSON '["a", "b"]');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"fields":[["","ARRAY<BOOL>"],["","ARRAY<INT64>"],["","ARRAY<STRING>"]],"rows":[[[],null,[]]]}
SELECT BOOL_ARRAY(JSON '[]'), INT64_ARRAY(NULL), STRING_ARRAY(JSON '[]');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT BOOL_ARRAY(JSON '[123]');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT BOOL_ARRAY(JSON '[null]');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT BOOL_ARRAY(JSON 'null');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT INT64_ARRAY(JSON '[10.1]');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT INT64_ARRAY(JSON '["strawberry"]');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT INT64_ARRAY(JSON '[1e30]');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT FLOAT32_ARRAY(JSON '[1e300]');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"fields":[["","FLOAT32"],["","FLOAT32"],["","FLOAT32"]],"rows":[[9.800000190734863,16777216,null]]}
SELECT FLOAT32(JSON '9.8'), FLOAT32(JSON '16777217'), FLOAT32(NULL);
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT FLOAT32(JSON '"x"');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"error":"OUT_OF_RANGE"}
SELECT FLOAT32(JSON '1e300');
-- google-emulator-wrong: its SDK 528 build does not have this function for GoogleSQL; Spanner does
-- expect: {"fields":[["","ARRAY<INT64>"],["","FLOAT32"]],"rows":[[null,null]]}
SELECT SAFE.INT64_ARRAY(JSON '[1.5]'), SAFE.FLOAT32(JSON 'true');
-- JSON_CONTAINS: the examples of GoogleSQL's reference, then its rules (NULL gives NULL, any
-- object contains {}, any array [], a scalar only itself, numbers by value).
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","BOOL"]],"rows":[[true]]}
SELECT JSON_CONTAINS(JSON '"a"', JSON '"a"');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","BOOL"],["","BOOL"],["","BOOL"]],"rows":[[false,true,true]]}
SELECT JSON_CONTAINS(JSON '{"a": {"b": 1}, "c": 2}', JSON '{"b": 1}'), JSON_CONTAINS(JSON '{"a": {"b": 1}, "c": 2}', JSON '{"a": {"b": 1}}'), JSON_CONTAINS(JSON '{"a": {"b": 1, "d": 3}, "c": 2}', JSON '{"a": {"b": 1}}');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","BOOL"],["","BOOL"]],"rows":[[true,true]]}
SELECT JSON_CONTAINS(JSON '[1, 2, 3]', JSON '[2]'), JSON_CONTAINS(JSON '[1, 2, 3]', JSON '2');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","BOOL"],["","BOOL"],["","BOOL"]],"rows":[[false,false,true]]}
SELECT JSON_CONTAINS(JSON '[[1, 2, 3]]', JSON '2'), JSON_CONTAINS(JSON '[[1, 2, 3]]', JSON '[2]'), JSON_CONTAINS(JSON '[[1, 2, 3]]', JSON '[[2]]');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","BOOL"],["","BOOL"],["","BOOL"]],"rows":[[true,false,false]]}
SELECT JSON_CONTAINS(JSON '[{"a":0}, {"b":1, "c":2}]', JSON '[{"b":1}]'), JSON_CONTAINS(JSON '[{"a":0}, {"b":1, "c":2}]', JSON '{"b":1}'), JSON_CONTAINS(JSON '[{"a":0}, {"b":1, "c":2}]', JSON '[{"a":0, "b":1}]');
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"fields":[["","BOOL"],["","BOOL"],["","BOOL"],["","BOOL"],["","BOOL"],["","BOOL"]],"rows":[[null,true,true,true,true,true]]}
SELECT JSON_CONTAINS(NULL, JSON '1'), JSON_CONTAINS(JSON '{}', JSON '{}'), JSON_CONTAINS(JSON '[1]', JSON '[]'), JSON_CONTAINS(JSON '1', JSON '1.0'), JSON_CONTAINS(JSON 'null', JSON 'null'), JSON_CONTAINS(JSON '[1, 1]', JSON '[1, 1, 1]');
-- dml
-- google-emulator-wrong: its SDK 528 build does not have this function; Spanner's GoogleSQL does
-- expect: {"modified":1}
UPDATE T SET J = JSON_REMOVE(JSON_SET(J, '$.e', [TRUE]), '$.a[1]') WHERE K = 1;
-- query
-- google-emulator-wrong: the UPDATE above failed there (no JSON_SET)
-- expect: {"fields":[["J","JSON"]],"rows":[["{\"a\":[1,{\"b\":null}],\"c\":{\"d\":1},\"e\":[true]}"]]}
SELECT J FROM T WHERE K = 1;
