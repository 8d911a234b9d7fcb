'use strict';
// Projects, their deletion and liens through Google's clients: Resource Manager v3 through
// @google-cloud/resource-manager's ProjectsClient (REST transport: create, get, list,
// search, update, move, delete and undelete, each operation awaited); Resource Manager v1
// through `googleapis` (Google's Node.js client for its REST APIs; the v3 library has no
// liens): a project deleted and undeleted, what @google-cloud/pubsub and @google-cloud/kms
// get meanwhile (Google's PERMISSION_DENIED "Permission denied on resource project ..."),
// and a lien that blocks the deletion until it is deleted.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {ProjectsClient} = require('@google-cloud/resource-manager');
const {google} = require('googleapis');
const {RUN, Code, rejectsWith, endpoint, restOptions, kmsClient, pubsub} = require('./lib/emulator.js');

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

// protobuf.js leaves an operation's enums as numbers (google.cloud.resourcemanager.v3.Project.State)
const STATES = ['STATE_UNSPECIFIED', 'ACTIVE', 'DELETE_REQUESTED'];
const state = value => (typeof value === 'number' ? STATES[value] : value);

describe('projects through @google-cloud/resource-manager ProjectsClient (REST, v3)', () => {
  let projects;
  const id = `v3-${RUN}`;
  // folders of this run alone (numeric IDs), so a second run against one stack lists its own
  const from = `folders/${Date.now() % 1000000000}1`;
  const to = `folders/${Date.now() % 1000000000}2`;

  before(() => {
    projects = new ProjectsClient(restOptions('CONTROL_URL'));
  });
  after(async () => {
    await projects.close();
  });

  it('creates, reads, lists, searches, updates and moves a project', async () => {
    const [created] = await projects.createProject({project: {
      projectId: id, displayName: 'Ledger', parent: from, labels: {env: 'dev'}}});
    const [project] = await created.promise();
    assert.match(project.name, /^projects\/[0-9]+$/);
    assert.equal(project.projectId, id);
    assert.equal(project.parent, from);
    const [got] = await projects.getProject({name: project.name}); // by number
    assert.equal(got.displayName, 'Ledger');
    assert.equal(state(got.state), 'ACTIVE');
    const [byId] = await projects.getProject({name: `projects/${id}`});
    assert.equal(byId.name, project.name);
    const [listed] = await projects.listProjects({parent: from});
    assert.deepEqual(listed.map(p => p.projectId), [id]);
    const [found] = await projects.searchProjects({query: `id:${id} AND labels.env:dev`});
    assert.deepEqual(found.map(p => p.projectId), [id]);
    // Google's query rules: names and values in any case, ':' is equality, 'led*' a prefix
    const [anyCase] = await projects.searchProjects({query: `ID:${id.toUpperCase()} AND NAME:led*`});
    assert.deepEqual(anyCase.map(p => p.projectId), [id]);
    const [part] = await projects.searchProjects({query: `id:${id} AND name:Led`});
    assert.deepEqual(part, []); // not "contains"
    const {data: v1} = await resourceManager().projects.list({filter: `id:${id.toUpperCase()}`});
    assert.deepEqual(v1.projects.map(p => p.projectId), [id]); // v1's filter reads the same way
    const [updating] = await projects.updateProject({
      project: {name: project.name, displayName: 'Ledger EU'}, updateMask: {paths: ['display_name']}});
    const [updated] = await updating.promise();
    assert.equal(updated.displayName, 'Ledger EU');
    assert.deepEqual(updated.labels, {env: 'dev'}); // outside the mask: kept
    const [moving] = await projects.moveProject({name: project.name, destinationParent: to});
    const [moved] = await moving.promise();
    assert.equal(moved.parent, to);
    // this library's google-gax (5.x) reports a refused list over REST as the HTTP status
    // (400), Google's JSON error as the message
    await assert.rejects(projects.listProjects({parent: 'projects/x'}), error => {
      assert.ok([Code.INVALID_ARGUMENT, 400].includes(error.code), `${error.code}: ${error.message}`);
      assert.ok(error.message.includes('INVALID_ARGUMENT') && error.message.includes('folders/<id>'),
                error.message);
      return true;
    });
  });

  it('deletes a project (listed again only with showDeleted) and undeletes it', async () => {
    const [deleting] = await projects.deleteProject({name: `projects/${id}`});
    const [deleted] = await deleting.promise();
    assert.equal(state(deleted.state), 'DELETE_REQUESTED');
    const [active] = await projects.listProjects({parent: to});
    assert.equal(active.length, 0);
    const [all] = await projects.listProjects({parent: to, showDeleted: true});
    assert.deepEqual(all.map(p => p.projectId), [id]);
    const [undeleting] = await projects.undeleteProject({name: `projects/${id}`});
    const [back] = await undeleting.promise();
    assert.equal(state(back.state), 'ACTIVE');
  });
});

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
