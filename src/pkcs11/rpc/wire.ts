// The p11-kit RPC value codec (protocol 0, spec §3.5): big-endian integers, CK_ULONG as 8 bytes,
// byte arrays with a u32 length (0xFFFFFFFF = NULL), attributes encoded by attribute type, and
// the two CK_MECHANISM layouts (p11-kit ≤ 0.25.5 and 0.25.6+, pitfall P2).
import { NvsecError } from '../../errors/nvsec-error.js';
import { CKA, CKM } from '../constants.js';

/** Byte arrays of this length or more are refused, as p11-kit refuses them (0x7FFFFFFF). */
export const WIRE_MAX_ARRAY = 0x7fffffff;
/** The u32 length that marks a NULL byte array. */
export const WIRE_NULL_ARRAY = 0xffffffff;
/** Deepest nesting of attribute templates (CKA_WRAP_TEMPLATE inside CKA_WRAP_TEMPLATE …) accepted (P11). */
export const WIRE_MAX_ATTRIBUTE_DEPTH = 8;

/**
 * A message that does not parse: truncated, a length over the limits, a wrong signature string.
 * The server answers it by dropping the connection.
 *
 * @example
 * try { reader.u32(); } catch (e) { if (e instanceof WireError) socket.destroy(); }
 */
export class WireError extends NvsecError {
  constructor(message: string) {
    super('RPC_MALFORMED', message);
    this.name = 'WireError';
  }
}

/** How p11-kit encodes an attribute's value on the wire, decided by the attribute type alone. */
export type WireValueKind = 'byte' | 'ulong' | 'attributes' | 'mechanisms' | 'date' | 'bytes';

const BYTE_ATTRIBUTES = new Set<number>([
  CKA.CKA_TOKEN, CKA.CKA_PRIVATE, CKA.CKA_TRUSTED, CKA.CKA_SENSITIVE, CKA.CKA_ENCRYPT, CKA.CKA_DECRYPT, CKA.CKA_WRAP,
  CKA.CKA_UNWRAP, CKA.CKA_SIGN, CKA.CKA_SIGN_RECOVER, CKA.CKA_VERIFY, CKA.CKA_VERIFY_RECOVER, CKA.CKA_DERIVE,
  CKA.CKA_EXTRACTABLE, CKA.CKA_LOCAL, CKA.CKA_NEVER_EXTRACTABLE, CKA.CKA_ALWAYS_SENSITIVE, CKA.CKA_MODIFIABLE,
  CKA.CKA_COPYABLE, CKA.CKA_SECONDARY_AUTH, CKA.CKA_ALWAYS_AUTHENTICATE, CKA.CKA_WRAP_WITH_TRUSTED, CKA.CKA_RESET_ON_INIT,
  CKA.CKA_HAS_RESET, CKA.CKA_COLOR,
]);
const ULONG_ATTRIBUTES = new Set<number>([
  CKA.CKA_CLASS, CKA.CKA_CERTIFICATE_TYPE, CKA.CKA_CERTIFICATE_CATEGORY, CKA.CKA_JAVA_MIDP_SECURITY_DOMAIN, CKA.CKA_KEY_TYPE,
  CKA.CKA_MODULUS_BITS, CKA.CKA_PRIME_BITS, CKA.CKA_SUBPRIME_BITS, CKA.CKA_VALUE_BITS, CKA.CKA_VALUE_LEN,
  CKA.CKA_KEY_GEN_MECHANISM, CKA.CKA_AUTH_PIN_FLAGS, CKA.CKA_HW_FEATURE_TYPE, CKA.CKA_PIXEL_X, CKA.CKA_PIXEL_Y,
  CKA.CKA_RESOLUTION, CKA.CKA_CHAR_ROWS, CKA.CKA_CHAR_COLUMNS, CKA.CKA_BITS_PER_PIXEL, CKA.CKA_MECHANISM_TYPE,
]);
const TEMPLATE_ATTRIBUTES = new Set<number>([CKA.CKA_WRAP_TEMPLATE, CKA.CKA_UNWRAP_TEMPLATE, CKA.CKA_DERIVE_TEMPLATE]);

/**
 * The wire encoding p11-kit uses for attribute `type` (P4): CK_BBOOL-like ones as 1 byte, CK_ULONG
 * ones as u64, templates nested, CKA_ALLOWED_MECHANISMS as u64s, dates as 0/8 bytes, the rest
 * (and every vendor type) as byte arrays.
 *
 * @example
 * wireValueKind(CKA.CKA_CLASS); // 'ulong'
 */
export function wireValueKind(type: number): WireValueKind {
  if (BYTE_ATTRIBUTES.has(type)) return 'byte';
  if (ULONG_ATTRIBUTES.has(type)) return 'ulong';
  if (TEMPLATE_ATTRIBUTES.has(type)) return 'attributes';
  if (type === CKA.CKA_ALLOWED_MECHANISMS) return 'mechanisms';
  if (type === CKA.CKA_START_DATE || type === CKA.CKA_END_DATE) return 'date';
  return 'bytes';
}

/**
 * One CK_ATTRIBUTE as it crosses the wire. `length` is the sender's ulValueLen (null: the
 * "invalid" flag, ulValueLen = -1). `value` holds the bytes in the token's canonical form: a byte
 * attribute as 1 byte, a CK_ULONG as 8 little-endian bytes, CKA_ALLOWED_MECHANISMS as 8-byte
 * little-endian CK_ULONGs, others as sent; null when the sender's pValue was NULL. A nested
 * template is in `nested` (and `value` is null).
 */
export interface WireAttribute {
  readonly type: number;
  readonly length: number | null;
  readonly value: Uint8Array | null;
  readonly nested?: readonly WireAttribute[];
}

/** One `fA` entry: the attribute type and the capacity of the caller's buffer (null: a length query). */
export interface WireAttributeRequest {
  readonly type: number;
  readonly capacity: number | null;
}

/** A CK_MECHANISM parameter as p11-kit serialises it. */
export type WireMechanismParameter =
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly kind: 'pss'; readonly hashAlg: number; readonly mgf: number; readonly saltLen: number }
  | { readonly kind: 'oaep'; readonly hashAlg: number; readonly mgf: number; readonly source: number; readonly sourceData: Uint8Array | null }
  | { readonly kind: 'ulong'; readonly value: number }
  | { readonly kind: 'aes-ctr'; readonly counterBits: number; readonly cb: Uint8Array }
  | { readonly kind: 'gcm'; readonly iv: Uint8Array | null; readonly ivBits: number; readonly aad: Uint8Array | null; readonly tagBits: number }
  | { readonly kind: 'ecdh1'; readonly kdf: number; readonly sharedData: Uint8Array | null; readonly publicData: Uint8Array | null };

/** A CK_MECHANISM: the type, and its parameter (null when none was sent). */
export interface WireMechanism {
  readonly type: number;
  readonly parameter: WireMechanismParameter | null;
}

/**
 * The CK_MECHANISM layout: `'legacy'` (p11-kit ≤ 0.25.5, Debian 12's 0.24.1: the type then always a
 * parameter, a NULL byte array for none) or `'typed'` (0.25.6+: nothing after parameterless types,
 * else a has-parameter byte). Chosen by the version the client offered (P2): 2 → typed.
 */
export type MechanismFormat = 'legacy' | 'typed';

/** The mechanism layout of a client that offered protocol `offered` (P2). @example mechanismFormatFor(0); // 'legacy' */
export function mechanismFormatFor(offered: number): MechanismFormat {
  return offered >= 2 ? 'typed' : 'legacy';
}

const ckm = (...names: string[]): Set<number> => {
  const table = CKM as Readonly<Record<string, number>>;
  return new Set(names.map((n) => table[n]).filter((v): v is number => v !== undefined));
};

/** Mechanisms p11-kit knows to take no parameter (the typed layout sends nothing after them). */
const NO_PARAMETER = ckm(
  'CKM_RSA_PKCS_KEY_PAIR_GEN', 'CKM_RSA_X9_31_KEY_PAIR_GEN', 'CKM_RSA_PKCS', 'CKM_RSA_9796', 'CKM_RSA_X_509', 'CKM_RSA_X9_31',
  'CKM_MD2_RSA_PKCS', 'CKM_MD5_RSA_PKCS', 'CKM_SHA1_RSA_PKCS', 'CKM_SHA224_RSA_PKCS', 'CKM_SHA256_RSA_PKCS', 'CKM_SHA384_RSA_PKCS',
  'CKM_SHA512_RSA_PKCS', 'CKM_RIPEMD128_RSA_PKCS', 'CKM_RIPEMD160_RSA_PKCS', 'CKM_SHA1_RSA_X9_31', 'CKM_DSA_KEY_PAIR_GEN',
  'CKM_DSA_PARAMETER_GEN', 'CKM_DSA', 'CKM_DSA_SHA1', 'CKM_FORTEZZA_TIMESTAMP', 'CKM_EC_KEY_PAIR_GEN', 'CKM_ECDSA', 'CKM_ECDSA_SHA1',
  'CKM_ECDSA_SHA224', 'CKM_ECDSA_SHA256', 'CKM_ECDSA_SHA384', 'CKM_ECDSA_SHA512', 'CKM_DH_PKCS_KEY_PAIR_GEN', 'CKM_DH_PKCS_PARAMETER_GEN',
  'CKM_X9_42_DH_KEY_PAIR_GEN', 'CKM_X9_42_DH_PARAMETER_GEN', 'CKM_KEA_KEY_PAIR_GEN', 'CKM_GENERIC_SECRET_KEY_GEN', 'CKM_RC2_KEY_GEN',
  'CKM_RC4_KEY_GEN', 'CKM_RC4', 'CKM_RC5_KEY_GEN', 'CKM_AES_KEY_GEN', 'CKM_AES_ECB', 'CKM_AES_MAC', 'CKM_AES_CMAC', 'CKM_DES_KEY_GEN',
  'CKM_DES2_KEY_GEN', 'CKM_DES3_KEY_GEN', 'CKM_CDMF_KEY_GEN', 'CKM_CAST_KEY_GEN', 'CKM_CAST3_KEY_GEN', 'CKM_CAST128_KEY_GEN',
  'CKM_IDEA_KEY_GEN', 'CKM_SSL3_PRE_MASTER_KEY_GEN', 'CKM_TLS_PRE_MASTER_KEY_GEN', 'CKM_SKIPJACK_KEY_GEN', 'CKM_BATON_KEY_GEN',
  'CKM_JUNIPER_KEY_GEN', 'CKM_RC2_ECB', 'CKM_DES_ECB', 'CKM_DES3_ECB', 'CKM_CDMF_ECB', 'CKM_CAST_ECB', 'CKM_CAST3_ECB', 'CKM_CAST128_ECB',
  'CKM_RC5_ECB', 'CKM_IDEA_ECB', 'CKM_RC2_MAC', 'CKM_DES_MAC', 'CKM_DES3_MAC', 'CKM_DES3_CMAC', 'CKM_CDMF_MAC', 'CKM_CAST_MAC',
  'CKM_CAST3_MAC', 'CKM_RC5_MAC', 'CKM_IDEA_MAC', 'CKM_SSL3_MD5_MAC', 'CKM_SSL3_SHA1_MAC', 'CKM_SKIPJACK_WRAP', 'CKM_BATON_WRAP',
  'CKM_JUNIPER_WRAP', 'CKM_MD2', 'CKM_MD2_HMAC', 'CKM_MD5', 'CKM_MD5_HMAC', 'CKM_SHA_1', 'CKM_SHA_1_HMAC', 'CKM_SHA1_KEY_DERIVATION',
  'CKM_SHA224', 'CKM_SHA224_HMAC', 'CKM_SHA224_KEY_DERIVATION', 'CKM_SHA256', 'CKM_SHA256_HMAC', 'CKM_SHA256_KEY_DERIVATION',
  'CKM_SHA384', 'CKM_SHA384_HMAC', 'CKM_SHA384_KEY_DERIVATION', 'CKM_SHA512', 'CKM_SHA512_HMAC', 'CKM_SHA512_KEY_DERIVATION',
  'CKM_SHA512_T', 'CKM_SHA512_T_HMAC', 'CKM_SHA512_T_KEY_DERIVATION', 'CKM_SHA512_224', 'CKM_SHA512_224_HMAC',
  'CKM_SHA512_224_KEY_DERIVATION', 'CKM_SHA512_256', 'CKM_SHA512_256_HMAC', 'CKM_SHA512_256_KEY_DERIVATION', 'CKM_FASTHASH',
  'CKM_RIPEMD128', 'CKM_RIPEMD128_HMAC', 'CKM_RIPEMD160', 'CKM_RIPEMD160_HMAC', 'CKM_KEY_WRAP_LYNKS',
);
const PSS = ckm('CKM_RSA_PKCS_PSS', 'CKM_SHA1_RSA_PKCS_PSS', 'CKM_SHA224_RSA_PKCS_PSS', 'CKM_SHA256_RSA_PKCS_PSS', 'CKM_SHA384_RSA_PKCS_PSS', 'CKM_SHA512_RSA_PKCS_PSS');
const OAEP = ckm('CKM_RSA_PKCS_OAEP');
/** Typed-layout parameters (0.25.6+): which structure follows the has-parameter byte. */
const ECDH1 = ckm('CKM_ECDH1_DERIVE');
const AES_CTR = ckm('CKM_AES_CTR');
const GCM = ckm('CKM_AES_GCM');
const MAC_GENERAL = ckm(
  'CKM_SHA_1_HMAC_GENERAL', 'CKM_SHA224_HMAC_GENERAL', 'CKM_SHA256_HMAC_GENERAL', 'CKM_SHA384_HMAC_GENERAL', 'CKM_SHA512_HMAC_GENERAL',
  'CKM_SHA512_224_HMAC_GENERAL', 'CKM_SHA512_256_HMAC_GENERAL', 'CKM_AES_MAC_GENERAL', 'CKM_AES_CMAC_GENERAL', 'CKM_DES3_MAC_GENERAL',
  'CKM_DES3_CMAC_GENERAL',
);

/** True when p11-kit sends mechanism `type` without a parameter (typed layout). @example mechanismHasNoParameter(CKM.CKM_ECDSA); // true */
export function mechanismHasNoParameter(type: number): boolean {
  return NO_PARAMETER.has(type);
}

/** The mechanism type that cancels an operation in the typed layout (a NULL CK_MECHANISM). */
export const WIRE_NULL_MECHANISM = 0xffffffff;

const TWO32 = 2 ** 32;

/**
 * Reads p11-kit wire values from one message body. Every read checks the bytes left first and
 * every length before anything is allocated; a short or oversized value throws {@link WireError}.
 *
 * @example
 * const r = new WireReader(body);
 * const callId = r.u32();
 * const signature = r.signature();
 */
export class WireReader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.length - this.at;
  }

  private need(n: number, what: string): void {
    if (n > this.bytes.length - this.at) throw new WireError(`${what} needs ${n} bytes at offset ${this.at}, ${this.bytes.length - this.at} left`);
  }

  /** `y`. */
  byte(): number {
    this.need(1, 'a byte');
    return this.bytes[this.at++]!;
  }

  /** A big-endian u32. */
  u32(): number {
    this.need(4, 'a u32');
    const b = this.bytes;
    const v = (b[this.at]! * 0x1000000) + ((b[this.at + 1]! << 16) | (b[this.at + 2]! << 8) | b[this.at + 3]!);
    this.at += 4;
    return v;
  }

  /** `u`: a CK_ULONG as u64 (values over 2^53 lose precision; 0xFFFF…FF stays distinguishable as 2^64). */
  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    return hi * TWO32 + lo;
  }

  /** `v`: CK_VERSION. */
  version(): { major: number; minor: number } {
    return { major: this.byte(), minor: this.byte() };
  }

  /** A byte array: null for the NULL marker; lengths of 0x7FFFFFFF and more (other than NULL) throw. */
  byteArray(): Uint8Array | null {
    const n = this.u32();
    if (n === WIRE_NULL_ARRAY) return null;
    if (n >= WIRE_MAX_ARRAY) throw new WireError(`byte array length 0x${n.toString(16)} is over the limit`);
    this.need(n, 'a byte array');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** The signature string after the call id. */
  signature(): string {
    const raw = this.byteArray();
    if (raw === null) throw new WireError('the signature string is NULL');
    let s = '';
    for (const c of raw) s += String.fromCharCode(c);
    return s;
  }

  /** `ay` in a request: the bytes (an empty array for a NULL one). */
  bytesArg(): Uint8Array {
    const valid = this.byte();
    if (valid !== 0 && valid !== 1) throw new WireError(`ay validity byte ${valid}`);
    if (valid === 0) {
      this.u32();
      return new Uint8Array(0);
    }
    return this.byteArray() ?? new Uint8Array(0);
  }

  /** `ay` as a response carries it: the bytes, or (valid 0) only a length. */
  bytesResult(): { value: Uint8Array | null; length: number } {
    const valid = this.byte();
    if (valid === 0) return { value: null, length: this.u32() };
    const value = this.byteArray() ?? new Uint8Array(0);
    return { value, length: value.length };
  }

  /** `au` as a response carries it. */
  ulongsResult(): { values: number[] | null; count: number } {
    const valid = this.byte();
    const count = this.u32();
    if (valid === 0) return { values: null, count };
    this.need(count * 8, 'an au array');
    const values: number[] = [];
    for (let i = 0; i < count; i++) values.push(this.u64());
    return { values, count };
  }

  /** `fy` / `fu`: the caller's buffer capacity; null for 0 (a NULL buffer, a size query: P5). */
  capacity(): number | null {
    const n = this.u32();
    return n === 0 ? null : n;
  }

  /** `s`: a space-padded fixed string (as sent; trailing spaces kept). */
  spaceString(): string {
    const raw = this.byteArray();
    return raw === null ? '' : new TextDecoder().decode(raw);
  }

  /** `z`: a string (C_InitToken's label in protocol 0); a trailing NUL is dropped. */
  zeroString(): string {
    const raw = this.byteArray();
    if (raw === null) return '';
    const end = raw.indexOf(0);
    return new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end));
  }

  /** `aA`: an attribute array; nesting deeper than {@link WIRE_MAX_ATTRIBUTE_DEPTH} throws. */
  attributes(depth = 0): WireAttribute[] {
    if (depth > WIRE_MAX_ATTRIBUTE_DEPTH) throw new WireError(`attribute templates nest deeper than ${WIRE_MAX_ATTRIBUTE_DEPTH}`);
    const count = this.u32();
    // Every attribute takes at least 5 bytes (type + validity): a count the body cannot hold is refused before the loop.
    this.need(count * 5, `${count} attributes`);
    const out: WireAttribute[] = [];
    for (let i = 0; i < count; i++) out.push(this.attribute(depth));
    return out;
  }

  private attribute(depth: number): WireAttribute {
    const type = this.u32();
    const valid = this.byte();
    if (valid === 0) return { type, length: null, value: null };
    if (valid !== 1) throw new WireError(`attribute validity byte ${valid}`);
    const length = this.u32();
    switch (wireValueKind(type)) {
      case 'byte':
        return { type, length, value: Uint8Array.of(this.byte()) };
      case 'ulong':
        return { type, length, value: ulongLE(this.u64()) };
      case 'date':
      case 'bytes': {
        const v = this.byteArray();
        return { type, length, value: v === null ? null : v.slice() };
      }
      case 'mechanisms': {
        const count = this.u32();
        this.need(count * 8, 'a mechanism array');
        const out = new Uint8Array(count * 8);
        for (let i = 0; i < count; i++) out.set(ulongLE(this.u64()), i * 8);
        return { type, length, value: out };
      }
      case 'attributes':
        return { type, length, value: null, nested: this.attributes(depth + 1) };
    }
  }

  /** `fA`: C_GetAttributeValue's request: types and buffer capacities (0 = length query). */
  attributeRequests(): WireAttributeRequest[] {
    const count = this.u32();
    this.need(count * 8, `${count} attribute requests`);
    const out: WireAttributeRequest[] = [];
    for (let i = 0; i < count; i++) {
      const type = this.u32();
      const cap = this.u32();
      out.push({ type, capacity: cap === 0 ? null : cap });
    }
    return out;
  }

  /** `M` in the given layout (P2). */
  mechanism(format: MechanismFormat): WireMechanism {
    const type = this.u32();
    if (format === 'legacy') {
      if (PSS.has(type)) return { type, parameter: this.pss() };
      if (OAEP.has(type)) return { type, parameter: this.oaep() };
      const v = this.byteArray();
      return { type, parameter: v === null ? null : { kind: 'bytes', value: v.slice() } };
    }
    if (type === WIRE_NULL_MECHANISM || NO_PARAMETER.has(type)) return { type, parameter: null };
    const has = this.byte();
    if (has === 0) return { type, parameter: null };
    if (has !== 1) throw new WireError(`mechanism has-parameter byte ${has}`);
    if (PSS.has(type)) return { type, parameter: this.pss() };
    if (OAEP.has(type)) return { type, parameter: this.oaep() };
    if (MAC_GENERAL.has(type)) return { type, parameter: { kind: 'ulong', value: this.u64() } };
    if (AES_CTR.has(type)) {
      const counterBits = this.u64();
      return { type, parameter: { kind: 'aes-ctr', counterBits, cb: (this.byteArray() ?? new Uint8Array(0)).slice() } };
    }
    if (GCM.has(type)) {
      const iv = this.byteArray();
      const ivBits = this.u64();
      const aad = this.byteArray();
      return { type, parameter: { kind: 'gcm', iv: iv?.slice() ?? null, ivBits, aad: aad?.slice() ?? null, tagBits: this.u64() } };
    }
    if (ECDH1.has(type)) {
      const kdf = this.u64();
      const sharedData = this.byteArray();
      return { type, parameter: { kind: 'ecdh1', kdf, sharedData: sharedData?.slice() ?? null, publicData: this.byteArray()?.slice() ?? null } };
    }
    const v = this.byteArray();
    return { type, parameter: v === null ? null : { kind: 'bytes', value: v.slice() } };
  }

  private pss(): WireMechanismParameter {
    return { kind: 'pss', hashAlg: this.u64(), mgf: this.u64(), saltLen: this.u64() };
  }

  private oaep(): WireMechanismParameter {
    const hashAlg = this.u64();
    const mgf = this.u64();
    const source = this.u64();
    return { kind: 'oaep', hashAlg, mgf, source, sourceData: this.byteArray()?.slice() ?? null };
  }

  /** Throws unless every byte was read (trailing garbage is malformed too). */
  end(): void {
    if (this.at !== this.bytes.length) throw new WireError(`${this.bytes.length - this.at} unexpected bytes at the end of the message`);
  }
}

/**
 * Builds a p11-kit message body. Values are checked as they are written (a byte above 255, a
 * string of the wrong field size) with a RangeError naming the value.
 *
 * @example
 * const w = new WireWriter();
 * w.u32(4).signature('au').ulongs([1]);
 * const body = w.finish();
 */
export class WireWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** `y`. */
  byte(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`byte must be 0..255, got ${v}`);
    this.room(1);
    this.buf[this.len++] = v;
    return this;
  }

  /** A big-endian u32. */
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`u32 must be 0..0xFFFFFFFF, got ${v}`);
    this.room(4);
    const b = this.buf;
    b[this.len] = v >>> 24;
    b[this.len + 1] = (v >>> 16) & 0xff;
    b[this.len + 2] = (v >>> 8) & 0xff;
    b[this.len + 3] = v & 0xff;
    this.len += 4;
    return this;
  }

  /** `u`: a CK_ULONG as u64. */
  u64(v: number): this {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`CK_ULONG must be a whole number >= 0, got ${v}`);
    if (v >= 2 ** 64 - 2048) return this.u32(0xffffffff).u32(0xffffffff);
    return this.u32(Math.floor(v / TWO32)).u32(v % TWO32);
  }

  /**
   * A CK_ULONG field that may be CK_UNAVAILABLE_INFORMATION: the token's 32-bit ~0 (0xFFFFFFFF) is
   * sent as the 64-bit ~0 an LP64 client expects.
   */
  ulongInfo(v: number): this {
    return v === 0xffffffff ? this.u32(0xffffffff).u32(0xffffffff) : this.u64(v);
  }

  /** `v`. */
  version(v: { major: number; minor: number }): this {
    return this.byte(v.major).byte(v.minor);
  }

  /** A byte array; null writes the NULL marker. */
  byteArray(v: Uint8Array | null): this {
    if (v === null) return this.u32(WIRE_NULL_ARRAY);
    if (v.length >= WIRE_MAX_ARRAY) throw new RangeError(`byte array of ${v.length} bytes is over the wire limit`);
    this.u32(v.length);
    this.room(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }

  /** The signature string. */
  signature(s: string): this {
    return this.byteArray(ascii(s));
  }

  /** `s`: a space-padded field of exactly `size` bytes (P8). */
  spaceString(s: string, size: number): this {
    const raw = new TextEncoder().encode(s);
    if (raw.length !== size) throw new RangeError(`space-padded string must be ${size} bytes, got ${raw.length} ("${s}")`);
    return this.byteArray(raw);
  }

  /** `z`. */
  zeroString(s: string): this {
    return this.byteArray(new TextEncoder().encode(s));
  }

  /** `ay` carrying bytes. */
  bytes(v: Uint8Array): this {
    return this.byte(1).byteArray(v);
  }

  /** `ay` carrying only a length (size query or CKR_BUFFER_TOO_SMALL, P6). */
  bytesLength(length: number): this {
    return this.byte(0).u32(length);
  }

  /** `au` with values. */
  ulongs(values: readonly number[]): this {
    this.byte(1).u32(values.length);
    for (const v of values) this.u64(v);
    return this;
  }

  /** `au` carrying only a count. */
  ulongsLength(count: number): this {
    return this.byte(0).u32(count);
  }

  /** `fy` / `fu`: a capacity (null = NULL buffer = 0). */
  capacity(n: number | null): this {
    return this.u32(n ?? 0);
  }

  /** `aA`. */
  attributes(list: readonly WireAttribute[], depth = 0): this {
    if (depth > WIRE_MAX_ATTRIBUTE_DEPTH) throw new RangeError(`attribute templates nest deeper than ${WIRE_MAX_ATTRIBUTE_DEPTH}`);
    this.u32(list.length);
    for (const a of list) this.attribute(a, depth);
    return this;
  }

  private attribute(a: WireAttribute, depth: number): void {
    this.u32(a.type);
    if (a.length === null) {
      this.byte(0);
      return;
    }
    this.byte(1).u32(a.length);
    const v = a.value;
    switch (wireValueKind(a.type)) {
      case 'byte':
        this.byte(v === null || v.length === 0 ? 0 : v[0]!);
        return;
      case 'ulong':
        this.u64(v === null ? 0 : readUlongLE(v, 'ulong attribute value'));
        return;
      case 'date':
      case 'bytes':
        this.byteArray(v);
        return;
      case 'mechanisms': {
        if (v === null) {
          this.u32(Math.floor(a.length / 8));
          return;
        }
        if (v.length % 8 !== 0) throw new RangeError(`CKA_ALLOWED_MECHANISMS must be a multiple of 8 bytes, got ${v.length}`);
        this.u32(v.length / 8);
        for (let i = 0; i < v.length; i += 8) this.u64(readUlongLE(v.subarray(i, i + 8), 'mechanism'));
        return;
      }
      case 'attributes':
        this.attributes(a.nested ?? [], depth + 1);
        return;
    }
  }

  /** `fA`. */
  attributeRequests(list: readonly WireAttributeRequest[]): this {
    this.u32(list.length);
    for (const r of list) this.u32(r.type).u32(r.capacity ?? 0);
    return this;
  }

  /** `M` in the given layout. */
  mechanism(m: WireMechanism, format: MechanismFormat): this {
    this.u32(m.type);
    const p = m.parameter;
    if (format === 'typed') {
      if (m.type === WIRE_NULL_MECHANISM || NO_PARAMETER.has(m.type)) return this;
      if (p === null) return this.byte(0);
      this.byte(1);
    } else if (p === null) {
      // Legacy PSS/OAEP always carry their structure; NULL parameters go as zeros (as p11-kit writes them).
      if (PSS.has(m.type)) return this.u64(0).u64(0).u64(0);
      if (OAEP.has(m.type)) return this.u64(0).u64(0).u64(0).byteArray(null);
      return this.byteArray(null);
    }
    if (p === null) return this;
    switch (p.kind) {
      case 'bytes':
        return this.byteArray(p.value);
      case 'pss':
        return this.u64(p.hashAlg).u64(p.mgf).u64(p.saltLen);
      case 'oaep':
        return this.u64(p.hashAlg).u64(p.mgf).u64(p.source).byteArray(p.sourceData);
      case 'ulong':
        return this.u64(p.value);
      case 'aes-ctr':
        return this.u64(p.counterBits).byteArray(p.cb);
      case 'gcm':
        return this.byteArray(p.iv).u64(p.ivBits).byteArray(p.aad).u64(p.tagBits);
      case 'ecdh1':
        return this.u64(p.kdf).byteArray(p.sharedData).byteArray(p.publicData);
    }
  }

  /** The bytes written so far (a copy). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0x7f;
  return out;
}

/** A CK_ULONG as the token's canonical 8 little-endian bytes. */
function ulongLE(v: number): Uint8Array {
  const out = new Uint8Array(8);
  if (v >= 2 ** 64 - 2048) return out.fill(0xff);
  const lo = v % TWO32;
  const hi = Math.floor(v / TWO32);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, lo, true);
  dv.setUint32(4, hi, true);
  return out;
}

function readUlongLE(v: Uint8Array, what: string): number {
  if (v.length === 0) return 0;
  if (v.length !== 4 && v.length !== 8) throw new RangeError(`${what} must be 4 or 8 bytes, got ${v.length}`);
  const dv = new DataView(v.buffer, v.byteOffset, v.length);
  const lo = dv.getUint32(0, true);
  if (v.length === 4) return lo;
  const hi = dv.getUint32(4, true);
  if (hi === 0xffffffff && lo === 0xffffffff) return 2 ** 64;
  return hi * TWO32 + lo;
}
