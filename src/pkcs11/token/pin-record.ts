import type { CryptoProvider } from '../../crypto/provider.js';
import { fromHex, toHex } from '../../bytes/hex.js';

/**
 * A PIN as the token keeps it: never the PIN, never a fast hash of it.
 *
 * `k = PBKDF2-HMAC-SHA256(PIN, salt, iterations, 32)` (one PBKDF2 block: an attacker's guess costs
 * exactly what a login costs), then `verifier = HMAC(k, "nvsec PIN verifier")` (what a login
 * compares, in constant time) and `pad = HMAC(k, "nvsec token key wrap")`, a one-time pad that
 * `wrappedKey` = token key XOR pad is stored under. A new salt is drawn every time a PIN is set, so
 * a pad is never reused. The token key (random, 32 bytes) encrypts private objects in stores that
 * encrypt (the directory store); both PINs wrap the same key, so the SO can reset the user PIN
 * without losing the user's keys.
 *
 * Whoever can read the stored record can guess PINs offline at PBKDF2 speed: the failure counter
 * limits guesses made through the token, not copies of its storage. Long PINs, and storage only
 * the device can read (encrypted NVS), are the defence there.
 */
export interface PinRecord {
  readonly salt: string;
  readonly iterations: number;
  readonly verifier: string;
  readonly wrappedKey: string;
}

const VERIFIER_LABEL = new TextEncoder().encode('nvsec PIN verifier');
const WRAP_LABEL = new TextEncoder().encode('nvsec token key wrap');

function derive(crypto: CryptoProvider, pin: Uint8Array, salt: Uint8Array, iterations: number): { verifier: Uint8Array; pad: Uint8Array } {
  const k = crypto.pbkdf2('sha256', pin, salt, iterations, 32);
  const verifier = crypto.hmac('sha256', k, VERIFIER_LABEL);
  const pad = crypto.hmac('sha256', k, WRAP_LABEL);
  k.fill(0);
  return { verifier, pad };
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** A record for `pin` that wraps `tokenKey`. */
export function makePinRecord(crypto: CryptoProvider, pin: Uint8Array, tokenKey: Uint8Array, iterations: number): PinRecord {
  const salt = crypto.randomBytes(16);
  const { verifier, pad } = derive(crypto, pin, salt, iterations);
  const record = { salt: toHex(salt), iterations, verifier: toHex(verifier), wrappedKey: toHex(xor(tokenKey, pad)) };
  pad.fill(0);
  return record;
}

/** The token key when `pin` is right; null when it is wrong. */
export function openPinRecord(crypto: CryptoProvider, record: PinRecord, pin: Uint8Array): Uint8Array | null {
  const { verifier, pad } = derive(crypto, pin, fromHex(record.salt), record.iterations);
  const expected = fromHex(record.verifier);
  let diff = expected.length ^ verifier.length;
  for (let i = 0; i < expected.length; i++) diff |= expected[i]! ^ (verifier[i] ?? 0);
  const key = diff === 0 ? xor(fromHex(record.wrappedKey), pad) : null;
  pad.fill(0);
  return key;
}
