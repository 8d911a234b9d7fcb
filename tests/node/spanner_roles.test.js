'use strict';
// Spanner's fine-grained access control through Google's @google-cloud/spanner v1 clients
// (REST): database roles and their privileges made with updateDatabaseDdl, listed with
// listDatabaseRoles, and used as a session's creatorRole: what the role's statements,
// reads and mutations may do, and INFORMATION_SCHEMA as the role sees it.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {RUN, Code, rejectsWith, spannerClients} = require('./lib/emulator.js');

const PROJECT = 'node-roles-project';

// A google.protobuf.Value as the library decodes it, as plain JavaScript.
function plain(value) {
  return value.kind === 'nullValue' ? null : value[value.kind];
}

describe('Spanner fine-grained access control through @google-cloud/spanner v1 clients (REST)', () => {
  let spanner;
  let instances;
  let databases;
  const instance = `projects/${PROJECT}/instances/roles-${RUN}`;
  const database = `${instance}/databases/payroll`;

  // A session of the database with this creatorRole (or none).
  async function session(role) {
    const [created] = await spanner.createSession({database, session: role ? {creatorRole: role} : {}});
    return created.name;
  }

  // The rows of a query run in the session, as plain values.
  async function rows(name, sql) {
    const [resultSet] = await spanner.executeSql({session: name, sql});
    return resultSet.rows.map(row => row.values.map(plain));
  }

  before(async () => {
    ({spanner, instances, databases} = spannerClients());
    const [creating] = await instances.createInstance({
      parent: `projects/${PROJECT}`, instanceId: `roles-${RUN}`,
      instance: {config: `projects/${PROJECT}/instanceConfigs/emulator-config`, displayName: 'Roles', nodeCount: 1}});
    await creating.promise();
    const [operation] = await databases.createDatabase({
      parent: instance, createStatement: 'CREATE DATABASE payroll', extraStatements: [
        'CREATE TABLE Staff (Id INT64 NOT NULL, Name STRING(MAX), Salary INT64) PRIMARY KEY (Id)',
        'CREATE ROLE hr_reader',
        'GRANT SELECT(Id, Name) ON TABLE Staff TO ROLE hr_reader',
        'CREATE ROLE hr_clerk',
        'GRANT INSERT(Id, Name), UPDATE(Name) ON TABLE Staff TO ROLE hr_clerk',
        'GRANT ROLE hr_reader TO ROLE hr_clerk']});
    await operation.promise();
    const owner = await session();
    const [begun] = await spanner.executeSql({
      session: owner, transaction: {begin: {readWrite: {}}},
      sql: "INSERT INTO Staff (Id, Name, Salary) VALUES (1, 'Ada', 9000), (2, 'Bob', 7000)"});
    await spanner.commit({session: owner, transactionId: begun.metadata.transaction.id});
  });
  after(async () => {
    await spanner.close();
    await instances.close();
    await databases.close();
  });

  it('listDatabaseRoles: the system roles, then those CREATE ROLE made; getDatabaseDdl prints them', async () => {
    const names = [];
    for await (const role of databases.listDatabaseRolesAsync({parent: database})) {
      names.push(role.name.split('/').pop());
    }
    assert.deepEqual(names, ['public', 'spanner_info_reader', 'spanner_sys_reader', 'hr_reader', 'hr_clerk']);
    const [ddl] = await databases.getDatabaseDdl({database});
    assert.ok(ddl.statements.includes('GRANT SELECT(Id, Name) ON TABLE Staff TO ROLE hr_reader'),
              ddl.statements.join('\n'));
    assert.ok(ddl.statements.includes('GRANT ROLE hr_reader TO ROLE hr_clerk'));
  });

  it('a session with a creatorRole reads what the role may, and nothing else', async () => {
    const reader = await session('hr_reader');
    const [got] = await spanner.getSession({name: reader});
    assert.equal(got.creatorRole, 'hr_reader');
    assert.deepEqual(await rows(reader, 'SELECT Id, Name FROM Staff ORDER BY Id'), [['1', 'Ada'], ['2', 'Bob']]);
    await rejectsWith(spanner.executeSql({session: reader, sql: 'SELECT Salary FROM Staff'}),
                      Code.PERMISSION_DENIED, 'Role hr_reader does not have required privileges on column Staff.Salary.');
    await rejectsWith(spanner.executeSql({session: reader, sql: 'SELECT * FROM Staff'}), Code.PERMISSION_DENIED);
    await rejectsWith(spanner.read({session: reader, table: 'Staff', columns: ['Id', 'Salary'], keySet: {all: true}}),
                      Code.PERMISSION_DENIED);
    const [read] = await spanner.read({session: reader, table: 'Staff', columns: ['Name'], keySet: {all: true}});
    assert.deepEqual(read.rows.map(row => row.values.map(plain)), [['Ada'], ['Bob']]);
    assert.deepEqual(await rows(reader, "SELECT TABLE_NAME, COLUMN_NAME FROM INFORMATION_SCHEMA.COLUMNS " +
                                        "WHERE TABLE_SCHEMA = '' ORDER BY ORDINAL_POSITION"),
                     [['Staff', 'Id'], ['Staff', 'Name']]);
  });

  it('a role writes what it may: DML and its membership in another role', async () => {
    const clerk = await session('hr_clerk');
    const [begun] = await spanner.executeSql({
      session: clerk, transaction: {begin: {readWrite: {}}},
      sql: "UPDATE Staff SET Name = 'Ada L.' WHERE Id = 1"});
    assert.equal(Number(begun.stats.rowCountExact), 1);
    await spanner.commit({session: clerk, transactionId: begun.metadata.transaction.id});
    assert.deepEqual(await rows(clerk, 'SELECT Name FROM Staff WHERE Id = 1'), [['Ada L.']]); /* hr_reader's */
    await rejectsWith(spanner.executeSql({session: clerk, transaction: {begin: {readWrite: {}}},
                                          sql: 'UPDATE Staff SET Salary = 1 WHERE Id = 1'}),
                      Code.PERMISSION_DENIED, 'column Staff.Salary');
    await rejectsWith(spanner.executeSql({session: clerk, transaction: {begin: {readWrite: {}}},
                                          sql: 'DELETE FROM Staff WHERE Id = 2'}),
                      Code.PERMISSION_DENIED, 'Role hr_clerk does not have required privileges on table Staff.');
  });

  it('a role that does not exist is refused at createSession; a dropped one may do nothing', async () => {
    await rejectsWith(spanner.createSession({database, session: {creatorRole: 'nobody'}}), Code.NOT_FOUND,
                      'Role not found: nobody.');
    const [adding] = await databases.updateDatabaseDdl({database, statements: ['CREATE ROLE temp']});
    await adding.promise();
    const temp = await session('temp');
    const [dropping] = await databases.updateDatabaseDdl({database, statements: ['DROP ROLE temp']});
    await dropping.promise();
    await rejectsWith(spanner.executeSql({session: temp, sql: 'SELECT Id FROM Staff'}), Code.PERMISSION_DENIED);
  });
});
