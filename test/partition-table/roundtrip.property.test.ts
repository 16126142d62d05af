import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import {
  decodePartitionTable,
  encodePartitionTable,
  parsePartitionCsv,
  type PartitionEntry,
  PartitionTableError,
  partitionTableToCsv,
  verifyPartitionTable,
} from '../../src/partition-table/index.js';

/** A valid table: increasing aligned offsets after 0x9000, unique names, sizes the verify step accepts. */
const arbTable = fc
  .array(
    fc.record({
      kind: fc.constantFrom('app', 'nvs', 'fat', 'custom', 'phy'),
      gap: fc.integer({ min: 0, max: 4 }),
      units: fc.integer({ min: 1, max: 64 }),
      subtype: fc.integer({ min: 0, max: 0xfe }),
      customType: fc.integer({ min: 0x40, max: 0xfe }),
      encrypted: fc.boolean(),
      readonly: fc.boolean(),
      name: fc.stringMatching(/^[A-Za-z0-9_]{1,16}$/),
    }),
    { minLength: 0, maxLength: 40 },
  )
  .map((rows) => {
    const seen = new Set<string>();
    const entries: PartitionEntry[] = [];
    let end = 0x9000;
    rows.forEach((r, i) => {
      const name = seen.has(r.name) ? `n${i}` : r.name;
      seen.add(name);
      const align = r.kind === 'app' ? 0x10000 : 0x1000;
      const offset = Math.ceil(end / align) * align + r.gap * align;
      const size = r.units * 0x1000;
      const [type, subtype] =
        r.kind === 'app' ? [0, 0x10 + (i % 16)] : r.kind === 'nvs' ? [1, 2] : r.kind === 'fat' ? [1, 0x81] : r.kind === 'phy' ? [1, 1] : [r.customType, r.subtype];
      const readonly = r.kind === 'nvs' && size < 0x3000 ? true : r.readonly;
      entries.push({ name, type, subtype, offset, size, flags: { encrypted: r.encrypted, readonly } });
      end = offset + size;
    });
    return entries;
  });

describe('partition table round trips (property)', () => {
  it('table -> binary -> CSV -> binary is identical, with and without MD5', () => {
    fc.assert(
      fc.property(arbTable, fc.boolean(), (entries, md5) => {
        verifyPartitionTable(entries);
        const bin = encodePartitionTable(entries, nodeCrypto, { md5 });
        const decoded = decodePartitionTable(bin, nodeCrypto, { md5 });
        assert.deepEqual(decoded.entries.map(({ line: _l, ...e }) => e), entries);
        const csv = partitionTableToCsv(decoded.entries);
        const reparsed = parsePartitionCsv(csv);
        verifyPartitionTable(reparsed);
        assert.deepEqual(encodePartitionTable(reparsed, nodeCrypto, { md5 }), bin);
      }),
      { numRuns: 200 },
    );
  });

  it('CSV -> binary -> CSV is stable after the first conversion', () => {
    fc.assert(
      fc.property(arbTable, (entries) => {
        const csv1 = partitionTableToCsv(entries);
        const csv2 = partitionTableToCsv(decodePartitionTable(encodePartitionTable(parsePartitionCsv(csv1), nodeCrypto), nodeCrypto).entries);
        assert.equal(csv2, csv1);
      }),
      { numRuns: 100 },
    );
  });
});

describe('partition table decoding of hostile input', () => {
  it('random and mutated binaries give entries or a PartitionTableError, never another exception', () => {
    const valid = encodePartitionTable(
      parsePartitionCsv('nvs,data,nvs,0x9000,0x6000,\nphy_init,data,phy,0xf000,0x1000,\nfactory,app,factory,0x10000,1M,\n'),
      nodeCrypto,
    );
    const arbInput = fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 200 }).map((b) => Uint8Array.from([0xaa, 0x50, ...b])),
      fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }).map((edits) => {
        const b = valid.slice();
        for (const [at, v] of edits) b[at] = v;
        return b;
      }),
    );
    fc.assert(
      fc.property(arbInput, fc.boolean(), (bytes, md5) => {
        try {
          const { entries } = decodePartitionTable(bytes, nodeCrypto, { md5 });
          for (const e of entries) assert.ok(e.name.length <= 16);
        } catch (e) {
          assert.ok(e instanceof PartitionTableError, `${String(e)}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});
