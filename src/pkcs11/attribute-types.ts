import type { CkaName } from './constants.js';
import { ckaName } from './constant-name.js';

/**
 * The data type of an attribute value in PKCS#11 2.40, as far as encoding it goes:
 * - `bool`: CK_BBOOL, 1 byte (CK_TRUE / CK_FALSE)
 * - `ulong`: CK_ULONG or a type defined as one (CK_OBJECT_CLASS, CK_KEY_TYPE, CK_MECHANISM_TYPE, CK_FLAGS...)
 * - `bytes`: a byte array (DER, raw key material, identifiers)
 * - `bigint`: a "Big integer", a big-endian unsigned byte array (RSA/DSA/DH components)
 * - `utf8`: an RFC 2279 (UTF-8) string, not NUL-terminated
 * - `date`: CK_DATE, 8 ASCII digits YYYYMMDD, or empty
 * - `attributes`: an array of CK_ATTRIBUTE (the `CKF_ARRAY_ATTRIBUTE` templates)
 * - `mechanisms`: an array of CK_MECHANISM_TYPE (`CKA_ALLOWED_MECHANISMS`)
 */
export type AttributeValueType = 'bool' | 'ulong' | 'bytes' | 'bigint' | 'utf8' | 'date' | 'attributes' | 'mechanisms';

/**
 * The value type of every 2.40 attribute (from the attribute tables of the PKCS#11 2.40 base and
 * current-mechanisms specifications), keyed by CKA name; deprecated aliases included. `CKA_VENDOR_DEFINED` is absent:
 * vendor attributes have no standard type ({@link attributeValueType} treats them as bytes).
 *
 * Wire encoders take note: p11-kit's RPC (section 3.5 of the spec notes) encodes by its own list, which
 * sends some bool/ulong attributes it does not list (e.g. `CKA_DESTROYABLE`, `CKA_NAME_HASH_ALGORITHM`,
 * the `CKA_OTP_*` ones) as plain byte arrays; an RPC codec must follow the wire, not this table, for those.
 *
 * @example
 * ATTRIBUTE_VALUE_TYPES.CKA_EC_POINT; // 'bytes'
 */
export const ATTRIBUTE_VALUE_TYPES: Readonly<Record<Exclude<CkaName, 'CKA_VENDOR_DEFINED'>, AttributeValueType>> = Object.freeze({
  CKA_CLASS: 'ulong',
  CKA_TOKEN: 'bool',
  CKA_PRIVATE: 'bool',
  CKA_LABEL: 'utf8',
  CKA_APPLICATION: 'utf8',
  CKA_VALUE: 'bytes',
  CKA_OBJECT_ID: 'bytes',
  CKA_CERTIFICATE_TYPE: 'ulong',
  CKA_ISSUER: 'bytes',
  CKA_SERIAL_NUMBER: 'bytes',
  CKA_AC_ISSUER: 'bytes',
  CKA_OWNER: 'bytes',
  CKA_ATTR_TYPES: 'bytes',
  CKA_TRUSTED: 'bool',
  CKA_CERTIFICATE_CATEGORY: 'ulong',
  CKA_JAVA_MIDP_SECURITY_DOMAIN: 'ulong',
  CKA_URL: 'utf8',
  CKA_HASH_OF_SUBJECT_PUBLIC_KEY: 'bytes',
  CKA_HASH_OF_ISSUER_PUBLIC_KEY: 'bytes',
  CKA_NAME_HASH_ALGORITHM: 'ulong',
  CKA_CHECK_VALUE: 'bytes',
  CKA_KEY_TYPE: 'ulong',
  CKA_SUBJECT: 'bytes',
  CKA_ID: 'bytes',
  CKA_SENSITIVE: 'bool',
  CKA_ENCRYPT: 'bool',
  CKA_DECRYPT: 'bool',
  CKA_WRAP: 'bool',
  CKA_UNWRAP: 'bool',
  CKA_SIGN: 'bool',
  CKA_SIGN_RECOVER: 'bool',
  CKA_VERIFY: 'bool',
  CKA_VERIFY_RECOVER: 'bool',
  CKA_DERIVE: 'bool',
  CKA_START_DATE: 'date',
  CKA_END_DATE: 'date',
  CKA_MODULUS: 'bigint',
  CKA_MODULUS_BITS: 'ulong',
  CKA_PUBLIC_EXPONENT: 'bigint',
  CKA_PRIVATE_EXPONENT: 'bigint',
  CKA_PRIME_1: 'bigint',
  CKA_PRIME_2: 'bigint',
  CKA_EXPONENT_1: 'bigint',
  CKA_EXPONENT_2: 'bigint',
  CKA_COEFFICIENT: 'bigint',
  CKA_PUBLIC_KEY_INFO: 'bytes',
  CKA_PRIME: 'bigint',
  CKA_SUBPRIME: 'bigint',
  CKA_BASE: 'bigint',
  CKA_PRIME_BITS: 'ulong',
  CKA_SUBPRIME_BITS: 'ulong',
  CKA_SUB_PRIME_BITS: 'ulong',
  CKA_VALUE_BITS: 'ulong',
  CKA_VALUE_LEN: 'ulong',
  CKA_EXTRACTABLE: 'bool',
  CKA_LOCAL: 'bool',
  CKA_NEVER_EXTRACTABLE: 'bool',
  CKA_ALWAYS_SENSITIVE: 'bool',
  CKA_KEY_GEN_MECHANISM: 'ulong',
  CKA_MODIFIABLE: 'bool',
  CKA_COPYABLE: 'bool',
  CKA_DESTROYABLE: 'bool',
  CKA_ECDSA_PARAMS: 'bytes',
  CKA_EC_PARAMS: 'bytes',
  CKA_EC_POINT: 'bytes',
  CKA_SECONDARY_AUTH: 'bool',
  CKA_AUTH_PIN_FLAGS: 'ulong',
  CKA_ALWAYS_AUTHENTICATE: 'bool',
  CKA_WRAP_WITH_TRUSTED: 'bool',
  CKA_WRAP_TEMPLATE: 'attributes',
  CKA_UNWRAP_TEMPLATE: 'attributes',
  CKA_DERIVE_TEMPLATE: 'attributes',
  CKA_OTP_FORMAT: 'ulong',
  CKA_OTP_LENGTH: 'ulong',
  CKA_OTP_TIME_INTERVAL: 'ulong',
  CKA_OTP_USER_FRIENDLY_MODE: 'bool',
  CKA_OTP_CHALLENGE_REQUIREMENT: 'ulong',
  CKA_OTP_TIME_REQUIREMENT: 'ulong',
  CKA_OTP_COUNTER_REQUIREMENT: 'ulong',
  CKA_OTP_PIN_REQUIREMENT: 'ulong',
  CKA_OTP_COUNTER: 'bytes',
  CKA_OTP_TIME: 'utf8',
  CKA_OTP_USER_IDENTIFIER: 'utf8',
  CKA_OTP_SERVICE_IDENTIFIER: 'utf8',
  CKA_OTP_SERVICE_LOGO: 'bytes',
  CKA_OTP_SERVICE_LOGO_TYPE: 'utf8',
  CKA_GOSTR3410_PARAMS: 'bytes',
  CKA_GOSTR3411_PARAMS: 'bytes',
  CKA_GOST28147_PARAMS: 'bytes',
  CKA_HW_FEATURE_TYPE: 'ulong',
  CKA_RESET_ON_INIT: 'bool',
  CKA_HAS_RESET: 'bool',
  CKA_PIXEL_X: 'ulong',
  CKA_PIXEL_Y: 'ulong',
  CKA_RESOLUTION: 'ulong',
  CKA_CHAR_ROWS: 'ulong',
  CKA_CHAR_COLUMNS: 'ulong',
  CKA_COLOR: 'bool',
  CKA_BITS_PER_PIXEL: 'ulong',
  CKA_CHAR_SETS: 'utf8',
  CKA_ENCODING_METHODS: 'utf8',
  CKA_MIME_TYPES: 'utf8',
  CKA_MECHANISM_TYPE: 'ulong',
  CKA_REQUIRED_CMS_ATTRIBUTES: 'bytes',
  CKA_DEFAULT_CMS_ATTRIBUTES: 'bytes',
  CKA_SUPPORTED_CMS_ATTRIBUTES: 'bytes',
  CKA_ALLOWED_MECHANISMS: 'mechanisms',
});

/**
 * The value type of attribute `type` (a CKA number); `'bytes'` for vendor-defined and unknown types,
 * which is all a generic codec can do with them.
 *
 * @throws TypeError when `type` is not an integer; RangeError when it is outside 0..0xFFFFFFFF.
 * @example
 * attributeValueType(CKA.CKA_TOKEN); // 'bool'
 * attributeValueType(0x80001234); // 'bytes'
 */
export function attributeValueType(type: number): AttributeValueType {
  const name = ckaName(type);
  return Object.hasOwn(ATTRIBUTE_VALUE_TYPES, name) ? ATTRIBUTE_VALUE_TYPES[name as keyof typeof ATTRIBUTE_VALUE_TYPES] : 'bytes';
}
