'use strict';
// Folders through @google-cloud/resource-manager's FoldersClient (REST transport, Resource
// Manager v3): create, get, list, search, update, move, delete and undelete, each
// operation awaited, Google's constraints as the library reports them, and the folder's
// IAM policy (getIamPolicy, setIamPolicy, testIamPermissions).

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {FoldersClient} = require('@google-cloud/resource-manager');
const {RUN, Code, restOptions} = require('./lib/emulator.js');

// protobuf.js may leave an operation's enums as numbers (google.cloud.resourcemanager.v3.Folder.State)
const STATES = ['STATE_UNSPECIFIED', 'ACTIVE', 'DELETE_REQUESTED'];
const state = value => (typeof value === 'number' ? STATES[value] : value);

// A refused call: google-gax (5.x) reports some refusals over REST as the HTTP status, others
// as the gRPC code; Google's JSON error is the message either way.
async function refused(promise, codes, messagePart) {
  await assert.rejects(promise, error => {
    assert.ok(codes.includes(error.code), `${error.code}: ${error.message}`);
    assert.ok(error.message.includes(messagePart), error.message);
    return true;
  });
}

describe('folders through @google-cloud/resource-manager FoldersClient (REST, v3)', () => {
  let folders;
  // an organization of this run alone (numeric ID), so a second run against one stack lists its own
  const org = `organizations/${Date.now() % 1000000000}3`;
  const names = {};

  before(() => {
    folders = new FoldersClient(restOptions('CONTROL_URL'));
  });
  after(async () => {
    await folders.close();
  });

  it('creates, reads, lists and searches folders', async () => {
    for (const displayName of [`Finance ${RUN}`, `Eng ${RUN}`]) {
      const [creating] = await folders.createFolder({folder: {parent: org, displayName}});
      const [folder] = await creating.promise();
      assert.match(folder.name, /^folders\/[0-9]{12}$/);
      assert.equal(folder.parent, org);
      assert.equal(folder.displayName, displayName);
      assert.equal(state(folder.state), 'ACTIVE');
      names[displayName.split(' ')[0]] = folder.name;
    }
    const [creating] = await folders.createFolder({folder: {parent: names.Finance, displayName: 'Team A'}});
    const [teamA] = await creating.promise();
    names.TeamA = teamA.name;
    assert.equal(creating.metadata.parent, names.Finance); // CreateFolderMetadata
    assert.equal(creating.metadata.displayName, 'Team A');

    const [got] = await folders.getFolder({name: names.TeamA});
    assert.equal(got.displayName, 'Team A');
    assert.equal(got.parent, names.Finance);
    assert.equal(state(got.state), 'ACTIVE');
    assert.ok(got.etag && got.createTime && got.updateTime, JSON.stringify(got));

    const [listed] = await folders.listFolders({parent: org});
    assert.deepEqual(listed.map(f => f.displayName), [`Eng ${RUN}`, `Finance ${RUN}`]); // by display name

    const [found] = await folders.searchFolders({query: `parent=${org} AND displayName:fin*`});
    assert.deepEqual(found.map(f => f.name), [names.Finance]);
    const [either] = await folders.searchFolders({
      query: `displayName="Team A" OR (parent=${org} AND NOT displayName=Fin*)`});
    assert.deepEqual(either.map(f => f.name).sort(), [names.Eng, names.TeamA].sort());
    await refused(folders.searchFolders({query: 'labels.env:prod'}), [Code.INVALID_ARGUMENT, 400],
                  'labels.env');
  });

  it('updates and moves a folder, under Google\'s constraints', async () => {
    const [updating] = await folders.updateFolder({
      folder: {name: names.TeamA, displayName: 'Team A2'}, updateMask: {paths: ['display_name']}});
    const [updated] = await updating.promise();
    assert.equal(updated.displayName, 'Team A2');
    const [moving] = await folders.moveFolder({name: names.TeamA, destinationParent: names.Eng});
    const [moved] = await moving.promise();
    assert.equal(moved.parent, names.Eng);
    assert.equal(moving.metadata.sourceParent, names.Finance); // MoveFolderMetadata
    assert.equal(moving.metadata.destinationParent, names.Eng);
    // a name taken among the new siblings: FAILED_PRECONDITION (400 over REST)
    const [creating] = await folders.createFolder({folder: {parent: names.Eng, displayName: 'Team B'}});
    const [teamB] = await creating.promise();
    await refused(folders.updateFolder({folder: {name: teamB.name, displayName: 'Team A2'},
                                        updateMask: {paths: ['display_name']}}),
                  [Code.FAILED_PRECONDITION, 400], 'already exists');
    await refused(folders.moveFolder({name: names.Eng, destinationParent: names.TeamA}),
                  [Code.FAILED_PRECONDITION, 400], 'into itself');
    await refused(folders.createFolder({folder: {parent: org, displayName: '-bad'}}),
                  [Code.INVALID_ARGUMENT, 400], 'display_name');
    await refused(folders.listFolders({parent: 'projects/p'}), [Code.INVALID_ARGUMENT, 400], 'parent');
    await refused(folders.getFolder({name: 'folders/42'}), [Code.NOT_FOUND, 404], 'not found');
    const [deleting] = await folders.deleteFolder({name: teamB.name});
    await deleting.promise();
  });

  it('deletes a folder (listed again only with showDeleted) and undeletes it', async () => {
    const [deleting] = await folders.deleteFolder({name: names.TeamA});
    const [deleted] = await deleting.promise();
    assert.equal(state(deleted.state), 'DELETE_REQUESTED');
    assert.ok(deleted.deleteTime, JSON.stringify(deleted));
    const [active] = await folders.listFolders({parent: names.Eng});
    assert.equal(active.length, 0);
    const [all] = await folders.listFolders({parent: names.Eng, showDeleted: true});
    assert.deepEqual(all.map(f => f.displayName).sort(), ['Team A2', 'Team B']);
    const [marked] = await folders.searchFolders({query: `parent=${names.Eng} AND state=DELETE_REQUESTED`});
    assert.equal(marked.length, 2);
    const [undeleting] = await folders.undeleteFolder({name: names.TeamA});
    const [back] = await undeleting.promise();
    assert.equal(state(back.state), 'ACTIVE');
    const [got] = await folders.getFolder({name: names.TeamA});
    assert.equal(state(got.state), 'ACTIVE');
  });

  it('sets and reads the folder\'s IAM policy', async () => {
    const member = `user:auditor-${RUN}@example.com`;
    const [set] = await folders.setIamPolicy({resource: names.Finance, policy: {
      bindings: [{role: 'roles/resourcemanager.folderViewer', members: [member]}]}});
    assert.deepEqual(set.bindings.map(b => b.members), [[member]]);
    const [policy] = await folders.getIamPolicy({resource: names.Finance});
    assert.deepEqual(policy.bindings.map(b => `${b.role} ${b.members.join(',')}`),
                     [`roles/resourcemanager.folderViewer ${member}`]);
    assert.ok(policy.etag && policy.etag.length > 0);
    // the default principal (--iam off) holds every permission
    const [tested] = await folders.testIamPermissions({resource: names.Finance,
      permissions: ['resourcemanager.folders.get', 'resourcemanager.folders.delete']});
    assert.deepEqual(tested.permissions, ['resourcemanager.folders.get', 'resourcemanager.folders.delete']);
  });
});
