'use strict';
// Cloud EKM through Google's @google-cloud/kms (KeyManagementServiceClient and
// EkmServiceClient, REST transport): an EKM connection and the location's default, an
// EXTERNAL key and an EXTERNAL_VPC key whose versions name their keys in the emulator's
// simulated external key manager, encrypt/decrypt through them, and Cloud EKM's errors as
// the library surfaces them when the team disables its key in the EKM (the version is
// then disabled too) or the EKM cannot be reached (the ekmUnreachable fault).

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {execFileSync} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {EkmServiceClient} = require('@google-cloud/kms');
const {RUN, Code, rejectsWith, control, restOptions, kmsClient} = require('./lib/emulator.js');

const PROJECT = `ekm-${RUN}`;
const LOCATION = `projects/${PROJECT}/locations/us-east1`;
const RING = `${LOCATION}/keyRings/ekm`;
const URI = `https://ekm.example.com/v0/keys/${RUN}`;

// A self-signed certificate in DER, as an EKM connection's server certificate.
function certificate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ekm-'));
  const pem = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout',
                           path.join(dir, 'key.pem'), '-out', pem, '-days', '30', '-subj',
                           '/CN=ekm.vpc.example'], {stdio: 'ignore'});
  const der = execFileSync('openssl', ['x509', '-in', pem, '-outform', 'DER']);
  fs.rmSync(dir, {recursive: true, force: true});
  return der;
}

describe('Cloud EKM through @google-cloud/kms (REST)', () => {
  let kms, ekm;
  const plaintext = Buffer.from('kept outside Google');

  before(async () => {
    kms = kmsClient();
    ekm = new EkmServiceClient(restOptions('KMS_URL'));
    await kms.createKeyRing({parent: LOCATION, keyRingId: 'ekm', keyRing: {}});
  });
  after(async () => {
    await control('/emulator/v1/faults', {ekmUnreachable: false});
    await Promise.all([kms.close(), ekm.close()]);
  });

  it('creates an EXTERNAL key and a version naming its external key', async () => {
    const [key] = await kms.createCryptoKey({
      parent: RING, cryptoKeyId: 'internet', skipInitialVersionCreation: true,
      cryptoKey: {purpose: 'ENCRYPT_DECRYPT',
                  versionTemplate: {algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION', protectionLevel: 'EXTERNAL'}},
    });
    assert.equal(key.versionTemplate.protectionLevel, 'EXTERNAL');
    const [version] = await kms.createCryptoKeyVersion({
      parent: key.name, cryptoKeyVersion: {externalProtectionLevelOptions: {externalKeyUri: URI}},
    });
    assert.equal(version.state, 'ENABLED');
    assert.equal(version.externalProtectionLevelOptions.externalKeyUri, URI);
    await rejectsWith(kms.createCryptoKeyVersion({
      parent: key.name, cryptoKeyVersion: {externalProtectionLevelOptions: {externalKeyUri: 'ekm.example.com/k'}},
    }), Code.FAILED_PRECONDITION, 'Key URI has invalid format');
  });

  it('encrypts and decrypts, and answers Cloud EKM\'s errors', async () => {
    const name = `${RING}/cryptoKeys/internet`;
    const [encrypted] = await kms.encrypt({name, plaintext});
    assert.equal(encrypted.protectionLevel, 'EXTERNAL');
    const [decrypted] = await kms.decrypt({name, ciphertext: encrypted.ciphertext});
    assert.deepEqual(Buffer.from(decrypted.plaintext), plaintext);

    await control('/emulator/v1/faults', {ekmUnreachable: true});
    await rejectsWith(kms.decrypt({name, ciphertext: encrypted.ciphertext}), Code.FAILED_PRECONDITION,
                      'Could not reach the EKM host');
    await control('/emulator/v1/faults', {ekmUnreachable: false});

    await control('/emulator/v1/ekm/keys:disable', {uri: URI});
    await rejectsWith(kms.decrypt({name, ciphertext: encrypted.ciphertext}), Code.FAILED_PRECONDITION,
                      'Permission was denied when accessing the key');
    const [version] = await kms.getCryptoKeyVersion({name: `${name}/cryptoKeyVersions/1`});
    assert.equal(version.state, 'DISABLED');
    await control('/emulator/v1/ekm/keys:enable', {uri: URI});
    await kms.updateCryptoKeyVersion({cryptoKeyVersion: {name: version.name, state: 'ENABLED'},
                                      updateMask: {paths: ['state']}});
    const [again] = await kms.decrypt({name, ciphertext: encrypted.ciphertext});
    assert.deepEqual(Buffer.from(again.plaintext), plaintext);
  });

  it('follows a key the team moved in its EKM once the version names its new URI', async () => {
    const name = `${RING}/cryptoKeys/internet`;
    const moved = `${URI}-moved`;
    const [encrypted] = await kms.encrypt({name, plaintext});
    await control('/emulator/v1/ekm/keys:move', {uri: URI, newUri: moved});
    await rejectsWith(kms.decrypt({name, ciphertext: encrypted.ciphertext}), Code.FAILED_PRECONDITION,
                      'Could not find a key');
    const [version] = await kms.updateCryptoKeyVersion({
      cryptoKeyVersion: {name: `${name}/cryptoKeyVersions/1`,
                         externalProtectionLevelOptions: {externalKeyUri: moved}},
      updateMask: {paths: ['external_protection_level_options.external_key_uri']},
    });
    assert.equal(version.externalProtectionLevelOptions.externalKeyUri, moved);
    const [decrypted] = await kms.decrypt({name, ciphertext: encrypted.ciphertext});
    assert.deepEqual(Buffer.from(decrypted.plaintext), plaintext);
  });

  it('creates an EKM connection, sets it as the default and uses it for an EXTERNAL_VPC key', async () => {
    const [connection] = await ekm.createEkmConnection({
      parent: LOCATION, ekmConnectionId: 'vpc',
      ekmConnection: {serviceResolvers: [{
        serviceDirectoryService: `${LOCATION}/namespaces/ns/services/ekm`,
        hostname: 'ekm.vpc.example', serverCertificates: [{rawDer: certificate()}],
      }]},
    });
    assert.equal(connection.name, `${LOCATION}/ekmConnections/vpc`);
    assert.equal(connection.serviceResolvers[0].serverCertificates[0].parsed, true);
    const [config] = await ekm.updateEkmConfig({
      ekmConfig: {name: `${LOCATION}/ekmConfig`, defaultEkmConnection: connection.name},
      updateMask: {paths: ['default_ekm_connection']},
    });
    assert.equal(config.defaultEkmConnection, connection.name);

    const [key] = await kms.createCryptoKey({
      parent: RING, cryptoKeyId: 'vpc', skipInitialVersionCreation: true,
      cryptoKey: {purpose: 'ENCRYPT_DECRYPT',
                  versionTemplate: {algorithm: 'EXTERNAL_SYMMETRIC_ENCRYPTION', protectionLevel: 'EXTERNAL_VPC'}},
    });
    assert.equal(key.cryptoKeyBackend, connection.name);
    const [version] = await kms.createCryptoKeyVersion({
      parent: key.name, cryptoKeyVersion: {externalProtectionLevelOptions: {ekmConnectionKeyPath: `v0/keys/${RUN}`}},
    });
    assert.equal(version.protectionLevel, 'EXTERNAL_VPC');
    const [encrypted] = await kms.encrypt({name: key.name, plaintext});
    const [decrypted] = await kms.decrypt({name: key.name, ciphertext: encrypted.ciphertext});
    assert.deepEqual(Buffer.from(decrypted.plaintext), plaintext);
    const keys = await control('/emulator/v1/ekm/keys');
    assert.ok(keys.keys.some(k => k.uri === `https://ekm.vpc.example/v0/keys/${RUN}`));
  });
});
