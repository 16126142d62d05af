import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { nodeCrypto } from '../../src/node/node-crypto.js';

describe('nodeCrypto.aesEcb()', () => {
  it('gives the same blocks on every call: no state is carried from one call to the next', () => {
    const key = crypto.randomBytes(32);
    const ecb = nodeCrypto.aesEcb(key);
    const data = crypto.randomBytes(64);
    const first = ecb.encrypt(data);
    ecb.encrypt(crypto.randomBytes(48)); // an unrelated call in between
    assert.deepEqual(ecb.encrypt(data), first);
    const c = crypto.createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    assert.deepEqual(first, new Uint8Array(Buffer.concat([c.update(data), c.final()])));
    assert.deepEqual(ecb.decrypt(first), new Uint8Array(data));
    assert.deepEqual(ecb.decrypt(first), new Uint8Array(data));
  });

  it('refuses partial blocks and bad key sizes, and any use after destroy()', () => {
    assert.throws(() => nodeCrypto.aesEcb(new Uint8Array(20)), RangeError);
    const ecb = nodeCrypto.aesEcb(new Uint8Array(16));
    assert.throws(() => ecb.encrypt(new Uint8Array(15)), RangeError);
    ecb.destroy();
    assert.throws(() => ecb.encrypt(new Uint8Array(16)), (e: { code?: string }) => e.code === 'CRYPTO_KEY_DESTROYED');
  });
});

describe('nodeCrypto.aesEcbPerSpan()', () => {
  it('processes each span under its own key, both directions, and leaves bytes outside the spans zero', () => {
    const data = crypto.randomBytes(160);
    const keys = crypto.randomBytes(3 * 32);
    const spans = new Uint32Array([0, 32, 32, 48, 80, 160]); // [48, 80) belongs to no span
    for (const direction of ['encrypt', 'decrypt'] as const) {
      const out = nodeCrypto.aesEcbPerSpan(keys, 32, spans, data, direction);
      for (let i = 0; i < 3; i++) {
        const make = direction === 'encrypt' ? crypto.createCipheriv : crypto.createDecipheriv;
        const c = make('aes-256-ecb', keys.subarray(i * 32, i * 32 + 32), null).setAutoPadding(false);
        const want = Buffer.concat([c.update(data.subarray(spans[2 * i]!, spans[2 * i + 1]!)), c.final()]);
        assert.deepEqual(out.subarray(spans[2 * i]!, spans[2 * i + 1]!), new Uint8Array(want));
      }
      assert.deepEqual(out.subarray(48, 80), new Uint8Array(32));
    }
  });

  it('refuses spans that are not whole blocks inside the data, and key material that does not match the spans', () => {
    const data = new Uint8Array(64);
    assert.throws(() => nodeCrypto.aesEcbPerSpan(new Uint8Array(32), 32, new Uint32Array([0, 20]), data, 'encrypt'), RangeError);
    assert.throws(() => nodeCrypto.aesEcbPerSpan(new Uint8Array(32), 32, new Uint32Array([48, 80]), data, 'encrypt'), RangeError);
    assert.throws(() => nodeCrypto.aesEcbPerSpan(new Uint8Array(16), 32, new Uint32Array([0, 16]), data, 'encrypt'), RangeError);
  });
});
