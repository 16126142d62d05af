import { strict as assert } from 'node:assert';
import { createPublicKey, constants as cryptoConstants, verify, type KeyObject } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { CKA } from '../../src/pkcs11/constants.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { TokenSession } from '../../src/pkcs11/token-session.js';
import { certificateVerifyContent } from '../../src/tls/certificate-verify.js';
import { TLS_SIGNATURE_SCHEMES, tokenSigner } from '../../src/tls/token-signer.js';
import { initTestToken, testToken, USER_PIN } from '../pkcs11/_token.js';

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** The token's public key as an OpenSSL key object (from the token's attributes, not from the signer). */
function ecPublic(s: TokenSession, handle: number, crv: 'P-256' | 'P-384'): KeyObject {
  const point = s.attribute(handle, CKA.CKA_EC_POINT).subarray(2); // DER OCTET STRING around 04 ‖ x ‖ y
  const n = (point.length - 1) / 2;
  return createPublicKey({ key: { kty: 'EC', crv, x: b64u(point.subarray(1, 1 + n)), y: b64u(point.subarray(1 + n)) }, format: 'jwk' });
}
function rsaPublic(s: TokenSession, handle: number): KeyObject {
  return createPublicKey({ key: { kty: 'RSA', n: b64u(s.attribute(handle, CKA.CKA_MODULUS)), e: b64u(s.attribute(handle, CKA.CKA_PUBLIC_EXPONENT)) }, format: 'jwk' });
}

describe('tokenSigner()', () => {
  let session: TokenSession;
  before(async () => {
    const token = testToken(new MemoryObjectStore(), { keys: await loadNodeKeyCrypto() });
    initTestToken(token);
    session = TokenSession.open(token, { readWrite: true });
    session.login(USER_PIN);
  });
  const content = certificateVerifyContent('client', new Uint8Array(32).fill(7));

  it('signs with a P-256 token key as ecdsa_secp256r1_sha256, in DER that OpenSSL verifies', async () => {
    const { publicKey, privateKey } = session.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'p256' });
    const signer = tokenSigner(session, privateKey);
    assert.equal(signer.scheme, 'ecdsa_secp256r1_sha256');
    assert.equal(TLS_SIGNATURE_SCHEMES[signer.scheme], 0x0403);
    const sig = await signer.sign(content);
    assert.equal(sig[0], 0x30);
    assert.ok(verify('sha256', content, { key: ecPublic(session, publicKey, 'P-256'), dsaEncoding: 'der' }, sig));
    assert.ok(!verify('sha256', content.subarray(1), { key: ecPublic(session, publicKey, 'P-256'), dsaEncoding: 'der' }, sig));
  });

  it('signs with a P-384 token key as ecdsa_secp384r1_sha384', async () => {
    const { publicKey, privateKey } = session.generateKeyPair({ type: 'ec', curve: 'P-384' }, { label: 'p384' });
    const signer = tokenSigner(session, privateKey);
    assert.equal(signer.scheme, 'ecdsa_secp384r1_sha384');
    assert.ok(verify('sha384', content, { key: ecPublic(session, publicKey, 'P-384'), dsaEncoding: 'der' }, await signer.sign(content)));
  });

  it('signs with an RSA token key as rsa_pss_rsae_sha256 with a 32-byte salt', async () => {
    const { publicKey, privateKey } = session.generateKeyPair({ type: 'rsa', bits: 2048 }, { label: 'rsa' });
    const signer = tokenSigner(session, privateKey);
    assert.equal(signer.scheme, 'rsa_pss_rsae_sha256');
    const sig = await signer.sign(content);
    const key = rsaPublic(session, publicKey);
    assert.ok(verify('sha256', content, { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig));
    const sig384 = await tokenSigner(session, privateKey, 'rsa_pss_rsae_sha384').sign(content);
    assert.ok(verify('sha384', content, { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, sig384));
  });

  it('refuses a public key and a scheme that does not fit the key', () => {
    const { publicKey, privateKey } = session.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'misfit' });
    assert.throws(() => tokenSigner(session, publicKey), { code: 'TLS_KEY_UNSUITABLE' });
    assert.throws(() => tokenSigner(session, privateKey, 'rsa_pss_rsae_sha256'), { code: 'TLS_KEY_UNSUITABLE', message: /fits ecdsa_secp256r1_sha256/ });
  });
});

describe('certificateVerifyContent()', () => {
  it('lays out 64 spaces, the context string, a zero byte and the transcript hash (RFC 8446 §4.4.3)', () => {
    const hash = Uint8Array.from({ length: 32 }, (_, i) => i);
    const expected = Buffer.concat([Buffer.alloc(64, ' '), Buffer.from('TLS 1.3, server CertificateVerify', 'ascii'), Buffer.of(0), hash]);
    assert.deepEqual(Buffer.from(certificateVerifyContent('server', hash)), expected);
    const client = certificateVerifyContent('client', new Uint8Array(48));
    assert.equal(Buffer.from(client.subarray(64, 97)).toString('ascii'), 'TLS 1.3, client CertificateVerify');
    assert.equal(client.length, 64 + 33 + 1 + 48);
  });
  it('refuses a transcript hash that is not SHA-256 or SHA-384 sized', () => {
    assert.throws(() => certificateVerifyContent('client', new Uint8Array(20)), RangeError);
  });
});
