'use strict';
// Pub/Sub schemas through Google's @google-cloud/pubsub over its REST transport: the
// handwritten PubSub/Schema API (createSchema, schema.get in both views, listSchemas,
// validateSchema, schema.validateMessage, Schema.metadataFromMessage on what a pull
// returns) and the generated SchemaServiceClient for revisions (commitSchema,
// listSchemaRevisions, rollbackSchema, deleteSchemaRevision); a topic with
// schemaSettings refusing a message that does not fit, with Google's ErrorInfo.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {SchemaTypes, Encodings} = require('@google-cloud/pubsub');
const {RUN, Code, rejectsWith, pubsub, subscriberClient} = require('./lib/emulator.js');
const {Schema} = require('@google-cloud/pubsub');

const PROJECT = 'node-schema-project';

const AVRO = JSON.stringify({
  type: 'record', name: 'Reading', fields: [
    {name: 'sensor', type: 'string'},
    {name: 'celsius', type: 'double'},
    {name: 'at', type: {type: 'long', logicalType: 'timestamp-millis'}},
  ],
});
const AVRO_V2 = JSON.stringify({
  type: 'record', name: 'Reading', fields: [
    {name: 'sensor', type: 'string'},
    {name: 'celsius', type: 'double'},
    {name: 'at', type: {type: 'long', logicalType: 'timestamp-millis'}},
    {name: 'site', type: ['null', 'string'], default: null},
  ],
});
const PROTO = `syntax = "proto3";
message Reading {
  string sensor = 1;
  double celsius = 2;
  repeated string tags = 3;
}`;

describe('Pub/Sub schemas through @google-cloud/pubsub (REST)', () => {
  let ps;
  let subscriber;
  let schemas;
  const ids = {avro: `readings-${RUN}`, proto: `readings-proto-${RUN}`, topic: `readings-${RUN}`,
               sub: `readings-sub-${RUN}`};
  const schemaName = id => `projects/${PROJECT}/schemas/${id}`;

  before(async () => {
    ps = pubsub(PROJECT);
    subscriber = subscriberClient();
    schemas = await ps.getSchemaClient();
  });
  after(async () => {
    await ps.close();
    await subscriber.close();
  });

  it('creates Avro and Protocol Buffer schemas and reads them back', async () => {
    const avro = await ps.createSchema(ids.avro, SchemaTypes.Avro, AVRO);
    const full = await avro.get();
    assert.equal(full.name, schemaName(ids.avro));
    assert.equal(full.type, 'AVRO');
    assert.equal(full.definition, AVRO);
    assert.match(full.revisionId, /^[0-9a-f]{8}$/);
    const basic = await avro.get('BASIC');
    assert.equal(basic.definition, '');
    await ps.createSchema(ids.proto, SchemaTypes.ProtocolBuffer, PROTO);
    const listed = [];
    for await (const s of ps.listSchemas('FULL')) listed.push(s);
    assert.deepEqual(listed.map(s => s.name).sort(), [schemaName(ids.avro), schemaName(ids.proto)].sort());
    assert.ok(listed.every(s => s.definition.length > 0));
    await rejectsWith(ps.createSchema(ids.avro, SchemaTypes.Avro, AVRO), Code.ALREADY_EXISTS);
  });

  // schema.validateMessage sends its string as the request's bytes field: base64, as the
  // library's own documentation says
  const b64 = value => Buffer.from(JSON.stringify(value)).toString('base64');

  it('validates schemas and messages', async () => {
    await ps.validateSchema({type: SchemaTypes.Avro, definition: AVRO});
    await rejectsWith(ps.validateSchema({type: SchemaTypes.Avro, definition: '{"type": "enum", "name": "E"}'}),
      Code.INVALID_ARGUMENT, 'Could not parse schema definition');
    const avro = ps.schema(ids.avro);
    await avro.validateMessage(b64({sensor: 'a', celsius: 21.5, at: 1700000000000}), Encodings.Json);
    await rejectsWith(avro.validateMessage(b64({sensor: 'a', celsius: 'warm', at: 1}), Encodings.Json),
      Code.INVALID_ARGUMENT, 'Invalid data in message');
    const proto = ps.schema(ids.proto);
    await proto.validateMessage(b64({sensor: 'b', celsius: 'NaN', tags: ['x']}), Encodings.Json);
    await rejectsWith(proto.validateMessage(b64({sensor: 'b', unknown: 1}), Encodings.Json),
      Code.INVALID_ARGUMENT);
  });

  it('commits, lists, rolls back and deletes revisions', async () => {
    const [v2] = await schemas.commitSchema({name: schemaName(ids.avro), schema: {type: 'AVRO', definition: AVRO_V2}});
    const [revisions] = await schemas.listSchemaRevisions({name: schemaName(ids.avro), view: 'FULL'});
    assert.equal(revisions.length, 2);
    assert.equal(revisions[0].revisionId, v2.revisionId);
    assert.equal(revisions[0].definition, AVRO_V2);
    const [v3] = await schemas.rollbackSchema({name: schemaName(ids.avro), revisionId: revisions[1].revisionId});
    assert.equal(v3.definition, AVRO);
    await schemas.deleteSchemaRevision({name: `${schemaName(ids.avro)}@${v3.revisionId}`});
    const [after] = await schemas.listSchemaRevisions({name: schemaName(ids.avro)});
    assert.deepEqual(after.map(r => r.revisionId), [v2.revisionId, revisions[1].revisionId]);
  });

  it('publishes to a topic with schemaSettings and stamps the revision', async () => {
    await ps.createTopic({name: ids.topic, schemaSettings: {schema: schemaName(ids.avro), encoding: Encodings.Json}});
    const [metadata] = await ps.topic(ids.topic).getMetadata();
    assert.equal(metadata.schemaSettings.schema, schemaName(ids.avro));
    assert.equal(metadata.schemaSettings.encoding, 'JSON');
    await ps.topic(ids.topic).createSubscription(ids.sub);
    const topic = ps.topic(ids.topic, {batching: {maxMessages: 1}});
    await topic.publishMessage({json: {sensor: 'c', celsius: 19, at: 1700000000000}});
    const err = await topic.publishMessage({json: {sensor: 'c'}}).then(() => null, e => e);
    assert.ok(err, 'a message the schema refuses is not published');
    assert.equal(err.code, Code.INVALID_ARGUMENT);
    assert.match(err.message, /Message failed schema validation/);
    const [response] = await subscriber.pull({subscription: `projects/${PROJECT}/subscriptions/${ids.sub}`,
                                              maxMessages: 10, returnImmediately: true});
    assert.equal(response.receivedMessages.length, 1);
    const meta = Schema.metadataFromMessage(response.receivedMessages[0].message.attributes);
    assert.equal(meta.name, schemaName(ids.avro));
    assert.equal(meta.encoding, 'JSON');
    assert.match(meta.revision, /^[0-9a-f]{8}$/);
  });

  it('deletes a schema: its topic refuses publishes', async () => {
    await ps.schema(ids.avro).delete();
    const [metadata] = await ps.topic(ids.topic).getMetadata();
    assert.equal(metadata.schemaSettings.schema, '_deleted-schema_');
    const topic = ps.topic(ids.topic, {batching: {maxMessages: 1}});
    const err = await topic.publishMessage({json: {sensor: 'c', celsius: 1, at: 1}}).then(() => null, e => e);
    assert.ok(err);
    assert.equal(err.code, Code.NOT_FOUND);
    await ps.schema(ids.proto).delete();
  });
});
