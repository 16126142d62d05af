import type { CryptoProvider, IncrementalHash } from '../crypto/provider.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { ENTROPY_CONSTANTS, type EntropyHash, type EntropyPoll, entropyBlockSize } from './entropy-source.js';
import { MbedtlsError } from './mbedtls-errors.js';
import type { NvSeedSource } from './nv-seed.js';
import { errorMessage } from '../errors/error-message.js';

/** A source to register: its poll, the bytes it must deliver before output is released, its strength. */
export interface EntropySourceSpec {
  poll: EntropyPoll;
  /** Bytes the source must have delivered since the last output (e.g. 32 for a hardware source). */
  threshold: number;
  /** Strong sources together must deliver at least one block per output; at least one must exist. */
  strong: boolean;
}

/** Options of {@link EntropyAccumulator}. */
export interface EntropyAccumulatorOptions {
  crypto: CryptoProvider;
  /** Accumulator hash: 'sha512' (default, block 64) or 'sha256' (`MBEDTLS_ENTROPY_FORCE_SHA256`, block 32). */
  hash?: EntropyHash;
  /**
   * Sources registered first, in order, as `mbedtls_entropy_init` registers the compiled-in default
   * sources (platform, hardware...) before the NV seed. Source ids go into the pool, so the order
   * matters for byte compatibility: a Mbed TLS build with a hardware source and an NV seed has
   * hardware = id 0, NV seed = id 1.
   */
  sources?: readonly EntropySourceSpec[];
  /**
   * The NV seed source, registered after `sources` (strong, threshold = block size); its seed is
   * refreshed on the first {@link EntropyAccumulator.entropy} call. Null or absent: no NV seed.
   */
  nvSeed?: NvSeedSource | null;
}

interface Source {
  readonly poll: EntropyPoll;
  readonly threshold: number;
  readonly strong: boolean;
  /** Bytes delivered since the last output. */
  size: number;
}

const { MBEDTLS_ENTROPY_MAX_SOURCES, MBEDTLS_ENTROPY_SOURCE_MANUAL, MBEDTLS_ENTROPY_MAX_GATHER, ENTROPY_MAX_LOOP } = ENTROPY_CONSTANTS;

/**
 * The entropy accumulator (Mbed TLS 2.28 `mbedtls_entropy_context`), byte for byte: sources are
 * polled in registration order with a 128-byte buffer, each input is hashed into a running
 * SHA-512 (or SHA-256) pool as `[source id, length] || data` (data longer than a block pre-hashed),
 * and an output of at most one block is released once every source has reached its threshold and
 * the strong sources together delivered a block: `out = H(H(pool))`, the pool restarting from
 * `H(pool)`. With an NV seed, the first {@link EntropyAccumulator.entropy} call first writes a
 * fresh seed derived from the pool (`mbedtls_entropy_update_nv_seed`).
 *
 * As in Mbed TLS, the refresh is tried once per boot: when the seed write fails and the NV seed is
 * the only source, a caller that retries gets output from the same seed as the last boot. Treat
 * MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR from the first call as fatal on such devices.
 *
 * Errors are {@link MbedtlsError}s with the Mbed TLS names and numbers:
 * MBEDTLS_ERR_ENTROPY_SOURCE_FAILED (-0x3C), MBEDTLS_ERR_ENTROPY_NO_STRONG_SOURCE (-0x3D),
 * MBEDTLS_ERR_ENTROPY_MAX_SOURCES (-0x3E), MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR (-0x3F),
 * MBEDTLS_ERR_ENTROPY_NO_SOURCES_DEFINED (-0x40).
 *
 * @example
 * const nvSeed = new NvSeedSource({ store: new FileSeedStore('seedfile') });
 * const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: osEntropyPoll(nodeCrypto), threshold: 32, strong: true }], nvSeed });
 * const seed = acc.entropy(48);
 * acc.destroy();
 */
export class EntropyAccumulator {
  /** The accumulator hash. */
  readonly hash: EntropyHash;
  /** `MBEDTLS_ENTROPY_BLOCK_SIZE`: 64 with SHA-512, 32 with SHA-256. */
  readonly blockSize: number;
  private readonly crypto: CryptoProvider;
  private readonly nvSeed: NvSeedSource | null;
  private sources: Source[] = [];
  /** The running hash; null until the first input (`accumulator_started` = 0). */
  private pool: IncrementalHash | null = null;
  /** `initial_entropy_run`: true once the NV seed refresh has been attempted. */
  private nvSeedRefreshed = false;
  /** Stands in for the context mutex: a source polling back into the accumulator is refused. */
  private busy = false;
  private destroyed = false;

  /**
   * @throws {TypeError} when `crypto` is missing or `hash` is not 'sha512'/'sha256'
   * @throws {RangeError} when the NV seed size differs from the block size
   * @throws {MbedtlsError} MBEDTLS_ERR_ENTROPY_MAX_SOURCES when more than 20 sources are given
   */
  constructor(options: EntropyAccumulatorOptions) {
    if (!options || typeof options.crypto?.hash !== 'function' || typeof options.crypto.digest !== 'function') {
      throw new TypeError('"crypto" must be a CryptoProvider with digest() and hash()');
    }
    this.crypto = options.crypto;
    this.hash = options.hash ?? 'sha512';
    this.blockSize = entropyBlockSize(this.hash);
    for (const s of options.sources ?? []) this.addSource(s.poll, s.threshold, s.strong);
    this.nvSeed = options.nvSeed ?? null;
    if (this.nvSeed) {
      if (this.nvSeed.size !== this.blockSize) {
        throw new RangeError(`The NV seed is ${this.nvSeed.size} bytes but the ${this.hash} accumulator needs ${this.blockSize}: create it with { size: ${this.blockSize} }`);
      }
      this.addSource(this.nvSeed.poll, this.blockSize, true);
    }
  }

  /** Number of registered sources (the next source id). */
  get sourceCount(): number {
    this.alive();
    return this.sources.length;
  }

  /**
   * Registers a source (`mbedtls_entropy_add_source`) and returns its id (its index, hashed into
   * every input it delivers).
   *
   * @throws {TypeError} when `poll` is not a function or `strong` not a boolean
   * @throws {RangeError} when `threshold` is not a whole number >= 0
   * @throws {MbedtlsError} MBEDTLS_ERR_ENTROPY_MAX_SOURCES when 20 sources are registered already
   * @example
   * acc.addSource(hardwarePollSource(trngRead), ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MIN_HARDWARE, true);
   */
  addSource(poll: EntropyPoll, threshold: number, strong: boolean): number {
    this.alive();
    if (typeof poll !== 'function') throw new TypeError('"poll" must be a function (maxLength) => Uint8Array');
    if (!Number.isSafeInteger(threshold) || threshold < 0) throw new RangeError(`"threshold" must be a whole number of bytes >= 0, got ${String(threshold)}`);
    if (typeof strong !== 'boolean') throw new TypeError(`"strong" must be a boolean, got ${typeof strong}`);
    this.lock();
    try {
      if (this.sources.length >= MBEDTLS_ENTROPY_MAX_SOURCES) {
        throw new MbedtlsError(
          'MBEDTLS_ERR_ENTROPY_MAX_SOURCES',
          `Cannot register another entropy source: ${MBEDTLS_ENTROPY_MAX_SOURCES} are registered already (MBEDTLS_ENTROPY_MAX_SOURCES)`,
        );
      }
      this.sources.push({ poll, threshold, strong, size: 0 });
      return this.sources.length - 1;
    } finally {
      this.unlock();
    }
  }

  /**
   * `length` bytes of entropy (`mbedtls_entropy_func`), at most one block. Runs gather rounds until
   * every source reached its threshold and the strong sources delivered a block (at most 257
   * rounds), then finalizes. The first call of length <= block size with an NV seed first refreshes
   * the seed. `length` 0 is valid (gathering and finalization still run).
   *
   * @throws {RangeError} when `length` is not a whole number >= 0
   * @throws {MbedtlsError} MBEDTLS_ERR_ENTROPY_SOURCE_FAILED when `length` > block size (checked
   *   before anything else), when 257 rounds were not enough, or when a source failed (a source's
   *   own MbedtlsError passes through unchanged); MBEDTLS_ERR_ENTROPY_NO_SOURCES_DEFINED,
   *   MBEDTLS_ERR_ENTROPY_NO_STRONG_SOURCE; MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR when the NV seed
   *   could not be rewritten
   * @throws {NvsecError} ENTROPY_DESTROYED after {@link EntropyAccumulator.destroy}
   * @example
   * const key = acc.entropy(32);
   */
  entropy(length: number): Uint8Array {
    this.alive();
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`"length" must be a whole number of bytes >= 0, got ${String(length)}`);
    if (length > this.blockSize) {
      throw new MbedtlsError(
        'MBEDTLS_ERR_ENTROPY_SOURCE_FAILED',
        `Cannot return ${length} bytes of entropy in one call: the ${this.hash} accumulator gives at most ${this.blockSize} (MBEDTLS_ENTROPY_BLOCK_SIZE); ask in pieces`,
      );
    }
    if (this.nvSeed && !this.nvSeedRefreshed) {
      this.nvSeedRefreshed = true;
      this.updateNvSeed();
    }
    this.lock();
    try {
      for (let count = 0; ; count++) {
        if (count > ENTROPY_MAX_LOOP) throw this.loopLimitError();
        this.gatherRound();
        let thresholdsReached = true;
        let strongSize = 0;
        for (const s of this.sources) {
          if (s.size < s.threshold) thresholdsReached = false;
          if (s.strong) strongSize += s.size;
        }
        if (thresholdsReached && strongSize >= this.blockSize) break;
      }
      return this.finalize(length);
    } finally {
      this.unlock();
    }
  }

  /**
   * Mixes caller data into the pool (`mbedtls_entropy_update_manual`) as source id 20; data longer
   * than a block is hashed first. Does not count toward any threshold.
   *
   * @throws {TypeError} when `data` is not a Uint8Array
   * @throws {NvsecError} ENTROPY_DESTROYED after {@link EntropyAccumulator.destroy}
   * @example
   * acc.updateManual(new TextEncoder().encode(deviceSerial));
   */
  updateManual(data: Uint8Array): void {
    this.alive();
    if (!(data instanceof Uint8Array)) throw new TypeError(`"data" must be a Uint8Array, got ${typeof data}`);
    this.lock();
    try {
      this.feed(MBEDTLS_ENTROPY_SOURCE_MANUAL, data);
    } finally {
      this.unlock();
    }
  }

  /**
   * Runs one gather round (`mbedtls_entropy_gather`): polls every source once and hashes in what
   * they deliver. Does not refresh the NV seed.
   *
   * @throws {MbedtlsError} MBEDTLS_ERR_ENTROPY_NO_SOURCES_DEFINED, MBEDTLS_ERR_ENTROPY_NO_STRONG_SOURCE
   *   (after hashing the data in), or a source's failure
   * @throws {NvsecError} ENTROPY_DESTROYED after {@link EntropyAccumulator.destroy}
   * @example
   * acc.gather(); // e.g. from an idle loop, to keep mixing in fresh samples
   */
  gather(): void {
    this.alive();
    this.lock();
    try {
      this.gatherRound();
    } finally {
      this.unlock();
    }
  }

  /**
   * Refreshes the NV seed now (`mbedtls_entropy_update_nv_seed`): `s = entropy(block)`, write `s`,
   * then mix in a separator `[20, block] || 0^block`. {@link EntropyAccumulator.entropy} does this
   * by itself on its first call; called before that, the nested call refreshes once more first,
   * as in Mbed TLS.
   *
   * @throws {MbedtlsError} the errors of {@link EntropyAccumulator.entropy}; MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR
   *   when the write fails (no separator is mixed in then)
   * @throws {NvsecError} ENTROPY_NO_NV_SEED without an NV seed; ENTROPY_DESTROYED after destroy
   * @example
   * acc.updateNvSeed(); // e.g. before a long sleep
   */
  updateNvSeed(): void {
    this.alive();
    if (!this.nvSeed) throw new NvsecError('ENTROPY_NO_NV_SEED', 'This accumulator has no NV seed source: pass { nvSeed } to the constructor');
    const seed = this.entropy(this.blockSize);
    try {
      this.nvSeed.write(seed);
    } finally {
      seed.fill(0);
    }
    this.updateManual(new Uint8Array(this.blockSize));
  }

  /**
   * Drops the pool and the sources (`mbedtls_entropy_free`); later calls throw. A second call does
   * nothing.
   *
   * @example
   * acc.destroy();
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pool?.digest().fill(0); // ends the running hash; its state is released with it
    this.pool = null;
    for (const s of this.sources) s.size = 0;
    this.sources = [];
    this.nvSeedRefreshed = false;
  }

  /** `entropy_update`: pre-hash long inputs, start the pool lazily, hash `[id, len] || data`. */
  private feed(id: number, data: Uint8Array): void {
    const hashed = data.length > this.blockSize ? this.crypto.digest(this.hash, data) : null;
    const input = hashed ?? data;
    this.pool ??= this.crypto.hash(this.hash);
    this.pool.update(Uint8Array.of(id, input.length & 0xff));
    this.pool.update(input);
    hashed?.fill(0);
  }

  /** `entropy_gather_internal`. */
  private gatherRound(): void {
    if (this.sources.length === 0) {
      throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_NO_SOURCES_DEFINED', 'No entropy source is registered: add one (addSource, or the sources/nvSeed options)');
    }
    let haveStrong = false;
    for (let i = 0; i < this.sources.length; i++) {
      const s = this.sources[i]!;
      if (s.strong) haveStrong = true;
      const out = this.pollSource(i, s);
      if (out.length > 0) {
        this.feed(i, out);
        s.size += out.length;
        out.fill(0);
      }
    }
    if (!haveStrong) {
      throw new MbedtlsError(
        'MBEDTLS_ERR_ENTROPY_NO_STRONG_SOURCE',
        'No strong entropy source is registered: register at least one source with strong = true (the OS or hardware source, or the NV seed)',
      );
    }
  }

  private pollSource(i: number, s: Source): Uint8Array {
    let out: unknown;
    try {
      out = s.poll(MBEDTLS_ENTROPY_MAX_GATHER);
    } catch (e) {
      if (e instanceof MbedtlsError) throw e;
      throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', `Entropy source ${i} failed: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    if (!(out instanceof Uint8Array) || out.length > MBEDTLS_ENTROPY_MAX_GATHER) {
      if (out instanceof Uint8Array) out.fill(0);
      const got = out instanceof Uint8Array ? `${out.length} bytes` : typeof out;
      throw new MbedtlsError(
        'MBEDTLS_ERR_ENTROPY_SOURCE_FAILED',
        `Entropy source ${i} broke its contract: it returned ${got} where a Uint8Array of at most ${MBEDTLS_ENTROPY_MAX_GATHER} bytes was asked for`,
      );
    }
    return out;
  }

  /** Finalization: `h = H(pool)`, pool restarts from `h`, output `H(h)[0:length]`, sizes reset. */
  private finalize(length: number): Uint8Array {
    const pool = this.pool ?? this.crypto.hash(this.hash);
    const h = pool.digest();
    this.pool = this.crypto.hash(this.hash);
    this.pool.update(h);
    const o = this.crypto.digest(this.hash, h);
    for (const s of this.sources) s.size = 0;
    const out = o.slice(0, length);
    h.fill(0);
    o.fill(0);
    return out;
  }

  private loopLimitError(): MbedtlsError {
    const short = this.sources
      .map((s, i) => (s.size < s.threshold ? `source ${i} delivered ${s.size} of its ${s.threshold}-byte threshold` : null))
      .filter((x): x is string => x !== null);
    const strong = this.sources.reduce((n, s) => n + (s.strong ? s.size : 0), 0);
    if (strong < this.blockSize) short.push(`strong sources delivered ${strong} of ${this.blockSize} bytes`);
    return new MbedtlsError(
      'MBEDTLS_ERR_ENTROPY_SOURCE_FAILED',
      `No entropy output after ${ENTROPY_MAX_LOOP + 1} gather rounds: ${short.join('; ')}. A source delivers too little or nothing: check it or lower its threshold`,
    );
  }

  private alive(): void {
    if (this.destroyed) throw new NvsecError('ENTROPY_DESTROYED', 'This entropy accumulator was destroyed: create a new one');
  }

  private lock(): void {
    if (this.busy) {
      throw new NvsecError('ENTROPY_BUSY', 'The entropy accumulator was called from inside one of its own sources: a poll must not call back into it');
    }
    this.busy = true;
  }

  private unlock(): void {
    this.busy = false;
  }
}
