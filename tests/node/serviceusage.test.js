'use strict';
// Service Usage v1 through Google's @google-cloud/service-usage (ServiceUsageClient) over
// its REST transport, against the control plane: an API enabled (a long-running operation
// the library waits on), read back, listed with a filter, enabled in a batch and disabled;
// the control plane's own APIs refuse to be disabled, naming why; a service's API
// disabled makes that service refuse the project's calls (Google's SERVICE_DISABLED, as
// @google-cloud/pubsub surfaces it) until it is enabled again.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {ServiceUsageClient} = require('@google-cloud/service-usage');
const {RUN, Code, restOptions, pubsub} = require('./lib/emulator.js');

const PROJECT = `usage-${RUN}`;
// An operation's response is decoded by protobuf.js, which leaves enums as numbers
const STATES = ['STATE_UNSPECIFIED', 'DISABLED', 'ENABLED'];
const state = value => (typeof value === 'number' ? STATES[value] : value);

describe('Service Usage through @google-cloud/service-usage (REST)', () => {
  let client;
  const parent = `projects/${PROJECT}`;
  const service = name => `${parent}/services/${name}`;

  before(() => {
    client = new ServiceUsageClient(restOptions('CONTROL_URL'));
  });
  after(async () => {
    await client.close();
  });

  it('enables an API (the operation completes) and reads it back', async () => {
    const [operation] = await client.enableService({name: service('storage.googleapis.com')});
    const [response] = await operation.promise();
    assert.equal(state(response.service.state), 'ENABLED');
    assert.equal(response.service.config.name, 'storage.googleapis.com');
    const [got] = await client.getService({name: service('storage.googleapis.com')});
    assert.equal(state(got.state), 'ENABLED');
    assert.match(got.name, /^projects\/[0-9]{12}\/services\/storage\.googleapis\.com$/);
    const [never] = await client.getService({name: service('compute.googleapis.com')});
    assert.equal(state(never.state), 'DISABLED');
  });

  it('lists enabled APIs: the served ones and those enabled', async () => {
    const [operation] = await client.batchEnableServices({
      parent, serviceIds: ['bigquery.googleapis.com', 'cloudkms.googleapis.com'],
    });
    const [response] = await operation.promise();
    assert.deepEqual(response.services.map(s => state(s.state)), ['ENABLED', 'ENABLED']);
    const [services] = await client.listServices({parent, filter: 'state:ENABLED'});
    const names = services.map(s => s.config.name);
    for (const name of ['storage.googleapis.com', 'bigquery.googleapis.com', 'pubsub.googleapis.com',
                        'spanner.googleapis.com']) {
      assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    }
  });

  it('disables an API it does not serve; the control plane\'s stay enabled', async () => {
    const [operation] = await client.disableService({name: service('bigquery.googleapis.com')});
    const [response] = await operation.promise();
    assert.equal(state(response.service.state), 'DISABLED');
    const [services] = await client.listServices({parent, filter: 'state:ENABLED'});
    assert.ok(!services.map(s => s.config.name).includes('bigquery.googleapis.com'));
    // this library's google-gax (5.x) reports a long-running method's refusal over REST as
    // the HTTP status (400) with Google's JSON error as the message: the status is in it
    await assert.rejects(client.disableService({name: service('serviceusage.googleapis.com')}), error => {
      assert.ok([Code.FAILED_PRECONDITION, 400].includes(error.code), `${error.code}: ${error.message}`);
      assert.ok(error.message.includes('FAILED_PRECONDITION'), error.message);
      assert.ok(error.message.includes('stays enabled'), error.message);
      return true;
    });
  });

  it('a disabled service API refuses the project\'s calls until enabled again', async () => {
    const topics = pubsub(PROJECT);
    try {
      const [disabled] = await client.disableService({name: service('pubsub.googleapis.com')});
      await disabled.promise();
      await assert.rejects(topics.createTopic(`orders-${RUN}`), error => {
        assert.equal(error.code, Code.PERMISSION_DENIED, error.message);
        assert.ok(error.message.includes('Cloud Pub/Sub API has not been used in project'),
                  error.message);
        return true;
      });
      const [enabled] = await client.enableService({name: service('pubsub.googleapis.com')});
      await enabled.promise();
      const [topic] = await topics.createTopic(`orders-${RUN}`);
      assert.ok(topic.name.endsWith(`/topics/orders-${RUN}`));
    } finally {
      await topics.close();
    }
  });
});
