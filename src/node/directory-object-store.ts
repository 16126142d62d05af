import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkData, checkIsPrivate, labelBytes } from '../pkcs11/pal/_label.js';
import { type IndexEntry, ObjectIndex, requirePrivate } from '../pkcs11/pal/_object-index.js';
import { DEFAULT_OBJECTS } from '../pkcs11/pal/default-labels.js';
import { decodeObjectRecord, encodeObjectRecord, objectRecordHeader } from '../pkcs11/pal/object-record.js';
import type { ObjectHandle, ObjectInfo, SaveOptions, StoredObject, WrappingObjectStore } from '../pkcs11/pal/object-store.js';
import { PalError } from '../pkcs11/pal/pal-error.js';
import { writeFileAtomic } from './atomic-file.js';
import { syncDir } from './_io.js';

/** Options of {@link DirectoryObjectStore}. */
export interface DirectoryObjectStoreOptions {
  /**
   * The 32-byte AES-256-GCM key that encrypts private objects (the token derives it from the user
   * PIN). The store keeps a copy and zeroizes it on {@link DirectoryObjectStore.close}. Without a
   * key, private objects are listed and found but cannot be read or saved (PAL_LOCKED).
   */
  wrappingKey?: Uint8Array;
  /** Create the directory (mode 0700) when it is missing. Default true. */
  create?: boolean;
}

/** File name of the dynamic handle high-water mark. */
export const DIRECTORY_NEXT_HANDLE_FILE = 'next-handle.p11meta';
/** File name of the wrapping-key check value. */
export const DIRECTORY_KEY_CHECK_FILE = 'key-check.p11meta';
const OBJECT_FILE = /^obj-((?:[0-9a-f]{2}){1,32})\.p11o$/;
const NONCE = 12;
const TAG = 16;
const KEY_CHECK_AAD = new TextEncoder().encode('nvsec PKCS#11 directory store: wrapping key check v1');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * The file name of a label: `obj-` + the label's UTF-8 bytes in lowercase hex + `.p11o`. Any label
 * maps to a safe, unique name (no separators, no dots, no case games) of at most 73 characters.
 *
 * @throws {RangeError} for a label that is not 1..32 bytes of UTF-8
 * @example objectFileName('Device Cert'); // 'obj-4465766963652043657274.p11o'
 */
export function objectFileName(label: string): string {
  return `obj-${Buffer.from(labelBytes(label)).toString('hex')}.p11o`;
}

/**
 * An {@link ObjectStore} in a directory: the host case. One file per object, written atomically
 * (temporary file, fsync, rename; mode 0600), named by {@link objectFileName}. Each file holds an
 * object record (handle, label, privacy, then the payload, then a CRC; see
 * `encodeObjectRecord`). A private object's payload is `nonce (12) ‖ AES-256-GCM ciphertext ‖ tag (16)`
 * under the wrapping key, with the record header (which holds the label and handle) as associated
 * data: a file that was modified, renamed to another label's name, or encrypted under another key
 * fails with PAL_OBJECT_CORRUPT or PAL_WRONG_KEY instead of yielding the wrong key. Public objects
 * are checked by CRC only (they are not secret; certificates are checked by their chain).
 *
 * `key-check.p11meta` holds a GCM tag over a fixed string under the wrapping key, so a wrong key is
 * reported as such (PAL_WRONG_KEY) when the store is opened. `next-handle.p11meta` holds the
 * dynamic handle high-water mark, written before a new object so handles are never reused.
 *
 * @example
 * const store = new DirectoryObjectStore('/var/lib/nvsec/token', { wrappingKey: keyFromPin });
 * store.save('Device Priv TLS Key', pkcs8Der, { isPrivate: true });
 * store.close(); // zeroizes the key copy
 */
export class DirectoryObjectStore implements WrappingObjectStore {
  private readonly index = new ObjectIndex((o) => objectFileName(o.label));
  private key: Uint8Array | null = null;
  private closed = false;

  /**
   * Opens (or creates) the store and indexes its objects.
   *
   * @throws {TypeError} when `dir` is not a string or the key not a Uint8Array; {RangeError} when the key is not 32 bytes
   * @throws {PalError} PAL_WRONG_KEY when the key does not match the store's key check;
   *   PAL_IO_FAILED when the directory cannot be read or created
   */
  constructor(
    readonly dir: string,
    options: DirectoryObjectStoreOptions = {},
  ) {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('"dir" must be a non-empty path');
    if (options.create ?? true) ioCall(`create "${dir}"`, () => fs.mkdirSync(dir, { recursive: true, mode: 0o700 }));
    this.load();
    if (options.wrappingKey !== undefined) this.setWrappingKey(options.wrappingKey);
  }

  /** Problems found while opening (files ignored), in words. */
  get notes(): readonly string[] {
    return this.index.notes;
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  private load(): void {
    const names = ioCall(`list "${this.dir}"`, () => fs.readdirSync(this.dir)).sort();
    const counter = this.readCounter();
    const defaultHandles = new Map(DEFAULT_OBJECTS.map((o) => [o.label, o.handle]));
    const broken: { label: string; name: string; why: string }[] = [];
    for (const name of names) {
      const m = OBJECT_FILE.exec(name);
      if (!m) continue;
      let label: string;
      try {
        label = utf8Strict.decode(Buffer.from(m[1]!, 'hex'));
        if (objectFileName(label) !== name) throw new RangeError('not canonical');
      } catch {
        this.index.notes.push(`"${name}" does not name a valid label; ignored`);
        continue;
      }
      const bytes = ioCall(`read "${name}"`, () => readBytes(this.file(name)));
      try {
        const rec = decodeObjectRecord(bytes, `"${this.file(name)}"`);
        if (rec.label !== label) {
          broken.push({ label, name, why: `"${this.file(name)}" holds the object of "${rec.label}", not of "${label}": it was renamed or copied from another label; delete it and save the object again` });
          continue;
        }
        this.index.load(rec.handle, rec.label, rec.isPrivate, name);
      } catch (e) {
        if (!(e instanceof PalError)) throw e;
        broken.push({ label, name, why: e.message });
      } finally {
        bytes.fill(0);
      }
    }
    if (counter > this.index.nextHandle) this.index.nextHandle = counter;
    // A damaged file stays findable (so it can be replaced or destroyed); get() reports it.
    for (const b of broken) {
      if (this.index.find(b.label) !== null) continue;
      const handle = defaultHandles.get(b.label) ?? this.index.handleFor(b.label).handle;
      this.index.load(handle, b.label, false, b.name, b.why);
    }
  }

  private readCounter(): number {
    let text: string;
    try {
      text = fs.readFileSync(this.file(DIRECTORY_NEXT_HANDLE_FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw new PalError('PAL_IO_FAILED', `Cannot read "${this.file(DIRECTORY_NEXT_HANDLE_FILE)}": ${(e as Error).message}`, e);
    }
    const n = /^\d{1,10}\n$/.test(text) ? Number(text.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n)) {
      this.index.notes.push(`"${DIRECTORY_NEXT_HANDLE_FILE}" is not a handle number; handles continue after the highest stored one`);
      return 0;
    }
    return n;
  }

  private check(): void {
    if (this.closed) throw new PalError('PAL_CLOSED', 'This object store was closed; open a new one');
  }

  /**
   * Sets the wrapping key (after login) or forgets it (null, at logout), zeroizing the old copy.
   * The first key given to a store is recorded in its key check; later keys must match it.
   * With `reset` (token re-initialisation), a store without private objects takes `key` as its
   * new key.
   *
   * @throws {TypeError} / {RangeError} when `key` is not a 32-byte Uint8Array
   * @throws {PalError} PAL_WRONG_KEY when the key does not match the store's key check
   * @example store.setWrappingKey(deriveFromPin(pin));
   */
  setWrappingKey(key: Uint8Array | null, options: { reset?: boolean } = {}): void {
    this.check();
    if (key !== null) {
      if (!(key instanceof Uint8Array)) throw new TypeError('"wrappingKey" must be a Uint8Array');
      if (key.length !== 32) throw new RangeError(`"wrappingKey" must be 32 bytes (AES-256), got ${key.length}`);
      if (options.reset === true) {
        const held = this.index.list().filter((o) => o.isPrivate).map((o) => `"${o.label}"`);
        if (held.length > 0) throw new PalError('PAL_LOCKED', `Cannot change the wrapping key while private objects are stored (${held.join(', ')}); destroy them first`);
        ioCall('remove the key check', () => fs.rmSync(this.file(DIRECTORY_KEY_CHECK_FILE), { force: true }));
      } else this.verifyKeyCheck(key);
    }
    this.key?.fill(0);
    this.key = key === null ? null : new Uint8Array(key);
  }

  private verifyKeyCheck(key: Uint8Array): void {
    const file = this.file(DIRECTORY_KEY_CHECK_FILE);
    let stored: Buffer;
    try {
      stored = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // written with the first private object
      throw new PalError('PAL_IO_FAILED', `Cannot read "${file}": ${(e as Error).message}`, e);
    }
    if (stored.length !== NONCE + TAG) throw new PalError('PAL_OBJECT_CORRUPT', `"${file}" is ${stored.length} bytes, not ${NONCE + TAG}; restore it from a backup`);
    try {
      gcmOpen(key, stored, KEY_CHECK_AAD).fill(0);
    } catch (e) {
      throw new PalError(
        'PAL_WRONG_KEY',
        `The wrapping key does not match "${file}": the PIN (or the key derived from it) is not the one this store's private objects were saved under`,
        e,
      );
    }
  }

  private requireKey(what: string): Uint8Array {
    if (!this.key) throw new PalError('PAL_LOCKED', `Cannot ${what}: it is private and the store has no wrapping key; log in (setWrappingKey) first`);
    return this.key;
  }

  /**
   * @throws {RangeError} for a bad label; {TypeError} for bad data or options
   * @throws {PalError} PAL_PRIVATE_REQUIRED, PAL_LOCKED (private without a key), PAL_STORE_FULL (ENOSPC), PAL_IO_FAILED, PAL_CLOSED
   * @example store.save('Root Cert', caDer, { isPrivate: false });
   */
  save(label: string, data: Uint8Array, options: SaveOptions): ObjectHandle {
    this.check();
    labelBytes(label);
    checkData(data);
    const isPrivate = checkIsPrivate(options);
    requirePrivate(label, isPrivate);
    const key = isPrivate ? this.requireKey(`save "${label}"`) : null;
    const { handle, isNew } = this.index.handleFor(label);
    const name = objectFileName(label);
    if (key && !fs.existsSync(this.file(DIRECTORY_KEY_CHECK_FILE))) {
      ioCall('write the key check', () => writeFileAtomic(this.file(DIRECTORY_KEY_CHECK_FILE), gcmSeal(key, new Uint8Array(0), KEY_CHECK_AAD)));
    }
    if (isNew) {
      ioCall(`reserve handle ${handle}`, () => writeFileAtomic(this.file(DIRECTORY_NEXT_HANDLE_FILE), new TextEncoder().encode(`${handle + 1}\n`)));
      this.index.nextHandle = handle + 1;
    }
    const meta = { handle, label, isPrivate };
    const payload = key ? gcmSeal(key, data, objectRecordHeader(meta)) : data;
    const record = encodeObjectRecord(meta, payload);
    try {
      ioCall(`save "${label}"`, () => writeFileAtomic(this.file(name), record, { mode: 0o600 }));
    } finally {
      record.fill(0);
    }
    this.index.stored(handle, label, isPrivate, name);
    return handle;
  }

  /** @throws {RangeError} for a bad label. @example store.find('Device Cert'); // 3 or null */
  find(label: string): ObjectHandle | null {
    labelBytes(label);
    return this.index.find(label);
  }

  /**
   * @throws {PalError} PAL_HANDLE_INVALID, PAL_OBJECT_ABSENT, PAL_OBJECT_CORRUPT (tampered, moved,
   *   torn, or another key), PAL_LOCKED, PAL_IO_FAILED, PAL_CLOSED
   * @example const { data } = store.get(store.find('Device Priv TLS Key')!);
   */
  get(handle: ObjectHandle): StoredObject {
    this.check();
    const e = this.index.present(handle);
    if (e.broken !== undefined) throw new PalError('PAL_OBJECT_CORRUPT', e.broken);
    const file = this.file(e.location);
    const bytes = ioCall(`read "${e.label}"`, () => readBytes(file));
    try {
      const rec = decodeObjectRecord(bytes, `"${file}"`);
      if (rec.label !== e.label || rec.handle !== e.handle) {
        throw new PalError('PAL_OBJECT_CORRUPT', `"${file}" now holds "${rec.label}" (handle ${rec.handle}), not "${e.label}" (handle ${e.handle}): it was replaced from outside; reopen the store`);
      }
      if (!rec.isPrivate) return { label: e.label, data: rec.payload.slice(), isPrivate: false };
      const key = this.requireKey(`read "${e.label}"`);
      let data: Uint8Array;
      try {
        data = gcmOpen(key, rec.payload, rec.header);
      } catch (err) {
        throw new PalError(
          'PAL_OBJECT_CORRUPT',
          `"${file}" fails authentication: it was modified, copied from another label or store, or encrypted under another wrapping key; restore it or save the object again`,
          err,
        );
      }
      return { label: e.label, data, isPrivate: true };
    } finally {
      bytes.fill(0);
    }
  }

  /** @throws {PalError} PAL_HANDLE_INVALID, PAL_IO_FAILED, PAL_CLOSED. @example store.destroy(h); */
  destroy(handle: ObjectHandle): void {
    this.check();
    const e: IndexEntry = this.index.entry(handle);
    if (!e.present) return;
    ioCall(`destroy "${e.label}"`, () => {
      try {
        fs.unlinkSync(this.file(e.location));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      syncDir(this.dir);
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

  /** Zeroizes the wrapping key copy; later calls throw PAL_CLOSED. */
  close(): void {
    this.key?.fill(0);
    this.key = null;
    this.closed = true;
  }
}

/** nonce ‖ ciphertext ‖ tag of AES-256-GCM. */
function gcmSeal(key: Uint8Array, data: Uint8Array, aad: Uint8Array): Uint8Array {
  const nonce = crypto.randomBytes(NONCE);
  const c = crypto.createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  const body = Buffer.concat([c.update(data), c.final()]);
  const out = new Uint8Array(NONCE + body.length + TAG);
  out.set(nonce, 0);
  out.set(body, NONCE);
  out.set(c.getAuthTag(), NONCE + body.length);
  return out;
}

/** Opens {@link gcmSeal}'s output; throws when authentication fails. */
function gcmOpen(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < NONCE + TAG) throw new Error('too short');
  const d = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - TAG));
  const first = d.update(sealed.subarray(NONCE, sealed.length - TAG));
  let last: Buffer;
  try {
    last = d.final();
  } catch (e) {
    first.fill(0);
    throw e;
  }
  const out = new Uint8Array(first.length + last.length);
  out.set(first, 0);
  out.set(last, first.length);
  first.fill(0);
  last.fill(0);
  return out;
}

/** A file's bytes as a plain Uint8Array (a Buffer's slice() would not copy); the Buffer is zeroized. */
function readBytes(file: string): Uint8Array {
  const buf = fs.readFileSync(file);
  const out = new Uint8Array(buf);
  buf.fill(0);
  return out;
}

/** Runs a file system call, turning its errors into PalError (the original kept as `cause`). */
function ioCall<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PalError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') throw new PalError('PAL_STORE_FULL', `Cannot ${what}: the disk is full (${code})`, e);
    throw new PalError('PAL_IO_FAILED', `Cannot ${what}: ${(e as Error).message}`, e);
  }
}
