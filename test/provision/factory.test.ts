import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { FACTORY_FILES, initFactory, loadFactory } from '../../src/node/factory.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { generateSigningKey } from '../../src/node/signing-key.js';
import { provisionDevice } from '../../src/provision/device-provisioner.js';

const PASSPHRASE = 'factory passphrase 2';
const DAY = 86_400_000;

describe('initFactory()', () => {
  let root: string;
  let rsa: string;
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-factory-init-'));
    rsa = generateSigningKey('rsa3072');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const fails = async (dir: string, options: Partial<Parameters<typeof initFactory>[1]>, code: string): Promise<void> => {
    await assert.rejects(initFactory(dir, { passphrase: PASSPHRASE, codeSigningKeyPem: rsa, ...options }), (e: unknown) => {
      assert.ok(e instanceof NvsecError, String(e));
      assert.equal(e.code, code, e.message);
      return true;
    });
  };

  it('refuses a signing key that is not RSA-3072 or an app that is not an ESP32-C3 image, leaving nothing; then succeeds in the same folder', async () => {
    const dir = path.join(root, 'f1');
    await fails(dir, { codeSigningKeyPem: generateSigningKey('ecdsa256') }, 'KEY_UNSUPPORTED');
    await fails(dir, { app: new TextEncoder().encode('garbage') }, 'FACTORY_BAD_APP');
    assert.equal(fs.existsSync(dir), false);
    assert.deepEqual(fs.readdirSync(root).filter((n) => n.includes('f1')), [], 'no temporary folder left either');
    const m = await initFactory(dir, { passphrase: PASSPHRASE, codeSigningKeyPem: rsa });
    assert.equal(m.app.version, '1.0.0');
    // factory.json holds the firmware PIN: owner only. Private keys too; certificates are public.
    assert.equal(fs.statSync(path.join(dir, FACTORY_FILES.manifest)).mode & 0o777, 0o600);
    for (const key of [FACTORY_FILES.rootKey, FACTORY_FILES.intermediateKey, FACTORY_FILES.codeSigningKey]) assert.equal(fs.statSync(path.join(dir, key)).mode & 0o777, 0o600, key);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    await fails(dir, {}, 'FACTORY_EXISTS');
  });

  it('makes CA certificates OpenSSL accepts as a chain, backdated a little, the intermediate limited to issuing end entities', () => {
    const dir = path.join(root, 'f1');
    const text = execFileSync('openssl', ['x509', '-in', path.join(dir, FACTORY_FILES.intermediateCertificate), '-noout', '-text'], { encoding: 'utf8' });
    assert.match(text, /CA:TRUE, pathlen:0/);
    assert.match(text, /Certificate Sign, CRL Sign/);
    const ok = execFileSync('openssl', ['verify', '-CAfile', path.join(dir, FACTORY_FILES.rootCertificate), path.join(dir, FACTORY_FILES.intermediateCertificate)], { encoding: 'utf8' });
    assert.match(ok, /: OK/);
    const start = execFileSync('openssl', ['x509', '-in', path.join(dir, FACTORY_FILES.rootCertificate), '-noout', '-startdate'], { encoding: 'utf8' });
    assert.ok(Date.parse(start.replace('notBefore=', '')) < Date.now() - 60_000, 'the root is valid from a few minutes before its creation');
  });

  it('loadFactory refuses an expired manufacturing CA; device certificates never outlive it', async () => {
    const old = path.join(root, 'old');
    await initFactory(old, { passphrase: PASSPHRASE, codeSigningKeyPem: rsa, now: () => new Date(Date.now() - 11 * 365 * DAY) });
    await assert.rejects(loadFactory(old, PASSPHRASE), (e: unknown) => e instanceof NvsecError && e.code === 'FACTORY_EXPIRED' && /certify a new intermediate/.test(e.message));

    const factory = await loadFactory(path.join(root, 'f1'), PASSPHRASE);
    try {
      const keys = await loadNodeKeyCrypto();
      const end = factory.profile.issuer.certificate.notAfter.getTime();
      const late = await provisionDevice('t-late-000001', factory.profile, { crypto: nodeCrypto, keys, certificates: factory.certificates, now: () => new Date(end - 100 * DAY) });
      late.efuse.destroy();
      assert.equal(late.certificate.notAfter.getTime(), Math.floor(end / 1000) * 1000, 'clamped to the issuer notAfter');
      await assert.rejects(
        provisionDevice('t-late-000002', factory.profile, { crypto: nodeCrypto, keys, certificates: factory.certificates, now: () => new Date(end + DAY) }),
        (e: unknown) => e instanceof NvsecError && e.code === 'PROVISION_ISSUER_EXPIRED',
      );
    } finally {
      factory.close();
    }
  });
});
