import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { NvsError } from '../../src/nvs/esp-err.js';
import { PAGE_SIZE } from '../../src/nvs/format/constants.js';
import type { NvsValueType } from '../../src/nvs/store/handle.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';

type Value = { type: NvsValueType; value: number | bigint | string | Uint8Array };
type Op =
  | { kind: 'set'; ns: string; key: string; v: Value }
  | { kind: 'erase'; ns: string; key: string }
  | { kind: 'eraseAll'; ns: string }
  | { kind: 'reload' };

const ns = fc.constantFrom('a', 'b', 'c');
const key = fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'long_key_15char');
const int = (type: NvsValueType, bits: number, signed: boolean) =>
  (bits === 64 ? fc.bigInt(signed ? -(2n ** 63n) : 0n, signed ? 2n ** 63n - 1n : 2n ** 64n - 1n) : fc.integer({ min: signed ? -(2 ** (bits - 1)) : 0, max: signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 })).map(
    (value): Value => ({ type, value }),
  );
const value: fc.Arbitrary<Value> = fc.oneof(
  int('u8', 8, false),
  int('i8', 8, true),
  int('u16', 16, false),
  int('i16', 16, true),
  int('u32', 32, false),
  int('i32', 32, true),
  int('u64', 64, false),
  int('i64', 64, true),
  fc.string({ maxLength: 120 }).map((value): Value => ({ type: 'string', value })),
  fc.uint8Array({ maxLength: 300 }).map((value): Value => ({ type: 'blob', value })),
  fc.uint8Array({ minLength: 3000, maxLength: 6000 }).map((value): Value => ({ type: 'blob', value })),
);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('set' as const), ns, key, v: value }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('erase' as const), ns, key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('eraseAll' as const), ns }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reload' as const }) },
);

/** Every key of the model reads back with its value and type, and nothing else is stored. */
function assertMatches(nvs: NvsStorage, model: Map<string, Value>): void {
  for (const [id, v] of model) {
    const [n, k] = id.split('/') as [string, string];
    const h = nvs.open(n, 'readonly');
    assert.equal(h.findKey(k), v.type, `${id} type`);
    assert.deepEqual(h.get(k, v.type), v.value, `${id} value`);
  }
  const stored = [...nvs.entries()].map((e) => `${e.namespace}/${e.key}`).sort();
  assert.deepEqual(stored, [...model.keys()].sort());
}

describe('NvsStorage against a Map model (fast-check)', () => {
  it('random sequences of sets, erases and reloads behave like a Map, across garbage collection', () => {
    fc.assert(
      fc.property(fc.integer({ min: 4, max: 8 }), fc.array(op, { minLength: 1, maxLength: 120 }), (pages, ops) => {
        const flash = new MemoryFlash(pages * PAGE_SIZE);
        let nvs = NvsStorage.init(flash);
        const model = new Map<string, Value>();
        for (const o of ops) {
          if (o.kind === 'reload') {
            nvs = NvsStorage.init(flash);
            continue;
          }
          const h = nvs.open(o.ns, 'readwrite');
          try {
            if (o.kind === 'set') {
              h.set(o.key, o.v.type, o.v.value);
              model.set(`${o.ns}/${o.key}`, o.v);
            } else if (o.kind === 'erase') {
              if (model.has(`${o.ns}/${o.key}`)) {
                h.eraseKey(o.key);
                model.delete(`${o.ns}/${o.key}`);
              } else {
                assert.throws(() => h.eraseKey(o.key), (e: unknown) => e instanceof NvsError && e.code === 'ESP_ERR_NVS_NOT_FOUND');
              }
            } else {
              h.eraseAll();
              for (const id of [...model.keys()]) if (id.startsWith(`${o.ns}/`)) model.delete(id);
            }
          } catch (e) {
            // A full partition refuses the write and keeps the old value: the model stays as it is.
            if (!(e instanceof NvsError && e.code === 'ESP_ERR_NVS_NOT_ENOUGH_SPACE')) throw e;
          }
        }
        assertMatches(nvs, model);
        assertMatches(NvsStorage.init(flash), model);
        assert.deepEqual(NvsStorage.init(new MemoryFlash(flash.bytes), { readOnly: true }).loadNotes, []);
      }),
      { numRuns: 150 },
    );
  });
});
