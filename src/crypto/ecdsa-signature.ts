import { DER_TAG, derChildren, derEncode, derUnsignedInteger, readDer } from '../bytes/der.js';

/**
 * An ECDSA signature r ‖ s (PKCS#11, WebCrypto) as the DER `SEQUENCE { INTEGER r, INTEGER s }`
 * that X.509, TLS and `openssl dgst` use.
 * @example ecdsaRawToDer(sig64); // 30 44 02 20 … 02 20 …
 */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new RangeError(`an r ‖ s signature has an even, non-zero length, got ${raw.length}`);
  const half = raw.length / 2;
  return derEncode(DER_TAG.SEQUENCE, derUnsignedInteger(raw.subarray(0, half)), derUnsignedInteger(raw.subarray(half)));
}

/**
 * A DER ECDSA signature as r ‖ s, each at `width` bytes (the curve's).
 * @throws {RangeError} when `der` is not `SEQUENCE { INTEGER r, INTEGER s }` with integers that fit
 */
export function ecdsaDerToRaw(der: Uint8Array, width: number): Uint8Array {
  const seq = readDer(der, 0);
  const parts = derChildren(der, seq);
  if (seq.tag !== DER_TAG.SEQUENCE || seq.end !== der.length || parts.length !== 2 || parts.some((p) => p.tag !== DER_TAG.INTEGER)) throw new RangeError('not SEQUENCE { INTEGER r, INTEGER s }');
  const raw = new Uint8Array(2 * width);
  parts.forEach((p, i) => {
    let v = der.subarray(p.start, p.end);
    while (v.length > 0 && v[0] === 0) v = v.subarray(1);
    if (v.length > width) throw new RangeError(`an integer is longer than ${width} bytes`);
    raw.set(v, (i + 1) * width - v.length);
  });
  return raw;
}
