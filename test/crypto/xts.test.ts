import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from '../../src/bytes/hex.js';
import { xtsDecrypt, xtsEncrypt } from '../../src/crypto/xts.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';

/** The plaintext of IEEE 1619 vectors 4 and 10: bytes 0x00..0xff, twice (a 512-byte data unit). */
const COUNTER_512 = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);

/** OpenSSL's own XTS (one cipher per data unit), as an independent reference. */
function opensslXts(key: Uint8Array, data: Uint8Array, unitSize: number, sectors: number[], decrypt = false): Uint8Array {
  const out = new Uint8Array(data.length);
  sectors.forEach((s, i) => {
    const iv = Buffer.alloc(16);
    iv.writeUInt32LE(s >>> 0, 0);
    iv.writeUInt32LE(Math.floor(s / 0x100000000), 4);
    const alg = key.length === 64 ? 'aes-256-xts' : 'aes-128-xts';
    const c = decrypt ? crypto.createDecipheriv(alg, key, iv) : crypto.createCipheriv(alg, key, iv);
    out.set(Buffer.concat([c.update(data.subarray(i * unitSize, (i + 1) * unitSize)), c.final()]), i * unitSize);
  });
  return out;
}

describe('xtsEncrypt() / xtsDecrypt()', () => {
  it('IEEE 1619 vector 10 (XTS-AES-256, 512-byte unit, sequence 0xff) gives the published ciphertext', () => {
    const key = fromHex(
      '2718281828459045235360287471352662497757247093699959574966967627' + '3141592653589793238462643383279502884197169399375105820974944592',
    );
    const ct = xtsEncrypt(nodeCrypto, key, COUNTER_512, 512, [0xff]);
    assert.equal(
      toHex(ct.subarray(0, 256)),
      '1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b' +
        '5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd' +
        '5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0' +
        'c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca' +
        '2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0' +
        'b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f' +
        '93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec' +
        '583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a',
    );
    assert.deepEqual(ct, opensslXts(key, COUNTER_512, 512, [0xff]));
    assert.deepEqual(xtsDecrypt(nodeCrypto, key, ct, 512, [0xff]), COUNTER_512);
  });

  it('IEEE 1619 vector 4 (XTS-AES-128, 512-byte unit, sequence 0) gives the published ciphertext', () => {
    const key = fromHex('27182818284590452353602874713526' + '31415926535897932384626433832795');
    const ct = xtsEncrypt(nodeCrypto, key, COUNTER_512, 512, [0]);
    assert.equal(toHex(ct.subarray(0, 32)), '27a7479befa1d476489f308cd4cfa6e2a96e4bbe3208ff25287dd3819616e89c');
    assert.deepEqual(ct, opensslXts(key, COUNTER_512, 512, [0]));
  });

  it('encrypts an NVS entry as in the spec worked example (key 0x00..0x3f, tweak 0x40)', () => {
    const key = Uint8Array.from({ length: 64 }, (_, i) => i);
    const pt = fromHex('000101ff60bfbe297365637572650000000000000000000001ffffffffffffff');
    assert.equal(toHex(xtsEncrypt(nodeCrypto, key, pt, 32, [0x40])), '28b7d6b2c4eeb6ce82aa7941ccf5273c52f886eabd5d12a2f4f453aa926c86e4');
  });

  it('agrees with OpenSSL for many units with arbitrary sector numbers in one call, and decrypts back', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(32, 64),
        fc.constantFrom(16, 32, 128),
        fc.array(fc.nat(2 ** 40), { minLength: 1, maxLength: 40 }),
        fc.integer(),
        (keyLen, unitSize, sectors, seed) => {
          const key = crypto.createHash('sha512').update(String(seed)).digest().subarray(0, keyLen);
          if (key.subarray(0, keyLen / 2).equals(key.subarray(keyLen / 2))) return; // OpenSSL refuses equal halves
          const data = crypto.randomBytes(sectors.length * unitSize);
          const ct = xtsEncrypt(nodeCrypto, key, data, unitSize, sectors);
          assert.deepEqual(ct, opensslXts(key, data, unitSize, sectors));
          assert.deepEqual(xtsDecrypt(nodeCrypto, key, ct, unitSize, sectors), new Uint8Array(data));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects a bad key length, unit size or data length', () => {
    const key = new Uint8Array(64).map((_, i) => i);
    assert.throws(() => xtsEncrypt(nodeCrypto, new Uint8Array(48), new Uint8Array(32), 32, [0]), RangeError);
    assert.throws(() => xtsEncrypt(nodeCrypto, key, new Uint8Array(40), 40, [0]), RangeError);
    assert.throws(() => xtsEncrypt(nodeCrypto, key, new Uint8Array(32), 32, [0, 1]), RangeError);
    assert.throws(() => xtsEncrypt(nodeCrypto, key, new Uint8Array(32), 32, [-1]), RangeError);
  });
});
