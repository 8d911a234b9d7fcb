-- txoptions: TransactionOptions and TransactionSelector as the API checks them (timestamp
-- bounds, single-use-only bounds, enums, oneofs, ids)
-- ddl
CREATE TABLE T (Id INT64 NOT NULL) PRIMARY KEY (Id);
-- tx
BEGIN {"readOnly": {"maxStaleness": "10s"}};
-- tx
BEGIN {"readOnly": {"minReadTimestamp": "2020-01-01T00:00:00Z"}};
-- tx
BEGIN {"readOnly": {"exactStaleness": "0s"}};
SELECT 1;
-- tx
BEGIN {"readOnly": {"exactStaleness": "-1s"}};
-- tx
BEGIN {"readOnly": {"strong": true, "exactStaleness": "1s"}};
-- tx
BEGIN {"readOnly": {"readTimestamp": "not a time"}};
-- tx
BEGIN {"readOnly": {}};
SELECT 1;
-- tx
BEGIN {"readOnly": {"returnReadTimestamp": true}};
-- tx
BEGIN {"readWrite": {"readLockMode": "OPTIMISTIC"}};
SELECT 1;
-- tx
BEGIN {"readWrite": {"readLockMode": "BOGUS"}};
-- tx
-- google-emulator-wrong: excludeTxnFromChangeStreams is a field of google.spanner.v1.TransactionOptions in Spanner's API (gcloud 528's spanner v1 client lists it); Google's emulator does not know it
-- expect: {"began":true}
BEGIN {"partitionedDml": {}, "excludeTxnFromChangeStreams": true};
-- tx
BEGIN {"readOnly": {}, "excludeTxnFromChangeStreams": true};
-- tx
-- google-emulator-wrong: isolationLevel is a field of google.spanner.v1.TransactionOptions in Spanner's API (gcloud 528's spanner v1 client lists it); Google's emulator does not know it
-- expect: {"began":true}
BEGIN {"readWrite": {}, "isolationLevel": "SERIALIZABLE"};
-- tx
-- google-emulator-wrong: isolationLevel is a field of google.spanner.v1.TransactionOptions in Spanner's API (gcloud 528's spanner v1 client lists it); Google's emulator does not know it
-- expect: {"began":true}
BEGIN {"readWrite": {}, "isolationLevel": "REPEATABLE_READ"};
-- tx
-- google-emulator-wrong: isolationLevel is a field of google.spanner.v1.TransactionOptions in Spanner's API (gcloud 528's spanner v1 client lists it); Google's emulator does not know it
-- expect: {"began":true}
BEGIN {"readOnly": {}, "isolationLevel": "REPEATABLE_READ"};
-- tx
BEGIN {"readWrite": {}, "isolationLevel": "NOPE"};
-- query
-- params: {"transaction": {"singleUse": {"readOnly": {"maxStaleness": "10s"}}}}
SELECT 1;
-- params: {"transaction": {"singleUse": {"readOnly": {"maxStaleness": "-10s"}}}}
SELECT 1;
-- params: {"transaction": {"singleUse": {"readOnly": {"minReadTimestamp": "2020-01-01T00:00:00Z"}}}}
SELECT 1;
-- params: {"transaction": {"singleUse": {"readOnly": {"strong": true, "maxStaleness": "1s"}}}}
SELECT 1;
-- params: {"transaction": {"singleUse": {"readWrite": {}}}}
SELECT 1;
-- params: {"transaction": {"singleUse": {"readOnly": {"readTimestamp": "bad"}}}}
SELECT 1;
-- params: {"transaction": {"id": "not base64!"}}
SELECT 1;
-- params: {"transaction": {"begin": {"readOnly": {"maxStaleness": "1s"}}}}
SELECT 1;
-- params: {"transaction": {"begin": {"readWrite": {"readLockMode": "PESSIMISTIC"}}}}
SELECT 1;
