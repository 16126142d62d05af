import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SECTOR_SIZE } from '../../src/flash/flash.js';
import { FlashError } from '../../src/flash/flash-error.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';

const read = (flash: MemoryFlash, address: number, length: number): Uint8Array => {
  const out = new Uint8Array(length);
  flash.read(address, out);
  return out;
};

describe('MemoryFlash', () => {
  it('starts erased and an erase sets every byte of the sector to 0xFF', () => {
    const flash = new MemoryFlash(2 * SECTOR_SIZE);
    assert.ok(flash.bytes.every((b) => b === 0xff));
    flash.write(SECTOR_SIZE + 10, Uint8Array.of(0x00, 0x12));
    flash.write(10, Uint8Array.of(0x00));
    flash.eraseSector(1);
    assert.ok(read(flash, SECTOR_SIZE, SECTOR_SIZE).every((b) => b === 0xff));
    assert.equal(read(flash, 10, 1)[0], 0x00, 'the other sector keeps its data');
  });

  it('programs a write that only clears bits, including a second write over the same bytes', () => {
    const flash = new MemoryFlash(SECTOR_SIZE);
    flash.write(0x20, Uint8Array.of(0xf0, 0x0f));
    flash.write(0x20, Uint8Array.of(0x30, 0x0e));
    assert.deepEqual(read(flash, 0x1f, 4), Uint8Array.of(0xff, 0x30, 0x0e, 0xff));
  });

  it('refuses a write that sets a 0 bit back to 1 with a FlashError naming the hex address', () => {
    const flash = new MemoryFlash(SECTOR_SIZE);
    flash.write(0xabc, Uint8Array.of(0x0f));
    assert.throws(
      () => flash.write(0xabb, Uint8Array.of(0xff, 0x1f)),
      (e: unknown) => {
        assert.ok(e instanceof FlashError);
        assert.equal(e.code, 'FLASH_SETS_BITS');
        assert.match(e.message, /0xabc\b/);
        return true;
      },
    );
    assert.equal(flash.bytes[0xabc], 0x0f, 'the refused write changes nothing');
  });

  it('throws FLASH_OUT_OF_BOUNDS for reads, writes and erases outside the flash', () => {
    const flash = new MemoryFlash(SECTOR_SIZE);
    const oob = (e: unknown) => e instanceof FlashError && e.code === 'FLASH_OUT_OF_BOUNDS';
    assert.throws(() => flash.read(SECTOR_SIZE - 1, new Uint8Array(2)), oob);
    assert.throws(() => flash.read(-1, new Uint8Array(1)), oob);
    assert.throws(() => flash.write(SECTOR_SIZE, Uint8Array.of(0)), oob);
    assert.throws(() => flash.eraseSector(1), oob);
    assert.throws(() => flash.eraseSector(-1), oob);
  });

  it('refuses a size that is not a positive multiple of the sector size', () => {
    for (const size of [0, 100, SECTOR_SIZE + 1]) {
      assert.throws(
        () => new MemoryFlash(size),
        (e: unknown) => e instanceof FlashError && e.code === 'FLASH_BAD_SIZE',
      );
    }
  });

  it('counts reads, writes, erases, bytes and per-sector erases in its stats', () => {
    const flash = new MemoryFlash(3 * SECTOR_SIZE);
    flash.read(0, new Uint8Array(8));
    flash.read(16, new Uint8Array(4));
    flash.write(0, new Uint8Array(5));
    flash.eraseSector(2);
    flash.eraseSector(2);
    flash.eraseSector(0);
    const s = flash.stats;
    assert.deepEqual(
      {
        reads: s.reads,
        writes: s.writes,
        erases: s.erases,
        bytesRead: s.bytesRead,
        bytesWritten: s.bytesWritten,
      },
      { reads: 2, writes: 1, erases: 3, bytesRead: 12, bytesWritten: 5 },
    );
    assert.deepEqual([...s.eraseCounts], [1, 0, 2]);
    assert.equal(s.maxEraseCount(), 2);
    s.reset();
    assert.equal(s.reads + s.writes + s.erases + s.bytesRead + s.bytesWritten + s.maxEraseCount(), 0);
  });

  it('copies an image it is constructed from instead of sharing it', () => {
    const image = new Uint8Array(SECTOR_SIZE).fill(0xff);
    image[7] = 0x42;
    const flash = new MemoryFlash(image);
    assert.equal(flash.size, SECTOR_SIZE);
    assert.equal(read(flash, 7, 1)[0], 0x42);
    flash.write(0, Uint8Array.of(0x00));
    image[8] = 0x00;
    assert.equal(image[0], 0xff, 'writing the flash leaves the image alone');
    assert.equal(read(flash, 8, 1)[0], 0xff, 'changing the image leaves the flash alone');
  });
});
