'use strict';
// Cloud KMS through Google's @google-cloud/kms over its REST transport: every method the
// emulator implements, with concrete results (byte round trips, CRC32C integrity fields,
// states after updates, signatures verified with node:crypto, error codes as the library
// surfaces them).
//
// The library sends enums as proto numbers (`?$alt=json%3Benum-encoding=int`, e.g.
// {"purpose":5,"versionTemplate":{"algorithm":12}}) and an empty message as the body `""`
// (createKeyRing, createCryptoKeyVersion); both must work as they do at Google.

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const {OAuth2Client} = require('google-auth-library');
const {RUN, Code, crc32c, int64, rejectsWith, endpoint, control, restOptions, kmsClient} =
  require('./lib/emulator.js');

const PROJECT = 'node-kms-project';
const LOCATION = 'global';

describe('Cloud KMS through @google-cloud/kms (REST)', () => {
  let kms;
  const ringId = `ring-${RUN}`;
  let ring;
  const key = id => kms.cryptoKeyPath(PROJECT, LOCATION, ringId, id);
  const version = (id, n) => kms.cryptoKeyVersionPath(PROJECT, LOCATION, ringId, id, String(n));

  before(() => {
    kms = kmsClient();
    ring = kms.keyRingPath(PROJECT, LOCATION, ringId);
  });
  after(() => kms.close());

  describe('locations', () => {
    // The library cannot decode Google's answer: each Location's `metadata` is an Any of
    // type google.cloud.kms.v1.LocationMetadata, and the Locations mixin resolves Any types
    // only among its own protos (googleapis/google-cloud-node#4366, open). The emulator
    // answers what Google answers, so the library fails the same way here; the answer
    // itself is checked with a plain GET.
    it('listLocations and getLocation: the library fails to decode Google\'s LocationMetadata', async () => {
      const decodeError = /cannot find type google\.cloud\.kms\.v1\.LocationMetadata/;
      await assert.rejects(async () => {
        for await (const location of kms.listLocationsAsync({name: `projects/${PROJECT}`})) assert.ok(location);
      }, decodeError);
      await assert.rejects(kms.getLocation({name: `projects/${PROJECT}/locations/us-east1`}), decodeError);

      const {url} = endpoint('KMS_URL');
      const response = await fetch(`${url}/v1/projects/${PROJECT}/locations/us-east1`);
      assert.equal(response.status, 200);
      const location = await response.json();
      assert.equal(location.name, `projects/${PROJECT}/locations/us-east1`);
      assert.equal(location.locationId, 'us-east1');
      assert.equal(location.metadata['@type'], 'type.googleapis.com/google.cloud.kms.v1.LocationMetadata');
      const list = await (await fetch(`${url}/v1/projects/${PROJECT}/locations?pageSize=1000`)).json();
      const ids = list.locations.map(l => l.locationId);
      for (const id of ['global', 'us-east1', 'europe-west1']) {
        assert.ok(ids.includes(id), `${id} missing from ${ids.join(',')}`);
      }
    });

    it('generateRandomBytes returns the length asked for, with its CRC32C', async () => {
      const [response] = await kms.generateRandomBytes({
        location: kms.locationPath(PROJECT, LOCATION), lengthBytes: 64, protectionLevel: 'HSM'});
      assert.equal(response.data.length, 64);
      assert.equal(int64(response.dataCrc32c), crc32c(response.data));
      const [again] = await kms.generateRandomBytes({
        location: kms.locationPath(PROJECT, LOCATION), lengthBytes: 64, protectionLevel: 'HSM'});
      assert.notDeepEqual(Buffer.from(again.data), Buffer.from(response.data));
    });

    it('generateRandomBytes refuses a length over 1024 and a non-HSM protection level', async () => {
      const location = kms.locationPath(PROJECT, LOCATION);
      await rejectsWith(kms.generateRandomBytes({location, lengthBytes: 4096, protectionLevel: 'HSM'}),
                        Code.INVALID_ARGUMENT);
      await rejectsWith(kms.generateRandomBytes({location, lengthBytes: 32, protectionLevel: 'SOFTWARE'}),
                        Code.INVALID_ARGUMENT);
    });
  });

  describe('key rings', () => {
    it('createKeyRing (the library sends the empty KeyRing as the body "")', async () => {
      const [created] = await kms.createKeyRing({
        parent: kms.locationPath(PROJECT, LOCATION), keyRingId: ringId, keyRing: {}});
      assert.equal(created.name, ring);
      assert.ok(created.createTime && Number(created.createTime.seconds) > 0);
    });

    it('getKeyRing and listKeyRings find it', async () => {
      const [got] = await kms.getKeyRing({name: ring});
      assert.equal(got.name, ring);
      const [rings] = await kms.listKeyRings({parent: kms.locationPath(PROJECT, LOCATION)});
      assert.ok(rings.some(r => r.name === ring), 'the new key ring is listed');
    });

    it('listKeyRings filters, pages with pageSize and follows pageToken', async () => {
      const parent = kms.locationPath(PROJECT, 'europe-west1');
      const names = [0, 1, 2].map(i => kms.keyRingPath(PROJECT, 'europe-west1', `paged-${RUN}-${i}`));
      for (let i = 0; i < 3; i++) {
        await kms.createKeyRing({parent, keyRingId: `paged-${RUN}-${i}`, keyRing: {}});
      }
      const filter = `name:paged-${RUN}-`;
      const [firstPage, nextRequest, raw] = await kms.listKeyRings(
        {parent, filter, pageSize: 2, orderBy: 'name desc'}, {autoPaginate: false});
      assert.deepEqual(firstPage.map(r => r.name), [names[2], names[1]]);
      assert.ok(raw.nextPageToken, 'a next page token');
      assert.equal(Number(raw.totalSize), 3);
      const [secondPage, last] = await kms.listKeyRings(nextRequest, {autoPaginate: false});
      assert.deepEqual(secondPage.map(r => r.name), [names[0]]);
      assert.equal(last, null, 'no page after the last');
      const [all] = await kms.listKeyRings({parent, filter, pageSize: 2});
      assert.deepEqual(all.map(r => r.name).sort(), names);
    });

    it('errors: ALREADY_EXISTS, NOT_FOUND, INVALID_ARGUMENT', async () => {
      await rejectsWith(kms.createKeyRing({parent: kms.locationPath(PROJECT, LOCATION), keyRingId: ringId, keyRing: {}}),
                        Code.ALREADY_EXISTS, ringId);
      await rejectsWith(kms.getKeyRing({name: kms.keyRingPath(PROJECT, LOCATION, `missing-${RUN}`)}),
                        Code.NOT_FOUND, `missing-${RUN}`);
      await rejectsWith(kms.createKeyRing({parent: kms.locationPath(PROJECT, LOCATION), keyRingId: 'bad id!', keyRing: {}}),
                        Code.INVALID_ARGUMENT);
    });
  });

  describe('symmetric keys: encrypt, decrypt, versions', () => {
    const id = 'data-key';
    const plaintext = Buffer.concat([Buffer.from('card 4111-1111-1111-1111 '), crypto.randomBytes(64),
                                     Buffer.from([0, 0xff, 0xfe, 0x80])]);
    const aad = Buffer.from('order-42');
    let v1Ciphertext;

    it('createCryptoKey ENCRYPT_DECRYPT with labels and a rotation schedule', async () => {
      const [created] = await kms.createCryptoKey({
        parent: ring, cryptoKeyId: id,
        cryptoKey: {
          purpose: 'ENCRYPT_DECRYPT', labels: {team: 'payments'},
          rotationPeriod: {seconds: 7 * 86400}, nextRotationTime: {seconds: 1893456000},
        },
      });
      assert.equal(created.name, key(id));
      assert.equal(created.purpose, 'ENCRYPT_DECRYPT');
      assert.deepEqual(created.labels, {team: 'payments'});
      assert.equal(Number(created.rotationPeriod.seconds), 7 * 86400);
      assert.equal(Number(created.nextRotationTime.seconds), 1893456000);
      assert.equal(created.primary.name, version(id, 1));
      assert.equal(created.primary.state, 'ENABLED');
      assert.equal(created.primary.algorithm, 'GOOGLE_SYMMETRIC_ENCRYPTION');
      assert.equal(created.primary.protectionLevel, 'SOFTWARE');
      assert.equal(created.versionTemplate.algorithm, 'GOOGLE_SYMMETRIC_ENCRYPTION');
    });

    it('getCryptoKey and listCryptoKeys', async () => {
      const [got] = await kms.getCryptoKey({name: key(id)});
      assert.equal(got.purpose, 'ENCRYPT_DECRYPT');
      assert.equal(got.primary.name, version(id, 1));
      const [keys] = await kms.listCryptoKeys({parent: ring});
      assert.ok(keys.some(k => k.name === key(id) && k.purpose === 'ENCRYPT_DECRYPT'));
    });

    it('updateCryptoKey changes only the fields in updateMask', async () => {
      const [updated] = await kms.updateCryptoKey({
        cryptoKey: {name: key(id), labels: {team: 'fraud', env: 'test'}, purpose: 'ENCRYPT_DECRYPT'},
        updateMask: {paths: ['labels']},
      });
      assert.deepEqual(updated.labels, {team: 'fraud', env: 'test'});
      assert.equal(Number(updated.rotationPeriod.seconds), 7 * 86400);
      const [got] = await kms.getCryptoKey({name: key(id)});
      assert.deepEqual(got.labels, {team: 'fraud', env: 'test'});
    });

    it('encrypt with AAD and request checksums: every integrity field is set and right', async () => {
      const [response] = await kms.encrypt({
        name: key(id), plaintext, additionalAuthenticatedData: aad,
        plaintextCrc32c: {value: crc32c(plaintext)},
        additionalAuthenticatedDataCrc32c: {value: crc32c(aad)},
      });
      assert.equal(response.name, version(id, 1));
      assert.equal(response.verifiedPlaintextCrc32c, true);
      assert.equal(response.verifiedAdditionalAuthenticatedDataCrc32c, true);
      assert.equal(int64(response.ciphertextCrc32c), crc32c(response.ciphertext));
      assert.equal(response.protectionLevel, 'SOFTWARE');
      assert.ok(!Buffer.from(response.ciphertext).includes(Buffer.from('4111')), 'ciphertext is not plaintext');
      v1Ciphertext = Buffer.from(response.ciphertext);
    });

    it('encrypt without checksums says nothing was verified', async () => {
      const [response] = await kms.encrypt({name: key(id), plaintext});
      assert.equal(response.verifiedPlaintextCrc32c, false);
      assert.equal(response.verifiedAdditionalAuthenticatedDataCrc32c, false);
      assert.equal(int64(response.ciphertextCrc32c), crc32c(response.ciphertext));
    });

    it('decrypt returns the bytes, with their CRC32C, and says the primary was used', async () => {
      const [response] = await kms.decrypt({
        name: key(id), ciphertext: v1Ciphertext, additionalAuthenticatedData: aad,
        ciphertextCrc32c: {value: crc32c(v1Ciphertext)},
        additionalAuthenticatedDataCrc32c: {value: crc32c(aad)},
      });
      assert.deepEqual(Buffer.from(response.plaintext), plaintext);
      assert.equal(int64(response.plaintextCrc32c), crc32c(plaintext));
      assert.equal(response.usedPrimary, true);
      assert.equal(response.protectionLevel, 'SOFTWARE');
    });

    it('decrypt with the wrong AAD, and checksums that do not match, are INVALID_ARGUMENT', async () => {
      await rejectsWith(kms.decrypt({name: key(id), ciphertext: v1Ciphertext,
                                     additionalAuthenticatedData: Buffer.from('order-43')}),
                        Code.INVALID_ARGUMENT);
      await rejectsWith(kms.encrypt({name: key(id), plaintext, plaintextCrc32c: {value: crc32c(plaintext) ^ 1}}),
                        Code.INVALID_ARGUMENT, 'plaintext_crc32c');
      await rejectsWith(kms.decrypt({name: key(id), ciphertext: v1Ciphertext, additionalAuthenticatedData: aad,
                                     ciphertextCrc32c: {value: crc32c(v1Ciphertext) ^ 1}}),
                        Code.INVALID_ARGUMENT, 'ciphertext_crc32c');
      await rejectsWith(kms.encrypt({name: key(id), plaintext, additionalAuthenticatedData: aad,
                                     additionalAuthenticatedDataCrc32c: {value: 7}}),
                        Code.INVALID_ARGUMENT, 'additional_authenticated_data_crc32c');
    });

    it('createCryptoKeyVersion (body "") and updateCryptoKeyPrimaryVersion rotate by hand', async () => {
      const [created] = await kms.createCryptoKeyVersion({parent: key(id), cryptoKeyVersion: {}});
      assert.equal(created.name, version(id, 2));
      assert.equal(created.state, 'ENABLED');
      assert.equal(created.algorithm, 'GOOGLE_SYMMETRIC_ENCRYPTION');
      const [updated] = await kms.updateCryptoKeyPrimaryVersion({name: key(id), cryptoKeyVersionId: '2'});
      assert.equal(updated.primary.name, version(id, 2));
      const [encrypted] = await kms.encrypt({name: key(id), plaintext});
      assert.equal(encrypted.name, version(id, 2));
      const [old] = await kms.decrypt({name: key(id), ciphertext: v1Ciphertext, additionalAuthenticatedData: aad});
      assert.deepEqual(Buffer.from(old.plaintext), plaintext);
      assert.equal(old.usedPrimary, false);
    });

    it('encrypt with a version name uses that version', async () => {
      const [encrypted] = await kms.encrypt({name: version(id, 1), plaintext});
      assert.equal(encrypted.name, version(id, 1));
    });

    it('getCryptoKeyVersion and listCryptoKeyVersions', async () => {
      const [v1] = await kms.getCryptoKeyVersion({name: version(id, 1)});
      assert.equal(v1.state, 'ENABLED');
      assert.equal(v1.protectionLevel, 'SOFTWARE');
      assert.ok(Number(v1.createTime.seconds) > 0);
      const [versions, , raw] = await kms.listCryptoKeyVersions({parent: key(id), view: 'FULL'},
                                                                {autoPaginate: false});
      assert.deepEqual(versions.map(v => v.name), [version(id, 1), version(id, 2)]);
      assert.equal(Number(raw.totalSize), 2);
    });

    it('updateCryptoKeyVersion state DISABLED really disables: decrypt is FAILED_PRECONDITION', async () => {
      const [updated] = await kms.updateCryptoKeyVersion({
        cryptoKeyVersion: {name: version(id, 1), state: 'DISABLED'}, updateMask: {paths: ['state']}});
      assert.equal(updated.state, 'DISABLED');
      const [got] = await kms.getCryptoKeyVersion({name: version(id, 1)});
      assert.equal(got.state, 'DISABLED');
      await rejectsWith(kms.decrypt({name: key(id), ciphertext: v1Ciphertext, additionalAuthenticatedData: aad}),
                        Code.FAILED_PRECONDITION, 'DISABLED');
      await rejectsWith(kms.encrypt({name: version(id, 1), plaintext}), Code.FAILED_PRECONDITION);
      const [listed] = await kms.listCryptoKeyVersions({parent: key(id), filter: 'state=DISABLED'});
      assert.deepEqual(listed.map(v => v.name), [version(id, 1)]);
    });

    it('updateCryptoKeyVersion state ENABLED enables it again', async () => {
      const [updated] = await kms.updateCryptoKeyVersion({
        cryptoKeyVersion: {name: version(id, 1), state: 'ENABLED'}, updateMask: {paths: ['state']}});
      assert.equal(updated.state, 'ENABLED');
      const [decrypted] = await kms.decrypt({name: key(id), ciphertext: v1Ciphertext, additionalAuthenticatedData: aad});
      assert.deepEqual(Buffer.from(decrypted.plaintext), plaintext);
    });

    it('destroyCryptoKeyVersion schedules destruction; restoreCryptoKeyVersion brings it back DISABLED', async () => {
      const [destroyed] = await kms.destroyCryptoKeyVersion({name: version(id, 1)});
      assert.equal(destroyed.state, 'DESTROY_SCHEDULED');
      assert.ok(Number(destroyed.destroyTime.seconds) > Date.now() / 1000 + 29 * 86400,
                'destroyTime about 30 days ahead');
      await rejectsWith(kms.decrypt({name: key(id), ciphertext: v1Ciphertext, additionalAuthenticatedData: aad}),
                        Code.FAILED_PRECONDITION);
      await rejectsWith(kms.destroyCryptoKeyVersion({name: version(id, 1)}), Code.FAILED_PRECONDITION);
      const [restored] = await kms.restoreCryptoKeyVersion({name: version(id, 1)});
      assert.equal(restored.state, 'DISABLED');
      assert.ok(!restored.destroyTime, 'no destroyTime after restore');
      await rejectsWith(kms.restoreCryptoKeyVersion({name: version(id, 1)}), Code.FAILED_PRECONDITION);
      const [enabled] = await kms.updateCryptoKeyVersion({
        cryptoKeyVersion: {name: version(id, 1), state: 'ENABLED'}, updateMask: {paths: ['state']}});
      assert.equal(enabled.state, 'ENABLED');
    });

    it('updateCryptoKeyVersion refuses a state other than ENABLED/DISABLED', async () => {
      await rejectsWith(kms.updateCryptoKeyVersion({
        cryptoKeyVersion: {name: version(id, 2), state: 'DESTROYED'}, updateMask: {paths: ['state']}}),
                        Code.INVALID_ARGUMENT);
      const [v2] = await kms.getCryptoKeyVersion({name: version(id, 2)});
      assert.equal(v2.state, 'ENABLED');
    });

    it('skipInitialVersionCreation makes a key without versions', async () => {
      const [created] = await kms.createCryptoKey({
        parent: ring, cryptoKeyId: 'empty-key', skipInitialVersionCreation: true,
        cryptoKey: {purpose: 'ENCRYPT_DECRYPT'}});
      assert.ok(!created.primary, 'no primary version');
      const [versions] = await kms.listCryptoKeyVersions({parent: key('empty-key')});
      assert.deepEqual(versions, []);
    });

    it('errors: ALREADY_EXISTS, NOT_FOUND, INVALID_ARGUMENT', async () => {
      await rejectsWith(kms.createCryptoKey({parent: ring, cryptoKeyId: id, cryptoKey: {purpose: 'ENCRYPT_DECRYPT'}}),
                        Code.ALREADY_EXISTS);
      await rejectsWith(kms.getCryptoKey({name: key('no-such-key')}), Code.NOT_FOUND, 'no-such-key');
      await rejectsWith(kms.encrypt({name: key('no-such-key'), plaintext}), Code.NOT_FOUND);
      await rejectsWith(kms.getCryptoKeyVersion({name: version(id, 99)}), Code.NOT_FOUND);
      await rejectsWith(kms.createCryptoKey({parent: kms.keyRingPath(PROJECT, LOCATION, `missing-${RUN}`),
                                             cryptoKeyId: 'k', cryptoKey: {purpose: 'ENCRYPT_DECRYPT'}}),
                        Code.NOT_FOUND);
      await rejectsWith(kms.createCryptoKey({parent: ring, cryptoKeyId: 'bad/id', cryptoKey: {purpose: 'ENCRYPT_DECRYPT'}}),
                        Code.INVALID_ARGUMENT);
      // ASYMMETRIC_SIGN needs an algorithm (Google: INVALID_ARGUMENT).
      await rejectsWith(kms.createCryptoKey({parent: ring, cryptoKeyId: 'no-algorithm', cryptoKey: {purpose: 'ASYMMETRIC_SIGN'}}),
                        Code.INVALID_ARGUMENT);
      await rejectsWith(kms.encrypt({name: key(id), plaintext: Buffer.alloc(65537)}), Code.INVALID_ARGUMENT);
    });
  });

  describe('asymmetric signing, verified with node:crypto', () => {
    const message = Buffer.from('the message to sign');
    const sha256 = crypto.createHash('sha256').update(message).digest();

    async function signingKey(id, algorithm) {
      const [created] = await kms.createCryptoKey({
        parent: ring, cryptoKeyId: id,
        cryptoKey: {purpose: 'ASYMMETRIC_SIGN', versionTemplate: {algorithm}}});
      assert.equal(created.purpose, 'ASYMMETRIC_SIGN');
      assert.equal(created.versionTemplate.algorithm, algorithm);
      assert.ok(!created.primary, 'asymmetric keys have no primary version');
      const [v1] = await kms.getCryptoKeyVersion({name: version(id, 1)});
      assert.equal(v1.state, 'ENABLED');
      assert.equal(v1.algorithm, algorithm);
      const [publicKey] = await kms.getPublicKey({name: version(id, 1)});
      assert.equal(publicKey.name, version(id, 1));
      assert.equal(publicKey.algorithm, algorithm);
      assert.equal(publicKey.protectionLevel, 'SOFTWARE');
      assert.match(publicKey.pem, /^-----BEGIN PUBLIC KEY-----\n/);
      assert.equal(int64(publicKey.pemCrc32c), crc32c(publicKey.pem));
      const key = crypto.createPublicKey(publicKey.pem);
      // publicKeyFormat DER: the SubjectPublicKeyInfo in publicKey.data, no pem
      const [der] = await kms.getPublicKey({name: version(id, 1), publicKeyFormat: 'DER'});
      assert.equal(der.publicKeyFormat, 'DER');
      assert.ok(!der.pem, 'no pem when a format is asked');
      assert.equal(int64(der.publicKey.crc32cChecksum), crc32c(der.publicKey.data));
      assert.ok(crypto.createPublicKey({key: Buffer.from(der.publicKey.data), format: 'der', type: 'spki'})
        .equals(key), 'the DER key is the PEM key');
      return key;
    }

    async function sign(id, request) {
      const [response] = await kms.asymmetricSign({name: version(id, 1), ...request});
      assert.equal(response.name, version(id, 1));
      assert.equal(int64(response.signatureCrc32c), crc32c(response.signature));
      assert.equal(response.protectionLevel, 'SOFTWARE');
      return response;
    }

    it('EC_SIGN_P256_SHA256 (purpose 5, algorithm 12 on the wire)', async () => {
      const publicKey = await signingKey('ec-p256', 'EC_SIGN_P256_SHA256');
      assert.equal(publicKey.asymmetricKeyType, 'ec');
      assert.equal(publicKey.asymmetricKeyDetails.namedCurve, 'prime256v1');
      const response = await sign('ec-p256', {digest: {sha256}, digestCrc32c: {value: crc32c(sha256)}});
      assert.equal(response.verifiedDigestCrc32c, true);
      assert.ok(crypto.verify('sha256', message, {key: publicKey, dsaEncoding: 'der'}, response.signature),
                'node:crypto verifies the ECDSA signature');
      assert.ok(!crypto.verify('sha256', Buffer.from('another message'), {key: publicKey, dsaEncoding: 'der'},
                               response.signature));
    });

    it('RSA_SIGN_PSS_2048_SHA256', async () => {
      const publicKey = await signingKey('rsa-pss', 'RSA_SIGN_PSS_2048_SHA256');
      assert.equal(publicKey.asymmetricKeyType, 'rsa');
      assert.equal(publicKey.asymmetricKeyDetails.modulusLength, 2048);
      const response = await sign('rsa-pss', {digest: {sha256}});
      assert.equal(response.verifiedDigestCrc32c, false);
      assert.ok(crypto.verify('sha256', message, {
        key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32}, response.signature),
                'node:crypto verifies the RSA-PSS signature (salt length = digest length)');
    });

    it('RSA_SIGN_PKCS1_2048_SHA256', async () => {
      const publicKey = await signingKey('rsa-pkcs1', 'RSA_SIGN_PKCS1_2048_SHA256');
      const response = await sign('rsa-pkcs1', {digest: {sha256}, digestCrc32c: {value: crc32c(sha256)}});
      assert.ok(crypto.verify('sha256', message, {key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING},
                              response.signature), 'node:crypto verifies the PKCS#1 v1.5 signature');
    });

    it('EC_SIGN_ED25519 signs data, with dataCrc32c', async () => {
      const publicKey = await signingKey('ed25519', 'EC_SIGN_ED25519');
      assert.equal(publicKey.asymmetricKeyType, 'ed25519');
      const response = await sign('ed25519', {data: message, dataCrc32c: {value: crc32c(message)}});
      assert.equal(response.verifiedDataCrc32c, true);
      assert.ok(crypto.verify(null, message, publicKey, response.signature), 'node:crypto verifies Ed25519');
    });

    it('errors: a digest of the wrong kind or checksum is INVALID_ARGUMENT; no encrypt on a signing key', async () => {
      const sha384 = crypto.createHash('sha384').update(message).digest();
      await rejectsWith(kms.asymmetricSign({name: version('ec-p256', 1), digest: {sha384}}), Code.INVALID_ARGUMENT);
      await rejectsWith(kms.asymmetricSign({name: version('ec-p256', 1), digest: {sha256},
                                            digestCrc32c: {value: crc32c(sha256) ^ 1}}),
                        Code.INVALID_ARGUMENT, 'digest_crc32c');
      await rejectsWith(kms.encrypt({name: key('ec-p256'), plaintext: message}), Code.FAILED_PRECONDITION, 'purpose');
      await rejectsWith(kms.getPublicKey({name: version('data-key', 1)}), Code.FAILED_PRECONDITION);
    });

    it('a disabled signing version is FAILED_PRECONDITION', async () => {
      await kms.updateCryptoKeyVersion({
        cryptoKeyVersion: {name: version('rsa-pkcs1', 1), state: 'DISABLED'}, updateMask: {paths: ['state']}});
      await rejectsWith(kms.asymmetricSign({name: version('rsa-pkcs1', 1), digest: {sha256}}),
                        Code.FAILED_PRECONDITION);
    });
  });

  describe('asymmetric decryption', () => {
    for (const [id, algorithm, oaepHash] of [['rsa-oaep-256', 'RSA_DECRYPT_OAEP_2048_SHA256', 'sha256'],
                                              ['rsa-oaep-1', 'RSA_DECRYPT_OAEP_2048_SHA1', 'sha1']]) {
      it(`${algorithm}: encrypted with node:crypto, decrypted by the emulator`, async () => {
        const [created] = await kms.createCryptoKey({
          parent: ring, cryptoKeyId: id,
          cryptoKey: {purpose: 'ASYMMETRIC_DECRYPT', versionTemplate: {algorithm}}});
        assert.equal(created.purpose, 'ASYMMETRIC_DECRYPT');
        assert.equal(created.versionTemplate.algorithm, algorithm);
        const [publicKey] = await kms.getPublicKey({name: version(id, 1)});
        assert.equal(publicKey.algorithm, algorithm);
        const secret = crypto.randomBytes(48);
        const ciphertext = crypto.publicEncrypt(
          {key: publicKey.pem, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash}, secret);
        const [response] = await kms.asymmetricDecrypt({
          name: version(id, 1), ciphertext, ciphertextCrc32c: {value: crc32c(ciphertext)}});
        assert.deepEqual(Buffer.from(response.plaintext), secret);
        assert.equal(int64(response.plaintextCrc32c), crc32c(secret));
        assert.equal(response.verifiedCiphertextCrc32c, true);
        assert.equal(response.protectionLevel, 'SOFTWARE');
        const tampered = Buffer.from(ciphertext);
        tampered[10] ^= 0x55;
        await rejectsWith(kms.asymmetricDecrypt({name: version(id, 1), ciphertext: tampered}), Code.INVALID_ARGUMENT);
      });
    }
  });

  describe('MAC', () => {
    const data = Buffer.from('authenticate me');

    it('macSign and macVerify with HMAC_SHA256 (purpose 9, algorithm 32 on the wire)', async () => {
      const [created] = await kms.createCryptoKey({
        parent: ring, cryptoKeyId: 'mac-key',
        cryptoKey: {purpose: 'MAC', versionTemplate: {algorithm: 'HMAC_SHA256'}}});
      assert.equal(created.purpose, 'MAC');
      assert.equal(created.versionTemplate.algorithm, 'HMAC_SHA256');
      const [signed] = await kms.macSign({name: version('mac-key', 1), data, dataCrc32c: {value: crc32c(data)}});
      assert.equal(signed.name, version('mac-key', 1));
      assert.equal(signed.mac.length, 32);
      assert.equal(int64(signed.macCrc32c), crc32c(signed.mac));
      assert.equal(signed.verifiedDataCrc32c, true);
      const [again] = await kms.macSign({name: version('mac-key', 1), data});
      assert.deepEqual(Buffer.from(again.mac), Buffer.from(signed.mac), 'HMAC is deterministic');

      const [verified] = await kms.macVerify({
        name: version('mac-key', 1), data, mac: signed.mac,
        dataCrc32c: {value: crc32c(data)}, macCrc32c: {value: crc32c(signed.mac)}});
      assert.equal(verified.success, true);
      assert.equal(verified.verifiedDataCrc32c, true);
      assert.equal(verified.verifiedMacCrc32c, true);
      assert.equal(verified.verifiedSuccessIntegrity, true);

      const forged = Buffer.from(signed.mac);
      forged[0] ^= 1;
      const [refused] = await kms.macVerify({name: version('mac-key', 1), data, mac: forged});
      assert.equal(refused.success, false);
      assert.equal(refused.verifiedSuccessIntegrity, false);
      await rejectsWith(kms.macSign({name: version('mac-key', 1), data, dataCrc32c: {value: 1}}),
                        Code.INVALID_ARGUMENT, 'data_crc32c');
    });

    it('HMAC_SHA1 macs are 20 bytes', async () => {
      await kms.createCryptoKey({parent: ring, cryptoKeyId: 'mac-sha1',
                                 cryptoKey: {purpose: 'MAC', versionTemplate: {algorithm: 'HMAC_SHA1'}}});
      const [signed] = await kms.macSign({name: version('mac-sha1', 1), data});
      assert.equal(signed.mac.length, 20);
      const [verified] = await kms.macVerify({name: version('mac-sha1', 1), data, mac: signed.mac});
      assert.equal(verified.success, true);
    });
  });

  describe('IAM', () => {
    const binding = {role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter', members: ['user:alice@example.com']};

    // The library's IAM mixin sends getIamPolicy as POST with a body; Cloud KMS maps it to
    // GET only, and Google answers the POST 404. So does the emulator: the library surfaces
    // NOT_FOUND. The policy is read back with GET (as gcloud does) to check setIamPolicy.
    async function readPolicy(resource) {
      const {url} = endpoint('KMS_URL');
      const response = await fetch(`${url}/v1/${resource}:getIamPolicy`);
      assert.equal(response.status, 200);
      return response.json();
    }

    for (const [what, resource] of [['key ring', () => ring], ['crypto key', () => key('data-key')]]) {
      it(`setIamPolicy, testIamPermissions on a ${what}; getIamPolicy is NOT_FOUND as at Google`, async () => {
        const [policy] = await kms.setIamPolicy({resource: resource(), policy: {bindings: [binding]}});
        assert.deepEqual(policy.bindings.map(b => ({role: b.role, members: b.members})), [binding]);
        assert.ok(policy.etag && policy.etag.length > 0, 'an etag');
        const stored = await readPolicy(resource());
        assert.deepEqual(stored.bindings, [binding]);

        await rejectsWith(kms.getIamPolicy({resource: resource()}), Code.NOT_FOUND);

        const permissions = ['cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeys.get'];
        const [tested] = await kms.testIamPermissions({resource: resource(), permissions});
        assert.deepEqual([...tested.permissions].sort(), permissions.sort(),
                         'under --iam off the default principal holds every permission');

        // A stale etag: Google refuses with ABORTED (HTTP 409), the policy unchanged.
        await kms.setIamPolicy({resource: resource(), policy: {bindings: [], etag: policy.etag}});
        await rejectsWith(kms.setIamPolicy({resource: resource(), policy: {bindings: [binding], etag: policy.etag}}),
                          Code.ABORTED);
        assert.deepEqual((await readPolicy(resource())).bindings || [], []);
      });
    }

    it('setIamPolicy on a missing key is NOT_FOUND', async () => {
      await rejectsWith(kms.setIamPolicy({resource: key('no-such-key'), policy: {bindings: [binding]}}), Code.NOT_FOUND);
    });
  });

  describe('identity', () => {
    // The principal of the last call of `method` on `resource`, from the audit log (Logging v2
    // on the control plane).
    async function principalOf(method, resource) {
      const {entries} = await control('/v2/entries:list', {
        resourceNames: [`projects/${PROJECT}`], orderBy: 'timestamp desc', pageSize: 1,
        filter: `protoPayload.methodName="${method}" AND protoPayload.resourceName="${resource}"`});
      assert.ok(entries && entries.length === 1, `an audit entry for ${method} on ${resource}`);
      return entries[0].protoPayload.authenticationInfo.principalEmail;
    }

    it('PassThroughClient sends no Authorization header: the default principal (--iam off)', async () => {
      await kms.getKeyRing({name: ring});
      assert.equal(await principalOf('GetKeyRing', ring), 'developer@example.com');
    });

    it('an OAuth2Client holding a principal as its access token calls as that principal', async () => {
      const authClient = new OAuth2Client();
      authClient.setCredentials({access_token: 'user:alice@example.com'});
      const alice = kmsClient({...restOptions('KMS_URL'), authClient});
      try {
        await alice.getCryptoKey({name: key('data-key')});
      } finally {
        await alice.close();
      }
      assert.equal(await principalOf('GetCryptoKey', key('data-key')), 'alice@example.com');
    });
  });

  describe('import', () => {
    // The material is wrapped here as a client wraps it: CKM_RSA_AES_KEY_WRAP, RSA-OAEP
    // (SHA-256) of an ephemeral AES-256 key followed by AES-KWP (RFC 5649) of the material.
    const wrap = (pem, material) => {
      const ephemeral = crypto.randomBytes(32);
      const rsa = crypto.publicEncrypt({key: pem, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256'},
                                       ephemeral);
      const kwp = crypto.createCipheriv('id-aes256-wrap-pad', ephemeral, Buffer.from('A65959A6', 'hex'));
      return Buffer.concat([rsa, kwp.update(material), kwp.final()]);
    };
    const material = crypto.randomBytes(32);
    let job;

    it('createImportJob, getImportJob, listImportJobs (enums as numbers on the wire)', async () => {
      [job] = await kms.createImportJob({parent: ring, importJobId: 'job',
                                         importJob: {importMethod: 'RSA_OAEP_3072_SHA256_AES_256', protectionLevel: 'SOFTWARE'}});
      assert.equal(job.state, 'ACTIVE');
      assert.equal(job.importMethod, 'RSA_OAEP_3072_SHA256_AES_256');
      assert.match(job.publicKey.pem, /BEGIN PUBLIC KEY/);
      const [got] = await kms.getImportJob({name: job.name});
      assert.equal(got.publicKey.pem, job.publicKey.pem);
      const [jobs] = await kms.listImportJobs({parent: ring});
      assert.deepEqual(jobs.map(j => j.name), [job.name]);
    });

    it('importCryptoKeyVersion into an import-only key: the version encrypts and decrypts', async () => {
      await kms.createCryptoKey({parent: ring, cryptoKeyId: 'byok', skipInitialVersionCreation: true,
                                 cryptoKey: {purpose: 'ENCRYPT_DECRYPT', importOnly: true}});
      const [imported] = await kms.importCryptoKeyVersion({
        parent: key('byok'), algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION', importJob: job.name,
        wrappedKey: wrap(job.publicKey.pem, material)});
      assert.equal(imported.state, 'ENABLED');
      assert.equal(imported.importJob, job.name);
      assert.equal(imported.reimportEligible, true);
      const [encrypted] = await kms.encrypt({name: key('byok'), plaintext: Buffer.from('own key')});
      assert.equal(encrypted.name, version('byok', 1));
      const [decrypted] = await kms.decrypt({name: key('byok'), ciphertext: encrypted.ciphertext});
      assert.equal(Buffer.from(decrypted.plaintext).toString(), 'own key');
    });

    it('failures: material wrapped for another key or of the wrong size is IMPORT_FAILED with the reason; wrong arguments fail', async () => {
      const other = crypto.generateKeyPairSync('rsa', {modulusLength: 3072}).publicKey.export({type: 'spki', format: 'pem'});
      const [unwrapped] = await kms.importCryptoKeyVersion({parent: key('byok'), algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION',
                                                            importJob: job.name, wrappedKey: wrap(other, material)});
      assert.equal(unwrapped.state, 'IMPORT_FAILED');
      assert.match(unwrapped.importFailureReason, /does not unwrap/);
      const [short] = await kms.importCryptoKeyVersion({parent: key('byok'), algorithm: 'GOOGLE_SYMMETRIC_ENCRYPTION',
                                                        importJob: job.name, wrappedKey: wrap(job.publicKey.pem, material.subarray(0, 16))});
      assert.equal(short.state, 'IMPORT_FAILED');
      assert.match(short.importFailureReason, /must be 32 bytes/);
      await rejectsWith(kms.importCryptoKeyVersion({parent: key('byok'), algorithm: 'EC_SIGN_P256_SHA256',
                                                    importJob: job.name, wrappedKey: wrap(job.publicKey.pem, material)}),
                        Code.INVALID_ARGUMENT, 'has purpose ENCRYPT_DECRYPT');
      await rejectsWith(kms.createCryptoKeyVersion({parent: key('byok')}), Code.FAILED_PRECONDITION, 'import-only');
    });
  });

  describe('raw encryption', () => {
    it('rawEncrypt / rawDecrypt with AES-256-GCM: AAD, the tag appended, the IV the service drew', async () => {
      await kms.createCryptoKey({parent: ring, cryptoKeyId: 'raw-gcm',
                                 cryptoKey: {purpose: 'RAW_ENCRYPT_DECRYPT', versionTemplate: {algorithm: 'AES_256_GCM'}}});
      const aad = Buffer.from('context');
      const [sealed] = await kms.rawEncrypt({name: version('raw-gcm', 1), plaintext: Buffer.from('raw'),
                                             additionalAuthenticatedData: aad});
      assert.equal(sealed.tagLength, 16);
      assert.equal(Buffer.from(sealed.initializationVector).length, 16);
      assert.equal(Buffer.from(sealed.ciphertext).length, 3 + 16);
      const [opened] = await kms.rawDecrypt({name: version('raw-gcm', 1), ciphertext: sealed.ciphertext,
                                             initializationVector: sealed.initializationVector,
                                             additionalAuthenticatedData: aad});
      assert.equal(Buffer.from(opened.plaintext).toString(), 'raw');
      await rejectsWith(kms.rawDecrypt({name: version('raw-gcm', 1), ciphertext: sealed.ciphertext,
                                        initializationVector: sealed.initializationVector}),
                        Code.INVALID_ARGUMENT, 'Decryption failed');
      await rejectsWith(kms.encrypt({name: key('raw-gcm'), plaintext: Buffer.from('x')}),
                        Code.FAILED_PRECONDITION, 'RAW_ENCRYPT_DECRYPT');
    });

    it('an imported AES-256-CTR key: node:crypto decrypts what rawEncrypt made', async () => {
      const material = crypto.randomBytes(32);
      const [job] = await kms.createImportJob({parent: ring, importJobId: 'raw-job',
                                               importJob: {importMethod: 'RSA_OAEP_3072_SHA256', protectionLevel: 'SOFTWARE'}});
      await kms.createCryptoKey({parent: ring, cryptoKeyId: 'raw-ctr', skipInitialVersionCreation: true,
                                 cryptoKey: {purpose: 'RAW_ENCRYPT_DECRYPT', versionTemplate: {algorithm: 'AES_256_CTR'}}});
      const wrappedKey = crypto.publicEncrypt({key: job.publicKey.pem, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING,
                                               oaepHash: 'sha256'}, material);
      await kms.importCryptoKeyVersion({parent: key('raw-ctr'), algorithm: 'AES_256_CTR', importJob: job.name, wrappedKey});
      const [sealed] = await kms.rawEncrypt({name: version('raw-ctr', 1), plaintext: Buffer.from('portable')});
      const local = crypto.createDecipheriv('aes-256-ctr', material, Buffer.from(sealed.initializationVector));
      assert.equal(Buffer.concat([local.update(Buffer.from(sealed.ciphertext)), local.final()]).toString(), 'portable');
    });
  });

  describe('operations', () => {
    // (EKM connections, once UNIMPLEMENTED here, are served: kms_ekm.test.js.)
    it('getOperation: no KMS method is long-running, so every name is NOT_FOUND', async () => {
      await rejectsWith(kms.getOperation({name: `projects/${PROJECT}/locations/${LOCATION}/operations/op-1`}),
                        Code.NOT_FOUND);
    });
  });
});
