import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import {
  decodePartitionTable,
  encodePartitionTable,
  isBinaryPartitionTable,
  parsePartitionCsv,
  type PartitionEntry,
} from '../../src/partition-table/index.js';
import { assertPtError } from './_assert.js';

const entry = (name: string, offset: number, extra: Partial<PartitionEntry> = {}): PartitionEntry => ({
  name,
  type: 1,
  subtype: 0x81,
  offset,
  size: 0x1000,
  flags: { encrypted: false, readonly: false },
  ...extra,
});
const many = (n: number) => Array.from({ length: n }, (_, i) => entry(`p${i}`, 0x10000 + i * 0x1000));

/** One 32-byte entry written by hand from the spec's §5.1 layout. */
function handEntry(type: number, subtype: number, offset: number, size: number, label: number[], flags: number): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 0xaa;
  b[1] = 0x50;
  b[2] = type;
  b[3] = subtype;
  b.writeUInt32LE(offset, 4);
  b.writeUInt32LE(size, 8);
  Buffer.from(label).copy(b, 12, 0, 16);
  b.writeUInt32LE(flags, 28);
  return b;
}

function withMd5(entries: Buffer[]): Buffer {
  const body = Buffer.concat(entries);
  const md5 = Buffer.concat([Buffer.from([0xeb, 0xeb]), Buffer.alloc(14, 0xff), createHash('md5').update(body).digest()]);
  return pad(Buffer.concat([body, md5]));
}
const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc(0xc00 - b.length, 0xff)]);
const ascii = (s: string) => [...Buffer.from(s)];

describe('encodePartitionTable', () => {
  it('writes the spec layout: magic, type, subtype, LE offset and size, NUL-padded label, flags, MD5 entry, 0xFF to 0xC00', () => {
    const entries = parsePartitionCsv('nvs,data,nvs,0x9000,0x6000\nfw,app,ota_1,0x20000,1M,encrypted\nro,0x40,0x7f,0x120000,4K,encrypted:readonly\n');
    const expected = withMd5([
      handEntry(1, 2, 0x9000, 0x6000, ascii('nvs'), 0),
      handEntry(0, 0x11, 0x20000, 0x100000, ascii('fw'), 1),
      handEntry(0x40, 0x7f, 0x120000, 0x1000, ascii('ro'), 3),
    ]);
    assert.deepEqual(Buffer.from(encodePartitionTable(entries, nodeCrypto)), expected);
  });

  it('leaves out the MD5 entry with md5: false', () => {
    const out = encodePartitionTable([entry('a', 0x9000)], nodeCrypto, { md5: false });
    assert.deepEqual(Buffer.from(out), pad(handEntry(1, 0x81, 0x9000, 0x1000, ascii('a'), 0)));
  });

  it('stores a 16-character name without a terminator and truncates longer names to 16 bytes', () => {
    const out = encodePartitionTable([entry('exactly16chars!!', 0x9000), entry('this_name_is_far_too_long', 0xa000)], nodeCrypto, { md5: false });
    assert.deepEqual(Buffer.from(out.subarray(12, 28)), Buffer.from('exactly16chars!!'));
    assert.deepEqual(Buffer.from(out.subarray(44, 60)), Buffer.from('this_name_is_far'));
    assert.deepEqual(
      decodePartitionTable(out, nodeCrypto, { md5: false }).entries.map((e) => e.name),
      ['exactly16chars!!', 'this_name_is_far'],
    );
  });

  it('accepts 94 entries with MD5 and 95 without; one more is "longer than max"', () => {
    assert.equal(encodePartitionTable(many(94), nodeCrypto).length, 0xc00);
    assert.equal(encodePartitionTable(many(95), nodeCrypto, { md5: false }).length, 0xc00);
    assertPtError(() => encodePartitionTable(many(95), nodeCrypto), 'PT_TOO_LONG', 'Binary partition table length (3072) longer than max');
    assertPtError(() => encodePartitionTable(many(96), nodeCrypto, { md5: false }), 'PT_TOO_LONG', 'Binary partition table length (3072) longer than max');
  });

  it('refuses values that do not fit their binary field instead of writing wrapped bytes', () => {
    assertPtError(() => encodePartitionTable([entry('a', 0x9000, { type: 0x100 })], nodeCrypto), 'PT_VALUE_RANGE', 'Partition a: type 0x100 does not fit the binary field (0..0xff): fix the type column');
    assertPtError(() => encodePartitionTable([entry('a', 0x9000, { size: 0x100000000 })], nodeCrypto), 'PT_VALUE_RANGE', 'Partition a: size 0x100000000 does not fit the binary field (0..0xffffffff): fix the size column');
    assertPtError(() => encodePartitionTable([entry('a', 0x9000, { size: -0x1000 })], nodeCrypto), 'PT_VALUE_RANGE', 'Partition a: size -0x1000 does not fit the binary field (0..0xffffffff): fix the size column');
  });
});

describe('decodePartitionTable', () => {
  const good = withMd5([handEntry(1, 2, 0x9000, 0x6000, ascii('nvs'), 0), handEntry(0, 0, 0x10000, 0x100000, ascii('factory'), 2)]);

  it('reads entries up to the end marker and checks the MD5', () => {
    const r = decodePartitionTable(good, nodeCrypto);
    assert.equal(r.md5Verified, true);
    assert.deepEqual(
      r.entries.map((e) => [e.name, e.type, e.subtype, e.offset, e.size, e.flags.encrypted, e.flags.readonly]),
      [
        ['nvs', 1, 2, 0x9000, 0x6000, false, false],
        ['factory', 0, 0, 0x10000, 0x100000, false, true],
      ],
    );
  });

  it('detects an MD5 mismatch and prints both digests as the tool does', () => {
    const bad = Buffer.from(good);
    bad[8] = bad[8]! ^ 0x01; // size of the first entry
    const computed = createHash('md5').update(bad.subarray(0, 64)).digest('hex');
    const parsed = bad.subarray(80, 96).toString('hex');
    assertPtError(() => decodePartitionTable(bad, nodeCrypto), 'PT_MD5_MISMATCH', `MD5 checksums don't match! (computed: 0x${computed}, parsed: 0xb'${parsed}')`);
  });

  it('reads the MD5 entry as a bad entry when MD5 checking is off, like the tool', () => {
    assertPtError(() => decodePartitionTable(good, nodeCrypto, { md5: false }), 'PT_BINARY', "Invalid magic bytes (b'\\xeb\\xeb') for partition definition");
  });

  it('refuses a table without end marker, a length that is not a multiple of 32 and a bad magic', () => {
    const full = Buffer.concat(Array.from({ length: 3 }, (_, i) => handEntry(1, 0x81, 0x9000 + i * 0x1000, 0x1000, ascii(`p${i}`), 0)));
    assertPtError(() => decodePartitionTable(full, nodeCrypto), 'PT_BINARY', 'Partition table is missing an end-of-table marker');
    assertPtError(() => decodePartitionTable(good.subarray(0, 100), nodeCrypto), 'PT_BINARY', 'Partition table length must be a multiple of 32 bytes');
    const magic = Buffer.from(good);
    magic.write('PA', 32, 'latin1');
    assertPtError(() => decodePartitionTable(magic, nodeCrypto), 'PT_BINARY', "Invalid magic bytes (b'PA') for partition definition");
  });

  it('drops unknown flag bits with the tool\'s warning', () => {
    const r = decodePartitionTable(withMd5([handEntry(1, 0x81, 0x9000, 0x1000, ascii('f'), 0x80000001)]), nodeCrypto);
    assert.deepEqual(r.warnings, ['WARNING: Partition definition had unknown flag(s) 0x80000000. Newer binary format?']);
    assert.deepEqual(r.entries[0]!.flags, { encrypted: true, readonly: false });
  });

  it('refuses a label that is not UTF-8 with a clear error', () => {
    const t = withMd5([handEntry(1, 0x81, 0x9000, 0x1000, [0x61, 0xff, 0xfe], 0)]);
    assert.throws(() => decodePartitionTable(t, nodeCrypto), (e: Error & { code?: string }) => e.code === 'PT_BINARY' && /not UTF-8/.test(e.message));
  });
});

describe('isBinaryPartitionTable', () => {
  it('decides by the first two bytes, like the tool', () => {
    assert.equal(isBinaryPartitionTable(new Uint8Array([0xaa, 0x50, 0x01])), true);
    assert.equal(isBinaryPartitionTable(Buffer.from('# Name, Type\n')), false);
    assert.equal(isBinaryPartitionTable(new Uint8Array([0xeb, 0xeb])), false);
    assert.equal(isBinaryPartitionTable(new Uint8Array([0xaa])), false);
  });
});
