import { type HashName, hashLength } from '../crypto/provider.js';
import { EC_CURVE_BYTES, type EcPublicKey, type PublicKey } from '../crypto/public-key.js';
import type { Signer } from '../crypto/signer.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { CKA, CKG, CKM, CKR } from './constants.js';
import { Pkcs11Error } from './pkcs11-error.js';
import { curveOfEcParams, decodeEcPoint } from './token/key-encoding.js';
import type { TokenSession } from './token-session.js';

/** PSS parameters for a digest of `hash`: MGF1 over the same hash, salt as long as the digest (the {@link Signer} contract). */
const PSS: Readonly<Record<HashName, { hashAlg: number; mgf: number }>> = Object.freeze({
  sha1: { hashAlg: CKM.CKM_SHA_1, mgf: CKG.CKG_MGF1_SHA1 },
  sha224: { hashAlg: CKM.CKM_SHA224, mgf: CKG.CKG_MGF1_SHA224 },
  sha256: { hashAlg: CKM.CKM_SHA256, mgf: CKG.CKG_MGF1_SHA256 },
  sha384: { hashAlg: CKM.CKM_SHA384, mgf: CKG.CKG_MGF1_SHA384 },
  sha512: { hashAlg: CKM.CKM_SHA512, mgf: CKG.CKG_MGF1_SHA512 },
});

/**
 * A {@link Signer} over a private key held by a token: the key never leaves it. EC keys sign the
 * caller's digest with CKM_ECDSA (r ‖ s at the curve width, as PKCS#11 returns it); RSA keys with
 * CKM_RSA_PKCS_PSS (MGF1 over the digest's hash, salt as long as the digest). The session must
 * stay open and logged in while the signer is used; `destroy` only drops the signer's hold on
 * the handle (the token object stays).
 *
 * @param session an open session, logged in as the user
 * @param privateKey the private key's object handle
 * @param publicKey its public half (see {@link tokenPublicKey})
 * @throws {Pkcs11Error} from `sign` when the token refuses (logged out, wrong handle, closed session)
 * @throws {NvsecError} CRYPTO_KEY_DESTROYED from `sign` after `destroy`
 * @example
 * const { privateKey, publicKey } = session.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'Device Priv TLS Key' });
 * const signer = tokenSigner(session, privateKey, tokenPublicKey(session, publicKey));
 * const rs = await signer.sign(sha256(message), 'sha256');
 */
export function tokenSigner(session: TokenSession, privateKey: number, publicKey: PublicKey): Signer {
  if (!Number.isSafeInteger(privateKey) || privateKey <= 0) throw new RangeError(`"privateKey" must be an object handle (a positive integer), got ${String(privateKey)}`);
  let handle: number | null = privateKey;
  return {
    publicKey,
    sign: async (digest: Uint8Array, hash: HashName) => {
      if (handle === null) throw new NvsecError('CRYPTO_KEY_DESTROYED', 'This token signer was destroyed: make a new one over the key handle');
      if (digest.length !== hashLength(hash)) throw new RangeError(`"digest" must be a ${hashLength(hash)}-byte ${hash} digest, got ${digest.length} bytes`);
      if (publicKey.kind === 'ec') {
        const rs = session.sign(handle, 'ECDSA', digest);
        if (rs.length !== 2 * EC_CURVE_BYTES[publicKey.curve]) {
          throw new NvsecError('KEY_MISMATCH', `the token signed with a ${rs.length * 4}-bit key, but the public key given is on ${publicKey.curve}: pass the public half of this private key`);
        }
        return new Uint8Array(rs);
      }
      const { hashAlg, mgf } = PSS[hash];
      session.token.signInit(session.handle, { mechanism: CKM.CKM_RSA_PKCS_PSS, parameter: { hashAlg, mgf, saltLen: digest.length } }, handle);
      return new Uint8Array(session.token.sign(session.handle, digest, Number.MAX_SAFE_INTEGER).value!);
    },
    destroy: () => {
      handle = null;
    },
  };
}

/**
 * The EC public key of a token's public-key object (CKA_EC_PARAMS and CKA_EC_POINT), in the form
 * nvsec's signers and verifiers use.
 *
 * @throws {Pkcs11Error} CKR_ATTRIBUTE_TYPE_INVALID when the object is not an EC key on P-256 or P-384
 * @example const pub = tokenPublicKey(session, session.findOne('Device Pub TLS Key', 'public-key'));
 */
export function tokenPublicKey(session: TokenSession, publicKey: number): EcPublicKey {
  const a = session.attributes(publicKey, [CKA.CKA_EC_PARAMS, CKA.CKA_EC_POINT]);
  const params = a.get(CKA.CKA_EC_PARAMS);
  const pointValue = a.get(CKA.CKA_EC_POINT);
  const curve = params === undefined ? null : curveOfEcParams(params);
  const point = curve === null || pointValue === undefined ? null : decodeEcPoint(curve, pointValue);
  if (curve === null || point === null) {
    throw new Pkcs11Error(CKR.CKR_ATTRIBUTE_TYPE_INVALID, `object ${publicKey} is not an EC public key on P-256 or P-384 with an uncompressed CKA_EC_POINT`);
  }
  const w = EC_CURVE_BYTES[curve];
  return { kind: 'ec', curve, x: point.slice(1, 1 + w), y: point.slice(1 + w) };
}
