import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { ItemType, PAGE_SIZE, PageState } from '../../src/nvs/format/constants.js';
import { encodePageHeader } from '../../src/nvs/format/page-header.js';
import { readNvsPartition } from '../../src/nvs/inspect.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';

const espError = (code: string) => (e: unknown) => (e as { code?: string }).code === code;
const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

function fresh(pages = 4) {
  const flash = new MemoryFlash(pages * PAGE_SIZE);
  return { flash, nvs: NvsStorage.init(flash) };
}

describe('NvsStorage values', () => {
  it('round-trips every integer type at its limits', () => {
    const { flash, nvs } = fresh();
    const h = nvs.open('ints', 'readwrite');
    h.setU8('u8', 255);
    h.setI8('i8', -128);
    h.setU16('u16', 65535);
    h.setI16('i16', -32768);
    h.setU32('u32', 4294967295);
    h.setI32('i32', -2147483648);
    h.setU64('u64', 18446744073709551615n);
    h.setI64('i64', -9223372036854775808n);
    const again = NvsStorage.init(flash).open('ints');
    assert.equal(again.getU8('u8'), 255);
    assert.equal(again.getI8('i8'), -128);
    assert.equal(again.getU16('u16'), 65535);
    assert.equal(again.getI16('i16'), -32768);
    assert.equal(again.getU32('u32'), 4294967295);
    assert.equal(again.getI32('i32'), -2147483648);
    assert.equal(again.getU64('u64'), 18446744073709551615n);
    assert.equal(again.getI64('i64'), -9223372036854775808n);
  });

  it('round-trips float and double', () => {
    const { nvs } = fresh();
    const h = nvs.open('f', 'readwrite');
    h.setFloat('f', 1.5);
    h.setDouble('d', Math.PI);
    assert.equal(h.getFloat('f'), 1.5);
    assert.equal(h.getDouble('d'), Math.PI);
  });

  it('rejects a value outside the type range with a RangeError', () => {
    const { nvs } = fresh();
    const h = nvs.open('ints', 'readwrite');
    assert.throws(() => h.setU8('x', 256), RangeError);
    assert.throws(() => h.setI16('x', 40000), RangeError);
    assert.throws(() => h.setU32('x', 1.5), RangeError);
  });

  it('answers NOT_FOUND when a key is read with another type, like ESP-IDF', () => {
    const { nvs } = fresh();
    const h = nvs.open('t', 'readwrite');
    h.setU8('k', 7);
    assert.throws(() => h.getU16('k'), espError('ESP_ERR_NVS_NOT_FOUND'));
    assert.equal(h.findKey('k'), 'u8');
    assert.equal(h.findKey('missing'), undefined);
  });

  it('keeps one value per key when the type changes', () => {
    const { flash, nvs } = fresh();
    const h = nvs.open('t', 'readwrite');
    h.setU8('k', 7);
    h.setStr('k', 'now a string');
    assert.equal(h.getStr('k'), 'now a string');
    assert.throws(() => h.getU8('k'), espError('ESP_ERR_NVS_NOT_FOUND'));
    assert.equal(NvsStorage.init(flash).open('t').findKey('k'), 'string');
  });

  it('stores strings up to 3999 bytes and refuses longer ones', () => {
    const { nvs } = fresh();
    const h = nvs.open('s', 'readwrite');
    h.setStr('empty', '');
    h.setStr('max', 'x'.repeat(3999));
    h.setStr('utf8', 'grüße ✓');
    assert.equal(h.getStr('empty'), '');
    assert.equal(h.getStr('max').length, 3999);
    assert.equal(h.getStr('utf8'), 'grüße ✓');
    assert.throws(() => h.setStr('big', 'x'.repeat(4000)), espError('ESP_ERR_NVS_VALUE_TOO_LONG'));
  });

  it('stores a blob larger than a page as chunks and reads it back', () => {
    const { flash, nvs } = fresh(6);
    const h = nvs.open('b', 'readwrite');
    const data = bytes(9000);
    h.setBlob('big', data);
    assert.deepEqual(h.getBlob('big'), data);
    const layout = nvs.blobLayout(h.nsIndex, 'big');
    assert.ok(layout && layout.chunks.length >= 3, JSON.stringify(layout));
    assert.deepEqual(NvsStorage.init(flash).open('b').getBlob('big'), data);
  });

  it('flips the blob version on every update and leaves no old chunks behind', () => {
    const { nvs } = fresh(6);
    const h = nvs.open('b', 'readwrite');
    h.setBlob('k', bytes(100, 1));
    assert.equal(nvs.blobLayout(h.nsIndex, 'k')?.chunkStart, 0x00);
    h.setBlob('k', bytes(5000, 2));
    assert.equal(nvs.blobLayout(h.nsIndex, 'k')?.chunkStart, 0x80);
    h.setBlob('k', bytes(10, 3));
    assert.equal(nvs.blobLayout(h.nsIndex, 'k')?.chunkStart, 0x00);
    assert.deepEqual(h.getBlob('k'), bytes(10, 3));
    assert.equal(h.usedEntryCount(), 1 + 1 + 1); // index + one chunk header + one payload entry
  });

  it('stores an empty blob', () => {
    const { nvs } = fresh();
    const h = nvs.open('b', 'readwrite');
    h.setBlob('e', new Uint8Array(0));
    assert.deepEqual(h.getBlob('e'), new Uint8Array(0));
  });

  it('refuses a blob larger than the partition can hold', () => {
    const { nvs } = fresh(3);
    const h = nvs.open('b', 'readwrite');
    assert.throws(() => h.setBlob('k', bytes(8001)), espError('ESP_ERR_NVS_VALUE_TOO_LONG'));
  });

  it('does not write anything when a value is set to what it already is', () => {
    const { flash, nvs } = fresh();
    const h = nvs.open('n', 'readwrite');
    h.setU32('a', 5);
    h.setStr('s', 'same');
    h.setBlob('b', bytes(50));
    const writes = flash.stats.writes;
    h.setU32('a', 5);
    h.setStr('s', 'same');
    h.setBlob('b', bytes(50));
    assert.equal(flash.stats.writes, writes);
  });

  it('refuses keys longer than 15 bytes', () => {
    const { nvs } = fresh();
    const h = nvs.open('n', 'readwrite');
    h.setU8('fifteen_chars_k', 1);
    assert.throws(() => h.setU8('sixteen_chars_ke', 1), espError('ESP_ERR_NVS_KEY_TOO_LONG'));
  });
});

describe('NvsStorage namespaces and handles', () => {
  it('keeps the same key apart in different namespaces', () => {
    const { nvs } = fresh();
    nvs.open('a', 'readwrite').setU32('k', 1);
    nvs.open('b', 'readwrite').setU32('k', 2);
    assert.equal(nvs.open('a').getU32('k'), 1);
    assert.equal(nvs.open('b').getU32('k'), 2);
  });

  it('does not create a namespace when opened read-only', () => {
    const { nvs } = fresh();
    assert.throws(() => nvs.open('nope', 'readonly'), espError('ESP_ERR_NVS_NOT_FOUND'));
  });

  it('creates up to 254 namespaces and then reports NOT_ENOUGH_SPACE', () => {
    const { nvs } = fresh(8);
    for (let i = 0; i < 254; i++) nvs.open(`ns${i}`, 'readwrite');
    assert.equal(nvs.stats().namespaceCount, 254);
    assert.throws(() => nvs.open('one-more', 'readwrite'), espError('ESP_ERR_NVS_NOT_ENOUGH_SPACE'));
  });

  it('refuses writes through a read-only handle and any use of a closed one', () => {
    const { nvs } = fresh();
    nvs.open('n', 'readwrite').setU8('k', 1);
    const ro = nvs.open('n', 'readonly');
    assert.throws(() => ro.setU8('k', 2), espError('ESP_ERR_NVS_READ_ONLY'));
    ro.close();
    assert.throws(() => ro.getU8('k'), espError('ESP_ERR_NVS_INVALID_HANDLE'));
  });

  it('erases one key, or every key of a namespace while keeping the namespace', () => {
    const { flash, nvs } = fresh();
    const h = nvs.open('n', 'readwrite');
    h.setU8('a', 1);
    h.setStr('b', 'x');
    h.setBlob('c', bytes(10));
    h.eraseKey('a');
    assert.throws(() => h.getU8('a'), espError('ESP_ERR_NVS_NOT_FOUND'));
    assert.throws(() => h.eraseKey('a'), espError('ESP_ERR_NVS_NOT_FOUND'));
    h.eraseAll();
    assert.equal(h.usedEntryCount(), 0);
    const again = NvsStorage.init(flash);
    assert.deepEqual([...again.entries()], []);
    assert.doesNotThrow(() => again.open('n', 'readonly'));
  });

  it('iterates in page and entry order with an optional type filter, blobs once as 0x42', () => {
    const { nvs } = fresh(6);
    const h = nvs.open('n', 'readwrite');
    h.setU8('a', 1);
    h.setBlob('big', bytes(6000));
    h.setStr('s', 'x');
    h.setU8('z', 2);
    assert.deepEqual(
      [...h.entries()].map((e) => [e.key, e.type]),
      [
        ['a', ItemType.U8],
        ['big', ItemType.BLOB_DATA],
        ['s', ItemType.SZ],
        ['z', ItemType.U8],
      ],
    );
    assert.deepEqual(
      [...h.entries('u8')].map((e) => e.key),
      ['a', 'z'],
    );
  });

  it('counts used entries per namespace, payload included', () => {
    const { nvs } = fresh();
    const h = nvs.open('n', 'readwrite');
    h.setU8('a', 1);
    h.setStr('s', 'x'.repeat(40)); // 41 bytes -> header + 2 payload entries
    assert.equal(h.usedEntryCount(), 4);
  });
});

describe('NvsStorage pages, space and recovery', () => {
  it('reports nvs_get_stats figures with one page held in reserve', () => {
    const { nvs } = fresh(3);
    assert.deepEqual(nvs.stats(), { usedEntries: 0, freeEntries: 378, availableEntries: 252, totalEntries: 378, namespaceCount: 0 });
    nvs.open('n', 'readwrite').setU32('k', 1);
    assert.deepEqual(nvs.stats(), { usedEntries: 2, freeEntries: 376, availableEntries: 250, totalEntries: 378, namespaceCount: 1 });
  });

  it('keeps working through many updates by reclaiming pages, always leaving one page free', () => {
    const { flash, nvs } = fresh(3);
    const h = nvs.open('n', 'readwrite');
    for (let round = 0; round < 200; round++) {
      for (let k = 0; k < 20; k++) h.setU32(`k${k}`, round * 100 + k);
      h.setBlob('blob', bytes(300, round));
    }
    for (let k = 0; k < 20; k++) assert.equal(h.getU32(`k${k}`), 199 * 100 + k);
    const pages = nvs.pages();
    assert.ok(pages.some((p) => p.state === 'UNINITIALIZED'), JSON.stringify(pages));
    assert.ok(flash.stats.erases > 10, `expected garbage collection to erase pages, saw ${flash.stats.erases}`);
    const reloaded = NvsStorage.init(flash).open('n');
    assert.deepEqual(reloaded.getBlob('blob'), bytes(300, 199));
  });

  it('reports NOT_ENOUGH_SPACE when full and stays consistent afterwards', () => {
    const { flash, nvs } = fresh(3);
    const h = nvs.open('n', 'readwrite');
    let written = 0;
    assert.throws(() => {
      for (;;) h.setU32(`k${written++}`, written);
    }, espError('ESP_ERR_NVS_NOT_ENOUGH_SPACE'));
    written--;
    const again = NvsStorage.init(flash).open('n');
    for (let i = 0; i < written; i++) assert.equal(again.getU32(`k${i}`), i + 1);
  });

  it('never erases data when init fails: NO_FREE_PAGES leaves the flash untouched', () => {
    const { flash, nvs } = fresh(3);
    const h = nvs.open('n', 'readwrite');
    for (let i = 0; i < 200; i++) h.setU32(`k${i}`, i);
    const twoPages = new MemoryFlash(flash.bytes.subarray(0, 2 * PAGE_SIZE));
    const before = twoPages.bytes.slice();
    assert.throws(() => NvsStorage.init(twoPages), espError('ESP_ERR_NVS_NO_FREE_PAGES'));
    assert.deepEqual(twoPages.bytes, before);
    assert.equal(NvsStorage.init(twoPages, { readOnly: true }).open('n').getU32('k5'), 5);
  });

  it('writes nothing when init fails, even if other pages would need repairs', () => {
    const { flash, nvs } = fresh(3);
    const h = nvs.open('n', 'readwrite');
    for (let i = 0; i < 200; i++) h.setU32(`k${i}`, i);
    const twoPages = new MemoryFlash(flash.bytes.subarray(0, 2 * PAGE_SIZE));
    twoPages.bytes[64 + 5 * 32 + 10]! ^= 1; // page 0 entry 5 fails its CRC: a load would erase it
    const before = twoPages.bytes.slice();
    assert.throws(() => NvsStorage.init(twoPages), espError('ESP_ERR_NVS_NO_FREE_PAGES'));
    assert.deepEqual(twoPages.bytes, before);
    twoPages.bytes.set([0xfd], PAGE_SIZE + 8); // page 1 claims a newer format version...
    twoPages.bytes.set(encodePageHeader(PageState.FULL, 1, 0xfd).subarray(28), PAGE_SIZE + 28); // ...with a valid CRC
    const withSpare = new MemoryFlash(new Uint8Array([...twoPages.bytes, ...new Uint8Array(PAGE_SIZE).fill(0xff)]));
    const before2 = withSpare.bytes.slice();
    assert.throws(() => NvsStorage.init(withSpare), espError('ESP_ERR_NVS_NEW_VERSION_FOUND'));
    assert.deepEqual(withSpare.bytes, before2);
  });

  it('writes images that the read-only inspector decodes to the same values', () => {
    const { flash, nvs } = fresh(5);
    const h = nvs.open('mix', 'readwrite');
    h.setI32('i', -42);
    h.setStr('s', 'hello');
    h.setBlob('b', bytes(4500));
    h.setU64('u', 123456789012345n);
    const dump = readNvsPartition(flash.bytes);
    assert.deepEqual(dump.errors, []);
    const mix = dump.namespaces.mix!;
    assert.deepEqual([mix.i?.type, (mix.i as { value: string }).value], ['i32', '-42']);
    assert.equal((mix.s as { text: string }).text, 'hello');
    assert.equal((mix.b as { size: number }).size, 4500);
    assert.equal((mix.u as { value: string }).value, '123456789012345');
  });

  it('refuses every write on a partition opened read-only', () => {
    const { flash } = fresh();
    NvsStorage.init(flash).open('n', 'readwrite').setU8('k', 1);
    const ro = NvsStorage.init(flash, { readOnly: true });
    assert.throws(() => ro.open('n', 'readwrite'), espError('ESP_ERR_NOT_ALLOWED'));
    assert.equal(ro.open('n').getU8('k'), 1);
  });

  it('zero-fills erased entries in purge mode', () => {
    const flash = new MemoryFlash(3 * PAGE_SIZE);
    const h = NvsStorage.init(flash, { purge: true }).open('n', 'readwrite');
    h.setStr('secret', 'hunter2');
    h.eraseKey('secret');
    assert.equal(Buffer.from(flash.bytes).indexOf('hunter2'), -1);
  });
});

describe('NvsStorage garbage collection under power cuts', () => {
  it('finishes an interrupted reclaim at the next init and discards the partial copy', async () => {
    const { PowerCutFlash } = await import('../../src/flash/power-cut-flash.js');
    const { PowerCutError } = await import('../../src/flash/flash-error.js');
    // A 3-page partition where the next write must reclaim a page (copying 30 live items).
    const base = new MemoryFlash(3 * PAGE_SIZE);
    const h = NvsStorage.init(base).open('n', 'readwrite');
    for (let round = 0; round < 4; round++) for (let k = 0; k < 30; k++) h.setU32(`k${k}`, round * 100 + k);
    const before = base.bytes.slice();
    const counter = new PowerCutFlash(new MemoryFlash(before));
    const h2 = NvsStorage.init(counter).open('n', 'readwrite');
    let writes = 0;
    while (counter.inner instanceof MemoryFlash && (counter.inner as MemoryFlash).stats.erases === 0) {
      h2.setU32('k0', 1000 + writes++);
    }
    const total = counter.operations;
    assert.ok(total > 30, `the reclaim must take many operations, took ${total}`);
    for (let cutAt = 1; cutAt <= total; cutAt++) {
      const flash = new MemoryFlash(before);
      const cut = new PowerCutFlash(flash, { cutAt });
      try {
        const s = NvsStorage.init(cut).open('n', 'readwrite');
        for (let i = 0; i < writes; i++) s.setU32('k0', 1000 + i);
      } catch (e) {
        if (!(e instanceof PowerCutError)) throw e;
      }
      const recovered = NvsStorage.init(flash);
      const n = recovered.open('n');
      for (let k = 1; k < 30; k++) assert.equal(n.getU32(`k${k}`), 300 + k, `cut ${cutAt}: k${k}`);
      // No item may be left twice: used entries are exactly the 30 keys plus the namespace entry.
      assert.equal(recovered.stats().usedEntries, 31, `cut ${cutAt}: ${JSON.stringify(recovered.pages())}`);
    }
  });
});
