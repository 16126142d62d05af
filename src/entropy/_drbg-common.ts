// What CTR_DRBG and HMAC_DRBG share: their limit sets and argument checks.

/** Per-call limits of a DRBG. */
export interface DrbgLimits {
  maxRequest: number;
  maxInput: number;
  maxSeedInput: number;
  maxInterval: number;
}

/** SP 800-90A's limits, used outside Mbed TLS compatibility mode (the request cap is 2^19 bits). */
export const SP800_90A_LIMITS: DrbgLimits = Object.freeze({
  maxRequest: 65536,
  // the derivation function and the HMAC update encode lengths in 32 bits
  maxInput: 0xffffffff,
  maxSeedInput: 0xffffffff,
  maxInterval: 2 ** 48,
});

/** Mbed TLS 2.28's limits for a DRBG, from its constants; the reseed interval is a C int. */
export function mbedtlsLimits(maxRequest: number, maxInput: number, maxSeedInput: number): DrbgLimits {
  return Object.freeze({ maxRequest, maxInput, maxSeedInput, maxInterval: 0x7fffffff });
}

export const EMPTY = new Uint8Array(0);

/** The message of an error, or its text. */
export function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** @throws {RangeError} unless `value` is a safe integer >= `min` */
export function checkInteger(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`"${name}" must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** @throws {TypeError} unless `value` is a Uint8Array */
export function checkBytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`"${name}" must be a Uint8Array, got ${typeof value}`);
  return value;
}
