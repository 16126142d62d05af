// What CTR_DRBG and HMAC_DRBG share: their limit sets, argument checks, and the base class
// holding the entropy callback, the reseed schedule and the calls that only drive them.
import { NvsecError } from '../errors/nvsec-error.js';
import { MbedtlsError } from './mbedtls-errors.js';
import { errorMessage } from '../errors/error-message.js';

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

/** The options the base class reads. */
interface DrbgBaseOptions {
  entropy: (length: number) => Uint8Array;
  compat?: boolean;
  reseedInterval?: number;
  predictionResistance?: boolean;
}

/**
 * The part of a DRBG that does not depend on its mechanism: the entropy callback and how it is
 * called, the reseed counter and interval, prediction resistance, and `reseed`. Subclasses hold
 * the working state and implement the mechanism's reseed core.
 */
export abstract class DrbgBase {
  protected entropy: ((length: number) => Uint8Array) | null;
  protected readonly limits: DrbgLimits;
  protected reseedCounter = 0;
  protected interval: number;
  protected pr: boolean;

  /** @throws {TypeError} / {RangeError} on a bad entropy callback or reseed interval */
  protected constructor(
    private readonly mechanism: 'CTR_DRBG' | 'HMAC_DRBG',
    options: DrbgBaseOptions,
    compatLimits: DrbgLimits,
    defaultInterval: number,
  ) {
    if (typeof options.entropy !== 'function') throw new TypeError('"entropy" must be a function (length) => Uint8Array');
    this.entropy = options.entropy;
    this.limits = (options.compat ?? true) ? compatLimits : SP800_90A_LIMITS;
    this.interval = options.reseedInterval === undefined ? defaultInterval : this.checkInterval(options.reseedInterval);
    this.pr = options.predictionResistance ?? false;
  }

  /**
   * Reseeds now: fresh entropy plus `additional`; restarts the reseed interval.
   *
   * @throws {MbedtlsError} MBEDTLS_ERR_*_DRBG_ENTROPY_SOURCE_FAILED when the entropy callback fails;
   *   MBEDTLS_ERR_*_DRBG_INPUT_TOO_BIG when `additional` is over the limits given on the class
   * @throws {NvsecError} DRBG_DESTROYED after `destroy()`
   * @example
   * drbg.reseed(new TextEncoder().encode('after fork'));
   */
  reseed(additional: Uint8Array = EMPTY): void {
    this.alive();
    this.reseedCore(checkBytes(additional, 'additional'), 0, 'reseeding');
  }

  /**
   * Prediction resistance on: every generate reseeds first (draws entropy each time).
   * @throws {NvsecError} DRBG_DESTROYED after `destroy()`
   * @example
   * drbg.setPredictionResistance(true);
   */
  setPredictionResistance(on: boolean): void {
    this.alive();
    this.pr = on;
  }

  /**
   * Generate calls after which the next one reseeds automatically (default 10000).
   * @throws {RangeError} unless 1 <= n <= 2^31 - 1 (compat) or 2^48
   * @throws {NvsecError} DRBG_DESTROYED after `destroy()`
   * @example
   * drbg.setReseedInterval(1000);
   */
  setReseedInterval(n: number): void {
    this.alive();
    this.interval = this.checkInterval(n);
  }

  /**
   * The argument checks and the scheduled reseed that open every generate call.
   * @returns the additional input still to be used: `additional`, or nothing when it went into a reseed
   */
  protected beginGenerate(length: number, additional: Uint8Array): Uint8Array {
    this.alive();
    checkInteger(length, 'length', 0);
    checkBytes(additional, 'additional');
    const { maxRequest, maxInput } = this.limits;
    if (length > maxRequest) {
      throw new MbedtlsError(
        `MBEDTLS_ERR_${this.mechanism}_REQUEST_TOO_BIG`,
        `${this.mechanism} request of ${length} bytes exceeds the ${maxRequest}-byte limit per call: request in smaller pieces` +
          (this.limits === SP800_90A_LIMITS ? '' : ' (or seed with compat: false for up to 64 KiB)'),
      );
    }
    if (additional.length > maxInput) {
      throw new MbedtlsError(
        `MBEDTLS_ERR_${this.mechanism}_INPUT_TOO_BIG`,
        `${this.mechanism} additional input of ${additional.length} bytes exceeds the ${maxInput}-byte limit: hash it first`,
      );
    }
    if (this.pr || this.reseedCounter > this.interval) {
      this.reseedCore(additional, 0, 'reseeding');
      return EMPTY;
    }
    return additional;
  }

  /** Throws DRBG_DESTROYED once destroyed; otherwise the live key object. */
  protected abstract alive(): unknown;

  /** Seeds or reseeds from `entropyLen` bytes of entropy, `nonceLen` bytes of nonce and `extra`. */
  protected abstract reseedCore(extra: Uint8Array, nonceLen: number, when: 'seeding' | 'reseeding'): void;

  protected destroyedError(): NvsecError {
    return new NvsecError('DRBG_DESTROYED', `This ${this.mechanism} was destroyed: seed a new one`);
  }

  /** Drops the entropy callback and resets the schedule; subclasses zeroize their own state. */
  protected forgetSchedule(): void {
    this.entropy = null;
    this.reseedCounter = 0;
    this.pr = false;
  }

  /**
   * Fills `into[offset, offset + length)` from the entropy callback and zeroizes what it returned.
   * @throws {MbedtlsError} MBEDTLS_ERR_*_DRBG_ENTROPY_SOURCE_FAILED when it throws or returns the wrong length
   */
  protected gather(into: Uint8Array, offset: number, length: number, when: string, what: string): void {
    const source = this.entropy;
    if (source === null) throw this.destroyedError();
    const code = `MBEDTLS_ERR_${this.mechanism}_ENTROPY_SOURCE_FAILED` as const;
    let got: unknown;
    try {
      got = source(length);
    } catch (e) {
      throw new MbedtlsError(code, `The entropy source failed while ${when} the ${this.mechanism} (${what}, ${length} bytes): ${errorMessage(e)}`, {
        cause: e,
      });
    }
    if (!(got instanceof Uint8Array) || got.length !== length) {
      const was = got instanceof Uint8Array ? `${got.length} bytes` : typeof got;
      if (got instanceof Uint8Array) got.fill(0); // ours to wipe, used or not
      throw new MbedtlsError(
        code,
        `The entropy source returned ${was} while ${when} the ${this.mechanism}, expected ${length} bytes of ${what}: fix the entropy callback`,
      );
    }
    into.set(got, offset);
    got.fill(0);
  }

  private checkInterval(n: number): number {
    checkInteger(n, 'reseedInterval', 1);
    if (n > this.limits.maxInterval) throw new RangeError(`"reseedInterval" must be at most ${this.limits.maxInterval}, got ${n}`);
    return n;
  }
}
