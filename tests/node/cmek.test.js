'use strict';
// A Pub/Sub topic protected by a customer-managed key, with both libraries: the key is
// made and switched off and on through @google-cloud/kms, the topic used through
// @google-cloud/pubsub. The emulator's control plane (not a Google API) runs the key
// checks at once instead of waiting for the next scheduled one.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {RUN, Code, rejectsWith, control, kmsClient, pubsub, subscriberClient} = require('./lib/emulator.js');

const PROJECT = 'node-cmek-project';
const LOCATION = 'us-east1';

describe('a CMEK topic: @google-cloud/kms and @google-cloud/pubsub together (REST)', () => {
  let kms;
  let ps;
  let subscriber;
  const ringId = `cmek-ring-${RUN}`;
  const topicId = `cmek-orders-${RUN}`;
  const subId = `cmek-orders-sub-${RUN}`;
  const topicName = `projects/${PROJECT}/topics/${topicId}`;
  const subName = `projects/${PROJECT}/subscriptions/${subId}`;
  let keyName;
  let otherKeyName;

  before(async () => {
    kms = kmsClient();
    ps = pubsub(PROJECT);
    subscriber = subscriberClient();
  });
  after(async () => {
    await kms.close();
    await ps.close();
    await subscriber.close();
  });

  async function pullAll(count) {
    const received = [];
    const deadline = Date.now() + 10000;
    while (received.length < count && Date.now() < deadline) {
      const [response] = await subscriber.pull({subscription: subName, maxMessages: 10, returnImmediately: true});
      received.push(...response.receivedMessages);
      if (received.length < count) await new Promise(resolve => setTimeout(resolve, 100));
    }
    if (received.length) await subscriber.acknowledge({subscription: subName, ackIds: received.map(m => m.ackId)});
    return received.map(m => Buffer.from(m.message.data).toString());
  }

  async function protectedResource() {
    const {protectedResources} = await control('/emulator/v1/protectedResources?service=pubsub');
    const resource = protectedResources.find(r => r.name === topicName);
    assert.ok(resource, `${topicName} is a protected resource`);
    return resource;
  }

  async function setVersionState(name, state) {
    const [version] = await kms.updateCryptoKeyVersion({
      cryptoKeyVersion: {name, state}, updateMask: {paths: ['state']}});
    assert.equal(version.state, state);
  }

  it('the key is made with @google-cloud/kms', async () => {
    const parent = kms.locationPath(PROJECT, LOCATION);
    await kms.createKeyRing({parent, keyRingId: ringId, keyRing: {}});
    const ring = kms.keyRingPath(PROJECT, LOCATION, ringId);
    const [key] = await kms.createCryptoKey({parent: ring, cryptoKeyId: 'orders-key', cryptoKey: {purpose: 'ENCRYPT_DECRYPT'}});
    const [other] = await kms.createCryptoKey({parent: ring, cryptoKeyId: 'other-key', cryptoKey: {purpose: 'ENCRYPT_DECRYPT'}});
    keyName = key.name;
    otherKeyName = other.name;
  });

  it('createTopic with kmsKeyName and a storage policy in the key\'s region', async () => {
    const [, metadata] = await ps.createTopic({
      name: topicId, kmsKeyName: keyName, messageStoragePolicy: {allowedPersistenceRegions: [LOCATION]}});
    assert.equal(metadata.kmsKeyName, keyName);
    assert.deepEqual(metadata.messageStoragePolicy.allowedPersistenceRegions, [LOCATION]);
    const [got] = await ps.topic(topicId).getMetadata();
    assert.equal(got.kmsKeyName, keyName);
    await ps.topic(topicId).createSubscription(subId);
    const resource = await protectedResource();
    assert.equal(resource.kmsKeyName, keyName);
    assert.equal(resource.kmsKeyVersionName, `${keyName}/cryptoKeyVersions/1`);
    assert.equal(resource.state, 'ACCESSIBLE');
  });

  it('publish and pull through the key', async () => {
    await ps.topic(topicId).publishMessage({data: Buffer.from('protected 1')});
    assert.deepEqual(await pullAll(1), ['protected 1']);
  });

  it('with the key version disabled, publish and pull fail FAILED_PRECONDITION; messages are kept', async () => {
    await ps.topic(topicId).publishMessage({data: Buffer.from('before the key went')});
    await setVersionState(`${keyName}/cryptoKeyVersions/1`, 'DISABLED');
    await control('/emulator/v1/keyChecks:run', {});
    assert.equal((await protectedResource()).state, 'INACCESSIBLE');
    await rejectsWith(ps.topic(topicId).publishMessage({data: Buffer.from('refused')}), Code.FAILED_PRECONDITION, topicId);
    await rejectsWith(subscriber.pull({subscription: subName, maxMessages: 1, returnImmediately: true}),
                      Code.FAILED_PRECONDITION);
  });

  it('with the version enabled again, the topic serves again and nothing was lost', async () => {
    await setVersionState(`${keyName}/cryptoKeyVersions/1`, 'ENABLED');
    await control('/emulator/v1/keyChecks:run', {});
    assert.equal((await protectedResource()).state, 'ACCESSIBLE');
    await ps.topic(topicId).publishMessage({data: Buffer.from('after the key came back')});
    assert.deepEqual((await pullAll(2)).sort(), ['after the key came back', 'before the key went']);
  });

  it('rotation: after a new primary, the topic re-wraps and no longer needs version 1', async () => {
    const [v2] = await kms.createCryptoKeyVersion({parent: keyName, cryptoKeyVersion: {}});
    await kms.updateCryptoKeyPrimaryVersion({name: keyName, cryptoKeyVersionId: '2'});
    await control('/emulator/v1/keyChecks:run', {});
    assert.equal((await protectedResource()).kmsKeyVersionName, v2.name);
    await setVersionState(`${keyName}/cryptoKeyVersions/1`, 'DISABLED');
    await control('/emulator/v1/keyChecks:run', {});
    assert.equal((await protectedResource()).state, 'ACCESSIBLE');
    await ps.topic(topicId).publishMessage({data: Buffer.from('under version 2')});
    assert.deepEqual(await pullAll(1), ['under version 2']);
  });

  it('setMetadata (updateTopic) moves the topic to another key; messages stay', async () => {
    await ps.topic(topicId).publishMessage({data: Buffer.from('moved with the topic')});
    const [updated] = await ps.topic(topicId).setMetadata({kmsKeyName: otherKeyName});
    assert.equal(updated.kmsKeyName, otherKeyName);
    assert.equal((await protectedResource()).kmsKeyName, otherKeyName);
    assert.deepEqual(await pullAll(1), ['moved with the topic']);
  });

  it('errors: a missing key is NOT_FOUND; a regional key without a storage policy INVALID_ARGUMENT', async () => {
    await rejectsWith(ps.createTopic({name: `no-key-${RUN}`,
                                      kmsKeyName: `projects/${PROJECT}/locations/${LOCATION}/keyRings/${ringId}/cryptoKeys/missing`,
                                      messageStoragePolicy: {allowedPersistenceRegions: [LOCATION]}}),
                      Code.NOT_FOUND);
    await rejectsWith(ps.createTopic({name: `no-policy-${RUN}`, kmsKeyName: keyName}), Code.INVALID_ARGUMENT, LOCATION);
    await rejectsWith(ps.createTopic({name: `bad-key-${RUN}`, kmsKeyName: 'not-a-key-name'}), Code.INVALID_ARGUMENT);
  });
});
