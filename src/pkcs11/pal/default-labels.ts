import { CKO } from '../constants.js';
/**
 * The default object labels of corePKCS11 (`core_pkcs11_config_defaults.h`), by their macro names.
 * Cryptoki code ported from C can use the same names.
 */
export const PKCS11_LABELS = Object.freeze({
  pkcs11configLABEL_DEVICE_PRIVATE_KEY_FOR_TLS: 'Device Priv TLS Key',
  pkcs11configLABEL_DEVICE_PUBLIC_KEY_FOR_TLS: 'Device Pub TLS Key',
  pkcs11configLABEL_DEVICE_CERTIFICATE_FOR_TLS: 'Device Cert',
  pkcs11configLABEL_CODE_VERIFICATION_KEY: 'Code Verify Key',
  pkcs11configLABEL_HMAC_KEY: 'HMAC Key',
  pkcs11configLABEL_CMAC_KEY: 'CMAC Key',
  pkcs11configLABEL_CLAIM_PRIVATE_KEY: 'Claim Key',
  pkcs11configLABEL_CLAIM_CERTIFICATE: 'Claim Cert',
  pkcs11configLABEL_ROOT_CERTIFICATE: 'Root Cert',
  pkcs11configLABEL_JITP_CERTIFICATE: 'JITP Cert',
});

/** corePKCS11's maximum label length in bytes (`pkcs11configMAX_LABEL_LENGTH`). */
export const MAX_LABEL_BYTES = 32;

/** One credential slot with a fixed handle. */
export interface DefaultObject {
  /** The corePKCS11 macro naming the label. */
  readonly macro: keyof typeof PKCS11_LABELS;
  readonly label: string;
  /** The fixed store handle (1..8 as the corePKCS11 posix PAL numbers them; 9 and 10 added here). */
  readonly handle: number;
  /** Whether the object is secret (private key, HMAC/CMAC key): it must be saved private. */
  readonly secret: boolean;
  /** The short NVS key of the object (at most 15 characters), after the posix PAL's file names. */
  readonly nvsKey: string;
  /** The CKO_ class of the object the slot holds. */
  readonly objectClass: number;
}

const row = (macro: keyof typeof PKCS11_LABELS, handle: number, secret: boolean, nvsKey: string, objectClass: number): DefaultObject =>
  Object.freeze({ macro, label: PKCS11_LABELS[macro], handle, secret, nvsKey, objectClass });

/**
 * The credential slots with fixed handles, in handle order. Handles 1..8 follow the corePKCS11
 * posix/winsim PAL (`eAwsDevicePrivateKey` = 1 … `eAwsClaimCertificate` = 8); the root CA and the
 * JITP certificate, which the shipped PALs do not map, get 9 and 10. Any other label gets a
 * handle from {@link FIRST_DYNAMIC_HANDLE} up.
 *
 * @example
 * DEFAULT_OBJECTS.find((o) => o.label === 'Device Cert')?.handle; // 3
 */
export const DEFAULT_OBJECTS: readonly DefaultObject[] = Object.freeze([
  row('pkcs11configLABEL_DEVICE_PRIVATE_KEY_FOR_TLS', 1, true, 'p11_key', CKO.CKO_PRIVATE_KEY),
  row('pkcs11configLABEL_DEVICE_PUBLIC_KEY_FOR_TLS', 2, false, 'p11_pubkey', CKO.CKO_PUBLIC_KEY),
  row('pkcs11configLABEL_DEVICE_CERTIFICATE_FOR_TLS', 3, false, 'p11_cert', CKO.CKO_CERTIFICATE),
  row('pkcs11configLABEL_CODE_VERIFICATION_KEY', 4, false, 'p11_codesign', CKO.CKO_PUBLIC_KEY),
  row('pkcs11configLABEL_HMAC_KEY', 5, true, 'p11_hmac', CKO.CKO_SECRET_KEY),
  row('pkcs11configLABEL_CMAC_KEY', 6, true, 'p11_cmac', CKO.CKO_SECRET_KEY),
  row('pkcs11configLABEL_CLAIM_PRIVATE_KEY', 7, true, 'p11_claim_key', CKO.CKO_PRIVATE_KEY),
  row('pkcs11configLABEL_CLAIM_CERTIFICATE', 8, false, 'p11_claim_cert', CKO.CKO_CERTIFICATE),
  row('pkcs11configLABEL_ROOT_CERTIFICATE', 9, false, 'p11_root_cert', CKO.CKO_CERTIFICATE),
  row('pkcs11configLABEL_JITP_CERTIFICATE', 10, false, 'p11_jitp_cert', CKO.CKO_CERTIFICATE),
]);

/**
 * The first handle given to a label outside {@link DEFAULT_OBJECTS}. Later ones count up from a
 * persisted high-water mark, so a handle is never given to two labels of one store.
 */
export const FIRST_DYNAMIC_HANDLE = 0x100;

/** The largest handle (CK_OBJECT_HANDLE is 32 bits on the smallest platforms). */
export const MAX_HANDLE = 0xffffffff;

/**
 * The label of the public half of a key pair whose private half is labelled `privateLabel`: the
 * corePKCS11 device TLS pair has two labels ("Device Priv TLS Key" / "Device Pub TLS Key", fixed
 * handles 1 and 2); any other pair shares one label.
 *
 * @example publicLabelFor('Device Priv TLS Key'); // 'Device Pub TLS Key'
 */
export function publicLabelFor(privateLabel: string): string {
  return privateLabel === PKCS11_LABELS.pkcs11configLABEL_DEVICE_PRIVATE_KEY_FOR_TLS ? PKCS11_LABELS.pkcs11configLABEL_DEVICE_PUBLIC_KEY_FOR_TLS : privateLabel;
}
