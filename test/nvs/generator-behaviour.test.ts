import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32le } from '../../src/bytes/crc32.js';
import { toHex } from '../../src/bytes/hex.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { ItemType, PageState } from '../../src/nvs/format/constants.js';
import {
  entryCrc,
  readBlobIndexData,
  readEntryHeader,
  readFixedValue,
  readU32,
  storedEntryCrc,
  varLengthCrc,
  varLengthSize,
} from '../../src/nvs/format/entry.js';
import { readPageHeader } from '../../src/nvs/format/page-header.js';
import { generateNvsPartition, type GenerateOptions } from '../../src/nvs/generator/generate.js';
import { NvsGenerateError } from '../../src/nvs/generator/generate-error.js';

const HEADER = 'key,type,encoding,value\n';

/** Generates from CSV rows (the header is added) into a 0x3000 partition unless told otherwise. */
const gen = (rows: string, options: Partial<GenerateOptions> = {}) =>
  generateNvsPartition(HEADER + rows, { size: 0x3000, ...options });

const entryOff = (page: number, index: number): number => page * 4096 + 64 + index * 32;

/** Header fields of the entry at page/index. */
const entry = (image: Uint8Array, page: number, index: number) => readEntryHeader(image, entryOff(page, index));

/** Payload bytes of the variable-length item whose header is at page/index. */
const payload = (image: Uint8Array, page: number, index: number): Uint8Array => {
  const off = entryOff(page, index);
  return image.subarray(off + 32, off + 32 + varLengthSize(image, off));
};

/** Asserts that `fn` throws an NvsGenerateError with `code` whose message contains every `parts`. */
function throwsCode(fn: () => unknown, code: string, ...parts: string[]): NvsGenerateError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof NvsGenerateError, `expected NvsGenerateError ${code}, got ${String(caught)}`);
  assert.ok(caught instanceof NvsecError);
  assert.equal(caught.code, code, caught.message);
  for (const part of parts) assert.ok(caught.message.includes(part), `"${caught.message}" lacks "${part}"`);
  return caught;
}

describe('generateNvsPartition() layout', () => {
  it('writes an empty CSV as one ACTIVE page with no entries and erased pages after it', () => {
    const { image, pagesUsed, entriesUsed } = generateNvsPartition('', { size: 0x3000 });
    assert.equal(image.length, 0x3000);
    assert.equal(pagesUsed, 1);
    assert.equal(entriesUsed, 0);
    const header = readPageHeader(image, 0);
    assert.equal(header.state, PageState.ACTIVE);
    assert.equal(header.seq, 0);
    assert.equal(header.version, 0xfe);
    assert.ok(header.crcValid);
    assert.ok(image.subarray(32).every((b) => b === 0xff));
  });

  it('encodes integers little-endian with 0xFF padding and a valid entry CRC', () => {
    const { image } = gen('ns,namespace,,\nneg,data,i16,-2\nbig,data,u64,18446744073709551615\n');
    assert.equal(toHex(image.subarray(entryOff(0, 1) + 24, entryOff(0, 1) + 32)), 'feffffffffffffff');
    assert.equal(readFixedValue(image, entryOff(0, 2), ItemType.U64), 0xffffffffffffffffn);
    for (const i of [0, 1, 2]) assert.equal(storedEntryCrc(image, entryOff(0, i)), entryCrc(image, entryOff(0, i)));
    assert.equal(toHex(image.subarray(32, 33)), 'ea'); // entries 0..2 WRITTEN, entry 3 EMPTY
  });

  it('accepts integers the way Python int() does: spaces around, a sign, underscores between digits', () => {
    const { image } = gen('ns,namespace,,\na,data,u32, 42 \nb,data,i8,+7\nc,data,u32,1_000\nd,data,u8,007\n');
    assert.equal(readFixedValue(image, entryOff(0, 1), ItemType.U32), 42);
    assert.equal(readFixedValue(image, entryOff(0, 2), ItemType.I8), 7);
    assert.equal(readFixedValue(image, entryOff(0, 3), ItemType.U32), 1000);
    assert.equal(readFixedValue(image, entryOff(0, 4), ItemType.U8), 7);
  });

  it('gives data rows before any namespace row the namespace index 0', () => {
    const { image } = gen('early,data,u8,1\nns,namespace,,\nlate,data,u8,2\n');
    assert.equal(entry(image, 0, 0).nsIndex, 0);
    assert.equal(entry(image, 0, 0).key, 'early');
    assert.equal(entry(image, 0, 2).nsIndex, 1);
  });

  it('does not switch back on a repeated namespace row: data keeps the newest namespace index', () => {
    const { image, namespaces } = gen('a,namespace,,\nx,data,u8,1\nb,namespace,,\ny,data,u8,2\na,namespace,,\nz,data,u8,3\n');
    assert.deepEqual(namespaces, ['a', 'b']);
    assert.equal(entry(image, 0, 4).key, 'z');
    assert.equal(entry(image, 0, 4).nsIndex, 2);
    // no second namespace entry for "a": entry 5 is still erased
    assert.ok(image.subarray(entryOff(0, 5), entryOff(0, 6)).every((b) => b === 0xff));
  });

  it('stores strings as UTF-8 plus a NUL, and upper-case STRING as the bare text', () => {
    const { image } = gen('ns,namespace,,\ns,data,string,Grüße\nS,data,STRING,abc\n');
    assert.equal(entry(image, 0, 1).type, ItemType.SZ);
    assert.equal(toHex(payload(image, 0, 1)), `${toHex(new TextEncoder().encode('Grüße'))}00`);
    assert.equal(varLengthCrc(image, entryOff(0, 1)), crc32le(payload(image, 0, 1)));
    assert.equal(entry(image, 0, 3).type, ItemType.SZ);
    assert.equal(toHex(payload(image, 0, 3)), '616263');
  });

  it('stores upper-case HEX2BIN and BASE64 values as their text, unconverted', () => {
    const { image } = gen('ns,namespace,,\nh,data,HEX2BIN,abcd\nb,data,Base64,QUJD\n');
    assert.equal(entry(image, 0, 1).type, ItemType.BLOB_DATA);
    assert.equal(new TextDecoder().decode(payload(image, 0, 1)), 'abcd');
    assert.equal(new TextDecoder().decode(payload(image, 0, 4)), 'QUJD');
  });

  it('decodes hex2bin after stripping spaces and base64 skipping characters outside the alphabet', () => {
    const { image } = gen('ns,namespace,,\nh,data,hex2bin, DEADbeef \nb,data,base64,"aGVs\nbG8=!!"\n');
    assert.equal(toHex(payload(image, 0, 1)), 'deadbeef');
    assert.equal(new TextDecoder().decode(payload(image, 0, 4)), 'hello');
  });

  it('writes a version-2 blob as BLOB_DATA chunks plus a BLOB_IDX', () => {
    const hex = '00'.repeat(5000);
    const { image } = gen(`ns,namespace,,\nbig,data,hex2bin,${hex}\n`);
    // 124 payload entries fit after the namespace and chunk header on page 0
    assert.deepEqual({ ...entry(image, 0, 1) }, { nsIndex: 1, type: ItemType.BLOB_DATA, span: 125, chunkIndex: 0, key: 'big' });
    assert.equal(varLengthSize(image, entryOff(0, 1)), 3968);
    assert.equal(readU32(image, 0), PageState.FULL);
    assert.equal(entry(image, 1, 0).chunkIndex, 1);
    assert.equal(varLengthSize(image, entryOff(1, 0)), 5000 - 3968);
    const idx = entry(image, 1, 34);
    assert.equal(idx.type, ItemType.BLOB_IDX);
    assert.deepEqual(readBlobIndexData(image, entryOff(1, 34)), { totalSize: 5000, chunkCount: 2, chunkStart: 0 });
    assert.equal(readU32(image, 4096), PageState.ACTIVE);
  });

  it('writes a zero-size chunk at entry 125 when a blob starts there, as the tool does', () => {
    const fillers = Array.from({ length: 124 }, (_, i) => `k${i},data,u8,${i}\n`).join('');
    const { image } = gen(`ns,namespace,,\n${fillers}b,data,hex2bin,abcd\n`);
    const chunk0 = entry(image, 0, 125);
    assert.equal(chunk0.type, ItemType.BLOB_DATA);
    assert.equal(chunk0.span, 1);
    assert.equal(varLengthSize(image, entryOff(0, 125)), 0);
    assert.equal(varLengthCrc(image, entryOff(0, 125)), 0xffffffff);
    assert.equal(entry(image, 1, 0).chunkIndex, 1);
    assert.equal(toHex(payload(image, 1, 0)), 'abcd');
    assert.equal(entry(image, 1, 2).type, ItemType.BLOB_IDX);
  });

  it('moves a string to the next page unless it ends before entry 125 (strict fit)', () => {
    const text = 'x'.repeat(3967); // 3968 bytes with the NUL: span 125
    const first = gen(`s,data,string,${text}\n`);
    assert.equal(entry(first.image, 0, 0).type, ItemType.SZ); // 0 + 125 < 126
    const second = gen(`ns,namespace,,\ns,data,string,${text}\n`);
    assert.equal(readU32(second.image, 0), PageState.FULL);
    assert.equal(entry(second.image, 1, 0).type, ItemType.SZ); // 1 + 125 is not < 126
  });

  it('pads blob_fill values to N bytes and prefixes blob_sz_fill values with their u32 length', () => {
    const { image } = gen('ns,namespace,,\nf,data,blob_fill(8;0xaa),hi\nz,data,blob_sz_fill(4;0x00),ab\n');
    assert.equal(toHex(payload(image, 0, 1)), '6869aaaaaaaaaaaa');
    assert.equal(toHex(payload(image, 0, 4)), '020000006162' + '0000');
  });

  it('writes version-1 blobs as one BLOB item with page version 0xFF', () => {
    const { image } = gen('ns,namespace,,\nb,data,hex2bin,0102\n', { version: 1 });
    assert.equal(image[8], 0xff);
    assert.deepEqual({ ...entry(image, 0, 1) }, { nsIndex: 1, type: ItemType.BLOB, span: 2, chunkIndex: 0xff, key: 'b' });
  });

  it('adds sta.apinfo, sta.pmk and sta.apsw once after the first sta.ssid or sta.pswd row', () => {
    const { image, items } = gen('w,namespace,,\nsta.ssid,data,string,net\nsta.pswd,data,string,pw\n');
    const keys: string[] = [];
    for (let i = 0; i < 126; i++) {
      const e = entry(image, 0, i);
      if (e.type === ItemType.SZ || e.type === ItemType.BLOB_IDX) keys.push(e.key);
    }
    assert.deepEqual(keys, ['sta.ssid', 'sta.apinfo', 'sta.pmk', 'sta.apsw', 'sta.pswd']);
    assert.equal(items, 5);
  });

  it('reads file rows through the given reader', () => {
    const files: Record<string, Uint8Array> = { 'a.bin': new Uint8Array([1, 2, 3]), 't.txt': new TextEncoder().encode('hey') };
    const { image } = gen('ns,namespace,,\nb,file,binary,a.bin\nt,file,string,t.txt\n', {
      readFile: (p) => {
        const f = files[p];
        if (!f) throw new Error(`ENOENT ${p}`);
        return f;
      },
    });
    assert.equal(toHex(payload(image, 0, 1)), '010203');
    assert.equal(toHex(payload(image, 0, 4)), '68657900');
  });

  it('gives read-only sizes a file with only the pages used', () => {
    const small = gen('ns,namespace,,\na,data,u8,1\n', { size: 0x2000 });
    assert.equal(small.image.length, 0x1000);
    assert.equal(readU32(small.image, 0), PageState.ACTIVE);
    const strings = Array.from({ length: 40 }, (_, i) => `s${i},data,string,${'y'.repeat(100)}\n`).join('');
    const two = gen(`ns,namespace,,\n${strings}`, { size: 0x2000 });
    assert.equal(two.image.length, 0x2000);
    assert.equal(two.pagesUsed, 2);
  });

  it('processes several CSV texts in order into one image', () => {
    const { image, namespaces } = generateNvsPartition([`${HEADER}a,namespace,,\nx,data,u8,1\n`, `${HEADER}y,data,u8,2\n`], {
      size: 0x3000,
    });
    assert.deepEqual(namespaces, ['a']);
    assert.equal(entry(image, 0, 2).key, 'y');
    assert.equal(entry(image, 0, 2).nsIndex, 1);
  });
});

describe('generateNvsPartition() errors', () => {
  it('rejects a key longer than 15 characters, naming the row and the key', () => {
    assert.doesNotThrow(() => gen('ns,namespace,,\nfifteen_chars_k,data,u8,1\n'));
    const e = throwsCode(() => gen('ns,namespace,,\nsixteen_chars_ky,data,u8,1\n'), 'NVS_KEY_TOO_LONG', 'row 3', 'sixteen_chars_ky', '15');
    assert.equal(e.line, 3);
    assert.equal(e.key, 'sixteen_chars_ky');
    assert.equal(e.espErr, 0x1109);
  });

  it('rejects a namespace name longer than 15 characters', () => {
    throwsCode(() => gen('a_namespace_too_long,namespace,,\n'), 'NVS_KEY_TOO_LONG', 'row 2');
  });

  it('rejects a non-ASCII key, which the reference tool would corrupt', () => {
    throwsCode(() => gen('ns,namespace,,\nkü,data,u8,1\n'), 'NVS_BAD_KEY', 'ASCII');
  });

  it('rejects hex2bin with an odd number of digits', () => {
    throwsCode(() => gen('ns,namespace,,\nh,data,hex2bin,abc\n'), 'NVS_CSV_BAD_VALUE', 'row 3', '"h"', 'odd');
  });

  it('rejects hex2bin with a character that is not a hex digit', () => {
    throwsCode(() => gen('ns,namespace,,\nh,data,hex2bin,zz\n'), 'NVS_CSV_BAD_VALUE', 'not hex');
  });

  it('rejects an unknown encoding and lists the known ones', () => {
    throwsCode(() => gen('ns,namespace,,\nv,data,u128,1\n'), 'NVS_UNKNOWN_ENCODING', '"u128"', 'hex2bin');
    throwsCode(() => gen('ns,namespace,,\nv,data,blob_fill(x),1\n'), 'NVS_UNKNOWN_ENCODING', 'blob_fill(N;0xPP)');
  });

  it('rejects 0x10 for an integer: Python int() takes decimal only', () => {
    throwsCode(() => gen('ns,namespace,,\nv,data,u8,0x10\n'), 'NVS_CSV_BAD_VALUE', 'decimal');
    throwsCode(() => gen('ns,namespace,,\nv,data,u32,1.5\n'), 'NVS_CSV_BAD_VALUE', 'u32');
  });

  it('rejects integers out of their type range and accepts the limits', () => {
    assert.doesNotThrow(() => gen('ns,namespace,,\na,data,u8,255\nb,data,i8,-128\nc,data,i64,-9223372036854775808\n'));
    throwsCode(() => gen('ns,namespace,,\nv,data,u8,256\n'), 'NVS_CSV_BAD_VALUE', 'out of range', '0..255');
    throwsCode(() => gen('ns,namespace,,\nv,data,i8,-129\n'), 'NVS_CSV_BAD_VALUE', 'out of range');
    throwsCode(() => gen('ns,namespace,,\nv,data,u64,18446744073709551616\n'), 'NVS_CSV_BAD_VALUE', 'out of range');
  });

  it('rejects data that does not fit in SIZE/4096 - 1 pages and says which size would do', () => {
    const rows = Array.from({ length: 300 }, (_, i) => `k${i},data,u32,${i}\n`).join('');
    // 301 entries need 3 pages; 0x3000 holds 2 (one is kept free)
    throwsCode(() => gen(`ns,namespace,,\n${rows}`), 'NVS_PARTITION_TOO_SMALL', '0x3000', 'at least 0x4000');
    assert.equal(gen(`ns,namespace,,\n${rows}`, { size: 0x4000 }).pagesUsed, 3);
  });

  it('rejects a read-only size when the data needs more pages than it has', () => {
    const rows = Array.from({ length: 130 }, (_, i) => `k${i},data,u8,1\n`).join('');
    throwsCode(() => gen(rows, { size: 0x1000 }), 'NVS_PARTITION_TOO_SMALL', '0x1000');
  });

  it('rejects a string longer than 3968 bytes including the NUL', () => {
    assert.doesNotThrow(() => gen(`ns,namespace,,\ns,data,string,${'a'.repeat(3967)}\n`));
    throwsCode(() => gen(`ns,namespace,,\ns,data,string,${'a'.repeat(3968)}\n`), 'NVS_VALUE_TOO_LONG', '3969', '3968');
    throwsCode(() => gen(`ns,namespace,,\ns,data,string,${'a'.repeat(5000)}\n`), 'NVS_VALUE_TOO_LONG', 'blob');
  });

  it('rejects strings and blobs over 1984 bytes in format version 1', () => {
    throwsCode(() => gen(`ns,namespace,,\nb,data,hex2bin,${'00'.repeat(1985)}\n`, { version: 1 }), 'NVS_VALUE_TOO_LONG', '1984');
    throwsCode(() => gen(`ns,namespace,,\ns,data,string,${'a'.repeat(1984)}\n`, { version: 1 }), 'NVS_VALUE_TOO_LONG', '1984');
  });

  it('rejects a partition size that is not a multiple of 4096 or is below 4096', () => {
    throwsCode(() => gen('', { size: 0x3001 }), 'NVS_BAD_SIZE', 'multiple of 4096');
    throwsCode(() => gen('', { size: 0 }), 'NVS_BAD_SIZE', 'minimum');
    throwsCode(() => gen('', { size: -4096 }), 'NVS_BAD_SIZE', 'minimum');
  });

  it('checks argument types with TypeError and RangeError', () => {
    assert.throws(() => generateNvsPartition(42 as unknown as string, { size: 0x3000 }), TypeError);
    assert.throws(() => generateNvsPartition('', { size: '0x3000' as unknown as number }), TypeError);
    assert.throws(() => generateNvsPartition('', { size: 0x3000, version: 3 as 2 }), RangeError);
  });

  it('names the input when several CSV texts are given', () => {
    const e = throwsCode(
      () => generateNvsPartition([`${HEADER}ns,namespace,,\n`, `${HEADER}\nv,data,u8,300\n`], { size: 0x3000 }),
      'NVS_CSV_BAD_VALUE',
      'input 2 row 3',
    );
    assert.equal(e.input, 2);
  });

  it('asks for a reader when a file row appears without one, and reports a failing read', () => {
    throwsCode(() => gen('ns,namespace,,\nf,file,binary,blob.bin\n'), 'NVS_FILE_READ', 'blob.bin', 'readFile');
    throwsCode(
      () =>
        gen('ns,namespace,,\nf,file,binary,blob.bin\n', {
          readFile: () => {
            throw new Error('ENOENT: no such file');
          },
        }),
      'NVS_FILE_READ',
      'ENOENT',
    );
  });

  it('asks for a crypto provider when the Wi-Fi AP keys need ap.pmk_info, and computes it with one', () => {
    const rows = 'w,namespace,,\nap.ssid,data,string,MyAP\nap.passwd,data,string,appass12\nap.authmode,data,u8,3\n';
    throwsCode(() => gen(rows), 'NVS_CRYPTO_REQUIRED', 'ap.pmk_info');
    const { image } = gen(rows, { crypto: nodeCrypto });
    const pmk = nodeCrypto.pbkdf2('sha1', new TextEncoder().encode('appass12'), new TextEncoder().encode('MyAP'), 4096, 32);
    const info = payload(image, 0, 5);
    assert.equal(entry(image, 0, 5).key, 'ap.pmk_info');
    assert.equal(toHex(info), '00'.repeat(100) + toHex(pmk));
    assert.doesNotThrow(() => gen('w,namespace,,\nap.ssid,data,string,a\nap.passwd,data,string,b\nap.authmode,data,u8,0\n'));
  });

  it('rejects a fill value longer than its fill size', () => {
    throwsCode(() => gen('ns,namespace,,\nf,data,blob_fill(1;0xaa),hi\n'), 'NVS_CSV_BAD_VALUE', 'fill');
  });

  it('rejects base64 with a dangling quad, as Python does', () => {
    throwsCode(() => gen('ns,namespace,,\nb,data,base64,QUJDR\n'), 'NVS_CSV_BAD_VALUE', 'base64');
    throwsCode(() => gen('ns,namespace,,\nb,data,base64,QUJ\n'), 'NVS_CSV_BAD_VALUE', 'padding');
  });

  it('rejects non-ASCII text stored as is, where the tool writes a wrong size', () => {
    throwsCode(() => gen('ns,namespace,,\nb,data,binary,Grüße\n'), 'NVS_CSV_BAD_VALUE', 'non-ASCII');
  });

  it('rejects a data row with missing columns', () => {
    throwsCode(() => gen('ns,namespace,,\nv,data,u8\n'), 'NVS_CSV_SYNTAX', 'value');
    throwsCode(() => gen('ns,namespace,,\nv\n'), 'NVS_CSV_SYNTAX', 'encoding');
  });

  it('rejects more than 254 namespaces', () => {
    const rows = Array.from({ length: 255 }, (_, i) => `n${i},namespace,,\n`).join('');
    throwsCode(() => gen(rows, { size: 0x5000 }), 'NVS_TOO_MANY_NAMESPACES', '254', 'row 256');
  });
});
