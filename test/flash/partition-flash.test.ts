import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { PartitionFlash } from '../../src/flash/partition-flash.js';

describe('PartitionFlash', () => {
  it('maps addresses and sectors onto its window of the flash', () => {
    const whole = new MemoryFlash(0x10000);
    const p = new PartitionFlash(whole, 0x3000, 0x2000);
    p.write(0x1ffe, Uint8Array.of(0x12, 0x34));
    assert.deepEqual([...whole.bytes.subarray(0x4ffe, 0x5000)], [0x12, 0x34]);
    const back = new Uint8Array(2);
    p.read(0x1ffe, back);
    assert.deepEqual([...back], [0x12, 0x34]);
    p.eraseSector(1);
    assert.deepEqual([...whole.bytes.subarray(0x4ffe, 0x5000)], [0xff, 0xff]);
  });

  it('refuses every access outside its window, and windows that are not whole sectors inside the flash', () => {
    const whole = new MemoryFlash(0x10000);
    const p = new PartitionFlash(whole, 0x3000, 0x2000);
    assert.throws(() => p.read(0x1fff, new Uint8Array(2)), { code: 'FLASH_OUT_OF_BOUNDS' });
    assert.throws(() => p.write(-1, new Uint8Array(1)), { code: 'FLASH_OUT_OF_BOUNDS' });
    assert.throws(() => p.eraseSector(2), { code: 'FLASH_OUT_OF_BOUNDS' });
    assert.throws(() => new PartitionFlash(whole, 0x3100, 0x1000), { code: 'FLASH_BAD_SIZE' });
    assert.throws(() => new PartitionFlash(whole, 0xf000, 0x2000), { code: 'FLASH_BAD_SIZE' });
    assert.deepEqual(whole.stats.erases, 0);
  });
});
