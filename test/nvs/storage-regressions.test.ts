// Regressions found by the image fuzzer (npm run fuzz); each reproduces the original finding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32le } from '../../src/bytes/crc32.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { PageState } from '../../src/nvs/format/constants.js';
import { encodeBlobIndexData, encodeEntry, encodeFixedValue, encodeKey, encodeVarLengthData, writeU32 } from '../../src/nvs/format/entry.js';
import { encodePageHeader } from '../../src/nvs/format/page-header.js';
import { readNvsPartition } from '../../src/nvs/inspect.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';

const espError = (code: string) => (e: unknown) => (e as { code?: string }).code === code;

/** Writes items on page 0 of `flash` (FULL, sequence 0) with every used entry marked WRITTEN. */
function craftPage(flash: MemoryFlash, items: { ns: number; type: number; key: string; data: Uint8Array; payload?: Uint8Array; chunk?: number }[]): void {
  const b = flash.bytes;
  b.set(encodePageHeader(PageState.FULL, 0, 0xfe), 0);
  let e = 0;
  for (const it of items) {
    const span = it.payload ? 1 + Math.ceil(it.payload.length / 32) : 1;
    const off = 64 + e * 32;
    encodeEntry(b, off, it.ns, it.type, span, it.chunk ?? 0xff, encodeKey(it.key), it.data);
    if (it.payload) b.set(it.payload, off + 32);
    e += span;
  }
  for (let i = 0; i < e; i++) b[32 + (i >> 2)]! &= ~(1 << ((i & 3) * 2));
}

describe('NvsStorage regressions', () => {
  it('does not count an entry as erased twice', () => {
    const img = new Uint8Array(4096);
    img.set(encodePageHeader(PageState.ACTIVE, 0, 0xfe), 0);
    img.fill(0xaa, 32, 63);
    img[63] = 0xfa; // all 126 entries WRITTEN, every entry zero (fails its CRC)
    const page = readNvsPartition(img).pages[0]!;
    assert.equal(page.usedEntries + page.erasedEntries, 126);
  });

  it('writes back the bitmap bits of the nonexistent entries 126 and 127 as they are on flash', () => {
    const flash = new MemoryFlash(3 * 4096);
    const h = NvsStorage.init(flash).open('ns', 'readwrite');
    for (let i = 0; i < 112; i++) h.setU8(`k${i}`, 1);
    flash.bytes[63]! &= 0x0f;
    assert.doesNotThrow(() => NvsStorage.init(flash).open('ns', 'readwrite').setU8('x', 1));
  });

  it('rolls back a failed blob write even when garbage collection moved its chunks', () => {
    const h = NvsStorage.init(new MemoryFlash(3 * 4096)).open('ns', 'readwrite');
    h.setU8('k0', 1);
    h.setU8('k1', 1);
    h.setU8('k2', 1);
    h.eraseKey('k0');
    h.eraseKey('k2');
    assert.throws(() => h.setBlob('b', new Uint8Array(7900)), espError('ESP_ERR_NVS_NOT_ENOUGH_SPACE'));
    h.setBlob('b', new Uint8Array(100).fill(7));
    assert.deepEqual(h.getBlob('b'), new Uint8Array(100).fill(7));
  });

  it('writes a blob over a key whose page also holds a string of the same name (as ESP-IDF can leave it)', () => {
    const flash = new MemoryFlash(3 * 4096);
    const str = new TextEncoder().encode('old\0');
    const blob = Uint8Array.of(1, 2, 3);
    craftPage(flash, [
      { ns: 0, type: 0x01, key: 'ns', data: encodeFixedValue(0x01, 1) },
      { ns: 1, type: 0x21, key: 'k', data: encodeVarLengthData(str.length, crc32le(str)), payload: str },
      { ns: 1, type: 0x42, key: 'k', chunk: 0, data: encodeVarLengthData(3, crc32le(blob)), payload: blob },
      { ns: 1, type: 0x48, key: 'k', data: encodeBlobIndexData(3, 1, 0) },
    ]);
    NvsStorage.init(flash).open('ns', 'readwrite').setBlob('k', Uint8Array.of(9, 9));
    const again = NvsStorage.init(flash).open('ns');
    assert.deepEqual(again.getBlob('k'), Uint8Array.of(9, 9));
    assert.equal(again.findKey('k'), 'blob');
  });

  it('finishes every FREEING page at init, so later writes are not lost', () => {
    const flash = new MemoryFlash(4 * 4096);
    const h = NvsStorage.init(flash).open('ns', 'readwrite');
    for (let i = 0; i < 3; i++) h.setBlob(`b${i}`, new Uint8Array(3000).fill(i));
    writeU32(flash.bytes, 0, PageState.FREEING);
    writeU32(flash.bytes, 4096, PageState.FREEING);
    NvsStorage.init(flash).open('ns', 'readwrite').setU32('new', 42);
    const again = NvsStorage.init(flash).open('ns');
    assert.equal(again.getU32('new'), 42);
    for (let i = 0; i < 3; i++) assert.deepEqual(again.getBlob(`b${i}`), new Uint8Array(3000).fill(i));
  });

  it('refuses to write past sequence number 0xFFFFFFFF instead of wrapping to 0', () => {
    const flash = new MemoryFlash(3 * 4096);
    craftPage(flash, [{ ns: 0, type: 0x01, key: 'ns', data: encodeFixedValue(0x01, 1) }]);
    flash.bytes.set(encodePageHeader(PageState.FULL, 0xffffffff, 0xfe).subarray(4), 4);
    const h = NvsStorage.init(flash).open('ns', 'readwrite');
    assert.throws(() => {
      for (let i = 0; i < 200; i++) h.setU32(`k${i}`, i);
    }, espError('ESP_ERR_NVS_INVALID_STATE'));
  });

  it('finds blob chunks even when a damaged item of another type carries the same chunk number', () => {
    const flash = new MemoryFlash(3 * 4096);
    craftPage(flash, [
      { ns: 0, type: 0x01, key: 'ns', data: encodeFixedValue(0x01, 1) },
      { ns: 1, type: 0x14, key: 'k', chunk: 0, data: encodeFixedValue(0x14, 5) }, // an i32 with chunk 0: damage
    ]);
    writeU32(flash.bytes, 0, PageState.ACTIVE);
    const h = NvsStorage.init(flash).open('ns', 'readwrite');
    h.setBlob('k', new Uint8Array(147).fill(2));
    assert.deepEqual(h.getBlob('k'), new Uint8Array(147).fill(2));
  });
});
