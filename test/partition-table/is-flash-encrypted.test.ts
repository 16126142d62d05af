import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFlashEncrypted } from '../../src/partition-table/index.js';

const p = (type: number, subtype: number, encrypted = false) => ({ type, subtype, flags: { encrypted, readonly: false } });

describe('isFlashEncrypted (spec §3.1)', () => {
  it('encrypts every app partition, flagged or not', () => {
    for (const subtype of [0x00, 0x10, 0x1f, 0x20, 0x30]) assert.equal(isFlashEncrypted(p(0, subtype)), true, `app/${subtype}`);
  });

  it('encrypts the bootloader and partition_table types', () => {
    assert.equal(isFlashEncrypted(p(2, 0)), true);
    assert.equal(isFlashEncrypted(p(2, 1)), true);
    assert.equal(isFlashEncrypted(p(3, 0)), true);
  });

  it('encrypts data/ota, data/nvs_keys and data/tee_ota without the flag', () => {
    assert.equal(isFlashEncrypted(p(1, 0x00)), true);
    assert.equal(isFlashEncrypted(p(1, 0x04)), true);
    assert.equal(isFlashEncrypted(p(1, 0x90)), true);
  });

  it('never encrypts plain data/nvs, even with the encrypted flag', () => {
    assert.equal(isFlashEncrypted(p(1, 0x02)), false);
    assert.equal(isFlashEncrypted(p(1, 0x02, true)), false);
  });

  it('encrypts other data and custom partitions only when flagged', () => {
    for (const [type, subtype] of [[1, 0x01], [1, 0x03], [1, 0x81], [1, 0x82], [0x40, 0x01]] as const) {
      assert.equal(isFlashEncrypted(p(type, subtype)), false, `${type}/${subtype}`);
      assert.equal(isFlashEncrypted(p(type, subtype, true)), true, `${type}/${subtype} encrypted`);
    }
  });
});
