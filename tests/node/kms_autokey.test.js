'use strict';
// Cloud KMS Autokey through Google's @google-cloud/kms (AutokeyAdminClient, AutokeyClient)
// over its REST transport: a folder's configuration, the project moved into the folder
// through Resource Manager, key handles created as long-running operations the library
// polls, the provisioned key used for encryption, and the refusals as the library
// surfaces them.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {v1: kmsV1} = require('@google-cloud/kms');
const {RUN, Code, rejectsWith, endpoint, restOptions, kmsClient} = require('./lib/emulator.js');

const PROJECT = `autokey-${RUN}`;
const KEY_PROJECT = `keys-${RUN}`;
const FOLDER = String(100000 + Math.floor(Math.random() * 899999));
const LOCATION = 'us-central1';

// Resource Manager v1 (the control plane): puts the project in the folder.
async function moveProject(project, folder) {
  const {url} = endpoint('CONTROL_URL');
  const response = await fetch(`${url}/v1/projects/${project}`, {
    method: 'PUT',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({projectId: project, parent: {type: 'folder', id: folder}}),
  });
  assert.equal(response.status, 200, await response.text());
}

describe('Cloud KMS Autokey through @google-cloud/kms (REST)', () => {
  let admin, autokey, kms;
  const parent = `projects/${PROJECT}/locations/${LOCATION}`;
  const configName = `folders/${FOLDER}/autokeyConfig`;

  before(() => {
    admin = new kmsV1.AutokeyAdminClient(restOptions('KMS_URL'));
    autokey = new kmsV1.AutokeyClient(restOptions('KMS_URL'));
    kms = kmsClient();
  });
  after(() => Promise.all([admin.close(), autokey.close(), kms.close()]));

  it('a folder starts UNINITIALIZED; updateAutokeyConfig sets its key project', async () => {
    const [empty] = await admin.getAutokeyConfig({name: configName});
    assert.equal(empty.name, configName);
    assert.equal(empty.state, 'UNINITIALIZED');
    assert.equal(empty.keyProject, '');

    const [config] = await admin.updateAutokeyConfig({
      autokeyConfig: {name: configName, keyProject: `projects/${KEY_PROJECT}`},
      updateMask: {paths: ['key_project']},
    });
    assert.equal(config.keyProject, `projects/${KEY_PROJECT}`);
    assert.equal(config.state, 'ACTIVE');
    assert.ok(config.etag.length > 0);

    await rejectsWith(admin.updateAutokeyConfig({
      autokeyConfig: {name: configName, keyProject: `projects/${KEY_PROJECT}`, etag: 'stale'},
      updateMask: {paths: ['key_project']},
    }), Code.ABORTED, 'etag');
  });

  it('showEffectiveAutokeyConfig follows the project into the folder', async () => {
    const [before] = await admin.showEffectiveAutokeyConfig({parent: `projects/${PROJECT}`});
    assert.equal(before.keyProject, '');
    await moveProject(PROJECT, FOLDER);
    const [after] = await admin.showEffectiveAutokeyConfig({parent: `projects/${PROJECT}`});
    assert.equal(after.keyProject, `projects/${KEY_PROJECT}`);
  });

  it('createKeyHandle provisions a key the library waits for, and the key encrypts', async () => {
    const [operation] = await autokey.createKeyHandle({
      parent, keyHandleId: 'topic-handle', keyHandle: {resourceTypeSelector: 'pubsub.googleapis.com/Topic'},
    });
    const [handle] = await operation.promise();
    assert.equal(handle.name, `${parent}/keyHandles/topic-handle`);
    assert.equal(handle.resourceTypeSelector, 'pubsub.googleapis.com/Topic');
    const prefix = `projects/${KEY_PROJECT}/locations/${LOCATION}/keyRings/autokey/cryptoKeys/`;
    assert.ok(handle.kmsKey.startsWith(prefix), handle.kmsKey);
    assert.match(handle.kmsKey.slice(prefix.length), /^\d{12}-pubsub-topic-[0-9a-f]{16}$/);

    const [key] = await kms.getCryptoKey({name: handle.kmsKey});
    assert.equal(key.versionTemplate.protectionLevel, 'HSM');
    assert.equal(Number(key.rotationPeriod.seconds), 365 * 86400);
    const [encrypted] = await kms.encrypt({name: handle.kmsKey, plaintext: Buffer.from('order 42')});
    const [decrypted] = await kms.decrypt({name: handle.kmsKey, ciphertext: encrypted.ciphertext});
    assert.equal(Buffer.from(decrypted.plaintext).toString(), 'order 42');

    const [got] = await autokey.getKeyHandle({name: handle.name});
    assert.equal(got.kmsKey, handle.kmsKey);
  });

  it('listKeyHandles filters by resource type', async () => {
    const [operation] = await autokey.createKeyHandle({
      parent, keyHandleId: 'db-handle', keyHandle: {resourceTypeSelector: 'spanner.googleapis.com/Database'},
    });
    await operation.promise();
    const [all] = await autokey.listKeyHandles({parent});
    assert.deepEqual(all.map(h => h.name.split('/').pop()).sort(), ['db-handle', 'topic-handle']);
    const [topics] = await autokey.listKeyHandles({
      parent, filter: 'resource_type_selector="pubsub.googleapis.com/Topic"',
    });
    assert.deepEqual(topics.map(h => h.name.split('/').pop()), ['topic-handle']);
  });

  it('refusals: a malformed resource type, a taken ID, a project outside any configured folder', async () => {
    await rejectsWith(autokey.createKeyHandle({
      parent, keyHandleId: 'bad', keyHandle: {resourceTypeSelector: 'Topic'},
    }), Code.INVALID_ARGUMENT, 'resource_type_selector');
    await rejectsWith(autokey.createKeyHandle({
      parent, keyHandleId: 'topic-handle', keyHandle: {resourceTypeSelector: 'pubsub.googleapis.com/Topic'},
    }), Code.ALREADY_EXISTS);
    const [operation] = await autokey.createKeyHandle({
      parent: `projects/lone-${RUN}/locations/${LOCATION}`,
      keyHandle: {resourceTypeSelector: 'pubsub.googleapis.com/Topic'},
    });
    await rejectsWith(operation.promise(), Code.FAILED_PRECONDITION, `lone-${RUN}`);
    await rejectsWith(autokey.getKeyHandle({name: `${parent}/keyHandles/missing`}), Code.NOT_FOUND);
  });
});
