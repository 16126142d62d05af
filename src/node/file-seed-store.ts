import * as fs from 'node:fs';
import type { SeedStore } from '../entropy/seed-store.js';
import { writeFileAtomic } from './atomic-file.js';

/** Default NV seed file name (`MBEDTLS_PLATFORM_STD_NV_SEED_FILE`), relative to the current directory. */
export const NV_SEED_DEFAULT_FILE = 'seedfile';

/** Options of {@link FileSeedStore}. */
export interface FileSeedStoreOptions {
  /** Mode of the seed file when written (default 0o600: the seed is a secret). */
  mode?: number;
}

/**
 * The NV seed file (Mbed TLS `mbedtls_platform_std_nv_seed_read/write`, porting option 1), as a
 * {@link SeedStore}. Reads like Mbed TLS: a missing file gives no seed, a file shorter than asked
 * gives a short seed (the NV seed source then fails), only the first block of a longer file is
 * used. Writes better than Mbed TLS: atomically (temporary file, fsync, rename, mode 0600), so a
 * crash or power cut leaves the old seed or the new one, never a torn, empty or missing file.
 *
 * @example
 * const nvSeed = new NvSeedSource({ store: new FileSeedStore('/var/lib/app/seedfile') });
 */
export class FileSeedStore implements SeedStore {
  private readonly mode: number;

  /**
   * @param file path of the seed file (default `seedfile`, resolved against the current directory
   *   at each access, as Mbed TLS does)
   * @throws {TypeError} when `file` is not a non-empty string
   */
  constructor(
    readonly file: string = NV_SEED_DEFAULT_FILE,
    options: FileSeedStoreOptions = {},
  ) {
    if (typeof file !== 'string' || file.length === 0) throw new TypeError('"file" must be a non-empty path');
    this.mode = options.mode ?? 0o600;
  }

  /**
   * Up to `length` bytes from the start of the file, or null when it does not exist.
   *
   * @throws the file system's error (other than ENOENT), with a message naming the file
   * @example
   * new FileSeedStore().read(64);
   */
  read(length: number): Uint8Array | null {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`"length" must be a whole number of bytes >= 0, got ${String(length)}`);
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') return null;
      err.message = `Cannot read the seed file "${this.file}": ${err.code ?? err.message}`;
      throw err;
    }
    const buf = new Uint8Array(length);
    try {
      let n = 0;
      while (n < length) {
        const got = fs.readSync(fd, buf, n, length - n, null);
        if (got === 0) break;
        n += got;
      }
      if (n === length) return buf;
      const short = buf.slice(0, n);
      buf.fill(0);
      return short;
    } catch (e) {
      buf.fill(0);
      const err = e as NodeJS.ErrnoException;
      err.message = `Cannot read the seed file "${this.file}": ${err.code ?? err.message}`;
      throw err;
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Replaces the seed file atomically with exactly `seed` (mode 0600 by default).
   *
   * @throws the file system's error, with a message naming the file; the old seed stays in place
   * @example
   * new FileSeedStore('seedfile').write(nodeCrypto.randomBytes(64));
   */
  write(seed: Uint8Array): void {
    writeFileAtomic(this.file, seed, { mode: this.mode });
  }
}
