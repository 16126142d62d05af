import type { CryptoProvider } from '../../crypto/provider.js';
import { fromHex, toHex } from '../../bytes/hex.js';

/**
 * A PIN as the token keeps it: never the PIN, never a fast hash of it.
 *
 * `PBKDF2-HMAC-SHA256(PIN, salt, iterations, 64)` gives 64 bytes: the first 32 are hashed once more
 * into `verifier` (what a login compares, in constant time), the last 32 are a one-time pad that
 * `wrappedKey` = token key XOR pad is stored under. A new salt is drawn every time a PIN is set, so
 * a pad is never reused. The token key (random, 32 bytes) encrypts private objects in stores that
 * encrypt (the directory store); both PINs wrap the same key, so the SO can reset the user PIN
 * without losing the user's keys.
 */
export interface PinRecord {
  readonly salt: string;
  readonly iterations: number;
  readonly verifier: string;
  readonly wrappedKey: string;
}

function derive(crypto: CryptoProvider, pin: Uint8Array, salt: Uint8Array, iterations: number): { verifier: Uint8Array; pad: Uint8Array } {
  const dk = crypto.pbkdf2('sha256', pin, salt, iterations, 64);
  const verifier = crypto.digest('sha256', dk.subarray(0, 32));
  const pad = dk.slice(32);
  dk.fill(0);
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
