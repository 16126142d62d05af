// What the benchmarks that drive a PKCS#11 module through pkcs11js share: a P-256 signing key
// pair made in a session, and its public key as OpenSSL sees it (to check every signature).
import * as crypto from 'node:crypto';
import type * as Pkcs11js from 'pkcs11js';

/** DER OID of prime256v1 (1.2.840.10045.3.1.7, RFC 5480): CKA_EC_PARAMS of a P-256 key. */
export const P256_EC_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');

/** ECDSA P-256 public key object of an uncompressed point 04 ‖ X ‖ Y. */
export function p256Public(point: Uint8Array): crypto.KeyObject {
  const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
  return crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64(point.subarray(1, 33)), y: b64(point.subarray(33, 65)) }, format: 'jwk' });
}

/**
 * C_GenerateKeyPair(CKM_EC_KEY_PAIR_GEN) of a P-256 session key pair (sensitive, private, signing)
 * in a logged-in R/W session.
 *
 * @returns the handles and the uncompressed public point read back from CKA_EC_POINT
 * @throws {Error} when the module's CKA_EC_POINT is not an uncompressed P-256 point
 */
export function generateSessionP256Key(pkcs11js: typeof Pkcs11js, p11: Pkcs11js.PKCS11, session: Buffer): { privateKey: Buffer; publicKey: Buffer; point: Uint8Array } {
  const keys = p11.C_GenerateKeyPair(
    session,
    { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
    [
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_EC_PARAMS, value: P256_EC_PARAMS },
      { type: pkcs11js.CKA_VERIFY, value: true },
    ],
    [
      { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_PRIVATE, value: true },
      { type: pkcs11js.CKA_SENSITIVE, value: true },
      { type: pkcs11js.CKA_SIGN, value: true },
    ],
  );
  // CKA_EC_POINT is the DER OCTET STRING around 04 ‖ X ‖ Y (some modules give the bare point).
  const [attr] = p11.C_GetAttributeValue(session, keys.publicKey, [{ type: pkcs11js.CKA_EC_POINT }]);
  const value = attr?.value;
  if (!Buffer.isBuffer(value)) throw new Error('the public key has no CKA_EC_POINT');
  const point = value.length === 67 && value[0] === 0x04 && value[1] === 65 ? value.subarray(2) : value;
  if (point.length !== 65 || point[0] !== 0x04) throw new Error(`CKA_EC_POINT is not an uncompressed P-256 point: ${value.toString('hex')}`);
  return { privateKey: keys.privateKey, publicKey: keys.publicKey, point: new Uint8Array(point) };
}
