import { toHex } from '../bytes/hex.js';
import { MemoryFlash } from '../flash/memory-flash.js';
import { ItemType, PAGE_SIZE } from './format/constants.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { NvsKeys } from './crypto/keys-partition.js';
import { NvsError } from './esp-err.js';
import { TYPE_NAMES } from './store/handle.js';
import type { NvsItemLocation, NvsPageInfo, NvsStats } from './store/storage.js';
import { NvsStorage } from './store/storage.js';

/** A decoded value, in the shape of the golden vectors' `expected` field. */
export type NvsDumpValue =
  | { type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'u64' | 'i64' | 'float' | 'double'; value: string; at?: NvsItemLocation }
  | { type: 'string'; size: number; hex: string; text: string; at?: NvsItemLocation }
  | {
      type: 'blob';
      size: number;
      hex: string;
      /** 'v2-chunked' (BLOB_IDX + BLOB_DATA chunks) or 'v1-single' (one type 0x41 item). */
      layout: 'v2-chunked' | 'v1-single';
      chunk_start?: number;
      chunks?: { chunk_index: number; page: number; entry: number; size: number }[];
      index_at?: NvsItemLocation;
      at?: NvsItemLocation;
    };

/** One problem found in an image. */
export interface NvsDumpProblem {
  /** ESP-IDF error name where one applies. */
  error?: string;
  page?: number;
  entry?: number;
  namespace?: string;
  key?: string;
  message: string;
}

/** Everything {@link readNvsPartition} learns from an image. */
export interface NvsDump {
  pages: NvsPageInfo[];
  namespaces: Record<string, Record<string, NvsDumpValue>>;
  /** Iteration order: [namespace, key, type code]. */
  iteration: [string, string, number][];
  stats: NvsStats | null;
  errors: NvsDumpProblem[];
  /**
   * Set when the partition cannot be used at all (e.g. ESP_ERR_NVS_NEW_VERSION_FOUND, a length
   * that is not a whole number of pages): the ESP-IDF error name.
   */
  fatal: string | null;
}

/** Options of {@link readNvsPartition}. */
export interface ReadNvsOptions {
  /**
   * 'read-only' (default): a pure reader, the `after_load.read_only` view of the vectors.
   * 'read-write': what `nvs_flash_init` would see, including its repairs and its free-page rule.
   */
  mode?: 'read-only' | 'read-write';
  /** Keys of an encrypted partition (and the crypto to use them with). */
  encryption?: { keys: NvsKeys; crypto: CryptoProvider };
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Decodes an NVS partition image without changing it: every page, namespace and value that is
 * still readable, the statistics, and a list of every problem with its page and entry. Works
 * on damaged images; never throws for bad image content.
 *
 * @example
 * const dump = readNvsPartition(bytes);
 * dump.namespaces.wifi.ssid; // { type: 'string', size: 8, hex: '...', text: 'factory' }
 */
export function readNvsPartition(image: Uint8Array, options: ReadNvsOptions = {}): NvsDump {
  // Null-prototype records: a namespace called "constructor" or a key "__proto__" are plain names here.
  const dump: NvsDump = { pages: [], namespaces: Object.create(null), iteration: [], stats: null, errors: [], fatal: null };
  const whole = image.length - (image.length % PAGE_SIZE);
  if (image.length === 0) {
    dump.fatal = 'ESP_ERR_INVALID_SIZE';
    dump.errors.push({ error: 'ESP_ERR_INVALID_SIZE', message: 'The image is empty (0 bytes), as a failed generator run can leave it' });
  } else if (whole !== image.length) {
    dump.fatal = 'ESP_ERR_INVALID_SIZE';
    dump.errors.push({
      error: 'ESP_ERR_INVALID_SIZE',
      message: `Image length ${image.length} is not a multiple of 4096 (truncated?); only the first ${whole / PAGE_SIZE} whole pages were read`,
    });
  }
  if (whole === 0) return dump;
  let storage: NvsStorage;
  try {
    storage = NvsStorage.init(new MemoryFlash(image.subarray(0, whole)), {
      readOnly: options.mode !== 'read-write',
      ...(options.encryption ? { encryption: options.encryption } : {}),
    });
  } catch (e) {
    if (!(e instanceof NvsError)) throw e;
    dump.fatal = e.code;
    dump.errors.push({ error: e.code, message: e.message });
    return dump;
  }
  for (const n of storage.loadNotes) {
    dump.errors.push({ page: n.page, entry: n.entry, message: `page ${n.page} entry ${n.entry}: ${n.problem} -> ${n.action}` });
  }
  // Pages, statistics and iteration as loaded: like the runtime, a value whose payload CRC fails is
  // only discovered (and dropped) when it is read below.
  dump.pages = storage.pages();
  try {
    dump.stats = storage.stats();
  } catch (e) {
    if (!(e instanceof NvsError)) throw e;
    dump.errors.push({ error: e.code, message: e.message });
  }
  for (const e of storage.entries()) dump.iteration.push([e.namespace, e.key, e.type]);
  for (const [name, ns] of storage.namespaces()) {
    const values: Record<string, NvsDumpValue> = Object.create(null);
    dump.namespaces[name] = values;
    for (const { key, type, at } of storage.keys(ns)) {
      try {
        values[key] = { ...decodeValue(storage, ns, key, type), at };
      } catch (err) {
        if (!(err instanceof NvsError)) throw err;
        dump.errors.push({ error: err.code, namespace: name, key, ...at, message: err.message });
      }
    }
  }
  storage.close();
  return dump;
}

function decodeValue(storage: NvsStorage, ns: number, key: string, type: number): NvsDumpValue {
  if (type === ItemType.SZ) {
    const bytes = storage.readString(ns, key);
    return { type: 'string', size: bytes.length + 1, hex: toHex(bytes), text: utf8.decode(bytes) };
  }
  if (type === ItemType.BLOB_IDX || type === ItemType.BLOB) {
    const layout = storage.blobLayout(ns, key);
    const bytes = storage.readBlob(ns, key);
    if (!layout) return { type: 'blob', size: bytes.length, hex: toHex(bytes), layout: 'v1-single' };
    return {
      type: 'blob',
      size: bytes.length,
      hex: toHex(bytes),
      layout: 'v2-chunked',
      chunk_start: layout.chunkStart,
      chunks: layout.chunks.map((c) => ({ chunk_index: c.chunkIndex, page: c.page, entry: c.entry, size: c.size })),
      index_at: layout.index,
    };
  }
  const name = TYPE_NAMES[type];
  if (!name || name === 'string' || name === 'blob') {
    throw new NvsError('ESP_ERR_NVS_TYPE_MISMATCH', `Key "${key}" has unknown type 0x${type.toString(16)}`);
  }
  return { type: name, value: String(storage.readFixed(ns, type, key)) };
}
