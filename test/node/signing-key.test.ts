import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { generateSigningKey, readSigningKey } from '../../src/node/signing-key.js';

const isDestroyed = (e: unknown): boolean => e instanceof NvsecError && e.code === 'CRYPTO_KEY_DESTROYED';

describe('readSigningKey(): EC signers', () => {
  for (const [scheme, hash, width] of [
    ['ecdsa256', 'sha256', 32],
    ['ecdsa384', 'sha384', 48],
    ['ecdsa192', 'sha256', 24],
  ] as const) {
    it(`${scheme}: signs digests that node:crypto (OpenSSL) verifies over the message, with a fresh nonce each time`, async () => {
      const pem = generateSigningKey(scheme);
      const { signer, publicKeyPem } = readSigningKey(pem);
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const message = crypto.randomBytes(100 + i);
        const digest = new Uint8Array(crypto.createHash(hash).update(message).digest());
        const sig = await signer!.sign(digest, hash);
        assert.equal(sig.length, 2 * width);
        assert.ok(crypto.verify(hash, message, { key: publicKeyPem, dsaEncoding: 'ieee-p1363' }, sig), `signature ${i}`);
        assert.ok(!crypto.verify(hash, Buffer.concat([message, Buffer.of(0)]), { key: publicKeyPem, dsaEncoding: 'ieee-p1363' }, sig));
        seen.add(Buffer.from(sig.subarray(0, width)).toString('hex'));
      }
      assert.equal(seen.size, 20, 'r repeats: a nonce was reused');
      signer!.destroy!();
    });
  }

  it('signs concurrent first signatures with one prepared key', async () => {
    const { signer, publicKeyPem } = readSigningKey(generateSigningKey('ecdsa256'));
    const digest = new Uint8Array(crypto.createHash('sha256').update('m').digest());
    const sigs = await Promise.all(Array.from({ length: 8 }, () => signer!.sign(digest, 'sha256')));
    for (const sig of sigs) assert.ok(crypto.verify('sha256', Buffer.from('m'), { key: publicKeyPem, dsaEncoding: 'ieee-p1363' }, sig));
  });

  it('refuses to sign after destroy(), also when destroyed while its first signature was being prepared', async () => {
    const digest = new Uint8Array(32);
    for (const scheme of ['ecdsa256', 'ecdsa384', 'ecdsa192'] as const) {
      const a = readSigningKey(generateSigningKey(scheme)).signer!;
      await a.sign(digest, 'sha256');
      a.destroy!();
      await assert.rejects(a.sign(digest, 'sha256'), isDestroyed);
      const b = readSigningKey(generateSigningKey(scheme)).signer!;
      const pending = b.sign(digest, 'sha256');
      b.destroy!();
      await assert.rejects(pending, isDestroyed);
      await assert.rejects(b.sign(digest, 'sha256'), isDestroyed);
    }
  });

  it('refuses a digest whose length is not the hash length', async () => {
    const { signer } = readSigningKey(generateSigningKey('ecdsa256'));
    await assert.rejects(signer!.sign(new Uint8Array(31), 'sha256'), RangeError);
    await assert.rejects(signer!.sign(new Uint8Array(32), 'sha384'), RangeError);
  });
});
