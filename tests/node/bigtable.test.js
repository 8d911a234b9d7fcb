'use strict';
// Cloud Bigtable through Google's @google-cloud/bigtable generated v2 clients
// (BigtableInstanceAdminClient, BigtableTableAdminClient, BigtableClient) over their REST
// transport: an instance with two clusters in two regions, each under its own
// customer-managed key, its long-running operations polled by the library; clusters,
// tables with GC rules and their encryption view, app profiles, IAM; rows written and
// read back; one key disabled: its cluster DISABLED, multi-cluster routing served by
// the other, single-cluster routing FAILED_PRECONDITION; enabled again; consistency
// tokens; a table deleted and undeleted.
//
// A quirk of the library, not of the emulator: readRows with `rows.rowKeys` fails inside
// google-gax's REST streaming before any request is sent ("stream.on is not a function");
// the tests read by row ranges, which it sends.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {v2} = require('@google-cloud/bigtable');
const {RUN, Code, rejectsWith, control, kmsClient, restOptions} = require('./lib/emulator.js');

const PROJECT = 'node-bigtable-project';
const project = `projects/${PROJECT}`;

// Collects a server stream (readRows, mutateRows, sampleRowKeys) into its messages.
function collect(stream) {
  return new Promise((resolve, reject) => {
    const messages = [];
    stream.on('data', message => messages.push(message)).on('end', () => resolve(messages)).on('error', reject);
  });
}

// The cells of ReadRowsResponses as "row/family:qualifier=value" strings: a chunk names
// its row, family and qualifier only when they change.
function cellsOf(responses) {
  const cells = [];
  let row;
  let family;
  let qualifier;
  for (const chunk of responses.flatMap(response => response.chunks)) {
    if (chunk.rowKey && chunk.rowKey.length) row = Buffer.from(chunk.rowKey).toString();
    if (chunk.familyName) family = chunk.familyName.value;
    if (chunk.qualifier) qualifier = Buffer.from(chunk.qualifier.value).toString();
    cells.push(`${row}/${family}:${qualifier}=${Buffer.from(chunk.value).toString()}`);
  }
  return cells;
}

const text = value => Buffer.from(value);
const setCell = (family, qualifier, value) =>
  ({setCell: {familyName: family, columnQualifier: text(qualifier), timestampMicros: -1, value: text(value)}});

describe('Cloud Bigtable through @google-cloud/bigtable v2 clients (REST)', () => {
  let kms;
  let instances;
  let tables;
  let data;
  const ringId = `bigtable-ring-${RUN}`;
  const instanceId = `inst-${RUN}`;
  const instance = `${project}/instances/${instanceId}`;
  const table = `${instance}/tables/orders`;
  const keys = {};

  async function readRows(request = {}) {
    return cellsOf(await collect(data.readRows({tableName: table, ...request})));
  }

  async function setVersionState(key, state) {
    await kms.updateCryptoKeyVersion({cryptoKeyVersion: {name: `${key}/cryptoKeyVersions/1`, state},
                                      updateMask: {paths: ['state']}});
    await control('/emulator/v1/keyChecks:run', {});
  }

  async function clusterStates() {
    const [response] = await instances.listClusters({parent: instance});
    return Object.fromEntries(response.clusters.map(c => [c.name.split('/').pop(), c.state]));
  }

  before(async () => {
    kms = kmsClient();
    const options = restOptions('BIGTABLE_URL');
    instances = new v2.BigtableInstanceAdminClient(options);
    tables = new v2.BigtableTableAdminClient(options);
    data = new v2.BigtableClient(options);
    for (const region of ['us-east1', 'us-west1']) {
      await kms.createKeyRing({parent: kms.locationPath(PROJECT, region), keyRingId: ringId, keyRing: {}});
      const [key] = await kms.createCryptoKey({parent: kms.keyRingPath(PROJECT, region, ringId), cryptoKeyId: 'k',
                                               cryptoKey: {purpose: 'ENCRYPT_DECRYPT'}});
      keys[region] = key.name;
    }
  });
  after(async () => {
    for (const client of [kms, instances, tables, data]) await client.close();
  });

  it('createInstance with two clusters, each under its region\'s key, polled to READY', async () => {
    const [operation] = await instances.createInstance({
      parent: project, instanceId, instance: {displayName: 'Node Orders', labels: {team: 'node'}},
      clusters: {
        'east-c1': {location: `${project}/locations/us-east1-b`, serveNodes: 1,
                    encryptionConfig: {kmsKeyName: keys['us-east1']}},
        'west-c2': {location: `${project}/locations/us-west1-a`, serveNodes: 1,
                    encryptionConfig: {kmsKeyName: keys['us-west1']}},
      }});
    assert.match(operation.name, new RegExp(`^operations/${instance}/locations/`));
    const [created] = await operation.promise();
    assert.equal(created.name, instance);
    assert.equal(created.displayName, 'Node Orders');
    const [got] = await instances.getInstance({name: instance});
    assert.equal(got.state, 'READY');
    assert.deepEqual(got.labels, {team: 'node'});
    const [listed] = await instances.listInstances({parent: project});
    assert.ok(listed.instances.some(i => i.name === instance));
  });

  it('clusters: listed with their keys; updateCluster and partialUpdateCluster through operations', async () => {
    const [response] = await instances.listClusters({parent: instance});
    assert.deepEqual(response.clusters.map(c => [c.name.split('/').pop(), c.encryptionConfig.kmsKeyName, c.state]).sort(),
                     [['east-c1', keys['us-east1'], 'READY'], ['west-c2', keys['us-west1'], 'READY']]);
    const [update] = await instances.updateCluster({name: `${instance}/clusters/east-c1`, serveNodes: 3});
    assert.equal((await update.promise())[0].serveNodes, 3);
    const [patch] = await instances.partialUpdateCluster({
      cluster: {name: `${instance}/clusters/west-c2`, serveNodes: 2}, updateMask: {paths: ['serve_nodes']}});
    assert.equal((await patch.promise())[0].serveNodes, 2);
    const [west] = await instances.getCluster({name: `${instance}/clusters/west-c2`});
    assert.equal(west.serveNodes, 2);
    // a cluster's key must be in the cluster's region
    await rejectsWith(instances.createCluster({
      parent: instance, clusterId: 'central-c3',
      cluster: {location: `${project}/locations/us-central1-b`, serveNodes: 1, encryptionConfig: {kmsKeyName: keys['us-east1']}}}),
                      Code.INVALID_ARGUMENT, 'us-central1');
  });

  it('partialUpdateInstance renames it through an operation', async () => {
    const [operation] = await instances.partialUpdateInstance({
      instance: {name: instance, displayName: 'Node Orders Renamed'}, updateMask: {paths: ['display_name']}});
    const [updated] = await operation.promise();
    assert.equal(updated.displayName, 'Node Orders Renamed');
  });

  it('tables: createTable with GC rules, listTables, getTable with the encryption view (enum as a number)', async () => {
    const [created] = await tables.createTable({
      parent: instance, tableId: 'orders', table: {columnFamilies: {
        cf1: {gcRule: {maxNumVersions: 1}},
        cf2: {gcRule: {union: {rules: [{maxNumVersions: 5}, {maxAge: {seconds: 5 * 86400}}]}}},
      }}});
    assert.equal(created.name, table);
    assert.equal(created.columnFamilies.cf1.gcRule.maxNumVersions, 1);
    assert.deepEqual(created.columnFamilies.cf2.gcRule.union.rules.map(rule => rule.rule), ['maxNumVersions', 'maxAge']);
    const [listed] = await tables.listTables({parent: instance});
    assert.deepEqual(listed.map(t => t.name), [table]);

    await control('/emulator/v1/keyChecks:run', {});
    const [encryption] = await tables.getTable({name: table, view: 'ENCRYPTION_VIEW'});
    const infos = Object.fromEntries(Object.entries(encryption.clusterStates).map(
      ([cluster, state]) => [cluster, [state.encryptionInfo[0].encryptionType, state.encryptionInfo[0].kmsKeyVersion]]));
    assert.deepEqual(infos, {
      'east-c1': ['CUSTOMER_MANAGED_ENCRYPTION', `${keys['us-east1']}/cryptoKeyVersions/1`],
      'west-c2': ['CUSTOMER_MANAGED_ENCRYPTION', `${keys['us-west1']}/cryptoKeyVersions/1`],
    });
    const [nameOnly] = await tables.getTable({name: table, view: 'NAME_ONLY'});
    assert.deepEqual(nameOnly.columnFamilies, {});
  });

  it('modifyColumnFamilies, and table IAM', async () => {
    const [modified] = await tables.modifyColumnFamilies({
      name: table, modifications: [{id: 'cf3', create: {gcRule: {maxAge: {seconds: 86400}}}}, {id: 'cf2', drop: true}]});
    assert.deepEqual(Object.keys(modified.columnFamilies).sort(), ['cf1', 'cf3']);
    const binding = {role: 'roles/bigtable.reader', members: ['user:alice@example.com']};
    await tables.setIamPolicy({resource: table, policy: {bindings: [binding]}});
    const [policy] = await tables.getIamPolicy({resource: table});
    assert.deepEqual(policy.bindings.map(b => [b.role, b.members]), [[binding.role, binding.members]]);
    const [allowed] = await tables.testIamPermissions({resource: table, permissions: ['bigtable.tables.readRows']});
    assert.deepEqual(allowed.permissions, ['bigtable.tables.readRows']);
  });

  it('app profiles: a single-cluster profile next to the default multi-cluster one', async () => {
    const [profile] = await instances.createAppProfile({
      parent: instance, appProfileId: 'east-only', appProfile: {singleClusterRouting: {clusterId: 'east-c1'}}});
    assert.equal(profile.singleClusterRouting.clusterId, 'east-c1');
    const [listed] = await instances.listAppProfiles({parent: instance});
    assert.deepEqual(listed.map(p => p.name.split('/').pop()).sort(), ['default', 'east-only']);
    const [fallback] = await instances.getAppProfile({name: `${instance}/appProfiles/default`});
    assert.ok(fallback.multiClusterRoutingUseAny, 'the default profile routes to any cluster');
  });

  it('data: mutateRow, mutateRows with a status per entry, readRows by ranges and filters', async () => {
    await data.mutateRow({tableName: table, rowKey: text('order#1'),
                          mutations: [setCell('cf1', 'item', 'apple'), setCell('cf3', 'qty', '3')]});
    const responses = await collect(data.mutateRows({tableName: table, entries: [
      {rowKey: text('order#2'), mutations: [setCell('cf1', 'item', 'pear')]},
      {rowKey: text('order#3'), mutations: [setCell('no-such-family', 'item', 'fig')]},
      {rowKey: text('other#1'), mutations: [setCell('cf1', 'item', 'plum')]},
    ]}));
    const results = responses.flatMap(response => response.entries);
    assert.deepEqual(results.map(e => [Number(e.index), e.status.code]).sort(), [[0, 0], [1, Code.NOT_FOUND], [2, 0]]);

    assert.deepEqual(await readRows(), ['order#1/cf1:item=apple', 'order#1/cf3:qty=3', 'order#2/cf1:item=pear',
                                        'other#1/cf1:item=plum']);
    assert.deepEqual(await readRows({rows: {rowRanges: [{startKeyClosed: text('order#'), endKeyOpen: text('order$')}]},
                                     filter: {familyNameRegexFilter: 'cf1'}}),
                     ['order#1/cf1:item=apple', 'order#2/cf1:item=pear']);
    assert.deepEqual(await readRows({rowsLimit: 1, filter: {columnQualifierRegexFilter: text('qty')}}), ['order#1/cf3:qty=3']);
  });

  it('checkAndMutateRow, readModifyWriteRow and sampleRowKeys', async () => {
    const [checked] = await data.checkAndMutateRow({
      tableName: table, rowKey: text('order#2'), predicateFilter: {valueRegexFilter: text('pear')},
      trueMutations: [setCell('cf1', 'item', 'ripe pear')], falseMutations: [setCell('cf1', 'item', 'no pear')]});
    assert.equal(checked.predicateMatched, true);
    const [counted] = await data.readModifyWriteRow({
      tableName: table, rowKey: text('order#2'),
      rules: [{familyName: 'cf3', columnQualifier: text('qty'), incrementAmount: 5},
              {familyName: 'cf1', columnQualifier: text('note'), appendValue: text('gift')}]});
    const cells = Object.fromEntries(counted.row.families.flatMap(f => f.columns.map(
      c => [`${f.name}:${Buffer.from(c.qualifier).toString()}`, Buffer.from(c.cells[0].value)])));
    assert.equal(cells['cf3:qty'].readBigInt64BE(), 5n);
    assert.equal(cells['cf1:note'].toString(), 'gift');
    assert.deepEqual(await readRows({rows: {rowRanges: [{startKeyClosed: text('order#2'), endKeyClosed: text('order#2')}]}}),
                     ['order#2/cf1:item=ripe pear', 'order#2/cf1:note=gift', `order#2/cf3:qty=${Buffer.from([0, 0, 0, 0, 0, 0, 0, 5])}`]);
    const samples = await collect(data.sampleRowKeys({tableName: table}));
    assert.ok(samples.length >= 1 && Number(samples.at(-1).offsetBytes) > 0, JSON.stringify(samples));
  });

  it('aggregate families: a counter table, AddToCell and MergeToCell, reads of the Int64 state', async () => {
    const int64 = {int64Type: {encoding: {bigEndianBytes: {}}}};
    const counters = `${instance}/tables/counters`;
    const [created] = await tables.createTable({parent: instance, tableId: 'counters', table: {columnFamilies: {
      views: {valueType: {aggregateType: {inputType: int64, sum: {}}}},
      peak: {valueType: {aggregateType: {inputType: int64, max: {}}}},
    }}});
    assert.ok(created.columnFamilies.views.valueType.aggregateType.sum);
    assert.equal(created.columnFamilies.views.valueType.aggregateType.stateType.int64Type.encoding.encoding,
                 'bigEndianBytes');
    const hour = {rawTimestampMicros: 1733486400000000};
    const add = (family, intValue) => ({addToCell: {familyName: family, columnQualifier: {rawValue: text('page')},
                                                    timestamp: hour, input: {intValue}}});
    await data.mutateRow({tableName: counters, rowKey: text('site#1'), mutations: [add('views', 3), add('peak', 40)]});
    await collect(data.mutateRows({tableName: counters, entries: [
      {rowKey: text('site#1'), mutations: [add('views', 4), add('peak', 25)]}]}));
    const state = Buffer.alloc(8);
    state.writeBigInt64BE(100n);
    await data.mutateRow({tableName: counters, rowKey: text('site#1'), mutations: [{mergeToCell: {
      familyName: 'views', columnQualifier: {rawValue: text('page')}, timestamp: hour, input: {rawValue: state}}}]});
    const chunks = (await collect(data.readRows({tableName: counters}))).flatMap(response => response.chunks);
    const values = Object.fromEntries(chunks.map(c => [c.familyName.value, Buffer.from(c.value).readBigInt64BE()]));
    assert.deepEqual(values, {views: 107n, peak: 40n});
    await rejectsWith(data.mutateRow({tableName: counters, rowKey: text('site#1'), mutations: [setCell('views', 'page', 'x')]}),
                      Code.INVALID_ARGUMENT, 'aggregate column family views');
    await rejectsWith(data.mutateRow({tableName: table, rowKey: text('site#1'), mutations: [add('cf1', 1)]}),
                      Code.INVALID_ARGUMENT, 'needs an aggregate column family');
    await tables.deleteTable({name: counters});
  });

  it('one key disabled: its cluster DISABLED, the default profile served by the other, east-only refused', async () => {
    await setVersionState(keys['us-east1'], 'DISABLED');
    assert.deepEqual(await clusterStates(), {'east-c1': 'DISABLED', 'west-c2': 'READY'});
    assert.deepEqual(await readRows({rowsLimit: 1}), ['order#1/cf1:item=apple', 'order#1/cf3:qty=3']);
    await assert.rejects(collect(data.readRows({tableName: table, appProfileId: 'east-only'})), error => {
      assert.equal(error.code, Code.FAILED_PRECONDITION, error.message);
      assert.ok(error.message.includes(`${instance}/clusters/east-c1`), error.message);
      return true;
    });
  });

  it('enabled again: the cluster is READY and the east-only profile reads', async () => {
    await setVersionState(keys['us-east1'], 'ENABLED');
    assert.deepEqual(await clusterStates(), {'east-c1': 'READY', 'west-c2': 'READY'});
    assert.deepEqual(await readRows({appProfileId: 'east-only', rowsLimit: 1}),
                     ['order#1/cf1:item=apple', 'order#1/cf3:qty=3']);
  });

  it('consistency tokens: generateConsistencyToken, checkConsistency (replicated at once here)', async () => {
    const [generated] = await tables.generateConsistencyToken({name: table});
    assert.match(generated.consistencyToken, /^[A-Za-z0-9_-]+$/);
    const [checked] = await tables.checkConsistency({name: table, consistencyToken: generated.consistencyToken});
    assert.equal(checked.consistent, true);
    await rejectsWith(tables.checkConsistency({name: table, consistencyToken: 'no-such-token'}),
                      Code.INVALID_ARGUMENT, 'consistency token');
  });

  it('deleteTable then undeleteTable (an operation polled by the library): the rows are back', async () => {
    const before = await readRows();
    await tables.deleteTable({name: table});
    await rejectsWith(tables.getTable({name: table}), Code.NOT_FOUND);
    const [operation] = await tables.undeleteTable({name: table});
    assert.match(operation.name, new RegExp(`^operations/${instance}/locations/`));
    const [undeleted] = await operation.promise();
    assert.equal(undeleted.name, table);
    assert.deepEqual(Object.keys(undeleted.columnFamilies).sort(), ['cf1', 'cf3']);
    assert.deepEqual(await readRows(), before);
    await rejectsWith(tables.undeleteTable({name: `${instance}/tables/never`}), Code.NOT_FOUND);
  });

  it('clean-up: dropRowRange, deleteTable, deleteInstance', async () => {
    await tables.dropRowRange({name: table, rowKeyPrefix: text('order#')});
    assert.deepEqual(await readRows(), ['other#1/cf1:item=plum']);
    await tables.deleteTable({name: table});
    await rejectsWith(tables.getTable({name: table}), Code.NOT_FOUND);
    await instances.deleteInstance({name: instance});
    await rejectsWith(instances.getInstance({name: instance}), Code.NOT_FOUND);
  });
});
