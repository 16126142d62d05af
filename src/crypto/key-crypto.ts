import type { HashName } from './provider.js';

/** Curves a token can generate and use keys on. */
export type TokenCurve = 'P-256' | 'P-384';

/** Byte width of a scalar / coordinate of each {@link TokenCurve}. */
export const TOKEN_CURVE_BYTES: Readonly<Record<TokenCurve, number>> = Object.freeze({ 'P-256': 32, 'P-384': 48 });

/** An RSA public key as big-endian unsigned integers (no leading-zero requirement). */
export interface RsaPublicComponents {
  readonly n: Uint8Array;
  readonly e: Uint8Array;
}

/** An RSA private key with its CRT parameters, big-endian unsigned integers. */
export interface RsaPrivateComponents extends RsaPublicComponents {
  readonly d: Uint8Array;
  readonly p: Uint8Array;
  readonly q: Uint8Array;
  readonly dp: Uint8Array;
  readonly dq: Uint8Array;
  readonly qi: Uint8Array;
}

/** A private key to prepare for signing. `d` is the EC scalar, big-endian at the curve width. */
export type PrivateKeyMaterial =
  | { readonly type: 'ec'; readonly curve: TokenCurve; readonly d: Uint8Array }
  | ({ readonly type: 'rsa' } & RsaPrivateComponents);

/** A public key to prepare for verifying. `point` is the uncompressed SEC1 point 04 ‖ X ‖ Y. */
export type PublicKeyMaterial =
  | { readonly type: 'ec'; readonly curve: TokenCurve; readonly point: Uint8Array }
  | ({ readonly type: 'rsa' } & RsaPublicComponents);

/**
 * How to sign. `hash: null` means the caller already hashed: the data is the digest (CKM_ECDSA,
 * CKM_RSA_PKCS_PSS) or, for `rsa-pkcs1`, the DER DigestInfo to pad and sign as it is (CKM_RSA_PKCS).
 *
 * - `ecdsa`: signature r ‖ s, big-endian, each at the curve width. A digest longer than the
 *   order is truncated to its leftmost bits (FIPS 186-4 §6.4); a shorter one is used as an integer.
 * - `rsa-pkcs1`: RSASSA-PKCS1-v1_5 (EMSA-PKCS1-v1_5 / block type 1); signature as long as the modulus.
 * - `rsa-pss`: RSASSA-PSS with MGF1 over `mgfHash` and a salt of `saltLength` bytes. With
 *   `hash: null` the data is a digest of `mgfHash` (EMSA-PSS hashes M' with the same function).
 */
export type SignatureScheme =
  | { readonly kind: 'ecdsa'; readonly hash: HashName | null }
  | { readonly kind: 'rsa-pkcs1'; readonly hash: HashName | null }
  | { readonly kind: 'rsa-pss'; readonly hash: HashName | null; readonly mgfHash: HashName; readonly saltLength: number };

/** A prepared private key. Holds its own copy of the key; {@link PreparedPrivateKey.destroy} drops it. */
export interface PreparedPrivateKey {
  /**
   * Signs `data` with `scheme`.
   * @throws {RangeError} when the scheme does not fit the key (ECDSA with an RSA key, PSS digest
   *   length not the hash's, DigestInfo too long for the modulus, an MGF1 hash the platform cannot use)
   */
  sign(scheme: SignatureScheme, data: Uint8Array): Uint8Array;
  /** Zeroizes the key bytes this object owns and releases platform key handles; later calls throw. */
  destroy(): void;
}

/** A prepared public key. */
export interface PreparedPublicKey {
  /**
   * Whether `signature` is a valid `scheme` signature of `data`. False for every signature that
   * does not verify, malformed ones (wrong length, r or s out of range) included.
   * @throws {RangeError} when the scheme does not fit the key
   */
  verify(scheme: SignatureScheme, data: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * The asymmetric cryptography a PKCS#11 token needs, synchronously (Cryptoki calls are
 * synchronous). Injected like {@link CryptoProvider} so the token never imports `node:*`;
 * `nvsec/node` has an implementation over OpenSSL (`loadNodeKeyCrypto()`).
 *
 * Keys are prepared once and used for many operations, so a token can sign thousands of times a
 * second without re-parsing a key.
 */
export interface KeyCrypto {
  /** A fresh EC key pair: scalar `d` (curve width) and uncompressed public point. */
  generateEcKey(curve: TokenCurve): { d: Uint8Array; point: Uint8Array };
  /**
   * A fresh RSA key pair.
   * @throws {RangeError} for a size other than 2048..4096 bits in steps of 8, or an even or < 3 exponent
   */
  generateRsaKey(bits: number, publicExponent: Uint8Array): RsaPrivateComponents;
  /**
   * The uncompressed public point of scalar `d`.
   * @throws {RangeError} when `d` is not 1..n-1 at the curve width
   */
  ecPublicPoint(curve: TokenCurve, d: Uint8Array): Uint8Array;
  /**
   * Whether `point` is an uncompressed point on `curve` (not the identity).
   */
  isEcPoint(curve: TokenCurve, point: Uint8Array): boolean;
  /**
   * Prepares a private key for signing (validates it: EC scalar in range, RSA components consistent).
   * @throws {RangeError} for a key that is not valid
   */
  preparePrivateKey(key: PrivateKeyMaterial): PreparedPrivateKey;
  /**
   * Prepares a public key for verifying.
   * @throws {RangeError} for a key that is not valid (point not on the curve, modulus < 512 bits, even exponent)
   */
  preparePublicKey(key: PublicKeyMaterial): PreparedPublicKey;
}
