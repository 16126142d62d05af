import { ecdsaRawToDer } from '../crypto/ecdsa-signature.js';
import { NvsecError } from '../errors/nvsec-error.js';
import type { SignAlgorithm, TokenSession } from '../pkcs11/token-session.js';

/** TLS 1.3 SignatureScheme code points (RFC 8446 §4.2.3) a token key can sign with, by their RFC names. */
export const TLS_SIGNATURE_SCHEMES = Object.freeze({
  ecdsa_secp256r1_sha256: 0x0403,
  ecdsa_secp384r1_sha384: 0x0503,
  rsa_pss_rsae_sha256: 0x0804,
  rsa_pss_rsae_sha384: 0x0805,
});
export type TlsSignatureSchemeName = keyof typeof TLS_SIGNATURE_SCHEMES;

/**
 * Signs a TLS 1.3 CertificateVerify for the client; the private key never leaves whatever holds it.
 * `sign` takes the whole content to sign (see `certificateVerifyContent`) and returns the
 * signature as it goes on the wire (ECDSA: DER `Ecdsa-Sig-Value`; RSA-PSS: the modulus-sized value).
 */
export interface TlsSigner {
  readonly scheme: TlsSignatureSchemeName;
  sign(content: Uint8Array): Promise<Uint8Array>;
}

const MECHANISM: Readonly<Record<TlsSignatureSchemeName, SignAlgorithm>> = Object.freeze({
  ecdsa_secp256r1_sha256: 'ECDSA-SHA256',
  ecdsa_secp384r1_sha384: 'ECDSA-SHA384',
  rsa_pss_rsae_sha256: 'SHA256-RSA-PKCS-PSS', // salt length = hash length, as RFC 8446 requires
  rsa_pss_rsae_sha384: 'SHA384-RSA-PKCS-PSS',
});

/**
 * A {@link TlsSigner} over a private key in an nvsec token: each CertificateVerify is one C_Sign
 * in `session` (which must stay open and logged in as the user). The scheme follows the key: P-256 →
 * ecdsa_secp256r1_sha256, P-384 → ecdsa_secp384r1_sha384, RSA → rsa_pss_rsae_sha256 (or
 * `rsa_pss_rsae_sha384` when asked).
 *
 * @throws NvsecError `TLS_KEY_UNSUITABLE` when `privateKey` is not an EC P-256/P-384 or RSA private key,
 *   or `scheme` does not fit it; PKCS#11 errors of C_Sign (e.g. CKR_USER_NOT_LOGGED_IN) when signing.
 * @example
 * const { privateKey } = session.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'Device Priv TLS Key' });
 * const signer = tokenSigner(session, privateKey); // scheme 'ecdsa_secp256r1_sha256'
 * const sig = await signer.sign(certificateVerifyContent('client', transcriptHash));
 */
export function tokenSigner(session: TokenSession, privateKey: number, scheme?: TlsSignatureSchemeName): TlsSigner {
  const key = session.describe(privateKey);
  let fits: readonly TlsSignatureSchemeName[] = [];
  if (key.class === 'private-key' && key.keyType === 'EC' && key.curve === 'P-256') fits = ['ecdsa_secp256r1_sha256'];
  else if (key.class === 'private-key' && key.keyType === 'EC' && key.curve === 'P-384') fits = ['ecdsa_secp384r1_sha384'];
  else if (key.class === 'private-key' && key.keyType === 'RSA') fits = ['rsa_pss_rsae_sha256', 'rsa_pss_rsae_sha384'];
  const chosen = scheme ?? fits[0];
  if (chosen === undefined || !fits.includes(chosen)) {
    const what = `${key.class}${key.keyType === undefined ? '' : ` ${key.keyType}`}${key.curve === undefined ? '' : ` ${key.curve}`}`;
    throw new NvsecError(
      'TLS_KEY_UNSUITABLE',
      `object ${privateKey} ("${key.label}", ${what}) cannot sign TLS 1.3 as ${chosen ?? 'any scheme'}: use an EC P-256/P-384 or RSA private key${fits.length > 0 ? ` (this one fits ${fits.join(', ')})` : ''}`,
    );
  }
  const mechanism = MECHANISM[chosen];
  const isEc = chosen.startsWith('ecdsa');
  return Object.freeze({
    scheme: chosen,
    sign(content: Uint8Array): Promise<Uint8Array> {
      const raw = session.sign(privateKey, mechanism, content);
      return Promise.resolve(isEc ? ecdsaRawToDer(raw) : raw);
    },
  });
}
