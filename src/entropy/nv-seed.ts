import { ENTROPY_CONSTANTS, type EntropyPoll } from './entropy-source.js';
import { MbedtlsError } from './mbedtls-errors.js';
import type { SeedStore } from './seed-store.js';
import { errorMessage } from '../errors/error-message.js';

/**
 * `mbedtls_nv_seed_read`: fill `buf` with `len` seed bytes. Return a negative number on failure,
 * anything else (conventionally `len`) on success. Throwing counts as a failure.
 */
export type NvSeedReadFunction = (buf: Uint8Array, len: number) => number;

/**
 * `mbedtls_nv_seed_write`: store the `len` bytes of `buf` as the new seed. Return a negative
 * number on failure, anything else (conventionally `len`) on success. Throwing counts as a failure.
 * `buf` is zeroized after the call: copy what you keep.
 */
export type NvSeedWriteFunction = (buf: Uint8Array, len: number) => number;

/** How an {@link NvSeedSource} reaches the seed: the three porting options of the Mbed TLS guide. */
export interface NvSeedOptions {
  /**
   * Seed size in bytes, which must equal the accumulator's block size: 64 (SHA-512, the default)
   * or 32 (SHA-256).
   */
  size?: number;
  /** Option 1: a seed store (`FileSeedStore` for the standard `seedfile`, or an NVS seed store). */
  store?: SeedStore;
  /** Option 2: platform read function with the Mbed TLS contract (give `write` too). */
  read?: NvSeedReadFunction;
  /** Option 2: platform write function with the Mbed TLS contract (give `read` too). */
  write?: NvSeedWriteFunction;
}

/** Which porting option a source is bound to. */
export type NvSeedBinding = 'store' | 'functions' | 'none';

/**
 * The standard NV seed functions (`mbedtls_platform_std_nv_seed_read/write`) over any seed store:
 * read fails with -1 when there is no seed or it is shorter than `len` (and then zeroizes the whole
 * buffer); only the first `len` bytes are used. Write stores exactly `len` bytes and returns `len`.
 * I/O errors of the store are thrown. Use it to restore the default after a `setNvSeed`.
 *
 * @example
 * const { read, write } = nvSeedFunctionsFromStore(store);
 * source.setNvSeed(read, write);
 */
export function nvSeedFunctionsFromStore(store: SeedStore): { read: NvSeedReadFunction; write: NvSeedWriteFunction } {
  return storeFunctions(store, () => {});
}

function storeFunctions(store: SeedStore, note: (problem: string) => void): { read: NvSeedReadFunction; write: NvSeedWriteFunction } {
  return {
    read: (buf, len) => {
      const data = store.read(len);
      if (data === null) {
        buf.fill(0);
        note('no seed is stored');
        return -1;
      }
      try {
        if (data.length < len) {
          buf.fill(0);
          note(`the stored seed has ${data.length} bytes, fewer than ${len}`);
          return -1;
        }
        buf.set(data.subarray(0, len));
        return len;
      } finally {
        data.fill(0);
      }
    },
    write: (buf, len) => {
      store.write(buf.subarray(0, len));
      return len;
    },
  };
}

const unsetRead: NvSeedReadFunction = () => -1;
const unsetWrite: NvSeedWriteFunction = () => -1;

/**
 * The NV seed entropy source (`MBEDTLS_ENTROPY_NV_SEED`): a seed of block size kept in non-volatile
 * storage, read on every gather round ({@link NvSeedSource.poll}, `mbedtls_nv_seed_poll`) and
 * replaced once per boot by the accumulator ({@link NvSeedSource.write}). Give it to
 * `new EntropyAccumulator({ nvSeed })`, which registers it as a strong source with threshold = block
 * size and refreshes the seed on its first entropy call.
 *
 * Porting options, as in the Mbed TLS guide:
 * 1. a store: `new NvSeedSource({ store: new FileSeedStore('seedfile') })` (or an NVS seed store);
 * 2. platform functions: `new NvSeedSource({ read, write })` with the `(buf, len) => number` contract;
 * 3. wrappers registered at run time: {@link NvSeedSource.setNvSeed} (`mbedtls_platform_set_nv_seed`).
 *    Until then an unbound source fails every read and write, like Mbed TLS's stub functions.
 *
 * A failed or short read zeroizes the buffer and fails the poll with
 * `MBEDTLS_ERR_ENTROPY_SOURCE_FAILED`; a failed write fails with `MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR`.
 *
 * @example
 * const nvSeed = new NvSeedSource({ store: new FileSeedStore('seedfile') });
 * const entropy = new EntropyAccumulator({ crypto: nodeCrypto, nvSeed });
 * const bytes = entropy.entropy(64); // refreshes seedfile first
 */
export class NvSeedSource {
  /** Seed size in bytes (= the accumulator block size). */
  readonly size: number;
  /** The poll callback (`mbedtls_nv_seed_poll`): returns `min(maxLength, size)` seed bytes. */
  readonly poll: EntropyPoll;
  private readFn: NvSeedReadFunction = unsetRead;
  private writeFn: NvSeedWriteFunction = unsetWrite;
  private bound: NvSeedBinding = 'none';
  private problem: string | null = null;

  /**
   * @throws {RangeError} when `size` is not 32 or 64
   * @throws {TypeError} when both a store and functions are given, or only one of read/write
   */
  constructor(options: NvSeedOptions = {}) {
    const size = options.size ?? ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_BLOCK_SIZE_SHA512;
    if (size !== ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_BLOCK_SIZE_SHA512 && size !== ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_BLOCK_SIZE_SHA256) {
      throw new RangeError(`"size" must be 64 (SHA-512 accumulator) or 32 (SHA-256), got ${String(size)}`);
    }
    this.size = size;
    const hasFns = options.read !== undefined || options.write !== undefined;
    if (options.store !== undefined && hasFns) throw new TypeError('Give either "store" or "read" and "write", not both');
    if (options.store !== undefined) {
      const { read, write } = storeFunctions(options.store, (p) => (this.problem = p));
      this.readFn = read;
      this.writeFn = write;
      this.bound = 'store';
    } else if (hasFns) {
      this.setNvSeed(options.read as NvSeedReadFunction, options.write as NvSeedWriteFunction);
    }
    this.poll = (maxLength) => this.pollSeed(maxLength);
  }

  /** Which porting option the source is bound to ('none' until a store or functions are set). */
  get binding(): NvSeedBinding {
    return this.bound;
  }

  /**
   * Replaces the read and write functions at run time (`mbedtls_platform_set_nv_seed`).
   *
   * @throws {TypeError} when either is not a function
   * @example
   * source.setNvSeed((buf, len) => secureElementRead(buf, len), (buf, len) => secureElementWrite(buf, len));
   */
  setNvSeed(read: NvSeedReadFunction, write: NvSeedWriteFunction): void {
    if (typeof read !== 'function') throw new TypeError('"read" must be a function (buf, len) => number');
    if (typeof write !== 'function') throw new TypeError('"write" must be a function (buf, len) => number');
    this.readFn = read;
    this.writeFn = write;
    this.bound = 'functions';
  }

  /**
   * Stores `seed` as the new NV seed (the accumulator calls this once per boot).
   *
   * @throws {RangeError} when `seed` is not `size` bytes
   * @throws {MbedtlsError} MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR when the write fails
   * @example
   * nvSeed.write(crypto.randomBytes(nvSeed.size)); // provisioning
   */
  write(seed: Uint8Array): void {
    if (!(seed instanceof Uint8Array) || seed.length !== this.size) {
      throw new RangeError(`"seed" must be ${this.size} bytes, got ${seed instanceof Uint8Array ? seed.length : typeof seed}`);
    }
    const buf = seed.slice();
    let ret: number;
    try {
      ret = this.writeFn(buf, this.size);
    } catch (e) {
      throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR', `NV seed write failed: ${errorMessage(e)}; the old seed stays in place`, { cause: e });
    } finally {
      buf.fill(0);
    }
    if (!Number.isInteger(ret) || ret < 0) {
      const why = this.bound === 'none' ? 'no NV seed functions are set: give a store, or call setNvSeed(read, write)' : `write returned ${String(ret)}`;
      throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR', `NV seed write failed: ${why}`);
    }
  }

  private pollSeed(maxLength: number): Uint8Array {
    const buf = new Uint8Array(this.size);
    this.problem = null;
    let ret: number;
    try {
      ret = this.readFn(buf, this.size);
    } catch (e) {
      buf.fill(0);
      throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', `NV seed read failed: ${errorMessage(e)}`, { cause: e });
    }
    if (!Number.isInteger(ret) || ret < 0) {
      buf.fill(0);
      throw new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', `NV seed read failed: ${this.readProblem(ret)}`);
    }
    const out = buf.slice(0, Math.min(maxLength, this.size));
    buf.fill(0);
    return out;
  }

  private readProblem(ret: number): string {
    if (this.bound === 'none') return 'no NV seed functions are set: give a store, or call setNvSeed(read, write)';
    if (this.bound === 'store') {
      return `${this.problem ?? 'the store refused the read'}; provision a ${this.size}-byte seed (e.g. "nvsec seed generate --size ${this.size}")`;
    }
    return `read returned ${String(ret)}`;
  }
}
