// The benchmarks measure the compiled library in dist/ (what users run; `npm run bench` builds
// first), not the sources through the test loader. Types come from src/ so this file type-checks
// before a build.
import type * as SecureBootV2 from '../src/boot/secure-boot-v2.js';
import type * as FlashEncryption from '../src/boot/flash-encryption.js';
import type * as Equal from '../src/bytes/equal.js';
import type * as CtrDrbgModule from '../src/entropy/ctr-drbg.js';
import type * as HmacDrbgModule from '../src/entropy/hmac-drbg.js';
import type * as Memory from '../src/flash/memory-flash.js';
import type * as NodeCrypto from '../src/node/node-crypto.js';
import type * as NodeKeyCrypto from '../src/node/node-key-crypto.js';
import type * as SigningKeyModule from '../src/node/signing-key.js';
import type * as ParallelFe from '../src/node/parallel-flash-encryption.js';
import type * as Diagnose from '../src/nvs/crypto/diagnose.js';
import type * as EntryCipher from '../src/nvs/crypto/entry-cipher.js';
import type * as ImageCipher from '../src/nvs/crypto/image-cipher.js';
import type * as KeysPartition from '../src/nvs/crypto/keys-partition.js';
import type * as Generate from '../src/nvs/generator/generate.js';
import type * as Storage from '../src/nvs/store/storage.js';
import type * as PartitionTable from '../src/partition-table/convert.js';

const load = async <T>(rel: string): Promise<T> => (await import(new URL(`../dist/${rel}`, import.meta.url).href)) as T;

export const { bytesEqual } = await load<typeof Equal>('bytes/equal.js');
export const { createFlashCipher } = await load<typeof FlashEncryption>('boot/flash-encryption.js');
export const { esp32FlashCryptParallel } = await load<typeof ParallelFe>('node/parallel-flash-encryption.js');
export const { MemoryFlash } = await load<typeof Memory>('flash/memory-flash.js');
export const { nodeCrypto } = await load<typeof NodeCrypto>('node/node-crypto.js');
export const { loadNodeKeyCrypto } = await load<typeof NodeKeyCrypto>('node/node-key-crypto.js');
export const { generateNvsPartition } = await load<typeof Generate>('nvs/generator/generate.js');
export const { NvsStorage } = await load<typeof Storage>('nvs/store/storage.js');
export const { NvsEntryCipher } = await load<typeof EntryCipher>('nvs/crypto/entry-cipher.js');
export const { decryptNvsImage, encryptNvsImage } = await load<typeof ImageCipher>('nvs/crypto/image-cipher.js');
export const { diagnoseNvsDecryption } = await load<typeof Diagnose>('nvs/crypto/diagnose.js');
export const { parseKeysPartition } = await load<typeof KeysPartition>('nvs/crypto/keys-partition.js');
export const { signImage, verifyWithKey } = await load<typeof SecureBootV2>('boot/secure-boot-v2.js');
export const { readSigningKey } = await load<typeof SigningKeyModule>('node/signing-key.js');
export const { CtrDrbg } = await load<typeof CtrDrbgModule>('entropy/ctr-drbg.js');
export const { HmacDrbg } = await load<typeof HmacDrbgModule>('entropy/hmac-drbg.js');
export const { convertPartitionTable } = await load<typeof PartitionTable>('partition-table/convert.js');

export type MemoryFlash = Memory.MemoryFlash;
export type NvsStorage = Storage.NvsStorage;
export type NvsEntryCipher = EntryCipher.NvsEntryCipher;
export type CtrDrbg = CtrDrbgModule.CtrDrbg;
export type HmacDrbg = HmacDrbgModule.HmacDrbg;
