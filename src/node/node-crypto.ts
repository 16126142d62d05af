import * as crypto from 'node:crypto';
import type { AesEcb, CryptoProvider, HashName } from '../crypto/provider.js';
import { NvsecError } from '../errors/nvsec-error.js';

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

/**
 * ECB is stateless from block to block, so one OpenSSL context per direction serves every call
 * (update() only, never final()): no cipher object per call.
 */
function aesEcb(key: Uint8Array): AesEcb {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new RangeError(`"key" must be 16, 24 or 32 bytes, got ${key.length}`);
  const algorithm = `aes-${key.length * 8}-ecb`;
  let enc: crypto.Cipher | null = crypto.createCipheriv(algorithm, key, null).setAutoPadding(false);
  let dec: crypto.Decipher | null = crypto.createDecipheriv(algorithm, key, null).setAutoPadding(false);
  const blocks = (data: Uint8Array): void => {
    if (data.length % 16 !== 0) throw new RangeError(`"data" must be whole 16-byte blocks, got ${data.length} bytes`);
  };
  const gone = (): never => {
    throw new NvsecError('CRYPTO_KEY_DESTROYED', 'This AES key was destroyed: set up the cipher again');
  };
  return {
    encrypt: (data) => {
      blocks(data);
      return u8((enc ?? gone()).update(data));
    },
    decrypt: (data) => {
      blocks(data);
      return u8((dec ?? gone()).update(data));
    },
    destroy: () => {
      enc = null;
      dec = null;
    },
  };
}

/** {@link CryptoProvider} over node:crypto (OpenSSL). */
export const nodeCrypto: CryptoProvider = Object.freeze({
  randomBytes: (length: number) => u8(crypto.randomBytes(length)),
  digest: (hash: HashName, data: Uint8Array) => u8(crypto.createHash(hash).update(data).digest()),
  hmac: (hash: HashName, key: Uint8Array, data: Uint8Array) => u8(crypto.createHmac(hash, key).update(data).digest()),
  pbkdf2: (hash: HashName, password: Uint8Array, salt: Uint8Array, iterations: number, length: number) =>
    u8(crypto.pbkdf2Sync(password, salt, iterations, length, hash)),
  aesEcb,
});
