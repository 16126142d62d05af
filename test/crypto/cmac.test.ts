import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { aesCmac } from '../../src/crypto/cmac.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';

/** AES-CMAC by the OpenSSL command line (`openssl mac`), an implementation independent of ours. */
function opensslCmac(key: Uint8Array, data: Uint8Array): string {
  const cipher = `AES-${key.length * 8}-CBC`;
  return execFileSync('openssl', ['mac', '-cipher', cipher, '-macopt', `hexkey:${Buffer.from(key).toString('hex')}`, 'CMAC'], { input: data }).toString().trim().toLowerCase();
}

describe('aesCmac', () => {
  it('matches RFC 4493 example 1 (empty message)', () => {
    const key = Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex');
    assert.equal(Buffer.from(aesCmac(nodeCrypto, key, new Uint8Array(0))).toString('hex'), 'bb1d6929e95937287fa37d129b756746');
  });

  it('matches OpenSSL for every key size and for messages around the block boundaries', () => {
    for (const keyLen of [16, 24, 32]) {
      const key = crypto.randomBytes(keyLen);
      for (const len of [0, 1, 15, 16, 17, 31, 32, 33, 64, 100]) {
        const data = crypto.randomBytes(len);
        assert.equal(Buffer.from(aesCmac(nodeCrypto, key, data)).toString('hex'), opensslCmac(key, data), `key ${keyLen}, ${len} bytes`);
      }
    }
  });

  it('is a 16-byte tag that changes with every message bit (property)', () => {
    const key = crypto.randomBytes(16);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 80 }), fc.nat(), (data, bit) => {
        const flipped = data.slice();
        const i = bit % (data.length * 8);
        flipped[i >> 3]! ^= 1 << (i & 7);
        const a = aesCmac(nodeCrypto, key, data);
        return a.length === 16 && !Buffer.from(a).equals(Buffer.from(aesCmac(nodeCrypto, key, flipped)));
      }),
      { numRuns: 200 },
    );
  });
});
