/** Hash functions a provider must offer. */
export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/**
 * The cryptography nvsec's core uses, injected so core modules never import `node:*` and run in
 * a browser too. `nvsec/node` exports an implementation over node:crypto (OpenSSL). All calls are
 * synchronous; inputs and outputs are `Uint8Array`.
 */
export interface CryptoProvider {
  /** `length` bytes from a cryptographically secure generator. */
  randomBytes(length: number): Uint8Array;
  /** Digest of `data`. */
  digest(hash: HashName, data: Uint8Array): Uint8Array;
  /** HMAC of `data` under `key`. */
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array;
  /** PBKDF2 (RFC 8018) with HMAC-`hash`. */
  pbkdf2(hash: HashName, password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array;
  /**
   * AES-ECB encryption of whole 16-byte blocks, no padding, with a 16-, 24- or 32-byte key. The
   * block primitive that modes such as XTS are composed from; called with many blocks at once.
   */
  aesEcbEncrypt(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** AES-ECB decryption of whole 16-byte blocks, no padding. */
  aesEcbDecrypt(key: Uint8Array, data: Uint8Array): Uint8Array;
}
