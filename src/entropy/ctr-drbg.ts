import type { AesEcb, CryptoProvider } from '../crypto/provider.js';
import { MbedtlsError } from './mbedtls-errors.js';
import { checkBytes, checkInteger, DrbgBase, EMPTY, mbedtlsLimits } from './_drbg-common.js';

/**
 * The Mbed TLS 2.28 CTR_DRBG build constants (ctr_drbg.h), under their names, plus the
 * SP 800-90A per-request maximum that applies outside compatibility mode.
 *
 * @example
 * CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_MAX_REQUEST // 1024
 */
export const CTR_DRBG_CONSTANTS = Object.freeze({
  /** Entropy bytes per (re)seed with the default SHA-512 entropy accumulator (32 with SHA-256). */
  MBEDTLS_CTR_DRBG_ENTROPY_LEN: 48,
  /** Generate calls between automatic reseeds. */
  MBEDTLS_CTR_DRBG_RESEED_INTERVAL: 10000,
  /** Additional input bytes per generate call. */
  MBEDTLS_CTR_DRBG_MAX_INPUT: 256,
  /** Output bytes per generate call. */
  MBEDTLS_CTR_DRBG_MAX_REQUEST: 1024,
  /** Entropy + nonce + personalization (or additional input) bytes per (re)seed. */
  MBEDTLS_CTR_DRBG_MAX_SEED_INPUT: 384,
  /** SP 800-90A Table 3 max_number_of_bits_per_request (2^19 bits), in bytes: the limit with `compat: false`. */
  SP800_90A_MAX_REQUEST: 65536,
} as const);

/** Options of {@link CtrDrbg.seed}. */
export interface CtrDrbgOptions {
  /** Supplies AES (keyed AES-ECB). */
  crypto: CryptoProvider;
  /**
   * Returns exactly `length` bytes of entropy, or throws. Called for the entropy input, then
   * separately for the nonce (when the nonce length is not 0), and on every reseed. The DRBG
   * takes the returned array over and zeroizes it once used.
   */
  entropy: (length: number) => Uint8Array;
  /** AES-256 (default, Mbed TLS's default) or AES-128 (`MBEDTLS_CTR_DRBG_USE_128_BIT_KEY`). */
  keyBits?: 256 | 128;
  /** Entropy bytes per (re)seed (`mbedtls_ctr_drbg_set_entropy_len`); default 48. */
  entropyLen?: number;
  /**
   * Nonce bytes requested at seeding, in a second entropy call (`mbedtls_ctr_drbg_set_nonce_len`).
   * Default as Mbed TLS 2.28: 0 when `entropyLen` >= 1.5 x the key size, else `(entropyLen + 1) / 2`
   * rounded down.
   */
  nonceLen?: number;
  /** Personalization string (Mbed TLS's `custom`), default empty. */
  personalization?: Uint8Array;
  /** Generate calls between automatic reseeds; default 10000. */
  reseedInterval?: number;
  /** Reseed before every generate (`MBEDTLS_CTR_DRBG_PR_ON`); default off. */
  predictionResistance?: boolean;
  /**
   * true (default): every Mbed TLS 2.28 limit, with its error. false: the SP 800-90A limits
   * instead — requests up to 64 KiB, inputs up to 2^32 - 1 bytes, entropy at least the key size.
   */
  compat?: boolean;
}

const COMPAT_LIMITS = mbedtlsLimits(
  CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_MAX_REQUEST,
  CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_MAX_INPUT,
  CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_MAX_SEED_INPUT,
);


/**
 * Writes the 16-byte big-endian counter blocks `V+1 … V+count` (mod 2^128) into `out`: the
 * input of one bulk AES-ECB call. Not part of the public API (exported for tests).
 */
export function _fillCounterBlocks(v: Uint8Array, count: number, out: Uint8Array): void {
  const total = count * 16;
  const low = ((v[12]! << 24) | (v[13]! << 16) | (v[14]! << 8) | v[15]!) >>> 0;
  if (low + count <= 0xffffffff) {
    // No carry out of the low 32 bits: the high 96 bits are V's in every block.
    if (count <= 8) {
      for (let o = 0; o < total; o += 16) for (let j = 0; j < 12; j++) out[o + j] = v[j]!;
    } else {
      for (let j = 0; j < 12; j++) out[j] = v[j]!;
      for (let filled = 16; filled < total; ) {
        const n = Math.min(filled, total - filled);
        out.copyWithin(filled, 0, n);
        filled += n;
      }
    }
    for (let o = 12, x = low + 1; o < total; o += 16, x++) {
      out[o] = x >>> 24;
      out[o + 1] = x >>> 16;
      out[o + 2] = x >>> 8;
      out[o + 3] = x;
    }
    return;
  }
  const c = new Uint8Array(16);
  c.set(v.subarray(0, 16));
  for (let o = 0; o < total; o += 16) {
    for (let j = 15; j >= 0; j--) {
      c[j] = c[j]! + 1; // wraps to 0 at 256: carry into the next byte up
      if (c[j] !== 0) break;
    }
    out.set(c, o);
  }
  c.fill(0);
}




/**
 * CTR_DRBG (NIST SP 800-90A §10.2, AES with the derivation function) byte-compatible with Mbed
 * TLS 2.28's `mbedtls_ctr_drbg`: same seeding (entropy, then the nonce in a second request, then
 * the personalization), same reseed schedule, prediction resistance and, in compatibility mode
 * (the default), the same limits and error codes.
 *
 * Each generate call costs one bulk AES-ECB call over all its counter blocks (output and the
 * state update together) and one re-key; the key schedule object lives as long as the key.
 *
 * Errors are {@link MbedtlsError}s: MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED (-0x34),
 * MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG (-0x36), MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG (-0x38); use
 * after {@link CtrDrbg.destroy} throws NvsecError DRBG_DESTROYED.
 *
 * @example
 * const drbg = CtrDrbg.seed({ crypto: nodeCrypto, entropy: (n) => accumulator.entropy(n), personalization: deviceId });
 * const key = drbg.generate(32);
 * drbg.destroy();
 */
export class CtrDrbg extends DrbgBase {
  private readonly crypto: CryptoProvider;
  private readonly keyLen: number;
  private readonly seedLen: number;
  private readonly entropyLen: number;
  /** AES keyed with the current Key. */
  private ecb: AesEcb | null;
  /** AES keyed with the derivation function's fixed key 00 01 02 …: set up once. */
  private dfEcb: AesEcb | null;
  private readonly v = new Uint8Array(16);
  /** Counter-block working buffer, reused (zeroized after each use) and grown on demand. */
  private ctr = new Uint8Array(0);

  private constructor(options: CtrDrbgOptions) {
    super('CTR_DRBG', options, COMPAT_LIMITS, CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_RESEED_INTERVAL);
    const { crypto } = options;
    if (typeof crypto !== 'object' || crypto === null || typeof crypto.aesEcb !== 'function') {
      throw new TypeError('"crypto" must be a CryptoProvider');
    }
    const keyBits = options.keyBits ?? 256;
    if (keyBits !== 256 && keyBits !== 128) throw new RangeError(`"keyBits" must be 256 or 128, got ${String(keyBits)}`);
    const compat = options.compat ?? true;
    this.crypto = crypto;
    this.keyLen = keyBits / 8;
    this.seedLen = this.keyLen + 16;
    this.entropyLen = checkInteger(options.entropyLen ?? CTR_DRBG_CONSTANTS.MBEDTLS_CTR_DRBG_ENTROPY_LEN, 'entropyLen', 1);
    if (!compat && this.entropyLen < this.keyLen) {
      throw new RangeError(
        `"entropyLen" must be at least ${this.keyLen} bytes (the security strength of AES-${keyBits}, SP 800-90A) without compat, got ${this.entropyLen}`,
      );
    }
    this.ecb = crypto.aesEcb(new Uint8Array(this.keyLen)); // Key = 0 before the first update
    this.dfEcb = crypto.aesEcb(Uint8Array.from({ length: this.keyLen }, (_, i) => i));
  }

  /**
   * Instantiates a CTR_DRBG (`mbedtls_ctr_drbg_seed`): takes `entropyLen` bytes of entropy, then
   * the nonce in a separate request, appends the personalization and seeds through the
   * derivation function.
   *
   * @throws {MbedtlsError} MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED when the entropy callback
   *   throws (the original error is the `cause`) or returns the wrong length;
   *   MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG when entropy + nonce + personalization exceed 384 bytes
   *   (compat) or 2^32 - 1 bytes
   * @throws {RangeError} / {TypeError} on bad option values
   * @example
   * const drbg = CtrDrbg.seed({ crypto: nodeCrypto, entropy: (n) => nodeCrypto.randomBytes(n), entropyLen: 32, nonceLen: 16 });
   */
  static seed(options: CtrDrbgOptions): CtrDrbg {
    const drbg = new CtrDrbg(options);
    try {
      const personalization = checkBytes(options.personalization ?? EMPTY, 'personalization');
      let nonceLen: number;
      if (options.nonceLen !== undefined) {
        nonceLen = checkInteger(options.nonceLen, 'nonceLen', 0);
        if (nonceLen > drbg.limits.maxSeedInput) {
          throw new MbedtlsError(
            'MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG',
            `CTR_DRBG nonce length ${nonceLen} exceeds the ${drbg.limits.maxSeedInput}-byte seed input limit: use a shorter nonce`,
          );
        }
      } else {
        nonceLen = drbg.entropyLen >= (drbg.keyLen * 3) / 2 ? 0 : (drbg.entropyLen + 1) >>> 1;
      }
      drbg.reseedCore(personalization, nonceLen, 'seeding');
      return drbg;
    } catch (e) {
      drbg.destroy();
      throw e;
    }
  }

  /**
   * `length` pseudo-random bytes (`mbedtls_ctr_drbg_random_with_add`). Reseeds first when the
   * reseed interval has passed or prediction resistance is on (then `additional` goes into the
   * reseed instead).
   *
   * @param length 0 to 1024 bytes (compat), up to 65536 otherwise
   * @param additional optional additional input, up to 256 bytes (compat)
   * @returns `length` bytes, in a buffer of their own (a view of the cipher's fresh output; the
   *   bytes after it are zero)
   * @throws {MbedtlsError} MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG, MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG,
   *   MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED (from a reseed)
   * @throws {NvsecError} DRBG_DESTROYED after {@link CtrDrbg.destroy}
   * @example
   * const iv = drbg.generate(16, new TextEncoder().encode('session 42'));
   */
  generate(length: number, additional: Uint8Array = EMPTY): Uint8Array {
    const add = this.beginGenerate(length, additional);
    let a: Uint8Array | null = null;
    if (add.length > 0) {
      a = this.df(add);
      this.update(a);
    }
    const outBlocks = Math.ceil(length / 16);
    const ks = this.keystream(outBlocks + this.seedLen / 16);
    const t = ks.subarray(outBlocks * 16, outBlocks * 16 + this.seedLen);
    if (a) {
      for (let i = 0; i < t.length; i++) t[i]! ^= a[i]!;
      a.fill(0);
    }
    this.rekey(t);
    // The output is a view of the cipher's fresh result (no copy); what follows it there (the
    // unused end of the last block, the next Key and V) is zeroized.
    ks.fill(0, length);
    this.reseedCounter++;
    return ks.subarray(0, length);
  }

  /**
   * Zeroizes the state (V, the working buffers), drops the AES keys and the entropy callback; any
   * later call throws NvsecError DRBG_DESTROYED. Calling it again does nothing.
   * @example
   * drbg.destroy();
   */
  destroy(): void {
    this.ecb?.destroy();
    this.dfEcb?.destroy();
    this.ecb = this.dfEcb = null;
    this.forgetSchedule();
    this.v.fill(0);
    this.ctr.fill(0);
    this.ctr = new Uint8Array(0);
  }

  protected alive(): AesEcb {
    if (this.ecb === null) throw this.destroyedError();
    return this.ecb;
  }

  private tooBig(what: string, length: number, limit: number): MbedtlsError {
    return new MbedtlsError(
      'MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG',
      `CTR_DRBG ${what} of ${length} bytes exceeds the ${Math.max(limit, 0)} bytes left of the ${this.limits.maxSeedInput}-byte seed input: shorten it`,
    );
  }

  /** Reseed core of Mbed TLS (`mbedtls_ctr_drbg_reseed_internal`): entropy ‖ nonce ‖ extra → df → Update. */
  protected reseedCore(extra: Uint8Array, nonceLen: number, when: 'seeding' | 'reseeding'): void {
    const max = this.limits.maxSeedInput;
    const el = this.entropyLen;
    if (el > max) throw this.tooBig('entropy length', el, max);
    if (nonceLen > max - el) throw this.tooBig('nonce length', nonceLen, max - el);
    if (extra.length > max - el - nonceLen) throw this.tooBig(when === 'seeding' ? 'personalization' : 'additional input', extra.length, max - el - nonceLen);
    const material = new Uint8Array(el + nonceLen + extra.length);
    try {
      this.gather(material, 0, el, when, 'entropy');
      if (nonceLen > 0) this.gather(material, el, nonceLen, when, 'nonce');
      material.set(extra, el + nonceLen);
      const seed = this.df(material);
      this.update(seed);
      seed.fill(0);
    } finally {
      material.fill(0);
    }
    this.reseedCounter = 1;
  }

  /**
   * Block_Cipher_df (SP 800-90A §10.3.2) → seedLen bytes. The BCC chains of the seedLen/16 output
   * blocks run side by side, so the reduction costs one ECB call per 16 bytes of S (plus one),
   * each over all the chains.
   */
  private df(input: Uint8Array): Uint8Array {
    const dfEcb = this.dfEcb;
    if (dfEcb === null) throw this.destroyedError();
    if (input.length > this.limits.maxSeedInput) throw this.tooBig('derivation function input', input.length, this.limits.maxSeedInput);
    const chains = this.seedLen / 16;
    const sLen = Math.ceil((8 + input.length + 1) / 16) * 16;
    const s = new Uint8Array(sLen);
    const sv = new DataView(s.buffer);
    sv.setUint32(0, input.length);
    sv.setUint32(4, this.seedLen);
    s.set(input, 8);
    s[8 + input.length] = 0x80;
    // First block of every chain: AES(IV_i) with IV_i = BE32(i) ‖ 0^12.
    const x = new Uint8Array(chains * 16);
    for (let i = 0; i < chains; i++) x[i * 16 + 3] = i;
    let chain = dfEcb.encrypt(x);
    for (let off = 0; off < sLen; off += 16) {
      for (let i = 0; i < chains; i++) {
        const c = i * 16;
        for (let j = 0; j < 16; j++) x[c + j] = chain[c + j]! ^ s[off + j]!;
      }
      chain.fill(0);
      chain = dfEcb.encrypt(x);
    }
    s.fill(0);
    x.fill(0);
    // Key' = first keyLen bytes, X = next 16; output X = AES_Key'(X), seedLen/16 times.
    const k = this.crypto.aesEcb(chain.subarray(0, this.keyLen));
    const out = new Uint8Array(this.seedLen);
    try {
      let block = chain.subarray(this.keyLen, this.keyLen + 16);
      for (let off = 0; off < this.seedLen; off += 16) {
        const next = k.encrypt(block);
        block.fill(0);
        out.set(next, off);
        block = next;
      }
      block.fill(0);
    } finally {
      k.destroy();
      chain.fill(0);
    }
    return out;
  }

  /** AES_Key(V+1 … V+count) in one ECB call (V itself is not advanced: every caller replaces it). */
  private keystream(count: number): Uint8Array {
    const ecb = this.alive();
    const bytes = count * 16;
    if (this.ctr.length < bytes) {
      this.ctr.fill(0);
      this.ctr = new Uint8Array(Math.max(bytes, 256));
    }
    const ctr = this.ctr;
    _fillCounterBlocks(this.v, count, ctr);
    const ks = ecb.encrypt(bytes === ctr.length ? ctr : ctr.subarray(0, bytes));
    ctr.fill(0, 0, bytes);
    return ks;
  }

  /** CTR_DRBG_Update (SP 800-90A §10.2.1.2) with `data` of seedLen bytes. */
  private update(data: Uint8Array): void {
    const t = this.keystream(this.seedLen / 16);
    for (let i = 0; i < t.length; i++) t[i]! ^= data[i]!;
    this.rekey(t);
    t.fill(0);
  }

  /** Key = t[0:keyLen], V = t[keyLen:seedLen]; a new key schedule for the new key. */
  private rekey(t: Uint8Array): void {
    const next = this.crypto.aesEcb(t.subarray(0, this.keyLen));
    this.alive().destroy();
    this.ecb = next;
    this.v.set(t.subarray(this.keyLen, this.seedLen));
  }
}
