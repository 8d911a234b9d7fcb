'use strict';
// A deleted project as Google's client libraries see it: Resource Manager v1's
// DeleteProject and UndeleteProject are called over HTTP (Google's Node.js Resource
// Manager library speaks v3 only, which the emulator does not serve), and
// @google-cloud/pubsub and @google-cloud/kms (REST transport) then get Google's
// PERMISSION_DENIED "Permission denied on resource project ..." for the project's calls,
// and their resources back once it is undeleted.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {RUN, Code, rejectsWith, endpoint, kmsClient, pubsub} = require('./lib/emulator.js');

const PROJECT = `deleted-${RUN}`;

// Resource Manager v1 on the control plane: method, path under v1/projects/PROJECT.
async function resourceManager(method, suffix = '') {
  const {url} = endpoint('CONTROL_URL');
  const response = await fetch(`${url}/v1/projects/${PROJECT}${suffix}`, {
    method,
    headers: {'Content-Type': 'application/json'},
    body: method === 'POST' ? '{}' : undefined,
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${method} ${suffix}: HTTP ${response.status} ${text}`);
  return JSON.parse(text);
}

describe('a deleted project through @google-cloud/pubsub and @google-cloud/kms (REST)', () => {
  let topics;
  let kms;
  const ring = `projects/${PROJECT}/locations/global/keyRings/ring`;

  before(async () => {
    topics = pubsub(PROJECT);
    kms = kmsClient();
    await topics.createTopic(`orders-${RUN}`);
    await kms.createKeyRing({parent: `projects/${PROJECT}/locations/global`, keyRingId: 'ring', keyRing: {}});
  });
  after(async () => {
    await topics.close();
    await kms.close();
  });

  it('refuses every call of a deleted project, then serves it again once undeleted', async () => {
    await resourceManager('DELETE');
    const project = await resourceManager('GET');
    assert.equal(project.lifecycleState, 'DELETE_REQUESTED');
    const denied = `Permission denied on resource project ${PROJECT}.`;
    await rejectsWith(topics.topic(`orders-${RUN}`).publishMessage({data: Buffer.from('hi')}),
                      Code.PERMISSION_DENIED, denied);
    await rejectsWith(kms.getKeyRing({name: ring}), Code.PERMISSION_DENIED, denied);

    await resourceManager('POST', ':undelete');
    const [id] = await topics.topic(`orders-${RUN}`).publishMessage({data: Buffer.from('hi')});
    assert.match(id, /^[0-9]+$/);
    const [keyRing] = await kms.getKeyRing({name: ring});
    assert.equal(keyRing.name, ring);
  });
});
