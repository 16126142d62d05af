import type { HashName } from '../../crypto/provider.js';
import { CKF_MECHANISM, CKG, CKK, CKM } from '../constants.js';

const F = CKF_MECHANISM;
const EC_FLAGS = F.CKF_EC_F_P | F.CKF_EC_NAMEDCURVE | F.CKF_EC_UNCOMPRESS;

/** CK_MECHANISM_INFO: key sizes in bits (EC, RSA) or bytes (HMAC, AES), and what the mechanism does. */
export interface MechanismInfo {
  readonly minKeySize: number;
  readonly maxKeySize: number;
  readonly flags: number;
}

/** A signing mechanism: which keys it takes and how it signs. */
export interface SignMechanism {
  readonly family: 'ec' | 'rsa' | 'hmac' | 'cmac';
  /** 'ecdsa' / 'rsa-pkcs1' / 'rsa-pss' go to KeyCrypto; 'hmac' / 'cmac' to the CryptoProvider. */
  readonly scheme: 'ecdsa' | 'rsa-pkcs1' | 'rsa-pss' | 'hmac' | 'cmac';
  /** The hash the token applies to the data; null when the caller passes the digest (or DigestInfo). */
  readonly hash: HashName | null;
  /** Whether C_SignUpdate / C_VerifyUpdate may be used. */
  readonly multipart: boolean;
}

/** Digest mechanisms and their hash. */
export const DIGEST_MECHANISMS: ReadonlyMap<number, HashName> = new Map([
  [CKM.CKM_SHA_1, 'sha1'],
  [CKM.CKM_SHA256, 'sha256'],
  [CKM.CKM_SHA384, 'sha384'],
  [CKM.CKM_SHA512, 'sha512'],
]);

const sign = (family: SignMechanism['family'], scheme: SignMechanism['scheme'], hash: HashName | null): SignMechanism =>
  Object.freeze({ family, scheme, hash, multipart: hash !== null || family === 'hmac' || family === 'cmac' });

/** Signing and verifying mechanisms. */
export const SIGN_MECHANISMS: ReadonlyMap<number, SignMechanism> = new Map([
  [CKM.CKM_ECDSA, sign('ec', 'ecdsa', null)],
  [CKM.CKM_ECDSA_SHA256, sign('ec', 'ecdsa', 'sha256')],
  [CKM.CKM_ECDSA_SHA384, sign('ec', 'ecdsa', 'sha384')],
  [CKM.CKM_ECDSA_SHA512, sign('ec', 'ecdsa', 'sha512')],
  [CKM.CKM_RSA_PKCS, sign('rsa', 'rsa-pkcs1', null)],
  [CKM.CKM_SHA256_RSA_PKCS, sign('rsa', 'rsa-pkcs1', 'sha256')],
  [CKM.CKM_SHA384_RSA_PKCS, sign('rsa', 'rsa-pkcs1', 'sha384')],
  [CKM.CKM_SHA512_RSA_PKCS, sign('rsa', 'rsa-pkcs1', 'sha512')],
  [CKM.CKM_RSA_PKCS_PSS, sign('rsa', 'rsa-pss', null)],
  [CKM.CKM_SHA256_RSA_PKCS_PSS, sign('rsa', 'rsa-pss', 'sha256')],
  [CKM.CKM_SHA384_RSA_PKCS_PSS, sign('rsa', 'rsa-pss', 'sha384')],
  [CKM.CKM_SHA512_RSA_PKCS_PSS, sign('rsa', 'rsa-pss', 'sha512')],
  [CKM.CKM_SHA256_HMAC, sign('hmac', 'hmac', 'sha256')],
  [CKM.CKM_AES_CMAC, sign('cmac', 'cmac', null)],
]);

/** The key type a family's keys have (HMAC also accepts CKK_GENERIC_SECRET). */
export const FAMILY_KEY_TYPES: Readonly<Record<SignMechanism['family'], readonly number[]>> = Object.freeze({
  ec: [CKK.CKK_EC],
  rsa: [CKK.CKK_RSA],
  hmac: [CKK.CKK_SHA256_HMAC, CKK.CKK_GENERIC_SECRET],
  cmac: [CKK.CKK_AES],
});

/** MGF1 hash of each CKG_MGF1_* value. */
export const MGF1_HASHES: ReadonlyMap<number, HashName> = new Map([
  [CKG.CKG_MGF1_SHA1, 'sha1'],
  [CKG.CKG_MGF1_SHA256, 'sha256'],
  [CKG.CKG_MGF1_SHA384, 'sha384'],
  [CKG.CKG_MGF1_SHA512, 'sha512'],
]);

/**
 * Every mechanism the token accepts, with its CK_MECHANISM_INFO: C_GetMechanismList lists exactly
 * these (checklist item 11: advertise every mechanism that is accepted).
 */
export const MECHANISM_INFO: ReadonlyMap<number, MechanismInfo> = new Map<number, MechanismInfo>([
  [CKM.CKM_EC_KEY_PAIR_GEN, { minKeySize: 256, maxKeySize: 384, flags: F.CKF_GENERATE_KEY_PAIR | EC_FLAGS }],
  [CKM.CKM_RSA_PKCS_KEY_PAIR_GEN, { minKeySize: 2048, maxKeySize: 4096, flags: F.CKF_GENERATE_KEY_PAIR }],
  ...[CKM.CKM_ECDSA, CKM.CKM_ECDSA_SHA256, CKM.CKM_ECDSA_SHA384, CKM.CKM_ECDSA_SHA512].map(
    (m): [number, MechanismInfo] => [m, { minKeySize: 256, maxKeySize: 384, flags: F.CKF_SIGN | F.CKF_VERIFY | EC_FLAGS }],
  ),
  ...[CKM.CKM_RSA_PKCS, CKM.CKM_SHA256_RSA_PKCS, CKM.CKM_SHA384_RSA_PKCS, CKM.CKM_SHA512_RSA_PKCS, CKM.CKM_RSA_PKCS_PSS, CKM.CKM_SHA256_RSA_PKCS_PSS, CKM.CKM_SHA384_RSA_PKCS_PSS, CKM.CKM_SHA512_RSA_PKCS_PSS].map(
    (m): [number, MechanismInfo] => [m, { minKeySize: 2048, maxKeySize: 4096, flags: F.CKF_SIGN | F.CKF_VERIFY }],
  ),
  [CKM.CKM_SHA256_HMAC, { minKeySize: 32, maxKeySize: 512, flags: F.CKF_SIGN | F.CKF_VERIFY }],
  [CKM.CKM_AES_CMAC, { minKeySize: 16, maxKeySize: 32, flags: F.CKF_SIGN | F.CKF_VERIFY }],
  ...[...DIGEST_MECHANISMS.keys()].map((m): [number, MechanismInfo] => [m, { minKeySize: 0, maxKeySize: 0, flags: F.CKF_DIGEST }]),
]);
