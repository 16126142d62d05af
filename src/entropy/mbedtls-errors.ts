import { NvsecError } from '../errors/nvsec-error.js';

/**
 * The Mbed TLS 2.28 error codes of the entropy collector, CTR_DRBG and HMAC_DRBG, under the
 * names Mbed TLS uses (grep for them in its headers: entropy.h, ctr_drbg.h, hmac_drbg.h). Values
 * are the library's negative `int` return codes.
 *
 * @example
 * MBEDTLS_ERR.MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG === -0x0036 // -54
 */
export const MBEDTLS_ERR = Object.freeze({
  /** Critical entropy source failure (also: request longer than the block size, gather loop limit, NV seed read). */
  MBEDTLS_ERR_ENTROPY_SOURCE_FAILED: -0x003c,
  /** No strong source was registered when a gather round ran. */
  MBEDTLS_ERR_ENTROPY_NO_STRONG_SOURCE: -0x003d,
  /** No more sources can be added (20 are registered). */
  MBEDTLS_ERR_ENTROPY_MAX_SOURCES: -0x003e,
  /** Read/write error in a seed file (and a failed NV seed write). */
  MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR: -0x003f,
  /** No sources have been added to poll. */
  MBEDTLS_ERR_ENTROPY_NO_SOURCES_DEFINED: -0x0040,

  /** The entropy source failed while the CTR_DRBG was (re)seeding. */
  MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED: -0x0034,
  /** The requested random buffer length is too big (more than 1024 bytes per call). */
  MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG: -0x0036,
  /** The input (additional data, personalization, seed material) is too big. */
  MBEDTLS_ERR_CTR_DRBG_INPUT_TOO_BIG: -0x0038,
  /** Read or write error in a CTR_DRBG seed file. */
  MBEDTLS_ERR_CTR_DRBG_FILE_IO_ERROR: -0x003a,

  /** Too many random bytes requested in one call (more than 1024). */
  MBEDTLS_ERR_HMAC_DRBG_REQUEST_TOO_BIG: -0x0003,
  /** Input (additional data, personalization, seed material) too large. */
  MBEDTLS_ERR_HMAC_DRBG_INPUT_TOO_BIG: -0x0005,
  /** Read or write error in an HMAC_DRBG seed file. */
  MBEDTLS_ERR_HMAC_DRBG_FILE_IO_ERROR: -0x0007,
  /** The entropy source failed while the HMAC_DRBG was (re)seeding. */
  MBEDTLS_ERR_HMAC_DRBG_ENTROPY_SOURCE_FAILED: -0x0009,
} as const);

/** One of the names of {@link MBEDTLS_ERR}. */
export type MbedtlsErrorName = keyof typeof MBEDTLS_ERR;

/**
 * The Mbed TLS name of a return code of {@link MBEDTLS_ERR}, or undefined for any other number
 * (0 included).
 *
 * @example
 * mbedtlsErrorName(-52) // 'MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED'
 */
export function mbedtlsErrorName(ret: number): MbedtlsErrorName | undefined {
  for (const name of Object.keys(MBEDTLS_ERR) as MbedtlsErrorName[]) if (MBEDTLS_ERR[name] === ret) return name;
  return undefined;
}

/**
 * An error of the entropy module that Mbed TLS would report with a return code: `code` is the
 * Mbed TLS name (`MBEDTLS_ERR_CTR_DRBG_REQUEST_TOO_BIG`), `ret` its negative integer (-0x0036), so
 * results can be compared with the C library's.
 *
 * @throws {RangeError} from the constructor when `name` is not in {@link MBEDTLS_ERR}
 * @example
 * throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', 'The NV seed is shorter than 64 bytes: provision a new seed');
 * // e.code === 'MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', e.ret === -0x3c
 */
export class MbedtlsError extends NvsecError {
  /** The Mbed TLS return code (negative). */
  readonly ret: number;
  declare readonly code: MbedtlsErrorName;

  constructor(name: MbedtlsErrorName, message: string, options: { cause?: unknown } = {}) {
    const ret = MBEDTLS_ERR[name] as number | undefined;
    if (ret === undefined) throw new RangeError(`"name" must be an Mbed TLS error name of MBEDTLS_ERR, got ${String(name)}`);
    super(name, message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'MbedtlsError';
    this.ret = ret;
  }
}
