import * as path from 'node:path';
import { ENTROPY_CONSTANTS } from '../entropy/entropy-source.js';
import type { SeedStore } from '../entropy/seed-store.js';
import { Cryptoki, type CryptokiOptions } from '../pkcs11/cryptoki.js';
import type { ObjectStore } from '../pkcs11/pal/object-store.js';
import { createTokenDrbg } from '../pkcs11/token/token-drbg.js';
import type { TokenOptions } from '../pkcs11/token/token.js';
import { DirectoryObjectStore } from './directory-object-store.js';
import { FileSeedStore } from './file-seed-store.js';
import { nodeCrypto } from './node-crypto.js';
import { loadNodeKeyCrypto } from './node-key-crypto.js';

/** Options of {@link openCryptoki}: the token's tuning knobs, and pkcs11js' error class to throw (see {@link CryptokiOptions.errors}). */
export type NodeTokenOptions = Partial<Pick<TokenOptions, 'pinIterations' | 'maxPinTries' | 'minPinLength' | 'maxPinLength' | 'maxSessions' | 'slotId'>> &
  Pick<CryptokiOptions, 'errors'> & {
  /** The NV seed the token's DRBG mixes in and refreshes (default: none, OS entropy only). */
  readonly nvSeed?: SeedStore;
};

/** The file a directory token keeps its NV seed in. */
export const TOKEN_NV_SEED_FILE = 'nv-seed.bin';

const asBuffer = (b: Uint8Array): Uint8Array => Buffer.from(b.buffer, b.byteOffset, b.length);

/**
 * A pkcs11js-compatible {@link Cryptoki} over `store`, with OpenSSL crypto and a CTR_DRBG seeded
 * from the OS (and `nvSeed`). Byte results are Buffers, as pkcs11js returns them. Call
 * `C_Initialize()` next, as with pkcs11js. For graphene-pk11, pass pkcs11js' error class so
 * failures are the `Pkcs11Error`s it tests for: `new Module(await openCryptoki(store, { errors:
 * pkcs11js.Pkcs11Error }) as unknown as pkcs11js.PKCS11)`.
 *
 * @example
 * const p11 = await openCryptoki(new DirectoryObjectStore('token'));
 * p11.C_Initialize();
 */
export async function openCryptoki(store: ObjectStore, options: NodeTokenOptions = {}): Promise<Cryptoki> {
  const { nvSeed, ...tuning } = options;
  const keys = await loadNodeKeyCrypto();
  return new Cryptoki({ ...tuning, store, crypto: nodeCrypto, keys, random: createTokenDrbg(nodeCrypto, nvSeed === undefined ? {} : { nvSeed }), bytes: asBuffer });
}

/**
 * The host token in directory `dir` (created, mode 0700, when missing; an uninitialised token until
 * C_InitToken): objects in a {@link DirectoryObjectStore}, private ones encrypted under the token
 * key the user PIN unwraps, and the DRBG's NV seed in `dir/nv-seed.bin` (64 bytes from the OS,
 * 0600, written when missing; refreshed at every open).
 *
 * @example
 * const p11 = await openDirectoryToken('token');
 * p11.C_Initialize();
 */
export async function openDirectoryToken(dir: string, options: Omit<NodeTokenOptions, 'nvSeed'> = {}): Promise<Cryptoki> {
  const store = new DirectoryObjectStore(dir);
  const nvSeed = ensureNvSeed(new FileSeedStore(path.join(dir, TOKEN_NV_SEED_FILE)));
  return openCryptoki(store, { ...options, nvSeed });
}

/**
 * `store`, after giving it a 64-byte seed from the OS when it holds none: a host token (or an
 * emulated one) has no factory to provision its NV seed, and without one its DRBG cannot seed.
 *
 * @example const nvSeed = ensureNvSeed(new FileSeedStore('token/nv-seed.bin'));
 */
export function ensureNvSeed<S extends SeedStore>(store: S): S {
  const size = ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_BLOCK_SIZE_SHA512;
  const existing = store.read(size);
  if (existing === null) {
    const fresh = nodeCrypto.randomBytes(size);
    store.write(fresh);
    fresh.fill(0);
  } else existing.fill(0);
  return store;
}
