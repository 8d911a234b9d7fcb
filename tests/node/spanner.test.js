'use strict';
// Cloud Spanner through Google's @google-cloud/spanner generated clients (v1.SpannerClient,
// v1.InstanceAdminClient, v1.DatabaseAdminClient) over their REST transport: instance
// configs, instances and databases with their long-running operations polled by the
// library, databases and backups under customer-managed keys, DDL, IAM, sessions, every
// data-plane method, restore, and a database whose key is switched off and on.
//
// Two quirks of the library, not of the emulator (Google behaves the same):
// - google-gax's REST encoder turns an array nested in an array into an object keyed
//   "0", "1", ...: a mutation's `values` (rows of values) and a KeySet's `keys` (keys of
//   parts) arrive mangled, and Spanner refuses them. The tests check that refusal, write
//   rows with DML through executeSql, and read by key ranges (one level of arrays). An
//   ARRAY<STRUCT> parameter (a list of lists) is mangled the same way.
// - enums go as proto numbers (`{"code": 2}` for INT64, `encryptionType=3` in the query
//   string of createBackup); both must work as at Google.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {RUN, Code, rejectsWith, control, kmsClient, spannerClients} = require('./lib/emulator.js');

const PROJECT = 'node-spanner-project';
const REGION = 'us-central1';
const NOT_ACCESSIBLE = 'KMS key required by the Spanner resource is not accessible.';
const SINGERS_DDL = 'CREATE TABLE Singers (SingerId INT64 NOT NULL, Name STRING(MAX), ' +
                    'Tags ARRAY<STRING(MAX)>, Score FLOAT64) PRIMARY KEY (SingerId)';

// A google.protobuf.Value as the library decodes it, as plain JavaScript.
function plain(value) {
  switch (value.kind) {
    case 'nullValue': return null;
    case 'listValue': return value.listValue.values.map(plain);
    default: return value[value.kind];
  }
}

// The rows of a ResultSet as arrays of plain values.
function rowsOf(resultSet) {
  return resultSet.rows.map(row => row.values.map(plain));
}

// Collects a server stream (executeStreamingSql, streamingRead) into its messages.
function collect(stream) {
  return new Promise((resolve, reject) => {
    const messages = [];
    stream.on('data', message => messages.push(message)).on('end', () => resolve(messages)).on('error', reject);
  });
}

// The rows of a stream of PartialResultSets: their values, in order, cut by the column
// count of the first one's metadata (no chunked values at these sizes).
function rowsOfStream(partials) {
  const columns = partials[0].metadata.rowType.fields.length;
  const values = partials.flatMap(partial => partial.values.map(plain));
  const rows = [];
  for (let i = 0; i < values.length; i += columns) rows.push(values.slice(i, i + columns));
  return rows;
}

const seconds = timestamp => Number(timestamp.seconds);

// What operation.promise() resolves to is a protobuf.js message whose enums are numbers
// (the library decodes the operation's Any itself); its toJSON() gives them their names,
// as every other call returns them.
const named = message => message.toJSON();

describe('Cloud Spanner through @google-cloud/spanner v1 clients (REST)', () => {
  let kms;
  let spanner;
  let instances;
  let databases;
  const ringId = `spanner-ring-${RUN}`;
  const instanceId = `inst-${RUN}`;
  const project = `projects/${PROJECT}`;
  const instance = `${project}/instances/${instanceId}`;
  const database = `${instance}/databases/orders`;
  const restored = `${instance}/databases/orders-restored`;
  const backup = `${instance}/backups/b1`;
  const backupCopy = `${instance}/backups/b1-copy`;
  const keys = {};
  let session;

  // sql(text, options): executeSql in this test's session; its ResultSet.
  async function sql(text, options = {}) {
    const [resultSet] = await spanner.executeSql({session: session.name, sql: text, ...options});
    return resultSet;
  }

  // dml(statements...): each statement in one read-write transaction begun inline by the
  // first, then committed; their row counts.
  async function dml(...statements) {
    let transactionId;
    const counts = [];
    for (const [seqno, statement] of statements.entries()) {
      const transaction = transactionId ? {id: transactionId} : {begin: {readWrite: {}}};
      const resultSet = await sql(statement, {transaction, seqno: seqno + 1});
      transactionId = transactionId || resultSet.metadata.transaction.id;
      counts.push(Number(resultSet.stats.rowCountExact));
    }
    await spanner.commit({session: session.name, transactionId});
    return counts;
  }

  async function setVersionState(key, state) {
    const [version] = await kms.updateCryptoKeyVersion({
      cryptoKeyVersion: {name: `${key}/cryptoKeyVersions/1`, state}, updateMask: {paths: ['state']}});
    assert.equal(version.state, state);
  }

  before(async () => {
    kms = kmsClient();
    ({spanner, instances, databases} = spannerClients());
    await kms.createKeyRing({parent: kms.locationPath(PROJECT, REGION), keyRingId: ringId, keyRing: {}});
    await kms.createKeyRing({parent: kms.locationPath(PROJECT, 'us-east1'), keyRingId: ringId, keyRing: {}});
    for (const [id, location] of [['db-key', REGION], ['backup-key', REGION], ['restore-key', REGION],
                                  ['east-key', 'us-east1']]) {
      const [key] = await kms.createCryptoKey({
        parent: kms.keyRingPath(PROJECT, location, ringId), cryptoKeyId: id, cryptoKey: {purpose: 'ENCRYPT_DECRYPT'}});
      keys[id] = key.name;
    }
  });
  after(async () => {
    await kms.close();
    await spanner.close();
    await instances.close();
    await databases.close();
  });

  describe('instance configs and instances', () => {
    it('listInstanceConfigs and getInstanceConfig: regional configs, multi-region ones with replicas', async () => {
      const configs = [];
      for await (const config of instances.listInstanceConfigsAsync({parent: project})) configs.push(config);
      const ids = configs.map(config => config.name.split('/').pop());
      for (const id of ['emulator-config', `regional-${REGION}`, 'regional-europe-west1', 'nam3', 'eur3']) {
        assert.ok(ids.includes(id), `${id} missing from ${ids.join(',')}`);
      }
      const [regional] = await instances.getInstanceConfig({name: `${project}/instanceConfigs/regional-${REGION}`});
      assert.deepEqual([...new Set(regional.replicas.map(replica => replica.location))], [REGION]);
      assert.deepEqual(regional.leaderOptions, [REGION]);
      const [nam3] = await instances.getInstanceConfig({name: `${project}/instanceConfigs/nam3`});
      assert.ok(new Set(nam3.replicas.map(replica => replica.location)).size > 1,
                `nam3 has replicas in several regions: ${JSON.stringify(nam3.replicas)}`);
      await rejectsWith(instances.getInstanceConfig({name: `${project}/instanceConfigs/regional-mars1`}),
                        Code.NOT_FOUND);
    });

    it('createInstance: an operation the library polls to the READY instance', async () => {
      const [operation] = await instances.createInstance({
        parent: project, instanceId,
        instance: {config: `${project}/instanceConfigs/regional-${REGION}`, displayName: 'Node Instance', nodeCount: 1}});
      assert.match(operation.name, new RegExp(`^${instance}/operations/`));
      const [result, metadata] = await operation.promise();
      const created = named(result);
      assert.equal(created.name, instance);
      assert.equal(created.state, 'READY');
      assert.equal(created.displayName, 'Node Instance');
      assert.equal(created.nodeCount, 1);
      assert.equal(created.processingUnits, 1000);
      assert.equal(metadata.instance.name, instance);
      const [polled] = await instances.getOperation({name: operation.name});
      assert.equal(polled.done, true);
    });

    it('getInstance, listInstances, and updateInstance through its operation', async () => {
      const [got] = await instances.getInstance({name: instance});
      assert.equal(got.config, `${project}/instanceConfigs/regional-${REGION}`);
      // fieldMask: only the fields it names come back
      const [masked] = await instances.getInstance({name: instance, fieldMask: {paths: ['display_name']}});
      assert.equal(masked.displayName, got.displayName);
      assert.ok(!masked.config && !masked.name, 'the fields the mask does not name are absent');
      const [listed] = await instances.listInstances({parent: project});
      assert.ok(listed.some(i => i.name === instance));

      const [operation] = await instances.updateInstance({
        instance: {name: instance, displayName: 'Renamed Instance', nodeCount: 2},
        fieldMask: {paths: ['display_name', 'node_count']}});
      const updated = named((await operation.promise())[0]);
      assert.equal(updated.displayName, 'Renamed Instance');
      assert.equal(updated.nodeCount, 2);
      assert.equal(updated.processingUnits, 2000);
      assert.equal((await instances.getInstance({name: instance}))[0].displayName, 'Renamed Instance');
      await rejectsWith(instances.getInstance({name: `${project}/instances/no-such-instance`}), Code.NOT_FOUND);
    });

    it('instance IAM: setIamPolicy, getIamPolicy, testIamPermissions', async () => {
      const binding = {role: 'roles/spanner.databaseReader', members: ['user:alice@example.com']};
      const [set] = await instances.setIamPolicy({resource: instance, policy: {bindings: [binding]}});
      assert.deepEqual(set.bindings.map(b => [b.role, b.members]), [[binding.role, binding.members]]);
      const [got] = await instances.getIamPolicy({resource: instance});
      assert.deepEqual(got.bindings.map(b => [b.role, b.members]), [[binding.role, binding.members]]);
      const [v3] = await instances.getIamPolicy({resource: instance, options: {requestedPolicyVersion: 3}});
      assert.equal(v3.version, 1, 'a policy without conditions is version 1, whatever was asked');
      await rejectsWith(instances.getIamPolicy({resource: instance, options: {requestedPolicyVersion: 2}}),
                        Code.INVALID_ARGUMENT);
      assert.deepEqual(Buffer.from(got.etag), Buffer.from(set.etag));
      const [allowed] = await instances.testIamPermissions({
        resource: instance, permissions: ['spanner.instances.get', 'spanner.databases.create']});
      assert.deepEqual(allowed.permissions.sort(), ['spanner.databases.create', 'spanner.instances.get']);
    });

    it('user-managed instance configs: create, get, update with the etag, operations, moveInstance, delete', async () => {
      const configId = `custom-node-${RUN}`;
      const configName = `${project}/instanceConfigs/${configId}`;
      const [base] = await instances.getInstanceConfig({name: `${project}/instanceConfigs/nam3`});
      assert.ok(base.optionalReplicas.some(r => r.location === 'us-west1'), 'nam3 offers us-west1 read-only');
      const added = base.optionalReplicas.find(r => r.location === 'us-west1');
      const [operation] = await instances.createInstanceConfig({
        parent: project, instanceConfigId: configId,
        instanceConfig: {name: configName, baseConfig: base.name, displayName: 'Node config',
                         replicas: [...base.replicas, added], labels: {from: 'node'}}});
      assert.match(operation.name, new RegExp(`^${configName}/operations/`));
      const [created, metadata] = await operation.promise();
      assert.equal(named(created).state, 'READY');
      assert.equal(named(created).configType, 'USER_MANAGED');
      assert.equal(metadata.instanceConfig.name, configName);
      const [got] = await instances.getInstanceConfig({name: configName});
      assert.deepEqual(got.replicas.map(r => r.location), ['us-east4', 'us-east1', 'us-central1', 'us-west1']);
      assert.equal(got.baseConfig, base.name);

      const [update] = await instances.updateInstanceConfig({
        instanceConfig: {name: configName, displayName: 'Node renamed', etag: got.etag},
        updateMask: {paths: ['display_name']}});
      assert.equal(named((await update.promise())[0]).displayName, 'Node renamed');
      await rejectsWith(instances.updateInstanceConfig({
        instanceConfig: {name: configName, displayName: 'Stale', etag: got.etag},
        updateMask: {paths: ['display_name']}}), Code.ABORTED);
      await rejectsWith(instances.createInstanceConfig({
        parent: project, instanceConfigId: `custom-bad-${RUN}`,
        instanceConfig: {baseConfig: base.name, displayName: 'Bad', replicas: [added]}}), Code.INVALID_ARGUMENT);

      const ops = [];
      for await (const op of instances.listInstanceConfigOperationsAsync({parent: project})) ops.push(op);
      assert.equal(ops.filter(op => op.name.startsWith(`${configName}/operations/`)).length, 2);

      // moveInstance: an instance without databases moves to the new config
      const moving = `${project}/instances/move-${RUN}`;
      const [created2] = await instances.createInstance({
        parent: project, instanceId: `move-${RUN}`,
        instance: {config: `${project}/instanceConfigs/regional-${REGION}`, displayName: 'Node move', nodeCount: 1}});
      await created2.promise();
      const [move] = await instances.moveInstance({name: moving, targetConfig: configName});
      await move.promise(); // a MoveInstanceResponse, empty
      assert.equal((await instances.getInstance({name: moving}))[0].config, configName);
      await rejectsWith(instances.deleteInstanceConfig({name: configName}), Code.FAILED_PRECONDITION);
      await instances.deleteInstance({name: moving});
      await instances.deleteInstanceConfig({name: configName});
      await rejectsWith(instances.getInstanceConfig({name: configName}), Code.NOT_FOUND);
    });

    it('instance partitions: create on an Enterprise Plus instance, list, update, operations, delete', async () => {
      const owner = `${project}/instances/parts-${RUN}`;
      const [made] = await instances.createInstance({
        parent: project, instanceId: `parts-${RUN}`,
        instance: {config: `${project}/instanceConfigs/regional-${REGION}`, displayName: 'Node parts',
                   nodeCount: 1, edition: 'ENTERPRISE_PLUS'}});
      await made.promise();
      const partition = `${owner}/instancePartitions/p1`;
      const [operation] = await instances.createInstancePartition({
        parent: owner, instancePartitionId: 'p1',
        instancePartition: {config: `${project}/instanceConfigs/regional-us-east1`,
                            displayName: `Node part ${RUN}`.slice(0, 30), nodeCount: 1}});
      const [created] = await operation.promise();
      assert.equal(named(created).state, 'READY');
      const [listed] = await instances.listInstancePartitions({parent: owner});
      assert.deepEqual(listed.map(p => p.name), [partition]);
      const [update] = await instances.updateInstancePartition({
        instancePartition: {name: partition, processingUnits: 2000}, fieldMask: {paths: ['processing_units']}});
      assert.equal(named((await update.promise())[0]).processingUnits, 2000);
      const [ops] = await instances.listInstancePartitionOperations({parent: owner});
      assert.equal(ops.length, 2);
      await instances.deleteInstancePartition({name: partition});
      await rejectsWith(instances.getInstancePartition({name: partition}), Code.NOT_FOUND);
      await instances.deleteInstance({name: owner});
    });
  });

  describe('databases', () => {
    it('createDatabase with encryptionConfig and extraStatements, polled to READY', async () => {
      const [operation] = await databases.createDatabase({
        parent: instance, createStatement: 'CREATE DATABASE `orders`', extraStatements: [SINGERS_DDL],
        encryptionConfig: {kmsKeyName: keys['db-key']}});
      const [result, metadata] = await operation.promise();
      const created = named(result);
      assert.equal(created.name, database);
      assert.equal(created.state, 'READY');
      assert.equal(created.encryptionConfig.kmsKeyName, keys['db-key']);
      assert.equal(metadata.database, database);
    });

    it('getDatabase shows encryptionInfo with the key version in use; listDatabases lists it', async () => {
      const [got] = await databases.getDatabase({name: database});
      assert.equal(got.databaseDialect, 'GOOGLE_STANDARD_SQL');
      assert.deepEqual(got.encryptionInfo.map(info => [info.encryptionType, info.kmsKeyVersion]),
                       [['CUSTOMER_MANAGED_ENCRYPTION', `${keys['db-key']}/cryptoKeyVersions/1`]]);
      const [listed] = await databases.listDatabases({parent: instance});
      assert.deepEqual(listed.map(db => db.name), [database]);
      const {protectedResources} = await control('/emulator/v1/protectedResources?service=spanner');
      const resource = protectedResources.find(r => r.name === database);
      assert.equal(resource && resource.kmsKeyName, keys['db-key']);
    });

    it('createDatabase refuses a key outside the config\'s region (naming both) and the PostgreSQL dialect', async () => {
      await assert.rejects(databases.createDatabase({
        parent: instance, createStatement: 'CREATE DATABASE `east`', encryptionConfig: {kmsKeyName: keys['east-key']}}),
                           error => {
                             assert.equal(error.code, Code.INVALID_ARGUMENT, error.message);
                             assert.ok(error.message.includes('us-east1') && error.message.includes(REGION), error.message);
                             return true;
                           });
      await rejectsWith(databases.createDatabase({
        parent: instance, createStatement: 'CREATE DATABASE "pg"', databaseDialect: 'POSTGRESQL'}), Code.UNIMPLEMENTED);
      await rejectsWith(databases.getDatabase({name: `${instance}/databases/east`}), Code.NOT_FOUND);
    });

    it('updateDatabaseDdl: an operation with the statements and a commit timestamp each; getDatabaseDdl', async () => {
      const statements = ['ALTER TABLE Singers ADD COLUMN Age INT64', 'CREATE INDEX SingersByName ON Singers(Name)'];
      const [operation] = await databases.updateDatabaseDdl({database, statements});
      await operation.promise();
      assert.deepEqual(operation.metadata.statements, statements);
      assert.equal(operation.metadata.commitTimestamps.length, 2);
      assert.equal(operation.metadata.database, database);
      const [ddl] = await databases.getDatabaseDdl({database});
      assert.deepEqual(ddl.statements, [
        'CREATE TABLE Singers (\n  SingerId INT64 NOT NULL,\n  Name STRING(MAX),\n  Tags ARRAY<STRING(MAX)>,\n' +
          '  Score FLOAT64,\n  Age INT64,\n) PRIMARY KEY(SingerId)',
        'CREATE INDEX SingersByName ON Singers(Name)',
      ]);
      await rejectsWith(databases.updateDatabaseDdl({database, statements: ['CREATE TABLE Broken (']}),
                        Code.INVALID_ARGUMENT);
    });

    it('database IAM, and listDatabaseOperations / getOperation', async () => {
      const binding = {role: 'roles/spanner.databaseUser', members: ['user:bob@example.com']};
      await databases.setIamPolicy({resource: database, policy: {bindings: [binding]}});
      const [got] = await databases.getIamPolicy({resource: database});
      assert.deepEqual(got.bindings.map(b => [b.role, b.members]), [[binding.role, binding.members]]);
      const [allowed] = await databases.testIamPermissions({
        resource: database, permissions: ['spanner.databases.read', 'spanner.databases.write']});
      assert.deepEqual(allowed.permissions.sort(), ['spanner.databases.read', 'spanner.databases.write']);

      const [operations] = await databases.listDatabaseOperations({parent: instance});
      const ours = operations.filter(operation => operation.name.startsWith(`${database}/operations/`));
      assert.equal(ours.length, 2, `the create and the DDL update: ${operations.map(o => o.name).join(', ')}`);
      assert.ok(ours.every(operation => operation.done));
      const [polled] = await databases.getOperation({name: ours[0].name});
      assert.equal(polled.name, ours[0].name);
      await rejectsWith(databases.getOperation({name: `${database}/operations/no-such-operation`}), Code.NOT_FOUND);
    });

    it('version_retention_period: ALTER DATABASE through updateDatabaseDdl, getDatabase, getDatabaseDdl', async () => {
      const alter = async period => {
        const [operation] = await databases.updateDatabaseDdl({
          database, statements: [`ALTER DATABASE orders SET OPTIONS (version_retention_period = ${period})`]});
        await operation.promise();
      };
      await alter("'2d'");
      const [db] = await databases.getDatabase({name: database});
      assert.equal(db.versionRetentionPeriod, '2d');
      const [ddl] = await databases.getDatabaseDdl({database});
      assert.equal(ddl.statements[0], "ALTER DATABASE `orders` SET OPTIONS (\n  version_retention_period = '2d'\n)");
      await rejectsWith(alter("'8d'"), Code.INVALID_ARGUMENT, 'between 1 hour and 7 days');
      await alter('NULL');
      const [reset] = await databases.getDatabase({name: database});
      assert.equal(reset.versionRetentionPeriod, '1h');
    });
  });

  describe('data plane', () => {
    it('sessions: createSession, batchCreateSessions, getSession, listSessions, deleteSession', async () => {
      [session] = await spanner.createSession({database, session: {labels: {env: 'node'}}});
      assert.match(session.name, new RegExp(`^${database}/sessions/`));
      assert.deepEqual(session.labels, {env: 'node'});
      const [batch] = await spanner.batchCreateSessions({database, sessionCount: 2});
      assert.equal(batch.session.length, 2);
      const [got] = await spanner.getSession({name: batch.session[0].name});
      assert.equal(got.name, batch.session[0].name);
      const [listed] = await spanner.listSessions({database});
      const names = listed.map(s => s.name);
      for (const s of [session, ...batch.session]) assert.ok(names.includes(s.name), `${s.name} listed`);
      await spanner.deleteSession({name: batch.session[1].name});
      await rejectsWith(spanner.getSession({name: batch.session[1].name}), Code.NOT_FOUND);
    });

    it('executeSql DML with an inline begin, then commit with returnCommitStats', async () => {
      const [begun] = await spanner.executeSql({
        session: session.name, transaction: {begin: {readWrite: {}}}, seqno: 1,
        sql: "INSERT INTO Singers (SingerId, Name, Tags, Score) VALUES (1, 'Alice', ['rock', 'pop'], 9.5), " +
             "(2, 'Bob', NULL, NULL), (3, 'Carol', [], -1.25)"});
      assert.equal(begun.stats.rowCountExact, '3');
      const transactionId = begun.metadata.transaction.id;
      assert.ok(transactionId.length > 0);
      const [committed] = await spanner.commit({session: session.name, transactionId, returnCommitStats: true});
      const emulatorNow = Date.parse((await control('/emulator/v1/clock')).now) / 1000;
      assert.ok(Math.abs(seconds(committed.commitTimestamp) - emulatorNow) < 60,
                `commit timestamp ${committed.commitTimestamp.seconds} near the emulator's now`);
      assert.ok(committed.commitStats, 'commitStats answered');
    });

    it('executeSql queries: values, NULLs, arrays, typed parameters (enums as numbers) and types', async () => {
      const all = await sql('SELECT SingerId, Name, Tags, Score FROM Singers ORDER BY SingerId');
      assert.deepEqual(all.metadata.rowType.fields.map(f => [f.name, f.type.code]),
                       [['SingerId', 'INT64'], ['Name', 'STRING'], ['Tags', 'ARRAY'], ['Score', 'FLOAT64']]);
      assert.equal(all.metadata.rowType.fields[2].type.arrayElementType.code, 'STRING');
      assert.deepEqual(rowsOf(all), [['1', 'Alice', ['rock', 'pop'], 9.5], ['2', 'Bob', null, null],
                                     ['3', 'Carol', [], -1.25]]);

      const typed = await sql('SELECT Name FROM Singers WHERE SingerId >= @min AND Name IN UNNEST(@names) ORDER BY Name', {
        params: {fields: {min: {stringValue: '2'}, names: {listValue: {values: [{stringValue: 'Bob'}, {stringValue: 'Carol'}, {stringValue: 'Alice'}]}}}},
        paramTypes: {min: {code: 'INT64'}, names: {code: 'ARRAY', arrayElementType: {code: 'STRING'}}}});
      assert.deepEqual(rowsOf(typed), [['Bob'], ['Carol']]);

      const computed = await sql('SELECT COUNT(*) AS n, SUM(SingerId) AS total, 7 / 2 AS ratio FROM Singers');
      assert.deepEqual(computed.metadata.rowType.fields.map(f => f.type.code), ['INT64', 'INT64', 'FLOAT64']);
      assert.deepEqual(rowsOf(computed), [['3', '6', 3.5]]);
      await rejectsWith(sql('SELECT NoSuchColumn FROM Singers'), Code.INVALID_ARGUMENT, 'NoSuchColumn');
    });

    it('STRUCT: a STRUCT parameter, an array of them in UNNEST, and an ARRAY<STRUCT> result', async () => {
      const struct = {code: 'STRUCT', structType: {fields: [
        {name: 'id', type: {code: 'INT64'}}, {name: 'label', type: {code: 'STRING'}}]}};
      const list = (...values) => ({listValue: {values}});
      const one = await sql('SELECT Name, @p.label AS label FROM Singers WHERE SingerId = @p.id', {
        params: {fields: {p: list({stringValue: '2'}, {stringValue: 'two'})}},
        paramTypes: {p: struct}});
      assert.deepEqual(rowsOf(one), [['Bob', 'two']]);

      // an ARRAY<STRUCT> value is a list of lists: the library's nested-array quirk turns
      // each inner list into {"0": ..., "1": ...}, which is refused (curl covers UNNEST(@arr))
      await rejectsWith(sql('SELECT s.label FROM UNNEST(@arr) AS s', {
        params: {fields: {arr: list(list({stringValue: '3'}, {stringValue: 'c'}))}},
        paramTypes: {arr: {code: 'ARRAY', arrayElementType: struct}}}),
      Code.INVALID_ARGUMENT, 'Invalid value for bind parameter arr: Expected STRUCT<id INT64, label STRING>.');

      const nested = await sql('SELECT ARRAY(SELECT AS STRUCT SingerId, Tags FROM Singers WHERE SingerId IN (1, 3) ORDER BY SingerId) AS s');
      const type = nested.metadata.rowType.fields[0].type;
      assert.equal(type.code, 'ARRAY');
      assert.equal(type.arrayElementType.code, 'STRUCT');
      assert.deepEqual(type.arrayElementType.structType.fields.map(f => [f.name, f.type.code]),
                       [['SingerId', 'INT64'], ['Tags', 'ARRAY']]);
      assert.deepEqual(rowsOf(nested), [[[['1', ['rock', 'pop']], ['3', []]]]]);
      await rejectsWith(sql('SELECT STRUCT(1 AS a)'), Code.UNIMPLEMENTED, 'A struct value cannot be returned');
    });

    it('executeStreamingSql: PartialResultSets with metadata first and resume tokens', async () => {
      const partials = await collect(spanner.executeStreamingSql({
        session: session.name, sql: 'SELECT SingerId, Name FROM Singers ORDER BY SingerId DESC'}));
      assert.ok(partials.length >= 1);
      assert.deepEqual(partials[0].metadata.rowType.fields.map(f => f.name), ['SingerId', 'Name']);
      assert.ok(partials.every(partial => partial.resumeToken.length > 0), 'every PartialResultSet has a resumeToken');
      assert.deepEqual(rowsOfStream(partials), [['3', 'Carol'], ['2', 'Bob'], ['1', 'Alice']]);
    });

    it('executeBatchDml: a result set per statement; a failing statement stops the batch with its status', async () => {
      const [transaction] = await spanner.beginTransaction({session: session.name, options: {readWrite: {}}});
      const [batch] = await spanner.executeBatchDml({
        session: session.name, transaction: {id: transaction.id}, seqno: 1, statements: [
          {sql: "INSERT INTO Singers (SingerId, Name) VALUES (4, 'Dan'), (5, 'Eve')"},
          {sql: 'UPDATE Singers SET Age = @age WHERE SingerId > 3', params: {fields: {age: {stringValue: '40'}}},
           paramTypes: {age: {code: 'INT64'}}},
        ]});
      assert.deepEqual(batch.resultSets.map(r => r.stats.rowCountExact), ['2', '2']);
      assert.equal(batch.status.code, 0);
      await spanner.commit({session: session.name, transactionId: transaction.id});
      assert.deepEqual(rowsOf(await sql('SELECT SingerId, Age FROM Singers WHERE Age IS NOT NULL ORDER BY SingerId')),
                       [['4', '40'], ['5', '40']]);

      const [failing] = await spanner.executeBatchDml({
        session: session.name, transaction: {begin: {readWrite: {}}}, seqno: 1, statements: [
          {sql: 'UPDATE Singers SET Age = 41 WHERE SingerId = 4'},
          {sql: "INSERT INTO Singers (SingerId, Name) VALUES (1, 'Duplicate')"},
          {sql: 'UPDATE Singers SET Age = 42 WHERE SingerId = 5'},
        ]});
      assert.equal(failing.resultSets.length, 1);
      assert.equal(failing.status.code, Code.ALREADY_EXISTS);
    });

    it('sequences: a key DEFAULT from GET_NEXT_SEQUENCE_VALUE, THEN RETURN kept by the commit, the state', async () => {
      const [operation] = await databases.updateDatabaseDdl({database, statements: [
        "CREATE SEQUENCE TicketIds OPTIONS (sequence_kind = 'bit_reversed_positive')",
        'CREATE TABLE Tickets (Id INT64 NOT NULL DEFAULT (GET_NEXT_SEQUENCE_VALUE(SEQUENCE TicketIds)), ' +
          'Title STRING(MAX)) PRIMARY KEY (Id)']});
      await operation.promise();
      const [transaction] = await spanner.beginTransaction({session: session.name, options: {readWrite: {}}});
      const [inserted] = await spanner.executeSql({
        session: session.name, transaction: {id: transaction.id}, seqno: 1,
        sql: "INSERT INTO Tickets (Title) VALUES ('a'), ('b') THEN RETURN Id"});
      assert.deepEqual(rowsOf(inserted), [['4611686018427387904'], ['2305843009213693952']]);
      await spanner.commit({session: session.name, transactionId: transaction.id});
      assert.deepEqual(rowsOf(await sql('SELECT Id, Title FROM Tickets ORDER BY Title')),
                       [['4611686018427387904', 'a'], ['2305843009213693952', 'b']]);
      assert.deepEqual(rowsOf(await sql('SELECT GET_INTERNAL_SEQUENCE_STATE(SEQUENCE TicketIds)')), [['3']]);
      await rejectsWith(sql('SELECT GET_NEXT_SEQUENCE_VALUE(SEQUENCE TicketIds)'), Code.INVALID_ARGUMENT,
                        'read-write or partitioned-dml transaction');
      const [ddl] = await databases.getDatabaseDdl({database});
      assert.ok(ddl.statements.includes("CREATE SEQUENCE TicketIds OPTIONS (\n  sequence_kind = 'bit_reversed_positive')"),
                ddl.statements.join('\n;\n'));
    });

    it('change streams: DDL through updateDatabaseDdl, getDdl, INFORMATION_SCHEMA; reading one through executeStreamingSql', async () => {
      const [operation] = await databases.updateDatabaseDdl({database, statements: [
        "CREATE CHANGE STREAM TicketChanges FOR Tickets(Title) OPTIONS (value_capture_type = 'NEW_ROW')"]});
      await operation.promise();
      const [ddl] = await databases.getDatabaseDdl({database});
      assert.equal(ddl.statements[ddl.statements.length - 1],
                   "CREATE CHANGE STREAM TicketChanges FOR Tickets(Title) OPTIONS ( value_capture_type = 'NEW_ROW' )");
      assert.deepEqual(rowsOf(await sql('SELECT CHANGE_STREAM_NAME, TABLE_NAME, COLUMN_NAME ' +
                                        'FROM INFORMATION_SCHEMA.CHANGE_STREAM_COLUMNS')),
                       [['TicketChanges', 'Tickets', 'Title']]);
      await rejectsWith(sql('SELECT ChangeRecord FROM READ_TicketChanges(CURRENT_TIMESTAMP(), NULL, NULL, 1000)'),
                        Code.INVALID_ARGUMENT, 'not supported for the ExecuteSql API');
      // a commit, then the stream read as a client does: the partition, then its records
      const [ran] = await spanner.executeSql({session: session.name, transaction: {begin: {readWrite: {}}},
                                              sql: "INSERT INTO Tickets (Title) VALUES ('streamed')"});
      const [committed] = await spanner.commit({session: session.name, transactionId: ran.metadata.transaction.id});
      const at = Number(committed.commitTimestamp.seconds);
      const text = s => new Date(s * 1000).toISOString();
      const read = token => collect(spanner.executeStreamingSql({
        session: session.name, sql: 'SELECT ChangeRecord FROM READ_TicketChanges(@s, @e, @t, 1000)',
        params: {fields: {s: {stringValue: text(at)}, e: {stringValue: text(at + 1)},
                          t: token ? {stringValue: token} : {nullValue: 'NULL_VALUE'}}},
        paramTypes: {s: {code: 'TIMESTAMP'}, e: {code: 'TIMESTAMP'}, t: {code: 'STRING'}}}));
      const initial = rowsOfStream(await read(null));
      assert.equal(initial.length, 1);
      const [[[[[], [], [[, sequence, [[token, parents]]]]]]]] = initial; // row, ChangeRecord, STRUCT
      assert.equal(sequence, '00000000');
      assert.deepEqual(parents, []);
      const records = rowsOfStream(await read(token)).map(([[[data]]]) => data[0]).filter(Boolean);
      assert.equal(records.length, 1, JSON.stringify(records));
      const [[, , , last, table, , [[keys, newValues, oldValues]], modType, captureType]] = records; // heartbeats left out
      assert.deepEqual([last, table, modType, captureType], [true, 'Tickets', 'INSERT', 'NEW_ROW']);
      assert.deepEqual([JSON.parse(newValues), JSON.parse(oldValues)], [{Title: 'streamed'}, {}]);
      assert.ok(JSON.parse(keys).Id, 'the key: the identity of the new row');
      await rejectsWith(databases.updateDatabaseDdl({database, statements: ['ALTER TABLE Tickets DROP COLUMN Title']}),
                        Code.FAILED_PRECONDITION, 'tracked by 1 Change Stream: TicketChanges');
      const [dropped] = await databases.updateDatabaseDdl({database, statements: ['DROP CHANGE STREAM TicketChanges']});
      await dropped.promise();
    });

    it('read and streamingRead: all keys, key ranges, by index, with a limit', async () => {
      const [all] = await spanner.read({session: session.name, table: 'Singers', columns: ['SingerId', 'Name'],
                                        keySet: {all: true}});
      assert.deepEqual(rowsOf(all), [['1', 'Alice'], ['2', 'Bob'], ['3', 'Carol'], ['4', 'Dan'], ['5', 'Eve']]);
      const [range] = await spanner.read({
        session: session.name, table: 'Singers', columns: ['SingerId'],
        keySet: {ranges: [{startClosed: {values: [{stringValue: '2'}]}, endOpen: {values: [{stringValue: '4'}]}},
                          {startOpen: {values: [{stringValue: '4'}]}, endClosed: {values: [{stringValue: '9'}]}}]}});
      assert.deepEqual(rowsOf(range), [['2'], ['3'], ['5']]);
      const [byIndex] = await spanner.read({session: session.name, table: 'Singers', index: 'SingersByName',
                                            columns: ['Name', 'SingerId'], keySet: {all: true}, limit: 2});
      assert.deepEqual(rowsOf(byIndex), [['Alice', '1'], ['Bob', '2']]);

      const partials = await collect(spanner.streamingRead({
        session: session.name, table: 'Singers', columns: ['SingerId', 'Name'],
        keySet: {ranges: [{startClosed: {values: [{stringValue: '4'}]}, endClosed: {values: [{stringValue: '5'}]}}]}}));
      assert.deepEqual(rowsOfStream(partials), [['4', 'Dan'], ['5', 'Eve']]);
      await rejectsWith(spanner.read({session: session.name, table: 'NoSuchTable', columns: ['x'], keySet: {all: true}}),
                        Code.NOT_FOUND, 'NoSuchTable');
    });

    it('the library\'s nested-array quirk: KeySet keys and mutation rows arrive mangled and are refused', async () => {
      // keys: [[1]] goes out as {"keys": [{"0": "1"}]}-like objects: not a list of values.
      await rejectsWith(spanner.read({session: session.name, table: 'Singers', columns: ['SingerId'],
                                      keySet: {keys: [{values: [{stringValue: '1'}]}]}}),
                        Code.INVALID_ARGUMENT, 'KeySet');
      await rejectsWith(spanner.commit({
        session: session.name, singleUseTransaction: {readWrite: {}},
        mutations: [{insert: {table: 'Singers', columns: ['SingerId', 'Name'],
                              values: [{values: [{stringValue: '6'}, {stringValue: 'Frank'}]}]}}]}),
                        Code.INVALID_ARGUMENT);
      assert.deepEqual(rowsOf(await sql('SELECT COUNT(*) FROM Singers WHERE SingerId = 6')), [['0']],
                       'the refused mutation wrote nothing');
    });

    it('commit with a delete mutation by key range (one level of arrays, which the library encodes)', async () => {
      const [committed] = await spanner.commit({
        session: session.name, singleUseTransaction: {readWrite: {}}, returnCommitStats: true,
        mutations: [{delete: {table: 'Singers', keySet: {ranges: [{
          startClosed: {values: [{stringValue: '5'}]}, endClosed: {values: [{stringValue: '5'}]}}]}}}]});
      assert.equal(committed.commitStats.mutationCount, '1');
      assert.deepEqual(rowsOf(await sql('SELECT SingerId FROM Singers ORDER BY SingerId')), [['1'], ['2'], ['3'], ['4']]);
    });

    it('beginTransaction and rollback: rolled-back DML leaves nothing; a read-only transaction reads', async () => {
      const [transaction] = await spanner.beginTransaction({session: session.name, options: {readWrite: {}}});
      const [deleted] = await spanner.executeSql({session: session.name, transaction: {id: transaction.id}, seqno: 1,
                                                  sql: 'DELETE FROM Singers WHERE true'});
      assert.equal(deleted.stats.rowCountExact, '4');
      await spanner.rollback({session: session.name, transactionId: transaction.id});
      await spanner.rollback({session: session.name, transactionId: transaction.id}); // again: done
      await rejectsWith(spanner.commit({session: session.name, transactionId: transaction.id}),
                        Code.FAILED_PRECONDITION, 'Cannot commit a transaction after it has been rolled back.');
      assert.deepEqual(rowsOf(await sql('SELECT COUNT(*) FROM Singers')), [['4']]);

      const [readOnly] = await spanner.beginTransaction({session: session.name,
                                                         options: {readOnly: {strong: true, returnReadTimestamp: true}}});
      assert.ok(readOnly.readTimestamp && seconds(readOnly.readTimestamp) > 0);
      const [rows] = await spanner.executeSql({session: session.name, transaction: {id: readOnly.id},
                                               sql: 'SELECT COUNT(*) FROM Singers'});
      assert.deepEqual(rowsOf(rows), [['4']]);
      await rejectsWith(spanner.executeSql({session: session.name, transaction: {id: readOnly.id}, seqno: 2,
                                            sql: 'DELETE FROM Singers WHERE true'}),
                        Code.INVALID_ARGUMENT, 'DML statements can only be performed in a read-write');
    });

    it('reads at a timestamp: readTimestamp, exactStaleness, a read-only transaction while others commit', async () => {
      const [snapshot] = await spanner.beginTransaction({session: session.name,
                                                         options: {readOnly: {strong: true, returnReadTimestamp: true}}});
      const dml = async statement => {
        const [rw] = await spanner.beginTransaction({session: session.name, options: {readWrite: {}}});
        await spanner.executeSql({session: session.name, transaction: {id: rw.id}, seqno: 1, sql: statement});
        const [committed] = await spanner.commit({session: session.name, transactionId: rw.id});
        return committed.commitTimestamp;
      };
      const inserted = await dml("INSERT INTO Singers (SingerId, Name) VALUES (9, 'Ivy')");
      const count = async readOnly => rowsOf((await spanner.executeSql({
        session: session.name, sql: 'SELECT COUNT(*) FROM Singers',
        transaction: readOnly ? {singleUse: {readOnly}} : {id: snapshot.id}}))[0]);
      assert.deepEqual(await count({strong: true}), [['5']]);
      assert.deepEqual(await count(null), [['4']], 'the read-only transaction begun before the insert');
      assert.deepEqual(await count({readTimestamp: snapshot.readTimestamp}), [['4']]);
      assert.deepEqual(await count({readTimestamp: inserted}), [['5']]);
      assert.deepEqual(await count({exactStaleness: {seconds: 0}}), [['5']]);
      await rejectsWith(count({exactStaleness: {seconds: 7200}}), Code.FAILED_PRECONDITION, 'too old');
      const [read] = await spanner.read({session: session.name, table: 'Singers', columns: ['SingerId'],
                                         keySet: {all: true}, transaction: {id: snapshot.id}});
      assert.deepEqual(rowsOf(read), [['1'], ['2'], ['3'], ['4']]);
      await dml('DELETE FROM Singers WHERE SingerId = 9');
      assert.deepEqual(await count({readTimestamp: inserted}), [['5']], 'the deleted row is still there then');
    });

    it('a named schema, exact JSON numbers, FARM_FINGERPRINT, SAFE. and lambdas through the client', async () => {
      const create = ['CREATE SCHEMA inv', 'CREATE TABLE inv.Items (Id INT64 NOT NULL, Doc JSON) PRIMARY KEY (Id)'];
      await (await databases.updateDatabaseDdl({database, statements: create}))[0].promise();
      assert.deepEqual(await dml('INSERT INTO inv.Items (Id, Doc) VALUES (1, JSON \'{"id": 12345678901234567891, "price": 1.50}\')'), [1]);
      const got = await sql("SELECT Doc, LAX_STRING(Doc.id), FARM_FINGERPRINT('abc'), SAFE.SQRT(-1), " +
                            'ARRAY_FILTER([1, 2, 3], e -> e > 1) FROM inv.Items');
      assert.deepEqual(rowsOf(got), [['{"id":12345678901234567891,"price":1.5}', '12345678901234567891',
                                      '2640714258260161385', null, ['2', '3']]]);
      const [ddl] = await databases.getDatabaseDdl({database});
      assert.ok(ddl.statements.includes('CREATE SCHEMA inv'), 'getDatabaseDdl lists the schema');
      const drop = ['DROP TABLE inv.Items', 'DROP SCHEMA inv'];
      await (await databases.updateDatabaseDdl({database, statements: drop}))[0].promise();
    });

    it('RE2 regular expressions, Unicode normalization and case mapping, and INSERT OR UPDATE of one key twice', async () => {
      const got = await sql("SELECT REGEXP_CONTAINS(CONCAT(REPEAT('ab', 5000), '!'), r'^(ab|a|b)*$'), " +
                            "REGEXP_EXTRACT('héllo', 'h.'), UPPER('Straße'), NORMALIZE('A\\u030A') = '\\u00C5', " +
                            "NORMALIZE_AND_CASEFOLD('ÅB', NFKC)");
      assert.deepEqual(rowsOf(got), [[false, 'hé', 'STRASSE', true, 'åb']]);
      await rejectsWith(sql("SELECT REGEXP_CONTAINS('ab', '(?<=a)b')"), Code.OUT_OF_RANGE,
                        'Cannot parse regular expression: invalid perl operator');
      await rejectsWith(dml("INSERT OR UPDATE INTO Singers (SingerId, Name) VALUES (90, 'x'), (90, 'y')"),
                        Code.INVALID_ARGUMENT, 'Cannot affect a row second time for key: {Int64(90)}');
    });

    it('TABLESAMPLE: a reservoir with its weight, a percentage from a typed parameter, its range checked', async () => {
      const got = await sql('SELECT COUNT(*), MIN(w) FROM Singers TABLESAMPLE RESERVOIR (1 ROWS) WITH WEIGHT AS w');
      const [[count, weight]] = rowsOf(got);
      const [[all]] = rowsOf(await sql('SELECT COUNT(*) FROM Singers'));
      assert.deepEqual([count, weight], ['1', Number(all)]);
      const float = {code: 'FLOAT64'};
      const kept = await sql('SELECT COUNT(*) FROM Singers TABLESAMPLE BERNOULLI (@p PERCENT)',
                             {params: {fields: {p: {numberValue: 100}}}, paramTypes: {p: float}});
      assert.deepEqual(rowsOf(kept), [[all]]);
      await rejectsWith(sql('SELECT COUNT(*) FROM Singers TABLESAMPLE BERNOULLI (@p PERCENT)',
                            {params: {fields: {p: {numberValue: 101}}}, paramTypes: {p: float}}),
                        Code.OUT_OF_RANGE, 'PERCENT value must be in the range [0, 100]');
    });

    it('partitionQuery and partitionRead: tokens that executeSql and read accept', async () => {
      const [transaction] = await spanner.beginTransaction({session: session.name, options: {readOnly: {strong: true}}});
      const query = 'SELECT SingerId, Name FROM Singers WHERE SingerId <= 2';
      const [queryPartitions] = await spanner.partitionQuery({session: session.name, transaction: {id: transaction.id}, sql: query});
      assert.ok(queryPartitions.partitions.length >= 1);
      const queried = [];
      for (const {partitionToken} of queryPartitions.partitions) {
        const [part] = await spanner.executeSql({session: session.name, transaction: {id: transaction.id}, sql: query, partitionToken});
        queried.push(...rowsOf(part));
      }
      assert.deepEqual(queried.sort(), [['1', 'Alice'], ['2', 'Bob']]);

      const [readPartitions] = await spanner.partitionRead({session: session.name, transaction: {id: transaction.id},
                                                            table: 'Singers', columns: ['SingerId'], keySet: {all: true}});
      const read = [];
      for (const {partitionToken} of readPartitions.partitions) {
        const [part] = await spanner.read({session: session.name, transaction: {id: transaction.id}, table: 'Singers',
                                           columns: ['SingerId'], keySet: {all: true}, partitionToken});
        read.push(...rowsOf(part));
      }
      assert.deepEqual(read.sort(), [['1'], ['2'], ['3'], ['4']]);
      await rejectsWith(spanner.executeSql({session: session.name, transaction: {id: transaction.id},
                                            sql: 'SELECT 1', partitionToken: queryPartitions.partitions[0].partitionToken}),
                        Code.INVALID_ARGUMENT);
    });
  });

  describe('backups and restore under customer-managed keys', () => {
    let expireSeconds;

    it('createBackup with CUSTOMER_MANAGED_ENCRYPTION: READY, pinned to the backup key\'s version', async () => {
      expireSeconds = Math.floor(Date.parse((await control('/emulator/v1/clock')).now) / 1000) + 7 * 86400;
      const [operation] = await databases.createBackup({
        parent: instance, backupId: 'b1', backup: {database, expireTime: {seconds: expireSeconds}},
        encryptionConfig: {encryptionType: 'CUSTOMER_MANAGED_ENCRYPTION', kmsKeyName: keys['backup-key']}});
      const created = named((await operation.promise())[0]);
      assert.equal(created.name, backup);
      assert.equal(created.state, 'READY');
      assert.equal(created.database, database);
      assert.equal(seconds(created.expireTime), expireSeconds);
      assert.ok(Number(created.sizeBytes) > 0);
      assert.equal(created.encryptionInfo.encryptionType, 'CUSTOMER_MANAGED_ENCRYPTION');
      assert.equal(created.encryptionInfo.kmsKeyVersion, `${keys['backup-key']}/cryptoKeyVersions/1`);
      assert.equal(operation.metadata.name, backup);
      assert.equal(operation.metadata.database, database);
    });

    it('getBackup, listBackups (filtered by database), updateBackup of expireTime', async () => {
      const [got] = await databases.getBackup({name: backup});
      assert.equal(got.encryptionInfo.kmsKeyVersion, `${keys['backup-key']}/cryptoKeyVersions/1`);
      const [listed] = await databases.listBackups({parent: instance, filter: `database:${database}`});
      assert.deepEqual(listed.map(b => b.name), [backup]);
      const [updated] = await databases.updateBackup({
        backup: {name: backup, expireTime: {seconds: expireSeconds + 86400}}, updateMask: {paths: ['expire_time']}});
      assert.equal(seconds(updated.expireTime), expireSeconds + 86400);
      await rejectsWith(databases.updateBackup({backup: {name: backup, expireTime: {seconds: 1}},
                                                updateMask: {paths: ['expire_time']}}),
                        Code.INVALID_ARGUMENT);
      await rejectsWith(databases.getBackup({name: `${instance}/backups/no-such-backup`}), Code.NOT_FOUND);
    });

    it('copyBackup keeps the source\'s encryption; listBackupOperations; backup IAM', async () => {
      const [operation] = await databases.copyBackup({
        parent: instance, backupId: 'b1-copy', sourceBackup: backup, expireTime: {seconds: expireSeconds}});
      const copy = named((await operation.promise())[0]);
      assert.equal(copy.name, backupCopy);
      assert.equal(copy.state, 'READY');
      assert.equal(copy.database, database);
      assert.equal(copy.encryptionInfo.kmsKeyVersion, `${keys['backup-key']}/cryptoKeyVersions/1`);
      assert.equal(operation.metadata.sourceBackup, backup);

      const [operations] = await databases.listBackupOperations({parent: instance});
      const names = operations.map(o => o.name);
      assert.ok(names.some(n => n.startsWith(`${backup}/operations/`)), names.join(', '));
      assert.ok(names.some(n => n.startsWith(`${backupCopy}/operations/`)), names.join(', '));

      const binding = {role: 'roles/spanner.backupAdmin', members: ['user:carol@example.com']};
      await databases.setIamPolicy({resource: backup, policy: {bindings: [binding]}});
      const [policy] = await databases.getIamPolicy({resource: backup});
      assert.deepEqual(policy.bindings.map(b => [b.role, b.members]), [[binding.role, binding.members]]);
    });

    it('restoreDatabase under another key: the backup\'s schema and rows, not later writes', async () => {
      await dml("INSERT INTO Singers (SingerId, Name) VALUES (10, 'After the backup')");
      const [operation] = await databases.restoreDatabase({
        parent: instance, databaseId: 'orders-restored', backup,
        encryptionConfig: {encryptionType: 'CUSTOMER_MANAGED_ENCRYPTION', kmsKeyName: keys['restore-key']}});
      assert.match(operation.name, new RegExp(`^${restored}/operations/`));
      const created = named((await operation.promise())[0]);
      assert.equal(created.name, restored);
      assert.equal(created.state, 'READY');
      assert.equal(created.restoreInfo.sourceType, 'BACKUP');
      assert.equal(created.restoreInfo.backupInfo.backup, backup);
      assert.equal(created.encryptionConfig.kmsKeyName, keys['restore-key']);

      const [restoredSession] = await spanner.createSession({database: restored});
      const [rows] = await spanner.executeSql({session: restoredSession.name,
                                               sql: 'SELECT SingerId, Name, Age FROM Singers ORDER BY SingerId'});
      assert.deepEqual(rowsOf(rows), [['1', 'Alice', null], ['2', 'Bob', null], ['3', 'Carol', null], ['4', 'Dan', '40']]);
      const [ddl] = await databases.getDatabaseDdl({database: restored});
      assert.equal(ddl.statements.length, 4); /* Singers, an index, the sequence and Tickets */
    });

    it('deleteBackup removes the copy', async () => {
      await databases.deleteBackup({name: backupCopy});
      await rejectsWith(databases.getBackup({name: backupCopy}), Code.NOT_FOUND);
      const [listed] = await databases.listBackups({parent: instance});
      assert.deepEqual(listed.map(b => b.name), [backup]);
    });
  });

  describe('backup schedules', () => {
    const schedule = `${database}/backupSchedules/nightly`;

    it('createBackupSchedule under the backup key, getBackupSchedule, listBackupSchedules, updateBackupSchedule', async () => {
      const [created] = await databases.createBackupSchedule({
        parent: database, backupScheduleId: 'nightly',
        backupSchedule: {spec: {cronSpec: {text: '0 2 * * *'}}, retentionDuration: {seconds: 2 * 86400},
                         fullBackupSpec: {},
                         encryptionConfig: {encryptionType: 'CUSTOMER_MANAGED_ENCRYPTION', kmsKeyName: keys['backup-key']}}});
      assert.equal(created.name, schedule);
      assert.equal(created.spec.cronSpec.timeZone, 'UTC');
      assert.equal(Number(created.retentionDuration.seconds), 2 * 86400);
      const [got] = await databases.getBackupSchedule({name: schedule});
      assert.equal(got.encryptionConfig.kmsKeyName, keys['backup-key']);
      const [listed] = await databases.listBackupSchedules({parent: database});
      assert.deepEqual(listed.map(s => s.name), [schedule]);
      const [updated] = await databases.updateBackupSchedule({
        backupSchedule: {name: schedule, retentionDuration: {seconds: 3 * 86400}},
        updateMask: {paths: ['retention_duration']}});
      assert.equal(Number(updated.retentionDuration.seconds), 3 * 86400);
      assert.equal(updated.spec.cronSpec.text, '0 2 * * *');
      await rejectsWith(databases.createBackupSchedule({
        parent: database, backupScheduleId: 'hourly',
        backupSchedule: {spec: {cronSpec: {text: '0 * * * *'}}, retentionDuration: {seconds: 86400}, fullBackupSpec: {}}}),
                        Code.INVALID_ARGUMENT, 'at least 12 hours apart');
    });

    it('the emulator clock passes 02:00: a backup under the backup key, naming its schedule', async () => {
      // half an hour past the schedule's next 02:00 (whatever the time of day the test runs)
      const now = Date.parse((await control('/emulator/v1/clock')).now);
      const next = new Date(now);
      next.setUTCHours(2, 0, 0, 0);
      if (next.getTime() <= now) next.setUTCDate(next.getUTCDate() + 1);
      next.setUTCMinutes(30);
      await control('/emulator/v1/clock:advance', {seconds: Math.ceil((next.getTime() - now) / 1000)});
      let made = [];
      for (let i = 0; i < 100 && made.length === 0; i++) {
        const [listed] = await databases.listBackups({parent: instance});
        made = listed.filter(b => (b.backupSchedules || []).includes(schedule) && b.state === 'READY');
        if (made.length === 0) await new Promise(resolve => setTimeout(resolve, 100));
      }
      assert.equal(made.length, 1);
      assert.match(made[0].name, new RegExp(`^${instance}/backups/nightly-\\d{8}-0200-[0-9a-f]{6}$`));
      assert.equal(made[0].encryptionInfo.kmsKeyVersion, `${keys['backup-key']}/cryptoKeyVersions/1`);
      await databases.deleteBackupSchedule({name: schedule});
      await rejectsWith(databases.getBackupSchedule({name: schedule}), Code.NOT_FOUND);
      await databases.deleteBackup({name: made[0].name});
      [session] = await spanner.createSession({database}); /* the clock moved: a fresh session */
    });
  });

  describe('the database key switched off and on', () => {
    it('disabled: every data call fails FAILED_PRECONDITION; getDatabase and getDatabaseDdl still answer', async () => {
      await setVersionState(keys['db-key'], 'DISABLED');
      await control('/emulator/v1/keyChecks:run', {});
      await rejectsWith(spanner.createSession({database}), Code.FAILED_PRECONDITION, NOT_ACCESSIBLE);
      await rejectsWith(sql('SELECT COUNT(*) FROM Singers'), Code.FAILED_PRECONDITION, NOT_ACCESSIBLE);
      await rejectsWith(spanner.read({session: session.name, table: 'Singers', columns: ['SingerId'], keySet: {all: true}}),
                        Code.FAILED_PRECONDITION, NOT_ACCESSIBLE);
      const [got] = await databases.getDatabase({name: database});
      assert.equal(got.name, database);
      const [ddl] = await databases.getDatabaseDdl({database});
      assert.equal(ddl.statements.length, 4);
    });

    it('enabled again: the same rows are served', async () => {
      await setVersionState(keys['db-key'], 'ENABLED');
      await control('/emulator/v1/keyChecks:run', {});
      [session] = await spanner.createSession({database});
      assert.deepEqual(rowsOf(await sql('SELECT SingerId FROM Singers ORDER BY SingerId')),
                       [['1'], ['2'], ['3'], ['4'], ['10']]);
    });
  });

  describe('a multiplexed session and the emulator clock', () => {
    it('outlives two hours unused (30 days from its creation); an ordinary session does not', async () => {
      const [mux] = await spanner.createSession({database, session: {multiplexed: true}});
      assert.equal(mux.multiplexed, true);
      const [ordinary] = await spanner.createSession({database});
      await control('/emulator/v1/clock:advance', {seconds: 7200});
      const [answer] = await spanner.executeSql({session: mux.name, sql: 'SELECT COUNT(*) FROM Singers'});
      assert.deepEqual(rowsOf(answer), [['5']]);
      await rejectsWith(spanner.executeSql({session: ordinary.name, sql: 'SELECT 1'}), Code.NOT_FOUND);
      session = mux; // the clean-up's calls
    });
  });

  describe('clean-up', () => {
    it('updateDatabase: drop protection refuses dropDatabase until it is cleared', async () => {
      const [operation] = await databases.updateDatabase({
        database: {name: database, enableDropProtection: true}, updateMask: {paths: ['enable_drop_protection']}});
      const [updated] = await operation.promise();
      assert.equal(named(updated).enableDropProtection, true);
      await rejectsWith(databases.dropDatabase({database}), Code.FAILED_PRECONDITION);
      const [off] = await databases.updateDatabase({
        database: {name: database, enableDropProtection: false}, updateMask: {paths: ['enable_drop_protection']}});
      await off.promise();
      const [got] = await databases.getDatabase({name: database});
      assert.equal(got.enableDropProtection, false);
    });

    it('dropDatabase, deleteBackup, deleteInstance', async () => {
      await rejectsWith(instances.deleteInstance({name: instance}), Code.FAILED_PRECONDITION);
      await databases.dropDatabase({database: restored});
      await databases.dropDatabase({database});
      await rejectsWith(databases.getDatabase({name: database}), Code.NOT_FOUND);
      await databases.deleteBackup({name: backup});
      await instances.deleteInstance({name: instance});
      await rejectsWith(instances.getInstance({name: instance}), Code.NOT_FOUND);
    });
  });
});
