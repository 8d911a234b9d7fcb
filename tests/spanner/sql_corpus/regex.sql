-- regex: REGEXP_* on RE2's syntax and semantics, where other dialects answer otherwise:
-- leftmost-first alternation, UTF-8 characters for STRING and bytes for BYTES, empty
-- matches, flags, classes, escapes, refusals, and patterns that make a backtracking
-- matcher take exponential time
-- ddl
CREATE TABLE Texts (Id INT64 NOT NULL, S STRING(MAX), B BYTES(MAX)) PRIMARY KEY (Id);
-- dml
INSERT INTO Texts (Id, S, B) VALUES (1, 'héllo wörld', b'h\xc3\xa9llo'), (2, 'a\nb', b'\x00\xff\x80'), (3, '', b''), (4, 'Grüße, 東京!', b'abc');
-- query
SELECT Id, REGEXP_EXTRACT(S, 'h.'), REGEXP_EXTRACT(B, b'h.'), REGEXP_CONTAINS(S, '^.+$'), REGEXP_CONTAINS(S, '(?s)^.+$') FROM Texts;
SELECT Id, REGEXP_EXTRACT_ALL(S, r'\w+'), REGEXP_EXTRACT_ALL(S, r'\pL+'), REGEXP_EXTRACT_ALL(S, r'[[:alpha:]]+') FROM Texts;
SELECT Id, REGEXP_REPLACE(S, '', '.'), REGEXP_REPLACE(B, b'', b'.'), REGEXP_EXTRACT_ALL(B, b'\\C') FROM Texts;
SELECT Id, REGEXP_CONTAINS(S, '(?m)^b$'), REGEXP_CONTAINS(S, '^b$'), REGEXP_EXTRACT(S, r'(?i)WÖR'), REGEXP_EXTRACT(S, '\\x{6771}.') FROM Texts;
SELECT REGEXP_EXTRACT('abcd', 'a|ab'), REGEXP_EXTRACT('abcd', '(a|ab)(c|bcd)'), REGEXP_EXTRACT('aaa', 'a*?'), REGEXP_EXTRACT('aaa', '(?U)a+');
SELECT REGEXP_EXTRACT_ALL('aaa', 'a*?'), REGEXP_EXTRACT_ALL('abab', 'b*'), REGEXP_REPLACE('abc', 'b|', '-'), REGEXP_REPLACE('aaa', 'a*', 'x');
SELECT REGEXP_EXTRACT('x=1', r'(?P<key>\w)='), REGEXP_EXTRACT('a.b', r'\Q.\E'), REGEXP_EXTRACT('a1', r'[\d]'), REGEXP_EXTRACT('tab	x', r'\t(.)');
SELECT REGEXP_EXTRACT('A', r'\101'), REGEXP_CONTAINS('ab', r'\bb'), REGEXP_CONTAINS('a b', r'\bb'), REGEXP_EXTRACT('a{,2}', 'a{,2}'), REGEXP_EXTRACT('aaaa', 'a{2,3}');
SELECT REGEXP_REPLACE('john smith', r'(\w+) (\w+)', r'\2 \1 \0 \\'), REGEXP_REPLACE('ab', '(x)?b', r'[\1]'), REGEXP_REPLACE('Grüße', 'ü', 'ue');
SELECT REGEXP_CONTAINS(CONCAT(REPEAT('ab', 2000), '!'), r'^(ab|a|b)*$'), REGEXP_CONTAINS(REPEAT('ab', 2000), r'^(ab|a|b)*$');
SELECT REGEXP_EXTRACT(CONCAT(REPEAT('a', 3000), '!'), r'(a+)+$'), LENGTH(REGEXP_REPLACE(CONCAT(REPEAT('a', 3000), '!'), r'(a+)+$', 'x'));
SELECT REGEXP_CONTAINS(REPEAT('a', 5000), 'a{0,1000}a{0,1000}a{0,1000}a{0,1000}a{0,1000}b');
SELECT REGEXP_CONTAINS('a', '(');
SELECT REGEXP_CONTAINS('a', 'a)');
SELECT REGEXP_CONTAINS('a', '[a');
SELECT REGEXP_CONTAINS('ab', '(?<=a)b');
SELECT REGEXP_CONTAINS('ab', '(?<n>a)b');
SELECT REGEXP_CONTAINS('aa', 'a++');
SELECT REGEXP_CONTAINS('aa', 'a{1001}');
SELECT REGEXP_CONTAINS('aa', '(a{1000}){2}');
SELECT REGEXP_CONTAINS('a', r'\Z');
SELECT REGEXP_CONTAINS('a', r'\8');
SELECT REGEXP_CONTAINS(b'a', b'\xff(');
SELECT REGEXP_EXTRACT('ab', '(a)(b)');
SELECT REGEXP_REPLACE('ab', 'a', r'\2');
SELECT REGEXP_REPLACE('ab', 'a', r'\x');
