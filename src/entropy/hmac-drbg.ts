import { type CryptoProvider, type HashName, type HmacKey, hashLength } from '../crypto/provider.js';
import { MbedtlsError } from './mbedtls-errors.js';
import { checkBytes, checkInteger, DrbgBase, EMPTY, mbedtlsLimits } from './_drbg-common.js';

/**
 * The Mbed TLS 2.28 HMAC_DRBG build constants (hmac_drbg.h), under their names, plus the
 * SP 800-90A per-request maximum that applies outside compatibility mode.
 *
 * @example
 * HMAC_DRBG_CONSTANTS.MBEDTLS_HMAC_DRBG_MAX_REQUEST // 1024
 */
export const HMAC_DRBG_CONSTANTS = Object.freeze({
  /** Generate calls between automatic reseeds. */
  MBEDTLS_HMAC_DRBG_RESEED_INTERVAL: 10000,
  /** Additional input (and personalization) bytes per call. */
  MBEDTLS_HMAC_DRBG_MAX_INPUT: 256,
  /** Output bytes per generate call. */
  MBEDTLS_HMAC_DRBG_MAX_REQUEST: 1024,
  /** Entropy + nonce + personalization (or additional input) bytes per (re)seed. */
  MBEDTLS_HMAC_DRBG_MAX_SEED_INPUT: 384,
  /** SP 800-90A Table 2 max_number_of_bits_per_request (2^19 bits), in bytes: the limit with `compat: false`. */
  SP800_90A_MAX_REQUEST: 65536,
} as const);

/** Digest length of each hash HMAC_DRBG can run on. */

/** Options of {@link HmacDrbg.seed}. */
export interface HmacDrbgOptions {
  /** Supplies HMAC (keyed HMAC objects). */
  crypto: CryptoProvider;
  /** The hash of the HMAC: 'sha1', 'sha224', 'sha256', 'sha384' or 'sha512'. */
  hash: HashName;
  /**
   * Returns exactly `length` bytes of entropy, or throws. Called for the entropy input, then
   * separately for the nonce, and on every reseed. The DRBG takes the returned array over and
   * zeroizes it once used.
   */
  entropy: (length: number) => Uint8Array;
  /**
   * Entropy bytes per (re)seed (`mbedtls_hmac_drbg_set_entropy_len`); default as Mbed TLS: the
   * hash's security strength, 16 for SHA-1, 24 for SHA-224, 32 for the others.
   */
  entropyLen?: number;
  /** Nonce bytes requested at seeding in a second entropy call; default (as Mbed TLS) `entropyLen / 2` rounded down. */
  nonceLen?: number;
  /** Personalization string (Mbed TLS's `custom`), default empty; at most 256 bytes (compat). */
  personalization?: Uint8Array;
  /** Generate calls between automatic reseeds; default 10000. */
  reseedInterval?: number;
  /** Reseed before every generate (`MBEDTLS_HMAC_DRBG_PR_ON`); default off. */
  predictionResistance?: boolean;
  /**
   * true (default): every Mbed TLS 2.28 limit, with its error. false: the SP 800-90A limits
   * instead — requests up to 64 KiB, inputs up to 2^32 - 1 bytes, entropy at least the security strength.
   */
  compat?: boolean;
}

const COMPAT_LIMITS = mbedtlsLimits(
  HMAC_DRBG_CONSTANTS.MBEDTLS_HMAC_DRBG_MAX_REQUEST,
  HMAC_DRBG_CONSTANTS.MBEDTLS_HMAC_DRBG_MAX_INPUT,
  HMAC_DRBG_CONSTANTS.MBEDTLS_HMAC_DRBG_MAX_SEED_INPUT,
);

const SEP = [Uint8Array.of(0), Uint8Array.of(1)] as const;




/**
 * HMAC_DRBG (NIST SP 800-90A §10.1.2) byte-compatible with Mbed TLS 2.28's `mbedtls_hmac_drbg`
 * over SHA-1/224/256/384/512: same seeding (entropy, then the nonce in a second request, then the
 * personalization), reseed schedule, prediction resistance and, in compatibility mode (the
 * default), the same limits and error codes.
 *
 * The key lives in one keyed HMAC object from the provider, replaced at every update: generating
 * costs one HMAC per digest-length block, without per-block key setup.
 *
 * Errors are {@link MbedtlsError}s: MBEDTLS_ERR_HMAC_DRBG_REQUEST_TOO_BIG (-0x3),
 * MBEDTLS_ERR_HMAC_DRBG_INPUT_TOO_BIG (-0x5), MBEDTLS_ERR_HMAC_DRBG_ENTROPY_SOURCE_FAILED (-0x9);
 * use after {@link HmacDrbg.destroy} throws NvsecError DRBG_DESTROYED.
 *
 * @example
 * const drbg = HmacDrbg.seed({ crypto: nodeCrypto, hash: 'sha256', entropy: (n) => accumulator.entropy(n) });
 * const nonce = drbg.generate(32);
 * drbg.destroy();
 */
export class HmacDrbg extends DrbgBase {
  private readonly crypto: CryptoProvider;
  private readonly hash: HashName;
  private readonly mdLen: number;
  private readonly entropyLen: number;
  /** HMAC keyed with the current K. */
  private key: HmacKey | null;
  private v: Uint8Array;

  private constructor(options: HmacDrbgOptions) {
    super('HMAC_DRBG', options, COMPAT_LIMITS, HMAC_DRBG_CONSTANTS.MBEDTLS_HMAC_DRBG_RESEED_INTERVAL);
    const { crypto, hash } = options;
    if (typeof crypto !== 'object' || crypto === null || typeof crypto.hmacKey !== 'function') {
      throw new TypeError('"crypto" must be a CryptoProvider');
    }
    const mdLen = hashLength(hash);
    const compat = options.compat ?? true;
    this.crypto = crypto;
    this.hash = hash;
    this.mdLen = mdLen;
    const strength = mdLen <= 20 ? 16 : mdLen <= 28 ? 24 : 32;
    this.entropyLen = checkInteger(options.entropyLen ?? strength, 'entropyLen', 1);
    if (!compat && this.entropyLen < strength) {
      throw new RangeError(
        `"entropyLen" must be at least ${strength} bytes (the security strength of HMAC-${hash}, SP 800-90A) without compat, got ${this.entropyLen}`,
      );
    }
    const k = new Uint8Array(mdLen); // K = 0x00…, V = 0x01…
    this.key = crypto.hmacKey(hash, k);
    this.v = new Uint8Array(mdLen).fill(1);
  }

  /**
   * Instantiates an HMAC_DRBG (`mbedtls_hmac_drbg_seed`): takes `entropyLen` bytes of entropy,
   * then the nonce in a separate request, appends the personalization and updates the state.
   *
   * @throws {MbedtlsError} MBEDTLS_ERR_HMAC_DRBG_ENTROPY_SOURCE_FAILED when the entropy callback
   *   throws (the original error is the `cause`) or returns the wrong length;
   *   MBEDTLS_ERR_HMAC_DRBG_INPUT_TOO_BIG when the personalization exceeds 256 bytes or entropy +
   *   nonce + personalization exceed 384 bytes (compat)
   * @throws {RangeError} / {TypeError} on bad option values
   * @example
   * const drbg = HmacDrbg.seed({ crypto: nodeCrypto, hash: 'sha512', entropy: (n) => nodeCrypto.randomBytes(n) });
   */
  static seed(options: HmacDrbgOptions): HmacDrbg {
    const drbg = new HmacDrbg(options);
    try {
      const personalization = checkBytes(options.personalization ?? EMPTY, 'personalization');
      const nonceLen = options.nonceLen === undefined ? drbg.entropyLen >>> 1 : checkInteger(options.nonceLen, 'nonceLen', 0);
      drbg.reseedCore(personalization, nonceLen, 'seeding');
      return drbg;
    } catch (e) {
      drbg.destroy();
      throw e;
    }
  }

  /**
   * `length` pseudo-random bytes (`mbedtls_hmac_drbg_random_with_add`). Reseeds first when the
   * reseed interval has passed or prediction resistance is on (then `additional` goes into the
   * reseed instead).
   *
   * @param length 0 to 1024 bytes (compat), up to 65536 otherwise
   * @param additional optional additional input, up to 256 bytes (compat)
   * @returns a new array of `length` bytes
   * @throws {MbedtlsError} MBEDTLS_ERR_HMAC_DRBG_REQUEST_TOO_BIG, MBEDTLS_ERR_HMAC_DRBG_INPUT_TOO_BIG,
   *   MBEDTLS_ERR_HMAC_DRBG_ENTROPY_SOURCE_FAILED (from a reseed)
   * @throws {NvsecError} DRBG_DESTROYED after {@link HmacDrbg.destroy}
   * @example
   * const k = drbg.generate(48, new TextEncoder().encode('ecdsa nonce'));
   */
  generate(length: number, additional: Uint8Array = EMPTY): Uint8Array {
    const add = this.beginGenerate(length, additional);
    if (add.length > 0) this.update(add);
    const out = new Uint8Array(length);
    const key = this.alive();
    let v = this.v;
    for (let off = 0; off < length; off += this.mdLen) {
      const next = key.mac(v);
      v.fill(0);
      v = next;
      out.set(length - off >= next.length ? next : next.subarray(0, length - off), off);
    }
    this.v = v;
    this.update(add);
    this.reseedCounter++;
    return out;
  }

  /**
   * Zeroizes V, drops the HMAC key (zeroized by the provider) and the entropy callback; any later
   * call throws NvsecError DRBG_DESTROYED. Calling it again does nothing.
   * @example
   * drbg.destroy();
   */
  destroy(): void {
    this.key?.destroy();
    this.key = null;
    this.forgetSchedule();
    this.v.fill(0);
  }

  protected alive(): HmacKey {
    if (this.key === null) throw this.destroyedError();
    return this.key;
  }

  private tooBig(what: string, length: number, limit: number): MbedtlsError {
    return new MbedtlsError(
      'MBEDTLS_ERR_HMAC_DRBG_INPUT_TOO_BIG',
      `HMAC_DRBG ${what} of ${length} bytes exceeds the ${Math.max(limit, 0)}-byte limit: shorten it`,
    );
  }

  /** Reseed core of Mbed TLS (`hmac_drbg_reseed_core`): Update(entropy ‖ nonce ‖ extra). */
  protected reseedCore(extra: Uint8Array, nonceLen: number, when: 'seeding' | 'reseeding'): void {
    const { maxInput, maxSeedInput } = this.limits;
    const what = when === 'seeding' ? 'personalization' : 'additional input';
    const el = this.entropyLen;
    if (extra.length > maxInput) throw this.tooBig(what, extra.length, maxInput);
    if (el + nonceLen + extra.length > maxSeedInput) {
      throw this.tooBig(`seed material (${el} entropy + ${nonceLen} nonce + ${extra.length} ${what})`, el + nonceLen + extra.length, maxSeedInput);
    }
    const material = new Uint8Array(el + nonceLen + extra.length);
    try {
      this.gather(material, 0, el, when, 'entropy');
      if (nonceLen > 0) this.gather(material, el, nonceLen, when, 'nonce');
      material.set(extra, el + nonceLen);
      this.update(material);
    } finally {
      material.fill(0);
    }
    this.reseedCounter = 1;
  }

  /** HMAC_DRBG_Update (SP 800-90A §10.1.2.2): two rounds with data, one without. */
  private update(data: Uint8Array): void {
    const rounds = data.length > 0 ? 2 : 1;
    for (let r = 0; r < rounds; r++) {
      const k = rounds === 2 ? this.alive().mac(this.v, SEP[r]!, data) : this.alive().mac(this.v, SEP[0]);
      const next = this.crypto.hmacKey(this.hash, k);
      k.fill(0);
      this.alive().destroy();
      this.key = next;
      const v = next.mac(this.v);
      this.v.fill(0);
      this.v = v;
    }
  }
}
