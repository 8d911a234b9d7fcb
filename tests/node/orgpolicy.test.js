'use strict';
// Organization Policy v2 through Google's @google-cloud/org-policy (OrgPolicyClient) over
// its REST transport: the CMEK constraints listed, a policy created, read, updated with
// its etag, summed up by getEffectivePolicy, listed and deleted; and its effect as
// Google's @google-cloud/pubsub surfaces it: a topic without a key refused with
// FAILED_PRECONDITION naming the constraint, a topic with a key created; and the resource
// locations constraint as Google's @google-cloud/kms surfaces it: a key ring outside the
// allowed value group refused.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {OrgPolicyClient} = require('@google-cloud/org-policy');
const {RUN, Code, rejectsWith, restOptions, kmsClient, pubsub} = require('./lib/emulator.js');

const PROJECT = `orgpolicy-${RUN}`;
const NON_CMEK = 'gcp.restrictNonCmekServices';
const KEYS = 'gcp.restrictCmekCryptoKeyProjects';
const LOCATIONS = 'gcp.resourceLocations';

describe('Organization Policy through @google-cloud/org-policy (REST)', () => {
  let client, kms, ps;
  const parent = `projects/${PROJECT}`;
  const policyName = constraint => `${parent}/policies/${constraint}`;
  let number;

  before(async () => {
    client = new OrgPolicyClient(restOptions('CONTROL_URL'));
    kms = kmsClient();
    ps = pubsub(PROJECT);
  });
  after(async () => {
    await Promise.all([client.close(), kms.close(), ps.close()]);
  });

  it('lists the CMEK and Cloud KMS constraints, answered under the project number', async () => {
    const [constraints] = await client.listConstraints({parent});
    const names = constraints.map(c => c.name.split('/').pop()).sort();
    assert.deepEqual(names, ['cloudkms.allowedProtectionLevels', 'cloudkms.disableBeforeDestroy',
                             'cloudkms.minimumDestroyScheduledDuration', LOCATIONS, KEYS, NON_CMEK]);
    number = constraints[0].name.split('/')[1];
    assert.match(number, /^[0-9]{12}$/);
    const keys = constraints.find(c => c.name.endsWith(KEYS));
    assert.equal(keys.listConstraint.supportsUnder, true);
    assert.equal(keys.constraintDefault, 'ALLOW');
    const locations = constraints.find(c => c.name.endsWith(LOCATIONS));
    assert.equal(locations.listConstraint.supportsIn, true);
  });

  it('creates, reads, updates (etag) and lists a policy', async () => {
    const [created] = await client.createPolicy({
      parent,
      policy: {name: policyName(NON_CMEK), spec: {rules: [{values: {deniedValues: ['pubsub.googleapis.com']}}]}},
    });
    assert.equal(created.name, `projects/${number}/policies/${NON_CMEK}`);
    assert.deepEqual(created.spec.rules[0].values.deniedValues, ['pubsub.googleapis.com']);
    // this library's Policy has no etag of its own (newer protos do): its spec's is the same
    assert.ok(created.spec.etag.length > 0);

    // ALREADY_EXISTS is HTTP 409; this library's google-gax (4.x) takes the gRPC code from
    // the HTTP status alone, and 409 maps to ABORTED: the message tells them apart
    await rejectsWith(client.createPolicy({parent, policy: {name: policyName(NON_CMEK), spec: {}}}),
                      Code.ABORTED, 'already exists');

    const [read] = await client.getPolicy({name: `projects/${number}/policies/${NON_CMEK}`});
    assert.equal(read.spec.etag, created.spec.etag);

    const [updated] = await client.updatePolicy({
      policy: {name: policyName(NON_CMEK), spec: {
        etag: created.spec.etag,
        rules: [{values: {deniedValues: ['pubsub.googleapis.com', 'spanner.googleapis.com']}}],
      }},
    });
    assert.notEqual(updated.spec.etag, created.spec.etag);
    await rejectsWith(client.updatePolicy({
      policy: {name: policyName(NON_CMEK), spec: {etag: created.spec.etag, rules: [{denyAll: true}]}},
    }), Code.ABORTED, 'etag');

    const [effective] = await client.getEffectivePolicy({name: policyName(NON_CMEK)});
    assert.deepEqual([...effective.spec.rules[0].values.deniedValues].sort(),
                     ['pubsub.googleapis.com', 'spanner.googleapis.com']);

    const [policies] = await client.listPolicies({parent});
    assert.deepEqual(policies.map(p => p.name), [`projects/${number}/policies/${NON_CMEK}`]);
  });

  it('refuses what the emulator cannot enforce, naming it', async () => {
    await rejectsWith(client.createPolicy({
      parent, policy: {name: policyName('compute.vmExternalIpAccess'), spec: {rules: [{denyAll: true}]}},
    }), Code.INVALID_ARGUMENT, 'not one the emulator enforces');
    await rejectsWith(client.createPolicy({
      parent, policy: {name: policyName(KEYS), spec: {rules: [{values: {allowedValues: ['in:group']}}]}},
    }), Code.INVALID_ARGUMENT, 'value groups');
  });

  it('Pub/Sub (through @google-cloud/pubsub) then needs a key', async () => {
    await rejectsWith(ps.createTopic(`plain-${RUN}`), Code.FAILED_PRECONDITION,
                      `constraints/${NON_CMEK}`);

    const location = `projects/${PROJECT}/locations/global`;
    await kms.createKeyRing({parent: location, keyRingId: 'r', keyRing: {}});
    const [key] = await kms.createCryptoKey({
      parent: `${location}/keyRings/r`, cryptoKeyId: 'k', cryptoKey: {purpose: 'ENCRYPT_DECRYPT'},
    });
    const [topic] = await ps.createTopic({name: `keyed-${RUN}`, kmsKeyName: key.name});
    assert.equal(topic.name, `projects/${PROJECT}/topics/keyed-${RUN}`);

    await client.createPolicy({
      parent,
      policy: {name: policyName(KEYS), spec: {rules: [{values: {allowedValues: ['under:projects/elsewhere']}}]}},
    });
    await rejectsWith(ps.createTopic({name: `keyed2-${RUN}`, kmsKeyName: key.name}),
                      Code.FAILED_PRECONDITION, `constraints/${KEYS}`);
  });

  it('gcp.resourceLocations: key rings (through @google-cloud/kms) only in allowed locations', async () => {
    const [created] = await client.createPolicy({
      parent,
      policy: {name: policyName(LOCATIONS), spec: {rules: [{values: {allowedValues: ['eu-locations']}}]}},
    });
    assert.deepEqual(created.spec.rules[0].values.allowedValues, ['in:eu-locations']);
    // FAILED_PRECONDITION is HTTP 400, which this library's google-gax reads as INVALID_ARGUMENT
    const refused = kms.createKeyRing({parent: `projects/${PROJECT}/locations/us-central1`, keyRingId: 'far', keyRing: {}});
    await assert.rejects(refused, error => {
      assert.ok([Code.FAILED_PRECONDITION, Code.INVALID_ARGUMENT].includes(error.code), error.message);
      assert.ok(error.message.includes(`constraints/${LOCATIONS} violated`), error.message);
      assert.ok(error.message.includes('attempting to create a key ring in [us-central1]'), error.message);
      return true;
    });
    const [ring] = await kms.createKeyRing({
      parent: `projects/${PROJECT}/locations/europe-west4`, keyRingId: 'near', keyRing: {},
    });
    assert.equal(ring.name, `projects/${PROJECT}/locations/europe-west4/keyRings/near`);
    await client.deletePolicy({name: policyName(LOCATIONS)});
  });

  it('deletes the policies: Pub/Sub is free again', async () => {
    await client.deletePolicy({name: policyName(NON_CMEK)});
    await client.deletePolicy({name: policyName(KEYS)});
    await rejectsWith(client.getPolicy({name: policyName(NON_CMEK)}), Code.NOT_FOUND);
    const [topic] = await ps.createTopic(`plain-${RUN}`);
    assert.equal(topic.name, `projects/${PROJECT}/topics/plain-${RUN}`);
  });
});
