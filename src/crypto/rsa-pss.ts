import { bytesEqual } from '../bytes/equal.js';
import { type CryptoProvider, type HashName, hashLength } from './provider.js';

/**
 * EMSA-PSS encoding and verification (RFC 8017 §9.1) with MGF1 over the same hash: the padding
 * layer of RSASSA-PSS over a digest the caller computed. The RSA operation itself (OpenSSL) is
 * the provider's job; these functions only arrange bytes and call the provider's hash.
 */

function mgf1(crypto: CryptoProvider, hash: HashName, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const input = new Uint8Array(seed.length + 4);
  input.set(seed);
  const view = new DataView(input.buffer);
  for (let counter = 0, o = 0; o < length; counter++) {
    view.setUint32(seed.length, counter);
    const block = crypto.digest(hash, input);
    out.set(block.subarray(0, Math.min(block.length, length - o)), o);
    o += block.length;
  }
  return out;
}

/** H = Hash(0x00 × 8 ‖ mHash ‖ salt). */
function pssHash(crypto: CryptoProvider, hash: HashName, mHash: Uint8Array, salt: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + mHash.length + salt.length);
  m.set(mHash, 8);
  m.set(salt, 8 + mHash.length);
  return crypto.digest(hash, m);
}

/**
 * EM = maskedDB ‖ H ‖ 0xBC for a modulus of `modBits` bits (emBits = modBits − 1), as long as
 * the modulus in bytes.
 * @throws {RangeError} when the digest length does not match `hash` or the modulus is too short
 */
export function emsaPssEncode(crypto: CryptoProvider, hash: HashName, mHash: Uint8Array, salt: Uint8Array, modBits: number): Uint8Array {
  const hLen = hashLength(hash);
  if (mHash.length !== hLen) throw new RangeError(`"mHash" must be a ${hLen}-byte ${hash} digest, got ${mHash.length} bytes`);
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  if (emLen < hLen + salt.length + 2) throw new RangeError(`a ${modBits}-bit modulus is too short for ${hash} PSS with a ${salt.length}-byte salt`);
  const h = pssHash(crypto, hash, mHash, salt);
  const dbLen = emLen - hLen - 1;
  const db = mgf1(crypto, hash, h, dbLen);
  // DB = PS (zeros) ‖ 0x01 ‖ salt, XORed into the mask in place.
  const sep = dbLen - salt.length - 1;
  db[sep]! ^= 0x01;
  for (let i = 0; i < salt.length; i++) db[sep + 1 + i]! ^= salt[i]!;
  db[0]! &= 0xff >>> (8 * emLen - emBits);
  const em = new Uint8Array(emLen);
  em.set(db);
  em.set(h, dbLen);
  em[emLen - 1] = 0xbc;
  return em;
}

/**
 * Checks EM (the RSA public operation's output, as long as the modulus) against `mHash`.
 * `saltLength` is the expected salt length. Returns false on any mismatch.
 */
export function emsaPssVerify(crypto: CryptoProvider, hash: HashName, mHash: Uint8Array, em: Uint8Array, modBits: number, saltLength: number): boolean {
  const hLen = hashLength(hash);
  if (mHash.length !== hLen) return false;
  const emBits = modBits - 1;
  const emLen = Math.ceil(emBits / 8);
  // The public operation yields as many bytes as the modulus; with emBits % 8 == 0 the first is 0.
  let e = em;
  if (e.length === emLen + 1) {
    if (e[0] !== 0) return false;
    e = e.subarray(1);
  }
  if (e.length !== emLen || emLen < hLen + saltLength + 2 || e[emLen - 1] !== 0xbc) return false;
  const dbLen = emLen - hLen - 1;
  const topMask = 0xff >>> (8 * emLen - emBits);
  if ((e[0]! & ~topMask) !== 0) return false;
  const h = e.subarray(dbLen, dbLen + hLen);
  const db = mgf1(crypto, hash, h, dbLen);
  for (let i = 0; i < dbLen; i++) db[i]! ^= e[i]!;
  db[0]! &= topMask;
  const sep = dbLen - saltLength - 1;
  for (let i = 0; i < sep; i++) if (db[i] !== 0) return false;
  if (db[sep] !== 0x01) return false;
  return bytesEqual(pssHash(crypto, hash, mHash, db.subarray(sep + 1)), h);
}
