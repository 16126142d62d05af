import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_OBJECTS, FIRST_DYNAMIC_HANDLE } from '../../src/pkcs11/pal/default-labels.js';
import type { ObjectStore } from '../../src/pkcs11/pal/object-store.js';
import { PalError } from '../../src/pkcs11/pal/pal-error.js';
import { BACKENDS, cleanupBackends } from './_backends.js';

after(cleanupBackends);

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17) & 0xff);
const palError = (code: string, ckr?: number) => (e: unknown) => e instanceof PalError && e.code === code && (ckr === undefined || e.ckr === ckr);

for (const kind of BACKENDS) {
  describe(`ObjectStore contract: ${kind.name}`, () => {
    it('finds nothing in a new store and lists no labels', () => {
      const { store } = kind.make();
      for (const o of DEFAULT_OBJECTS) assert.equal(store.find(o.label), null);
      assert.deepEqual(store.labels(), []);
      assert.deepEqual(store.list(), []);
    });

    it('gives every default label its fixed handle (Device Priv TLS Key = 1 ... Claim Cert = 8, Root Cert 9, JITP Cert 10)', () => {
      const { store } = kind.make();
      const expected: Record<string, number> = {
        'Device Priv TLS Key': 1,
        'Device Pub TLS Key': 2,
        'Device Cert': 3,
        'Code Verify Key': 4,
        'HMAC Key': 5,
        'CMAC Key': 6,
        'Claim Key': 7,
        'Claim Cert': 8,
        'Root Cert': 9,
        'JITP Cert': 10,
      };
      for (const [label, handle] of Object.entries(expected)) {
        const secret = ['Device Priv TLS Key', 'HMAC Key', 'CMAC Key', 'Claim Key'].includes(label);
        assert.equal(store.save(label, bytes(40, handle), { isPrivate: secret }), handle, label);
        assert.equal(store.find(label), handle, label);
      }
      assert.deepEqual(store.labels(), Object.keys(expected));
    });

    it('returns a fresh copy: mutating the result or the saved input changes nothing stored', () => {
      const { store } = kind.make();
      const input = bytes(100);
      const h = store.save('Device Cert', input, { isPrivate: false });
      input.fill(0);
      const first = store.get(h);
      assert.deepEqual(first, { label: 'Device Cert', data: bytes(100), isPrivate: false });
      first.data.fill(0);
      assert.deepEqual(store.get(h).data, bytes(100));
      const buffer = Buffer.from(bytes(100)); // Buffer#slice is a view: the store must really copy
      const hb = store.save('Root Cert', buffer, { isPrivate: false });
      buffer.fill(0);
      assert.deepEqual(new Uint8Array(store.get(hb).data), bytes(100));
    });

    it('replaces the value and the privacy flag when a label is saved again, keeping its handle', () => {
      const { store } = kind.make();
      const h = store.save('my data', bytes(10, 1), { isPrivate: false });
      assert.equal(store.save('my data', bytes(300, 2), { isPrivate: true }), h);
      assert.deepEqual(store.get(h), { label: 'my data', data: bytes(300, 2), isPrivate: true });
      assert.deepEqual(store.labels(), ['my data']);
    });

    it('stores an empty value and a multi-chunk (8 KB) value', () => {
      const { store } = kind.make();
      const e = store.save('empty', new Uint8Array(0), { isPrivate: false });
      const big = store.save('big', bytes(8000, 3), { isPrivate: true });
      assert.deepEqual(store.get(e).data, new Uint8Array(0));
      assert.deepEqual(store.get(big).data, bytes(8000, 3));
    });

    it('gives other labels distinct handles from FIRST_DYNAMIC_HANDLE up, never 0, stable while they exist', () => {
      const { store } = kind.make();
      const a = store.save('alpha', bytes(5), { isPrivate: false });
      const b = store.save('beta', bytes(5), { isPrivate: false });
      assert.ok(a >= FIRST_DYNAMIC_HANDLE && b >= FIRST_DYNAMIC_HANDLE && a !== b);
      assert.equal(store.save('alpha', bytes(6), { isPrivate: false }), a);
      assert.equal(store.find('alpha'), a);
      assert.equal(store.find('beta'), b);
    });

    it('never hands a destroyed label\'s handle to a new label', () => {
      const { store } = kind.make();
      const a = store.save('first', bytes(5), { isPrivate: false });
      store.destroy(a);
      const b = store.save('second', bytes(5), { isPrivate: false });
      assert.notEqual(b, a);
    });

    it('accepts any UTF-8 label of 1..32 bytes and rejects longer, empty, non-string and lone-surrogate labels', () => {
      const { store } = kind.make();
      const labels = ['x', 'ünïcödé 🔑', '../../etc/passwd', 'a/b\\c:d', '..', '.', 'CON', 'with\u0000nul', 'k'.repeat(32), '€'.repeat(10) + 'ab'];
      for (const l of labels) {
        const h = store.save(l, new TextEncoder().encode(l), { isPrivate: false });
        assert.equal(store.find(l), h);
      }
      for (const l of labels) assert.deepEqual(store.get(store.find(l)!).data, new TextEncoder().encode(l), l);
      assert.throws(() => store.save('k'.repeat(33), bytes(1), { isPrivate: false }), (e) => e instanceof RangeError && /33 bytes/.test(e.message));
      assert.throws(() => store.save('€'.repeat(11), bytes(1), { isPrivate: false }), RangeError, '33 bytes of UTF-8 in 11 characters');
      assert.throws(() => store.save('', bytes(1), { isPrivate: false }), RangeError);
      assert.throws(() => store.save('bad\ud800', bytes(1), { isPrivate: false }), (e) => e instanceof RangeError && /surrogate/.test(e.message));
      assert.throws(() => store.find(42 as never), TypeError);
      assert.throws(() => store.find('k'.repeat(33)), RangeError);
      assert.throws(() => store.save('ok', 'text' as never, { isPrivate: false }), TypeError);
      assert.throws(() => store.save('ok', bytes(1), {} as never), TypeError);
      assert.equal(store.find('ok'), null, 'rejected saves store nothing');
    });

    it('refuses to save a secret default label as public', () => {
      const { store } = kind.make();
      for (const label of ['Device Priv TLS Key', 'HMAC Key', 'CMAC Key', 'Claim Key']) {
        assert.throws(() => store.save(label, bytes(32), { isPrivate: false }), palError('PAL_PRIVATE_REQUIRED', 0x13), label);
        assert.equal(store.find(label), null);
      }
    });

    it('destroys idempotently for a known handle and rejects handles it never issued', () => {
      const { store } = kind.make();
      const h = store.save('Device Cert', bytes(10), { isPrivate: false });
      const d = store.save('dyn', bytes(10), { isPrivate: false });
      store.destroy(h);
      store.destroy(d);
      assert.equal(store.find('Device Cert'), null);
      assert.equal(store.find('dyn'), null);
      store.destroy(h);
      store.destroy(d);
      store.destroy(9); // a fixed slot that never held anything
      assert.throws(() => store.get(h), palError('PAL_OBJECT_ABSENT', 0x82));
      for (const bad of [0, 11, FIRST_DYNAMIC_HANDLE + 1000, -1, 1.5]) {
        assert.throws(() => store.destroy(bad), palError('PAL_HANDLE_INVALID', 0x60), String(bad));
        assert.throws(() => store.get(bad), palError('PAL_HANDLE_INVALID', 0x60), String(bad));
      }
      assert.deepEqual(store.labels(), []);
    });

    it('saves a destroyed label again under its handle', () => {
      const { store } = kind.make();
      const h = store.save('Root Cert', bytes(10, 1), { isPrivate: false });
      store.destroy(h);
      assert.equal(store.save('Root Cert', bytes(12, 2), { isPrivate: false }), h);
      assert.deepEqual(store.get(h).data, bytes(12, 2));
    });

    it('keeps 200 objects apart', () => {
      const { store } = kind.make();
      const handles = new Map<string, number>();
      for (let i = 0; i < 200; i++) handles.set(`obj ${i}`, store.save(`obj ${i}`, bytes(i % 50, i), { isPrivate: i % 3 === 0 }));
      assert.equal(new Set(handles.values()).size, 200);
      for (const [label, h] of handles) {
        const i = Number(label.slice(4));
        assert.deepEqual(store.get(h), { label, data: bytes(i % 50, i), isPrivate: i % 3 === 0 });
      }
    });

    const persistent = kind.make().reopen !== null;
    // A memory store has nothing to re-open: the test exists only for the persistent backends.
    if (persistent) it('keeps objects, handles and flags across re-open', () => {
      const { store, reopen } = kind.make();
      const key = store.save('Device Priv TLS Key', bytes(121, 1), { isPrivate: true });
      const cert = store.save('Device Cert', bytes(500, 2), { isPrivate: false });
      const dyn = store.save('backup key ✓', bytes(32, 3), { isPrivate: true });
      const gone = store.save('gone', bytes(3), { isPrivate: false });
      store.destroy(gone);
      const again = reopen!();
      assert.deepEqual(again.list(), [
        { handle: key, label: 'Device Priv TLS Key', isPrivate: true },
        { handle: cert, label: 'Device Cert', isPrivate: false },
        { handle: dyn, label: 'backup key ✓', isPrivate: true },
      ]);
      assert.deepEqual(again.get(dyn).data, bytes(32, 3));
      assert.deepEqual(again.get(key).data, bytes(121, 1));
      const next = again.save('new after reopen', bytes(1), { isPrivate: false });
      assert.ok(next > dyn && next !== gone, 'handles keep counting after re-open, past destroyed ones');
    });

    it('behaves like a Map under random save/destroy sequences (and re-opens)', () => {
      const labelArb = fc.constantFrom('Device Priv TLS Key', 'Device Cert', 'Root Cert', 'a', 'b', 'ünï', 'k'.repeat(32));
      const op = fc.oneof(
        fc.record({ kind: fc.constant('save' as const), label: labelArb, data: fc.uint8Array({ maxLength: 300 }), isPrivate: fc.boolean() }),
        fc.record({ kind: fc.constant('destroy' as const), label: labelArb }),
        fc.record({ kind: fc.constant('reopen' as const) }),
      );
      fc.assert(
        fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
          const backend = kind.make();
          let store: ObjectStore = backend.store;
          const model = new Map<string, { data: Uint8Array; isPrivate: boolean }>();
          const handles = new Map<string, number>();
          for (const o of ops) {
            if (o.kind === 'reopen') {
              if (backend.reopen) store = backend.reopen();
              // A re-opened store forgets destroyed dynamic labels: they get a new handle if saved again.
              for (const l of [...handles.keys()]) if (!model.has(l) && !DEFAULT_OBJECTS.some((d) => d.label === l)) handles.delete(l);
              continue;
            }
            if (o.kind === 'save') {
              const isPrivate = o.isPrivate || ['Device Priv TLS Key'].includes(o.label);
              const h = store.save(o.label, o.data, { isPrivate });
              if (handles.has(o.label)) assert.equal(h, handles.get(o.label), 'a label keeps its handle');
              handles.set(o.label, h);
              model.set(o.label, { data: o.data, isPrivate });
            } else {
              const h = store.find(o.label);
              assert.equal(h !== null, model.has(o.label));
              if (h !== null) store.destroy(h);
              model.delete(o.label);
            }
            assert.deepEqual(new Set(store.labels()), new Set(model.keys()));
          }
          for (const [label, v] of model) assert.deepEqual(store.get(store.find(label)!), { label, data: v.data, isPrivate: v.isPrivate });
        }),
        { numRuns: 40 },
      );
    });
  });
}
