import * as crypto from 'node:crypto';
import type { CryptoProvider, HashName } from '../crypto/provider.js';

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

/** {@link CryptoProvider} over node:crypto (OpenSSL). */
export const nodeCrypto: CryptoProvider = Object.freeze({
  randomBytes: (length: number) => u8(crypto.randomBytes(length)),
  digest: (hash: HashName, data: Uint8Array) => u8(crypto.createHash(hash).update(data).digest()),
  hmac: (hash: HashName, key: Uint8Array, data: Uint8Array) => u8(crypto.createHmac(hash, key).update(data).digest()),
  pbkdf2: (hash: HashName, password: Uint8Array, salt: Uint8Array, iterations: number, length: number) =>
    u8(crypto.pbkdf2Sync(password, salt, iterations, length, hash)),
});
