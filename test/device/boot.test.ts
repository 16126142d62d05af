import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { BOOT_STAGES, bootDevice } from '../../src/device/boot.js';
import { DeviceBootError } from '../../src/device/device-boot-error.js';
import { reprogramApp } from '../../src/device/device-image.js';
import { defaultFlashLayout, partitionNamed } from '../../src/device/flash-layout.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { generateNvsKeys } from '../../src/nvs/crypto/keys-partition.js';
import type { KeyCrypto } from '../../src/crypto/key-crypto.js';
import { generateSigningKey, readSigningKey } from '../../src/node/signing-key.js';
import { signImage } from '../../src/boot/secure-boot-v2.js';
import { TokenSession } from '../../src/pkcs11/token-session.js';
import { appImage, buildHandMadeDevice, DEVICE_ID, type HandBuiltDevice, USER_PIN } from './_device.js';

const layout = defaultFlashLayout();
const APP = partitionNamed(layout, 'factory');

async function expectBootFailure(promise: Promise<unknown>, stage: string): Promise<DeviceBootError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof DeviceBootError, `expected a DeviceBootError, got ${String(e)}`);
    assert.ok(e instanceof NvsecError);
    assert.equal(e.stage, stage, e.message);
    assert.equal(e.code, 'DEVICE_BOOT_FAILED');
    assert.match(e.message, new RegExp(`stage ${stage}`));
    return e;
  }
  assert.fail(`the boot succeeded; expected a failure at stage ${stage}`);
}

describe('bootDevice() on a hand-built ESP32-C3 device', () => {
  let dev: HandBuiltDevice;
  let keys: KeyCrypto;
  before(async () => {
    keys = await loadNodeKeyCrypto();
    dev = await buildHandMadeDevice();
  });

  it('runs every stage in order and reports the identity OpenSSL sees in the certificates', async () => {
    const booted = await bootDevice({ flash: new MemoryFlash(dev.flash), efuse: dev.efuse, crypto: nodeCrypto, keys });
    try {
      const r = booted.report;
      assert.deepEqual(
        r.stages.map((s) => s.stage),
        [...BOOT_STAGES],
      );
      assert.equal(r.identity.deviceId, DEVICE_ID);
      assert.equal(r.identity.certificate.subject, dev.device.subject);
      assert.equal(r.identity.certificate.issuer, dev.device.issuer);
      assert.equal(r.identity.certificate.serial, dev.device.serial);
      assert.deepEqual(
        r.identity.chain.map((c) => [c.label, c.subject, c.serial]),
        [
          ['Device Cert', dev.device.subject, dev.device.serial],
          ['JITP Cert', dev.jitp.subject, dev.jitp.serial],
          ['Root Cert', dev.root.subject, dev.root.serial],
        ],
      );
      assert.equal(r.identity.chainComplete, true);
      assert.equal(r.identity.keyMatchesCertificate, true);
      assert.equal(r.secureBoot.enabled, true);
      assert.equal(r.secureBoot.trustedSlot, 0);
      assert.deepEqual(r.flashEncryption, { enabled: true, releaseMode: true });
      assert.equal(r.app.version, '1.0.0');
      assert.equal(r.token.loggedIn, false);
      assert.equal(r.nvSeed.changed, true);
      // Not logged in: the private key is not visible, the public objects are.
      assert.ok(!r.token.objects.some((o) => o.startsWith('Device Priv TLS Key')));
      assert.ok(r.token.objects.includes('Device Cert (certificate)'));
    } finally {
      booted.close();
    }
  });

  it('logs in and shows the private key only when a PIN is given', async () => {
    const booted = await bootDevice({ flash: new MemoryFlash(dev.flash), efuse: dev.efuse, crypto: nodeCrypto, keys, pin: USER_PIN });
    try {
      assert.equal(booted.report.token.loggedIn, true);
      assert.ok(booted.report.token.objects.includes('Device Priv TLS Key (private-key)'));
    } finally {
      booted.close();
    }
  });

  it('fails at stage token with the PIN error for a wrong PIN', async () => {
    const e = await expectBootFailure(bootDevice({ flash: new MemoryFlash(dev.flash), efuse: dev.efuse, crypto: nodeCrypto, keys, pin: 'wrong-pin' }), 'token');
    assert.match(e.message, /CKR_PIN_INCORRECT/);
  });

  it('refuses a tampered app at stage secure-boot', async () => {
    const flash = new MemoryFlash(dev.flash);
    flash.bytes[APP.offset + 0x200]! ^= 0x01; // one ciphertext bit inside the signed region
    const e = await expectBootFailure(bootDevice({ flash, efuse: dev.efuse, crypto: nodeCrypto, keys }), 'secure-boot');
    assert.equal((e.cause as NvsecError).code, 'DEVICE_APP_REJECTED');
    assert.match(e.message, /digest does not match/);
  });

  it('refuses an app signed by a key the eFuses do not trust, at stage secure-boot', async () => {
    const other = readSigningKey(generateSigningKey('rsa3072')).signer!;
    const { image } = await signImage(nodeCrypto, appImage('6.6.6'), [other]);
    const flash = new MemoryFlash(dev.flash);
    // Written with the device's own flash encryption (as a malicious update would be), bypassing reprogramApp's check.
    const { encryptFlashData } = await import('../../src/boot/flash-encryption.js');
    for (let s = 0; s < APP.size / 4096; s++) flash.eraseSector(APP.offset / 4096 + s);
    flash.write(APP.offset, encryptFlashData(nodeCrypto, dev.xtsKey, image, APP.offset, { aesXts: true }));
    const e = await expectBootFailure(bootDevice({ flash, efuse: dev.efuse, crypto: nodeCrypto, keys }), 'secure-boot');
    assert.match(e.message, /matches no burned eFuse digest/);
  });

  it('fails at stage nvs-init with the cause when the keys partition holds other keys, and leaves the flash unchanged', async () => {
    const wrong = await buildHandMadeDevice({ keysPartitionKeys: generateNvsKeys(nodeCrypto) });
    const flash = new MemoryFlash(wrong.flash);
    const e = await expectBootFailure(bootDevice({ flash, efuse: wrong.efuse, crypto: nodeCrypto, keys }), 'nvs-init');
    assert.equal((e.cause as NvsecError).code, 'DEVICE_NVS_UNREADABLE');
    assert.match(e.message, /wrong-key/);
    assert.match(e.message, /do not open NVS partition "nvs"/);
    assert.deepEqual(flash.bytes, wrong.flash, 'the flash is unchanged');
    assert.equal(flash.stats.writes + flash.stats.erases, 0);
  });

  it('fails at stage partition-table on a flash with an erased table', async () => {
    const flash = new MemoryFlash(dev.flash);
    flash.bytes.fill(0xff, 0x8000, 0x9000);
    await expectBootFailure(bootDevice({ flash, efuse: dev.efuse, crypto: nodeCrypto, keys }), 'partition-table');
  });

  it('sees a different NV seed on the second boot: the first boot refreshed it', async () => {
    const flash = new MemoryFlash(dev.flash);
    const first = await bootDevice({ flash, efuse: dev.efuse, crypto: nodeCrypto, keys });
    first.close();
    const second = await bootDevice({ flash, efuse: dev.efuse, crypto: nodeCrypto, keys });
    second.close();
    assert.equal(first.report.nvSeed.changed, true);
    assert.equal(second.report.nvSeed.before, first.report.nvSeed.after);
    assert.notEqual(second.report.nvSeed.before, first.report.nvSeed.before);
    assert.notEqual(second.report.nvSeed.after, second.report.nvSeed.before);
  });

  it('keeps the credentials when the app is reprogrammed with a new signed app', async () => {
    const flash = new MemoryFlash(dev.flash);
    const nvsBefore = flash.bytes.slice(0x9000, 0x10000);
    const v2 = await dev.signApp('2.0.0');
    await reprogramApp(flash, dev.efuse, v2, nodeCrypto);
    assert.notDeepEqual(flash.bytes.subarray(APP.offset, APP.offset + v2.length), dev.flash.subarray(APP.offset, APP.offset + v2.length));
    assert.deepEqual(flash.bytes.slice(0x9000, 0x10000), nvsBefore, 'nvs and nvs_keys untouched');
    const booted = await bootDevice({ flash, efuse: dev.efuse, crypto: nodeCrypto, keys, pin: USER_PIN });
    try {
      assert.equal(booted.report.app.version, '2.0.0');
      assert.equal(booted.report.identity.deviceId, DEVICE_ID);
      assert.equal(booted.report.identity.certificate.serial, dev.device.serial);
      assert.ok(booted.report.token.objects.includes('Device Priv TLS Key (private-key)'));
    } finally {
      booted.close();
    }
  });

  it('fails at stage identity when the device certificate holds another key than the token', async () => {
    const flash = new MemoryFlash(dev.flash);
    const booted = await bootDevice({ flash, efuse: dev.efuse, crypto: nodeCrypto, keys, pin: USER_PIN });
    const other = new Uint8Array(
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', `/CN=${DEVICE_ID}`, '-days', '1', '-outform', 'DER'], { stdio: ['ignore', 'pipe', 'ignore'] }),
    );
    const rw = TokenSession.open(booted.token, { readWrite: true });
    rw.importCertificate(other, { label: 'Device Cert' }); // replaces the right one
    rw.close();
    booted.close();
    const e = await expectBootFailure(bootDevice({ flash, efuse: dev.efuse, crypto: nodeCrypto, keys }), 'identity');
    assert.equal((e.cause as NvsecError).code, 'DEVICE_CERT_KEY_MISMATCH');
  });

  it('reprogramApp() refuses an app the eFuses do not trust and writes nothing', async () => {
    const other = readSigningKey(generateSigningKey('rsa3072')).signer!;
    const { image } = await signImage(nodeCrypto, appImage('9.9.9'), [other]);
    const flash = new MemoryFlash(dev.flash);
    await assert.rejects(reprogramApp(flash, dev.efuse, image, nodeCrypto), (e: unknown) => e instanceof NvsecError && e.code === 'DEVICE_APP_REJECTED');
    assert.deepEqual(flash.bytes, dev.flash);
  });
});
