-- constraints: CHECK, NOT NULL, STRING(N) length, a foreign key both ways, a unique
-- NULL_FILTERED index, a key written twice in one INSERT: each refusal's code, and the
-- rows left
-- ddl
CREATE TABLE P (
  Id INT64 NOT NULL,
  Name STRING(10) NOT NULL,
  Qty INT64,
  CONSTRAINT qty_positive CHECK (Qty > 0),
) PRIMARY KEY (Id);
CREATE TABLE C (
  Id INT64 NOT NULL,
  PId INT64,
  CONSTRAINT fk_p FOREIGN KEY (PId) REFERENCES P (Id),
) PRIMARY KEY (Id);
CREATE UNIQUE NULL_FILTERED INDEX PByName ON P(Name);
-- dml
INSERT INTO P (Id, Name, Qty) VALUES (1, 'a', 1), (2, 'b', NULL);
INSERT INTO P (Id, Name, Qty) VALUES (3, 'c', 0);
INSERT INTO P (Id, Name, Qty) VALUES (4, 'a', 5);
INSERT INTO P (Id, Qty) VALUES (5, 5);
INSERT INTO P (Id, Name) VALUES (6, 'elevenchars');
INSERT INTO C (Id, PId) VALUES (1, 1), (2, NULL);
INSERT INTO C (Id, PId) VALUES (3, 9);
DELETE FROM P WHERE Id = 1;
UPDATE P SET Qty = -1 WHERE Id = 2;
UPDATE P SET Name = 'a' WHERE Id = 2;
UPDATE C SET PId = 2 WHERE Id = 1;
DELETE FROM P WHERE Id = 1;
INSERT INTO P (Id, Name) VALUES (1, 'z'), (1, 'y');
-- query
SELECT * FROM P ORDER BY Id;
SELECT * FROM C ORDER BY Id;
