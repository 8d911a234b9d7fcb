'use strict';
// Deleting a project, and liens, through Google's clients: Resource Manager v1 through
// `googleapis` (Google's Node.js client for its REST APIs; @google-cloud/resource-manager
// speaks v3 projects, which the emulator does not serve, and has no liens): a project
// deleted and undeleted, what @google-cloud/pubsub and @google-cloud/kms (REST transport)
// get meanwhile (Google's PERMISSION_DENIED "Permission denied on resource project ..."),
// and a lien that blocks the deletion until it is deleted.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {google} = require('googleapis');
const {RUN, Code, rejectsWith, endpoint, kmsClient, pubsub} = require('./lib/emulator.js');

const PROJECT = `deleted-${RUN}`;

// googleapis' Resource Manager v1 client for the control plane, without credentials.
function resourceManager() {
  return google.cloudresourcemanager({version: 'v1', rootUrl: `${endpoint('CONTROL_URL').url}/`});
}

// googleapis rejects with a GaxiosError: the HTTP status as code, Google's message.
async function rejectsHttp(promise, status, messagePart) {
  await assert.rejects(promise, error => {
    assert.equal(error.code, status, `${error.code}: ${error.message}`);
    assert.ok(error.message.includes(messagePart), error.message);
    return true;
  });
}

describe('a deleted project through googleapis, @google-cloud/pubsub and @google-cloud/kms', () => {
  let crm;
  let topics;
  let kms;
  const ring = `projects/${PROJECT}/locations/global/keyRings/ring`;

  before(async () => {
    crm = resourceManager();
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
    await crm.projects.delete({projectId: PROJECT});
    const {data: project} = await crm.projects.get({projectId: PROJECT});
    assert.equal(project.lifecycleState, 'DELETE_REQUESTED');
    const denied = `Permission denied on resource project ${PROJECT}.`;
    await rejectsWith(topics.topic(`orders-${RUN}`).publishMessage({data: Buffer.from('hi')}),
                      Code.PERMISSION_DENIED, denied);
    await rejectsWith(kms.getKeyRing({name: ring}), Code.PERMISSION_DENIED, denied);

    await crm.projects.undelete({projectId: PROJECT, requestBody: {}});
    const [id] = await topics.topic(`orders-${RUN}`).publishMessage({data: Buffer.from('hi')});
    assert.match(id, /^[0-9]+$/);
    const [keyRing] = await kms.getKeyRing({name: ring});
    assert.equal(keyRing.name, ring);
  });

  it('a lien blocks the project\'s deletion until it is deleted', async () => {
    const parent = `projects/${PROJECT}`;
    const {data: lien} = await crm.liens.create({requestBody: {
      parent, restrictions: ['resourcemanager.projects.delete'], reason: 'Holds the CMEK keys',
      origin: 'security-team'}});
    assert.match(lien.name, /^liens\/p[0-9]+-[0-9a-f-]{36}$/);
    assert.deepEqual(lien.restrictions, ['resourcemanager.projects.delete']);
    const {data: listed} = await crm.liens.list({parent});
    assert.deepEqual(listed.liens.map(l => l.name), [lien.name]);
    const {data: got} = await crm.liens.get({name: lien.name});
    assert.equal(got.reason, 'Holds the CMEK keys');

    await rejectsHttp(crm.projects.delete({projectId: PROJECT}), 400,
                      'A lien to prevent deletion was placed on the project by [security-team]');
    await crm.liens.delete({name: lien.name});
    const {data: none} = await crm.liens.list({parent});
    assert.equal((none.liens || []).length, 0);
    await crm.projects.delete({projectId: PROJECT});
    await crm.projects.undelete({projectId: PROJECT, requestBody: {}});
  });

  it('refuses a restriction projects do not support, naming it', async () => {
    await rejectsHttp(crm.liens.create({requestBody: {
      parent: `projects/${PROJECT}`, restrictions: ['resourcemanager.projects.move'], reason: 'r',
      origin: 'o'}}), 400, 'resourcemanager.projects.move');
  });
});
