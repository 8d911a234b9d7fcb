-- reads: the read API by primary key and by index (ranges, prefixes, DESC keys, limits, STORING)
-- ddl
CREATE TABLE R (A INT64 NOT NULL, B STRING(MAX) NOT NULL, V INT64, W STRING(MAX)) PRIMARY KEY (A, B DESC);
CREATE INDEX RByV ON R(V) STORING (W);
CREATE NULL_FILTERED INDEX RByW ON R(W DESC);
CREATE UNIQUE INDEX RByVW ON R(V, W);
CREATE INDEX RByVW2 ON R(V, W);
-- dml
INSERT INTO R (A, B, V, W) VALUES (1, 'a', 10, 'x'), (1, 'b', 20, NULL), (1, 'c', 10, 'y'), (2, 'a', NULL, 'z'), (3, 'z', 30, 'x2');
-- read
{"table": "R", "columns": ["A", "B"], "keySet": {"all": true}};
{"table": "R", "columns": ["A", "B"], "keySet": {"ranges": [{"startClosed": ["1"], "endClosed": ["1"]}]}};
{"table": "R", "columns": ["A", "B"], "keySet": {"ranges": [{"startClosed": ["1", "b"], "endClosed": ["2"]}]}};
{"table": "R", "columns": ["A", "B"], "keySet": {"ranges": [{"startOpen": ["1", "b"], "endOpen": ["3"]}]}};
{"table": "R", "columns": ["A", "B"], "keySet": {"keys": [["1", "c"], ["1", "a"], ["9", "q"]]}};
{"table": "R", "columns": ["A", "B"], "keySet": {"keys": [["1", "c"], ["1", "c"]]}};
{"table": "R", "columns": ["A", "B"], "keySet": {"all": true}, "limit": "2"};
{"table": "R", "columns": ["A", "B"], "keySet": {"ranges": [{"startClosed": [], "endClosed": []}]}};
{"table": "R", "columns": ["V", "A", "B"], "index": "RByV", "keySet": {"all": true}};
{"table": "R", "columns": ["V", "W"], "index": "RByV", "keySet": {"keys": [["10"]]}};
{"table": "R", "columns": ["V", "W"], "index": "RByV", "keySet": {"ranges": [{"startClosed": ["10"], "endOpen": ["30"]}]}};
{"table": "R", "columns": ["V", "A"], "index": "RByV", "keySet": {"keys": [[null]]}};
{"table": "R", "columns": ["W"], "index": "RByW", "keySet": {"all": true}};
{"table": "R", "columns": ["W"], "index": "RByW", "keySet": {"ranges": [{"startClosed": ["y"], "endClosed": ["x"]}]}};
{"table": "R", "columns": ["V", "W"], "index": "RByVW", "keySet": {"keys": [["10", "x"]]}};
{"table": "R", "columns": ["V", "W"], "index": "RByVW", "keySet": {"keys": [["10"]]}};
{"table": "R", "columns": ["V", "W"], "index": "RByVW", "keySet": {"all": true}, "limit": "1"};
{"table": "R", "columns": ["V"], "index": "RByV", "keySet": {"keys": [["10", "1", "a", "extra"]]}};
{"table": "R", "columns": ["A"], "keySet": {"ranges": [{"startClosed": ["1"]}]}};
{"table": "R", "columns": ["A"], "keySet": {"ranges": [{"startClosed": ["1"], "startOpen": ["1"], "endClosed": ["2"]}]}};
{"table": "Nope", "columns": ["A"], "keySet": {"all": true}};
{"table": "R", "columns": ["A", "A"], "keySet": {"all": true}};
{"table": "R", "columns": ["a", "b"], "keySet": {"keys": [["1", "a"]]}};
{"table": "R", "columns": ["V", "A", "B"], "index": "RByV", "keySet": {"keys": [["10", "1", "a"]]}};
{"table": "R", "columns": ["V", "A", "B"], "index": "RByV", "keySet": {"keys": [["10", "1"]]}};
{"table": "R", "columns": ["V", "A", "B"], "index": "RByVW2", "keySet": {"keys": [["10"]]}};
{"table": "R", "columns": ["V", "A", "B"], "index": "RByVW2", "keySet": {"keys": [["10", "x"]]}};
{"table": "R", "columns": ["V", "A", "B"], "index": "RByVW2", "keySet": {"keys": [["10", "x", "1", "a"]]}};
