import { NvsError } from '../nvs/esp-err.js';
import { MAX_KEY_LENGTH } from '../nvs/format/constants.js';
import type { NvsHandle } from '../nvs/store/handle.js';
import type { SeedStore } from './seed-store.js';

/** Default NVS key of the seed blob. */
export const NVS_SEED_DEFAULT_KEY = 'nv_seed';

/**
 * A {@link SeedStore} keeping the NV seed as a blob under one key of an NVS namespace: the way a
 * device without a file system keeps it. Works the same on an encrypted NVS partition (the seed is
 * then XTS-encrypted at rest). A rewrite is old-or-new under power cuts: the NVS runtime writes
 * the new blob completely before it erases the old one, and a half-written blob is dropped at
 * the next init.
 *
 * @example
 * const nvs = NvsStorage.init(flash, { encryption: { keys, crypto: nodeCrypto } });
 * const nvSeed = new NvSeedSource({ store: new NvsSeedStore(nvs.open('entropy', 'readwrite')) });
 */
export class NvsSeedStore implements SeedStore {
  /**
   * @param handle a namespace opened 'readwrite' (a 'readonly' handle can read, and writes fail)
   * @param key the blob's key, at most 15 characters (default `nv_seed`)
   * @throws {TypeError} when `handle` is not an NvsHandle-like object
   * @throws {RangeError} when `key` is empty or longer than 15 characters
   */
  constructor(
    readonly handle: NvsHandle,
    readonly key: string = NVS_SEED_DEFAULT_KEY,
  ) {
    if (!handle || typeof handle.getBlob !== 'function' || typeof handle.setBlob !== 'function') throw new TypeError('"handle" must be an NvsHandle');
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new RangeError(`"key" must be 1..${MAX_KEY_LENGTH} characters, got ${JSON.stringify(key)}`);
    }
  }

  /**
   * The first `length` bytes of the seed blob (fewer when it is shorter), or null when the key is
   * missing (or holds a value of another type).
   *
   * @throws {NvsError} for NVS failures other than ESP_ERR_NVS_NOT_FOUND
   * @example
   * const seed = store.read(64);
   */
  read(length: number): Uint8Array | null {
    let blob: Uint8Array;
    try {
      blob = this.handle.getBlob(this.key);
    } catch (e) {
      if (e instanceof NvsError && e.code === 'ESP_ERR_NVS_NOT_FOUND') return null;
      throw e;
    }
    if (blob.length <= length) return blob;
    const out = blob.slice(0, length);
    blob.fill(0);
    return out;
  }

  /**
   * Stores `seed` as the blob (replacing the old one atomically).
   *
   * @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_NOT_ENOUGH_SPACE and other write failures
   * @example
   * store.write(nodeCrypto.randomBytes(64)); // provisioning
   */
  write(seed: Uint8Array): void {
    this.handle.setBlob(this.key, seed);
  }
}
