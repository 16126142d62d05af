import { CKR } from './constants.js';
import { Pkcs11Error, pkcs11Error } from './pkcs11-error.js';
import type { RawAttribute } from './token/attribute-map.js';
import { ulongBytes } from './token/attribute-map.js';
import { withPin } from './token/pin-bytes.js';
import { type Mechanism, type Output, Token, type TokenOptions } from './token/token.js';

/** A handle as pkcs11js passes it: the CK_ULONG in 8 little-endian bytes (a Buffer under Node). */
export type Handle = Uint8Array;

/** An attribute as pkcs11js templates hold it. */
export interface Attribute {
  type: number;
  value?: number | boolean | string | Uint8Array | Date | null;
}

/** An attribute as C_GetAttributeValue returns it. */
export interface AttributeResult {
  type: number;
  value: Uint8Array;
}

/** A mechanism as pkcs11js passes it (the PSS parameter as pkcs11js's RsaPSS object). */
export interface CryptokiMechanism {
  mechanism: number;
  parameter?: Uint8Array | number | { type?: number; hashAlg: number; mgf: number; saltLen: number } | null;
}

/**
 * The constructor of pkcs11js' `Pkcs11Error` (`require('pkcs11js').Pkcs11Error`): called as
 * pkcs11js calls it, with `"CKR_NAME:number"`, the CKR and the function name.
 */
export type Pkcs11jsErrorClass = new (message: string, code: number, method: string) => Error;

/** The handles C_GenerateKeyPair returns. */
export interface KeyPair {
  privateKey: Handle;
  publicKey: Handle;
}

/**
 * pkcs11js' callback form: given as the last argument of C_Digest, C_DigestFinal, C_Sign,
 * C_SignFinal, C_Verify, C_VerifyFinal or C_GenerateKeyPair, the call returns nothing and runs
 * once the caller's synchronous code has finished (a microtask), then calls back with the result, or with the error and null.
 */
export type Callback<T> = (error: Error | null, result: T | null) => void;

/** Options of {@link Cryptoki}: the token's, plus how byte results and errors are made. */
export interface CryptokiOptions extends TokenOptions {
  /**
   * Wraps every byte result (handles, attribute values, signatures). `nvsec/node` passes one that
   * returns Buffers, as pkcs11js does, so code calling `.toString('hex')` on results keeps working.
   */
  readonly bytes?: (bytes: Uint8Array) => Uint8Array;
  /**
   * pkcs11js' `Pkcs11Error` class: when given, every `C_*` function throws (and every `…Async`
   * one rejects with) an instance of it in place of a {@link Pkcs11Error}, as pkcs11js does:
   * `message` the CKR name, `code` its number, `method` the function, `cause` nvsec's error with
   * the full explanation. For code that tests `err instanceof pkcs11js.Pkcs11Error`, as
   * graphene-pk11's `Verify` does to turn CKR_SIGNATURE_INVALID into `false`. Other errors
   * (TypeError, RangeError) pass unchanged, as in pkcs11js.
   */
  readonly errors?: Pkcs11jsErrorClass;
}

const utf8 = new TextEncoder();

/**
 * The token behind the API of pkcs11js 2.x (`new PKCS11(); load(lib); C_Initialize()`), in
 * process: the same function names, argument shapes, handle Buffers, output-buffer rules (results
 * are a subarray of the buffer passed) and thrown errors, so code written for pkcs11js or
 * graphene-pk11 runs against it unchanged. Errors are {@link Pkcs11Error}s: `ckr` is the number
 * pkcs11js puts in `code`, `code` the CKR name pkcs11js puts in `message`.
 *
 * Functions the token does not implement (encryption, wrapping, derivation, dual functions,
 * operation state, slot events) throw CKR_FUNCTION_NOT_SUPPORTED. Those it implements that pkcs11js
 * also offers with a trailing callback (see {@link Callback}) or as `…Async` take those forms too.
 *
 * @example
 * const p11 = new Cryptoki({ store, crypto: nodeCrypto, keys, random });
 * p11.C_Initialize();
 * const [slot] = p11.C_GetSlotList(true);
 * const session = p11.C_OpenSession(slot!, CKF_SERIAL_SESSION | CKF_RW_SESSION);
 * p11.C_Login(session, CKU_USER, '1234');
 */
export class Cryptoki {
  /** The token with the C semantics, for callers that need them (length queries, per-attribute results). */
  readonly token: Token;
  private readonly wrap: (bytes: Uint8Array) => Uint8Array;

  constructor(options: CryptokiOptions) {
    this.token = new Token(options);
    this.wrap = options.bytes ?? ((b) => b);
    if (options.errors !== undefined) throwAs(this, options.errors);
  }

  /** pkcs11js' `load`: nothing to load in process. */
  load(_path?: string): void {}

  /** pkcs11js' `close`: finalises when still initialised. */
  close(): void {
    if (this.token.isInitialized) this.token.finalize();
  }

  C_Initialize(options?: { flags?: number; libraryParameters?: string } | null): void {
    this.token.initialize(options === undefined || options === null ? null : options.flags === undefined ? {} : { flags: options.flags });
  }

  C_Finalize(): void {
    this.token.finalize();
  }

  C_GetInfo(): ReturnType<Token['getInfo']> {
    return this.token.getInfo();
  }

  C_GetSlotList(tokenPresent = false): Handle[] {
    return this.token.getSlotList(tokenPresent).map((s) => this.handle(s));
  }

  C_GetSlotInfo(slot: Handle): ReturnType<Token['getSlotInfo']> {
    return this.token.getSlotInfo(num(slot));
  }

  C_GetTokenInfo(slot: Handle): ReturnType<Token['getTokenInfo']> {
    return this.token.getTokenInfo(num(slot));
  }

  C_GetMechanismList(slot: Handle): number[] {
    return this.token.getMechanismList(num(slot));
  }

  C_GetMechanismInfo(slot: Handle, mech: number): { minKeySize: number; maxKeySize: number; flags: number } {
    return this.token.getMechanismInfo(num(slot), mech);
  }

  C_InitToken(slot: Handle, pin?: string, label = ''): string {
    withPin(pin, (p) => this.token.initToken(num(slot), p, label));
    return label.padEnd(32, ' ');
  }

  C_InitPIN(session: Handle, pin?: string): void {
    withPin(pin, (p) => this.token.initPin(num(session), p));
  }

  C_SetPIN(session: Handle, oldPin: string, newPin: string): void {
    withPin(oldPin, (o) => withPin(newPin, (n) => this.token.setPin(num(session), o, n)));
  }

  C_OpenSession(slot: Handle, flags: number): Handle {
    return this.handle(this.token.openSession(num(slot), flags));
  }

  C_CloseSession(session: Handle): void {
    this.token.closeSession(num(session));
  }

  C_CloseAllSessions(slot: Handle): void {
    this.token.closeAllSessions(num(slot));
  }

  C_GetSessionInfo(session: Handle): { slotID: Handle; state: number; flags: number; deviceError: number } {
    const info = this.token.getSessionInfo(num(session));
    return { ...info, slotID: this.handle(info.slotID) };
  }

  C_Login(session: Handle, userType: number, pin?: string): void {
    withPin(pin, (p) => this.token.loginAs(num(session), userType, p));
  }

  C_Logout(session: Handle): void {
    this.token.logout(num(session));
  }

  C_CreateObject(session: Handle, template: Attribute[]): Handle {
    return this.handle(this.token.createObject(num(session), rawTemplate(template)));
  }

  C_CopyObject(session: Handle, object: Handle, template: Attribute[]): Handle {
    return this.handle(this.token.copyObject(num(session), num(object), rawTemplate(template)));
  }

  C_DestroyObject(session: Handle, object: Handle): void {
    this.token.destroyObject(num(session), num(object));
  }

  C_GetObjectSize(session: Handle, object: Handle): number {
    return this.token.getObjectSize(num(session), num(object));
  }

  C_FindObjectsInit(session: Handle, template: Attribute[]): void {
    this.token.findObjectsInit(num(session), rawTemplate(template));
  }

  C_FindObjects(session: Handle): Handle | null;
  C_FindObjects(session: Handle, maxObjectCount: number): Handle[];
  C_FindObjects(session: Handle, maxObjectCount?: number): Handle[] | Handle | null {
    if (maxObjectCount === undefined) return this.token.findObjects(num(session), 1).map((h) => this.handle(h))[0] ?? null;
    return this.token.findObjects(num(session), maxObjectCount).map((h) => this.handle(h));
  }

  C_FindObjectsFinal(session: Handle): void {
    this.token.findObjectsFinal(num(session));
  }

  /**
   * Returns every asked attribute's value, or throws the call's CKR (CKR_ATTRIBUTE_SENSITIVE,
   * CKR_ATTRIBUTE_TYPE_INVALID, CKR_BUFFER_TOO_SMALL) as pkcs11js does. As there, a `value` in the
   * template is the caller's buffer: its size is the capacity (too small a one fails the call).
   */
  C_GetAttributeValue(session: Handle, object: Handle, template: Attribute[]): AttributeResult[] {
    const { rv, attributes } = this.token.getAttributeValue(
      num(session),
      num(object),
      rawTemplate(template).map((a, i) => ({ type: a.type, capacity: template[i]!.value === undefined || template[i]!.value === null ? Number.MAX_SAFE_INTEGER : a.value.length })),
    );
    if (rv !== CKR.CKR_OK) throw pkcs11Error(rv, 'C_GetAttributeValue');
    return attributes.map((a) => ({ type: a.type, value: this.wrap(a.value!) }));
  }

  C_SetAttributeValue(session: Handle, object: Handle, template: Attribute[]): void {
    this.token.setAttributeValue(num(session), num(object), rawTemplate(template));
  }

  C_DigestInit(session: Handle, mechanism: CryptokiMechanism): void {
    this.token.digestInit(num(session), toMechanism(mechanism));
  }

  C_Digest(session: Handle, inData: Uint8Array, outData: Uint8Array): Uint8Array;
  C_Digest(session: Handle, inData: Uint8Array, outData: Uint8Array, callback: Callback<Uint8Array>): void;
  C_Digest(session: Handle, inData: Uint8Array, outData: Uint8Array, callback?: Callback<Uint8Array>): Uint8Array | void {
    if (callback !== undefined) return callLater(() => this.C_Digest(session, inData, outData), callback);
    return this.output(this.token.digest(num(session), inData, this.capacity(outData)), outData);
  }

  C_DigestUpdate(session: Handle, inData: Uint8Array): void {
    this.token.digestUpdate(num(session), inData);
  }

  C_DigestFinal(session: Handle, outData: Uint8Array): Uint8Array;
  C_DigestFinal(session: Handle, outData: Uint8Array, callback: Callback<Uint8Array>): void;
  C_DigestFinal(session: Handle, outData: Uint8Array, callback?: Callback<Uint8Array>): Uint8Array | void {
    if (callback !== undefined) return callLater(() => this.C_DigestFinal(session, outData), callback);
    return this.output(this.token.digestFinal(num(session), this.capacity(outData)), outData);
  }

  C_SignInit(session: Handle, mechanism: CryptokiMechanism, key: Handle): void {
    this.token.signInit(num(session), toMechanism(mechanism), num(key));
  }

  C_Sign(session: Handle, inData: Uint8Array, outData: Uint8Array): Uint8Array;
  C_Sign(session: Handle, inData: Uint8Array, outData: Uint8Array, callback: Callback<Uint8Array>): void;
  C_Sign(session: Handle, inData: Uint8Array, outData: Uint8Array, callback?: Callback<Uint8Array>): Uint8Array | void {
    if (callback !== undefined) return callLater(() => this.C_Sign(session, inData, outData), callback);
    return this.output(this.token.sign(num(session), inData, this.capacity(outData)), outData);
  }

  C_SignUpdate(session: Handle, inData: Uint8Array): void {
    this.token.signUpdate(num(session), inData);
  }

  C_SignFinal(session: Handle, outData: Uint8Array): Uint8Array;
  C_SignFinal(session: Handle, outData: Uint8Array, callback: Callback<Uint8Array>): void;
  C_SignFinal(session: Handle, outData: Uint8Array, callback?: Callback<Uint8Array>): Uint8Array | void {
    if (callback !== undefined) return callLater(() => this.C_SignFinal(session, outData), callback);
    return this.output(this.token.signFinal(num(session), this.capacity(outData)), outData);
  }

  C_VerifyInit(session: Handle, mechanism: CryptokiMechanism, key: Handle): void {
    this.token.verifyInit(num(session), toMechanism(mechanism), num(key));
  }

  /** True when the signature verifies; throws CKR_SIGNATURE_INVALID otherwise (as pkcs11js). */
  C_Verify(session: Handle, inData: Uint8Array, signature: Uint8Array): boolean;
  C_Verify(session: Handle, inData: Uint8Array, signature: Uint8Array, callback: Callback<boolean>): void;
  C_Verify(session: Handle, inData: Uint8Array, signature: Uint8Array, callback?: Callback<boolean>): boolean | void {
    if (callback !== undefined) return callLater(() => this.C_Verify(session, inData, signature), callback);
    this.token.verify(num(session), inData, signature);
    return true;
  }

  C_VerifyUpdate(session: Handle, inData: Uint8Array): void {
    this.token.verifyUpdate(num(session), inData);
  }

  C_VerifyFinal(session: Handle, signature: Uint8Array): boolean;
  C_VerifyFinal(session: Handle, signature: Uint8Array, callback: Callback<boolean>): void;
  C_VerifyFinal(session: Handle, signature: Uint8Array, callback?: Callback<boolean>): boolean | void {
    if (callback !== undefined) return callLater(() => this.C_VerifyFinal(session, signature), callback);
    this.token.verifyFinal(num(session), signature);
    return true;
  }

  C_GenerateKeyPair(session: Handle, mechanism: CryptokiMechanism, publicTmpl: Attribute[], privateTmpl: Attribute[]): KeyPair;
  C_GenerateKeyPair(session: Handle, mechanism: CryptokiMechanism, publicTmpl: Attribute[], privateTmpl: Attribute[], callback: Callback<KeyPair>): void;
  C_GenerateKeyPair(session: Handle, mechanism: CryptokiMechanism, publicTmpl: Attribute[], privateTmpl: Attribute[], callback?: Callback<KeyPair>): KeyPair | void {
    if (callback !== undefined) return callLater(() => this.C_GenerateKeyPair(session, mechanism, publicTmpl, privateTmpl), callback);
    const { publicKey, privateKey } = this.token.generateKeyPair(num(session), toMechanism(mechanism), rawTemplate(publicTmpl), rawTemplate(privateTmpl));
    return { privateKey: this.handle(privateKey), publicKey: this.handle(publicKey) };
  }

  C_GenerateRandom(session: Handle, buf: Uint8Array): Uint8Array {
    buf.set(this.token.generateRandom(num(session), buf.length));
    return buf;
  }

  C_SeedRandom(session: Handle, buf: Uint8Array): void {
    this.token.seedRandom(num(session), buf);
  }

  C_SignAsync(session: Handle, inData: Uint8Array, outData: Uint8Array): Promise<Uint8Array> {
    return later(() => this.C_Sign(session, inData, outData));
  }

  C_VerifyAsync(session: Handle, inData: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return later(() => this.C_Verify(session, inData, signature));
  }

  C_DigestAsync(session: Handle, inData: Uint8Array, outData: Uint8Array): Promise<Uint8Array> {
    return later(() => this.C_Digest(session, inData, outData));
  }

  C_GenerateKeyPairAsync(session: Handle, mechanism: CryptokiMechanism, publicTmpl: Attribute[], privateTmpl: Attribute[]): Promise<KeyPair> {
    return later(() => this.C_GenerateKeyPair(session, mechanism, publicTmpl, privateTmpl));
  }

  C_GetOperationState(): never {
    return unsupported('C_GetOperationState');
  }
  C_SetOperationState(): never {
    return unsupported('C_SetOperationState');
  }
  C_EncryptInit(): never {
    return unsupported('C_EncryptInit');
  }
  C_Encrypt(): never {
    return unsupported('C_Encrypt');
  }
  C_EncryptUpdate(): never {
    return unsupported('C_EncryptUpdate');
  }
  C_EncryptFinal(): never {
    return unsupported('C_EncryptFinal');
  }
  C_DecryptInit(): never {
    return unsupported('C_DecryptInit');
  }
  C_Decrypt(): never {
    return unsupported('C_Decrypt');
  }
  C_DecryptUpdate(): never {
    return unsupported('C_DecryptUpdate');
  }
  C_DecryptFinal(): never {
    return unsupported('C_DecryptFinal');
  }
  C_DigestKey(): never {
    return unsupported('C_DigestKey');
  }
  C_SignRecoverInit(): never {
    return unsupported('C_SignRecoverInit');
  }
  C_SignRecover(): never {
    return unsupported('C_SignRecover');
  }
  C_VerifyRecoverInit(): never {
    return unsupported('C_VerifyRecoverInit');
  }
  C_VerifyRecover(): never {
    return unsupported('C_VerifyRecover');
  }
  C_DigestEncryptUpdate(): never {
    return unsupported('C_DigestEncryptUpdate');
  }
  C_DecryptDigestUpdate(): never {
    return unsupported('C_DecryptDigestUpdate');
  }
  C_SignEncryptUpdate(): never {
    return unsupported('C_SignEncryptUpdate');
  }
  C_DecryptVerifyUpdate(): never {
    return unsupported('C_DecryptVerifyUpdate');
  }
  C_GenerateKey(): never {
    return unsupported('C_GenerateKey');
  }
  C_WrapKey(): never {
    return unsupported('C_WrapKey');
  }
  C_UnwrapKey(): never {
    return unsupported('C_UnwrapKey');
  }
  C_DeriveKey(): never {
    return unsupported('C_DeriveKey');
  }
  C_WaitForSlotEvent(): never {
    return unsupported('C_WaitForSlotEvent');
  }

  private handle(n: number): Handle {
    return this.wrap(ulongBytes(n));
  }

  /**
   * pkcs11js passes an empty output Buffer as a NULL pointer: a length query, which keeps the
   * operation and returns an empty subarray. Any other buffer is the capacity.
   */
  private capacity(buffer: Uint8Array): number | null {
    return buffer.length === 0 ? null : buffer.length;
  }

  private output(out: Output, buffer: Uint8Array): Uint8Array {
    if (out.rv === CKR.CKR_OK && out.value === null) return buffer.subarray(0, 0);
    if (out.rv !== CKR.CKR_OK || out.value === null) throw pkcs11Error(CKR.CKR_BUFFER_TOO_SMALL, `the output buffer holds ${buffer.length} bytes; ${out.length} are needed`);
    buffer.set(out.value);
    return buffer.subarray(0, out.length);
  }
}

/**
 * Replaces each `C_*` method of `cryptoki` by one that throws `errors` in place of a
 * {@link Pkcs11Error} (and rejects with it for the `…Async` ones).
 */
function throwAs(cryptoki: Cryptoki, errors: Pkcs11jsErrorClass): void {
  const convert = (e: unknown, fn: string): unknown => {
    if (!(e instanceof Pkcs11Error)) return e;
    const converted = new errors(`${e.code}:${e.ckr}`, e.ckr, fn);
    Object.defineProperty(converted, 'cause', { value: e, writable: true, configurable: true });
    return converted;
  };
  const methods = cryptoki as unknown as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(Cryptoki.prototype)) {
    const method = methods[name];
    if (!name.startsWith('C_') || typeof method !== 'function') continue;
    methods[name] = (...args: unknown[]): unknown => {
      let result: unknown;
      try {
        result = method.apply(cryptoki, args);
      } catch (e) {
        throw convert(e, name);
      }
      return result instanceof Promise ? result.catch((e: unknown) => Promise.reject(convert(e, name))) : result;
    };
  }
}

function unsupported(fn: string): never {
  throw pkcs11Error(CKR.CKR_FUNCTION_NOT_SUPPORTED, `${fn} is not supported by this token`);
}

/**
 * The callback forms: `work` runs in a microtask, once the caller's synchronous code has finished; its result or error goes to
 * `callback` (an exception the callback throws is uncaught, as from a pkcs11js callback).
 */
function callLater<T>(work: () => T, callback: Callback<T>): void {
  if (typeof callback !== 'function') throw new TypeError('callback must be a function');
  queueMicrotask(() => {
    let result: T;
    try {
      result = work();
    } catch (e) {
      callback(e instanceof Error ? e : new Error(String(e)), null);
      return;
    }
    callback(null, result);
  });
}

/** The *Async variants: the call runs in a microtask, its error as a rejection. */
function later<T>(work: () => T): Promise<T> {
  return Promise.resolve().then(work);
}

/** A handle's number (4- or 8-byte little-endian CK_ULONG). */
function num(handle: Handle): number {
  if (!(handle instanceof Uint8Array) || (handle.length !== 8 && handle.length !== 4)) throw new TypeError('a handle must be the Buffer a Cryptoki call returned');
  const v = new DataView(handle.buffer, handle.byteOffset, handle.length);
  return handle.length === 4 ? v.getUint32(0, true) : v.getUint32(0, true) + v.getUint32(4, true) * 2 ** 32;
}


/** pkcs11js' attribute encoding: numbers as CK_ULONG, booleans as CK_BBOOL, strings as UTF-8, dates as YYYYMMDD. */
function rawTemplate(template: readonly Attribute[]): RawAttribute[] {
  return template.map(({ type, value }) => {
    let v: Uint8Array;
    if (value === undefined || value === null) v = new Uint8Array(0);
    else if (typeof value === 'number') v = ulongBytes(value);
    else if (typeof value === 'boolean') v = Uint8Array.of(value ? 1 : 0);
    else if (typeof value === 'string') v = utf8.encode(value);
    else if (value instanceof Date) v = utf8.encode(`${value.getUTCFullYear()}`.padStart(4, '0') + `${value.getUTCMonth() + 1}`.padStart(2, '0') + `${value.getUTCDate()}`.padStart(2, '0'));
    else v = value;
    return { type, value: v };
  });
}

function toMechanism(m: CryptokiMechanism): Mechanism {
  const p = m.parameter;
  if (p === undefined || p === null) return { mechanism: m.mechanism };
  if (typeof p === 'number') return { mechanism: m.mechanism, parameter: ulongBytes(p) };
  if (p instanceof Uint8Array) return { mechanism: m.mechanism, parameter: p };
  return { mechanism: m.mechanism, parameter: { hashAlg: p.hashAlg, mgf: p.mgf, saltLen: p.saltLen } };
}
