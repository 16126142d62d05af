import { ItemType } from '../format/constants.js';
import { NvsError } from '../esp-err.js';
import type { NvsEntryInfo, NvsStorage } from './storage.js';

/** How a namespace is opened (nvs_open_mode_t). */
export type NvsOpenMode = 'readonly' | 'readwrite';

/** Value types by name, as the vectors and the CLI spell them. */
export type NvsValueType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'float' | 'double' | 'string' | 'blob';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * A namespace opened on an {@link NvsStorage} (nvs_handle_t). Getters throw
 * `ESP_ERR_NVS_NOT_FOUND` for a missing key (also when the key holds another type, as ESP-IDF
 * does); setters write synchronously, so {@link NvsHandle.commit} only checks the handle.
 *
 * @example
 * const h = storage.open('app', 'readwrite');
 * h.setU32('boots', h.getU32Or('boots', 0) + 1);
 */
export class NvsHandle {
  private closed = false;

  constructor(
    private readonly storage: NvsStorage,
    /** Namespace index (1..254). */
    readonly nsIndex: number,
    /** Namespace name. */
    readonly namespace: string,
    readonly mode: NvsOpenMode,
  ) {}

  private r(): NvsStorage {
    if (this.closed) throw new NvsError('ESP_ERR_NVS_INVALID_HANDLE', `The handle of namespace "${this.namespace}" is closed`);
    return this.storage;
  }

  private w(): NvsStorage {
    const s = this.r();
    if (this.mode !== 'readwrite') {
      throw new NvsError('ESP_ERR_NVS_READ_ONLY', `Namespace "${this.namespace}" was opened read-only; open it with 'readwrite' to change it`);
    }
    return s;
  }

  /** nvs_set_u8. @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE; {RangeError} when out of range */
  setU8(key: string, value: number): void {
    this.w().writeFixed(this.nsIndex, ItemType.U8, key, value);
  }
  /** nvs_set_i8. @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE; {RangeError} when out of range */
  setI8(key: string, value: number): void {
    this.w().writeFixed(this.nsIndex, ItemType.I8, key, value);
  }
  /** nvs_set_u16. @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE; {RangeError} when out of range */
  setU16(key: string, value: number): void {
    this.w().writeFixed(this.nsIndex, ItemType.U16, key, value);
  }
  /** nvs_set_i16. @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE; {RangeError} when out of range */
  setI16(key: string, value: number): void {
    this.w().writeFixed(this.nsIndex, ItemType.I16, key, value);
  }
  /** nvs_set_u32. @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE; {RangeError} when out of range */
  setU32(key: string, value: number): void {
    this.w().writeFixed(this.nsIndex, ItemType.U32, key, value);
  }
  /** nvs_set_i32. @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE; {RangeError} when out of range */
  setI32(key: string, value: number): void {
    this.w().writeFixed(this.nsIndex, ItemType.I32, key, value);
  }
  /** nvs_set_u64. @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE; {RangeError} when out of range */
  setU64(key: string, value: bigint): void {
    this.w().writeFixed(this.nsIndex, ItemType.U64, key, value);
  }
  /** nvs_set_i64. @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE; {RangeError} when out of range */
  setI64(key: string, value: bigint): void {
    this.w().writeFixed(this.nsIndex, ItemType.I64, key, value);
  }
  /** nvs_set_float. @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE; {RangeError} when out of range */
  setFloat(key: string, value: number): void {
    this.w().writeFixed(this.nsIndex, ItemType.FLOAT, key, value);
  }
  /** nvs_set_double. @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE; {RangeError} when out of range */
  setDouble(key: string, value: number): void {
    this.w().writeFixed(this.nsIndex, ItemType.DOUBLE, key, value);
  }
  /**
   * Stores text as UTF-8 plus a NUL (at most 3999 bytes of text).
   * @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_VALUE_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE
   */
  setStr(key: string, value: string): void {
    this.w().writeString(this.nsIndex, key, utf8.encode(value));
  }
  /**
   * Stores a blob (chunked across pages when large).
   * @throws {NvsError} ESP_ERR_NVS_READ_ONLY, ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_VALUE_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE
   */
  setBlob(key: string, value: Uint8Array): void {
    this.w().writeBlob(this.nsIndex, key, value);
  }

  /** nvs_get_u8. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when missing or stored with another type */
  getU8(key: string): number {
    return this.r().readFixed(this.nsIndex, ItemType.U8, key) as number;
  }
  /** nvs_get_i8. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when missing or stored with another type */
  getI8(key: string): number {
    return this.r().readFixed(this.nsIndex, ItemType.I8, key) as number;
  }
  /** nvs_get_u16. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when missing or stored with another type */
  getU16(key: string): number {
    return this.r().readFixed(this.nsIndex, ItemType.U16, key) as number;
  }
  /** nvs_get_i16. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when missing or stored with another type */
  getI16(key: string): number {
    return this.r().readFixed(this.nsIndex, ItemType.I16, key) as number;
  }
  /** nvs_get_u32. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when missing or stored with another type */
  getU32(key: string): number {
    return this.r().readFixed(this.nsIndex, ItemType.U32, key) as number;
  }
  /** nvs_get_i32. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when missing or stored with another type */
  getI32(key: string): number {
    return this.r().readFixed(this.nsIndex, ItemType.I32, key) as number;
  }
  /** nvs_get_u64. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when missing or stored with another type */
  getU64(key: string): bigint {
    return this.r().readFixed(this.nsIndex, ItemType.U64, key) as bigint;
  }
  /** nvs_get_i64. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when missing or stored with another type */
  getI64(key: string): bigint {
    return this.r().readFixed(this.nsIndex, ItemType.I64, key) as bigint;
  }
  /** nvs_get_float. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when missing or stored with another type */
  getFloat(key: string): number {
    return this.r().readFixed(this.nsIndex, ItemType.FLOAT, key) as number;
  }
  /** nvs_get_double. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when missing or stored with another type */
  getDouble(key: string): number {
    return this.r().readFixed(this.nsIndex, ItemType.DOUBLE, key) as number;
  }
  /** The text of a string value. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND */
  getStr(key: string): string {
    return utf8Decoder.decode(this.r().readString(this.nsIndex, key));
  }
  /** The bytes of a string value, without the NUL. @throws {NvsError} ESP_ERR_NVS_NOT_FOUND */
  getStrBytes(key: string): Uint8Array {
    return this.r().readString(this.nsIndex, key);
  }
  /** A blob's bytes (chunked or version 1). @throws {NvsError} ESP_ERR_NVS_NOT_FOUND */
  getBlob(key: string): Uint8Array {
    return this.r().readBlob(this.nsIndex, key);
  }

  /** A u32, or `fallback` when the key is missing. */
  getU32Or(key: string, fallback: number): number {
    try {
      return this.getU32(key);
    } catch (e) {
      if (e instanceof NvsError && e.code === 'ESP_ERR_NVS_NOT_FOUND') return fallback;
      throw e;
    }
  }

  /** Reads any value by type name: numbers, bigint for 64-bit, string, or Uint8Array for blobs. */
  get(key: string, type: NvsValueType): number | bigint | string | Uint8Array {
    if (type === 'string') return this.getStr(key);
    if (type === 'blob') return this.getBlob(key);
    return this.r().readFixed(this.nsIndex, TYPE_CODES[type], key);
  }

  /** Writes any value by type name. */
  set(key: string, type: NvsValueType, value: number | bigint | string | Uint8Array): void {
    if (type === 'string') {
      if (typeof value !== 'string') throw new TypeError(`"value" for a string must be a string, got ${typeof value}`);
      this.setStr(key, value);
    } else if (type === 'blob') {
      if (!(value instanceof Uint8Array)) throw new TypeError(`"value" for a blob must be a Uint8Array, got ${typeof value}`);
      this.setBlob(key, value);
    } else {
      if (typeof value !== 'number' && typeof value !== 'bigint') throw new TypeError(`"value" for ${type} must be a number or bigint`);
      this.w().writeFixed(this.nsIndex, TYPE_CODES[type], key, value);
    }
  }

  /** The type of the value under `key` (nvs_find_key), or undefined when there is none. */
  findKey(key: string): NvsValueType | undefined {
    const t = this.r().findType(this.nsIndex, key);
    return t === undefined ? undefined : TYPE_NAMES[t];
  }

  /**
   * Erases one key (nvs_erase_key).
   * @throws {NvsError} ESP_ERR_NVS_NOT_FOUND
   */
  eraseKey(key: string): void {
    this.w().eraseKey(this.nsIndex, key);
  }

  /** Erases every key of this namespace (nvs_erase_all). */
  eraseAll(): void {
    this.w().eraseNamespace(this.nsIndex);
  }

  /** nvs_commit: writes are already on flash; this only checks that the handle may write. */
  commit(): void {
    this.w();
  }

  /** Entries this namespace uses (nvs_get_used_entry_count). */
  usedEntryCount(): number {
    return this.r().usedEntryCount(this.nsIndex);
  }

  /** Keys of this namespace in iteration order, optionally of one type. */
  *entries(type?: NvsValueType): IterableIterator<NvsEntryInfo> {
    const filter = type === undefined ? { ns: this.nsIndex } : { ns: this.nsIndex, type: type === 'blob' ? ItemType.BLOB_DATA : TYPE_CODES[type] };
    for (const e of this.r().entries(filter)) yield { namespace: e.namespace, key: e.key, type: e.type };
  }

  /** nvs_close. Later calls throw ESP_ERR_NVS_INVALID_HANDLE. */
  close(): void {
    this.closed = true;
  }
}

/** Type codes by name. */
export const TYPE_CODES: Readonly<Record<NvsValueType, number>> = Object.freeze({
  u8: ItemType.U8,
  i8: ItemType.I8,
  u16: ItemType.U16,
  i16: ItemType.I16,
  u32: ItemType.U32,
  i32: ItemType.I32,
  u64: ItemType.U64,
  i64: ItemType.I64,
  float: ItemType.FLOAT,
  double: ItemType.DOUBLE,
  string: ItemType.SZ,
  blob: ItemType.BLOB_DATA,
});

/** Type names by code (blob codes all map to 'blob'). */
export const TYPE_NAMES: Readonly<Record<number, NvsValueType>> = Object.freeze({
  ...Object.fromEntries(Object.entries(TYPE_CODES).map(([k, v]) => [v, k as NvsValueType])),
  [ItemType.BLOB]: 'blob',
  [ItemType.BLOB_IDX]: 'blob',
});
