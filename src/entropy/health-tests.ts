import { ENTROPY_CONSTANTS, type EntropyPoll } from './entropy-source.js';
import { MbedtlsError } from './mbedtls-errors.js';

/** Options of {@link HealthTestedSource}. Samples are bytes: one byte of the noise source = one sample. */
export interface HealthTestOptions {
  /**
   * Assessed min-entropy per sample in bits, 0 < H <= 8 (default 8, full-entropy bytes). Set it to
   * the value of your SP 800-90B assessment: the cutoffs derive from it.
   */
  minEntropy?: number;
  /** False-alarm rate α = 2^-alphaExponent; SP 800-90B allows 20..40 (default 20). */
  alphaExponent?: number;
  /** Adaptive proportion test window W in samples (default 512; SP 800-90B uses 1024 for binary sources). */
  window?: number;
  /** Repetition count cutoff C (overrides the value derived from `minEntropy` and α). */
  rctCutoff?: number;
  /** Adaptive proportion cutoff C (overrides the value derived from `minEntropy`, `window` and α). */
  aptCutoff?: number;
  /** Samples tested and discarded before the first output (default 1024; 0 disables start-up testing). */
  startupSamples?: number;
}

/** Which continuous test tripped. */
export type HealthTestName = 'repetition count test' | 'adaptive proportion test';

/**
 * Repetition count test cutoff (SP 800-90B 4.4.1): `C = 1 + ceil(alphaExponent / H)`.
 *
 * @throws {RangeError} when `minEntropy` is not in (0, 8] or `alphaExponent` not in 20..40
 * @example
 * repetitionCountCutoff(8); // 4
 */
export function repetitionCountCutoff(minEntropy: number, alphaExponent = 20): number {
  checkEntropy(minEntropy, alphaExponent);
  return 1 + Math.ceil(alphaExponent / minEntropy);
}

/**
 * Adaptive proportion test cutoff (SP 800-90B 4.4.2): `C = 1 + CRITBINOM(W, 2^-H, 1 - α)`, the
 * smallest count that a source of min-entropy H reaches in a window of W samples with probability
 * at most α = 2^-alphaExponent.
 *
 * @throws {RangeError} when `minEntropy` is not in (0, 8], `window` not a whole number >= 2, or
 *   `alphaExponent` not in 20..40
 * @example
 * adaptiveProportionCutoff(8, 512); // 13
 */
export function adaptiveProportionCutoff(minEntropy: number, window = 512, alphaExponent = 20): number {
  checkEntropy(minEntropy, alphaExponent);
  if (!Number.isSafeInteger(window) || window < 2) throw new RangeError(`"window" must be a whole number of samples >= 2, got ${String(window)}`);
  const p = 2 ** -minEntropy;
  const alpha = 2 ** -alphaExponent;
  // log P(X = k) for X ~ Binomial(window, p), by the ratio of consecutive terms (no overflow).
  const logPmf = new Float64Array(window + 1);
  const lq = Math.log1p(-p);
  logPmf[0] = window * lq;
  for (let k = 0; k < window; k++) logPmf[k + 1] = logPmf[k]! + Math.log((window - k) / (k + 1)) + Math.log(p) - lq;
  // Smallest k with P(X > k) <= alpha, summing the upper tail from the top.
  let tail = 0;
  for (let k = window; k >= 0; k--) {
    if (tail > alpha) return 1 + (k + 1);
    tail += Math.exp(logPmf[k]!);
  }
  return 1;
}

function checkEntropy(minEntropy: number, alphaExponent: number): void {
  if (!(typeof minEntropy === 'number' && minEntropy > 0 && minEntropy <= 8)) {
    throw new RangeError(`"minEntropy" must be in (0, 8] bits per byte sample, got ${String(minEntropy)}`);
  }
  if (!Number.isInteger(alphaExponent) || alphaExponent < 20 || alphaExponent > 40) {
    throw new RangeError(`"alphaExponent" must be a whole number in 20..40 (α = 2^-20 .. 2^-40), got ${String(alphaExponent)}`);
  }
}

/**
 * SP 800-90B continuous health tests around a noise source: the repetition count test (a run of
 * identical samples reaching the cutoff) and the adaptive proportion test (one value reaching the
 * cutoff within a window), over every byte the source delivers, across polls. Before the first
 * output, `startupSamples` samples are tested and discarded. Once a test trips, the source fails
 * closed: the batch is zeroized and every later poll throws MbedtlsError
 * MBEDTLS_ERR_ENTROPY_SOURCE_FAILED naming the test. It never recovers: check the hardware and
 * create a new instance.
 *
 * @example
 * const trng = new HealthTestedSource(hardwarePollSource(readTrng), { minEntropy: 7.5 });
 * acc.addSource(trng.poll, 32, true);
 */
export class HealthTestedSource {
  /** The health-tested poll to register with the accumulator. */
  readonly poll: EntropyPoll;
  /** Repetition count test cutoff C. */
  readonly rctCutoff: number;
  /** Adaptive proportion test cutoff C. */
  readonly aptCutoff: number;
  /** Adaptive proportion test window W. */
  readonly window: number;
  /** Samples tested so far (start-up and operational). */
  samplesTested = 0;
  private failure: { test: HealthTestName; message: string } | null = null;
  private startupRemaining: number;
  private rctLast = -1;
  private rctRun = 0;
  private aptFirst = -1;
  private aptCount = 0;
  private aptPos = 0;

  /**
   * @param source the raw noise source (an {@link EntropyPoll}); its errors pass through
   * @throws {TypeError} when `source` is not a function
   * @throws {RangeError} for out-of-range options (see {@link HealthTestOptions})
   */
  constructor(
    private readonly source: EntropyPoll,
    options: HealthTestOptions = {},
  ) {
    if (typeof source !== 'function') throw new TypeError('"source" must be a function (maxLength) => Uint8Array');
    const h = options.minEntropy ?? 8;
    const a = options.alphaExponent ?? 20;
    this.window = options.window ?? 512;
    this.rctCutoff = options.rctCutoff ?? repetitionCountCutoff(h, a);
    this.aptCutoff = options.aptCutoff ?? adaptiveProportionCutoff(h, this.window, a);
    if (!Number.isSafeInteger(this.rctCutoff) || this.rctCutoff < 2) throw new RangeError(`"rctCutoff" must be a whole number >= 2, got ${String(this.rctCutoff)}`);
    if (!Number.isSafeInteger(this.aptCutoff) || this.aptCutoff < 2 || this.aptCutoff > this.window) {
      throw new RangeError(`"aptCutoff" must be a whole number in 2..${this.window} (the window), got ${String(this.aptCutoff)}`);
    }
    const startup = options.startupSamples ?? 1024;
    if (!Number.isSafeInteger(startup) || startup < 0) throw new RangeError(`"startupSamples" must be a whole number >= 0, got ${String(startup)}`);
    this.startupRemaining = startup;
    this.poll = (maxLength) => this.pollTested(maxLength);
  }

  /** The test that tripped, or null while the source is healthy. */
  get failedTest(): HealthTestName | null {
    return this.failure?.test ?? null;
  }

  private pollTested(maxLength: number): Uint8Array {
    this.throwIfFailed();
    // Start-up testing: samples are tested, then discarded. A source that delivers nothing ends
    // this round empty-handed; the next round continues.
    while (this.startupRemaining > 0) {
      const raw = this.pull(ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MAX_GATHER);
      if (raw.length === 0) return raw;
      this.test(raw);
      raw.fill(0);
      this.startupRemaining = Math.max(0, this.startupRemaining - raw.length);
    }
    const raw = this.pull(maxLength);
    if (raw.length > maxLength) {
      raw.fill(0);
      throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', `The noise source returned ${raw.length} bytes, more than the ${maxLength} asked for`);
    }
    this.test(raw);
    return raw;
  }

  private pull(maxLength: number): Uint8Array {
    const raw: unknown = this.source(maxLength);
    if (!(raw instanceof Uint8Array)) throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', `The noise source returned ${typeof raw} instead of a Uint8Array`);
    return raw;
  }

  /** Runs both tests over `samples`; on a failure zeroizes them, latches the failure and throws. */
  private test(samples: Uint8Array): void {
    for (const x of samples) {
      this.samplesTested++;
      // Repetition count test (SP 800-90B 4.4.1).
      if (x === this.rctLast) {
        this.rctRun++;
        if (this.rctRun >= this.rctCutoff) {
          this.trip(samples, 'repetition count test', `one sample value repeated ${this.rctRun} times in a row (cutoff ${this.rctCutoff}): the noise source looks stuck`);
        }
      } else {
        this.rctLast = x;
        this.rctRun = 1;
      }
      // Adaptive proportion test (SP 800-90B 4.4.2).
      if (this.aptPos === 0) {
        this.aptFirst = x;
        this.aptCount = 1;
      } else if (x === this.aptFirst) {
        this.aptCount++;
        if (this.aptCount >= this.aptCutoff) {
          this.trip(
            samples,
            'adaptive proportion test',
            `one sample value occurred ${this.aptCount} times within a window of ${this.window} (cutoff ${this.aptCutoff}): the noise source is biased`,
          );
        }
      }
      this.aptPos = (this.aptPos + 1) % this.window;
    }
  }

  private trip(samples: Uint8Array, test: HealthTestName, detail: string): never {
    samples.fill(0);
    this.failure = {
      test,
      message: `Entropy health test failed: ${test} (SP 800-90B) after ${this.samplesTested} samples: ${detail}. The source stays disabled: check the hardware, then create a new HealthTestedSource`,
    };
    throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', this.failure.message);
  }

  private throwIfFailed(): void {
    if (this.failure) throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', this.failure.message);
  }
}
