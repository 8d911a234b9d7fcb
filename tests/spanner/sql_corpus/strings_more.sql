-- strings_more: TRIM/LTRIM/RTRIM of characters (UTF-8 sequences) or bytes, NUL bytes
-- included, and by default Unicode's White_Space (U+00A0, U+3000, not U+200B); array,
-- hashing, code point and padding functions
-- ddl
CREATE TABLE T (
  K INT64 NOT NULL,
) PRIMARY KEY (K);
-- query
SELECT TRIM('xxaxx', 'x'), TRIM(b'\x00a\x00', b'\x00'), LTRIM('  a'), RPAD('abc', 2), LPAD('é', 3, 'ü');
SELECT TO_CODE_POINTS(TRIM('\u3000a\u00a0')), TO_CODE_POINTS(TRIM('\u200ba\u2028')), TO_CODE_POINTS(TRIM('\u0085a\u180e')), TO_CODE_POINTS(LTRIM('\x1ca\x1f')), TO_CODE_POINTS(TRIM('\u2000\u200a\u202fa\u205f'));
SELECT TRIM('héé', 'é'), TRIM('abcba', 'ab'), TO_HEX(TRIM(b'\x00\x01a\x00', b'\x00\x01')), TO_HEX(RTRIM(b'a\xff\xff', b'\xff')), TRIM('aaa', ''), TRIM('', 'a'), TRIM(b'', b'');
SELECT TRIM('aa', 'a'), LTRIM('aab', 'a'), RTRIM('baa', 'a'), RTRIM(' \t\n x \r\n'), TRIM(NULL), TRIM('a', NULL), LTRIM(CAST(NULL AS BYTES), b'a');
SELECT TRIM(b'abc');
SELECT TRIM('é😀aé😀', '😀é'), RTRIM('a😀', '😀'), LTRIM('ü', 'u');
SELECT ARRAY_INCLUDES([1, 2], 2), ARRAY_INCLUDES_ANY([1, 2], [3, 2]), ARRAY_INCLUDES_ALL([1, 2], [1, 2, 2]), ARRAY_MAX([3, 1, NULL]), ARRAY_MIN(['b', 'a']);
SELECT ARRAY_SLICE([1, 2, 3, 4], 1, 2), ARRAY_SLICE([1, 2, 3, 4], -2, -1), ARRAY_FIRST([5, 6]), ARRAY_LAST([5, 6]);
SELECT ARRAY_IS_DISTINCT([1, 2, 1]), ARRAY_IS_DISTINCT([1, NULL, NULL]), ARRAY_SUM([1, 2]), ARRAY_AVG([1, 2]);
SELECT GENERATE_UUID() IS NOT NULL, LENGTH(GENERATE_UUID());
SELECT SAFE_CONVERT_BYTES_TO_STRING(b'\xff'), CODE_POINTS_TO_BYTES([65, 66]), TO_CODE_POINTS(b'AB');
SELECT SUBSTRING('hello', 2, 3), STRPOS('', ''), INSTR('aaa', 'a', -1), INSTR('aaa', 'a', 1, 3), INSTR('abc', '');
SELECT SPLIT('a', ''), ARRAY_TO_STRING(['a', NULL, 'b'], '-'), ARRAY_TO_STRING(['a', NULL], '-', '*');
SELECT BIT_COUNT(255), BIT_COUNT(-1), BIT_COUNT(b'\xff\x01');
SELECT STARTS_WITH(b'abc', b'a'), ENDS_WITH('', ''), LOWER(b'ABC'), UPPER('straße');
SELECT TRIM('xxaxx', 'x'), TRIM(b'\x00a\x00', b'\x00'), LTRIM('  a'), RPAD('abc', 2), LPAD('é', 3, 'ü');
SELECT REPEAT('', 5), REPEAT('a', 0), REVERSE('héllo'), CHAR_LENGTH('héllo'), BYTE_LENGTH('héllo');
SELECT CONCAT([1], [2]);
SELECT ARRAY_CONCAT([1], [2.5]);
SELECT LPAD('a', -1);
SELECT REPEAT('a', -1);
SELECT SPLIT('a--b--c', '--'), SPLIT('abc', 'x'), SPLIT(b'a\x00b', b'\x00'), ARRAY_LENGTH(SPLIT('', ''));
SELECT CONCAT(b'a', b'\x00'), b'a' || b'b', STRPOS(b'abc', b'c'), SUBSTR(b'abcdef', -2), SUBSTR('héllo', 2, 2);
SELECT INITCAP('hello-world foo_bar'), INITCAP('ÉCOLE élève', ' '), INITCAP(''), SOUNDEX('Robert'), SOUNDEX('Tymczak'), SOUNDEX('');
SELECT REPLACE('aaa', 'aa', 'b'), REPLACE('abc', '', 'x'), REPLACE(b'aXa', b'X', b'');
SELECT REGEXP_REPLACE('abc', 'b', '\\0\\0'), REGEXP_REPLACE('a.b', r'\.', '-'), REGEXP_EXTRACT('ab12', r'([a-z]+)(\d+)'), REGEXP_EXTRACT_ALL('a1b2', r'[a-z](\d)');
SELECT REGEXP_CONTAINS('abc', r'(?i)B'), REGEXP_CONTAINS('', ''), REGEXP_EXTRACT('abc', 'x'), REGEXP_REPLACE('', '^', 'x');
SELECT REGEXP_EXTRACT('abc', '(a)(b)');
SELECT NORMALIZE('e\u0301') = 'é', NORMALIZE_AND_CASEFOLD('ǅ', NFKC), LENGTH(NORMALIZE('ﬁ', NFKD));
SELECT SAFE_CONVERT_BYTES_TO_STRING(b'a\xffb'), TO_CODE_POINTS(SAFE_CONVERT_BYTES_TO_STRING(b'\xc3'));
SELECT LPAD('abc', 5, ''), RPAD('', 3, 'ab'), LPAD('abcdef', 3), REPEAT('ab', 3), REVERSE(b'\x01\x02');
SELECT LPAD('a', 3, '');
SELECT STARTS_WITH('', ''), ENDS_WITH('abc', ''), STRPOS('abc', ''), INSTR('banana', 'ana', 3), INSTR('banana', 'ana', -1, 1);
SELECT LOWER('ÀÉÎ'), UPPER('ǆ'), LOWER('İ'), LENGTH(LOWER('İ'));
SELECT TO_HEX(b''), FROM_HEX('0A0b'), FROM_HEX('abc'), TO_BASE64(b'\xff\xfe'), FROM_BASE64('/+8=');
SELECT FROM_HEX('zz');
SELECT FROM_BASE64('@@');
SELECT CODE_POINTS_TO_STRING([0x1F600, 65]), CODE_POINTS_TO_BYTES([255, 0]), TO_CODE_POINTS(b'\xff');
SELECT CODE_POINTS_TO_STRING([55296]);
SELECT BYTE_LENGTH(b''), CHAR_LENGTH(''), CHARACTER_LENGTH('abc'), LENGTH(NULL), OCTET_LENGTH('é');
