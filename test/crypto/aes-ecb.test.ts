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
