import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toHex } from '../../src/bytes/hex.js';
import { deviceEfuse } from '../../src/device/device-image.js';
import { defaultFlashLayout, partitionNamed } from '../../src/device/flash-layout.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { DEVICE_BUNDLE_FILES, readDeviceBundle, removeBundleTemps, writeDeviceBundle } from '../../src/node/device-bundle.js';
import { runCli } from '../_support/cli.js';
import { buildHandMadeDevice, DEVICE_ID, type HandBuiltDevice, USER_PIN } from './_device.js';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';

const layout = defaultFlashLayout();

describe('device bundle on disk and nvsec device boot', () => {
  let dev: HandBuiltDevice;
  let tmp: string;
  let certDer: Uint8Array;
  before(async () => {
    dev = await buildHandMadeDevice();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-bundle-'));
    // The device certificate, as DER, from the token's NVS objects is what provisioning hands over;
    // here OpenSSL re-encodes a certificate with the same subject and serial for the manifest check.
    const key = path.join(tmp, 'k.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=${DEVICE_ID}`, '-set_serial', '0x0BAD', '-days', '1', '-out', path.join(tmp, 'c.pem')], { stdio: 'ignore' });
    certDer = new Uint8Array(execFileSync('openssl', ['x509', '-in', path.join(tmp, 'c.pem'), '-outform', 'DER']));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const write = (dir: string, id = DEVICE_ID): string => writeDeviceBundle(dir, { id, layout, flash: dev.flash, efuse: dev.efuse, certificate: certDer });

  it('writes flash.bin and efuse.bin 0600, a manifest without secrets, and no temporary folder', () => {
    const out = path.join(tmp, 'out1');
    const bundle = write(out);
    assert.equal(bundle, path.join(out, DEVICE_ID));
    assert.deepEqual(fs.readdirSync(out), [DEVICE_ID]);
    assert.deepEqual(fs.readdirSync(bundle).sort(), ['efuse.bin', 'efuse.json', 'flash.bin', 'manifest.json']);
    assert.equal(fs.statSync(path.join(bundle, 'flash.bin')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(bundle, 'efuse.bin')).mode & 0o777, 0o600);
    assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(bundle, 'flash.bin'))), dev.flash);
    const manifestText = fs.readFileSync(path.join(bundle, 'manifest.json'), 'utf8');
    const m = JSON.parse(manifestText);
    assert.equal(m.id, DEVICE_ID);
    assert.equal(m.chip, 'esp32c3');
    assert.equal(m.flash.sha256, createHash('sha256').update(dev.flash).digest('hex'));
    assert.equal(m.certificate.serial, '0BAD');
    assert.equal(m.certificate.subject, `CN=${DEVICE_ID}`);
    assert.deepEqual(
      m.layout.partitions.map((p: { name: string }) => p.name),
      ['nvs', 'nvs_keys', 'factory'],
    );
    const efuseText = fs.readFileSync(path.join(bundle, 'efuse.json'), 'utf8');
    for (const secret of [dev.xtsKey, Uint8Array.from(dev.xtsKey).reverse(), dev.nvsKeys.eky, dev.nvsKeys.tky]) {
      assert.ok(!manifestText.includes(toHex(secret)), 'no key in manifest.json');
      assert.ok(!efuseText.toLowerCase().includes(toHex(secret)), 'no key in efuse.json');
    }
  });

  it('never overwrites a bundle and clears temporary folders of a crashed write', () => {
    const out = path.join(tmp, 'out2');
    write(out);
    assert.throws(() => write(out), (e: unknown) => e instanceof NvsecError && e.code === 'DEVICE_BUNDLE_EXISTS');
    fs.mkdirSync(path.join(out, `other.tmp-123456`));
    assert.deepEqual(removeBundleTemps(out), ['other.tmp-123456']);
    assert.deepEqual(fs.readdirSync(out), [DEVICE_ID]);
  });

  it('leaves neither a bundle nor a temporary folder when writing fails half way', () => {
    const out = path.join(tmp, 'out-fail');
    const efuse = deviceEfuse({ chip: 'esp32c3', flashEncryptionKey: nodeCrypto.randomBytes(32), secureBootKeyDigest: nodeCrypto.randomBytes(32) });
    efuse.destroy(); // toImage() throws after flash.bin is written
    assert.throws(() => writeDeviceBundle(out, { id: DEVICE_ID, layout, flash: dev.flash, efuse, certificate: certDer }), /destroyed/);
    assert.deepEqual(fs.readdirSync(out), []);
  });

  it('readDeviceBundle() names what is missing', () => {
    const out = path.join(tmp, 'out3');
    const bundle = write(out);
    fs.rmSync(path.join(bundle, DEVICE_BUNDLE_FILES.efuse));
    assert.throws(() => readDeviceBundle(bundle), /efuse\.bin is missing/);
  });

  it('boots with --json, reports the identity, and a second boot sees a new NV seed', () => {
    const bundle = write(path.join(tmp, 'out4'));
    const first = runCli(['device', 'boot', bundle, '--json']);
    assert.equal(first.status, 0, first.stderr);
    const r1 = JSON.parse(first.stdout);
    assert.equal(r1.ok, true);
    assert.equal(r1.identity.deviceId, DEVICE_ID);
    assert.equal(r1.identity.certificate.subject, dev.device.subject);
    assert.equal(r1.identity.certificate.serial, dev.device.serial);
    assert.deepEqual(
      r1.identity.chain.map((c: { subject: string }) => c.subject),
      [dev.device.subject, dev.jitp.subject, dev.root.subject],
    );
    assert.equal(r1.token.loggedIn, false);
    const second = runCli(['device', 'boot', bundle, '--json'], { env: { NVSEC_PIN: USER_PIN } });
    assert.equal(second.status, 0, second.stderr);
    const r2 = JSON.parse(second.stdout);
    assert.equal(r2.token.loggedIn, true);
    assert.equal(r2.nvSeed.before, r1.nvSeed.after);
    assert.notEqual(r2.nvSeed.after, r1.nvSeed.after);
    const text = runCli(['device', 'boot', bundle]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`device +${DEVICE_ID}`));
    assert.match(text.stdout, /secure-boot/);
  });

  it('names the stage and leaves flash.bin unchanged when the app was tampered with', () => {
    const bundle = write(path.join(tmp, 'out5'));
    const file = path.join(bundle, 'flash.bin');
    const bytes = fs.readFileSync(file);
    bytes[partitionNamed(layout, 'factory').offset + 0x300]! ^= 0x80;
    fs.writeFileSync(file, bytes);
    const r = runCli(['device', 'boot', bundle, '--json']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /stage secure-boot/);
    assert.equal(JSON.parse(r.stdout).stage, 'secure-boot');
    assert.deepEqual(fs.readFileSync(file), bytes);
  });

  it('reports a folder that is not a bundle in one line', () => {
    const r = runCli(['device', 'boot', path.join(tmp, 'nope')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /is not a device bundle: no such folder/);
  });
});
