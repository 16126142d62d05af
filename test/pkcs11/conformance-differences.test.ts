import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SOFTHSM_DIFFERENCES } from './_softhsm-differences.js';

/**
 * Keeps the conformance suite and its SoftHSM differences table honest: all 72 checklist items are
 * tests, and a table row exists exactly for the items whose test branches on `softhsmDiffers`.
 */

const DIR = path.dirname(fileURLToPath(import.meta.url));
const SUITE_FILES = fs.readdirSync(DIR).filter((f) => /^conformance-.*\.test\.ts$/.test(f) && f !== path.basename(fileURLToPath(import.meta.url)));

/** Each test block named "item N: …" in the suite: N and the items its body asks softhsmDiffers about. */
function itemBlocks(): Array<{ item: number; file: string; asks: number[] }> {
  const blocks: Array<{ item: number; file: string; asks: number[] }> = [];
  for (const file of SUITE_FILES) {
    const source = fs.readFileSync(path.join(DIR, file), 'utf8');
    const starts = [...source.matchAll(/\bit\('item (\d+): /g)];
    starts.forEach((m, i) => {
      const body = source.slice(m.index, starts[i + 1]?.index ?? source.length);
      const asks = [...body.matchAll(/softhsmDiffers\(t\.b, (\d+)\)/g)].map((a) => Number(a[1]));
      blocks.push({ item: Number(m[1]), file, asks });
    });
  }
  return blocks;
}

describe('PKCS#11 conformance suite bookkeeping', () => {
  it('every checklist item 1..72 is exactly one test named "item N: …"', () => {
    const items = itemBlocks().map((b) => b.item).sort((a, b) => a - b);
    assert.deepEqual(items, Array.from({ length: 72 }, (_, i) => i + 1));
  });

  it('a test only asks softhsmDiffers about its own item', () => {
    for (const b of itemBlocks()) for (const asked of b.asks) assert.equal(asked, b.item, `item ${b.item} (${b.file}) asks about item ${asked}`);
  });

  it('the differences table has a row exactly for the items whose test asserts SoftHSM behaviour', () => {
    const branching = itemBlocks().filter((b) => b.asks.length > 0).map((b) => b.item).sort((a, b) => a - b);
    const rows = SOFTHSM_DIFFERENCES.map((d) => d.item);
    assert.deepEqual(rows, [...rows].sort((a, b) => a - b), 'rows in item order');
    assert.equal(new Set(rows).size, rows.length, 'one row per item');
    assert.deepEqual(rows, branching);
    for (const d of SOFTHSM_DIFFERENCES) assert.ok(d.spec.length > 0 && d.softhsm.length > 0, `row ${d.item} says what the spec and SoftHSM do`);
  });
});
