import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SECTOR_SIZE } from '../../src/flash/flash.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { DirectoryObjectStore } from '../../src/node/directory-object-store.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NvsStorage, type NvsInitOptions } from '../../src/nvs/store/storage.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { NvsObjectStore } from '../../src/pkcs11/pal/nvs-object-store.js';
import type { ObjectStore } from '../../src/pkcs11/pal/object-store.js';

/** NVS XTS keys for the encrypted runs (fixed test values). */
export const NVS_KEYS = { eky: Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i), tky: Uint8Array.from({ length: 32 }, (_, i) => 0x90 ^ i) };
export const nvsEnc = (): NvsInitOptions => ({ encryption: { keys: NVS_KEYS, crypto: nodeCrypto } });
/** Wrapping key of the directory runs. */
export const WRAP_KEY = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff);

/** A fresh store of one backend; `reopen` opens a new instance on the same storage. */
export interface Backend {
  store: ObjectStore;
  reopen: (() => ObjectStore) | null;
}

export interface BackendKind {
  name: string;
  make(): Backend;
}

let tmpRoot = '';
/** A new empty directory under one temporary root (removed by {@link cleanupBackends}). */
export function tempDir(name: string): string {
  if (!tmpRoot) tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-pal-'));
  return fs.mkdtempSync(path.join(tmpRoot, `${name}-`));
}
export function cleanupBackends(): void {
  if (tmpRoot) fs.rmSync(tmpRoot, { recursive: true, force: true });
  tmpRoot = '';
}

const nvsBackend = (name: string, pages: number, init: () => NvsInitOptions | undefined): BackendKind => ({
  name,
  make() {
    const flash = new MemoryFlash(pages * SECTOR_SIZE);
    const open = () => new NvsObjectStore(NvsStorage.init(flash, init()).open('pkcs11', 'readwrite'));
    return { store: open(), reopen: open };
  },
});

/** The three backends (NVS twice: plain and XTS-encrypted). */
export const BACKENDS: BackendKind[] = [
  { name: 'MemoryObjectStore', make: () => ({ store: new MemoryObjectStore(), reopen: null }) },
  nvsBackend('NvsObjectStore (plain NVS)', 8, () => undefined),
  nvsBackend('NvsObjectStore (XTS-encrypted NVS)', 8, nvsEnc),
  {
    name: 'DirectoryObjectStore',
    make() {
      const dir = tempDir('dir');
      const open = () => new DirectoryObjectStore(dir, { wrappingKey: WRAP_KEY });
      return { store: open(), reopen: open };
    },
  },
];
