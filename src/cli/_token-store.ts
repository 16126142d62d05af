// Opening the STORE of `nvsec token …`: a host token directory, or `nvs:IMAGE.bin`, the token's
// namespace of an NVS partition image (encrypted with --nvs-keys).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NvsSeedStore } from '../entropy/nvs-seed-store.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { MemoryFlash } from '../flash/memory-flash.js';
import { FileFlash } from '../node/file-flash.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { ensureNvSeed, openCryptoki, openDirectoryToken } from '../node/node-token.js';
import { diagnoseNvsDecryption } from '../nvs/crypto/diagnose.js';
import { NvsEntryCipher } from '../nvs/crypto/entry-cipher.js';
import type { NvsKeys } from '../nvs/crypto/keys-partition.js';
import { NvsStorage } from '../nvs/store/storage.js';
import type { Cryptoki } from '../pkcs11/cryptoki.js';
import { NVS_OBJECT_NAMESPACE, NvsObjectStore } from '../pkcs11/pal/nvs-object-store.js';
import { readKeysFile } from './_nvs-args.js';

/** NVS namespace of the DRBG's NV seed in an `nvs:` store (key `nv_seed`, beside the token's namespace). */
export const TOKEN_NVS_SEED_NAMESPACE = 'entropy';

/** The `nvs:` prefix that names an NVS partition image as the STORE. */
export const NVS_STORE_PREFIX = 'nvs:';

/** Options of {@link openTokenStore}. */
export interface TokenStoreOptions {
  /** Keys partition image (`nvs generate-key` output) of an encrypted `nvs:` image. */
  readonly nvsKeys?: string;
  /** Create a missing store: a directory, or (`nvs:`) an erased image of `nvsSize` bytes. */
  readonly create?: boolean;
  readonly nvsSize?: number;
  /** PBKDF2 iterations of PINs set in this run (token default when absent). */
  readonly pinIterations?: number;
}

/** An open token store: the Cryptoki over it, what it is, and how to close it. */
export interface OpenTokenStore {
  readonly p11: Cryptoki;
  /** In words, for messages: `directory token/` or `NVS image nvs.bin (encrypted)`. */
  readonly description: string;
  readonly kind: 'directory' | 'nvs';
  readonly encrypted: boolean;
  /** Where the DRBG's NV seed lives. */
  readonly nvSeed: string;
  /** Finalises the token, syncs and closes the flash, zeroizes NVS keys. */
  close(): void;
}

/**
 * Opens STORE (see {@link TokenStoreOptions}) as a Cryptoki, C_Initialize already called.
 *
 * @throws {NvsecError} `TOKEN_NO_STORE` when the store is missing and not to be created;
 *   `TOKEN_BAD_STORE` for a store that is not a directory or an image that cannot be read with
 *   the keys given (wrong keys, or an encrypted image without keys); `CLI_FILE_READ` for keys
 * @throws {NvsError} when the NVS partition cannot be loaded
 * @example
 * const store = await openTokenStore('nvs:nvs.bin', { nvsKeys: 'keys.bin' });
 * try { store.p11.C_GetTokenInfo(store.p11.C_GetSlotList()[0]!); } finally { store.close(); }
 */
export async function openTokenStore(spec: string, options: TokenStoreOptions = {}): Promise<OpenTokenStore> {
  const tuning = options.pinIterations === undefined ? {} : { pinIterations: options.pinIterations };
  if (!spec.startsWith(NVS_STORE_PREFIX)) {
    if (options.nvsKeys !== undefined) throw new NvsecError('TOKEN_BAD_STORE', `--nvs-keys is for an nvs:IMAGE.bin store; "${spec}" is a directory token (its private objects are encrypted under the user PIN)`);
    if (!fs.existsSync(spec)) {
      if (options.create !== true) throw new NvsecError('TOKEN_NO_STORE', `There is no token in "${spec}": create one with nvsec token init --store ${spec} --label L`);
    } else if (!fs.statSync(spec).isDirectory()) {
      throw new NvsecError('TOKEN_BAD_STORE', `"${spec}" is a file, not a token directory: for an NVS partition image write nvs:${spec}`);
    }
    const p11 = await openDirectoryToken(spec, tuning);
    p11.C_Initialize();
    return { p11, description: `directory ${spec}`, kind: 'directory', encrypted: false, nvSeed: path.join(spec, 'nv-seed.bin'), close: () => p11.close() };
  }

  const file = spec.slice(NVS_STORE_PREFIX.length);
  if (file === '') throw new NvsecError('TOKEN_BAD_STORE', 'nvs: needs the image file after it: --store nvs:nvs.bin');
  const exists = fs.existsSync(file);
  if (!exists) {
    if (options.create !== true || options.nvsSize === undefined) {
      throw new NvsecError('TOKEN_NO_STORE', `There is no NVS image "${file}"${options.create === true ? ': give --nvs-size BYTES to create an erased one' : ': create one with nvsec token init --store nvs:' + file + ' --nvs-size 0x6000 …'}`);
    }
  }
  const keys = options.nvsKeys === undefined ? null : readKeysFile(options.nvsKeys, 'NVS keys file');
  let flash: FileFlash | null = null;
  let nvs: NvsStorage | null = null;
  try {
    flash = FileFlash.open(file, exists ? {} : { create: options.nvsSize! });
    checkReadable(flash, file, keys);
    nvs = NvsStorage.init(flash, keys === null ? {} : { encryption: { keys, crypto: nodeCrypto } });
    const store = new NvsObjectStore(nvs.open(NVS_OBJECT_NAMESPACE, 'readwrite'));
    const nvSeed = ensureNvSeed(new NvsSeedStore(nvs.open(TOKEN_NVS_SEED_NAMESPACE, 'readwrite')));
    const p11 = await openCryptoki(store, { ...tuning, nvSeed });
    p11.C_Initialize();
    const f = flash;
    const n = nvs;
    return {
      p11,
      description: `NVS image ${file}${keys === null ? '' : ' (encrypted)'}`,
      kind: 'nvs',
      encrypted: keys !== null,
      nvSeed: `NVS ${TOKEN_NVS_SEED_NAMESPACE}/nv_seed in ${file}`,
      close: () => {
        try {
          p11.close();
        } finally {
          n.close();
          f.sync();
          f.close();
        }
      },
    };
  } catch (e) {
    nvs?.close();
    flash?.close();
    throw e;
  } finally {
    keys?.eky.fill(0);
    keys?.tky.fill(0);
  }
}

/**
 * Refuses an image that a read-write init would wreck: with keys, one they do not decrypt; without
 * keys, one whose entries all fail their CRC (an encrypted image). Both would make the NVS runtime
 * erase the entries it cannot read.
 */
function checkReadable(flash: FileFlash, file: string, keys: NvsKeys | null): void {
  const image = new Uint8Array(flash.size);
  flash.read(0, image);
  try {
    if (keys !== null) {
      const cipher = new NvsEntryCipher(nodeCrypto, keys);
      try {
        const d = diagnoseNvsDecryption(image, cipher);
        if (d.verdict !== 'ok' && d.verdict !== 'no-data') throw new NvsecError('TOKEN_BAD_STORE', `NVS image "${file}" cannot be decrypted with --nvs-keys (${d.verdict}): ${d.message}`);
      } finally {
        cipher.destroy();
      }
      return;
    }
    const probe = NvsStorage.init(new MemoryFlash(image), { readOnly: true });
    const crcFailures = probe.loadNotes.filter((n) => n.problem.includes('crc')).length;
    if (crcFailures >= 8 && probe.stats().usedEntries === 0) {
      throw new NvsecError('TOKEN_BAD_STORE', `No entry of NVS image "${file}" passes its CRC: it is most likely encrypted; give its keys with --nvs-keys KEYS.bin (opening it without them would erase it)`);
    }
  } finally {
    image.fill(0);
  }
}
