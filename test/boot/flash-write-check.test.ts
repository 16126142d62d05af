import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Efuse } from '../../src/boot/efuse.js';
import { checkFlashWrites } from '../../src/boot/flash-write-check.js';
import { APP_TYPE, DATA_TYPE, SUBTYPES } from '../../src/partition-table/constants.js';
import { NO_FLAGS, type PartitionEntry } from '../../src/partition-table/partition-entry.js';
import { NO_VECTORS, vectorDir } from '../_support/vectors.js';

const DATA = SUBTYPES[DATA_TYPE]!;
const entry = (name: string, type: number, subtype: number, offset: number, size: number, encrypted = false): PartitionEntry => ({
  name,
  type,
  subtype,
  offset,
  size,
  flags: { ...NO_FLAGS, encrypted },
});
/** The layout of the XTS-AES-128 vector: nvs_keys at 0x12000, the app at 0x10000 (a factory slot). */
const PARTITIONS = [
  entry('nvs', DATA_TYPE, DATA['nvs']!, 0x9000, 0x6000),
  entry('phy_init', DATA_TYPE, DATA['phy']!, 0xf000, 0x1000),
  entry('factory', APP_TYPE, 0, 0x10000, 0x100000),
  entry('nvs_keys', DATA_TYPE, DATA['nvs_keys']!, 0x12000 + 0x100000, 0x1000),
  entry('secrets', 0x40, 0x01, 0x200000, 0x1000, true),
];
const read = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(vectorDir('boot', 'flash-enc-xts-aes128-esp32c3'), name)));

function c3(encryption: boolean): Efuse {
  const e = Efuse.create('esp32c3');
  e.burnKey('BLOCK_KEY0', read('fe_key_xts128_256bit.bin'), 'XTS_AES_128_KEY');
  if (encryption) e.enableFlashEncryption();
  return e;
}

describe('checkFlashWrites()', { skip: NO_VECTORS }, () => {
  // The vector's nvs_keys partition lives at 0x12000; give it that address in this layout.
  const layout = { partitions: PARTITIONS.map((p) => (p.name === 'nvs_keys' ? { ...p, offset: 0x12000 } : p)).filter((p) => p.name !== 'factory') };

  it('warns when a plaintext nvs_keys partition goes to flash-encrypted nvs_keys, naming ESP_ERR_NVS_CORRUPT_KEY_PART', () => {
    const w = checkFlashWrites(c3(true), layout, [{ address: 0x12000, data: read('nvs_keys_plain.bin'), name: 'nvs_keys.bin' }]);
    assert.equal(w.length, 1);
    assert.equal(w[0]!.code, 'PLAINTEXT_TO_ENCRYPTED_REGION');
    assert.equal(w[0]!.region, '"nvs_keys"');
    assert.match(w[0]!.message, /nvs_keys\.bin is plaintext.*SPI_BOOT_CRYPT_CNT = 1.*ESP_ERR_NVS_CORRUPT_KEY_PART.*--encrypt/);
  });

  it('passes the same keys once encrypted (espsecure output), written with --encrypt, or with flash encryption off', () => {
    assert.deepEqual(checkFlashWrites(c3(true), layout, [{ address: 0x12000, data: read('nvs_keys_enc_0x12000.bin') }]), []);
    assert.deepEqual(checkFlashWrites(c3(true), layout, [{ address: 0x12000, data: read('nvs_keys_plain.bin'), encrypt: true }]), []);
    assert.deepEqual(checkFlashWrites(c3(false), layout, [{ address: 0x12000, data: read('nvs_keys_plain.bin') }]), []);
    const released = c3(false);
    released.enableFlashEncryption();
    released.disableFlashEncryption(); // development mode turned off again: CRYPT_CNT has an even count
    assert.deepEqual(checkFlashWrites(released, layout, [{ address: 0x12000, data: read('nvs_keys_plain.bin') }]), []);
  });

  it('recognises plaintext apps, bootloaders and partition tables, and lets ciphertext and erased data pass', () => {
    const layoutApp = { partitions: PARTITIONS };
    const app = read('plain.bin');
    const w = checkFlashWrites(c3(true), layoutApp, [
      { address: 0x10000, data: app, name: 'app.bin' },
      { address: 0x0, data: app.subarray(0, 0x1000), name: 'bootloader.bin' },
      { address: 0x8000, data: new Uint8Array([0xaa, 0x50, 1, 2, ...new Uint8Array(28)]), name: 'partition-table.bin' },
      { address: 0x10000 + app.length, data: new Uint8Array(0x1000).fill(0xff), name: 'erase' },
      { address: 0x20000, data: app.subarray(0x1000, 0x2000), name: 'tail.bin' }, // inside the app: cannot tell
    ]);
    assert.deepEqual(
      w.map((x) => [x.code, x.region]),
      [
        ['PLAINTEXT_TO_ENCRYPTED_REGION', '"factory"'],
        ['PLAINTEXT_TO_ENCRYPTED_REGION', 'bootloader'],
        ['PLAINTEXT_TO_ENCRYPTED_REGION', 'partition table'],
        ['UNKNOWN_TO_ENCRYPTED_REGION', '"factory"'],
      ],
    );
    // The same app encrypted by espsecure for 0x10000, written at the partition start, passes.
    assert.deepEqual(checkFlashWrites(c3(true), layoutApp, [{ address: 0x10000, data: read('enc_0x10000.bin') }]), []);
  });

  it('treats a keys partition with a broken CRC but plaintext 0xFF padding as plaintext', () => {
    const keys = read('nvs_keys_plain.bin').slice();
    keys[3]! ^= 0xff; // a corrupted key: the CRC fails, the padding still gives it away
    const w = checkFlashWrites(c3(true), layout, [{ address: 0x12000, data: keys }]);
    assert.deepEqual(w.map((x) => x.code), ['PLAINTEXT_TO_ENCRYPTED_REGION']);
  });

  it('cannot classify a custom encrypted partition, so says it may be plaintext; and flags --encrypt into NVS', () => {
    const w = checkFlashWrites(c3(true), { partitions: PARTITIONS }, [
      { address: 0x200000, data: new Uint8Array(64).fill(7), name: 'secrets.bin' },
      { address: 0x9000, data: new Uint8Array(64).fill(1), name: 'nvs.bin', encrypt: true },
      { address: 0x9000, data: new Uint8Array(64).fill(1), name: 'nvs.bin' },
    ]);
    assert.deepEqual(
      w.map((x) => [x.code, x.region]),
      [
        ['UNKNOWN_TO_ENCRYPTED_REGION', '"secrets"'],
        ['ENCRYPTED_TO_PLAIN_REGION', '"nvs"'],
      ],
    );
  });
});
