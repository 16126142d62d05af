import * as crypto from 'node:crypto';
import type { Aead, KeyShare, TlsCrypto } from '../tls/tls-crypto.js';

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

/** TLS SignatureScheme → OpenSSL digest and padding (RFC 8446 §4.2.3). */
const SCHEMES: Readonly<Record<number, { hash: string; pss: boolean; curve?: string }>> = Object.freeze({
  0x0403: { hash: 'sha256', pss: false, curve: 'prime256v1' },
  0x0503: { hash: 'sha384', pss: false, curve: 'secp384r1' },
  0x0603: { hash: 'sha512', pss: false, curve: 'secp521r1' },
  0x0804: { hash: 'sha256', pss: true },
  0x0805: { hash: 'sha384', pss: true },
  0x0806: { hash: 'sha512', pss: true },
});

/**
 * {@link TlsCrypto} over node:crypto (OpenSSL): P-256 ECDH, AES-GCM, signature checks.
 *
 * @example
 * const conn = await connectTls({ transport, serverName: 'localhost', trustAnchors: [caDer], crypto: nodeCrypto, tlsCrypto: nodeTlsCrypto });
 */
export const nodeTlsCrypto: TlsCrypto = Object.freeze({
  keyShare(group: 'secp256r1'): Promise<KeyShare> {
    if (group !== 'secp256r1') throw new RangeError(`group must be secp256r1, got ${String(group)}`);
    let ecdh: crypto.ECDH | undefined = crypto.createECDH('prime256v1');
    const publicKey = u8(ecdh.generateKeys());
    return Promise.resolve({
      publicKey,
      deriveSecret(peerShare: Uint8Array): Promise<Uint8Array> {
        if (ecdh === undefined) throw new Error('key share used after destroy()');
        return Promise.resolve(u8(ecdh.computeSecret(peerShare))); // throws for a point not on the curve
      },
      destroy(): void {
        ecdh = undefined; // node:crypto gives no way to wipe the private scalar in place
      },
    });
  },
  aesGcm(key: Uint8Array): Aead {
    if (key.length !== 16 && key.length !== 32) throw new RangeError(`AES-GCM key must be 16 or 32 bytes, got ${key.length}`);
    const keyObject = crypto.createSecretKey(key);
    const algorithm = key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
    return {
      seal(nonce, plaintext, aad) {
        const c = crypto.createCipheriv(algorithm, keyObject, nonce, { authTagLength: 16 });
        c.setAAD(aad);
        return Promise.resolve(u8(Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()])));
      },
      open(nonce, ciphertext, aad) {
        if (ciphertext.length < 16) return Promise.reject(new RangeError('AES-GCM ciphertext shorter than its tag'));
        const d = crypto.createDecipheriv(algorithm, keyObject, nonce, { authTagLength: 16 });
        d.setAAD(aad);
        d.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
        try {
          return Promise.resolve(u8(Buffer.concat([d.update(ciphertext.subarray(0, ciphertext.length - 16)), d.final()])));
        } catch (e) {
          return Promise.reject(e instanceof Error ? e : new Error(String(e)));
        }
      },
      destroy() {
        // the KeyObject holds the key inside OpenSSL; dropping it is all node:crypto allows
      },
    };
  },
  verify(spki: Uint8Array, scheme: number, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
    const s = SCHEMES[scheme];
    if (s === undefined) return Promise.resolve(false);
    try {
      const key = crypto.createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
      const ok = s.pss
        ? key.asymmetricKeyType === 'rsa' && crypto.verify(s.hash, data, { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST }, signature)
        : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === s.curve && crypto.verify(s.hash, data, { key, dsaEncoding: 'der' }, signature);
      return Promise.resolve(ok);
    } catch {
      return Promise.resolve(false);
    }
  },
});
