import * as crypto from 'node:crypto';
import { type AesEcb, type CryptoProvider, type DigestName, type HashName, type HmacKey, hashLength, type IncrementalHash } from '../crypto/provider.js';
import type { PublicKey } from '../crypto/public-key.js';
import { rsaModulusBits } from '../crypto/public-key.js';
import { emsaPssVerify } from '../crypto/rsa-pss.js';
import { NvsecError } from '../errors/nvsec-error.js';

const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

/**
 * ECB is stateless from block to block, so one OpenSSL context per direction serves every call
 * (update() only, never final()): no cipher object per call. Each context is set up on first use
 * (from a copy of the key, zeroized once both exist, or by destroy()): CTR-style callers re-key
 * often and only encrypt, and callers that re-key per block (ESP32 flash encryption) use one
 * direction only, so a key costs one OpenSSL key setup, not two.
 */
function aesEcb(key: Uint8Array): AesEcb {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new RangeError(`"key" must be 16, 24 or 32 bytes, got ${key.length}`);
  const algorithm = `aes-${key.length * 8}-ecb`;
  let enc: crypto.Cipher | null = null;
  let dec: crypto.Decipher | null = null;
  let k: Uint8Array | null = new Uint8Array(key); // a copy, also for a Buffer
  let destroyed = false;
  const blocks = (data: Uint8Array): void => {
    if (data.length % 16 !== 0) throw new RangeError(`"data" must be whole 16-byte blocks, got ${data.length} bytes`);
  };
  const gone = (): never => {
    throw new NvsecError('CRYPTO_KEY_DESTROYED', 'This AES key was destroyed: set up the cipher again');
  };
  const keyOnce = (): Uint8Array => {
    if (destroyed || k === null) return gone();
    return k;
  };
  const dropKeyIfDone = (): void => {
    if (enc !== null && dec !== null && k !== null) {
      k.fill(0);
      k = null;
    }
  };
  return {
    encrypt: (data) => {
      blocks(data);
      if (destroyed) gone();
      if (enc === null) {
        enc = crypto.createCipheriv(algorithm, keyOnce(), null).setAutoPadding(false);
        dropKeyIfDone();
      }
      return u8(enc.update(data));
    },
    decrypt: (data) => {
      blocks(data);
      if (destroyed) gone();
      if (dec === null) {
        dec = crypto.createDecipheriv(algorithm, keyOnce(), null).setAutoPadding(false);
        dropKeyIfDone();
      }
      return u8(dec.update(data));
    },
    destroy: () => {
      k?.fill(0);
      k = null;
      destroyed = true;
      enc = null;
      dec = null;
    },
  };
}

const HASH_BLOCK: Readonly<Record<HashName, number>> = { sha1: 64, sha224: 64, sha256: 64, sha384: 128, sha512: 128 };
/** OpenSSL's one-shot digest (Node >= 20.12), asked for a latin1 string: no hash object, no Buffer per call. */
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'binary') => string }).hash;
/**
 * Padded key ‖ message of every keyed HMAC: calls are synchronous, so one buffer serves them all;
 * zeroized after each message. Longer messages get a buffer of their own.
 */
let hmacScratch = new Uint8Array(1024);
const HMAC_SCRATCH_MAX = 16384;

/**
 * Keyed HMAC for long chains of short messages (HMAC_DRBG). `createHmac` costs an object, a key
 * setup and an output Buffer per message; with the one-shot digest available, the RFC 2104
 * construction runs over it instead, with the padded keys prepared once: two OpenSSL digests per
 * message, digests returned as latin1 strings (short-lived; JS cannot zeroize those) and copied
 * into the zeroized scratch buffer and a new output array. Otherwise plain `createHmac`.
 */
function hmacKey(hash: HashName, key: Uint8Array): HmacKey {
  const block = Object.hasOwn(HASH_BLOCK, hash) ? HASH_BLOCK[hash] : undefined;
  if (block === undefined) throw new RangeError(`"hash" must be one of ${Object.keys(HASH_BLOCK).join(', ')}, got ${String(hash)}`);
  const gone = (): never => {
    throw new NvsecError('CRYPTO_KEY_DESTROYED', 'This HMAC key was destroyed: set it up again');
  };
  if (oneShot === undefined) {
    let k: Uint8Array | null = new Uint8Array(key);
    return {
      mac: (...parts) => {
        const h = crypto.createHmac(hash, k ?? gone());
        for (const p of parts) h.update(p);
        return u8(h.digest());
      },
      destroy: () => {
        k?.fill(0);
        k = null;
      },
    };
  }
  const hashOnce = oneShot;
  const k = key.length > block ? u8(crypto.createHash(hash).update(key).digest()) : key;
  let ipad: Uint8Array | null = new Uint8Array(block);
  let opad: Uint8Array | null = new Uint8Array(block);
  for (let i = 0; i < k.length; i++) {
    ipad[i] = k[i]!;
    opad[i] = k[i]!;
  }
  for (let i = 0; i < block; i++) {
    ipad[i]! ^= 0x36;
    opad[i]! ^= 0x5c;
  }
  if (k !== key) k.fill(0);
  return {
    mac: (...parts) => {
      if (ipad === null || opad === null) return gone();
      let n = block;
      for (const p of parts) n += p.length;
      let buf = hmacScratch;
      if (n + 64 > buf.length) {
        buf = new Uint8Array(n + 64);
        if (buf.length <= HMAC_SCRATCH_MAX) hmacScratch = buf;
      }
      buf.set(ipad);
      let o = block;
      for (const p of parts) {
        buf.set(p, o);
        o += p.length;
      }
      const inner = hashOnce(hash, buf.subarray(0, n), 'binary');
      buf.set(opad);
      for (let i = 0; i < inner.length; i++) buf[block + i] = inner.charCodeAt(i);
      const t = hashOnce(hash, buf.subarray(0, block + inner.length), 'binary');
      buf.fill(0, 0, Math.max(n, block + inner.length));
      const tag = new Uint8Array(t.length);
      for (let i = 0; i < t.length; i++) tag[i] = t.charCodeAt(i);
      return tag;
    },
    destroy: () => {
      ipad?.fill(0);
      opad?.fill(0);
      ipad = opad = null;
    },
  };
}

const b64url = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64url');

/**
 * RSA-PSS over a precomputed digest: OpenSSL's raw public operation, then the EMSA-PSS check
 * (node:crypto's verify() always hashes the message itself). ECDSA by @noble/curves, for the same
 * reason.
 */
async function verifyDigest(key: PublicKey, hash: HashName, digest: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (digest.length !== hashLength(hash)) return false;
  // Loaded on first use: commands that never check an ECDSA signature do not pay for the curve code.
  if (key.kind === 'ec') return (await import('../crypto/ecdsa.js')).ecdsaVerifyDigest(key, digest, signature);
  const bits = rsaModulusBits(key.n);
  if (bits < 1024 || signature.length !== Math.ceil(bits / 8)) return false;
  let em: Uint8Array;
  try {
    const pub = crypto.createPublicKey({ key: { kty: 'RSA', n: b64url(key.n), e: b64url(key.e) }, format: 'jwk' });
    em = u8(crypto.publicDecrypt({ key: pub, padding: crypto.constants.RSA_NO_PADDING }, signature));
  } catch {
    return false; // signature not below the modulus, or an unusable key
  }
  return emsaPssVerify(nodeCrypto, hash, digest, em, bits, digest.length);
}

/** See {@link CryptoProvider.aesEcbPerSpan}: a cipher object per span straight on node:crypto, no per-key wrapper. */
function aesEcbPerSpan(keys: Uint8Array, keyLength: 16 | 24 | 32, spans: Uint32Array, data: Uint8Array, direction: 'encrypt' | 'decrypt'): Uint8Array {
  if (keyLength !== 16 && keyLength !== 24 && keyLength !== 32) throw new RangeError(`"keyLength" must be 16, 24 or 32, got ${String(keyLength)}`);
  const n = spans.length >>> 1;
  if (spans.length % 2 !== 0 || keys.length !== n * keyLength) throw new RangeError(`${n} spans need ${n * keyLength} key bytes, got ${keys.length}`);
  const algorithm = `aes-${keyLength * 8}-ecb`;
  const make = direction === 'encrypt' ? crypto.createCipheriv : crypto.createDecipheriv;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < n; i++) {
    const from = spans[2 * i]!;
    const to = spans[2 * i + 1]!;
    if (to < from || to > data.length || (to - from) % 16 !== 0) throw new RangeError(`span ${i} [${from}, ${to}) is not whole blocks inside the data`);
    const c = make(algorithm, keys.subarray(i * keyLength, (i + 1) * keyLength), null).setAutoPadding(false);
    const y = c.update(data.subarray(from, to));
    out.set(y, from);
    y.fill(0);
  }
  return out;
}

/** {@link CryptoProvider} over node:crypto (OpenSSL). */
export const nodeCrypto: CryptoProvider = Object.freeze({
  randomBytes: (length: number) => u8(crypto.randomBytes(length)),
  digest: (hash: DigestName, data: Uint8Array) => u8(crypto.createHash(hash).update(data).digest()),
  hash: (hash: HashName): IncrementalHash => {
    const h = crypto.createHash(hash);
    return {
      update: (data) => void h.update(data),
      digest: () => u8(h.digest()),
    };
  },
  hmac: (hash: HashName, key: Uint8Array, data: Uint8Array) => u8(crypto.createHmac(hash, key).update(data).digest()),
  hmacKey,
  pbkdf2: (hash: HashName, password: Uint8Array, salt: Uint8Array, iterations: number, length: number) =>
    u8(crypto.pbkdf2Sync(password, salt, iterations, length, hash)),
  aesEcb,
  aesEcbPerSpan,
  verifyDigest,
});
