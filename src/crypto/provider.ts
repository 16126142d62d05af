import type { PublicKey } from './public-key.js';

/** Hash functions a provider must offer. */
export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
/**
 * Names {@link CryptoProvider.digest} accepts: the hash functions plus MD5, which formats still use
 * as a checksum (the ESP partition table's MD5 entry); never for security.
 */
export type DigestName = HashName | 'md5';

/** Digest length in bytes of each {@link HashName}. */
export const HASH_LENGTH: Readonly<Record<HashName, number>> = Object.freeze({ sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 });

/**
 * Length in bytes of a `hash` digest.
 * @throws {RangeError} for a name that is not a {@link HashName}
 */
export function hashLength(hash: HashName): number {
  const n = Object.hasOwn(HASH_LENGTH, hash) ? HASH_LENGTH[hash] : undefined;
  if (n === undefined) throw new RangeError(`"hash" must be one of ${Object.keys(HASH_LENGTH).join(', ')}, got ${String(hash)}`);
  return n;
}

/**
 * The cryptography nvsec's core uses, injected so core modules never import `node:*` and run in
 * a browser too. `nvsec/node` exports an implementation over node:crypto (OpenSSL). All calls are
 * synchronous; inputs and outputs are `Uint8Array`.
 */
export interface CryptoProvider {
  /** `length` bytes from a cryptographically secure generator. */
  randomBytes(length: number): Uint8Array;
  /** Digest of `data`. */
  digest(hash: DigestName, data: Uint8Array): Uint8Array;
  /** An incremental hash of `hash`, fed piece by piece (e.g. a running entropy pool). */
  hash(hash: HashName): IncrementalHash;
  /** HMAC of `data` under `key`. */
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array;
  /**
   * An HMAC keyed once and used for many messages (HMAC_DRBG chains): no per-message key setup.
   * Same results as {@link CryptoProvider.hmac}.
   */
  hmacKey(hash: HashName, key: Uint8Array): HmacKey;
  /** PBKDF2 (RFC 8018) with HMAC-`hash`. */
  pbkdf2(hash: HashName, password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array;
  /**
   * An AES-ECB block cipher keyed once (16-, 24- or 32-byte key) and used for many calls: the
   * primitive modes such as XTS are composed from. Set it up once per key; each call should
   * process many blocks.
   */
  aesEcb(key: Uint8Array): AesEcb;
  /**
   * AES-ECB where every span of `data` has its own key, for schemes that re-key every block or
   * two (ESP32 flash encryption): span i is `data[spans[2i], spans[2i+1])` (whole 16-byte blocks)
   * under `keys[i*keyLength, (i+1)*keyLength)`. One call for all spans, so the per-key cost is
   * only the key setup. Bytes outside every span are zero in the result.
   */
  aesEcbPerSpan(keys: Uint8Array, keyLength: 16 | 24 | 32, spans: Uint32Array, data: Uint8Array, direction: 'encrypt' | 'decrypt'): Uint8Array;
  /**
   * Checks a signature of a digest the caller computed (`digest` = `hash` of the message):
   * RSASSA-PSS with MGF1 over `hash` and a salt as long as the digest for RSA keys (signature
   * big-endian, modulus length), ECDSA for EC keys (r ‖ s, big-endian at the curve width).
   * Resolves to false for every signature that does not verify, malformed ones included.
   * Asynchronous like WebCrypto, and so implementations can load curve code on first use.
   */
  verifyDigest(key: PublicKey, hash: HashName, digest: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** A running hash: `update` any number of times, then `digest` once (later calls throw). */
export interface IncrementalHash {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

/** A keyed AES-ECB cipher over whole 16-byte blocks, no padding. */
export interface AesEcb {
  encrypt(data: Uint8Array): Uint8Array;
  decrypt(data: Uint8Array): Uint8Array;
  /** Drops the key; later calls throw. */
  destroy(): void;
}

/** A keyed HMAC (RFC 2104) over many messages. */
export interface HmacKey {
  /** HMAC of the concatenation of `parts` (a new array each call). */
  mac(...parts: Uint8Array[]): Uint8Array;
  /** Zeroizes the key material; later calls throw. */
  destroy(): void;
}
