/**
 * A store handle (the PAL's CK_OBJECT_HANDLE). Never 0: 0 is corePKCS11's `eInvalidHandle`.
 */
export type ObjectHandle = number;

/** What {@link ObjectStore.get} returns: a fresh copy the caller owns and should zeroize. */
export interface StoredObject {
  readonly label: string;
  /** The object's bytes (DER key or certificate, raw secret key). */
  readonly data: Uint8Array;
  /** Whether the object is secret: encrypted at rest, never shown without a key. */
  readonly isPrivate: boolean;
}

/** Options of {@link ObjectStore.save}. */
export interface SaveOptions {
  /** Whether the object is secret (private key, HMAC/CMAC key). Required for the secret default labels. */
  readonly isPrivate: boolean;
}

/** An object's metadata, without its value. */
export interface ObjectInfo {
  readonly handle: ObjectHandle;
  readonly label: string;
  readonly isPrivate: boolean;
}

/**
 * The token's persistent storage (the corePKCS11 PAL contract, redone): opaque blobs by label.
 *
 * - Labels are 1..32 bytes of UTF-8 ({@link MAX_LABEL_BYTES}); other strings throw RangeError.
 * - The credential labels of {@link DEFAULT_OBJECTS} have fixed handles 1..10; any other label gets
 *   a handle from {@link FIRST_DYNAMIC_HANDLE} up, kept for as long as the object exists and never
 *   given to another label of the same store. Handles are never 0.
 * - `save` is atomic: after a crash or power cut the label holds the old value or the new one.
 * - `destroy` of a known handle whose object is gone succeeds (idempotent); a handle the store never
 *   issued throws `PAL_HANDLE_INVALID`.
 *
 * Backends: {@link MemoryObjectStore}, {@link NvsObjectStore} (the device), `DirectoryObjectStore`
 * (`nvsec/node`, the host).
 *
 * @example
 * const h = store.save('Device Cert', certDer, { isPrivate: false });
 * store.find('Device Cert') === h; // true
 * const { data } = store.get(h);
 */
export interface ObjectStore {
  /**
   * Stores `data` under `label`, replacing any object with that label, and returns its handle.
   * @throws {RangeError} for a label that is not 1..32 bytes of UTF-8
   * @throws {PalError} PAL_PRIVATE_REQUIRED, PAL_STORE_FULL, PAL_IO_FAILED, PAL_LOCKED, PAL_CLOSED
   */
  save(label: string, data: Uint8Array, options: SaveOptions): ObjectHandle;
  /**
   * The handle of the object stored under `label`, or null when there is none.
   * @throws {RangeError} for a label that is not 1..32 bytes of UTF-8
   */
  find(label: string): ObjectHandle | null;
  /**
   * The object behind `handle`, as a fresh copy.
   * @throws {PalError} PAL_HANDLE_INVALID, PAL_OBJECT_ABSENT, PAL_OBJECT_CORRUPT, PAL_LOCKED, PAL_IO_FAILED
   */
  get(handle: ObjectHandle): StoredObject;
  /**
   * Deletes the object behind `handle`; a no-op when it is already gone.
   * @throws {PalError} PAL_HANDLE_INVALID, PAL_IO_FAILED
   */
  destroy(handle: ObjectHandle): void;
  /** Labels of the stored objects, in handle order. */
  labels(): string[];
  /** Handle, label and privacy of every stored object, in handle order. */
  list(): ObjectInfo[];
}

/**
 * A store that encrypts private objects under a key the token supplies after login (the
 * directory store). Stores without this method protect private objects by other means (NVS
 * encryption on the device) and can read them at any time.
 */
export interface WrappingObjectStore extends ObjectStore {
  /**
   * Sets the wrapping key (after login) or forgets it (null, at logout). With `reset`, the store
   * must hold no private object, and `key` becomes its key from now on (token re-initialisation).
   * @throws {PalError} PAL_WRONG_KEY when `key` is not the store's key (and `reset` is not set)
   */
  setWrappingKey(key: Uint8Array | null, options?: { reset?: boolean }): void;
}

/** Whether `store` encrypts private objects under a token-supplied key. */
export function isWrappingObjectStore(store: ObjectStore): store is WrappingObjectStore {
  return typeof (store as Partial<WrappingObjectStore>).setWrappingKey === 'function';
}
