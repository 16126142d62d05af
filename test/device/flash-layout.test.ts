import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePartitionTable } from '../../src/partition-table/binary.js';
import { decryptFlashData } from '../../src/boot/flash-encryption.js';
import { buildDeviceFlash } from '../../src/device/device-image.js';
import { DEFAULT_FLASH_SIZE, defaultFlashLayout, flashLayoutFromCsv, partitionNamed } from '../../src/device/flash-layout.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';

describe('defaultFlashLayout()', () => {
  it('is the issue 7 layout: ESP32-C3, 2 MiB, table at 0x8000, nvs / encrypted nvs_keys / encrypted 1 MiB factory app', () => {
    const l = defaultFlashLayout();
    assert.equal(l.chip, 'esp32c3');
    assert.equal(l.flashSize, 0x200000);
    assert.equal(DEFAULT_FLASH_SIZE, 0x200000);
    assert.equal(l.tableOffset, 0x8000);
    assert.deepEqual(
      l.entries.map((e) => [e.name, e.type, e.subtype, e.offset, e.size, e.flags.encrypted]),
      [
        ['nvs', 1, 0x02, 0x9000, 0x6000, false],
        ['nvs_keys', 1, 0x04, 0xf000, 0x1000, true],
        ['factory', 0, 0x00, 0x10000, 0x100000, true],
      ],
    );
  });

  it('refuses a layout that does not fit its flash', () => {
    assert.throws(() => flashLayoutFromCsv('tiny', 'esp32c3', 0x100000, defaultFlashLayout().csv));
  });
});

describe('buildDeviceFlash()', () => {
  const layout = defaultFlashLayout();
  const key = nodeCrypto.randomBytes(32);
  const app = new Uint8Array(0x2000).fill(0x5a);
  const nvs = new Uint8Array(0x6000).fill(0x11);
  const keys = new Uint8Array(0x1000).fill(0x22);
  const flash = buildDeviceFlash({ crypto: nodeCrypto, chip: 'esp32c3', appImage: app, nvsPartition: nvs, nvsKeysPartition: keys, flashEncryptionKey: key, layout });
  const dec = (at: number, len: number): Uint8Array => decryptFlashData(nodeCrypto, key, flash.subarray(at, at + len), at, { aesXts: true });

  it('writes nvs plain and encrypts the table, nvs_keys and the app at their own addresses', () => {
    assert.equal(flash.length, 0x200000);
    assert.deepEqual(flash.subarray(0x9000, 0xf000), nvs);
    assert.notDeepEqual(flash.subarray(0xf000, 0x10000), keys);
    assert.deepEqual(dec(0xf000, 0x1000), keys);
    assert.deepEqual(dec(0x10000, app.length), app);
    assert.deepEqual(decodePartitionTable(dec(0x8000, 0xc00), nodeCrypto).entries.map((e) => e.name), ['nvs', 'nvs_keys', 'factory']);
    assert.ok(flash.subarray(0x10000 + app.length, 0x110000).every((b) => b === 0xff), 'the rest of the app partition stays erased');
    assert.ok(flash.subarray(0, 0x8000).every((b) => b === 0xff));
  });

  it('refuses an image larger than its partition', () => {
    assert.throws(
      () => buildDeviceFlash({ crypto: nodeCrypto, chip: 'esp32c3', appImage: app, nvsPartition: new Uint8Array(0x7000), nvsKeysPartition: keys, flashEncryptionKey: key, layout }),
      /nvsPartition.*holds 24576/,
    );
    assert.equal(partitionNamed(layout, 'nvs').size, 0x6000);
  });
});
