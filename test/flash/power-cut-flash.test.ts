import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Flash, SECTOR_SIZE } from '../../src/flash/flash.js';
import { PowerCutError } from '../../src/flash/flash-error.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { PowerCutFlash } from '../../src/flash/power-cut-flash.js';

type Op = { kind: 'write'; address: number; data: Uint8Array } | { kind: 'erase'; sector: number };

const SECTORS = 3;

/** A non-erased starting image, so that erases (and torn erases) are visible. */
const startImage = (): Uint8Array =>
  Uint8Array.from({ length: SECTORS * SECTOR_SIZE }, (_, i) => (i * 7 + 3) & 0xff);

const pattern = (length: number, seed: number): Uint8Array =>
  Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 17) & 0xff);

/** A valid NOR workload over the start image: every write lands on erased bytes or only clears bits. */
const WORKLOAD: readonly Op[] = [
  { kind: 'erase', sector: 0 },
  { kind: 'write', address: 0, data: pattern(32, 1) },
  { kind: 'write', address: 100, data: pattern(16, 2) },
  { kind: 'erase', sector: 1 },
  { kind: 'write', address: SECTOR_SIZE + 5, data: pattern(64, 3) },
  { kind: 'write', address: 0, data: pattern(4, 1).map((b) => b & 0x0f) },
  { kind: 'erase', sector: 0 },
  { kind: 'write', address: 4, data: pattern(8, 4) },
  { kind: 'erase', sector: 2 },
  { kind: 'write', address: 3 * SECTOR_SIZE - 8, data: pattern(8, 5) },
];

/** Runs the workload, reading back after every write as a store would. */
function run(flash: Flash, ops: readonly Op[] = WORKLOAD): void {
  for (const op of ops) {
    if (op.kind === 'erase') {
      flash.eraseSector(op.sector);
    } else {
      flash.write(op.address, op.data);
      flash.read(op.address, new Uint8Array(op.data.length));
    }
  }
}

/** The state after the first `n` operations complete, computed on a plain MemoryFlash. */
function stateAfter(n: number): MemoryFlash {
  const flash = new MemoryFlash(startImage());
  run(flash, WORKLOAD.slice(0, n));
  return flash;
}

/** The state after `n - 1` operations plus the first `tear` bytes of operation `n`, computed by hand. */
function expectedAfterCut(n: number, tear: number): Uint8Array {
  const flash = stateAfter(n - 1);
  const op = WORKLOAD[n - 1]!;
  if (op.kind === 'write') {
    const k = Math.min(tear, op.data.length);
    flash.bytes.set(op.data.subarray(0, k), op.address);
  } else {
    const base = op.sector * SECTOR_SIZE;
    flash.bytes.fill(0xff, base, base + Math.min(tear, SECTOR_SIZE));
  }
  return flash.bytes;
}

const isCutAt = (n: number) => (e: unknown) => e instanceof PowerCutError && e.operation === n;

describe('PowerCutFlash', () => {
  it('passes every operation through and counts writes and erases when no cut is set', () => {
    const inner = new MemoryFlash(startImage());
    const flash = new PowerCutFlash(inner);
    run(flash);
    assert.equal(flash.operations, WORKLOAD.length);
    assert.equal(flash.cut, false);
    assert.deepEqual(inner.bytes, stateAfter(WORKLOAD.length).bytes);
    const seen = new Uint8Array(16);
    flash.read(100, seen);
    assert.deepEqual(seen, inner.bytes.subarray(100, 116));
  });

  it('applies operations 1..N-1 and nothing of operation N on a clean cut, then throws on every access', () => {
    const inner = new MemoryFlash(startImage());
    const flash = new PowerCutFlash(inner, { cutAt: 5 });
    assert.throws(() => run(flash), isCutAt(5));
    assert.equal(flash.cut, true);
    assert.deepEqual(inner.bytes, stateAfter(4).bytes);
    const before = inner.bytes.slice();
    assert.throws(() => flash.read(0, new Uint8Array(1)), PowerCutError);
    assert.throws(() => flash.write(SECTOR_SIZE + 200, Uint8Array.of(0)), PowerCutError);
    assert.throws(() => flash.eraseSector(2), PowerCutError);
    assert.deepEqual(inner.bytes, before, 'accesses after the cut change nothing');
  });

  it('programs exactly the first tearBytes bytes of a torn write', () => {
    const n = 5; // the 64-byte write into sector 1
    const op = WORKLOAD[n - 1]!;
    assert.equal(op.kind, 'write');
    const inner = new MemoryFlash(startImage());
    assert.throws(() => run(new PowerCutFlash(inner, { cutAt: n, tearBytes: 9 })), isCutAt(n));
    const before = stateAfter(n - 1).bytes;
    const at = SECTOR_SIZE + 5;
    assert.deepEqual(inner.bytes.subarray(at, at + 9), pattern(64, 3).subarray(0, 9));
    assert.deepEqual(inner.bytes.subarray(at + 9, at + 64), before.subarray(at + 9, at + 64));
    assert.notDeepEqual(inner.bytes.subarray(at + 9, at + 64), pattern(64, 3).subarray(9));
    assert.deepEqual(inner.bytes.subarray(0, at), before.subarray(0, at));
  });

  it('sets exactly the first tearBytes bytes of the sector to 0xFF on a torn erase and keeps the rest', () => {
    const n = 7; // the second erase of sector 0, which holds written data
    const op = WORKLOAD[n - 1]!;
    assert.equal(op.kind, 'erase');
    const inner = new MemoryFlash(startImage());
    assert.throws(() => run(new PowerCutFlash(inner, { cutAt: n, tearBytes: 20 })), isCutAt(n));
    const before = stateAfter(n - 1).bytes;
    assert.ok(inner.bytes.subarray(0, 20).every((b) => b === 0xff));
    assert.deepEqual(inner.bytes.subarray(20), before.subarray(20));
    assert.ok(
      before.subarray(20, SECTOR_SIZE).some((b) => b !== 0xff),
      'the kept part was not erased before',
    );
  });

  for (const tear of [0, 3, 100]) {
    it(`leaves the inner flash in the expected state with a cut (tearBytes ${tear}) at every operation`, () => {
      const total = (() => {
        const counter = new PowerCutFlash(new MemoryFlash(startImage()));
        run(counter);
        return counter.operations;
      })();
      assert.equal(total, WORKLOAD.length);
      for (let cutAt = 1; cutAt <= total; cutAt++) {
        const inner = new MemoryFlash(startImage());
        const flash = new PowerCutFlash(inner, { cutAt, tearBytes: tear });
        assert.throws(() => run(flash), isCutAt(cutAt), `cut at ${cutAt} throws PowerCutError`);
        assert.deepEqual(inner.bytes, expectedAfterCut(cutAt, tear), `state after a cut at ${cutAt}`);
      }
    });
  }
});
