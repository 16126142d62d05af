/**
 * An entropy source as the accumulator sees it (the `f_source_ptr` callback of Mbed TLS): called
 * once per gather round with `maxLength` (always {@link ENTROPY_CONSTANTS}.MBEDTLS_ENTROPY_MAX_GATHER,
 * 128), it returns a fresh array of at most `maxLength` bytes (an empty array is allowed and is
 * skipped), or throws to report a failure, which aborts the whole entropy request. The accumulator
 * takes ownership of the returned array and zeroizes it once hashed in.
 *
 * @example
 * const poll: EntropyPoll = (maxLength) => crypto.randomBytes(maxLength);
 */
export type EntropyPoll = (maxLength: number) => Uint8Array;

/** Hash of the entropy accumulator: SHA-512 (Mbed TLS default) or SHA-256 (`MBEDTLS_ENTROPY_FORCE_SHA256`). */
export type EntropyHash = 'sha512' | 'sha256';

/**
 * The Mbed TLS 2.28 entropy constants, under their Mbed TLS names. The block size depends on the
 * accumulator hash: see {@link entropyBlockSize}.
 */
export const ENTROPY_CONSTANTS = Object.freeze({
  /** Max registered sources; also the source id byte of manual input (`MBEDTLS_ENTROPY_SOURCE_MANUAL`). */
  MBEDTLS_ENTROPY_MAX_SOURCES: 20,
  /** Id byte of `update_manual` input and of the NV seed separator. */
  MBEDTLS_ENTROPY_SOURCE_MANUAL: 20,
  /** Bytes offered to every source on every poll. */
  MBEDTLS_ENTROPY_MAX_GATHER: 128,
  /** Max bytes `mbedtls_entropy_update_seed_file` reads. */
  MBEDTLS_ENTROPY_MAX_SEED_SIZE: 1024,
  /** Default threshold of the hardware source (`mbedtls_hardware_poll`). */
  MBEDTLS_ENTROPY_MIN_HARDWARE: 32,
  /** Threshold of the platform (OS) source. */
  MBEDTLS_ENTROPY_MIN_PLATFORM: 32,
  /** Gather-round limit of `mbedtls_entropy_func`: rounds 0..256 run, the 258th attempt fails. */
  ENTROPY_MAX_LOOP: 256,
  /** Block size (= output size of the hash) with SHA-512. */
  MBEDTLS_ENTROPY_BLOCK_SIZE_SHA512: 64,
  /** Block size with SHA-256. */
  MBEDTLS_ENTROPY_BLOCK_SIZE_SHA256: 32,
  /** Strength flags of `mbedtls_entropy_add_source`. */
  MBEDTLS_ENTROPY_SOURCE_STRONG: true,
  MBEDTLS_ENTROPY_SOURCE_WEAK: false,
});

/**
 * `MBEDTLS_ENTROPY_BLOCK_SIZE` for an accumulator hash: the most one entropy call returns, the NV
 * seed size, and the length above which inputs are pre-hashed.
 *
 * @throws {TypeError} for a hash other than sha512/sha256
 * @example
 * entropyBlockSize('sha512'); // 64
 */
export function entropyBlockSize(hash: EntropyHash): number {
  if (hash === 'sha512') return ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_BLOCK_SIZE_SHA512;
  if (hash === 'sha256') return ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_BLOCK_SIZE_SHA256;
  throw new TypeError(`"hash" must be 'sha512' or 'sha256', got ${String(hash)}`);
}
