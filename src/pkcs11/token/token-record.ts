import type { PinRecord } from './pin-record.js';

/**
 * The store label of the token's own record (not a Cryptoki object: the token never lists it).
 * Object labels of Cryptoki objects never collide with it: objects outside the credential slots
 * are stored under generated `#o…` labels.
 */
export const TOKEN_RECORD_LABEL = '#nvsec-token';

/** Format version of {@link TokenRecord} (2: PIN records of the single-block PBKDF2 derivation). */
export const TOKEN_RECORD_VERSION = 2;

/** What the token keeps about itself: label, serial, PINs and their failure counters. */
export interface TokenRecord {
  readonly version: typeof TOKEN_RECORD_VERSION;
  /** The token label (at most 32 bytes of UTF-8, stored unpadded). */
  readonly label: string;
  /** 16 hex digits, random at C_InitToken. */
  readonly serial: string;
  readonly so: PinRecord;
  readonly user: PinRecord | null;
  /** Consecutive failed logins; counted before the PIN is checked, cleared by a good one. */
  readonly soFailures: number;
  readonly userFailures: number;
  /** Failed logins in a row that lock a PIN, fixed at C_InitToken (every process sees the same limit). */
  readonly maxPinTries: number;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** The bytes the store keeps for `record` (UTF-8 JSON). */
export function encodeTokenRecord(record: TokenRecord): Uint8Array {
  return utf8.encode(JSON.stringify(record));
}

/**
 * The record in `bytes`.
 * @throws {RangeError} when the bytes are not a token record of this version
 */
export function decodeTokenRecord(bytes: Uint8Array): TokenRecord {
  let r: Partial<TokenRecord>;
  try {
    r = JSON.parse(utf8Strict.decode(bytes)) as Partial<TokenRecord>;
  } catch (e) {
    throw new RangeError(`the token record is not JSON (${(e as Error).message})`);
  }
  const hex = (v: unknown, bytes: number): boolean => typeof v === 'string' && v.length === bytes * 2 && /^[0-9a-f]*$/.test(v);
  const pinOk = (p: unknown): boolean => {
    if (typeof p !== 'object' || p === null) return false;
    const r = p as PinRecord;
    return hex(r.salt, 16) && hex(r.verifier, 32) && hex(r.wrappedKey, 32) && Number.isInteger(r.iterations) && r.iterations >= 1000 && r.iterations <= 100_000_000;
  };
  const count = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 1_000_000;
  if (typeof r.version === 'number' && r.version !== TOKEN_RECORD_VERSION) {
    throw new RangeError(`the token record is version ${r.version}; this nvsec reads version ${TOKEN_RECORD_VERSION}: re-initialise the token (C_InitToken), which erases its objects`);
  }
  if (r.version !== TOKEN_RECORD_VERSION || typeof r.label !== 'string' || typeof r.serial !== 'string' || !pinOk(r.so) || (r.user !== null && !pinOk(r.user)) || !count(r.soFailures) || !count(r.userFailures) || !count(r.maxPinTries) || r.maxPinTries! < 1) {
    throw new RangeError('the token record has a missing or malformed field (label, serial, so, user, soFailures, userFailures, maxPinTries)');
  }
  return r as TokenRecord;
}
