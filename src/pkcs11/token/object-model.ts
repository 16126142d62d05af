import type { CryptoProvider } from '../../crypto/provider.js';
import type { KeyCrypto, TokenCurve } from '../../crypto/key-crypto.js';
import { TOKEN_CURVE_BYTES } from '../../crypto/key-crypto.js';
import { CK_UNAVAILABLE_INFORMATION, CKA, CKC, CKK, CKO, CKR } from '../constants.js';
import { ckaName } from '../constant-name.js';
import { pkcs11Error } from '../pkcs11-error.js';
import { type AttributeMap, boolBytes, getBool, getUlong, ulongBytes } from './attribute-map.js';
import { bitLength, curveOfEcParams, decodeEcPoint, ecSpki, encodeEcPoint, isNamedCurveParams, rsaSpki, trimLeadingZeros } from './key-encoding.js';
import { x509Names } from './x509-names.js';
import { MAX_LABEL_BYTES } from '../pal/default-labels.js';

const A = CKA;
const EMPTY = new Uint8Array(0);
const T = boolBytes(true);
const F = boolBytes(false);

/** Attributes every object has, with their defaults (CKA_CLASS is always given). */
const STORAGE: readonly [number, Uint8Array][] = [
  [A.CKA_TOKEN, F],
  [A.CKA_PRIVATE, F],
  [A.CKA_MODIFIABLE, T],
  [A.CKA_LABEL, EMPTY],
  [A.CKA_COPYABLE, T],
  [A.CKA_DESTROYABLE, T],
];

const KEY: readonly [number, Uint8Array][] = [
  [A.CKA_ID, EMPTY],
  [A.CKA_START_DATE, EMPTY],
  [A.CKA_END_DATE, EMPTY],
  [A.CKA_DERIVE, F],
  [A.CKA_LOCAL, F],
  [A.CKA_KEY_GEN_MECHANISM, ulongBytes(CK_UNAVAILABLE_INFORMATION)],
];

const SCHEMAS: Readonly<Record<number, readonly [number, Uint8Array][]>> = {
  [CKO.CKO_DATA]: [...STORAGE, [A.CKA_APPLICATION, EMPTY], [A.CKA_OBJECT_ID, EMPTY], [A.CKA_VALUE, EMPTY]],
  [CKO.CKO_CERTIFICATE]: [
    ...STORAGE,
    [A.CKA_CERTIFICATE_TYPE, EMPTY],
    [A.CKA_TRUSTED, F],
    [A.CKA_CERTIFICATE_CATEGORY, ulongBytes(0)],
    [A.CKA_CHECK_VALUE, EMPTY],
    [A.CKA_START_DATE, EMPTY],
    [A.CKA_END_DATE, EMPTY],
    [A.CKA_PUBLIC_KEY_INFO, EMPTY],
    [A.CKA_SUBJECT, EMPTY],
    [A.CKA_ID, EMPTY],
    [A.CKA_ISSUER, EMPTY],
    [A.CKA_SERIAL_NUMBER, EMPTY],
    [A.CKA_VALUE, EMPTY],
    [A.CKA_URL, EMPTY],
    [A.CKA_HASH_OF_SUBJECT_PUBLIC_KEY, EMPTY],
    [A.CKA_HASH_OF_ISSUER_PUBLIC_KEY, EMPTY],
    [A.CKA_JAVA_MIDP_SECURITY_DOMAIN, ulongBytes(0)],
  ],
  [CKO.CKO_PUBLIC_KEY]: [
    ...STORAGE,
    ...KEY,
    [A.CKA_KEY_TYPE, EMPTY],
    [A.CKA_SUBJECT, EMPTY],
    [A.CKA_ENCRYPT, F],
    [A.CKA_VERIFY, T],
    [A.CKA_VERIFY_RECOVER, F],
    [A.CKA_WRAP, F],
    [A.CKA_TRUSTED, F],
    [A.CKA_PUBLIC_KEY_INFO, EMPTY],
  ],
  [CKO.CKO_PRIVATE_KEY]: [
    ...STORAGE,
    ...KEY,
    [A.CKA_PRIVATE, T],
    [A.CKA_KEY_TYPE, EMPTY],
    [A.CKA_SUBJECT, EMPTY],
    [A.CKA_SENSITIVE, T],
    [A.CKA_DECRYPT, F],
    [A.CKA_SIGN, T],
    [A.CKA_SIGN_RECOVER, F],
    [A.CKA_UNWRAP, F],
    [A.CKA_EXTRACTABLE, F],
    [A.CKA_ALWAYS_SENSITIVE, F],
    [A.CKA_NEVER_EXTRACTABLE, F],
    [A.CKA_WRAP_WITH_TRUSTED, F],
    [A.CKA_ALWAYS_AUTHENTICATE, F],
    [A.CKA_PUBLIC_KEY_INFO, EMPTY],
  ],
  [CKO.CKO_SECRET_KEY]: [
    ...STORAGE,
    ...KEY,
    [A.CKA_PRIVATE, T],
    [A.CKA_KEY_TYPE, EMPTY],
    [A.CKA_SENSITIVE, T],
    [A.CKA_ENCRYPT, F],
    [A.CKA_DECRYPT, F],
    [A.CKA_SIGN, T],
    [A.CKA_VERIFY, T],
    [A.CKA_WRAP, F],
    [A.CKA_UNWRAP, F],
    [A.CKA_EXTRACTABLE, F],
    [A.CKA_ALWAYS_SENSITIVE, F],
    [A.CKA_NEVER_EXTRACTABLE, F],
    [A.CKA_CHECK_VALUE, EMPTY],
    [A.CKA_WRAP_WITH_TRUSTED, F],
    [A.CKA_TRUSTED, F],
    [A.CKA_VALUE, EMPTY],
    [A.CKA_VALUE_LEN, ulongBytes(0)],
  ],
};

/** Key-type attributes by class and key type: [attribute, required on C_CreateObject]. */
const KEY_TYPE_ATTRS: Readonly<Record<string, readonly [number, boolean][]>> = {
  [`${CKO.CKO_PUBLIC_KEY}/${CKK.CKK_EC}`]: [
    [A.CKA_EC_PARAMS, true],
    [A.CKA_EC_POINT, true],
  ],
  [`${CKO.CKO_PRIVATE_KEY}/${CKK.CKK_EC}`]: [
    [A.CKA_EC_PARAMS, true],
    [A.CKA_VALUE, true],
  ],
  [`${CKO.CKO_PUBLIC_KEY}/${CKK.CKK_RSA}`]: [
    [A.CKA_MODULUS, true],
    [A.CKA_MODULUS_BITS, false],
    [A.CKA_PUBLIC_EXPONENT, true],
  ],
  [`${CKO.CKO_PRIVATE_KEY}/${CKK.CKK_RSA}`]: [
    [A.CKA_MODULUS, true],
    [A.CKA_PUBLIC_EXPONENT, true],
    [A.CKA_PRIVATE_EXPONENT, true],
    [A.CKA_PRIME_1, true],
    [A.CKA_PRIME_2, true],
    [A.CKA_EXPONENT_1, true],
    [A.CKA_EXPONENT_2, true],
    [A.CKA_COEFFICIENT, true],
  ],
  [`${CKO.CKO_SECRET_KEY}/${CKK.CKK_GENERIC_SECRET}`]: [],
  [`${CKO.CKO_SECRET_KEY}/${CKK.CKK_SHA256_HMAC}`]: [],
  [`${CKO.CKO_SECRET_KEY}/${CKK.CKK_AES}`]: [],
};

/** Attributes only the token sets: a template that gives them gets CKR_ATTRIBUTE_READ_ONLY. */
const TOKEN_SET = new Set<number>([A.CKA_LOCAL, A.CKA_KEY_GEN_MECHANISM, A.CKA_ALWAYS_SENSITIVE, A.CKA_NEVER_EXTRACTABLE]);

/** Attributes the token computes from the value; a template may not give them (CKR_TEMPLATE_INCONSISTENT). */
const DERIVED = new Set<number>([A.CKA_MODULUS_BITS, A.CKA_VALUE_LEN, A.CKA_PUBLIC_KEY_INFO, A.CKA_CHECK_VALUE]);

/** Secret components: unreadable while the key is sensitive or not extractable. */
const SECRET_PARTS = new Set<number>([A.CKA_VALUE, A.CKA_PRIVATE_EXPONENT, A.CKA_PRIME_1, A.CKA_PRIME_2, A.CKA_EXPONENT_1, A.CKA_EXPONENT_2, A.CKA_COEFFICIENT]);

/** Attributes C_SetAttributeValue may change (when CKA_MODIFIABLE is true), besides the latching two. */
const SETTABLE = new Set<number>([
  A.CKA_LABEL,
  A.CKA_ID,
  A.CKA_SUBJECT,
  A.CKA_START_DATE,
  A.CKA_END_DATE,
  A.CKA_APPLICATION,
  A.CKA_ENCRYPT,
  A.CKA_DECRYPT,
  A.CKA_SIGN,
  A.CKA_VERIFY,
  A.CKA_SIGN_RECOVER,
  A.CKA_VERIFY_RECOVER,
  A.CKA_WRAP,
  A.CKA_UNWRAP,
  A.CKA_DERIVE,
  A.CKA_URL,
]);

/** What building an object needs besides its template. */
export interface ObjectContext {
  readonly crypto: CryptoProvider;
  readonly keys: KeyCrypto;
}

const invalid = (rv: number, context: string, why: string): never => {
  throw pkcs11Error(rv, `${context}: ${why}`);
};

/** The class of a template, checked: missing → TEMPLATE_INCOMPLETE, unsupported → ATTRIBUTE_VALUE_INVALID. */
export function templateClass(template: AttributeMap, context: string, implied?: number): number {
  const cls = getUlong(template, A.CKA_CLASS) ?? implied;
  if (cls === undefined) return invalid(CKR.CKR_TEMPLATE_INCOMPLETE, context, 'the template has no CKA_CLASS');
  if (implied !== undefined && cls !== implied) return invalid(CKR.CKR_TEMPLATE_INCONSISTENT, context, `CKA_CLASS must be ${implied} for this template, got ${cls}`);
  if (!Object.hasOwn(SCHEMAS, cls)) return invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `objects of class 0x${cls.toString(16)} are not supported (data, certificate, public, private and secret keys are)`);
  return cls;
}

/**
 * The complete attribute set of a new object: the class's defaults, the template over them, then
 * the attributes the token derives. `origin` 'create' is C_CreateObject (the caller brings the key
 * material); 'generate' is a key the token made (template already merged with the material).
 *
 * @throws {Pkcs11Error} with the CKR PKCS#11 2.40 prescribes for the first problem found
 */
export function buildObject(template: AttributeMap, origin: 'create' | 'generate', ctx: ObjectContext, context: string, implied?: number): AttributeMap {
  const cls = templateClass(template, context, implied);
  let keyType: number | undefined;
  let typeAttrs: readonly [number, boolean][] = [];
  if (cls === CKO.CKO_PUBLIC_KEY || cls === CKO.CKO_PRIVATE_KEY || cls === CKO.CKO_SECRET_KEY) {
    keyType = getUlong(template, A.CKA_KEY_TYPE);
    if (keyType === undefined) return invalid(CKR.CKR_TEMPLATE_INCOMPLETE, context, 'a key needs CKA_KEY_TYPE');
    const row = KEY_TYPE_ATTRS[`${cls}/${keyType}`];
    if (row === undefined) return invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `key type 0x${keyType.toString(16)} is not supported for this class (EC and RSA key pairs; generic, SHA256-HMAC and AES secret keys)`);
    typeAttrs = row;
  }
  const schema = new Map<number, Uint8Array>(SCHEMAS[cls]!);
  for (const [t] of typeAttrs) if (!schema.has(t)) schema.set(t, EMPTY);
  if (cls === CKO.CKO_CERTIFICATE) schema.delete(A.CKA_CERTIFICATE_TYPE);

  for (const type of template.keys()) {
    if (type === A.CKA_CLASS || type === A.CKA_CERTIFICATE_TYPE) continue;
    if (!schema.has(type)) return invalid(CKR.CKR_ATTRIBUTE_TYPE_INVALID, context, `${ckaName(type)} is not an attribute of this kind of object`);
    if (origin === 'create' && TOKEN_SET.has(type)) return invalid(CKR.CKR_ATTRIBUTE_READ_ONLY, context, `${ckaName(type)} is set by the token, not by the template`);
    if (origin === 'create' && DERIVED.has(type)) return invalid(CKR.CKR_TEMPLATE_INCONSISTENT, context, `${ckaName(type)} is derived from the key; leave it out of the template`);
  }
  if (origin === 'create') {
    for (const [t, required] of typeAttrs) if (required && !template.has(t)) return invalid(CKR.CKR_TEMPLATE_INCOMPLETE, context, `this key needs ${ckaName(t)}`);
  }

  if (getBool(template, A.CKA_ALWAYS_AUTHENTICATE) === true) {
    return invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, 'CKA_ALWAYS_AUTHENTICATE true is not supported: this token has no context-specific login, so it could not enforce it');
  }
  const label = template.get(A.CKA_LABEL);
  if (cls === CKO.CKO_CERTIFICATE && label === undefined) {
    return invalid(CKR.CKR_TEMPLATE_INCOMPLETE, context, 'a certificate needs a CKA_LABEL: this token finds certificates by label, as corePKCS11 does');
  }
  if (label !== undefined) checkLabel(cls, label, context);
  // Own copies of the defaults: an object's values are never shared (secrets are zeroized in place).
  const attrs: AttributeMap = new Map([...schema].map(([t, v]) => [t, new Uint8Array(v)]));
  for (const [t, v] of template) attrs.set(t, v);
  attrs.set(A.CKA_CLASS, ulongBytes(cls));

  const secret = cls === CKO.CKO_PRIVATE_KEY || cls === CKO.CKO_SECRET_KEY;
  if (secret && getBool(attrs, A.CKA_PRIVATE) === false) {
    return invalid(CKR.CKR_TEMPLATE_INCONSISTENT, context, 'this token keeps every private and secret key private (CKA_PRIVATE true); leave CKA_PRIVATE out or set it true');
  }
  if (secret && origin === 'create') {
    // Key material that came from outside was known before: never "always sensitive" / "never extractable".
    attrs.set(A.CKA_ALWAYS_SENSITIVE, F);
    attrs.set(A.CKA_NEVER_EXTRACTABLE, F);
  }
  if (secret && origin === 'generate') {
    attrs.set(A.CKA_ALWAYS_SENSITIVE, boolBytes(getBool(attrs, A.CKA_SENSITIVE) === true));
    attrs.set(A.CKA_NEVER_EXTRACTABLE, boolBytes(getBool(attrs, A.CKA_EXTRACTABLE) !== true));
  }

  if (cls === CKO.CKO_CERTIFICATE) completeCertificate(template, attrs, ctx, context);
  else if (cls === CKO.CKO_SECRET_KEY) completeSecretKey(keyType!, attrs, ctx, context);
  else if (keyType === CKK.CKK_EC) completeEcKey(cls, attrs, ctx, context);
  else if (keyType === CKK.CKK_RSA) completeRsaKey(cls, attrs, ctx, context);
  return attrs;
}

function completeCertificate(template: AttributeMap, attrs: AttributeMap, ctx: ObjectContext, context: string): void {
  const type = getUlong(template, A.CKA_CERTIFICATE_TYPE);
  if (type === undefined) invalid(CKR.CKR_TEMPLATE_INCOMPLETE, context, 'a certificate needs CKA_CERTIFICATE_TYPE (CKC_X_509)');
  if (type !== CKC.CKC_X_509) invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, 'only X.509 certificates (CKC_X_509) are supported');
  attrs.set(A.CKA_CERTIFICATE_TYPE, ulongBytes(CKC.CKC_X_509));
  const value = template.get(A.CKA_VALUE);
  if (value === undefined || value.length === 0) return invalid(CKR.CKR_TEMPLATE_INCOMPLETE, context, 'a certificate needs CKA_VALUE (the DER certificate)');
  let names;
  try {
    names = x509Names(value);
  } catch (e) {
    return invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `CKA_VALUE is not a DER X.509 certificate (${(e as Error).message})`);
  }
  for (const [t, v] of [
    [A.CKA_SUBJECT, names.subject],
    [A.CKA_ISSUER, names.issuer],
    [A.CKA_SERIAL_NUMBER, names.serialNumber],
  ] as const) {
    if (!template.has(t)) attrs.set(t, new Uint8Array(v));
  }
  attrs.set(A.CKA_CHECK_VALUE, ctx.crypto.digest('sha1', value).slice(0, 3));
}

function completeSecretKey(keyType: number, attrs: AttributeMap, ctx: ObjectContext, context: string): void {
  const value = attrs.get(A.CKA_VALUE) ?? EMPTY;
  if (value.length === 0) invalid(CKR.CKR_TEMPLATE_INCOMPLETE, context, 'a secret key needs CKA_VALUE');
  if (keyType === CKK.CKK_SHA256_HMAC && value.length < 32) invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `a SHA256-HMAC key must be at least 32 bytes, got ${value.length}`);
  if (keyType === CKK.CKK_AES && value.length !== 16 && value.length !== 24 && value.length !== 32) invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `an AES key must be 16, 24 or 32 bytes, got ${value.length}`);
  attrs.set(A.CKA_VALUE_LEN, ulongBytes(value.length));
  if (keyType === CKK.CKK_AES) {
    const aes = ctx.crypto.aesEcb(value);
    attrs.set(A.CKA_CHECK_VALUE, aes.encrypt(new Uint8Array(16)).slice(0, 3));
    aes.destroy();
  }
}

/** The curve of an EC key's CKA_EC_PARAMS, checked. */
export function ecCurve(params: Uint8Array | undefined, context: string): TokenCurve {
  if (params === undefined) return invalid(CKR.CKR_TEMPLATE_INCOMPLETE, context, 'an EC key needs CKA_EC_PARAMS');
  const curve = curveOfEcParams(params);
  if (curve !== null) return curve;
  if (isNamedCurveParams(params)) return invalid(CKR.CKR_CURVE_NOT_SUPPORTED, context, 'only the named curves P-256 (prime256v1) and P-384 (secp384r1) are supported');
  return invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, 'CKA_EC_PARAMS must be the DER OID of a named curve (P-256 or P-384)');
}

function completeEcKey(cls: number, attrs: AttributeMap, ctx: ObjectContext, context: string): void {
  const curve = ecCurve(attrs.get(A.CKA_EC_PARAMS), context);
  if (cls === CKO.CKO_PUBLIC_KEY) {
    const point = decodeEcPoint(curve, attrs.get(A.CKA_EC_POINT) ?? EMPTY);
    if (point === null || !ctx.keys.isEcPoint(curve, point)) return invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `CKA_EC_POINT must be an uncompressed ${curve} point on the curve (DER OCTET STRING around 04‖X‖Y)`);
    attrs.set(A.CKA_EC_POINT, encodeEcPoint(point));
    attrs.set(A.CKA_PUBLIC_KEY_INFO, ecSpki(curve, point));
    return;
  }
  const d = attrs.get(A.CKA_VALUE) ?? EMPTY;
  const width = TOKEN_CURVE_BYTES[curve];
  const trimmed = trimLeadingZeros(d);
  if (trimmed.length > width) return invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `an ${curve} private value is at most ${width} bytes`);
  const padded = new Uint8Array(width);
  padded.set(trimmed, width - trimmed.length);
  let point: Uint8Array;
  try {
    point = ctx.keys.ecPublicPoint(curve, padded);
  } catch {
    padded.fill(0);
    return invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `CKA_VALUE is not a valid ${curve} private key (it must be 1..n-1)`);
  }
  d.fill(0);
  attrs.set(A.CKA_VALUE, padded);
  attrs.set(A.CKA_PUBLIC_KEY_INFO, ecSpki(curve, point));
}

function completeRsaKey(cls: number, attrs: AttributeMap, ctx: ObjectContext, context: string): void {
  const n = trimLeadingZeros(attrs.get(A.CKA_MODULUS) ?? EMPTY);
  const e = trimLeadingZeros(attrs.get(A.CKA_PUBLIC_EXPONENT) ?? EMPTY);
  const bits = bitLength(n);
  if (bits < 2048 || bits > 4096) invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `RSA keys must be 2048..4096 bits, got ${bits}`);
  if (e.length === 0 || (e[e.length - 1]! & 1) === 0 || e.length > 4) invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, 'CKA_PUBLIC_EXPONENT must be an odd integer of at most 32 bits');
  attrs.set(A.CKA_MODULUS, new Uint8Array(n));
  attrs.set(A.CKA_PUBLIC_EXPONENT, new Uint8Array(e));
  if (cls === CKO.CKO_PUBLIC_KEY) {
    attrs.set(A.CKA_MODULUS_BITS, ulongBytes(bits));
    try {
      ctx.keys.preparePublicKey({ type: 'rsa', n, e });
    } catch (err) {
      invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `not a valid RSA public key (${(err as Error).message})`);
    }
  } else {
    const get = (t: number): Uint8Array => attrs.get(t) ?? EMPTY;
    try {
      ctx.keys
        .preparePrivateKey({
          type: 'rsa',
          n,
          e,
          d: get(A.CKA_PRIVATE_EXPONENT),
          p: get(A.CKA_PRIME_1),
          q: get(A.CKA_PRIME_2),
          dp: get(A.CKA_EXPONENT_1),
          dq: get(A.CKA_EXPONENT_2),
          qi: get(A.CKA_COEFFICIENT),
        })
        .destroy();
    } catch (err) {
      invalid(CKR.CKR_ATTRIBUTE_VALUE_INVALID, context, `not a valid RSA private key (${(err as Error).message})`);
    }
  }
  attrs.set(A.CKA_PUBLIC_KEY_INFO, rsaSpki(n, e));
}

/** Whether attribute `type` of `attrs` must not be revealed (CKR_ATTRIBUTE_SENSITIVE). */
export function isSensitiveAttribute(attrs: AttributeMap, type: number): boolean {
  if (!SECRET_PARTS.has(type)) return false;
  const cls = getUlong(attrs, A.CKA_CLASS);
  if (cls !== CKO.CKO_PRIVATE_KEY && cls !== CKO.CKO_SECRET_KEY) return false;
  return getBool(attrs, A.CKA_SENSITIVE) === true || getBool(attrs, A.CKA_EXTRACTABLE) !== true;
}

/**
 * Applies C_SetAttributeValue's `changes` to a copy of `attrs` and returns it: only
 * {@link SETTABLE} attributes (when CKA_MODIFIABLE is true), CKA_SENSITIVE only to true,
 * CKA_EXTRACTABLE only to false, CKA_COPYABLE and CKA_DESTROYABLE only to false.
 *
 * @throws {Pkcs11Error} CKR_ACTION_PROHIBITED for an unmodifiable object, CKR_ATTRIBUTE_READ_ONLY,
 *   CKR_ATTRIBUTE_TYPE_INVALID
 */
export function applyAttributeChanges(attrs: AttributeMap, changes: AttributeMap, context: string, options: { copy?: boolean } = {}): AttributeMap {
  const out = new Map(attrs);
  const copy = options.copy === true;
  // A copy of an unmodifiable object is allowed (2.40 §5.7), and the copy may itself be made unmodifiable.
  if (!copy && getBool(attrs, A.CKA_MODIFIABLE) === false) invalid(CKR.CKR_ACTION_PROHIBITED, context, 'the object has CKA_MODIFIABLE false');
  for (const [t, v] of changes) {
    if (!attrs.has(t)) invalid(CKR.CKR_ATTRIBUTE_TYPE_INVALID, context, `${ckaName(t)} is not an attribute of this object`);
    if (t === A.CKA_LABEL) checkLabel(getUlong(attrs, A.CKA_CLASS), v, context);
    const now = getBool(attrs, t);
    const to = v[0] === 1;
    if (t === A.CKA_SENSITIVE) {
      if (now === true && !to) invalid(CKR.CKR_ATTRIBUTE_READ_ONLY, context, 'CKA_SENSITIVE can only be changed from false to true');
    } else if (t === A.CKA_EXTRACTABLE || t === A.CKA_COPYABLE || t === A.CKA_DESTROYABLE || (copy && t === A.CKA_MODIFIABLE)) {
      if (now === false && to) invalid(CKR.CKR_ATTRIBUTE_READ_ONLY, context, `${ckaName(t)} can only be changed from true to false`);
    } else if (!SETTABLE.has(t)) {
      invalid(CKR.CKR_ATTRIBUTE_READ_ONLY, context, `${ckaName(t)} cannot be changed after the object is created`);
    }
    out.set(t, v);
  }
  return out;
}

/**
 * The label rules of this token (corePKCS11's): at most 32 bytes, and certificates have one.
 * @throws {Pkcs11Error} CKR_DATA_LEN_RANGE, CKR_TEMPLATE_INCOMPLETE
 */
function checkLabel(cls: number | undefined, label: Uint8Array, context: string): void {
  if (label.length > MAX_LABEL_BYTES) invalid(CKR.CKR_DATA_LEN_RANGE, context, `CKA_LABEL is ${label.length} bytes; labels are at most ${MAX_LABEL_BYTES} (corePKCS11's pkcs11configMAX_LABEL_LENGTH)`);
  if (cls === CKO.CKO_CERTIFICATE && label.length === 0) invalid(CKR.CKR_TEMPLATE_INCOMPLETE, context, 'a certificate needs a non-empty CKA_LABEL: this token finds certificates by label, as corePKCS11 does');
}

/** Overwrites the secret components of a key (CKA_VALUE, RSA private parts) with zeros. */
export function zeroizeSecrets(attrs: AttributeMap): void {
  const cls = getUlong(attrs, A.CKA_CLASS);
  if (cls !== CKO.CKO_PRIVATE_KEY && cls !== CKO.CKO_SECRET_KEY) return;
  for (const t of SECRET_PARTS) attrs.get(t)?.fill(0);
}

/** Whether an object is private (CKA_PRIVATE true): visible only to a logged-in user. */
export function isPrivateObject(attrs: AttributeMap): boolean {
  return getBool(attrs, A.CKA_PRIVATE) === true;
}

/** Whether an object is a token object (CKA_TOKEN true): stored, not gone with its session. */
export function isTokenObject(attrs: AttributeMap): boolean {
  return getBool(attrs, A.CKA_TOKEN) === true;
}
