'use strict';
// Shared helpers for the Node.js client-library tests: where the emulator is, how to
// build Google's clients for it (REST transport over plain HTTP, no credentials), and a
// few checks the tests repeat.
//
// The stack is found through the variables tests/integ/lib.sh's start_stack exports:
// KMS_URL, PUBSUB_URL, BIGTABLE_URL, SPANNER_URL, RUNNER_URL and CONTROL_URL
// (http://127.0.0.1:PORT).

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const {KeyManagementServiceClient} = require('@google-cloud/kms');
const {PubSub, v1: pubsubV1} = require('@google-cloud/pubsub');
const {v1: spannerV1} = require('@google-cloud/spanner');
const {PassThroughClient} = require('google-auth-library');

function endpoint(variable) {
  const value = process.env[variable];
  if (!value) {
    throw new Error(`${variable} is not set: run these tests through tests/integ/test_node_clients.sh ` +
                    `(or export ${variable}=http://127.0.0.1:PORT of a running stack)`);
  }
  const url = new URL(value);
  return {host: url.hostname, port: Number(url.port), url: value.replace(/\/+$/, '')};
}

// A suffix that keeps names apart when the tests run twice against one stack.
const RUN = `${Date.now().toString(36)}${crypto.randomBytes(2).toString('hex')}`;

// The options every generated (GAPIC) client takes for the REST transport: `fallback`
// selects REST instead of gRPC, `protocol: 'http'` plain HTTP, and PassThroughClient
// sends no Authorization header (under --iam off the emulator's default principal).
function restOptions(variable) {
  const {host, port} = endpoint(variable);
  return {fallback: true, protocol: 'http', apiEndpoint: host, port, authClient: new PassThroughClient()};
}

function kmsClient(options = restOptions('KMS_URL')) {
  return new KeyManagementServiceClient(options);
}

// The handwritten PubSub class takes the endpoint as "host:port" and sets servicePath
// and port from it. Because the host is not *.googleapis.com it also switches to its
// "emulator mode", which only swaps gRPC credentials for insecure ones (unused over REST);
// the transport is still chosen by `fallback`.
function pubsub(projectId) {
  const {host, port} = endpoint('PUBSUB_URL');
  return new PubSub({projectId, apiEndpoint: `${host}:${port}`, fallback: true, protocol: 'http',
                     authClient: new PassThroughClient()});
}

function subscriberClient() {
  return new pubsubV1.SubscriberClient(restOptions('PUBSUB_URL'));
}

function publisherClient() {
  return new pubsubV1.PublisherClient(restOptions('PUBSUB_URL'));
}

// The three generated Spanner clients (data plane, instance admin, database admin); their
// long-running operations are polled through the same REST transport.
function spannerClients() {
  return {
    spanner: new spannerV1.SpannerClient(restOptions('SPANNER_URL')),
    instances: new spannerV1.InstanceAdminClient(restOptions('SPANNER_URL')),
    databases: new spannerV1.DatabaseAdminClient(restOptions('SPANNER_URL')),
  };
}

// control(path, body): a call to the emulator's control plane (not a Google API).
async function control(path, body) {
  const {url} = endpoint('CONTROL_URL');
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `control plane ${path}: HTTP ${response.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of KMS's integrity
// fields. Node 20 has no built-in one.
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

function crc32c(data) {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC32C_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// Int64Value fields come back from the library as strings (longs: String).
function int64(wrapper) {
  assert.ok(wrapper && wrapper.value !== undefined && wrapper.value !== null,
            `expected an Int64Value, got ${JSON.stringify(wrapper)}`);
  return Number(wrapper.value);
}

// rejectsWith(promise, code, messagePart?): the call fails with this gRPC code, as the
// library surfaces it (error.code), and the message names messagePart when given.
async function rejectsWith(promise, code, messagePart) {
  await assert.rejects(promise, error => {
    assert.equal(error.code, code,
                 `expected gRPC code ${code}, got ${error.code}: ${error.message}`);
    if (messagePart !== undefined) {
      assert.ok(String(error.message).includes(messagePart),
                `expected the message to contain "${messagePart}", got: ${error.message}`);
    }
    return true;
  });
}

// gRPC status codes the tests expect (google.rpc.Code).
const Code = {
  INVALID_ARGUMENT: 3, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, FAILED_PRECONDITION: 9,
  ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12,
};

module.exports = {
  RUN, Code, crc32c, int64, rejectsWith, control, endpoint, restOptions, kmsClient, pubsub,
  subscriberClient, publisherClient, spannerClients,
};
