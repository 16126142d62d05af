/** Curves nvsec signs and verifies with (NIST names). */
export type EcCurve = 'P-192' | 'P-256' | 'P-384';

/** An RSA public key: modulus and public exponent, big-endian without leading zero bytes. */
export interface RsaPublicKey {
  readonly kind: 'rsa';
  readonly n: Uint8Array;
  readonly e: Uint8Array;
}

/** An EC public key: the affine point, each coordinate big-endian at the curve's full width. */
export interface EcPublicKey {
  readonly kind: 'ec';
  readonly curve: EcCurve;
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

/** A public key nvsec verifies signatures with. */
export type PublicKey = RsaPublicKey | EcPublicKey;

/** Byte width of a coordinate, a scalar and each of r and s on `curve`. */
export const EC_CURVE_BYTES: Readonly<Record<EcCurve, number>> = Object.freeze({ 'P-192': 24, 'P-256': 32, 'P-384': 48 });

/**
 * The uncompressed SEC1 point 0x04 ‖ X ‖ Y of `key`.
 *
 * @throws {RangeError} when a coordinate is not the curve's width
 * @example sec1Point(key).length; // 65 on P-256
 */
export function sec1Point(key: EcPublicKey): Uint8Array {
  const w = EC_CURVE_BYTES[key.curve];
  if (key.x.length !== w || key.y.length !== w) throw new RangeError(`a ${key.curve} point has ${w}-byte coordinates, got ${key.x.length} and ${key.y.length}`);
  const p = new Uint8Array(1 + 2 * w);
  p[0] = 4;
  p.set(key.x, 1);
  p.set(key.y, 1 + w);
  return p;
}

/** Bit length of an RSA modulus (big-endian bytes, leading zeros allowed). */
export function rsaModulusBits(n: Uint8Array): number {
  let i = 0;
  while (i < n.length && n[i] === 0) i++;
  if (i === n.length) return 0;
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!));
}
