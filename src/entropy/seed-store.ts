/**
 * Where an NV seed lives between boots: a file (`FileSeedStore` in `nvsec/node`), a blob in an
 * NVS namespace ({@link NvsSeedStore}), or anything else a platform offers. The NV seed source
 * ({@link NvSeedSource}) reads it on every gather round and rewrites it once per boot.
 *
 * Contract:
 * - `read(length)` returns the first `length` bytes of the stored seed, fewer when the stored seed
 *   is shorter (the NV seed source then zeroizes them and fails, as Mbed TLS does), or `null`
 *   when there is no seed. Bytes after the first `length` are ignored. It throws on I/O errors.
 *   The caller owns (and zeroizes) the returned array.
 * - `write(seed)` replaces the seed with exactly `seed`. It must be atomic: after a crash or a
 *   power cut, a later `read` returns either the old seed or the new one, never a torn or missing
 *   seed. It throws when the seed could not be stored. The caller keeps ownership of `seed` and
 *   zeroizes it after the call: copy what you keep.
 *
 * @example
 * let stored: Uint8Array | null = null;
 * const inMemory: SeedStore = {
 *   read: (length) => (stored ? stored.slice(0, length) : null),
 *   write: (seed) => {
 *     stored = seed.slice();
 *   },
 * };
 */
export interface SeedStore {
  /**
   * Up to `length` bytes of the stored seed, or `null` when none is stored.
   * @throws the store's error on I/O failure
   */
  read(length: number): Uint8Array | null;
  /**
   * Atomically replaces the stored seed.
   * @throws the store's error when the seed could not be written
   */
  write(seed: Uint8Array): void;
}
