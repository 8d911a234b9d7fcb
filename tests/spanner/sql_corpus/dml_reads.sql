-- dml_reads: DML over defaults, a STORED generated column, a unique index, an interleaved
-- child, UPDATE from subqueries, ARRAY_CONCAT onto a NULL array, THEN RETURN, INSERT OR
-- UPDATE/IGNORE; NUMERIC columns written from decimal literals
-- ddl
CREATE TABLE Accounts (
  Id INT64 NOT NULL,
  Owner STRING(50) NOT NULL,
  Balance NUMERIC NOT NULL DEFAULT (0),
  Kind STRING(10) DEFAULT ('basic'),
  Created TIMESTAMP OPTIONS (allow_commit_timestamp = true),
  Tags ARRAY<STRING(20)>,
  Upper STRING(50) AS (UPPER(Owner)) STORED,
) PRIMARY KEY (Id);
CREATE TABLE Moves (
  Id INT64 NOT NULL,
  Seq INT64 NOT NULL,
  Amount NUMERIC,
) PRIMARY KEY (Id, Seq), INTERLEAVE IN PARENT Accounts ON DELETE CASCADE;
CREATE UNIQUE INDEX AccountsByOwner ON Accounts(Owner);
-- dml
INSERT INTO Accounts (Id, Owner) VALUES (1, 'ann');
INSERT INTO Accounts (Id, Owner, Balance, Kind, Tags) VALUES (2, 'bob', NUMERIC '10.5', 'gold', ['a', 'b']), (3, 'cyd', 3, DEFAULT, NULL);
INSERT INTO Accounts (Id, Owner) VALUES (4, 'ann');
INSERT INTO Accounts (Id, Owner, Upper) VALUES (5, 'eve', 'X');
INSERT INTO Accounts (Id, Owner, Balance) VALUES (6, 'fay', NULL);
INSERT INTO Accounts (Id, Owner) SELECT x + 10, CONCAT('u', CAST(x AS STRING)) FROM UNNEST([1, 2, 3]) AS x;
INSERT INTO Moves (Id, Seq, Amount) VALUES (2, 1, 5), (2, 2, -1.5), (3, 1, 3);
INSERT INTO Moves (Id, Seq, Amount) VALUES (99, 1, 1);
UPDATE Accounts SET Balance = Balance + (SELECT IFNULL(SUM(Amount), 0) FROM Moves m WHERE m.Id = Accounts.Id), Kind = 'active' WHERE Id IN (SELECT Id FROM Moves);
UPDATE Accounts SET Tags = ARRAY_CONCAT(IFNULL(Tags, []), ['new']) WHERE Id = 3;
UPDATE Accounts a SET a.Owner = 'zed' WHERE a.Id = 11;
UPDATE Accounts SET Owner = 'bob' WHERE Id = 12;
UPDATE Accounts SET Id = 100 WHERE Id = 13;
DELETE FROM Accounts WHERE Id = 2;
DELETE Accounts WHERE Owner LIKE 'u%';
UPDATE Accounts SET Balance = 1 WHERE true;
-- query
SELECT Id, Owner, Balance, Kind, Tags, Upper FROM Accounts ORDER BY Id;
SELECT COUNT(*) FROM Moves;
SELECT Id, Owner FROM Accounts@{FORCE_INDEX=AccountsByOwner} WHERE Owner > 'a' ORDER BY Owner;
-- dml
INSERT INTO Accounts (Id, Owner, Kind) VALUES (20, 'gil', 'x') THEN RETURN Id, Upper, Balance, Kind;
UPDATE Accounts SET Balance = Balance * 2 WHERE Id = 20 THEN RETURN *;
DELETE FROM Accounts WHERE Id = 20 THEN RETURN Owner, Balance + 1 AS b;
INSERT OR UPDATE INTO Accounts (Id, Owner, Balance) VALUES (1, 'ann2', 7), (21, 'hal', 8);
INSERT OR IGNORE INTO Accounts (Id, Owner) VALUES (1, 'nope');
INSERT OR UPDATE INTO Accounts (Id, Upper) VALUES (1, 'no');
-- query
SELECT Id, Owner, Balance, Kind, Upper FROM Accounts ORDER BY Id;
