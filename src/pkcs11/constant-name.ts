import {
  CKA,
  CKC,
  CKD,
  CKG,
  CKH,
  CKK,
  CKM,
  CKO,
  CKP,
  CKR,
  CKS,
  CKU,
  PKCS11_ALIASES,
} from './constants.js';

/** A frozen family table such as `CKR` or `CKF_TOKEN`: PKCS#11 name → CK_ULONG value. */
export type Pkcs11ConstantTable = Readonly<Record<string, number>>;

const _VENDOR_DEFINED = 0x80000000;
const _MAX_ULONG32 = 0xffffffff;
const _reverseCache = new WeakMap<Pkcs11ConstantTable, Map<number, string>>();

/** Value → current name for one table (deprecated aliases never win), built once per table. */
function _reverse(table: Pkcs11ConstantTable): Map<number, string> {
  let map = _reverseCache.get(table);
  if (map === undefined) {
    map = new Map();
    for (const [name, value] of Object.entries(table)) {
      if (name in PKCS11_ALIASES) continue;
      if (!map.has(value)) map.set(value, name);
    }
    _reverseCache.set(table, map);
  }
  return map;
}

function _hex(value: number): string {
  return `0x${value.toString(16).toUpperCase().padStart(8, '0')}`;
}

function _checkUlong(value: unknown, argName: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`${argName} must be an integer CK_ULONG, got ${typeof value === 'number' ? value : typeof value}`);
  }
  if (value < 0 || value > _MAX_ULONG32) throw new RangeError(`${argName} must be a CK_ULONG from 0 to 0xFFFFFFFF, got ${value}`);
  return value;
}

/**
 * The PKCS#11 name of `value` in `table` (a family object such as `CKR` or `CKO`), for messages and
 * logs. Unknown values come back as text that still says what they are: `<PREFIX>_VENDOR_DEFINED+0x…`
 * when the family has a vendor range (`CKR`, `CKA`, `CKO`, `CKK`, `CKC`, `CKH`, `CKM`) and the value is
 * in it, otherwise the 8-digit hex value (`0x00000999`).
 *
 * @throws TypeError when `value` is not an integer; RangeError when it is outside 0..0xFFFFFFFF.
 * @example
 * constantName(CKO, 3); // 'CKO_PRIVATE_KEY'
 * constantName(CKM, 0x80000010); // 'CKM_VENDOR_DEFINED+0x10'
 */
export function constantName(table: Pkcs11ConstantTable, value: number, argName = 'value'): string {
  const v = _checkUlong(value, argName);
  const name = _reverse(table).get(v);
  if (name !== undefined) return name;
  if (v >= _VENDOR_DEFINED) {
    const vendor = _reverse(table).get(_VENDOR_DEFINED);
    if (vendor !== undefined && vendor.endsWith('_VENDOR_DEFINED')) return `${vendor}+0x${(v - _VENDOR_DEFINED).toString(16).toUpperCase()}`;
  }
  return _hex(v);
}

/**
 * The names of the bits set in a `flags` word, using one CKF family table (`CKF_TOKEN`,
 * `CKF_MECHANISM`, ...). Bits the table does not name come last as one hex value.
 *
 * @throws TypeError when `flags` is not an integer; RangeError when it is outside 0..0xFFFFFFFF.
 * @example
 * flagNames(CKF_SESSION, 6); // ['CKF_RW_SESSION', 'CKF_SERIAL_SESSION']
 * flagNames(CKF_TOKEN, 0x400 | 0x8000000); // ['CKF_TOKEN_INITIALIZED', '0x08000000']
 */
export function flagNames(table: Pkcs11ConstantTable, flags: number): string[] {
  let rest = _checkUlong(flags, 'flags');
  const names: string[] = [];
  for (const [name, bit] of Object.entries(table)) {
    if (bit !== 0 && (flags & bit) >>> 0 === bit) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) names.push(_hex(rest));
  return names;
}

/**
 * Name of a `CK_RV` value, e.g. `ckrName(0xA0)` → `'CKR_PIN_INCORRECT'`.
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckrName(0xa0); // 'CKR_PIN_INCORRECT'
 */
export function ckrName(rv: number): string {
  return constantName(CKR, rv, 'rv');
}

/**
 * Name of a `CK_ATTRIBUTE_TYPE`, e.g. `ckaName(0x181)` → `'CKA_EC_POINT'`.
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckaName(0x180); // 'CKA_EC_PARAMS' (never the deprecated 'CKA_ECDSA_PARAMS')
 */
export function ckaName(type: number): string {
  return constantName(CKA, type, 'type');
}

/**
 * Name of a `CK_OBJECT_CLASS`.
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckoName(1); // 'CKO_CERTIFICATE'
 */
export function ckoName(objectClass: number): string {
  return constantName(CKO, objectClass, 'objectClass');
}

/**
 * Name of a `CK_KEY_TYPE`.
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckkName(3); // 'CKK_EC'
 */
export function ckkName(keyType: number): string {
  return constantName(CKK, keyType, 'keyType');
}

/**
 * Name of a `CK_CERTIFICATE_TYPE`.
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckcName(0); // 'CKC_X_509'
 */
export function ckcName(certificateType: number): string {
  return constantName(CKC, certificateType, 'certificateType');
}

/**
 * Name of a `CK_HW_FEATURE_TYPE`.
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckhName(2); // 'CKH_CLOCK'
 */
export function ckhName(featureType: number): string {
  return constantName(CKH, featureType, 'featureType');
}

/**
 * Name of a `CK_MECHANISM_TYPE`.
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckmName(0x1041); // 'CKM_ECDSA'
 */
export function ckmName(mechanism: number): string {
  return constantName(CKM, mechanism, 'mechanism');
}

/**
 * Name of a `CK_USER_TYPE`.
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckuName(1); // 'CKU_USER'
 */
export function ckuName(userType: number): string {
  return constantName(CKU, userType, 'userType');
}

/**
 * Name of a session state (`CK_STATE`).
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * cksName(3); // 'CKS_RW_USER_FUNCTIONS'
 */
export function cksName(state: number): string {
  return constantName(CKS, state, 'state');
}

/**
 * Name of an MGF (`CK_RSA_PKCS_MGF_TYPE`).
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckgName(2); // 'CKG_MGF1_SHA256'
 */
export function ckgName(mgf: number): string {
  return constantName(CKG, mgf, 'mgf');
}

/**
 * Name of an EC key derivation function (`CK_EC_KDF_TYPE`).
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckdName(1); // 'CKD_NULL'
 */
export function ckdName(kdf: number): string {
  return constantName(CKD, kdf, 'kdf');
}

/**
 * Name of a PBKDF2 pseudo-random function (`CK_PKCS5_PBKDF2_PSEUDO_RANDOM_FUNCTION_TYPE`).
 *
 * @throws TypeError / RangeError as {@link constantName}.
 * @example
 * ckpName(4); // 'CKP_PKCS5_PBKD2_HMAC_SHA256'
 */
export function ckpName(prf: number): string {
  return constantName(CKP, prf, 'prf');
}
