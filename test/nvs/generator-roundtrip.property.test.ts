import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../src/bytes/hex.js';
import { generateNvsPartition } from '../../src/nvs/generator/generate.js';
import { readNvsPartition } from '../../src/nvs/inspect.js';

type Row = { key: string; encoding: string; text: string; expect: { type: string; value?: string; hex?: string } };

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const keyArb = fc.stringMatching(/^[a-z][a-z0-9_.]{0,14}$/).filter((k) => !k.startsWith('sta.') && !k.startsWith('ap.'));
const ranges: [string, bigint, bigint][] = [
  ['u8', 0n, 255n],
  ['i8', -128n, 127n],
  ['u16', 0n, 65535n],
  ['i16', -32768n, 32767n],
  ['u32', 0n, 2n ** 32n - 1n],
  ['i32', -(2n ** 31n), 2n ** 31n - 1n],
  ['u64', 0n, 2n ** 64n - 1n],
  ['i64', -(2n ** 63n), 2n ** 63n - 1n],
];
const intRow = fc
  .constantFrom(...ranges)
  .chain(([type, lo, hi]) => fc.bigInt(lo, hi).map((v): Omit<Row, 'key'> => ({ encoding: type, text: String(v), expect: { type, value: String(v) } })));
// Printable text that never puts '#' at the start of a physical line (the tool drops such lines).
const textArb = fc.string({ unit: fc.constantFrom(...'abc XYZ,"\'019;:\n'.split('')), maxLength: 300 }).filter((s) => !/(^|\n)#/.test(s) && !s.includes('\r'));
const stringRow = textArb.map((s): Omit<Row, 'key'> => ({ encoding: 'string', text: s, expect: { type: 'string', hex: toHex(new TextEncoder().encode(s)) } }));
const hexRow = fc.uint8Array({ maxLength: 5000 }).map((b): Omit<Row, 'key'> => ({ encoding: 'hex2bin', text: toHex(b), expect: { type: 'blob', hex: toHex(b) } }));
const b64Row = fc.uint8Array({ maxLength: 2000 }).map((b): Omit<Row, 'key'> => ({ encoding: 'base64', text: Buffer.from(b).toString('base64'), expect: { type: 'blob', hex: toHex(b) } }));
const namespaceArb = fc.record({
  name: fc.stringMatching(/^[a-z][a-z0-9_]{0,14}$/),
  rows: fc.uniqueArray(fc.tuple(keyArb, fc.oneof(intRow, stringRow, hexRow, b64Row)), { selector: ([k]) => k, maxLength: 25 }),
});

describe('generateNvsPartition then readNvsPartition (fast-check)', () => {
  it('reads back every value of random CSV content, and the image loads with no problem', () => {
    fc.assert(
      fc.property(fc.uniqueArray(namespaceArb, { selector: (n) => n.name, minLength: 1, maxLength: 5 }), (namespaces) => {
        const lines = ['key,type,encoding,value'];
        for (const n of namespaces) {
          lines.push(`${n.name},namespace,,`);
          for (const [key, r] of n.rows) lines.push(`${key},data,${r.encoding},${csvField(r.text)}`);
        }
        const { image } = generateNvsPartition(lines.join('\n'), { size: 0x40000 });
        const dump = readNvsPartition(image, { mode: 'read-write' });
        assert.deepEqual(dump.errors, []);
        for (const n of namespaces) {
          const got = dump.namespaces[n.name] ?? {};
          assert.deepEqual(Object.keys(got).sort(), n.rows.map(([k]) => k).sort());
          for (const [key, r] of n.rows) {
            const v = got[key]!;
            assert.equal(v.type, r.expect.type, `${n.name}/${key}`);
            if (r.expect.value !== undefined) assert.equal((v as { value: string }).value, r.expect.value);
            else assert.equal((v as { hex: string }).hex, r.expect.hex);
          }
        }
      }),
      { numRuns: 120 },
    );
  });
});
