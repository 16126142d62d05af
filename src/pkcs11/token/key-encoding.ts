import { DER_TAG, derEncode, derUnsignedInteger, readDer } from '../../bytes/der.js';
import { bytesEqual } from '../../bytes/equal.js';
import { TOKEN_CURVE_BYTES, type TokenCurve } from '../../crypto/key-crypto.js';

/** DER of the named-curve OIDs a token accepts in CKA_EC_PARAMS (ecParameters CHOICE namedCurve). */
export const EC_PARAMS: Readonly<Record<TokenCurve, Uint8Array>> = Object.freeze({
  'P-256': Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07),
  'P-384': Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22),
});

const EC_PUBLIC_KEY_OID = Uint8Array.of(0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);
const RSA_ENCRYPTION_ALGORITHM = Uint8Array.of(0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00);

/**
 * The curve named by a CKA_EC_PARAMS value; null for anything else (explicit parameters, other
 * curves, junk).
 */
export function curveOfEcParams(params: Uint8Array): TokenCurve | null {
  for (const curve of Object.keys(EC_PARAMS) as TokenCurve[]) if (bytesEqual(params, EC_PARAMS[curve])) return curve;
  return null;
}

/** Whether `params` is a well-formed DER OBJECT IDENTIFIER (a named curve, supported or not). */
export function isNamedCurveParams(params: Uint8Array): boolean {
  try {
    const t = readDer(params, 0);
    return t.tag === DER_TAG.OID && t.end === params.length && t.end > t.start;
  } catch {
    return false;
  }
}

/** CKA_EC_POINT as PKCS#11 2.40 stores it: a DER OCTET STRING around the uncompressed point. */
export function encodeEcPoint(point: Uint8Array): Uint8Array {
  return derEncode(DER_TAG.OCTET_STRING, point);
}

/**
 * The uncompressed point in a CKA_EC_POINT value: the DER OCTET STRING form, or (as some tools
 * send it) the raw point; null when it is neither for `curve`.
 */
export function decodeEcPoint(curve: TokenCurve, value: Uint8Array): Uint8Array | null {
  const raw = 1 + 2 * TOKEN_CURVE_BYTES[curve];
  if (value.length === raw && value[0] === 0x04) return value;
  try {
    const t = readDer(value, 0);
    if (t.tag === DER_TAG.OCTET_STRING && t.end === value.length && t.end - t.start === raw && value[t.start] === 0x04) return value.subarray(t.start, t.end);
  } catch {
    /* not DER */
  }
  return null;
}

/** SubjectPublicKeyInfo DER of an EC public key (CKA_PUBLIC_KEY_INFO). */
export function ecSpki(curve: TokenCurve, point: Uint8Array): Uint8Array {
  return derEncode(
    DER_TAG.SEQUENCE,
    derEncode(DER_TAG.SEQUENCE, EC_PUBLIC_KEY_OID, EC_PARAMS[curve]),
    derEncode(DER_TAG.BIT_STRING, Uint8Array.of(0), point),
  );
}

/** SubjectPublicKeyInfo DER of an RSA public key (CKA_PUBLIC_KEY_INFO). */
export function rsaSpki(n: Uint8Array, e: Uint8Array): Uint8Array {
  const key = derEncode(DER_TAG.SEQUENCE, derUnsignedInteger(n), derUnsignedInteger(e));
  return derEncode(DER_TAG.SEQUENCE, RSA_ENCRYPTION_ALGORITHM, derEncode(DER_TAG.BIT_STRING, Uint8Array.of(0), key));
}

/** `value` without leading zero bytes (big integers are compared and measured this way). */
export function trimLeadingZeros(value: Uint8Array): Uint8Array {
  let i = 0;
  while (i < value.length && value[i] === 0) i++;
  return value.subarray(i);
}

/** Bit length of the big-endian unsigned integer `value`. */
export function bitLength(value: Uint8Array): number {
  const v = trimLeadingZeros(value);
  return v.length === 0 ? 0 : (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
}
