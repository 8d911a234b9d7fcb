'use strict';
// Cloud Pub/Sub through Google's @google-cloud/pubsub over its REST transport: every
// method the emulator implements, through the handwritten PubSub/Topic/Subscription API
// where it has the method and through the generated v1 clients where it does not
// (synchronous pull, acknowledge, modifyAckDeadline, updateSnapshot, listTopicSnapshots).
//
// Every create from this library version sends `"tags":{}` (Topic.tags, Subscription.tags,
// CreateSnapshotRequest.tags), a field of today's googleapis protos that must be accepted.
//
// The handwritten Subscription's message stream (subscription.on('message')) uses gRPC
// bidirectional streaming (StreamingPull), which the REST transport does not have: over
// REST it emits an error and never delivers. Synchronous pull is what works; it is tested
// below, and the stream's failure is pinned down so that a library that gains it is noticed.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {RUN, Code, rejectsWith, control, pubsub, subscriberClient, publisherClient} =
  require('./lib/emulator.js');

const PROJECT = 'node-pubsub-project';

describe('Cloud Pub/Sub through @google-cloud/pubsub (REST)', () => {
  let ps;
  let subscriber;
  let publisher;
  const topicName = id => `projects/${PROJECT}/topics/${id}`;
  const subName = id => `projects/${PROJECT}/subscriptions/${id}`;
  const snapName = id => `projects/${PROJECT}/snapshots/${id}`;
  const ids = {
    topic: `orders-${RUN}`, sub: `orders-sub-${RUN}`, dlTopic: `orders-dl-${RUN}`, dlSub: `orders-dl-sub-${RUN}`,
    ordered: `ordered-${RUN}`, filtered: `filtered-${RUN}`, snapshot: `orders-snap-${RUN}`,
  };

  before(() => {
    ps = pubsub(PROJECT);
    subscriber = subscriberClient();
    publisher = publisherClient();
  });
  after(async () => {
    await ps.close();
    await subscriber.close();
    await publisher.close();
  });

  // pull(subscription, count): synchronous pulls (returnImmediately) until `count` messages
  // came or 10 s passed; returns the received messages. Does not acknowledge.
  async function pull(subscription, count, {seconds = 10} = {}) {
    const received = [];
    const deadline = Date.now() + seconds * 1000;
    while (received.length < count && Date.now() < deadline) {
      const [response] = await subscriber.pull({subscription, maxMessages: count - received.length,
                                                returnImmediately: true});
      received.push(...response.receivedMessages);
      if (received.length < count) await new Promise(resolve => setTimeout(resolve, 100));
    }
    return received;
  }

  // pullNothing(subscription): a pull finds no message.
  async function pullNothing(subscription) {
    const [response] = await subscriber.pull({subscription, maxMessages: 10, returnImmediately: true});
    assert.deepEqual(response.receivedMessages.map(m => Buffer.from(m.message.data).toString()), [],
                     `expected nothing to pull from ${subscription}`);
  }

  async function ack(subscription, received) {
    await subscriber.acknowledge({subscription, ackIds: received.map(m => m.ackId)});
  }

  const text = m => Buffer.from(m.message.data).toString();

  describe('topics', () => {
    it('createTopic with labels and a retention duration (the body carries "tags":{})', async () => {
      const [topic, metadata] = await ps.createTopic({
        name: ids.topic, labels: {team: 'payments'}, messageRetentionDuration: {seconds: 3600}});
      assert.equal(topic.name, topicName(ids.topic));
      assert.equal(metadata.name, topicName(ids.topic));
      assert.deepEqual(metadata.labels, {team: 'payments'});
      assert.equal(Number(metadata.messageRetentionDuration.seconds), 3600);
      assert.equal(metadata.state, 'ACTIVE');
    });

    it('getMetadata, get, exists, getTopics', async () => {
      const topic = ps.topic(ids.topic);
      const [metadata] = await topic.getMetadata();
      assert.deepEqual(metadata.labels, {team: 'payments'});
      const [got] = await topic.get();
      assert.equal(got.name, topicName(ids.topic));
      assert.deepEqual(await topic.exists(), [true]);
      assert.deepEqual(await ps.topic(`nothing-${RUN}`).exists(), [false]);
      const [topics] = await ps.getTopics();
      assert.ok(topics.some(t => t.name === topicName(ids.topic)));
    });

    it('getTopics pages with pageSize', async () => {
      for (const i of [1, 2, 3]) await ps.createTopic(`paged-${RUN}-${i}`);
      const [page, next, raw] = await ps.getTopics({pageSize: 2, autoPaginate: false});
      assert.equal(page.length, 2);
      assert.ok(raw.nextPageToken, 'a next page token');
      assert.ok(next && next.pageToken);
      // autoPaginate must be given: the handwritten getTopics passes `autoPaginate: undefined`
      // on to gax, which then returns the first page only.
      const [all] = await ps.getTopics({pageSize: 2, autoPaginate: true});
      for (const i of [1, 2, 3]) assert.ok(all.some(t => t.name === topicName(`paged-${RUN}-${i}`)));
    });

    it('setMetadata (updateTopic) changes only the fields named in updateMask', async () => {
      const topic = ps.topic(ids.topic);
      const [updated] = await topic.setMetadata({labels: {team: 'fraud', env: 'test'}});
      assert.deepEqual(updated.labels, {team: 'fraud', env: 'test'});
      assert.equal(Number(updated.messageRetentionDuration.seconds), 3600);
      const [metadata] = await topic.getMetadata();
      assert.deepEqual(metadata.labels, {team: 'fraud', env: 'test'});
    });

    it('errors: ALREADY_EXISTS, NOT_FOUND, INVALID_ARGUMENT', async () => {
      await rejectsWith(ps.createTopic(ids.topic), Code.ALREADY_EXISTS);
      await rejectsWith(ps.topic(`nothing-${RUN}`).getMetadata(), Code.NOT_FOUND);
      await rejectsWith(ps.createTopic('t1'), Code.INVALID_ARGUMENT); // IDs are 3 to 255 characters
      await rejectsWith(ps.createTopic('goog-topic'), Code.INVALID_ARGUMENT);
      await rejectsWith(ps.topic(`nothing-${RUN}`).publishMessage({data: Buffer.from('x')}), Code.NOT_FOUND);
      await rejectsWith(ps.createTopic({name: `short-retention-${RUN}`, messageRetentionDuration: {seconds: 60}}),
                        Code.INVALID_ARGUMENT);
    });
  });

  describe('subscriptions, publish, pull, acknowledge', () => {
    it('createSubscription with its settings', async () => {
      await ps.createTopic(ids.dlTopic);
      const [subscription, metadata] = await ps.topic(ids.topic).createSubscription(ids.sub, {
        ackDeadlineSeconds: 20, labels: {team: 'payments'}, retainAckedMessages: true,
        messageRetentionDuration: {seconds: 86400}, expirationPolicy: {ttl: {seconds: 7 * 86400}},
        retryPolicy: {minimumBackoff: {seconds: 1}, maximumBackoff: {seconds: 60}},
      });
      assert.equal(subscription.name, subName(ids.sub));
      assert.equal(metadata.topic, topicName(ids.topic));
      assert.equal(metadata.ackDeadlineSeconds, 20);
      assert.deepEqual(metadata.labels, {team: 'payments'});
      assert.equal(metadata.retainAckedMessages, true);
      assert.equal(Number(metadata.messageRetentionDuration.seconds), 86400);
      assert.equal(Number(metadata.expirationPolicy.ttl.seconds), 7 * 86400);
      assert.equal(Number(metadata.retryPolicy.maximumBackoff.seconds), 60);
      assert.equal(metadata.state, 'ACTIVE');
    });

    it('getMetadata, exists, getSubscriptions, topic.getSubscriptions', async () => {
      const subscription = ps.subscription(ids.sub);
      const [metadata] = await subscription.getMetadata();
      assert.equal(metadata.ackDeadlineSeconds, 20);
      assert.deepEqual(await subscription.exists(), [true]);
      const [all] = await ps.getSubscriptions();
      assert.ok(all.some(s => s.name === subName(ids.sub)));
      const [ofTopic] = await ps.topic(ids.topic).getSubscriptions();
      assert.deepEqual(ofTopic.map(s => s.name), [subName(ids.sub)]);
    });

    it('setMetadata (updateSubscription) with updateMask', async () => {
      const subscription = ps.subscription(ids.sub);
      const [updated] = await subscription.setMetadata({ackDeadlineSeconds: 30, labels: {team: 'fraud'}});
      assert.equal(updated.ackDeadlineSeconds, 30);
      assert.deepEqual(updated.labels, {team: 'fraud'});
      assert.equal(updated.retainAckedMessages, true);
      const [metadata] = await subscription.getMetadata();
      assert.equal(metadata.ackDeadlineSeconds, 30);
    });

    it('publishMessage and pull: bytes, attributes, ids and publish times round-trip', async () => {
      const topic = ps.topic(ids.topic);
      const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x7f]);
      // publish times are emulator times (OS time plus the offset clock:advance adds)
      const clock = await control('/emulator/v1/clock');
      const offset = Date.parse(clock.now) - Date.now();
      const id1 = await topic.publishMessage({data: Buffer.from('{"id": 42}'), attributes: {type: 'order', region: 'eu'}});
      const id2 = await topic.publishMessage({data: binary, attributes: {kind: 'binary'}});
      assert.match(id1, /^\d+$/);
      assert.match(id2, /^\d+$/);
      assert.notEqual(id1, id2);

      const received = await pull(subName(ids.sub), 2);
      assert.equal(received.length, 2);
      const byId = Object.fromEntries(received.map(m => [m.message.messageId, m]));
      assert.equal(text(byId[id1]), '{"id": 42}');
      assert.deepEqual(byId[id1].message.attributes, {type: 'order', region: 'eu'});
      assert.deepEqual(Buffer.from(byId[id2].message.data), binary);
      assert.deepEqual(byId[id2].message.attributes, {kind: 'binary'});
      for (const m of received) {
        assert.ok(m.ackId.length > 0);
        const published = Number(m.message.publishTime.seconds) * 1000 + m.message.publishTime.nanos / 1e6;
        assert.ok(Math.abs(published - (Date.now() + offset)) < 10000,
                  `publishTime ${new Date(published).toISOString()} is the emulator's now, ${clock.now}`);
        assert.equal(m.deliveryAttempt, 0, 'deliveryAttempt is only set with a dead-letter policy');
      }
      await ack(subName(ids.sub), received);
      await pullNothing(subName(ids.sub));
    });

    it('modifyAckDeadline 0 (nack) redelivers at once; a longer deadline holds the message', async () => {
      const topic = ps.topic(ids.topic);
      const nacked = await topic.publishMessage({data: Buffer.from('nack me')});
      const [first] = await pull(subName(ids.sub), 1);
      assert.equal(first.message.messageId, nacked);
      await subscriber.modifyAckDeadline({subscription: subName(ids.sub), ackIds: [first.ackId], ackDeadlineSeconds: 0});
      const [again] = await pull(subName(ids.sub), 1);
      assert.equal(again.message.messageId, nacked, 'redelivered after the nack');

      // Extend it to 600 s, then move the emulator clock past the 30 s ack deadline: the
      // message stays leased (a message without the extension is redelivered meanwhile).
      await subscriber.modifyAckDeadline({subscription: subName(ids.sub), ackIds: [again.ackId], ackDeadlineSeconds: 600});
      const plain = await topic.publishMessage({data: Buffer.from('not extended')});
      const [lease] = await pull(subName(ids.sub), 1);
      assert.equal(lease.message.messageId, plain);
      await control('/emulator/v1/clock:advance', {seconds: 45});
      const redelivered = await pull(subName(ids.sub), 1);
      assert.deepEqual(redelivered.map(m => m.message.messageId), [plain]);
      await pullNothing(subName(ids.sub));
      await ack(subName(ids.sub), [again, ...redelivered]);
    });

    it('acknowledge with an unknown ack ID is INVALID_ARGUMENT; pull of a missing subscription NOT_FOUND', async () => {
      await rejectsWith(subscriber.acknowledge({subscription: subName(ids.sub), ackIds: ['not-an-ack-id']}),
                        Code.INVALID_ARGUMENT);
      await rejectsWith(subscriber.pull({subscription: subName(`nothing-${RUN}`), maxMessages: 1, returnImmediately: true}),
                        Code.NOT_FOUND);
    });

    it('exactly-once delivery: an expired ack ID is refused by name in an ErrorInfo, the redelivery\'s acknowledges', async () => {
      const topicId = `once-${RUN}`, subId = `once-sub-${RUN}`;
      const [topic] = await ps.createTopic(topicId);
      const [subscription] = await topic.createSubscription(subId, {enableExactlyOnceDelivery: true});
      const [metadata] = await subscription.getMetadata();
      assert.equal(metadata.enableExactlyOnceDelivery, true);
      const id = await topic.publishMessage({data: Buffer.from('once')});
      const [first] = await pull(subName(subId), 1);
      await control('/emulator/v1/clock:advance', {seconds: 11}); // past the 10 s lease
      const error = await subscriber.acknowledge({subscription: subName(subId), ackIds: [first.ackId]})
        .then(() => null, e => e);
      assert.ok(error, 'the expired ack ID is refused');
      assert.equal(error.code, Code.INVALID_ARGUMENT);
      assert.match(error.message, /Some acknowledgement ids in the request were invalid/);
      // what the library's exactly-once ack handling reads (ack-metadata.js)
      assert.equal(error.reason, 'EXACTLY_ONCE_ACKID_FAILURE');
      assert.equal(error.domain, 'pubsub.googleapis.com');
      assert.deepEqual({...error.errorInfoMetadata}, {[first.ackId]: 'PERMANENT_FAILURE_INVALID_ACK_ID'});
      const [again] = await pull(subName(subId), 1);
      assert.equal(again.message.messageId, id, 'redelivered');
      await subscriber.acknowledge({subscription: subName(subId), ackIds: [again.ackId]});
      await control('/emulator/v1/clock:advance', {seconds: 30});
      await pullNothing(subName(subId));
      await subscription.delete();
      await topic.delete();
    });

    it('the high-level message stream (StreamingPull) does not work over REST: it emits an error', async () => {
      const subscription = ps.subscription(ids.sub);
      const id = await ps.topic(ids.topic).publishMessage({data: Buffer.from('for the stream')});
      const delivered = [];
      const error = await new Promise(resolve => {
        const timer = setTimeout(() => resolve(null), 5000);
        subscription.on('message', message => delivered.push(message));
        subscription.on('error', e => { clearTimeout(timer); resolve(e); });
      });
      await subscription.close();
      assert.ok(error, 'the stream emitted an error');
      assert.deepEqual(delivered, []);
      // The message is still there for a synchronous pull.
      const received = await pull(subName(ids.sub), 1);
      assert.deepEqual(received.map(m => m.message.messageId), [id]);
      await ack(subName(ids.sub), received);
    });

    it('errors: ALREADY_EXISTS, NOT_FOUND, INVALID_ARGUMENT', async () => {
      await rejectsWith(ps.topic(ids.topic).createSubscription(ids.sub), Code.ALREADY_EXISTS);
      await rejectsWith(ps.topic(`nothing-${RUN}`).createSubscription(`orphan-${RUN}`), Code.NOT_FOUND);
      await rejectsWith(ps.subscription(`nothing-${RUN}`).getMetadata(), Code.NOT_FOUND);
      await rejectsWith(ps.topic(ids.topic).createSubscription(`short-deadline-${RUN}`, {ackDeadlineSeconds: 5}),
                        Code.INVALID_ARGUMENT);
      await rejectsWith(ps.topic(ids.topic).createSubscription(`bad-filter-${RUN}`, {filter: 'attributes.type = '}),
                        Code.INVALID_ARGUMENT);
    });
  });

  describe('filters, ordering keys, dead letters', () => {
    it('a filtered subscription gets only the matching messages', async () => {
      const [, metadata] = await ps.topic(ids.topic).createSubscription(ids.filtered, {
        filter: 'attributes.type = "order" AND NOT attributes:test'});
      assert.equal(metadata.filter, 'attributes.type = "order" AND NOT attributes:test');
      const topic = ps.topic(ids.topic);
      const match = await topic.publishMessage({data: Buffer.from('match'), attributes: {type: 'order'}});
      await topic.publishMessage({data: Buffer.from('refund'), attributes: {type: 'refund'}});
      await topic.publishMessage({data: Buffer.from('test order'), attributes: {type: 'order', test: '1'}});
      await topic.publishMessage({data: Buffer.from('no attributes')});
      const received = await pull(subName(ids.filtered), 1);
      assert.deepEqual(received.map(m => m.message.messageId), [match]);
      await ack(subName(ids.filtered), received);
      await pullNothing(subName(ids.filtered));
      // the unfiltered subscription got all four
      const all = await pull(subName(ids.sub), 4);
      assert.equal(all.length, 4);
      await ack(subName(ids.sub), all);
      await rejectsWith(ps.subscription(ids.filtered).setMetadata({filter: 'attributes.type = "refund"'}),
                        Code.INVALID_ARGUMENT);
    });

    it('messages with one ordering key arrive in publish order', async () => {
      await ps.createTopic(ids.ordered);
      const [, metadata] = await ps.topic(ids.ordered).createSubscription(ids.ordered, {enableMessageOrdering: true});
      assert.equal(metadata.enableMessageOrdering, true);
      const topic = ps.topic(ids.ordered, {messageOrdering: true});
      const published = [];
      for (let i = 0; i < 6; i++) {
        published.push(await topic.publishMessage({data: Buffer.from(`step ${i}`), orderingKey: 'customer-7'}));
      }
      const seen = [];
      const deadline = Date.now() + 10000;
      while (seen.length < 6 && Date.now() < deadline) {
        const batch = await pull(subName(ids.ordered), 6 - seen.length, {seconds: 1});
        for (const m of batch) {
          assert.equal(m.message.orderingKey, 'customer-7');
          seen.push(text(m));
        }
        await ack(subName(ids.ordered), batch);
      }
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5].map(i => `step ${i}`));
    });

    it('after maxDeliveryAttempts a message goes to the dead-letter topic', async () => {
      const [, dlSubMetadata] = await ps.topic(ids.dlTopic).createSubscription(ids.dlSub);
      assert.equal(dlSubMetadata.topic, topicName(ids.dlTopic));
      const deadSub = `dead-${RUN}`;
      const [, metadata] = await ps.topic(ids.topic).createSubscription(deadSub, {
        deadLetterPolicy: {deadLetterTopic: topicName(ids.dlTopic), maxDeliveryAttempts: 5}});
      assert.equal(metadata.deadLetterPolicy.deadLetterTopic, topicName(ids.dlTopic));
      assert.equal(metadata.deadLetterPolicy.maxDeliveryAttempts, 5);

      const id = await ps.topic(ids.topic).publishMessage({data: Buffer.from('poison'), attributes: {type: 'order'}});
      for (let attempt = 1; attempt <= 5; attempt++) {
        const [m] = await pull(subName(deadSub), 1);
        assert.ok(m, `delivery ${attempt}`);
        assert.equal(m.message.messageId, id);
        assert.equal(m.deliveryAttempt, attempt);
        await subscriber.modifyAckDeadline({subscription: subName(deadSub), ackIds: [m.ackId], ackDeadlineSeconds: 0});
      }
      const dead = await pull(subName(ids.dlSub), 1);
      assert.equal(dead.length, 1, 'the message reached the dead-letter topic');
      assert.equal(text(dead[0]), 'poison');
      assert.equal(dead[0].message.attributes.type, 'order');
      assert.equal(dead[0].message.attributes.CloudPubSubDeadLetterSourceSubscription, deadSub);
      assert.equal(dead[0].message.attributes.CloudPubSubDeadLetterSourceSubscriptionProject, PROJECT);
      assert.equal(dead[0].message.attributes.CloudPubSubDeadLetterSourceDeliveryCount, '5');
      await ack(subName(ids.dlSub), dead);
      await pullNothing(subName(deadSub));
      // clear the main subscriptions' backlog
      await ack(subName(ids.sub), await pull(subName(ids.sub), 1));
      await ack(subName(ids.filtered), await pull(subName(ids.filtered), 1));
    });
  });

  describe('seek and snapshots', () => {
    it('seek to a time redelivers what was published after it', async () => {
      await pullNothing(subName(ids.sub));
      // Everything earlier was acknowledged more than a second before this publish, so
      // seeking to half a second before it replays this message only.
      await new Promise(resolve => setTimeout(resolve, 1100));
      const published = await ps.topic(ids.topic).publishMessage({data: Buffer.from('replay me')});
      const received = await pull(subName(ids.sub), 1);
      assert.equal(received[0].message.messageId, published);
      const {seconds, nanos} = received[0].message.publishTime;
      const seekTime = new Date(Number(seconds) * 1000 + Math.floor(nanos / 1e6) - 500);
      await ack(subName(ids.sub), received);
      await pullNothing(subName(ids.sub));
      // Not subscription.seek(seekTime): @google-cloud/pubsub 6.3.0 sends a Date's
      // milliseconds as microseconds (nanos: ms * 1000), so it seeks to the start of the
      // second, and a message published earlier in that second came back (a flaky failure
      // of this test, ~15 % of runs). Google's service would read the request the same way.
      const millis = seekTime.getTime();
      await subscriber.seek({subscription: subName(ids.sub),
                             time: {seconds: Math.floor(millis / 1000), nanos: (millis % 1000) * 1e6}});
      const replayed = await pull(subName(ids.sub), 1);
      const seen = replayed.map(m => m.message.messageId);
      if (seen.length !== 1 || seen[0] !== published) {
        const more = await pull(subName(ids.sub), 10, {seconds: 1});
        const when = m => `${m.message.messageId} published ${JSON.stringify(m.message.publishTime)} "${text(m)}"`;
        assert.fail(`seek to ${seekTime.toISOString()} (message ${published} was published ` +
                    `${JSON.stringify(received[0].message.publishTime)}) made these deliverable: ` +
                    `${[...replayed, ...more].map(when).join('; ')}`);
      }
      await ack(subName(ids.sub), replayed);
      await pullNothing(subName(ids.sub));
    });

    it('createSnapshot (the body carries "tags":{}), getSnapshots, listTopicSnapshots, updateSnapshot', async () => {
      const id = await ps.topic(ids.topic).publishMessage({data: Buffer.from('kept by the snapshot')});
      const [snapshot] = await ps.subscription(ids.sub).createSnapshot(ids.snapshot);
      assert.equal(snapshot.name, snapName(ids.snapshot));
      assert.equal(snapshot.metadata.topic, topicName(ids.topic));
      assert.ok(Number(snapshot.metadata.expireTime.seconds) > Date.now() / 1000);

      const [snapshots] = await ps.getSnapshots();
      assert.ok(snapshots.some(s => s.name === snapName(ids.snapshot)));
      const [ofTopic] = await publisher.listTopicSnapshots({topic: topicName(ids.topic)});
      assert.deepEqual(ofTopic, [snapName(ids.snapshot)]);

      const [updated] = await subscriber.updateSnapshot({
        snapshot: {name: snapName(ids.snapshot), labels: {purpose: 'replay'}}, updateMask: {paths: ['labels']}});
      assert.deepEqual(updated.labels, {purpose: 'replay'});
      const [got] = await subscriber.getSnapshot({snapshot: snapName(ids.snapshot)});
      assert.deepEqual(got.labels, {purpose: 'replay'});

      // acknowledge the message, then seek back to the snapshot: it comes again
      const received = await pull(subName(ids.sub), 1);
      assert.equal(received[0].message.messageId, id);
      await ack(subName(ids.sub), received);
      await pullNothing(subName(ids.sub));
      await ps.subscription(ids.sub).seek(snapName(ids.snapshot));
      const replayed = await pull(subName(ids.sub), 1);
      assert.deepEqual(replayed.map(m => m.message.messageId), [id]);
      await ack(subName(ids.sub), replayed);
      await rejectsWith(ps.subscription(ids.sub).createSnapshot(ids.snapshot), Code.ALREADY_EXISTS);
    });

    it('snapshot.delete, then it is gone', async () => {
      await ps.snapshot(ids.snapshot).delete();
      await rejectsWith(subscriber.getSnapshot({snapshot: snapName(ids.snapshot)}), Code.NOT_FOUND);
      await rejectsWith(ps.subscription(ids.sub).seek(snapName(ids.snapshot)), Code.NOT_FOUND);
    });
  });

  describe('push configuration, detach, delete', () => {
    it('modifyPushConfig sets and clears the push endpoint', async () => {
      const subscription = ps.subscription(ids.filtered);
      await subscription.modifyPushConfig({pushEndpoint: 'http://127.0.0.1:9/push', attributes: {'x-goog-version': 'v1'}});
      const [pushed] = await subscription.getMetadata();
      assert.equal(pushed.pushConfig.pushEndpoint, 'http://127.0.0.1:9/push');
      await subscription.modifyPushConfig({});
      const [pulled] = await subscription.getMetadata();
      assert.ok(!pulled.pushConfig || !pulled.pushConfig.pushEndpoint, 'back to pull');
    });

    it('detachSubscription: detached is true and pulls fail FAILED_PRECONDITION', async () => {
      const id = `detach-${RUN}`;
      await ps.topic(ids.topic).createSubscription(id);
      const [response] = await ps.detachSubscription(id);
      assert.ok(response, 'an answer');
      assert.deepEqual(await ps.subscription(id).detached(), [true]);
      const [metadata] = await ps.subscription(id).getMetadata();
      assert.equal(metadata.detached, true);
      await rejectsWith(subscriber.pull({subscription: subName(id), maxMessages: 1, returnImmediately: true}),
                        Code.FAILED_PRECONDITION);
    });

    it('deleting a topic leaves its subscriptions on _deleted-topic_; deleting a subscription removes it', async () => {
      const id = `doomed-${RUN}`;
      await ps.createTopic(id);
      await ps.topic(id).createSubscription(id);
      await ps.topic(id).delete();
      assert.deepEqual(await ps.topic(id).exists(), [false]);
      const [metadata] = await ps.subscription(id).getMetadata();
      assert.equal(metadata.topic, '_deleted-topic_');
      await ps.subscription(id).delete();
      assert.deepEqual(await ps.subscription(id).exists(), [false]);
      await rejectsWith(ps.subscription(id).delete(), Code.NOT_FOUND);
      await rejectsWith(ps.topic(id).delete(), Code.NOT_FOUND);
    });
  });

  describe('IAM on topics, subscriptions and snapshots', () => {
    const {endpoint} = require('./lib/emulator.js');
    async function readPolicy(resource) {
      const response = await fetch(`${endpoint('PUBSUB_URL').url}/v1/${resource}:getIamPolicy`);
      assert.equal(response.status, 200);
      return response.json();
    }

    // iam.getPolicy() sends getIamPolicy as POST (the library's IAM mixin); Pub/Sub's REST
    // API has it as GET, and Google answers the POST 404: the library surfaces NOT_FOUND.
    // The policy is read back with GET (what gcloud does) instead.
    it('topic: setPolicy, testPermissions; getPolicy is NOT_FOUND as at Google', async () => {
      const topic = ps.topic(ids.topic);
      const bindings = [{role: 'roles/pubsub.publisher', members: ['user:alice@example.com']}];
      const [policy] = await topic.iam.setPolicy({bindings});
      assert.deepEqual(policy.bindings.map(b => ({role: b.role, members: b.members})), bindings);
      assert.ok(policy.etag && policy.etag.length > 0);
      assert.deepEqual((await readPolicy(topicName(ids.topic))).bindings, bindings);
      await rejectsWith(topic.iam.getPolicy(), Code.NOT_FOUND);
      const [permissions] = await topic.iam.testPermissions(['pubsub.topics.publish', 'pubsub.topics.get']);
      assert.deepEqual(permissions, {'pubsub.topics.publish': true, 'pubsub.topics.get': true});
    });

    it('subscription: setPolicy, testPermissions; getPolicy is NOT_FOUND as at Google', async () => {
      const subscription = ps.subscription(ids.sub);
      const bindings = [{role: 'roles/pubsub.subscriber', members: ['user:bob@example.com']}];
      const [policy] = await subscription.iam.setPolicy({bindings});
      assert.deepEqual(policy.bindings.map(b => ({role: b.role, members: b.members})), bindings);
      assert.deepEqual((await readPolicy(subName(ids.sub))).bindings, bindings);
      await rejectsWith(subscription.iam.getPolicy(), Code.NOT_FOUND);
      const [permissions] = await subscription.iam.testPermissions(['pubsub.subscriptions.consume']);
      assert.deepEqual(permissions, {'pubsub.subscriptions.consume': true});
    });

    it('snapshot: setIamPolicy, testIamPermissions through the v1 client', async () => {
      const id = `iam-snap-${RUN}`;
      await ps.subscription(ids.sub).createSnapshot(id);
      const bindings = [{role: 'roles/pubsub.viewer', members: ['user:carol@example.com']}];
      const [policy] = await subscriber.setIamPolicy({resource: snapName(id), policy: {bindings}});
      assert.deepEqual(policy.bindings.map(b => ({role: b.role, members: b.members})), bindings);
      assert.deepEqual((await readPolicy(snapName(id))).bindings, bindings);
      await rejectsWith(subscriber.getIamPolicy({resource: snapName(id)}), Code.NOT_FOUND);
      const [tested] = await subscriber.testIamPermissions({resource: snapName(id), permissions: ['pubsub.snapshots.seek']});
      assert.deepEqual(tested.permissions, ['pubsub.snapshots.seek']);
      await subscriber.deleteSnapshot({snapshot: snapName(id)});
    });

    it('setIamPolicy on a missing topic is NOT_FOUND', async () => {
      await rejectsWith(ps.topic(`nothing-${RUN}`).iam.setPolicy({bindings: []}), Code.NOT_FOUND);
    });
  });
});
