import { sha256 } from '@noble/hashes/sha2.js';
import { ecdsa, weierstrass, type ECDSA } from '@noble/curves/abstract/weierstrass.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { EC_CURVE_BYTES, type EcCurve, type EcPublicKey, sec1Point } from './public-key.js';

/**
 * ECDSA over a digest the caller computed ("prehashed", as Secure Boot V2 and PKCS#11 CKM_ECDSA
 * sign), on NIST P-192, P-256 and P-384, by @noble/curves (audited, pure JS): OpenSSL as
 * exposed by node:crypto only signs messages it hashes itself. A digest longer than the curve
 * order is truncated to its leftmost bits (FIPS 186-4), so SHA-256 works on P-192.
 */

/** NIST P-192 (FIPS 186-4 D.1.2.1) for @noble/curves, which does not ship it. */
const P192 = /* @__PURE__ */ (() =>
  ecdsa(
    weierstrass({
      p: BigInt('0xfffffffffffffffffffffffffffffffeffffffffffffffff'),
      n: BigInt('0xffffffffffffffffffffffff99def836146bc9b1b4d22831'),
      h: BigInt(1),
      a: BigInt('0xfffffffffffffffffffffffffffffffefffffffffffffffc'),
      b: BigInt('0x64210519e59c80e70fa7e9ab72243049feb8deecc146b9b1'),
      Gx: BigInt('0x188da80eb03090f67cbf20eb43a18800f4ff0afd82ff1012'),
      Gy: BigInt('0x07192b95ffc8da78631011ed6b24cdd573f977a11e794811'),
    }),
    sha256,
  ))();

let curves: Readonly<Record<EcCurve, ECDSA>> | undefined;
function curveOf(curve: EcCurve): ECDSA {
  curves ??= Object.freeze({ 'P-192': P192, 'P-256': p256, 'P-384': p384 });
  const c = Object.hasOwn(curves, curve) ? curves[curve] : undefined;
  if (c === undefined) throw new RangeError(`"curve" must be one of P-192, P-256, P-384, got ${String(curve)}`);
  return c;
}

/**
 * Checks an ECDSA signature r ‖ s (big-endian, curve width each) of `digest` under `key`. Any
 * malformed input (wrong lengths, a point off the curve, r or s out of range) gives false. High-s
 * signatures are accepted, as every ECDSA verifier outside blockchains does.
 */
export function ecdsaVerifyDigest(key: EcPublicKey, digest: Uint8Array, signature: Uint8Array): boolean {
  const c = curveOf(key.curve);
  if (signature.length !== 2 * EC_CURVE_BYTES[key.curve]) return false;
  try {
    return c.verify(signature, digest, sec1Point(key), { prehash: false, lowS: false, format: 'compact' });
  } catch {
    return false; // malformed point or signature: not a valid signature
  }
}

/**
 * Signs `digest` with the private scalar `d` (big-endian, curve width): deterministic nonce
 * (RFC 6979) hedged with `extraEntropy`, so a weak random source cannot leak the key.
 * @returns r ‖ s, big-endian, curve width each
 */
export function ecdsaSignDigest(curve: EcCurve, d: Uint8Array, digest: Uint8Array, extraEntropy: Uint8Array): Uint8Array {
  return curveOf(curve).sign(digest, d, { prehash: false, extraEntropy, format: 'compact' });
}
