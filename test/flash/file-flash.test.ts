import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { SECTOR_SIZE } from '../../src/flash/flash.js';
import { FlashError } from '../../src/flash/flash-error.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { FileFlash } from '../../src/node/file-flash.js';

let dir = '';
let counter = 0;
/** A fresh path in the test's temporary folder. */
const tmpFile = (): string => path.join(dir, `flash-${++counter}.bin`);

const open: FileFlash[] = [];
/** Opens and remembers the flash so that `after` closes it even when a test fails. */
const openFlash = (file: string, options?: Parameters<typeof FileFlash.open>[1]): FileFlash => {
  const flash = FileFlash.open(file, options);
  open.push(flash);
  return flash;
};

const readBack = (flash: FileFlash, address: number, length: number): Uint8Array => {
  const out = new Uint8Array(length);
  flash.read(address, out);
  return out;
};

const isCode = (code: string) => (e: unknown) => e instanceof NvsecError && e.code === code;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-file-flash-'));
});

after(() => {
  for (const flash of open) flash.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('FileFlash', () => {
  it('creates a missing image as an erased file of the requested size', () => {
    const file = tmpFile();
    const flash = openFlash(file, { create: 3 * SECTOR_SIZE });
    assert.equal(flash.size, 3 * SECTOR_SIZE);
    assert.equal(flash.sectorSize, SECTOR_SIZE);
    const bytes = fs.readFileSync(file);
    assert.equal(bytes.length, 3 * SECTOR_SIZE);
    assert.ok(bytes.every((b) => b === 0xff));
  });

  it('opens an existing image as it is even when create is given', () => {
    const file = tmpFile();
    const image = new Uint8Array(2 * SECTOR_SIZE).fill(0x5a);
    fs.writeFileSync(file, image);
    const flash = openFlash(file, { create: 4 * SECTOR_SIZE });
    assert.equal(flash.size, 2 * SECTOR_SIZE);
    assert.deepEqual(readBack(flash, 0, 4), Uint8Array.of(0x5a, 0x5a, 0x5a, 0x5a));
  });

  it('sets every byte of an erased sector to 0xFF in the file and leaves the other sectors alone', () => {
    const file = tmpFile();
    fs.writeFileSync(file, new Uint8Array(2 * SECTOR_SIZE).fill(0x11));
    const flash = openFlash(file);
    flash.eraseSector(1);
    assert.ok(readBack(flash, SECTOR_SIZE, SECTOR_SIZE).every((b) => b === 0xff));
    const onDisk = fs.readFileSync(file);
    assert.ok(onDisk.subarray(SECTOR_SIZE).every((b) => b === 0xff));
    assert.ok(onDisk.subarray(0, SECTOR_SIZE).every((b) => b === 0x11));
  });

  it('programs a write that only clears bits, including a second write over the same bytes', () => {
    const flash = openFlash(tmpFile(), { create: SECTOR_SIZE });
    flash.write(0x20, Uint8Array.of(0xf0, 0x0f));
    flash.write(0x20, Uint8Array.of(0x30, 0x0e));
    assert.deepEqual(readBack(flash, 0x1f, 4), Uint8Array.of(0xff, 0x30, 0x0e, 0xff));
  });

  it('refuses a write that sets a 0 bit back to 1 with a FlashError naming the hex address, changing nothing', () => {
    const file = tmpFile();
    const flash = openFlash(file, { create: SECTOR_SIZE });
    flash.write(0xabc, Uint8Array.of(0x0f));
    assert.throws(
      () => flash.write(0xabb, Uint8Array.of(0x00, 0x1f)),
      (e: unknown) => {
        assert.ok(e instanceof FlashError);
        assert.equal(e.code, 'FLASH_SETS_BITS');
        assert.match(e.message, /0xabc\b/);
        return true;
      },
    );
    const onDisk = fs.readFileSync(file);
    assert.equal(onDisk[0xabb], 0xff, 'no byte of the refused write reaches the file');
    assert.equal(onDisk[0xabc], 0x0f);
  });

  it('throws FLASH_OUT_OF_BOUNDS for reads, writes and erases outside the flash', () => {
    const flash = openFlash(tmpFile(), { create: SECTOR_SIZE });
    const oob = isCode('FLASH_OUT_OF_BOUNDS');
    assert.throws(() => flash.read(SECTOR_SIZE - 1, new Uint8Array(2)), oob);
    assert.throws(() => flash.read(-1, new Uint8Array(1)), oob);
    assert.throws(() => flash.write(SECTOR_SIZE, Uint8Array.of(0)), oob);
    assert.throws(() => flash.eraseSector(1), oob);
    assert.throws(() => flash.eraseSector(-1), oob);
    assert.throws(() => flash.eraseSector(0.5), oob);
    assert.equal(fs.statSync(flash.path).size, SECTOR_SIZE, 'the file does not grow');
  });

  it('keeps the same stats as MemoryFlash for the same operations, not counting its own read-before-write', () => {
    const file = openFlash(tmpFile(), { create: 3 * SECTOR_SIZE });
    const memory = new MemoryFlash(3 * SECTOR_SIZE);
    for (const flash of [file, memory]) {
      flash.read(0, new Uint8Array(8));
      flash.write(0, new Uint8Array(5));
      flash.write(100, Uint8Array.of(1, 2, 3));
      flash.eraseSector(2);
      flash.eraseSector(2);
      flash.eraseSector(0);
    }
    const pick = (f: FileFlash | MemoryFlash) => ({
      reads: f.stats.reads,
      writes: f.stats.writes,
      erases: f.stats.erases,
      bytesRead: f.stats.bytesRead,
      bytesWritten: f.stats.bytesWritten,
      eraseCounts: [...f.stats.eraseCounts],
    });
    assert.deepEqual(pick(file), {
      reads: 1,
      writes: 2,
      erases: 3,
      bytesRead: 8,
      bytesWritten: 8,
      eraseCounts: [1, 0, 2],
    });
    assert.deepEqual(pick(file), pick(memory));
  });

  it('persists writes and erases across close and reopen', () => {
    const file = tmpFile();
    const first = FileFlash.open(file, { create: 2 * SECTOR_SIZE });
    first.write(SECTOR_SIZE + 3, Uint8Array.of(0xde, 0xad));
    first.write(7, Uint8Array.of(0x00));
    first.eraseSector(0);
    first.sync();
    first.close();
    const second = openFlash(file);
    assert.equal(second.size, 2 * SECTOR_SIZE);
    assert.deepEqual(readBack(second, SECTOR_SIZE + 2, 4), Uint8Array.of(0xff, 0xde, 0xad, 0xff));
    assert.equal(readBack(second, 7, 1)[0], 0xff);
    assert.equal(second.stats.writes, 0, 'a reopened flash starts with fresh stats');
  });

  it('refuses an image whose length is not a positive multiple of 4096 with FLASH_BAD_SIZE', () => {
    for (const length of [SECTOR_SIZE + 1, 100, 0]) {
      const file = tmpFile();
      fs.writeFileSync(file, new Uint8Array(length));
      assert.throws(
        () => openFlash(file),
        (e: unknown) => {
          assert.ok(e instanceof FlashError);
          assert.equal(e.code, 'FLASH_BAD_SIZE');
          assert.match(e.message, new RegExp(`is ${length} bytes, not a positive multiple of 4096`));
          return true;
        },
      );
    }
  });

  it('refuses to create an image whose size is not a positive multiple of 4096 and creates no file', () => {
    for (const size of [SECTOR_SIZE - 1, 0, -SECTOR_SIZE, 1.5 * SECTOR_SIZE]) {
      const file = tmpFile();
      assert.throws(() => openFlash(file, { create: size }), isCode('FLASH_BAD_SIZE'));
      assert.equal(fs.existsSync(file), false);
    }
  });

  it('throws the file system error for a missing image when create is not given', () => {
    assert.throws(
      () => openFlash(tmpFile()),
      (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT',
    );
  });

  it('reads a read-only image but refuses writes and erases with FLASH_READ_ONLY, leaving the file unchanged', () => {
    const file = tmpFile();
    const image = Uint8Array.from({ length: SECTOR_SIZE }, (_, i) => i & 0xff);
    fs.writeFileSync(file, image);
    const flash = openFlash(file, { readOnly: true });
    assert.equal(flash.readOnly, true);
    assert.deepEqual(readBack(flash, 0, 4), Uint8Array.of(0, 1, 2, 3));
    assert.throws(
      () => flash.write(0x10, Uint8Array.of(0x00)),
      (e: unknown) => isCode('FLASH_READ_ONLY')(e) && /read-only/.test((e as Error).message),
    );
    assert.throws(() => flash.eraseSector(0), isCode('FLASH_READ_ONLY'));
    assert.equal(flash.stats.writes + flash.stats.erases, 0);
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), image);
  });

  it('throws FLASH_CLOSED on any access after close, and a second close does nothing', () => {
    const flash = FileFlash.open(tmpFile(), { create: SECTOR_SIZE });
    flash.close();
    flash.close();
    const closed = isCode('FLASH_CLOSED');
    assert.throws(() => flash.read(0, new Uint8Array(1)), closed);
    assert.throws(() => flash.write(0, Uint8Array.of(0)), closed);
    assert.throws(() => flash.eraseSector(0), closed);
    assert.throws(() => flash.sync(), closed);
  });
});
