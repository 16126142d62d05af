import { aesCmac } from '../../crypto/cmac.js';
import { DIGEST_INFO_PREFIXES, digestInfoHash } from '../../crypto/digest-info.js';
import type { KeyCrypto, PreparedPrivateKey, PreparedPublicKey, SignatureScheme } from '../../crypto/key-crypto.js';
import { TOKEN_CURVE_BYTES } from '../../crypto/key-crypto.js';
import { type CryptoProvider, type HashName, hashLength, type IncrementalHash } from '../../crypto/provider.js';
import { concatBytes } from '../../bytes/concat.js';
import { bytesEqual } from '../../bytes/equal.js';
import { toHex } from '../../bytes/hex.js';
import {
  CK_UNAVAILABLE_INFORMATION,
  CKA,
  CKF_SESSION,
  CKF_SLOT,
  CKF_TOKEN,
  CKK,
  CKM,
  CKO,
  CKR,
  CKS,
  CKU,
  CRYPTOKI_VERSION,
} from '../constants.js';
import { ckmName } from '../constant-name.js';
import { Pkcs11Error, pkcs11Error } from '../pkcs11-error.js';
import { DEFAULT_OBJECTS } from '../pal/default-labels.js';
import { type ObjectStore, isWrappingObjectStore } from '../pal/object-store.js';
import { PalError } from '../pal/pal-error.js';
import { type AttributeMap, type RawAttribute, boolBytes, getBool, getUlong, ownCopy, toAttributeMap, ulongBytes } from './attribute-map.js';
import { EC_PARAMS, bitLength } from './key-encoding.js';
import { DIGEST_MECHANISMS, FAMILY_KEY_TYPES, MECHANISM_INFO, MGF1_HASHES, type MechanismInfo, SIGN_MECHANISMS, type SignMechanism } from './mechanisms.js';
import { decodeObjectAttributes, encodeObjectAttributes } from './object-codec.js';
import { type ObjectContext, applyAttributeChanges, buildObject, ecCurve, isPrivateObject, isSensitiveAttribute, isTokenObject, templateClass, zeroizeSecrets } from './object-model.js';
import { makePinRecord, openPinRecord } from './pin-record.js';
import { TOKEN_RECORD_LABEL, TOKEN_RECORD_VERSION, type TokenRecord, decodeTokenRecord, encodeTokenRecord } from './token-record.js';

/** A random generator the token draws from (C_GenerateRandom): a seeded CTR_DRBG. */
export interface TokenRandom {
  generate(length: number): Uint8Array;
  reseed(additional: Uint8Array): void;
}

/** Options of {@link Token}. */
export interface TokenOptions {
  /** Where token objects live (NVS on the device, a directory on a host, memory in tests). */
  readonly store: ObjectStore;
  readonly crypto: CryptoProvider;
  readonly keys: KeyCrypto;
  /** The generator behind C_GenerateRandom (a CTR_DRBG seeded from the NV seed and the OS: `createTokenDrbg`). */
  readonly random: TokenRandom;
  /** PBKDF2-SHA256 iterations for PINs set from now on. Default 100 000. */
  readonly pinIterations?: number;
  /** Failed logins in a row after which a PIN is locked, written into the token at C_InitToken. Default 10. */
  readonly maxPinTries?: number;
  /** Shortest and longest PIN in bytes. Default 4 and 64. */
  readonly minPinLength?: number;
  readonly maxPinLength?: number;
  /** Open sessions at most. Default 64. */
  readonly maxSessions?: number;
  /** The slot's ID. Default 1 (as corePKCS11). */
  readonly slotId?: number;
}

/** A mechanism and its parameter as the token takes them. */
export interface Mechanism {
  readonly mechanism: number;
  /** CK_RSA_PKCS_PSS_PARAMS for the PSS mechanisms; nothing for the others. */
  readonly parameter?: RsaPssParams | Uint8Array | null;
}

/** CK_RSA_PKCS_PSS_PARAMS. */
export interface RsaPssParams {
  readonly hashAlg: number;
  readonly mgf: number;
  readonly saltLen: number;
}

/**
 * An output buffer's outcome, C style: `capacity` null asks for the length only (`value` null,
 * rv CKR_OK, the operation goes on); a capacity below the length gives rv CKR_BUFFER_TOO_SMALL
 * (the operation goes on too); otherwise `value` holds the result.
 */
export interface Output {
  readonly rv: number;
  readonly length: number;
  readonly value: Uint8Array | null;
}

/** One attribute asked for in C_GetAttributeValue: `capacity` null is a length query. */
export interface AttributeRequest {
  readonly type: number;
  readonly capacity: number | null;
}

/** One attribute answered by C_GetAttributeValue: `length` is CK_UNAVAILABLE_INFORMATION when it could not be given. */
export interface AttributeAnswer {
  readonly type: number;
  readonly length: number;
  readonly value: Uint8Array | null;
}

export interface TokenInfo {
  readonly label: string;
  readonly manufacturerID: string;
  readonly model: string;
  readonly serialNumber: string;
  readonly flags: number;
  readonly maxSessionCount: number;
  readonly sessionCount: number;
  readonly maxRwSessionCount: number;
  readonly rwSessionCount: number;
  readonly maxPinLen: number;
  readonly minPinLen: number;
  readonly totalPublicMemory: number;
  readonly freePublicMemory: number;
  readonly totalPrivateMemory: number;
  readonly freePrivateMemory: number;
  readonly hardwareVersion: { major: number; minor: number };
  readonly firmwareVersion: { major: number; minor: number };
  readonly utcTime: string;
}

export interface SessionInfo {
  readonly slotID: number;
  readonly state: number;
  readonly flags: number;
  readonly deviceError: number;
}

interface TokenObject {
  readonly handle: number;
  attrs: AttributeMap;
  /** Store label of a token object; null for a session object. */
  readonly storeLabel: string | null;
  /** Owning session of a session object. */
  readonly session: number | null;
  prepared: PreparedPrivateKey | PreparedPublicKey | null;
}

type Operation =
  | { readonly kind: 'find'; readonly results: number[]; next: number }
  | { readonly kind: 'digest'; readonly hash: HashName; readonly running: IncrementalHash; updated: boolean }
  | {
      readonly kind: 'sign' | 'verify';
      readonly mech: SignMechanism;
      readonly mechanism: number;
      readonly key: TokenObject;
      readonly scheme: SignatureScheme | null;
      readonly length: number;
      /** Length of the digest a prehashed PSS mechanism takes. */
      readonly digestLength: number | null;
      readonly chunks: Uint8Array[];
      updated: boolean;
    };

/** An object just added, and the object it replaced (values intact, for a rollback). */
interface Placed {
  readonly handle: number;
  readonly replaced: TokenObject | null;
}

type CryptOp = Extract<Operation, { kind: 'sign' | 'verify' }>;
type OpOf<K extends Operation['kind']> = K extends 'sign' | 'verify' ? CryptOp : Extract<Operation, { kind: K }>;

interface Session {
  readonly handle: number;
  readonly rw: boolean;
  op: Operation | null;
}

const utf8 = new TextEncoder();
const SESSION_OBJECT_BASE = 0x80000000;
const PAD = (s: string, n: number): string => s.padEnd(n, ' ').slice(0, n);
const EMPTY = new Uint8Array(0);

/** Fixed text of the token's info structures. */
export const TOKEN_IDENTITY = Object.freeze({
  manufacturerID: 'nvsec',
  libraryDescription: 'nvsec PKCS#11 token',
  slotDescription: 'nvsec token slot',
  model: 'nvsec token',
  libraryVersion: { major: 0, minor: 1 },
});

/**
 * The Cryptoki library and its one token, with the C API's semantics (return values, length
 * queries, operation lifecycle) but JavaScript arguments: handles are numbers, byte strings
 * `Uint8Array`, errors thrown as {@link Pkcs11Error} with the CKR. The pkcs11js-shaped
 * {@link Cryptoki} facade and the p11-kit RPC server sit on top of it.
 *
 * What it keeps to (checklist of spec §1.10; PKCS#11 2.40):
 * - One slot with one token; C_InitToken sets the SO PIN and erases the token; user and SO PINs are
 *   PBKDF2 verifiers with failure counters (CKF_USER_PIN_COUNT_LOW / FINAL_TRY / LOCKED).
 * - Private objects are visible only to a logged-in user; token objects need an R/W session.
 * - One operation per session; a length query or CKR_BUFFER_TOO_SMALL keeps it, anything else
 *   that ends the call ends it.
 * - Token objects in the six-plus credential slots (PKCS11_LABELS) are stored under their label
 *   (saving a second "Device Cert" replaces the first); others under generated store labels.
 */
export class Token {
  readonly slotId: number;
  private readonly store: ObjectStore;
  private readonly crypto: CryptoProvider;
  private readonly keys: KeyCrypto;
  private readonly random: TokenRandom;
  private readonly pinIterations: number;
  private readonly maxPinTries: number;
  private readonly minPin: number;
  private readonly maxPin: number;
  private readonly maxSessions: number;

  private initialized = false;
  private record: TokenRecord | null = null;
  private recordHandle: number | null = null;
  private login: 'user' | 'so' | null = null;
  /** The token key while the SO is logged in (C_InitPIN wraps it under the new user PIN). */
  private soKey: Uint8Array | null = null;
  private readonly sessions = new Map<number, Session>();
  private nextSession = 1;
  private readonly objects = new Map<number, TokenObject>();
  private readonly byLabel = new Map<string, Set<number>>();
  private nextSessionObject = SESSION_OBJECT_BASE;
  /** Problems found in the store (objects ignored), in words. */
  readonly notes: string[] = [];

  constructor(options: TokenOptions) {
    this.store = options.store;
    this.crypto = options.crypto;
    this.keys = options.keys;
    this.random = options.random;
    const int = (v: number | undefined, fallback: number, min: number, max: number, name: string): number => {
      const n = v ?? fallback;
      if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`"${name}" must be an integer ${min}..${max}, got ${String(v)}`);
      return n;
    };
    this.pinIterations = int(options.pinIterations, 100_000, 1_000, 100_000_000, 'pinIterations');
    this.maxPinTries = int(options.maxPinTries, 10, 1, 1_000, 'maxPinTries');
    this.minPin = int(options.minPinLength, 4, 1, 255, 'minPinLength');
    this.maxPin = int(options.maxPinLength, 64, this.minPin, 255, 'maxPinLength');
    this.maxSessions = int(options.maxSessions, 64, 1, 1_000_000, 'maxSessions');
    this.slotId = int(options.slotId, 1, 0, 0xffffffff, 'slotId');
  }

  // ---------------------------------------------------------------- library

  /**
   * C_Initialize: loads the token record and the objects the store can show now.
   * @throws {Pkcs11Error} CKR_CRYPTOKI_ALREADY_INITIALIZED; CKR_ARGUMENTS_BAD for init args with a non-null reserved field
   */
  initialize(args?: { flags?: number; pReserved?: unknown } | null): void {
    if (this.initialized) throw pkcs11Error(CKR.CKR_CRYPTOKI_ALREADY_INITIALIZED, 'C_Initialize');
    // Flags and mutex functions need no handling: JavaScript runs one call at a time, so the
    // token is safe with or without CKF_OS_LOCKING_OK.
    if (args?.pReserved !== undefined && args.pReserved !== null) throw pkcs11Error(CKR.CKR_ARGUMENTS_BAD, 'C_Initialize: pReserved must be NULL');
    this.loadToken();
    this.initialized = true;
  }

  /**
   * C_Finalize: closes every session, logs out, drops every key from memory.
   * @throws {Pkcs11Error} CKR_ARGUMENTS_BAD for a non-null reserved argument; CKR_CRYPTOKI_NOT_INITIALIZED
   */
  finalize(reserved?: unknown): void {
    if (reserved !== undefined && reserved !== null) throw pkcs11Error(CKR.CKR_ARGUMENTS_BAD, 'C_Finalize: pReserved must be NULL');
    this.requireInit();
    this.closeAll();
    this.setLogin(null);
    for (const o of [...this.objects.values()]) this.forget(o);
    this.initialized = false;
  }

  /** C_GetInfo. */
  getInfo(): { cryptokiVersion: { major: number; minor: number }; manufacturerID: string; flags: number; libraryDescription: string; libraryVersion: { major: number; minor: number } } {
    this.requireInit();
    return {
      cryptokiVersion: { ...CRYPTOKI_VERSION },
      manufacturerID: PAD(TOKEN_IDENTITY.manufacturerID, 32),
      flags: 0,
      libraryDescription: PAD(TOKEN_IDENTITY.libraryDescription, 32),
      libraryVersion: { ...TOKEN_IDENTITY.libraryVersion },
    };
  }

  get isInitialized(): boolean {
    return this.initialized;
  }

  // ---------------------------------------------------------------- slot and token

  /** C_GetSlotList: the one slot (its token is always present). */
  getSlotList(_tokenPresent: boolean): number[] {
    this.requireInit();
    return [this.slotId];
  }

  /** C_GetSlotInfo. @throws {Pkcs11Error} CKR_SLOT_ID_INVALID */
  getSlotInfo(slot: number): { slotDescription: string; manufacturerID: string; flags: number; hardwareVersion: { major: number; minor: number }; firmwareVersion: { major: number; minor: number } } {
    this.requireSlot(slot, 'C_GetSlotInfo');
    return {
      slotDescription: PAD(TOKEN_IDENTITY.slotDescription, 64),
      manufacturerID: PAD(TOKEN_IDENTITY.manufacturerID, 32),
      flags: CKF_SLOT.CKF_TOKEN_PRESENT,
      hardwareVersion: { major: 0, minor: 0 },
      firmwareVersion: { ...TOKEN_IDENTITY.libraryVersion },
    };
  }

  /** C_GetTokenInfo. @throws {Pkcs11Error} CKR_SLOT_ID_INVALID */
  getTokenInfo(slot: number): TokenInfo {
    this.requireSlot(slot, 'C_GetTokenInfo');
    const r = this.record;
    let flags = CKF_TOKEN.CKF_RNG | CKF_TOKEN.CKF_LOGIN_REQUIRED;
    if (r !== null) {
      flags |= CKF_TOKEN.CKF_TOKEN_INITIALIZED;
      if (r.user !== null) flags |= CKF_TOKEN.CKF_USER_PIN_INITIALIZED;
      flags |= pinFlags(r.userFailures, r.maxPinTries, CKF_TOKEN.CKF_USER_PIN_COUNT_LOW, CKF_TOKEN.CKF_USER_PIN_FINAL_TRY, CKF_TOKEN.CKF_USER_PIN_LOCKED);
      flags |= pinFlags(r.soFailures, r.maxPinTries, CKF_TOKEN.CKF_SO_PIN_COUNT_LOW, CKF_TOKEN.CKF_SO_PIN_FINAL_TRY, CKF_TOKEN.CKF_SO_PIN_LOCKED);
    }
    const rw = [...this.sessions.values()].filter((s) => s.rw).length;
    const unavailable = CK_UNAVAILABLE_INFORMATION;
    return {
      label: padUtf8(r?.label ?? '', 32),
      manufacturerID: PAD(TOKEN_IDENTITY.manufacturerID, 32),
      model: PAD(TOKEN_IDENTITY.model, 16),
      serialNumber: PAD(r?.serial ?? '', 16),
      flags,
      maxSessionCount: this.maxSessions,
      sessionCount: this.sessions.size,
      maxRwSessionCount: this.maxSessions,
      rwSessionCount: rw,
      maxPinLen: this.maxPin,
      minPinLen: this.minPin,
      totalPublicMemory: unavailable,
      freePublicMemory: unavailable,
      totalPrivateMemory: unavailable,
      freePrivateMemory: unavailable,
      hardwareVersion: { major: 0, minor: 0 },
      firmwareVersion: { ...TOKEN_IDENTITY.libraryVersion },
      utcTime: PAD('', 16),
    };
  }


  /** C_GetMechanismList. @throws {Pkcs11Error} CKR_SLOT_ID_INVALID */
  getMechanismList(slot: number): number[] {
    this.requireSlot(slot, 'C_GetMechanismList');
    return [...MECHANISM_INFO.keys()];
  }

  /** C_GetMechanismInfo. @throws {Pkcs11Error} CKR_SLOT_ID_INVALID, CKR_MECHANISM_INVALID */
  getMechanismInfo(slot: number, mechanism: number): MechanismInfo {
    this.requireSlot(slot, 'C_GetMechanismInfo');
    const info = MECHANISM_INFO.get(mechanism);
    if (info === undefined) throw pkcs11Error(CKR.CKR_MECHANISM_INVALID, `C_GetMechanismInfo: ${ckmName(mechanism)} is not supported`);
    return { ...info };
  }

  /**
   * C_InitToken: sets the SO PIN and label and erases every object and the user PIN. A token that
   * is already initialised needs its SO PIN.
   * @throws {Pkcs11Error} CKR_SESSION_EXISTS, CKR_PIN_INCORRECT, CKR_PIN_LOCKED, CKR_PIN_LEN_RANGE
   */
  initToken(slot: number, soPin: Uint8Array, label: string): void {
    this.requireSlot(slot, 'C_InitToken');
    if (this.sessions.size > 0) throw pkcs11Error(CKR.CKR_SESSION_EXISTS, 'C_InitToken: close every session first');
    this.checkPinLength(soPin, 'C_InitToken');
    if (utf8.encode(label).length > 32) throw pkcs11Error(CKR.CKR_ARGUMENTS_BAD, 'C_InitToken: the label is longer than 32 bytes');
    if (this.record !== null) {
      const key = this.checkPin('so', soPin, 'C_InitToken');
      key.fill(0);
    }
    this.notes.length = 0;
    for (const info of this.store.list()) {
      if (info.label !== TOKEN_RECORD_LABEL) this.storeCall('C_InitToken', () => this.store.destroy(info.handle));
    }
    for (const o of [...this.objects.values()]) this.forget(o);
    const tokenKey = this.crypto.randomBytes(32);
    try {
      if (isWrappingObjectStore(this.store)) {
        const store = this.store;
        this.storeCall('C_InitToken', () => store.setWrappingKey(tokenKey, { reset: true }));
      }
      this.saveRecord({
        version: TOKEN_RECORD_VERSION,
        label: label.replace(/ +$/, ''),
        serial: toHex(this.crypto.randomBytes(8)).toUpperCase(),
        so: makePinRecord(this.crypto, soPin, tokenKey, this.pinIterations),
        user: null,
        maxPinTries: this.maxPinTries,
        soFailures: 0,
        userFailures: 0,
      });
    } finally {
      tokenKey.fill(0);
      if (isWrappingObjectStore(this.store)) this.store.setWrappingKey(null);
    }
  }

  /**
   * C_InitPIN (SO logged in, R/W session): sets the user PIN and clears its failure counter.
   * @throws {Pkcs11Error} CKR_USER_NOT_LOGGED_IN, CKR_SESSION_READ_ONLY, CKR_PIN_LEN_RANGE
   */
  initPin(session: number, pin: Uint8Array): void {
    const s = this.requireSession(session);
    if (this.login !== 'so') throw pkcs11Error(CKR.CKR_USER_NOT_LOGGED_IN, 'C_InitPIN: log in as the SO first');
    if (!s.rw) throw pkcs11Error(CKR.CKR_SESSION_READ_ONLY, 'C_InitPIN');
    this.checkPinLength(pin, 'C_InitPIN');
    const key = this.soKey!;
    this.saveRecord({ ...this.refreshRecord('C_InitPIN'), user: makePinRecord(this.crypto, pin, key, this.pinIterations), userFailures: 0 });
  }

  /**
   * C_SetPIN: changes the PIN of whoever is logged in (the user when nobody is).
   * @throws {Pkcs11Error} CKR_PIN_INCORRECT, CKR_PIN_LOCKED, CKR_PIN_LEN_RANGE, CKR_SESSION_READ_ONLY, CKR_USER_PIN_NOT_INITIALIZED
   */
  setPin(session: number, oldPin: Uint8Array, newPin: Uint8Array): void {
    const s = this.requireSession(session);
    if (!s.rw) throw pkcs11Error(CKR.CKR_SESSION_READ_ONLY, 'C_SetPIN');
    if (this.record === null) throw pkcs11Error(CKR.CKR_TOKEN_NOT_RECOGNIZED, 'C_SetPIN: the token is not initialised; run C_InitToken first');
    const who = this.login ?? 'user';
    if (who === 'user' && this.record.user === null) throw pkcs11Error(CKR.CKR_USER_PIN_NOT_INITIALIZED, 'C_SetPIN');
    this.checkPinLength(newPin, 'C_SetPIN');
    const key = this.checkPin(who, oldPin, 'C_SetPIN');
    try {
      const rec = makePinRecord(this.crypto, newPin, key, this.pinIterations);
      this.saveRecord(who === 'so' ? { ...this.record!, so: rec, soFailures: 0 } : { ...this.record!, user: rec, userFailures: 0 });
    } finally {
      key.fill(0);
    }
  }

  // ---------------------------------------------------------------- sessions

  /**
   * C_OpenSession.
   * @throws {Pkcs11Error} CKR_SESSION_PARALLEL_NOT_SUPPORTED, CKR_SESSION_COUNT, CKR_SESSION_READ_WRITE_SO_EXISTS, CKR_SLOT_ID_INVALID
   */
  openSession(slot: number, flags: number): number {
    this.requireSlot(slot, 'C_OpenSession');
    if ((flags & CKF_SESSION.CKF_SERIAL_SESSION) === 0) throw pkcs11Error(CKR.CKR_SESSION_PARALLEL_NOT_SUPPORTED, 'C_OpenSession: CKF_SERIAL_SESSION must be set');
    const rw = (flags & CKF_SESSION.CKF_RW_SESSION) !== 0;
    if (!rw && this.login === 'so') throw pkcs11Error(CKR.CKR_SESSION_READ_WRITE_SO_EXISTS, 'C_OpenSession: the SO is logged in; open a R/W session');
    if (this.sessions.size >= this.maxSessions) throw pkcs11Error(CKR.CKR_SESSION_COUNT, `C_OpenSession: ${this.maxSessions} sessions are open`);
    const handle = this.nextSession++;
    this.sessions.set(handle, { handle, rw, op: null });
    return handle;
  }

  /** C_CloseSession: ends its operation and destroys its session objects; the last one logs out. */
  closeSession(session: number): void {
    this.requireSession(session);
    this.dropSession(session);
    if (this.sessions.size === 0) this.setLogin(null);
  }

  /** C_CloseAllSessions. @throws {Pkcs11Error} CKR_SLOT_ID_INVALID */
  closeAllSessions(slot: number): void {
    this.requireSlot(slot, 'C_CloseAllSessions');
    this.closeAll();
    this.setLogin(null);
  }

  /** C_GetSessionInfo. */
  getSessionInfo(session: number): SessionInfo {
    const s = this.requireSession(session);
    const state =
      this.login === 'so' ? CKS.CKS_RW_SO_FUNCTIONS : this.login === 'user' ? (s.rw ? CKS.CKS_RW_USER_FUNCTIONS : CKS.CKS_RO_USER_FUNCTIONS) : s.rw ? CKS.CKS_RW_PUBLIC_SESSION : CKS.CKS_RO_PUBLIC_SESSION;
    return { slotID: this.slotId, state, flags: CKF_SESSION.CKF_SERIAL_SESSION | (s.rw ? CKF_SESSION.CKF_RW_SESSION : 0), deviceError: 0 };
  }

  /**
   * C_Login.
   * @throws {Pkcs11Error} CKR_USER_TYPE_INVALID, CKR_USER_ALREADY_LOGGED_IN, CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
   *   CKR_USER_PIN_NOT_INITIALIZED, CKR_SESSION_READ_ONLY_EXISTS, CKR_PIN_INCORRECT, CKR_PIN_LOCKED
   */
  loginAs(session: number, userType: number, pin: Uint8Array): void {
    this.requireSession(session);
    if (userType === CKU.CKU_CONTEXT_SPECIFIC) throw pkcs11Error(CKR.CKR_OPERATION_NOT_INITIALIZED, 'C_Login: no operation needs CKU_CONTEXT_SPECIFIC (no key has CKA_ALWAYS_AUTHENTICATE)');
    if (userType !== CKU.CKU_USER && userType !== CKU.CKU_SO) throw pkcs11Error(CKR.CKR_USER_TYPE_INVALID, `C_Login: user type ${userType}`);
    const who = userType === CKU.CKU_SO ? 'so' : 'user';
    if (this.login === who) throw pkcs11Error(CKR.CKR_USER_ALREADY_LOGGED_IN, 'C_Login');
    if (this.login !== null) throw pkcs11Error(CKR.CKR_USER_ANOTHER_ALREADY_LOGGED_IN, 'C_Login: log the other user out first');
    if (this.record === null) throw pkcs11Error(CKR.CKR_TOKEN_NOT_RECOGNIZED, 'C_Login: the token is not initialised; run C_InitToken first');
    if (who === 'user' && this.record.user === null) throw pkcs11Error(CKR.CKR_USER_PIN_NOT_INITIALIZED, 'C_Login: the SO has not set a user PIN (C_InitPIN)');
    if (who === 'so' && [...this.sessions.values()].some((s) => !s.rw)) throw pkcs11Error(CKR.CKR_SESSION_READ_ONLY_EXISTS, 'C_Login: close the read-only sessions before the SO logs in');
    const key = this.checkPin(who, pin, 'C_Login');
    if (who === 'so') {
      this.setLogin('so');
      this.soKey = key;
      return;
    }
    const store = this.store;
    try {
      if (isWrappingObjectStore(store)) this.storeCall('C_Login', () => store.setWrappingKey(key));
      this.loadObjects(true);
    } catch (e) {
      this.dropPrivateObjects();
      throw e;
    } finally {
      key.fill(0);
    }
    this.setLogin('user');
  }

  /** C_Logout. @throws {Pkcs11Error} CKR_USER_NOT_LOGGED_IN */
  logout(session: number): void {
    this.requireSession(session);
    if (this.login === null) throw pkcs11Error(CKR.CKR_USER_NOT_LOGGED_IN, 'C_Logout');
    this.setLogin(null);
  }

  // ---------------------------------------------------------------- objects

  /**
   * C_CreateObject.
   * @throws {Pkcs11Error} CKR_TEMPLATE_INCOMPLETE, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID,
   *   CKR_ATTRIBUTE_READ_ONLY, CKR_SESSION_READ_ONLY, CKR_USER_NOT_LOGGED_IN, CKR_DEVICE_MEMORY
   */
  createObject(session: number, template: readonly RawAttribute[]): number {
    const s = this.requireSession(session);
    const attrs = buildObject(toAttributeMap(template, 'C_CreateObject'), 'create', this.context, 'C_CreateObject');
    return this.addObjectFinal(s, attrs, 'C_CreateObject');
  }

  /** C_CopyObject: a copy with `template` applied (only settable attributes, CKA_TOKEN and CKA_PRIVATE). */
  copyObject(session: number, object: number, template: readonly RawAttribute[]): number {
    const s = this.requireSession(session);
    const o = this.requireObject(object, 'C_CopyObject');
    if (getBool(o.attrs, CKA.CKA_COPYABLE) === false) throw pkcs11Error(CKR.CKR_ACTION_PROHIBITED, 'C_CopyObject: the object has CKA_COPYABLE false');
    const changes = toAttributeMap(template, 'C_CopyObject');
    const base: AttributeMap = new Map([...o.attrs].map(([t, v]) => [t, ownCopy(v)]));
    for (const t of [CKA.CKA_TOKEN, CKA.CKA_PRIVATE]) {
      const v = changes.get(t);
      if (v !== undefined) {
        base.set(t, v);
        changes.delete(t);
      }
    }
    const cls = getUlong(base, CKA.CKA_CLASS);
    if ((cls === CKO.CKO_PRIVATE_KEY || cls === CKO.CKO_SECRET_KEY) && getBool(base, CKA.CKA_PRIVATE) === false) {
      throw pkcs11Error(CKR.CKR_TEMPLATE_INCONSISTENT, 'C_CopyObject: private and secret keys stay private');
    }
    const attrs = applyAttributeChanges(base, changes, 'C_CopyObject', { copy: true });
    return this.addObjectFinal(s, attrs, 'C_CopyObject', { replace: false });
  }

  /** C_DestroyObject. @throws {Pkcs11Error} CKR_OBJECT_HANDLE_INVALID, CKR_SESSION_READ_ONLY, CKR_ACTION_PROHIBITED */
  destroyObject(session: number, object: number): void {
    const s = this.requireSession(session);
    const o = this.requireObject(object, 'C_DestroyObject');
    this.requireWritable(s, o.attrs, 'C_DestroyObject');
    if (getBool(o.attrs, CKA.CKA_DESTROYABLE) === false) throw pkcs11Error(CKR.CKR_ACTION_PROHIBITED, 'C_DestroyObject: the object has CKA_DESTROYABLE false');
    if (o.storeLabel !== null) this.storeCall('C_DestroyObject', () => this.store.destroy(o.handle));
    this.forget(o);
  }

  /** C_GetObjectSize: the bytes the object takes in the store (its encoded attributes). */
  getObjectSize(session: number, object: number): number {
    this.requireSession(session);
    return encodeObjectAttributes(this.requireObject(object, 'C_GetObjectSize').attrs).length;
  }

  /**
   * C_GetAttributeValue with the C semantics: every attribute is answered; the call's rv is the
   * last problem seen (CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID, CKR_BUFFER_TOO_SMALL)
   * or CKR_OK.
   * @throws {Pkcs11Error} CKR_OBJECT_HANDLE_INVALID and session errors (nothing answered)
   */
  getAttributeValue(session: number, object: number, requests: readonly AttributeRequest[]): { rv: number; attributes: AttributeAnswer[] } {
    this.requireSession(session);
    const o = this.requireObject(object, 'C_GetAttributeValue');
    let rv: number = CKR.CKR_OK;
    const attributes = requests.map(({ type, capacity }): AttributeAnswer => {
      const v = o.attrs.get(type);
      if (v === undefined) {
        rv = CKR.CKR_ATTRIBUTE_TYPE_INVALID;
        return { type, length: CK_UNAVAILABLE_INFORMATION, value: null };
      }
      if (isSensitiveAttribute(o.attrs, type)) {
        rv = CKR.CKR_ATTRIBUTE_SENSITIVE;
        return { type, length: CK_UNAVAILABLE_INFORMATION, value: null };
      }
      if (capacity === null) return { type, length: v.length, value: null };
      if (capacity < v.length) {
        rv = CKR.CKR_BUFFER_TOO_SMALL;
        return { type, length: CK_UNAVAILABLE_INFORMATION, value: null };
      }
      return { type, length: v.length, value: ownCopy(v) };
    });
    return { rv, attributes };
  }

  /** C_SetAttributeValue. @throws {Pkcs11Error} CKR_ATTRIBUTE_READ_ONLY, CKR_ACTION_PROHIBITED, CKR_SESSION_READ_ONLY, … */
  setAttributeValue(session: number, object: number, template: readonly RawAttribute[]): void {
    const s = this.requireSession(session);
    const o = this.requireObject(object, 'C_SetAttributeValue');
    this.requireWritable(s, o.attrs, 'C_SetAttributeValue');
    const attrs = applyAttributeChanges(o.attrs, toAttributeMap(template, 'C_SetAttributeValue'), 'C_SetAttributeValue');
    if (o.storeLabel !== null) this.saveObject(o.storeLabel, attrs, 'C_SetAttributeValue');
    this.retire(o);
    o.attrs = attrs;
    this.objects.set(o.handle, o);
    this.index(o);
  }

  /** C_FindObjectsInit. @throws {Pkcs11Error} CKR_OPERATION_ACTIVE, CKR_ATTRIBUTE_VALUE_INVALID */
  findObjectsInit(session: number, template: readonly RawAttribute[]): void {
    const s = this.requireSession(session);
    this.requireIdle(s, 'C_FindObjectsInit');
    const want = toAttributeMap(template, 'C_FindObjectsInit');
    const label = want.get(CKA.CKA_LABEL);
    const candidates = label === undefined ? this.objects.keys() : (this.byLabel.get(labelKey(label)) ?? new Set<number>()).values();
    const results: number[] = [];
    for (const h of candidates) {
      const o = this.objects.get(h)!;
      if (!this.visible(o)) continue;
      let ok = true;
      for (const [t, v] of want) {
        const have = o.attrs.get(t);
        // A value C_GetAttributeValue would not reveal never matches: a search must not be an oracle for it.
        if (have === undefined || isSensitiveAttribute(o.attrs, t) || !bytesEqual(have, v)) {
          ok = false;
          break;
        }
      }
      if (ok) results.push(h);
    }
    results.sort((a, b) => a - b);
    s.op = { kind: 'find', results, next: 0 };
  }

  /** C_FindObjects: up to `max` handles not returned before; [] once all were. */
  findObjects(session: number, max: number): number[] {
    const s = this.requireSession(session);
    const op = s.op;
    if (op?.kind !== 'find') throw pkcs11Error(CKR.CKR_OPERATION_NOT_INITIALIZED, 'C_FindObjects: call C_FindObjectsInit first');
    if (!Number.isInteger(max) || max < 1) throw pkcs11Error(CKR.CKR_ARGUMENTS_BAD, 'C_FindObjects: ulMaxObjectCount must be at least 1');
    const out = op.results.slice(op.next, op.next + max).filter((h) => this.objects.has(h));
    op.next = Math.min(op.results.length, op.next + max);
    return out;
  }

  /** C_FindObjectsFinal. @throws {Pkcs11Error} CKR_OPERATION_NOT_INITIALIZED */
  findObjectsFinal(session: number): void {
    const s = this.requireSession(session);
    if (s.op?.kind !== 'find') throw pkcs11Error(CKR.CKR_OPERATION_NOT_INITIALIZED, 'C_FindObjectsFinal: no search is active');
    s.op = null;
  }

  // ---------------------------------------------------------------- digest

  /** C_DigestInit. @throws {Pkcs11Error} CKR_MECHANISM_INVALID, CKR_OPERATION_ACTIVE */
  digestInit(session: number, mechanism: Mechanism): void {
    const s = this.requireSession(session);
    this.requireIdle(s, 'C_DigestInit');
    const hash = DIGEST_MECHANISMS.get(mechanism.mechanism);
    if (hash === undefined) throw pkcs11Error(CKR.CKR_MECHANISM_INVALID, `C_DigestInit: ${ckmName(mechanism.mechanism)} is not a supported digest`);
    if (mechanism.parameter !== undefined && mechanism.parameter !== null && !(mechanism.parameter instanceof Uint8Array && mechanism.parameter.length === 0)) {
      throw pkcs11Error(CKR.CKR_MECHANISM_PARAM_INVALID, 'C_DigestInit: digests take no parameter');
    }
    s.op = { kind: 'digest', hash, running: this.crypto.hash(hash), updated: false };
  }

  /** C_Digest (single part). After C_DigestUpdate it is CKR_OPERATION_ACTIVE (and the operation goes on). */
  digest(session: number, data: Uint8Array, capacity: number | null): Output {
    const s = this.requireSession(session);
    const op = this.requireOp(s, 'digest', 'C_Digest');
    if (op.updated) throw pkcs11Error(CKR.CKR_OPERATION_ACTIVE, 'C_Digest: a multi-part digest is in progress; finish it with C_DigestFinal');
    const len = hashLength(op.hash);
    const early = sizeOnly(len, capacity);
    if (early) return early;
    s.op = null;
    return { rv: CKR.CKR_OK, length: len, value: this.crypto.digest(op.hash, data) };
  }

  /** C_DigestUpdate. */
  digestUpdate(session: number, data: Uint8Array): void {
    const s = this.requireSession(session);
    const op = this.requireOp(s, 'digest', 'C_DigestUpdate');
    op.running.update(data);
    op.updated = true;
  }

  /** C_DigestKey: not supported (keys are not digested by this token). */
  digestFinal(session: number, capacity: number | null): Output {
    const s = this.requireSession(session);
    const op = this.requireOp(s, 'digest', 'C_DigestFinal');
    const len = hashLength(op.hash);
    const early = sizeOnly(len, capacity);
    if (early) return early;
    s.op = null;
    return { rv: CKR.CKR_OK, length: len, value: op.running.digest() };
  }

  // ---------------------------------------------------------------- sign / verify

  /** C_SignInit. @throws {Pkcs11Error} CKR_MECHANISM_INVALID, CKR_MECHANISM_PARAM_INVALID, CKR_KEY_HANDLE_INVALID, CKR_KEY_TYPE_INCONSISTENT, CKR_KEY_FUNCTION_NOT_PERMITTED, CKR_USER_NOT_LOGGED_IN, CKR_OPERATION_ACTIVE */
  signInit(session: number, mechanism: Mechanism, key: number): void {
    this.cryptInit('sign', session, mechanism, key);
  }

  /** C_VerifyInit. Same errors as {@link Token.signInit}. */
  verifyInit(session: number, mechanism: Mechanism, key: number): void {
    this.cryptInit('verify', session, mechanism, key);
  }

  private cryptInit(kind: 'sign' | 'verify', session: number, mechanism: Mechanism, keyHandle: number): void {
    const fn = kind === 'sign' ? 'C_SignInit' : 'C_VerifyInit';
    const s = this.requireSession(session);
    this.requireIdle(s, fn);
    const mech = SIGN_MECHANISMS.get(mechanism.mechanism);
    if (mech === undefined) throw pkcs11Error(CKR.CKR_MECHANISM_INVALID, `${fn}: ${ckmName(mechanism.mechanism)} is not a supported signing mechanism`);
    const key = this.objects.get(keyHandle);
    if (key === undefined) {
      // Private token objects are read from the store only at login.
      if (this.login !== 'user' && this.store.list().some((i) => i.handle === keyHandle && i.isPrivate)) throw pkcs11Error(CKR.CKR_USER_NOT_LOGGED_IN, `${fn}: the key is private; log in first`);
      throw pkcs11Error(CKR.CKR_KEY_HANDLE_INVALID, `${fn}: no key has handle ${keyHandle}`);
    }
    if (!this.visible(key)) throw pkcs11Error(CKR.CKR_USER_NOT_LOGGED_IN, `${fn}: the key is private; log in first`);
    const cls = getUlong(key.attrs, CKA.CKA_CLASS);
    const symmetric = mech.family === 'hmac' || mech.family === 'cmac';
    const wantClass = symmetric ? CKO.CKO_SECRET_KEY : kind === 'sign' ? CKO.CKO_PRIVATE_KEY : CKO.CKO_PUBLIC_KEY;
    const keyType = getUlong(key.attrs, CKA.CKA_KEY_TYPE);
    if (cls !== wantClass || keyType === undefined || !FAMILY_KEY_TYPES[mech.family].includes(keyType)) {
      throw pkcs11Error(CKR.CKR_KEY_TYPE_INCONSISTENT, `${fn}: ${ckmName(mechanism.mechanism)} needs ${symmetric ? 'a secret' : kind === 'sign' ? 'a private' : 'a public'} ${mech.family.toUpperCase()} key`);
    }
    const usage = kind === 'sign' ? CKA.CKA_SIGN : CKA.CKA_VERIFY;
    if (getBool(key.attrs, usage) !== true) throw pkcs11Error(CKR.CKR_KEY_FUNCTION_NOT_PERMITTED, `${fn}: the key's ${kind === 'sign' ? 'CKA_SIGN' : 'CKA_VERIFY'} is false`);
    const { scheme, length, digestLength } = this.schemeFor(mech, mechanism, key, fn);
    s.op = { kind, mech, mechanism: mechanism.mechanism, key, scheme, length, digestLength, chunks: [], updated: false };
  }

  private schemeFor(mech: SignMechanism, mechanism: Mechanism, key: TokenObject, fn: string): { scheme: SignatureScheme | null; length: number; digestLength: number | null } {
    const param = mechanism.parameter;
    const hasParam = param !== undefined && param !== null && !(param instanceof Uint8Array && param.length === 0);
    if (mech.scheme !== 'rsa-pss' && hasParam) throw pkcs11Error(CKR.CKR_MECHANISM_PARAM_INVALID, `${fn}: ${ckmName(mechanism.mechanism)} takes no parameter`);
    switch (mech.scheme) {
      case 'ecdsa': {
        const curve = ecCurve(key.attrs.get(CKA.CKA_EC_PARAMS), fn);
        return { scheme: { kind: 'ecdsa', hash: mech.hash }, length: 2 * TOKEN_CURVE_BYTES[curve], digestLength: null };
      }
      case 'rsa-pkcs1':
        return { scheme: { kind: 'rsa-pkcs1', hash: mech.hash }, length: modulusBytes(key), digestLength: null };
      case 'rsa-pss': {
        if (!hasParam || param instanceof Uint8Array) throw pkcs11Error(CKR.CKR_MECHANISM_PARAM_INVALID, `${fn}: ${ckmName(mechanism.mechanism)} needs CK_RSA_PKCS_PSS_PARAMS`);
        const hash = DIGEST_MECHANISMS.get(param.hashAlg);
        const mgfHash = MGF1_HASHES.get(param.mgf);
        const k = modulusBytes(key);
        if (hash === undefined || mgfHash === undefined || (mech.hash !== null && hash !== mech.hash)) {
          throw pkcs11Error(CKR.CKR_MECHANISM_PARAM_INVALID, `${fn}: hashAlg must be ${mech.hash === null ? 'a supported hash' : `CKM_${mech.hash.toUpperCase()}`} and mgf a CKG_MGF1_* value`);
        }
        if (mgfHash !== hash) throw pkcs11Error(CKR.CKR_MECHANISM_PARAM_INVALID, `${fn}: the MGF1 hash must be the hashAlg hash (${hash}); mixed hashes are not supported`);
        if (!Number.isInteger(param.saltLen) || param.saltLen < 0 || param.saltLen > k - hashLength(hash) - 2) {
          throw pkcs11Error(CKR.CKR_MECHANISM_PARAM_INVALID, `${fn}: sLen ${param.saltLen} does not fit a ${k * 8}-bit key with ${hash}`);
        }
        return { scheme: { kind: 'rsa-pss', hash: mech.hash, mgfHash, saltLength: param.saltLen }, length: k, digestLength: mech.hash === null ? hashLength(hash) : null };
      }
      case 'hmac':
        return { scheme: null, length: 32, digestLength: null };
      case 'cmac':
        return { scheme: null, length: 16, digestLength: null };
    }
  }

  /** C_Sign (single part). A length query or too small a buffer keeps the operation. */
  sign(session: number, data: Uint8Array, capacity: number | null): Output {
    const s = this.requireSession(session);
    const op = this.requireOp(s, 'sign', 'C_Sign');
    if (op.updated) throw pkcs11Error(CKR.CKR_OPERATION_ACTIVE, 'C_Sign: a multi-part signature is in progress; finish it with C_SignFinal');
    const early = sizeOnly(op.length, capacity);
    if (early) return early;
    return this.finish(s, op, () => this.signNow(op, data, 'C_Sign'));
  }

  /** C_SignUpdate. @throws {Pkcs11Error} CKR_FUNCTION_NOT_SUPPORTED for single-part mechanisms (CKM_ECDSA, CKM_RSA_PKCS, CKM_RSA_PKCS_PSS) */
  signUpdate(session: number, data: Uint8Array): void {
    this.cryptUpdate(session, 'sign', data, 'C_SignUpdate');
  }

  /** C_SignFinal. */
  signFinal(session: number, capacity: number | null): Output {
    const s = this.requireSession(session);
    const op = this.requireOp(s, 'sign', 'C_SignFinal');
    const early = sizeOnly(op.length, capacity);
    if (early) return early;
    return this.finish(s, op, () => this.signNow(op, concatBytes(...op.chunks), 'C_SignFinal'));
  }

  /** C_Verify: returns when the signature is valid; ends the operation whatever happens. @throws {Pkcs11Error} CKR_SIGNATURE_INVALID, CKR_SIGNATURE_LEN_RANGE, CKR_DATA_LEN_RANGE */
  verify(session: number, data: Uint8Array, signature: Uint8Array): void {
    const s = this.requireSession(session);
    const op = this.requireOp(s, 'verify', 'C_Verify');
    if (op.updated) throw pkcs11Error(CKR.CKR_OPERATION_ACTIVE, 'C_Verify: a multi-part verification is in progress; finish it with C_VerifyFinal');
    this.finish(s, op, () => this.verifyNow(op, data, signature, 'C_Verify'));
  }

  /** C_VerifyUpdate. */
  verifyUpdate(session: number, data: Uint8Array): void {
    this.cryptUpdate(session, 'verify', data, 'C_VerifyUpdate');
  }

  /** C_VerifyFinal. */
  verifyFinal(session: number, signature: Uint8Array): void {
    const s = this.requireSession(session);
    const op = this.requireOp(s, 'verify', 'C_VerifyFinal');
    this.finish(s, op, () => this.verifyNow(op, concatBytes(...op.chunks), signature, 'C_VerifyFinal'));
  }

  private cryptUpdate(session: number, kind: 'sign' | 'verify', data: Uint8Array, fn: string): void {
    const s = this.requireSession(session);
    const op = this.requireOp(s, kind, fn);
    if (!op.mech.multipart) {
      s.op = null;
      throw pkcs11Error(CKR.CKR_FUNCTION_NOT_SUPPORTED, `${fn}: ${ckmName(op.mechanism)} is single-part only; use C_${kind === 'sign' ? 'Sign' : 'Verify'}`);
    }
    op.chunks.push(data.slice());
    op.updated = true;
  }

  private finish<T>(s: Session, op: Operation, work: () => T): T {
    try {
      return work();
    } finally {
      if (s.op === op) s.op = null;
      if (op.kind === 'sign' || op.kind === 'verify') for (const c of op.chunks) c.fill(0);
    }
  }

  private checkData(op: CryptOp, data: Uint8Array, fn: string): void {
    const m = op.mech;
    const bad = (why: string): never => {
      throw pkcs11Error(CKR.CKR_DATA_LEN_RANGE, `${fn}: ${why}`);
    };
    if (m.scheme === 'ecdsa' && m.hash === null && !DIGEST_LENGTHS.includes(data.length)) {
      bad(`CKM_ECDSA takes a digest (${DIGEST_LENGTHS.join(', ')} bytes: SHA-1, SHA-224, SHA-256, SHA-384, SHA-512), got ${data.length} bytes`);
    }
    if (m.scheme === 'rsa-pkcs1' && m.hash === null) {
      if (data.length > op.length - 11) bad(`CKM_RSA_PKCS takes at most ${op.length - 11} bytes with this key, got ${data.length}`);
      const kind = digestInfoKind(data);
      if (kind === 'length') bad(`CKM_RSA_PKCS takes a DER DigestInfo of a SHA-1/SHA-2 digest (35, 47, 51, 67 or 83 bytes), got ${data.length} bytes`);
      if (kind === 'content') throw pkcs11Error(CKR.CKR_DATA_INVALID, `${fn}: CKM_RSA_PKCS takes a DER DigestInfo; these ${data.length} bytes do not start with the DigestInfo header of a SHA-1/SHA-2 digest`);
    }
    if (op.digestLength !== null && data.length !== op.digestLength) bad(`CKM_RSA_PKCS_PSS takes the ${op.digestLength}-byte digest of hashAlg, got ${data.length}`);
  }

  private signNow(op: CryptOp, data: Uint8Array, fn: string): Output {
    this.checkData(op, data, fn);
    let value: Uint8Array;
    if (op.mech.scheme === 'hmac') value = this.crypto.hmac('sha256', secretValue(op.key), data);
    else if (op.mech.scheme === 'cmac') value = aesCmac(this.crypto, secretValue(op.key), data);
    else value = this.privateKey(op.key, fn).sign(op.scheme!, data);
    return { rv: CKR.CKR_OK, length: value.length, value };
  }

  private verifyNow(op: CryptOp, data: Uint8Array, signature: Uint8Array, fn: string): void {
    if (signature.length !== op.length) throw pkcs11Error(CKR.CKR_SIGNATURE_LEN_RANGE, `${fn}: the signature must be ${op.length} bytes, got ${signature.length}`);
    this.checkData(op, data, fn);
    let ok: boolean;
    if (op.mech.scheme === 'hmac' || op.mech.scheme === 'cmac') {
      const mac = op.mech.scheme === 'hmac' ? this.crypto.hmac('sha256', secretValue(op.key), data) : aesCmac(this.crypto, secretValue(op.key), data);
      let diff = 0;
      for (let i = 0; i < mac.length; i++) diff |= mac[i]! ^ signature[i]!;
      ok = diff === 0;
    } else {
      ok = this.publicKey(op.key, fn).verify(op.scheme!, data, signature);
    }
    if (!ok) throw pkcs11Error(CKR.CKR_SIGNATURE_INVALID, fn);
  }

  private privateKey(o: TokenObject, fn: string): PreparedPrivateKey {
    if (o.prepared !== null) return o.prepared as PreparedPrivateKey;
    const a = o.attrs;
    const get = (t: number): Uint8Array => a.get(t) ?? EMPTY;
    try {
      o.prepared =
        getUlong(a, CKA.CKA_KEY_TYPE) === CKK.CKK_EC
          ? this.keys.preparePrivateKey({ type: 'ec', curve: ecCurve(a.get(CKA.CKA_EC_PARAMS), fn), d: get(CKA.CKA_VALUE) })
          : this.keys.preparePrivateKey({
              type: 'rsa',
              n: get(CKA.CKA_MODULUS),
              e: get(CKA.CKA_PUBLIC_EXPONENT),
              d: get(CKA.CKA_PRIVATE_EXPONENT),
              p: get(CKA.CKA_PRIME_1),
              q: get(CKA.CKA_PRIME_2),
              dp: get(CKA.CKA_EXPONENT_1),
              dq: get(CKA.CKA_EXPONENT_2),
              qi: get(CKA.CKA_COEFFICIENT),
            });
    } catch (e) {
      if (e instanceof Pkcs11Error) throw e;
      throw pkcs11Error(CKR.CKR_KEY_FUNCTION_NOT_PERMITTED, `${fn}: the stored key cannot be used (${(e as Error).message})`, { cause: e });
    }
    return o.prepared as PreparedPrivateKey;
  }

  private publicKey(o: TokenObject, fn: string): PreparedPublicKey {
    if (o.prepared !== null) return o.prepared as PreparedPublicKey;
    const a = o.attrs;
    if (getUlong(a, CKA.CKA_KEY_TYPE) === CKK.CKK_EC) {
      const curve = ecCurve(a.get(CKA.CKA_EC_PARAMS), fn);
      const der = a.get(CKA.CKA_EC_POINT)!;
      o.prepared = this.keys.preparePublicKey({ type: 'ec', curve, point: der.subarray(der.length - (1 + 2 * TOKEN_CURVE_BYTES[curve])) });
    } else {
      o.prepared = this.keys.preparePublicKey({ type: 'rsa', n: a.get(CKA.CKA_MODULUS)!, e: a.get(CKA.CKA_PUBLIC_EXPONENT)! });
    }
    return o.prepared as PreparedPublicKey;
  }

  // ---------------------------------------------------------------- key generation and random

  /**
   * C_GenerateKeyPair: CKM_EC_KEY_PAIR_GEN (CKA_EC_PARAMS P-256 or P-384 in the public template)
   * or CKM_RSA_PKCS_KEY_PAIR_GEN (CKA_MODULUS_BITS 2048..4096, optional CKA_PUBLIC_EXPONENT).
   * Either both keys are stored or neither.
   * @throws {Pkcs11Error} CKR_MECHANISM_INVALID, CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT,
   *   CKR_CURVE_NOT_SUPPORTED, CKR_KEY_SIZE_RANGE, CKR_USER_NOT_LOGGED_IN, CKR_SESSION_READ_ONLY
   */
  generateKeyPair(session: number, mechanism: Mechanism, publicTemplate: readonly RawAttribute[], privateTemplate: readonly RawAttribute[]): { publicKey: number; privateKey: number } {
    const fn = 'C_GenerateKeyPair';
    const s = this.requireSession(session);
    const pub = toAttributeMap(publicTemplate, fn);
    const priv = toAttributeMap(privateTemplate, fn);
    const ec = mechanism.mechanism === CKM.CKM_EC_KEY_PAIR_GEN;
    if (!ec && mechanism.mechanism !== CKM.CKM_RSA_PKCS_KEY_PAIR_GEN) throw pkcs11Error(CKR.CKR_MECHANISM_INVALID, `${fn}: ${ckmName(mechanism.mechanism)} does not generate key pairs here`);
    const keyType = ec ? CKK.CKK_EC : CKK.CKK_RSA;
    for (const [t, cls] of [
      [pub, CKO.CKO_PUBLIC_KEY],
      [priv, CKO.CKO_PRIVATE_KEY],
    ] as const) {
      templateClass(t, fn, cls);
      const kt = getUlong(t, CKA.CKA_KEY_TYPE);
      if (kt !== undefined && kt !== keyType) throw pkcs11Error(CKR.CKR_TEMPLATE_INCONSISTENT, `${fn}: CKA_KEY_TYPE must be ${ec ? 'CKK_EC' : 'CKK_RSA'} for this mechanism`);
      t.set(CKA.CKA_KEY_TYPE, ulongBytes(keyType));
      t.set(CKA.CKA_CLASS, ulongBytes(cls));
    }
    for (const t of [CKA.CKA_VALUE, CKA.CKA_PRIVATE_EXPONENT, CKA.CKA_MODULUS, CKA.CKA_EC_POINT]) {
      if (pub.has(t) || priv.has(t)) throw pkcs11Error(CKR.CKR_TEMPLATE_INCONSISTENT, `${fn}: key material cannot be given to C_GenerateKeyPair`);
    }
    // Permission checks before the (slow) generation.
    this.requireWritable(s, priv, fn);
    this.requireWritable(s, pub, fn);
    if (this.login !== 'user') throw pkcs11Error(CKR.CKR_USER_NOT_LOGGED_IN, `${fn}: the private key is private; log in as the user first`);
    const local: [number, Uint8Array][] = [
      [CKA.CKA_LOCAL, boolBytes(true)],
      [CKA.CKA_KEY_GEN_MECHANISM, ulongBytes(mechanism.mechanism)],
    ];
    let secret: Uint8Array[] = [];
    try {
      if (ec) {
        const params = pub.get(CKA.CKA_EC_PARAMS);
        if (params === undefined) throw pkcs11Error(CKR.CKR_TEMPLATE_INCOMPLETE, `${fn}: the public template needs CKA_EC_PARAMS`);
        const curve = ecCurve(params, fn);
        if (priv.has(CKA.CKA_EC_PARAMS) && !bytesEqual(priv.get(CKA.CKA_EC_PARAMS)!, params)) throw pkcs11Error(CKR.CKR_TEMPLATE_INCONSISTENT, `${fn}: the two templates name different curves`);
        const { d, point } = this.keys.generateEcKey(curve);
        secret = [d];
        pub.set(CKA.CKA_EC_POINT, ownCopy(point));
        priv.set(CKA.CKA_EC_PARAMS, EC_PARAMS[curve]);
        priv.set(CKA.CKA_VALUE, d);
      } else {
        const bits = getUlong(pub, CKA.CKA_MODULUS_BITS);
        if (bits === undefined) throw pkcs11Error(CKR.CKR_TEMPLATE_INCOMPLETE, `${fn}: the public template needs CKA_MODULUS_BITS`);
        if (bits < 2048 || bits > 4096 || bits % 8 !== 0) throw pkcs11Error(CKR.CKR_KEY_SIZE_RANGE, `${fn}: RSA keys are 2048..4096 bits (a multiple of 8), got ${bits}`);
        const e = pub.get(CKA.CKA_PUBLIC_EXPONENT) ?? Uint8Array.of(1, 0, 1);
        let k;
        try {
          k = this.keys.generateRsaKey(bits, e);
        } catch (err) {
          throw pkcs11Error(CKR.CKR_TEMPLATE_INCONSISTENT, `${fn}: ${(err as Error).message}`, { cause: err });
        }
        secret = [k.d, k.p, k.q, k.dp, k.dq, k.qi];
        pub.set(CKA.CKA_MODULUS, ownCopy(k.n));
        pub.set(CKA.CKA_PUBLIC_EXPONENT, ownCopy(k.e));
        for (const [t, v] of [
          [CKA.CKA_MODULUS, k.n],
          [CKA.CKA_PUBLIC_EXPONENT, k.e],
          [CKA.CKA_PRIVATE_EXPONENT, k.d],
          [CKA.CKA_PRIME_1, k.p],
          [CKA.CKA_PRIME_2, k.q],
          [CKA.CKA_EXPONENT_1, k.dp],
          [CKA.CKA_EXPONENT_2, k.dq],
          [CKA.CKA_COEFFICIENT, k.qi],
        ] as const) {
          priv.set(t, ownCopy(v));
        }
      }
      for (const [t, v] of local) {
        pub.set(t, v);
        priv.set(t, v);
      }
      const pubAttrs = buildObject(pub, 'generate', this.context, fn, CKO.CKO_PUBLIC_KEY);
      const privAttrs = buildObject(priv, 'generate', this.context, fn, CKO.CKO_PRIVATE_KEY);
      const first = this.addObject(s, privAttrs, fn);
      let second: Placed;
      try {
        second = this.addObject(s, pubAttrs, fn);
      } catch (e) {
        if (!this.undo(first) && first.replaced !== null && e instanceof Pkcs11Error) {
          throw new Pkcs11Error(e.ckr, `${e.message}; and the object the private key replaced could not be put back: "${first.replaced.storeLabel}" now holds the new private key without its public key; generate the pair again`, { cause: e });
        }
        throw e;
      }
      for (const r of [first.replaced, second.replaced]) if (r !== null) zeroizeSecrets(r.attrs);
      return { publicKey: second.handle, privateKey: first.handle };
    } finally {
      for (const b of secret) b.fill(0);
      priv.get(CKA.CKA_VALUE)?.fill(0);
    }
  }

  /**
   * Takes back an object just added: the object it replaced is saved back (so a failed key pair
   * generation never costs the old credential), or the new one is destroyed. False when the store
   * refused: memory then keeps what the store holds (the new object), and the caller says so.
   */
  private undo(placed: Placed): boolean {
    const o = this.objects.get(placed.handle);
    if (o === undefined) return true;
    const old = placed.replaced;
    try {
      if (o.storeLabel !== null) {
        if (old !== null) this.saveObject(o.storeLabel, old.attrs, 'rollback');
        else this.store.destroy(o.handle);
      }
    } catch {
      // Memory follows the store: the new object stays (it is what the store holds), the old is gone.
      if (old !== null) zeroizeSecrets(old.attrs);
      return false;
    }
    this.forget(o);
    if (old !== null) {
      this.objects.set(old.handle, old);
      this.index(old);
    }
    return true;
  }

  /** C_GenerateRandom: bytes from the token's CTR_DRBG. @throws {Pkcs11Error} CKR_ARGUMENTS_BAD for a length of 0 */
  generateRandom(session: number, length: number): Uint8Array {
    this.requireSession(session);
    if (!Number.isInteger(length) || length < 1) throw pkcs11Error(CKR.CKR_ARGUMENTS_BAD, 'C_GenerateRandom: ask for at least one byte');
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += 1024) out.set(this.random.generate(Math.min(1024, length - at)), at);
    return out;
  }

  /** C_SeedRandom: mixes `seed` into the DRBG as additional input of a reseed (it never replaces OS entropy). */
  seedRandom(session: number, seed: Uint8Array): void {
    this.requireSession(session);
    if (seed.length === 0) throw pkcs11Error(CKR.CKR_ARGUMENTS_BAD, 'C_SeedRandom: the seed is empty');
    for (let at = 0; at < seed.length; at += 256) this.random.reseed(seed.subarray(at, at + 256));
  }

  // ---------------------------------------------------------------- internals

  private get context(): ObjectContext {
    return { crypto: this.crypto, keys: this.keys };
  }

  private requireInit(): void {
    if (!this.initialized) throw pkcs11Error(CKR.CKR_CRYPTOKI_NOT_INITIALIZED, 'call C_Initialize first');
  }

  private requireSlot(slot: number, fn: string): void {
    this.requireInit();
    if (slot !== this.slotId) throw pkcs11Error(CKR.CKR_SLOT_ID_INVALID, `${fn}: slot ${slot} does not exist (the token is in slot ${this.slotId})`);
  }

  private requireSession(session: number): Session {
    this.requireInit();
    const s = this.sessions.get(session);
    if (s === undefined) throw pkcs11Error(CKR.CKR_SESSION_HANDLE_INVALID, `session ${session} is not open`);
    return s;
  }

  private requireIdle(s: Session, fn: string): void {
    if (s.op !== null) throw pkcs11Error(CKR.CKR_OPERATION_ACTIVE, `${fn}: a ${s.op.kind} operation is active in this session`);
  }

  private requireOp<K extends Operation['kind']>(s: Session, kind: K, fn: string): OpOf<K> {
    if (s.op?.kind !== kind) throw pkcs11Error(CKR.CKR_OPERATION_NOT_INITIALIZED, `${fn}: call C_${kind === 'digest' ? 'Digest' : kind === 'sign' ? 'Sign' : kind === 'verify' ? 'Verify' : 'FindObjects'}Init first`);
    return s.op as OpOf<K>;
  }

  private requireObject(handle: number, fn: string): TokenObject {
    const o = this.objects.get(handle);
    if (o === undefined || !this.visible(o)) throw pkcs11Error(CKR.CKR_OBJECT_HANDLE_INVALID, `${fn}: no object has handle ${handle}`);
    return o;
  }

  private requireWritable(s: Session, attrs: AttributeMap, fn: string): void {
    if (isTokenObject(attrs) && !s.rw) throw pkcs11Error(CKR.CKR_SESSION_READ_ONLY, `${fn}: token objects need a read/write session`);
    if (isPrivateObject(attrs) && this.login !== 'user') throw pkcs11Error(CKR.CKR_USER_NOT_LOGGED_IN, `${fn}: private objects need the user to be logged in`);
  }

  private visible(o: TokenObject): boolean {
    return this.login === 'user' || !isPrivateObject(o.attrs);
  }

  private checkPinLength(pin: Uint8Array, fn: string): void {
    if (pin.length < this.minPin || pin.length > this.maxPin) throw pkcs11Error(CKR.CKR_PIN_LEN_RANGE, `${fn}: PINs are ${this.minPin}..${this.maxPin} bytes`);
  }

  /** Checks a PIN, counting the attempt before it is checked; returns the token key. */
  private checkPin(who: 'user' | 'so', pin: Uint8Array, fn: string): Uint8Array {
    const r = this.refreshRecord(fn);
    const failures = who === 'so' ? r.soFailures : r.userFailures;
    if (failures >= r.maxPinTries) {
      throw new Pkcs11Error(
        CKR.CKR_PIN_LOCKED,
        who === 'user'
          ? `${fn}: the user PIN is locked after ${failures} wrong tries; the SO can set a new one (C_InitPIN)`
          : `${fn}: the SO PIN is locked after ${failures} wrong tries; nothing can unlock it: erase the token's storage (its directory, or its NVS partition) and initialise it again, losing its objects`,
      );
    }
    const counted = who === 'so' ? { ...r, soFailures: failures + 1 } : { ...r, userFailures: failures + 1 };
    this.saveRecord(counted);
    const key = openPinRecord(this.crypto, (who === 'so' ? r.so : r.user)!, pin);
    if (key === null) {
      const left = r.maxPinTries - failures - 1;
      throw pkcs11Error(CKR.CKR_PIN_INCORRECT, `${fn}: wrong ${who === 'so' ? 'SO' : 'user'} PIN (${left} ${left === 1 ? 'try' : 'tries'} left)`);
    }
    this.saveRecord(who === 'so' ? { ...counted, soFailures: 0 } : { ...counted, userFailures: 0 });
    return key;
  }

  private setLogin(who: 'user' | 'so' | null): void {
    if (this.login === who) return;
    const was = this.login;
    this.login = who;
    if (was === 'so') {
      this.soKey?.fill(0);
      this.soKey = null;
    }
    if (was === 'user') {
      for (const s of this.sessions.values()) s.op = null;
      this.dropPrivateObjects();
    }
  }

  /**
   * Private objects are in memory only while the user is logged in: private token objects are
   * forgotten (their secrets zeroized; they are read again at the next login), private session
   * objects are destroyed (PKCS#11 2.40 §5.6, C_Logout), and an encrypting store forgets its key.
   */
  private dropPrivateObjects(): void {
    for (const o of [...this.objects.values()]) if (isPrivateObject(o.attrs)) this.forget(o);
    if (isWrappingObjectStore(this.store)) this.store.setWrappingKey(null);
  }

  private closeAll(): void {
    for (const h of [...this.sessions.keys()]) this.dropSession(h);
  }

  private dropSession(handle: number): void {
    this.sessions.delete(handle);
    for (const o of [...this.objects.values()]) if (o.session === handle) this.forget(o);
  }

  /** The token record as the store holds it now (another process may have changed it). */
  private readRecord(): TokenRecord {
    const handle = this.store.find(TOKEN_RECORD_LABEL);
    if (handle === null) throw new RangeError('the token record is missing');
    const { data } = this.store.get(handle);
    return decodeTokenRecord(data);
  }

  /** Re-reads the record before a PIN is checked or changed, so no stale copy is ever written back. */
  private refreshRecord(fn: string): TokenRecord {
    if (this.record === null) throw pkcs11Error(CKR.CKR_TOKEN_NOT_RECOGNIZED, `${fn}: the token is not initialised; run C_InitToken first`);
    try {
      this.record = this.storeCall(fn, () => this.readRecord());
    } catch (e) {
      if (e instanceof RangeError) throw pkcs11Error(CKR.CKR_DEVICE_ERROR, `${fn}: the token record can no longer be read (${e.message})`, { cause: e });
      throw e;
    }
    return this.record;
  }

  private loadToken(): void {
    this.record = null;
    this.notes.length = 0;
    this.recordHandle = this.storeCall('C_Initialize', () => this.store.find(TOKEN_RECORD_LABEL));
    if (this.recordHandle !== null) {
      try {
        this.record = this.readRecord();
      } catch (e) {
        if (!(e instanceof RangeError || (e instanceof PalError && e.code === 'PAL_OBJECT_CORRUPT'))) throw e;
        this.notes.push(`the token record cannot be read (${e.message}): the token shows as not initialised; C_InitToken erases it and every object and starts again`);
      }
    }
    this.loadObjects(false);
  }

  /**
   * Reads the stored objects into memory: the public ones (at C_Initialize), or the private ones
   * (at user login). A blob that is not a token object (damaged, or a raw DER blob written by a
   * corePKCS11 PAL) is left alone and reported in {@link Token.notes}.
   */
  private loadObjects(privateOnes: boolean): void {
    for (const info of this.store.list()) {
      if (info.label === TOKEN_RECORD_LABEL || this.objects.has(info.handle) || info.isPrivate !== privateOnes) continue;
      let attrs: AttributeMap;
      try {
        const { data } = this.store.get(info.handle);
        try {
          attrs = decodeObjectAttributes(data);
        } finally {
          data.fill(0);
        }
      } catch (e) {
        const unreadable = e instanceof RangeError || (e instanceof PalError && (e.code === 'PAL_OBJECT_CORRUPT' || e.code === 'PAL_OBJECT_ABSENT'));
        if (!unreadable) throw this.storeError(privateOnes ? 'C_Login' : 'C_Initialize', e);
        const note = `the stored object "${info.label}" (store handle ${info.handle}) cannot be read as a token object (${(e as Error).message}): it is ignored; saving an object under its label replaces it, or re-initialise the token`;
        if (!this.notes.includes(note)) this.notes.push(note);
        continue;
      }
      const o: TokenObject = { handle: info.handle, attrs, storeLabel: info.label, session: null, prepared: null };
      this.objects.set(o.handle, o);
      this.index(o);
    }
  }

  /** Adds an object; what it replaced is gone for good. */
  private addObjectFinal(s: Session, attrs: AttributeMap, fn: string, options: { replace?: boolean } = {}): number {
    const placed = this.addObject(s, attrs, fn, options);
    if (placed.replaced !== null) zeroizeSecrets(placed.replaced.attrs);
    return placed.handle;
  }

  /**
   * Adds an object: a session object in memory, a token object in the store (see
   * {@link Token.placeFor}). The object it replaced, if any, is out of the token but its values
   * are left intact for {@link Token.undo}; the caller zeroizes them.
   */
  private addObject(s: Session, attrs: AttributeMap, fn: string, options: { replace?: boolean } = {}): Placed {
    this.requireWritable(s, attrs, fn);
    if (!isTokenObject(attrs)) {
      const handle = ++this.nextSessionObject;
      const o: TokenObject = { handle, attrs, storeLabel: null, session: s.handle, prepared: null };
      this.objects.set(handle, o);
      this.index(o);
      return { handle, replaced: null };
    }
    const { storeLabel, replaces } = options.replace === false ? { storeLabel: this.freshStoreLabel(), replaces: null } : this.placeFor(attrs, fn);
    const handle = this.saveObject(storeLabel, attrs, fn);
    if (replaces !== null) this.retire(replaces);
    const o: TokenObject = { handle, attrs, storeLabel, session: null, prepared: null };
    this.objects.set(handle, o);
    this.index(o);
    return { handle, replaced: replaces };
  }

  /**
   * Where a new token object is stored, and what it replaces (corePKCS11's overwrite-by-label
   * semantics, within the access rules):
   * - a credential label of {@link DEFAULT_OBJECTS} goes to its fixed slot when the class fits;
   * - otherwise a token object of the same non-empty label and class is replaced (its handle kept);
   * - otherwise a fresh generated store label.
   * Replacing needs the old object to be visible, destroyable and modifiable; an unseen private
   * object in a slot (the user is logged out) is never overwritten.
   *
   * @throws {Pkcs11Error} CKR_ACTION_PROHIBITED, CKR_USER_NOT_LOGGED_IN
   */
  private placeFor(attrs: AttributeMap, fn: string): { storeLabel: string; replaces: TokenObject | null } {
    const labelBytes = attrs.get(CKA.CKA_LABEL) ?? EMPTY;
    const cls = getUlong(attrs, CKA.CKA_CLASS);
    const label = new TextDecoder().decode(labelBytes);
    const replaceable = (o: TokenObject): TokenObject => {
      if (getBool(o.attrs, CKA.CKA_DESTROYABLE) === false || getBool(o.attrs, CKA.CKA_MODIFIABLE) === false) {
        throw pkcs11Error(CKR.CKR_ACTION_PROHIBITED, `${fn}: a token object labelled "${label}" of this class exists and is not destroyable or not modifiable, so it cannot be replaced`);
      }
      return o;
    };
    const slot = DEFAULT_OBJECTS.find((d) => d.label === label && d.objectClass === cls);
    if (slot !== undefined) {
      const h = this.store.find(slot.label);
      const occupant = h === null ? undefined : this.objects.get(h);
      if (occupant !== undefined) {
        if (!bytesEqual(occupant.attrs.get(CKA.CKA_LABEL) ?? EMPTY, labelBytes)) {
          throw pkcs11Error(CKR.CKR_ACTION_PROHIBITED, `${fn}: the "${slot.label}" slot holds an object that was relabelled (handle ${occupant.handle}); destroy it, or give it its label back, before saving a new "${slot.label}"`);
        }
        return { storeLabel: slot.label, replaces: replaceable(occupant) };
      }
      if (h !== null && this.login !== 'user' && this.store.list().some((i) => i.handle === h && i.isPrivate)) {
        throw pkcs11Error(CKR.CKR_USER_NOT_LOGGED_IN, `${fn}: "${slot.label}" holds a private object; log in as the user to replace it`);
      }
      return { storeLabel: slot.label, replaces: null };
    }
    if (labelBytes.length > 0) {
      for (const h of this.byLabel.get(labelKey(labelBytes)) ?? []) {
        const o = this.objects.get(h)!;
        if (o.storeLabel !== null && getUlong(o.attrs, CKA.CKA_CLASS) === cls && this.visible(o)) return { storeLabel: o.storeLabel, replaces: replaceable(o) };
      }
    }
    return { storeLabel: this.freshStoreLabel(), replaces: null };
  }

  /** A generated store label no object has. */
  private freshStoreLabel(): string {
    for (;;) {
      const candidate = `#o${toHex(this.crypto.randomBytes(8))}`;
      if (this.store.find(candidate) === null) return candidate;
    }
  }

  private saveObject(storeLabel: string, attrs: AttributeMap, fn: string): number {
    const blob = encodeObjectAttributes(attrs);
    try {
      return this.storeCall(fn, () => this.store.save(storeLabel, blob, { isPrivate: isPrivateObject(attrs) }));
    } finally {
      blob.fill(0);
    }
  }

  private saveRecord(record: TokenRecord): void {
    this.recordHandle = this.storeCall('token record', () => this.store.save(TOKEN_RECORD_LABEL, encodeTokenRecord(record), { isPrivate: false }));
    this.record = record;
  }

  /** Takes an object out of the token (memory only) and zeroizes its secrets. */
  private forget(o: TokenObject): void {
    this.retire(o);
    zeroizeSecrets(o.attrs);
  }

  /**
   * Takes an object out of the token's memory, leaving its values intact: its prepared key is
   * dropped and every operation that uses it ends (a destroyed key must not keep signing).
   */
  private retire(o: TokenObject): void {
    for (const s of this.sessions.values()) if ((s.op?.kind === 'sign' || s.op?.kind === 'verify') && s.op.key === o) s.op = null;
    dropPrepared(o);
    this.unindex(o);
    if (this.objects.get(o.handle) === o) this.objects.delete(o.handle);
  }

  private index(o: TokenObject): void {
    const k = labelKey(o.attrs.get(CKA.CKA_LABEL) ?? EMPTY);
    let set = this.byLabel.get(k);
    if (set === undefined) this.byLabel.set(k, (set = new Set()));
    set.add(o.handle);
  }

  private unindex(o: TokenObject): void {
    const k = labelKey(o.attrs.get(CKA.CKA_LABEL) ?? EMPTY);
    const set = this.byLabel.get(k);
    set?.delete(o.handle);
    if (set?.size === 0) this.byLabel.delete(k);
  }

  /** Runs a store call, turning its PalError into the Pkcs11Error of the same CKR. */
  private storeCall<T>(fn: string, call: () => T): T {
    try {
      return call();
    } catch (e) {
      throw this.storeError(fn, e);
    }
  }

  private storeError(fn: string, e: unknown): unknown {
    return e instanceof PalError ? new Pkcs11Error(e.ckr ?? CKR.CKR_DEVICE_ERROR, `${fn}: ${e.message}`, { cause: e }) : e;
  }
}

/** Digest lengths CKM_ECDSA accepts: those of SHA-1, SHA-224, SHA-256, SHA-384 and SHA-512. */
const DIGEST_LENGTHS = [20, 28, 32, 48, 64];

/** Whether `data` is a DigestInfo CKM_RSA_PKCS signs: 'ok', or what is wrong with it. */
function digestInfoKind(data: Uint8Array): 'ok' | 'length' | 'content' {
  if (digestInfoHash(data) !== null) return 'ok';
  const lengths = Object.values(DIGEST_INFO_PREFIXES).map((p) => p.length + p[p.length - 1]!);
  return lengths.includes(data.length) ? 'content' : 'length';
}

function pinFlags(failures: number, maxTries: number, low: number, final: number, locked: number): number {
  if (failures >= maxTries) return locked;
  return (failures > 0 ? low : 0) | (failures === maxTries - 1 ? final : 0);
}

function dropPrepared(o: TokenObject): void {
  const p = o.prepared as Partial<PreparedPrivateKey> | null;
  p?.destroy?.();
  o.prepared = null;
}

function labelKey(label: Uint8Array): string {
  return toHex(label);
}

function modulusBytes(key: TokenObject): number {
  return Math.ceil(bitLength(key.attrs.get(CKA.CKA_MODULUS) ?? EMPTY) / 8);
}

function secretValue(key: TokenObject): Uint8Array {
  return key.attrs.get(CKA.CKA_VALUE) ?? EMPTY;
}

function sizeOnly(length: number, capacity: number | null): Output | null {
  if (capacity === null) return { rv: CKR.CKR_OK, length, value: null };
  if (capacity < length) return { rv: CKR.CKR_BUFFER_TOO_SMALL, length, value: null };
  return null;
}


function padUtf8(s: string, n: number): string {
  let out = s;
  while (utf8.encode(out).length > n) out = out.slice(0, -1);
  return out + ' '.repeat(n - utf8.encode(out).length);
}
