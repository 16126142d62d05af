import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toHex } from '../../src/bytes/hex.js';
import type { KeyCrypto } from '../../src/crypto/key-crypto.js';
import { bootDevice } from '../../src/device/boot.js';
import { DeviceBootError } from '../../src/device/device-boot-error.js';
import { partitionNamed } from '../../src/device/flash-layout.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { FACTORY_FILES, type LoadedFactory, loadFactory } from '../../src/node/factory.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { generateSigningKey, readSigningKey } from '../../src/node/signing-key.js';
import { signImage } from '../../src/boot/secure-boot-v2.js';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { parseKeysPartition } from '../../src/nvs/crypto/keys-partition.js';
import { CKA } from '../../src/pkcs11/constants.js';
import { DEVICE_CREDENTIALS, type ProvisionedDevice, provisionDevice } from '../../src/provision/device-provisioner.js';
import { makeTestFactory, PASSPHRASE, type TestFactory } from './_factory.js';

const openssl = (args: string[], cwd: string): string => execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('provisionDevice(): one device from a factory, booted', () => {
  let f: TestFactory;
  let factory: LoadedFactory;
  let keys: KeyCrypto;
  let a: ProvisionedDevice;
  let b: ProvisionedDevice;
  before(async () => {
    f = await makeTestFactory();
    factory = await loadFactory(f.dir, PASSPHRASE);
    keys = await loadNodeKeyCrypto();
    const deps = { crypto: nodeCrypto, keys, certificates: factory.certificates };
    a = await provisionDevice('t-test-000001', factory.profile, deps);
    b = await provisionDevice('t-test-000002', factory.profile, deps);
  });
  after(() => {
    a.efuse.destroy();
    b.efuse.destroy();
    factory.close();
    f.cleanup();
  });

  it('boots: the signed app verifies, the token holds the six credentials, the identity chain reaches the root', async () => {
    const device = await bootDevice({ flash: new MemoryFlash(a.flash), efuse: a.efuse, crypto: nodeCrypto, keys, pin: 'firmware-pin-1' });
    try {
      const r = device.report;
      assert.equal(r.secureBoot.enabled, true);
      assert.equal(r.flashEncryption.releaseMode, true);
      assert.equal(r.identity.deviceId, 't-test-000001');
      assert.equal(r.identity.certificate.commonName, 't-test-000001');
      assert.equal(r.identity.keyMatchesCertificate, true);
      assert.equal(r.identity.chainComplete, true);
      assert.deepEqual(r.identity.chain.map((c) => c.label), ['Device Cert', 'JITP Cert', 'Root Cert']);
      assert.deepEqual(r.token.objects.map((o) => o.replace(/ \(.*$/, '')).sort(), [...DEVICE_CREDENTIALS].sort());
      assert.equal(r.nvSeed.changed, true);
      // The private key was generated inside the token and can never leave it.
      const priv = device.session.findOne('Device Priv TLS Key', 'private-key');
      const attrs = device.session.attributes(priv, [CKA.CKA_SENSITIVE, CKA.CKA_EXTRACTABLE, CKA.CKA_LOCAL, CKA.CKA_NEVER_EXTRACTABLE]);
      assert.deepEqual([...attrs.values()].map((v) => v[0]), [1, 0, 1, 1]);
      // The code-verification key is the factory's code-signing key (RSA-3072 modulus).
      const modulus = openssl(['rsa', '-pubin', '-in', FACTORY_FILES.codeSigningPublicKey, '-noout', '-modulus'], f.dir).trim();
      const code = device.session.findOne('Code Verify Key', 'public-key');
      assert.equal(`Modulus=${toHex(device.session.attribute(code, CKA.CKA_MODULUS)).toUpperCase()}`, modulus);
    } finally {
      device.close();
    }
  });

  it('certifies the token key with the intermediate: OpenSSL verifies the chain to the factory root', () => {
    const tmp = fs.mkdtempSync(path.join(f.root, 'v-'));
    fs.writeFileSync(path.join(tmp, 'dev.pem'), a.certificate.pem);
    const out = openssl(['verify', '-CAfile', path.join(f.dir, FACTORY_FILES.rootCertificate), '-untrusted', path.join(f.dir, FACTORY_FILES.intermediateCertificate), '-purpose', 'sslclient', 'dev.pem'], tmp);
    assert.match(out, /dev\.pem: OK/);
    const subject = openssl(['x509', '-in', 'dev.pem', '-noout', '-subject', '-serial', '-nameopt', 'RFC2253'], tmp);
    assert.match(subject, /subject=CN=t-test-000001,O=Acme Test/);
    assert.match(subject, new RegExp(`serial=${a.certificate.serial}`, 'i'));
  });

  it('gives each device its own serial, NV seed, flash encryption key and NVS keys', () => {
    assert.notEqual(a.certificate.serial, b.certificate.serial);
    assert.notEqual(a.seedHash, b.seedHash);
    assert.match(a.seedHash, /^[0-9a-f]{64}$/);
    const ka = a.efuse.hardware.flashEncryptionKey()!;
    const kb = b.efuse.hardware.flashEncryptionKey()!;
    assert.notDeepEqual(ka, kb);
    // The keys partitions differ (read through each device's own flash decryption at boot; here: the ciphertext).
    const keysPart = partitionNamed(factory.profile.layout, 'nvs_keys');
    const slice = (d: ProvisionedDevice): string => toHex(d.flash.subarray(keysPart.offset, keysPart.offset + 64));
    assert.notEqual(slice(a), slice(b));
    assert.throws(() => parseKeysPartition(a.flash.subarray(keysPart.offset, keysPart.offset + keysPart.size)), 'the keys partition is stored flash-encrypted, not plain');
  });

  it('keeps the credentials encrypted at rest: no certificate, app or device id in the flash image in clear', () => {
    const flash = Buffer.from(a.flash);
    assert.equal(flash.indexOf(Buffer.from(a.certificate.der.subarray(0, 48))), -1, 'device certificate found in clear: NVS is not encrypted');
    assert.equal(flash.indexOf(Buffer.from(factory.profile.rootCertificate.subarray(0, 48))), -1, 'root certificate found in clear');
    assert.equal(flash.indexOf(Buffer.from('t-test-000001')), -1, 'device id found in clear');
    assert.equal(flash.indexOf(Buffer.from(factory.profile.signedApp.subarray(0, 48))), -1, 'the app is stored in clear: flash encryption is off');
  });

  it('a wrong user PIN fails the boot at the token stage', async () => {
    await assert.rejects(bootDevice({ flash: new MemoryFlash(a.flash), efuse: a.efuse, crypto: nodeCrypto, keys, pin: 'not-the-pin' }), (e: unknown) => {
      assert.ok(e instanceof DeviceBootError);
      assert.equal(e.stage, 'token');
      assert.match(e.message, /PIN/);
      return true;
    });
  });

  it('refuses a device id that is not a safe name', async () => {
    await assert.rejects(provisionDevice('../x', factory.profile, { crypto: nodeCrypto, keys, certificates: factory.certificates }), RangeError);
  });
});

describe('loadFactory(): a damaged factory is refused with a clear error', () => {
  let f: TestFactory;
  before(async () => {
    f = await makeTestFactory();
  });
  after(() => f.cleanup());

  const copy = (): string => {
    const dir = fs.mkdtempSync(path.join(f.root, 'copy-'));
    fs.cpSync(f.dir, dir, { recursive: true });
    return dir;
  };
  const code = async (dir: string, passphrase = PASSPHRASE): Promise<string> => {
    try {
      (await loadFactory(dir, passphrase)).close();
    } catch (e) {
      assert.ok(e instanceof NvsecError, String(e));
      return `${e.code}: ${e.message}`;
    }
    return 'loaded';
  };

  it('loads the intact factory', async () => {
    assert.equal(await code(f.dir), 'loaded');
  });
  it('no factory.json: FACTORY_MISSING', async () => {
    assert.match(await code(path.join(f.root, 'nothing')), /^FACTORY_MISSING: .*factory init/);
  });
  it('a wrong passphrase: KEY_PASSPHRASE', async () => {
    assert.match(await code(f.dir, 'wrong passphrase'), /^KEY_PASSPHRASE/);
  });
  it('a tampered signed app: FACTORY_CORRUPT naming the app', async () => {
    const dir = copy();
    const app = fs.readFileSync(path.join(dir, FACTORY_FILES.signedApp));
    app[100]! ^= 1;
    fs.writeFileSync(path.join(dir, FACTORY_FILES.signedApp), app);
    assert.match(await code(dir), /^FACTORY_CORRUPT: The signed app .* is not the one factory\.json records/);
    // Even with factory.json edited to match, the image checks give it away…
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, FACTORY_FILES.manifest), 'utf8'));
    const record = (bytes: Uint8Array): void => {
      manifest.app.sha256 = createHash('sha256').update(bytes).digest('hex');
      fs.writeFileSync(path.join(dir, FACTORY_FILES.manifest), JSON.stringify(manifest));
    };
    record(app);
    assert.match(await code(dir), /^FACTORY_CORRUPT: The signed app .* is not a valid esp32c3 app image: checksum mismatch/);
    // …and a valid app signed with another key, the signature.
    const other = readSigningKey(generateSigningKey('rsa3072')).signer!;
    const resigned = (await signImage(nodeCrypto, new Uint8Array(fs.readFileSync(path.join(dir, FACTORY_FILES.app))), [other])).image;
    fs.writeFileSync(path.join(dir, FACTORY_FILES.signedApp), resigned);
    record(resigned);
    assert.match(await code(dir), /^FACTORY_CORRUPT: The signed app .* does not verify with the code-signing key/);
  });
  it('a replaced code-signing public key: FACTORY_CORRUPT', async () => {
    const dir = copy();
    const other = execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'], { encoding: 'utf8' });
    const pub = execFileSync('openssl', ['pkey', '-pubout'], { input: other, encoding: 'utf8' });
    fs.writeFileSync(path.join(dir, FACTORY_FILES.codeSigningPublicKey), pub);
    assert.match(await code(dir), /^FACTORY_CORRUPT: The code-signing public key .* digest/);
  });
  it('an intermediate certificate from another root: FACTORY_CORRUPT', async () => {
    const dir = copy();
    const other = await makeTestFactory();
    try {
      fs.copyFileSync(path.join(other.dir, FACTORY_FILES.rootCertificate), path.join(dir, FACTORY_FILES.rootCertificate));
      assert.match(await code(dir), /^FACTORY_CORRUPT: The intermediate CA certificate .* is not signed by the root/);
    } finally {
      other.cleanup();
    }
  });
  it('a partition table binary that differs from the CSV: FACTORY_CORRUPT', async () => {
    const dir = copy();
    const csv = fs.readFileSync(path.join(dir, FACTORY_FILES.partitionCsv), 'utf8');
    fs.writeFileSync(path.join(dir, FACTORY_FILES.partitionCsv), csv.replace('0x6000', '0x5000'));
    assert.match(await code(dir), /^FACTORY_CORRUPT: The partition table binary .* is not the table partitions\.csv describes/);
  });
  it('a manifest that is not JSON: FACTORY_CORRUPT', async () => {
    const dir = copy();
    fs.writeFileSync(path.join(dir, FACTORY_FILES.manifest), '{ "format": ');
    assert.match(await code(dir), /^FACTORY_CORRUPT: .*not valid JSON/);
  });
});
