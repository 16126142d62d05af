import type { Backend } from '../_support/pkcs11-backends.js';

/**
 * Where SoftHSMv2 2.6.1 (Debian softhsm2) behaves differently from what the conformance checklist
 * (spec pkcs11-and-p11kit.md §1.10) or PKCS#11 2.40 requires. For exactly these items the suite asserts
 * what SoftHSM actually does when it runs against SoftHSM (so this table goes red the day SoftHSM
 * changes), and the requirement everywhere else, including for every item against nvsec's token.
 * test/pkcs11/conformance-differences.test.ts checks that every row is used by its item's test.
 */
export interface SoftHsmDifference {
  readonly item: number;
  /** What the checklist requires, with the PKCS#11 2.40 section it rests on. */
  readonly spec: string;
  /** What SoftHSM 2.6.1 does instead (asserted by the test). */
  readonly softhsm: string;
  /** Which behaviour PKCS#11 2.40 supports: nvsec's only, or both (the checklist's rule is then corePKCS11's choice). */
  readonly supports: 'nvsec' | 'both';
  /** Why, in one sentence. */
  readonly why: string;
}

export const SOFTHSM_DIFFERENCES: readonly SoftHsmDifference[] = Object.freeze([
  {
    item: 8,
    spec: 'CK_TOKEN_INFO.ulSessionCount / ulRwSessionCount = sessions this application has open (2.40 base §3.2, CK_TOKEN_INFO)',
    softhsm: 'reports CK_UNAVAILABLE_INFORMATION for both counts',
    supports: 'both',
    why: '2.40 lets a token report CK_UNAVAILABLE_INFORMATION for the session counts; the checklist asks for the real count, which nvsec gives',
  },
  {
    item: 14,
    spec: 'a bounded session table; one more C_OpenSession → CKR_SESSION_COUNT (2.40 base §5.6 C_OpenSession)',
    softhsm: 'ulMaxSessionCount = CK_EFFECTIVELY_INFINITE: no table to fill (256 more sessions open fine)',
    supports: 'both',
    why: '2.40 allows CK_EFFECTIVELY_INFINITE; nvsec bounds the table (64) as corePKCS11 does',
  },
  {
    item: 20,
    spec: 'C_Logout when not logged in → CKR_USER_NOT_LOGGED_IN (2.40 base §5.6 C_Logout)',
    softhsm: 'returns CKR_OK',
    supports: 'nvsec',
    why: "C_Logout's return values name CKR_USER_NOT_LOGGED_IN for this case",
  },
  {
    item: 21,
    spec: 'C_SignInit with a private key while not logged in → CKR_USER_NOT_LOGGED_IN (2.40 base §5.11 C_SignInit return values)',
    softhsm: 'returns CKR_OBJECT_HANDLE_INVALID (not a C_SignInit return value)',
    supports: 'nvsec',
    why: "CKR_OBJECT_HANDLE_INVALID is not among C_SignInit's return values; CKR_USER_NOT_LOGGED_IN is",
  },
  {
    item: 25,
    spec: 'certificate without CKA_LABEL → CKR_TEMPLATE_INCOMPLETE; label > 32 bytes → CKR_DATA_LEN_RANGE (checklist, corePKCS11 rule; 2.40 base §4.4 makes CKA_LABEL optional)',
    softhsm: 'creates the certificate without a label, and with a 33-byte label',
    supports: 'both',
    why: '2.40 requires neither a label nor a length limit; nvsec follows corePKCS11, whose storage finds certificates by label',
  },
  {
    item: 26,
    spec: 'EC private key on a curve other than P-256 → CKR_CURVE_NOT_SUPPORTED (2.40 base §5.7 C_CreateObject)',
    softhsm: 'stores a secp256k1 private key (C_CreateObject does not check the curve)',
    supports: 'both',
    why: 'a token chooses its curves; CKR_CURVE_NOT_SUPPORTED is the answer for one it does not support',
  },
  {
    item: 29,
    spec: 'CKK_SHA256_HMAC key shorter than 32 bytes → CKR_ATTRIBUTE_VALUE_INVALID (checklist, corePKCS11 rule)',
    softhsm: 'stores a 31-byte HMAC key',
    supports: 'both',
    why: "2.40 sets no minimum for CKK_SHA256_HMAC keys; the 32-byte floor is corePKCS11's (and RFC 2104's advice)",
  },
  {
    item: 30,
    spec: 'CKK_AES key of 15 bytes → CKR_ATTRIBUTE_VALUE_INVALID (AES keys are 16/24/32 bytes, 2.40 curr §2.8)',
    softhsm: 'stores a 15-byte AES key',
    supports: 'nvsec',
    why: 'AES keys are 16, 24 or 32 bytes (2.40 current mechanisms §2.8): a 15-byte CKK_AES key is invalid',
  },
  {
    item: 32,
    spec: 'a second object with the same label and class replaces the first (checklist: corePKCS11 PAL overwrite semantics)',
    softhsm: 'keeps both objects (PKCS#11 itself has no label uniqueness)',
    supports: 'both',
    why: "PKCS#11 has no label uniqueness; replacing is corePKCS11's PAL semantics, which nvsec keeps for token objects",
  },
  {
    item: 33,
    spec: 'a bounded object store; when full C_CreateObject → CKR_DEVICE_MEMORY (2.40 base §5.1), nothing damaged',
    softhsm: 'no limit: 300 more certificate objects are stored',
    supports: 'both',
    why: "2.40 leaves capacity to the token: nvsec's NVS partition fills and answers CKR_DEVICE_MEMORY, SoftHSM's file store has no limit",
  },
  {
    item: 47,
    spec: 'generated EC private key: CKA_SENSITIVE true, CKA_DECRYPT/UNWRAP/DERIVE false; public key: CKA_ENCRYPT/WRAP/DERIVE false (checklist; 2.40 base §4.9 leaves defaults to the token)',
    softhsm: 'private key: CKA_SENSITIVE false, CKA_DECRYPT and CKA_UNWRAP true; public key: CKA_ENCRYPT and CKA_WRAP true',
    supports: 'both',
    why: 'these defaults are token-specific in 2.40; nvsec chooses the safe ones (sensitive, no decrypt/unwrap)',
  },
  {
    item: 48,
    spec: 'C_GetObjectSize gives the object size in bytes (2.40 base §5.7; the checklist wants a real size, as pkcs11test EnumerateObjects reads it)',
    softhsm: 'returns CKR_OK with CK_UNAVAILABLE_INFORMATION',
    supports: 'both',
    why: 'C_GetObjectSize may answer CK_UNAVAILABLE_INFORMATION',
  },
  {
    item: 54,
    spec: 'C_SignInit CKM_ECDSA with a public key → CKR_KEY_TYPE_INCONSISTENT; bad key handle → CKR_KEY_HANDLE_INVALID (2.40 base §5.11 C_SignInit)',
    softhsm: 'public key → CKR_KEY_FUNCTION_NOT_PERMITTED; bad handle → CKR_OBJECT_HANDLE_INVALID (not a C_SignInit return value)',
    supports: 'nvsec',
    why: 'a key that cannot do the mechanism is CKR_KEY_TYPE_INCONSISTENT, and CKR_OBJECT_HANDLE_INVALID is not a C_SignInit return value',
  },
  {
    item: 60,
    spec: 'CKM_RSA_PKCS input longer than k-11 → CKR_DATA_LEN_RANGE (2.40 curr §2.1.6); shorter than DigestInfo+SHA-256 (51 bytes) → CKR_DATA_LEN_RANGE (checklist, corePKCS11 rule)',
    softhsm: '246 bytes (> k-11) → CKR_GENERAL_ERROR; 50 bytes are signed',
    supports: 'nvsec',
    why: 'over k-11 bytes is CKR_DATA_LEN_RANGE (2.40 current mechanisms §2.1.6), not CKR_GENERAL_ERROR; under 51 bytes 2.40 would sign, nvsec requires a DigestInfo',
  },
  {
    item: 61,
    spec: 'C_VerifyInit CKM_ECDSA with a private key → CKR_KEY_TYPE_INCONSISTENT (2.40 base §5.12 C_VerifyInit)',
    softhsm: 'returns CKR_KEY_FUNCTION_NOT_PERMITTED',
    supports: 'nvsec',
    why: 'a private key for C_VerifyInit is of the wrong type for the operation: CKR_KEY_TYPE_INCONSISTENT',
  },
  {
    item: 62,
    spec: 'C_Verify CKM_ECDSA with data that is not a 32-byte hash → CKR_DATA_LEN_RANGE (checklist, corePKCS11 rule; 2.40 curr §2.3.6 allows any length)',
    softhsm: 'accepts a 31-byte hash and answers CKR_SIGNATURE_INVALID',
    supports: 'both',
    why: '2.40 accepts any CKM_ECDSA input length; nvsec refuses lengths that are no digest so a truncated hash is caught',
  },
]);

/**
 * True when `b` is SoftHSM and `item` is one of its recorded differences: the test then asserts
 * SoftHSM's behaviour instead of the requirement.
 *
 * @example
 * if (softhsmDiffers(t.b, 32)) assert.equal(found.length, 2); else assert.equal(found.length, 1);
 */
export function softhsmDiffers(b: Backend, item: number): boolean {
  return b.name === 'softhsm' && SOFTHSM_DIFFERENCES.some((d) => d.item === item);
}
