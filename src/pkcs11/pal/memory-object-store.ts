import { checkData, checkIsPrivate, labelBytes } from './_label.js';
import { ObjectIndex, requirePrivate } from './_object-index.js';
import type { ObjectHandle, ObjectInfo, ObjectStore, SaveOptions, StoredObject } from './object-store.js';
import { PalError } from './pal-error.js';

/**
 * An {@link ObjectStore} in RAM: for tests and for tokens that must not persist anything. Same
 * label, handle and copy rules as the persistent backends; {@link MemoryObjectStore.close}
 * zeroizes every value it holds.
 *
 * @example
 * const store = new MemoryObjectStore();
 * const h = store.save('HMAC Key', key, { isPrivate: true });
 * const { data } = store.get(h); // a copy: zeroize it when done
 */
export class MemoryObjectStore implements ObjectStore {
  private readonly index = new ObjectIndex(() => '');
  private readonly values = new Map<number, Uint8Array>();
  private closed = false;

  private open(): void {
    if (this.closed) throw new PalError('PAL_CLOSED', 'This object store was closed; create a new one');
  }

  /**
   * @throws {RangeError} for a bad label; {TypeError} for bad data or options
   * @throws {PalError} PAL_PRIVATE_REQUIRED, PAL_STORE_FULL, PAL_CLOSED
   * @example store.save('Root Cert', der, { isPrivate: false });
   */
  save(label: string, data: Uint8Array, options: SaveOptions): ObjectHandle {
    this.open();
    labelBytes(label);
    checkData(data);
    const isPrivate = checkIsPrivate(options);
    requirePrivate(label, isPrivate);
    const { handle } = this.index.handleFor(label);
    const old = this.values.get(handle);
    this.values.set(handle, new Uint8Array(data)); // a copy even of a Buffer (whose slice() is a view)
    old?.fill(0);
    this.index.stored(handle, label, isPrivate, '');
    return handle;
  }

  /** @throws {RangeError} for a bad label. @example store.find('Device Cert'); */
  find(label: string): ObjectHandle | null {
    labelBytes(label);
    return this.index.find(label);
  }

  /** @throws {PalError} PAL_HANDLE_INVALID, PAL_OBJECT_ABSENT, PAL_CLOSED. @example store.get(3).data; */
  get(handle: ObjectHandle): StoredObject {
    this.open();
    const e = this.index.present(handle);
    return { label: e.label, data: this.values.get(e.handle)!.slice(), isPrivate: e.isPrivate };
  }

  /** @throws {PalError} PAL_HANDLE_INVALID, PAL_CLOSED. @example store.destroy(h); */
  destroy(handle: ObjectHandle): void {
    this.open();
    const e = this.index.entry(handle);
    if (!e.present) return;
    this.values.get(e.handle)?.fill(0);
    this.values.delete(e.handle);
    this.index.destroyed(e);
  }

  /** @example store.labels(); // ['Device Cert'] */
  labels(): string[] {
    return this.index.list().map((o) => o.label);
  }

  /** @example store.list(); // [{ handle: 3, label: 'Device Cert', isPrivate: false }] */
  list(): ObjectInfo[] {
    return this.index.list();
  }

  /** Zeroizes every stored value; later calls throw PAL_CLOSED. */
  close(): void {
    for (const v of this.values.values()) v.fill(0);
    this.values.clear();
    this.closed = true;
  }
}

