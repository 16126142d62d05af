import * as crypto from 'node:crypto';
import type { CryptoProvider, HashName } from '../crypto/provider.js';

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

function ecb(decrypt: boolean, key: Uint8Array, data: Uint8Array): Uint8Array {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new RangeError(`"key" must be 16, 24 or 32 bytes, got ${key.length}`);
  if (data.length % 16 !== 0) throw new RangeError(`"data" must be whole 16-byte blocks, got ${data.length} bytes`);
  const algorithm = `aes-${key.length * 8}-ecb`;
  const c = decrypt ? crypto.createDecipheriv(algorithm, key, null) : crypto.createCipheriv(algorithm, key, null);
  c.setAutoPadding(false);
  const out = Buffer.concat([c.update(data), c.final()]);
  return u8(out);
}

/** {@link CryptoProvider} over node:crypto (OpenSSL). */
export const nodeCrypto: CryptoProvider = Object.freeze({
  randomBytes: (length: number) => u8(crypto.randomBytes(length)),
  digest: (hash: HashName, data: Uint8Array) => u8(crypto.createHash(hash).update(data).digest()),
  hmac: (hash: HashName, key: Uint8Array, data: Uint8Array) => u8(crypto.createHmac(hash, key).update(data).digest()),
  pbkdf2: (hash: HashName, password: Uint8Array, salt: Uint8Array, iterations: number, length: number) =>
    u8(crypto.pbkdf2Sync(password, salt, iterations, length, hash)),
  aesEcbEncrypt: (key: Uint8Array, data: Uint8Array) => ecb(false, key, data),
  aesEcbDecrypt: (key: Uint8Array, data: Uint8Array) => ecb(true, key, data),
});
