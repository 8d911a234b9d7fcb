'use strict';
// Key Access Justifications through Google's @google-cloud/kms (KeyManagementServiceClient,
// REST transport): a key created with a keyAccessJustificationsPolicy, the library's own
// calls (CUSTOMER_INITIATED_ACCESS) refused once the policy leaves that reason out, an
// empty list that denies everything, and the policy removed through updateMask. The
// library reads the policy back with its enums, by name and, when it asks for numbers
// ($alt=json;enum-encoding=int), by number.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {RUN, Code, rejectsWith, kmsClient} = require('./lib/emulator.js');

const PROJECT = `kaj-${RUN}`;
const LOCATION = `projects/${PROJECT}/locations/global`;
const RING = `${LOCATION}/keyRings/kaj`;
const DENIED = 'does not allow access reason CUSTOMER_INITIATED_ACCESS';

describe('Key Access Justifications through @google-cloud/kms (REST)', () => {
  let kms;
  const plaintext = Buffer.from('justified');

  before(async () => {
    kms = kmsClient();
    await kms.createKeyRing({parent: LOCATION, keyRingId: 'kaj', keyRing: {}});
  });
  after(async () => kms.close());

  it('creates a key with a policy and uses it for an allowed reason', async () => {
    const [key] = await kms.createCryptoKey({
      parent: RING, cryptoKeyId: 'orders',
      cryptoKey: {purpose: 'ENCRYPT_DECRYPT',
                  keyAccessJustificationsPolicy: {allowedAccessReasons: ['CUSTOMER_INITIATED_ACCESS']}},
    });
    assert.deepEqual(key.keyAccessJustificationsPolicy.allowedAccessReasons, ['CUSTOMER_INITIATED_ACCESS']);
    const [encrypted] = await kms.encrypt({name: key.name, plaintext});
    const [decrypted] = await kms.decrypt({name: key.name, ciphertext: encrypted.ciphertext});
    assert.equal(Buffer.from(decrypted.plaintext).toString(), 'justified');
  });

  it('refuses the library\'s calls once the policy leaves their reason out', async () => {
    const name = `${RING}/cryptoKeys/orders`;
    const [encrypted] = await kms.encrypt({name, plaintext});
    const [updated] = await kms.updateCryptoKey({
      cryptoKey: {name, keyAccessJustificationsPolicy: {allowedAccessReasons: ['GOOGLE_INITIATED_SYSTEM_OPERATION']}},
      updateMask: {paths: ['key_access_justifications_policy']},
    });
    assert.deepEqual(updated.keyAccessJustificationsPolicy.allowedAccessReasons,
                     ['GOOGLE_INITIATED_SYSTEM_OPERATION']);
    await rejectsWith(kms.encrypt({name, plaintext}), Code.FAILED_PRECONDITION, DENIED);
    await rejectsWith(kms.decrypt({name, ciphertext: encrypted.ciphertext}), Code.FAILED_PRECONDITION,
                      DENIED);
    // removed: every reason is allowed again
    const [removed] = await kms.updateCryptoKey({
      cryptoKey: {name}, updateMask: {paths: ['key_access_justifications_policy']},
    });
    assert.equal(removed.keyAccessJustificationsPolicy, null);
    const [decrypted] = await kms.decrypt({name, ciphertext: encrypted.ciphertext});
    assert.equal(Buffer.from(decrypted.plaintext).toString(), 'justified');
  });

  it('an empty list denies every call, signing included', async () => {
    const [key] = await kms.createCryptoKey({
      parent: RING, cryptoKeyId: 'sealed',
      cryptoKey: {purpose: 'MAC', versionTemplate: {algorithm: 'HMAC_SHA256'},
                  keyAccessJustificationsPolicy: {allowedAccessReasons: []}},
    });
    const [got] = await kms.getCryptoKey({name: key.name});
    assert.deepEqual(got.keyAccessJustificationsPolicy.allowedAccessReasons, []);
    await rejectsWith(kms.macSign({name: `${key.name}/cryptoKeyVersions/1`, data: plaintext}),
                      Code.FAILED_PRECONDITION, DENIED);
  });

  it('refuses a policy naming REASON_UNSPECIFIED', async () => {
    await rejectsWith(kms.createCryptoKey({
      parent: RING, cryptoKeyId: 'unspecified',
      cryptoKey: {purpose: 'ENCRYPT_DECRYPT',
                  keyAccessJustificationsPolicy: {allowedAccessReasons: ['REASON_UNSPECIFIED']}},
    }), Code.INVALID_ARGUMENT, 'REASON_UNSPECIFIED');
  });
});
