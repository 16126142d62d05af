import type { RsaPrivateComponents, RsaPublicComponents, TokenCurve } from '../crypto/key-crypto.js';
import { toHex } from '../bytes/hex.js';
import { CKA, CKC, CKF_SESSION, CKG, CKK, CKM, CKO, CKR, CKU } from './constants.js';
import { publicLabelFor } from './pal/default-labels.js';
import { Pkcs11Error } from './pkcs11-error.js';
import { getBool, getUlong, type RawAttribute, ulongBytes } from './token/attribute-map.js';
import { bitLength, curveOfEcParams, EC_PARAMS } from './token/key-encoding.js';
import { withPin } from './token/pin-bytes.js';
import type { Mechanism, Token } from './token/token.js';

/** Object classes by name. */
export const OBJECT_CLASSES = Object.freeze({
  data: CKO.CKO_DATA,
  certificate: CKO.CKO_CERTIFICATE,
  'public-key': CKO.CKO_PUBLIC_KEY,
  'private-key': CKO.CKO_PRIVATE_KEY,
  'secret-key': CKO.CKO_SECRET_KEY,
});
export type ObjectClassName = keyof typeof OBJECT_CLASSES;

/** Key types by name. */
export const KEY_TYPES = Object.freeze({ EC: CKK.CKK_EC, RSA: CKK.CKK_RSA, 'SHA256-HMAC': CKK.CKK_SHA256_HMAC, AES: CKK.CKK_AES, GENERIC: CKK.CKK_GENERIC_SECRET });
export type KeyTypeName = keyof typeof KEY_TYPES;

/** Signing algorithms by the names `pkcs11-tool -m` uses, and their mechanisms (PSS salt = digest length). */
export const SIGN_ALGORITHMS = Object.freeze({
  ECDSA: { mechanism: CKM.CKM_ECDSA },
  'ECDSA-SHA256': { mechanism: CKM.CKM_ECDSA_SHA256 },
  'ECDSA-SHA384': { mechanism: CKM.CKM_ECDSA_SHA384 },
  'ECDSA-SHA512': { mechanism: CKM.CKM_ECDSA_SHA512 },
  'RSA-PKCS': { mechanism: CKM.CKM_RSA_PKCS },
  'SHA256-RSA-PKCS': { mechanism: CKM.CKM_SHA256_RSA_PKCS },
  'SHA384-RSA-PKCS': { mechanism: CKM.CKM_SHA384_RSA_PKCS },
  'SHA512-RSA-PKCS': { mechanism: CKM.CKM_SHA512_RSA_PKCS },
  'SHA256-RSA-PKCS-PSS': { mechanism: CKM.CKM_SHA256_RSA_PKCS_PSS, parameter: { hashAlg: CKM.CKM_SHA256, mgf: CKG.CKG_MGF1_SHA256, saltLen: 32 } },
  'SHA384-RSA-PKCS-PSS': { mechanism: CKM.CKM_SHA384_RSA_PKCS_PSS, parameter: { hashAlg: CKM.CKM_SHA384, mgf: CKG.CKG_MGF1_SHA384, saltLen: 48 } },
  'SHA512-RSA-PKCS-PSS': { mechanism: CKM.CKM_SHA512_RSA_PKCS_PSS, parameter: { hashAlg: CKM.CKM_SHA512, mgf: CKG.CKG_MGF1_SHA512, saltLen: 64 } },
  'SHA256-HMAC': { mechanism: CKM.CKM_SHA256_HMAC },
  'AES-CMAC': { mechanism: CKM.CKM_AES_CMAC },
} satisfies Record<string, Mechanism>);
export type SignAlgorithm = keyof typeof SIGN_ALGORITHMS;

/** What {@link TokenSession.list} tells about an object (never a secret value). */
export interface ObjectSummary {
  readonly handle: number;
  readonly class: ObjectClassName;
  readonly label: string;
  /** CKA_ID in hex. */
  readonly id: string;
  readonly token: boolean;
  readonly private: boolean;
  readonly keyType?: KeyTypeName;
  /** EC keys: the curve; RSA keys: the modulus size; secret keys: the value length in bits. */
  readonly curve?: TokenCurve;
  readonly bits?: number;
  readonly sensitive?: boolean;
  readonly extractable?: boolean;
  /** Generated on the token (CKA_LOCAL). */
  readonly local?: boolean;
}

/** Where and how a new object is kept. */
export interface NewObjectOptions {
  readonly label: string;
  /** CKA_ID (pairs a key with its certificate); default empty. */
  readonly id?: Uint8Array;
  /** Token object (stored) or session object. Default true. */
  readonly token?: boolean;
}

/** A key pair to generate. */
export type KeyPairSpec = { readonly type: 'ec'; readonly curve: TokenCurve } | { readonly type: 'rsa'; readonly bits: number };

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();
const attr = (type: number, value: Uint8Array | number | boolean | string): RawAttribute => ({
  type,
  value: typeof value === 'number' ? ulongBytes(value) : typeof value === 'boolean' ? Uint8Array.of(value ? 1 : 0) : typeof value === 'string' ? utf8.encode(value) : value,
});

/**
 * One session on a {@link Token}, with names instead of numbers: what nvsec's CLI and factory use.
 * Errors are the token's {@link Pkcs11Error}s.
 *
 * @example
 * const s = TokenSession.open(token, { readWrite: true });
 * s.login('1234');
 * const { privateKey } = s.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'Device Priv TLS Key' });
 * const sig = s.sign(privateKey, 'ECDSA-SHA256', message);
 * s.close();
 */
export class TokenSession {
  private constructor(
    readonly token: Token,
    readonly handle: number,
  ) {}

  /** Opens a session on the token's slot (initialising the library first when needed). */
  static open(token: Token, options: { readWrite?: boolean } = {}): TokenSession {
    if (!token.isInitialized) token.initialize();
    const flags = CKF_SESSION.CKF_SERIAL_SESSION | (options.readWrite === true ? CKF_SESSION.CKF_RW_SESSION : 0);
    return new TokenSession(token, token.openSession(token.slotId, flags));
  }

  /** Logs in as the user (default) or the SO. */
  login(pin: string, as: 'user' | 'so' = 'user'): void {
    withPin(pin, (p) => this.token.loginAs(this.handle, as === 'so' ? CKU.CKU_SO : CKU.CKU_USER, p));
  }

  logout(): void {
    this.token.logout(this.handle);
  }

  /** Changes the PIN of whoever is logged in (the user when nobody is). */
  setPin(oldPin: string, newPin: string): void {
    withPin(oldPin, (o) => withPin(newPin, (n) => this.token.setPin(this.handle, o, n)));
  }

  /** Sets the user PIN (SO logged in). */
  initPin(pin: string): void {
    withPin(pin, (p) => this.token.initPin(this.handle, p));
  }

  /** Handles of the visible objects matching `filter`, in handle order. */
  find(filter: { label?: string; class?: ObjectClassName; id?: Uint8Array } = {}): number[] {
    const template: RawAttribute[] = [];
    if (filter.label !== undefined) template.push(attr(CKA.CKA_LABEL, filter.label));
    if (filter.class !== undefined) template.push(attr(CKA.CKA_CLASS, OBJECT_CLASSES[filter.class]));
    if (filter.id !== undefined) template.push(attr(CKA.CKA_ID, filter.id));
    this.token.findObjectsInit(this.handle, template);
    try {
      const out: number[] = [];
      for (let batch = this.token.findObjects(this.handle, 256); batch.length > 0; batch = this.token.findObjects(this.handle, 256)) out.push(...batch);
      return out;
    } finally {
      this.token.findObjectsFinal(this.handle);
    }
  }

  /** The one object of `class` labelled `label`; throws when there is none or more than one. */
  findOne(label: string, cls: ObjectClassName): number {
    const found = this.find({ label, class: cls });
    if (found.length !== 1) {
      throw new Pkcs11Error(
        CKR.CKR_OBJECT_HANDLE_INVALID,
        found.length === 0 ? `no ${cls} labelled "${label}" is visible (log in to see private objects)` : `${found.length} objects of class ${cls} are labelled "${label}"; give a unique label`,
      );
    }
    return found[0]!;
  }

  /** A summary of every visible object matching `filter`. */
  list(filter: { label?: string; class?: ObjectClassName } = {}): ObjectSummary[] {
    return this.find(filter).map((h) => this.describe(h));
  }

  /** The summary of one object. */
  describe(handle: number): ObjectSummary {
    const a = this.attributes(handle, [
      CKA.CKA_CLASS,
      CKA.CKA_LABEL,
      CKA.CKA_ID,
      CKA.CKA_TOKEN,
      CKA.CKA_PRIVATE,
      CKA.CKA_KEY_TYPE,
      CKA.CKA_EC_PARAMS,
      CKA.CKA_MODULUS,
      CKA.CKA_VALUE_LEN,
      CKA.CKA_SENSITIVE,
      CKA.CKA_EXTRACTABLE,
      CKA.CKA_LOCAL,
    ]);
    const cls = (Object.keys(OBJECT_CLASSES) as ObjectClassName[]).find((k) => OBJECT_CLASSES[k] === getUlong(a, CKA.CKA_CLASS)) ?? 'data';
    const kt = getUlong(a, CKA.CKA_KEY_TYPE);
    const keyType = kt === undefined ? undefined : (Object.keys(KEY_TYPES) as KeyTypeName[]).find((k) => KEY_TYPES[k] === kt);
    const params = a.get(CKA.CKA_EC_PARAMS);
    const curve = params === undefined ? null : curveOfEcParams(params);
    const modulus = a.get(CKA.CKA_MODULUS);
    const valueLen = getUlong(a, CKA.CKA_VALUE_LEN);
    const bits = modulus !== undefined ? bitLength(modulus) : valueLen !== undefined ? valueLen * 8 : undefined;
    const opt = <T>(k: string, v: T | undefined | null): Record<string, T> => (v === undefined || v === null ? {} : { [k]: v });
    return {
      handle,
      class: cls,
      label: utf8d.decode(a.get(CKA.CKA_LABEL) ?? new Uint8Array(0)),
      id: toHex(a.get(CKA.CKA_ID) ?? new Uint8Array(0)),
      token: getBool(a, CKA.CKA_TOKEN) === true,
      private: getBool(a, CKA.CKA_PRIVATE) === true,
      ...opt('keyType', keyType),
      ...opt('curve', curve),
      ...opt('bits', bits),
      ...opt('sensitive', getBool(a, CKA.CKA_SENSITIVE)),
      ...opt('extractable', getBool(a, CKA.CKA_EXTRACTABLE)),
      ...opt('local', getBool(a, CKA.CKA_LOCAL)),
    };
  }

  /** The readable attributes among `types` (sensitive and absent ones are left out). */
  attributes(handle: number, types: readonly number[]): Map<number, Uint8Array> {
    const { attributes } = this.token.getAttributeValue(
      this.handle,
      handle,
      types.map((type) => ({ type, capacity: Number.MAX_SAFE_INTEGER })),
    );
    const out = new Map<number, Uint8Array>();
    for (const a of attributes) if (a.value !== null) out.set(a.type, a.value);
    return out;
  }

  /** One readable attribute's value; throws the token's error when it is absent or sensitive. */
  attribute(handle: number, type: number): Uint8Array {
    const { rv, attributes } = this.token.getAttributeValue(this.handle, handle, [{ type, capacity: Number.MAX_SAFE_INTEGER }]);
    if (rv !== CKR.CKR_OK) throw new Pkcs11Error(rv, 'C_GetAttributeValue');
    return attributes[0]!.value!;
  }

  /** Stores an X.509 certificate (DER). */
  importCertificate(der: Uint8Array, options: NewObjectOptions): number {
    return this.token.createObject(this.handle, [
      attr(CKA.CKA_CLASS, CKO.CKO_CERTIFICATE),
      attr(CKA.CKA_CERTIFICATE_TYPE, CKC.CKC_X_509),
      attr(CKA.CKA_VALUE, der),
      ...common(options),
    ]);
  }

  /** Stores an EC or RSA private key (sensitive; extractable only when asked). */
  importPrivateKey(key: { type: 'ec'; curve: TokenCurve; d: Uint8Array } | ({ type: 'rsa' } & RsaPrivateComponents), options: NewObjectOptions & { extractable?: boolean }): number {
    const material =
      key.type === 'ec'
        ? [attr(CKA.CKA_KEY_TYPE, CKK.CKK_EC), attr(CKA.CKA_EC_PARAMS, EC_PARAMS[key.curve]), attr(CKA.CKA_VALUE, key.d)]
        : [
            attr(CKA.CKA_KEY_TYPE, CKK.CKK_RSA),
            attr(CKA.CKA_MODULUS, key.n),
            attr(CKA.CKA_PUBLIC_EXPONENT, key.e),
            attr(CKA.CKA_PRIVATE_EXPONENT, key.d),
            attr(CKA.CKA_PRIME_1, key.p),
            attr(CKA.CKA_PRIME_2, key.q),
            attr(CKA.CKA_EXPONENT_1, key.dp),
            attr(CKA.CKA_EXPONENT_2, key.dq),
            attr(CKA.CKA_COEFFICIENT, key.qi),
          ];
    return this.token.createObject(this.handle, [
      attr(CKA.CKA_CLASS, CKO.CKO_PRIVATE_KEY),
      ...material,
      attr(CKA.CKA_SIGN, true),
      attr(CKA.CKA_SENSITIVE, true),
      attr(CKA.CKA_EXTRACTABLE, options.extractable === true),
      ...common(options),
    ]);
  }

  /** Stores an EC (uncompressed point) or RSA public key. */
  importPublicKey(key: { type: 'ec'; curve: TokenCurve; point: Uint8Array } | ({ type: 'rsa' } & RsaPublicComponents), options: NewObjectOptions): number {
    const material =
      key.type === 'ec'
        ? [attr(CKA.CKA_KEY_TYPE, CKK.CKK_EC), attr(CKA.CKA_EC_PARAMS, EC_PARAMS[key.curve]), attr(CKA.CKA_EC_POINT, key.point)]
        : [attr(CKA.CKA_KEY_TYPE, CKK.CKK_RSA), attr(CKA.CKA_MODULUS, key.n), attr(CKA.CKA_PUBLIC_EXPONENT, key.e)];
    return this.token.createObject(this.handle, [attr(CKA.CKA_CLASS, CKO.CKO_PUBLIC_KEY), ...material, attr(CKA.CKA_VERIFY, true), ...common(options)]);
  }

  /** Stores a secret key (SHA256-HMAC: at least 32 bytes; AES: 16/24/32 bytes). */
  importSecretKey(keyType: 'SHA256-HMAC' | 'AES' | 'GENERIC', value: Uint8Array, options: NewObjectOptions): number {
    return this.token.createObject(this.handle, [
      attr(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
      attr(CKA.CKA_KEY_TYPE, KEY_TYPES[keyType]),
      attr(CKA.CKA_VALUE, value),
      attr(CKA.CKA_SIGN, true),
      attr(CKA.CKA_VERIFY, true),
      ...common(options),
    ]);
  }

  /**
   * Generates a key pair inside the token. Both halves get `options.label` and id, except the
   * corePKCS11 device pair: a private key labelled "Device Priv TLS Key" gets its public half in
   * "Device Pub TLS Key" ({@link publicLabelFor}); `publicLabel` overrides.
   */
  generateKeyPair(spec: KeyPairSpec, options: NewObjectOptions & { publicLabel?: string; extractable?: boolean }): { publicKey: number; privateKey: number } {
    const pub: RawAttribute[] = [attr(CKA.CKA_VERIFY, true), ...common({ ...options, label: options.publicLabel ?? publicLabelFor(options.label) })];
    const priv: RawAttribute[] = [attr(CKA.CKA_SIGN, true), attr(CKA.CKA_SENSITIVE, true), attr(CKA.CKA_EXTRACTABLE, options.extractable === true), attr(CKA.CKA_PRIVATE, true), ...common(options)];
    if (spec.type === 'ec') {
      pub.push(attr(CKA.CKA_EC_PARAMS, EC_PARAMS[spec.curve]));
      return this.token.generateKeyPair(this.handle, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, pub, priv);
    }
    pub.push(attr(CKA.CKA_MODULUS_BITS, spec.bits));
    return this.token.generateKeyPair(this.handle, { mechanism: CKM.CKM_RSA_PKCS_KEY_PAIR_GEN }, pub, priv);
  }

  /** Signs `data` (for ECDSA and RSA-PKCS: the digest / DigestInfo; for the hashing algorithms: the message). */
  sign(key: number, algorithm: SignAlgorithm, data: Uint8Array): Uint8Array {
    this.token.signInit(this.handle, SIGN_ALGORITHMS[algorithm], key);
    return this.token.sign(this.handle, data, Number.MAX_SAFE_INTEGER).value!;
  }

  /** Whether `signature` verifies; false for CKR_SIGNATURE_INVALID, other errors thrown. */
  verify(key: number, algorithm: SignAlgorithm, data: Uint8Array, signature: Uint8Array): boolean {
    this.token.verifyInit(this.handle, SIGN_ALGORITHMS[algorithm], key);
    try {
      this.token.verify(this.handle, data, signature);
      return true;
    } catch (e) {
      if (e instanceof Pkcs11Error && (e.ckr === CKR.CKR_SIGNATURE_INVALID || e.ckr === CKR.CKR_SIGNATURE_LEN_RANGE)) return false;
      throw e;
    }
  }

  /** Destroys an object. */
  destroy(handle: number): void {
    this.token.destroyObject(this.handle, handle);
  }

  /** Random bytes from the token's DRBG. */
  random(length: number): Uint8Array {
    return this.token.generateRandom(this.handle, length);
  }

  /** Closes the session (the last one logs out). */
  close(): void {
    this.token.closeSession(this.handle);
  }
}

function common(options: NewObjectOptions): RawAttribute[] {
  return [attr(CKA.CKA_LABEL, options.label), attr(CKA.CKA_ID, options.id ?? new Uint8Array(0)), attr(CKA.CKA_TOKEN, options.token ?? true)];
}
