import type { CryptoProvider } from './provider.js';

/** Doubling in GF(2^128) as CMAC's subkey derivation uses it (NIST SP 800-38B §6.1). */
function double(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = ((block[i]! << 1) | (i < 15 ? block[i + 1]! >>> 7 : 0)) & 0xff;
  if (block[0]! & 0x80) out[15]! ^= 0x87;
  return out;
}

/**
 * AES-CMAC (NIST SP 800-38B, RFC 4493) of `data` under a 16-, 24- or 32-byte `key`, composed from
 * the provider's AES block cipher (node:crypto has no CMAC). Returns the full 16-byte tag.
 *
 * @throws {RangeError} for a key that is not an AES key length
 * @example
 * const tag = aesCmac(nodeCrypto, key, message); // 16 bytes
 */
export function aesCmac(crypto: CryptoProvider, key: Uint8Array, data: Uint8Array): Uint8Array {
  const aes = crypto.aesEcb(key);
  try {
    const l = aes.encrypt(new Uint8Array(16));
    const k1 = double(l);
    const k2 = double(k1);
    const blocks = Math.max(1, Math.ceil(data.length / 16));
    const complete = data.length > 0 && data.length % 16 === 0;
    const last = new Uint8Array(16);
    last.set(data.subarray((blocks - 1) * 16));
    if (!complete) last[data.length - (blocks - 1) * 16] = 0x80;
    const sub = complete ? k1 : k2;
    for (let i = 0; i < 16; i++) last[i]! ^= sub[i]!;
    let x: Uint8Array = new Uint8Array(16);
    for (let b = 0; b < blocks - 1; b++) {
      for (let i = 0; i < 16; i++) x[i]! ^= data[b * 16 + i]!;
      x = aes.encrypt(x);
    }
    for (let i = 0; i < 16; i++) x[i]! ^= last[i]!;
    const tag = aes.encrypt(x);
    for (const t of [l, k1, k2, last, x]) t.fill(0);
    return tag;
  } finally {
    aes.destroy();
  }
}
