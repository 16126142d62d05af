import { NvsError } from '../../nvs/esp-err.js';
import type { NvsHandle } from '../../nvs/store/handle.js';
import { checkData, checkIsPrivate, labelBytes } from './_label.js';
import { type IndexEntry, ObjectIndex, requirePrivate } from './_object-index.js';
import { DEFAULT_OBJECTS } from './default-labels.js';
import { decodeObjectRecord, encodeObjectRecord } from './object-record.js';
import type { ObjectHandle, ObjectInfo, ObjectStore, SaveOptions, StoredObject } from './object-store.js';
import { PalError } from './pal-error.js';

/** Default NVS namespace of the token's objects. */
export const NVS_OBJECT_NAMESPACE = 'pkcs11';
/** NVS key (u32) of the dynamic handle high-water mark. */
export const NVS_NEXT_HANDLE_KEY = 'p11_next';
const DYNAMIC_KEY = /^p11_o[0-9a-f]{8}$/;
const DEFAULT_KEYS = new Map(DEFAULT_OBJECTS.map((o) => [o.nvsKey, o]));

/**
 * The NVS key of the object with `handle`: the fixed short name for the default labels
 * (`p11_key`, `p11_cert`…, see {@link DEFAULT_OBJECTS}), `p11_o` + the handle as 8 hex digits
 * for any other label (13 characters, within NVS's 15).
 *
 * @example nvsKeyOfHandle(0x100); // 'p11_o00000100'
 */
export function nvsKeyOfHandle(handle: number): string {
  const def = DEFAULT_OBJECTS.find((o) => o.handle === handle);
  return def ? def.nvsKey : `p11_o${handle.toString(16).padStart(8, '0')}`;
}

/**
 * An {@link ObjectStore} in one namespace of an NVS partition: the device case. On an encrypted
 * partition (NvsStorage opened with `encryption`) every object is XTS-encrypted at rest.
 *
 * Layout: one blob per object holding an object record (header with handle, label and privacy,
 * then the value, then a CRC; see {@link encodeObjectRecord}), so value and metadata are replaced
 * together: NVS writes a new blob completely before it drops the old one, so after a power cut a
 * label holds its old or its new object. Blob keys: {@link nvsKeyOfHandle}. A label outside the
 * default table takes the next dynamic handle; the high-water mark `p11_next` (u32) is written
 * before the object, so a cut between the two only skips a handle, and a handle is never reused
 * for another label. Keys of the namespace that are not object keys are left alone, but the
 * namespace should be the token's own.
 *
 * Opening reads every object once to build the in-memory index (find() never touches flash).
 * Credentials live only in this NVS partition, so reflashing the app partition leaves them.
 *
 * @example
 * const nvs = NvsStorage.init(flash, { encryption: { keys, crypto: nodeCrypto } });
 * const store = new NvsObjectStore(nvs.open(NVS_OBJECT_NAMESPACE, 'readwrite'));
 * store.save('Device Cert', certDer, { isPrivate: false });
 */
export class NvsObjectStore implements ObjectStore {
  private readonly index = new ObjectIndex((o) => o.nvsKey);

  /**
   * Opens the store and indexes the objects in the namespace.
   *
   * @param nvs a namespace handle: 'readwrite' to save and destroy, 'readonly' to read
   * @throws {TypeError} when `nvs` is not an NvsHandle
   * @throws {PalError} PAL_IO_FAILED when reading the namespace fails
   */
  constructor(readonly nvs: NvsHandle) {
    if (!nvs || typeof nvs.getBlob !== 'function' || typeof nvs.entries !== 'function') throw new TypeError('"nvs" must be an NvsHandle');
    this.load();
  }

  /** Problems found while opening (objects ignored because they conflict), in words. */
  get notes(): readonly string[] {
    return this.index.notes;
  }

  private load(): void {
    const counter = nvsCall('read the handle counter', () => (this.nvs.findKey(NVS_NEXT_HANDLE_KEY) === 'u32' ? this.nvs.getU32(NVS_NEXT_HANDLE_KEY) : 0));
    const keys = new Set<string>();
    nvsCall('list the namespace', () => {
      for (const e of this.nvs.entries('blob')) keys.add(e.key);
    });
    for (const key of keys) {
      const def = DEFAULT_KEYS.get(key);
      if (!def && !DYNAMIC_KEY.test(key)) continue;
      const blob = nvsCall(`read "${key}"`, () => this.nvs.getBlob(key));
      try {
        const rec = decodeObjectRecord(blob, `NVS key "${key}"`);
        if (nvsKeyOfHandle(rec.handle) !== key) {
          this.index.notes.push(`NVS key "${key}" holds handle ${rec.handle} ("${rec.label}"), which belongs under "${nvsKeyOfHandle(rec.handle)}"; ignored`);
          continue;
        }
        this.index.load(rec.handle, rec.label, rec.isPrivate, key);
      } catch (e) {
        if (!(e instanceof PalError)) throw e;
        // A damaged default object stays findable (get() reports it); a damaged dynamic one has no readable label.
        if (def) this.index.load(def.handle, def.label, def.secret, key, e.message);
        else this.index.notes.push(`${e.message} (ignored)`);
      } finally {
        blob.fill(0);
      }
    }
    if (counter > this.index.nextHandle) this.index.nextHandle = counter;
  }

  /**
   * @throws {RangeError} for a bad label; {TypeError} for bad data or options
   * @throws {PalError} PAL_PRIVATE_REQUIRED; PAL_STORE_FULL (ESP_ERR_NVS_NOT_ENOUGH_SPACE or
   *   VALUE_TOO_LONG: the partition has no room); PAL_IO_FAILED (read-only handle, flash failure)
   * @example store.save('Device Priv TLS Key', pkcs8Der, { isPrivate: true });
   */
  save(label: string, data: Uint8Array, options: SaveOptions): ObjectHandle {
    labelBytes(label);
    checkData(data);
    const isPrivate = checkIsPrivate(options);
    requirePrivate(label, isPrivate);
    const { handle, isNew } = this.index.handleFor(label);
    const key = this.index.entryOf(label)?.location ?? nvsKeyOfHandle(handle);
    if (isNew) {
      nvsCall(`reserve handle ${handle}`, () => this.nvs.setU32(NVS_NEXT_HANDLE_KEY, handle + 1));
      this.index.nextHandle = handle + 1;
    }
    const record = encodeObjectRecord({ handle, label, isPrivate }, data);
    try {
      nvsCall(`save "${label}" as NVS key "${key}"`, () => this.nvs.setBlob(key, record));
    } finally {
      record.fill(0);
    }
    this.index.stored(handle, label, isPrivate, key);
    return handle;
  }

  /** @throws {RangeError} for a bad label. @example store.find('Device Cert'); // 3 or null */
  find(label: string): ObjectHandle | null {
    labelBytes(label);
    return this.index.find(label);
  }

  /**
   * @throws {PalError} PAL_HANDLE_INVALID, PAL_OBJECT_ABSENT, PAL_OBJECT_CORRUPT, PAL_IO_FAILED
   * @example const { data } = store.get(store.find('Device Cert')!);
   */
  get(handle: ObjectHandle): StoredObject {
    const e = this.index.present(handle);
    if (e.broken !== undefined) throw new PalError('PAL_OBJECT_CORRUPT', e.broken);
    const blob = nvsCall(`read "${e.label}" from NVS key "${e.location}"`, () => this.nvs.getBlob(e.location));
    try {
      const rec = decodeObjectRecord(blob, `NVS key "${e.location}"`);
      if (rec.handle !== e.handle || rec.label !== e.label) {
        throw new PalError('PAL_OBJECT_CORRUPT', `NVS key "${e.location}" now holds "${rec.label}" (handle ${rec.handle}), not "${e.label}": another writer changed the namespace; reopen the store`);
      }
      return { label: e.label, data: rec.payload.slice(), isPrivate: rec.isPrivate };
    } finally {
      blob.fill(0);
    }
  }

  /** @throws {PalError} PAL_HANDLE_INVALID, PAL_IO_FAILED. @example store.destroy(h); */
  destroy(handle: ObjectHandle): void {
    const e: IndexEntry = this.index.entry(handle);
    if (!e.present) return;
    nvsCall(`destroy "${e.label}" (NVS key "${e.location}")`, () => {
      try {
        this.nvs.eraseKey(e.location);
      } catch (err) {
        if (!(err instanceof NvsError && err.code === 'ESP_ERR_NVS_NOT_FOUND')) throw err;
      }
    });
    this.index.destroyed(e);
  }

  /** @example store.labels(); */
  labels(): string[] {
    return this.index.list().map((o) => o.label);
  }

  /** @example store.list(); */
  list(): ObjectInfo[] {
    return this.index.list();
  }
}

/** Runs an NVS call, turning its errors into PalError (the NVS error kept as `cause`). */
function nvsCall<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PalError) throw e;
    if (e instanceof NvsError && (e.code === 'ESP_ERR_NVS_NOT_ENOUGH_SPACE' || e.code === 'ESP_ERR_NVS_VALUE_TOO_LONG')) {
      throw new PalError('PAL_STORE_FULL', `Cannot ${what}: the NVS partition has no room (${e.message}); destroy objects or use a larger partition`, e);
    }
    throw new PalError('PAL_IO_FAILED', `Cannot ${what}: ${(e as Error).message}`, e);
  }
}
