import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { CKA } from '../../src/pkcs11/constants.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { TokenSession } from '../../src/pkcs11/token-session.js';
import { tokenPublicKey, tokenSigner } from '../../src/pkcs11/token-signer.js';
import { initTestToken, testToken, USER_PIN } from './_token.js';

async function session(): Promise<TokenSession> {
  const token = testToken(new MemoryObjectStore(), { keys: await loadNodeKeyCrypto() });
  initTestToken(token);
  const s = TokenSession.open(token, { readWrite: true });
  s.login(USER_PIN);
  return s;
}

describe('tokenSigner()', () => {
  for (const [curve, hash, nodeHash, width] of [['P-256', 'sha256', 'sha256', 32], ['P-384', 'sha384', 'sha384', 48]] as const) {
    it(`signs a ${hash} digest with a ${curve} token key; node:crypto verifies it over the message`, async () => {
      const s = await session();
      const pair = s.generateKeyPair({ type: 'ec', curve }, { label: 'k' });
      const pub = tokenPublicKey(s, pair.publicKey);
      const point = s.attribute(pair.publicKey, CKA.CKA_EC_POINT).subarray(2);
      assert.deepEqual(new Uint8Array([4, ...pub.x, ...pub.y]), new Uint8Array(point));
      const signer = tokenSigner(s, pair.privateKey, pub);
      const message = Buffer.from('to be signed');
      const rs = await signer.sign(crypto.createHash(nodeHash).update(message).digest(), hash);
      assert.equal(rs.length, 2 * width);
      const key = crypto.createPublicKey({ key: { kty: 'EC', crv: curve, x: Buffer.from(pub.x).toString('base64url'), y: Buffer.from(pub.y).toString('base64url') }, format: 'jwk' });
      assert.ok(crypto.verify(nodeHash, message, { key, dsaEncoding: 'ieee-p1363' }, rs));
      s.close();
    });
  }

  it('signs RSA keys with PSS (salt = digest length), as the Signer contract says', async () => {
    const s = await session();
    const pair = s.generateKeyPair({ type: 'rsa', bits: 2048 }, { label: 'r' });
    const n = s.attribute(pair.publicKey, CKA.CKA_MODULUS);
    const e = s.attribute(pair.publicKey, CKA.CKA_PUBLIC_EXPONENT);
    const signer = tokenSigner(s, pair.privateKey, { kind: 'rsa', n, e });
    const message = Buffer.from('firmware');
    const sig = await signer.sign(crypto.createHash('sha256').update(message).digest(), 'sha256');
    const key = crypto.createPublicKey({ key: { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: Buffer.from(e).toString('base64url') }, format: 'jwk' });
    assert.ok(crypto.verify('sha256', message, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig));
    s.close();
  });

  it('checks the digest length, and refuses to sign after destroy()', async () => {
    const s = await session();
    const pair = s.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'k' });
    const signer = tokenSigner(s, pair.privateKey, tokenPublicKey(s, pair.publicKey));
    await assert.rejects(signer.sign(new Uint8Array(31), 'sha256'), RangeError);
    signer.destroy!();
    await assert.rejects(signer.sign(new Uint8Array(32), 'sha256'), (err: unknown) => err instanceof NvsecError && err.code === 'CRYPTO_KEY_DESTROYED');
    s.close();
  });
});
