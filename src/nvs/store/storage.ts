import { crc32le } from '../../bytes/crc32.js';
import { bytesEqual } from '../../bytes/equal.js';
import type { Flash } from '../../flash/flash.js';
import {
  CHUNK_ANY,
  CHUNK_MAX_SIZE,
  ENTRY_COUNT,
  ENTRY_SIZE,
  EntryState,
  FORMAT_VERSION,
  ItemType,
  isFixedSizeType,
  MAX_KEY_LENGTH,
  NS_INDEX,
  PAGE_SIZE,
  PageState,
  VerOffset,
} from '../format/constants.js';
import {
  encodeBlobIndexData,
  encodeEntry,
  encodeFixedValue,
  encodeKey,
  encodeVarLengthData,
  entryCrc,
  type FixedValue,
  readFixedValue,
  storedEntryCrc,
  typeName,
  varLengthCrc,
} from '../format/entry.js';
import { readPageHeader } from '../format/page-header.js';
import { NvsError } from '../esp-err.js';
import type { CryptoProvider } from '../../crypto/provider.js';
import { NvsEntryCipher } from '../crypto/entry-cipher.js';
import type { NvsKeys } from '../crypto/keys-partition.js';
import { NvsHandle, type NvsOpenMode } from './handle.js';
import { type ItemRef, type LoadNote, Page, type PageHost } from './page.js';

/** Options of {@link NvsStorage.init}. */
export interface NvsInitOptions {
  /**
   * Treat the partition as read-only (a partition flagged `readonly`, or an image being
   * inspected): repairs of damaged entries are applied in memory only, the cross-page duplicate
   * repair, FREEING completion and free-page requirement are skipped, and writes are refused.
   */
  readOnly?: boolean;
  /** Zero-fill entries when they are erased (ESP-IDF's NVS_READWRITE_PURGE). */
  purge?: boolean;
  /**
   * Open an encrypted partition (ESP-IDF's secure init): entries are XTS-AES-256 encrypted with
   * these keys. The store keeps its own copy of the keys and zeroizes it on {@link NvsStorage.close}.
   */
  encryption?: { keys: NvsKeys; crypto: CryptoProvider };
}

/** nvs_get_stats figures. */
export interface NvsStats {
  usedEntries: number;
  freeEntries: number;
  availableEntries: number;
  totalEntries: number;
  namespaceCount: number;
}

/** One entry reported by iteration (nvs_entry_find/next). */
export interface NvsEntryInfo {
  namespace: string;
  key: string;
  /** Type code: integer codes, 0x21 for strings, 0x42 for blobs. */
  type: number;
}

/** Summary of a page for reports. */
export interface NvsPageInfo {
  page: number;
  state: 'UNINITIALIZED' | 'ACTIVE' | 'FULL' | 'FREEING' | 'CORRUPT';
  seq: number | null;
  version: number | null;
  usedEntries: number;
  erasedEntries: number;
  corruptReason?: string;
}

/** Where an item lives, for reports. */
export interface NvsItemLocation {
  page: number;
  entry: number;
}

const hk = (ns: number, chunk: number, key: string): string => `${ns}:${chunk}:${key}`;

/**
 * The NVS runtime on one partition, behaving like ESP-IDF's `nvs::Storage`: same on-flash format,
 * same page state machine and garbage collection (one spare page), same recovery of interrupted
 * writes at init, same lookup and iteration order. Writes are synchronous (commit is a no-op).
 * Lookups go through an in-memory index, never a page scan.
 *
 * Most users want {@link NvsStorage.open} to get a namespace handle.
 *
 * @example
 * const nvs = NvsStorage.init(new MemoryFlash(0x6000));
 * const h = nvs.open('wifi', 'readwrite');
 * h.setStr('ssid', 'factory');
 */
export class NvsStorage {
  readonly readOnly: boolean;
  readonly purge: boolean;
  /** Problems found and repaired (or, read-only, ignored) while loading. */
  readonly loadNotes: LoadNote[] = [];
  private readonly physical: Page[] = [];
  /** Pages with a sequence number, in sequence order; the last is the current page. */
  private readonly used: Page[] = [];
  /** UNINITIALIZED and CORRUPT pages. */
  private readonly free: Page[] = [];
  private nextSeq = 0;
  private readonly index = new Map<string, ItemRef[]>();
  /** BLOB_DATA items by namespace and key, whatever their chunk number. */
  private readonly chunksByKey = new Map<string, Set<ItemRef>>();
  private readonly nsByName = new Map<string, number>();
  private readonly nsName = new Map<number, string>();
  private readonly nsUsed = new Uint8Array(256);
  /** Namespace entries known (loaded or created): nvs_get_stats' namespace_count. */
  private nsEntries = 0;
  private readonly host: PageHost;
  private readonly scratch = new Uint8Array(ENTRY_SIZE);

  private constructor(
    readonly flash: Flash,
    options: NvsInitOptions,
  ) {
    this.readOnly = options.readOnly ?? false;
    this.purge = options.purge ?? false;
    const cipher = options.encryption ? new NvsEntryCipher(options.encryption.crypto, options.encryption.keys) : null;
    this.host = { flash, cipher, readOnly: this.readOnly, note: (n) => this.loadNotes.push(n) };
  }

  /**
   * Loads a partition (nvs_flash_init_partition). Never erases user data to get past a problem:
   * a partition that cannot be used is reported with its ESP-IDF error and left as it is.
   *
   * @throws {NvsError} ESP_ERR_NVS_NEW_VERSION_FOUND when a page has a newer format version;
   *   ESP_ERR_NVS_NO_FREE_PAGES (read-write) when no page is free; ESP_ERR_INVALID_SIZE when
   *   the flash is smaller than one page
   */
  static init(flash: Flash, options: NvsInitOptions = {}): NvsStorage {
    const s = new NvsStorage(flash, options);
    s.load();
    return s;
  }

  // ---------------------------------------------------------------- loading

  private load(): void {
    const pageCount = Math.floor(this.flash.size / PAGE_SIZE);
    if (pageCount < 1) throw new NvsError('ESP_ERR_INVALID_SIZE', `Partition of ${this.flash.size} bytes holds no 4096-byte page`);
    this.checkHeaders(pageCount);
    const raw = new Uint8Array(PAGE_SIZE);
    for (let i = 0; i < pageCount; i++) {
      const page = new Page(this.host, i);
      this.flash.read(i * PAGE_SIZE, raw);
      page.load(raw);
      this.physical.push(page);
    }
    for (const p of this.physical) {
      if (p.seq < 0) this.free.push(p);
      else {
        // stable insertion by sequence number
        let at = this.used.length;
        while (at > 0 && this.used[at - 1]!.seq > p.seq) at--;
        this.used.splice(at, 0, p);
      }
    }
    if (this.used.length === 0) {
      this.nextSeq = 0;
      if (!this.readOnly || this.free.length > 0) this.activatePage();
    } else {
      this.nextSeq = this.used[this.used.length - 1]!.seq + 1;
    }
    if (!this.readOnly) {
      this.removeInterruptedUpdateDuplicate();
      this.finishFreeing();
    }
    for (const p of this.used) for (const it of p.itemsInOrder()) this.indexAdd(it);
    this.loadNamespaces();
    this.reconcileBlobs();
  }

  /**
   * Decides from the page headers alone, before loading writes any repair, whether the partition
   * can be used at all: a newer format version, or (read-write) no page that can serve as the
   * spare, fails the init with the flash untouched.
   */
  private checkHeaders(pageCount: number): void {
    const h = new Uint8Array(32);
    let spare = 0;
    let freeing = false;
    for (let i = 0; i < pageCount; i++) {
      this.flash.read(i * PAGE_SIZE, h);
      const header = readPageHeader(h);
      const valid = header.state !== PageState.UNINITIALIZED && header.crcValid;
      if (valid && header.version < FORMAT_VERSION.V2) {
        throw new NvsError(
          'ESP_ERR_NVS_NEW_VERSION_FOUND',
          `Page ${i} has NVS format version byte 0x${header.version.toString(16)}, newer than this implementation (0xFE); ` +
            'the partition was written by newer firmware. Nothing was changed: read it with newer tools, or erase it deliberately',
        );
      }
      const state = header.state;
      if (!valid || (state !== PageState.ACTIVE && state !== PageState.FULL && state !== PageState.FREEING)) spare++;
      if (valid && state === PageState.FREEING) freeing = true;
    }
    // An interrupted reclaim frees pages as it is finished, so it gets its chance to run.
    if (!this.readOnly && spare === 0 && !freeing) {
      throw new NvsError(
        'ESP_ERR_NVS_NO_FREE_PAGES',
        `No free page among ${pageCount}: NVS needs one empty page to work. Nothing was changed. ` +
          'The image may be truncated or written for a larger partition; back it up, then enlarge the partition or erase it deliberately',
      );
    }
    if (!this.readOnly) this.checkEntriesReadable(pageCount);
  }

  /**
   * A read-write init erases every entry that fails its CRC. With a wrong key, a plaintext image
   * opened with keys, or an encrypted image opened without them, that is every entry: the
   * reference runtime silently wipes the partition. Here up to 256 written entries are checked
   * first; with the right key every item header among them passes its CRC, so when none does,
   * the init fails with the flash untouched.
   */
  private checkEntriesReadable(pageCount: number): void {
    const head = new Uint8Array(64);
    const offsets: number[] = [];
    for (let p = 0; p < pageCount && offsets.length < 256; p++) {
      this.flash.read(p * PAGE_SIZE, head);
      const h = readPageHeader(head);
      if (!h.crcValid || (h.state !== PageState.ACTIVE && h.state !== PageState.FULL && h.state !== PageState.FREEING)) continue;
      for (let i = 0; i < ENTRY_COUNT && offsets.length < 256; i++) {
        if (((head[32 + (i >> 2)]! >> ((i & 3) * 2)) & 3) === EntryState.WRITTEN) offsets.push(p * PAGE_SIZE + 64 + i * ENTRY_SIZE);
      }
    }
    if (offsets.length < 8) return;
    let entries: Uint8Array = new Uint8Array(offsets.length * ENTRY_SIZE);
    offsets.forEach((at, k) => this.flash.read(at, entries.subarray(k * ENTRY_SIZE, (k + 1) * ENTRY_SIZE)));
    if (this.host.cipher) entries = this.host.cipher.decryptAt(entries, offsets);
    for (let k = 0; k < offsets.length; k++) if (storedEntryCrc(entries, k * ENTRY_SIZE) === entryCrc(entries, k * ENTRY_SIZE)) return;
    const counts = `none of ${offsets.length} written entries passes its CRC`;
    if (this.host.cipher) {
      throw new NvsError(
        'ESP_ERR_NVS_XTS_DECR_FAILED',
        `After decryption ${counts}: wrong key, plaintext image, or wrong partition offset. Nothing was changed (a read-write ` +
          'init would erase them all); "nvsec nvs dump IMAGE --keyfile KEYS.bin" tells which',
      );
    }
    throw new NvsError(
      'ESP_ERR_INVALID_STATE',
      `${counts[0]!.toUpperCase()}${counts.slice(1)}: the partition is most likely encrypted (open it with its keys) or not an ` +
        'NVS partition. Nothing was changed (a read-write init would erase them all)',
    );
  }

  /**
   * A power cut between writing a new value and erasing the old one leaves both. The newest item
   * is the last one on the last page; erase its older copies on other pages.
   */
  private removeInterruptedUpdateDuplicate(): void {
    const lastPage = this.used[this.used.length - 1];
    if (!lastPage) return;
    let last: ItemRef | undefined;
    for (const it of lastPage.itemsInOrder()) last = it;
    if (!last) return;
    const matches = (it: ItemRef, types: (t: number) => boolean) =>
      it.ns === last.ns && it.key === last.key && it.chunk === last.chunk && types(it.type);
    const eraseOlder = (types: (t: number) => boolean): boolean => {
      let found = false;
      for (const p of this.used) {
        if (p === lastPage || p.state === PageState.FREEING) continue;
        for (const it of p.items) {
          if (it && matches(it, types)) {
            this.note(it, 'older copy of the last item written (interrupted update)');
            p.eraseItem(it, true);
            found = true;
          }
        }
      }
      return found;
    };
    if (last.type === ItemType.BLOB_IDX) {
      if (!eraseOlder((t) => t === ItemType.BLOB_IDX)) eraseOlder((t) => t !== ItemType.BLOB_IDX);
    } else {
      // nvsec keeps one value per key: a newer item of another type supersedes the old one too.
      eraseOlder(() => true);
    }
  }

  /**
   * A power cut during garbage collection leaves a FREEING page: redo the copy, then erase it.
   * The newest page, when ACTIVE, is the half-filled copy target and is erased first, but only
   * when it verifiably holds nothing but a copy of the FREEING page's first items (the reference
   * runtime erases it unconditionally, which loses data when the FREEING state came from damage).
   */
  private finishFreeing(): void {
    for (let freeing = this.freeingPage(); freeing; freeing = this.freeingPage()) {
      const back = this.used[this.used.length - 1]!;
      if (back !== freeing && back.state === PageState.ACTIVE && back.seq > freeing.seq && this.isPrefixCopy(back, freeing)) {
        back.erase();
        this.used.pop();
        this.free.push(back);
      }
      const target = this.activatePage();
      this.copyItems(freeing, target, false);
      freeing.erase();
      this.used.splice(this.used.indexOf(freeing), 1);
      this.free.push(freeing);
    }
  }

  /** True when the items of `copy` are, entry for entry, the first items of `source`. */
  private isPrefixCopy(copy: Page, source: Page): boolean {
    const from = source.itemsInOrder();
    for (const it of copy.itemsInOrder()) {
      const orig = from.next();
      if (orig.done || orig.value.span !== it.span) return false;
      if (!bytesEqual(copy.readEntries(it.entry, it.span), source.readEntries(orig.value.entry, it.span))) return false;
    }
    return true;
  }

  private freeingPage(): Page | undefined {
    return this.used.find((p) => p.state === PageState.FREEING);
  }

  private loadNamespaces(): void {
    this.nsUsed.fill(0);
    for (const p of this.used) {
      for (const it of p.itemsInOrder()) {
        if (it.ns !== NS_INDEX) continue;
        if (it.type !== ItemType.U8) break; // the runtime's namespace scan stops here on this page
        const idx = this.readFixedAt(it) as number;
        this.nsEntries++;
        const known = this.nsByName.get(it.key);
        if (known === undefined) this.nsByName.set(it.key, idx);
        else if (known !== idx) this.noteIgnored(it, `namespace "${it.key}" defined again as index ${idx}; lookups use index ${known}`);
        const named = this.nsName.get(idx);
        if (named === undefined) this.nsName.set(idx, it.key);
        else if (named !== it.key) this.noteIgnored(it, `namespace index ${idx} named again "${it.key}"; it is shown as "${named}"`);
        this.nsUsed[idx] = 1;
      }
    }
    this.nsUsed[0] = 1;
    this.nsUsed[255] = 1;
  }

  /**
   * Drops blob indexes whose chunks do not add up, then chunks that no surviving index covers
   * (what a power cut in the middle of a blob write or update leaves behind).
   */
  private reconcileBlobs(): void {
    type Tally = { ref: ItemRef; size: number; count: number };
    // Blob indexes by namespace and key, in page order (the first covering index wins).
    const byKey = new Map<string, Tally[]>();
    const chunks: ItemRef[] = [];
    for (const p of this.used) {
      for (const it of p.itemsInOrder()) {
        if (it.type === ItemType.BLOB_DATA) chunks.push(it);
        else if (it.type === ItemType.BLOB_IDX) {
          const k = `${it.ns}:${it.key}`;
          const list = byKey.get(k);
          const t = { ref: it, size: 0, count: 0 };
          if (list) list.push(t);
          else byKey.set(k, [t]);
        }
      }
    }
    const covering = (it: ItemRef, full: boolean): Tally | undefined =>
      byKey.get(`${it.ns}:${it.key}`)?.find(
        (e) =>
          it.chunk >= e.ref.chunkStart &&
          it.chunk < (full ? e.ref.chunkStart + e.ref.chunkCount : e.ref.chunkStart === VerOffset.VER_0_OFFSET ? 0x80 : 0xff),
      );
    for (const it of chunks) {
      const e = covering(it, false);
      if (e) {
        e.size += it.size;
        e.count++;
      }
    }
    for (const list of byKey.values()) {
      for (let i = list.length - 1; i >= 0; i--) {
        const e = list[i]!;
        if (e.size !== e.ref.size || e.count !== e.ref.chunkCount) {
          this.note(e.ref, `blob index does not match its chunks (${e.count} of ${e.ref.chunkCount} chunks, ${e.size} of ${e.ref.size} bytes)`);
          this.eraseRef(e.ref, true);
          list.splice(i, 1);
        }
      }
    }
    for (const it of chunks) {
      if (!covering(it, true)) {
        this.note(it, 'blob chunk not covered by any blob index (orphan)');
        this.eraseRef(it, true);
      }
    }
  }

  private note(it: ItemRef, problem: string): void {
    this.loadNotes.push({ page: it.page.index, entry: it.entry, problem, action: 'erased' });
  }

  private noteIgnored(it: ItemRef, problem: string): void {
    this.loadNotes.push({ page: it.page.index, entry: it.entry, problem, action: 'ignored' });
  }

  // ---------------------------------------------------------------- page management

  private activatePage(): Page {
    const p = this.free.shift();
    if (!p) throw new NvsError('ESP_ERR_NVS_NOT_ENOUGH_SPACE', 'No free page left to activate');
    if (this.nextSeq > 0xffffffff) {
      this.free.unshift(p);
      throw new NvsError(
        'ESP_ERR_NVS_INVALID_STATE',
        'Page sequence numbers are exhausted (a page has sequence number 0xFFFFFFFF, most likely damage): ' +
          'the partition can still be read but not written; back it up, then erase it deliberately',
      );
    }
    if (p.state === PageState.CORRUPT) p.erase();
    p.seq = this.nextSeq++;
    this.used.push(p);
    return p;
  }

  /** The page new items go to. */
  private current(): Page {
    const p = this.used[this.used.length - 1];
    if (!p) throw new NvsError('ESP_ERR_NVS_NOT_INITIALIZED', 'The partition has no usable page');
    return p;
  }

  private markFull(p: Page): void {
    if (p.state === PageState.ACTIVE) p.setPageState(PageState.FULL);
  }

  /**
   * Moves to a new page. With two or more free pages one is simply activated; with one left, the
   * used page with the most reclaimable entries is copied to it and erased (so one page always
   * stays spare).
   */
  private requestNewPage(): void {
    if (this.free.length === 0) throw new NvsError('ESP_ERR_NVS_INVALID_STATE', 'No spare page: the partition is in an inconsistent state');
    if (this.free.length >= 2) {
      this.activatePage();
      return;
    }
    let victim: Page | undefined;
    let maxUnused = 0;
    for (const p of this.used) {
      if (p.state !== PageState.FULL && p.state !== PageState.ACTIVE) continue;
      const unused = ENTRY_COUNT - p.usedCount;
      if (unused > maxUnused) {
        maxUnused = unused;
        victim = p;
      }
    }
    if (!victim) throw notEnoughSpace();
    // FREEING first: from here on a power cut is recovered by redoing the copy at init.
    victim.setPageState(PageState.FREEING);
    const target = this.activatePage();
    this.copyItems(victim, target, true);
    victim.erase();
    this.used.splice(this.used.indexOf(victim), 1);
    this.free.push(victim);
  }

  /** Copies every item of `src` to `dst` entry by entry, moving index entries along. */
  private copyItems(src: Page, dst: Page, indexed: boolean): void {
    const items = [...src.itemsInOrder()];
    if (items.length === 0) return;
    if (dst.state === PageState.UNINITIALIZED) dst.initialize();
    for (const it of items) {
      const raw = src.readEntries(it.entry, it.span);
      const { page: _p, entry: _e, ...fields } = it;
      const copy = dst.appendItem(raw, fields, true);
      if (indexed) {
        this.indexRemove(it);
        this.indexAdd(copy);
      }
    }
  }

  // ---------------------------------------------------------------- index

  private indexAdd(it: ItemRef): void {
    const k = hk(it.ns, it.chunk, it.key);
    const list = this.index.get(k);
    if (list) list.push(it);
    else this.index.set(k, [it]);
    if (it.type === ItemType.BLOB_DATA) {
      const ck = `${it.ns}:${it.key}`;
      const set = this.chunksByKey.get(ck);
      if (set) set.add(it);
      else this.chunksByKey.set(ck, new Set([it]));
    }
  }

  private indexRemove(it: ItemRef): void {
    const k = hk(it.ns, it.chunk, it.key);
    const list = this.index.get(k);
    if (!list) return;
    const i = list.indexOf(it);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.index.delete(k);
    if (it.type === ItemType.BLOB_DATA) {
      const ck = `${it.ns}:${it.key}`;
      const set = this.chunksByKey.get(ck);
      set?.delete(it);
      if (set?.size === 0) this.chunksByKey.delete(ck);
    }
  }

  /**
   * The runtime's findItem: pages in sequence order; on each page the first item with this
   * namespace, key and chunk decides (another type there means "not on this page").
   */
  private find(ns: number, type: number, key: string, chunk = CHUNK_ANY, chunkStart: number = VerOffset.VER_ANY): ItemRef | undefined {
    const list = this.index.get(hk(ns, chunk, key));
    if (!list) return undefined;
    let skip: Page | null = null;
    for (const it of list) {
      if (it.page === skip) continue;
      // Only blob chunks carry a chunk number; any other item there is damage and is passed over
      // (the reference would let it hide the chunks on its page).
      if (chunk !== CHUNK_ANY && it.type !== ItemType.BLOB_DATA) continue;
      if (type === ItemType.BLOB_IDX && it.type === ItemType.BLOB_IDX && chunkStart !== VerOffset.VER_ANY && it.chunkStart !== chunkStart) continue;
      if (type === ItemType.ANY || it.type === type) return it;
      skip = it.page;
    }
    return undefined;
  }

  /** Erases an item; `purge` zero-fills it too (always for load-time repairs). */
  private eraseRef(it: ItemRef, purge = this.purge): void {
    this.indexRemove(it);
    it.page.eraseItem(it, purge);
  }

  /** Erases a blob index, then the chunks of its version. */
  private eraseBlob(idx: ItemRef): void {
    this.eraseRef(idx);
    this.eraseChunks(idx.ns, idx.key, idx.chunkStart, idx.chunkStart + idx.chunkCount);
  }

  /** Erases every item of (ns, key) except `keep`: older copies and values of other types. */
  private eraseAllExcept(ns: number, key: string, keep: ItemRef | null): void {
    const list = this.index.get(hk(ns, CHUNK_ANY, key));
    if (!list) return;
    for (const it of [...list]) {
      if (it === keep) continue;
      if (it.type === ItemType.BLOB_IDX && !(keep?.type === ItemType.BLOB_IDX && keep.chunkStart === it.chunkStart)) this.eraseBlob(it);
      else this.eraseRef(it);
    }
  }

  // ---------------------------------------------------------------- reading

  private readEntry(it: ItemRef): Uint8Array {
    const at = it.page.entryAddress(it.entry);
    this.flash.read(at, this.scratch);
    return this.host.cipher ? this.host.cipher.decrypt(this.scratch, at) : this.scratch;
  }

  /** Whether the partition was opened with encryption keys. */
  get encrypted(): boolean {
    return this.host.cipher !== null;
  }

  /** Zeroizes the encryption keys this store holds; an encrypted store cannot be used afterwards. */
  close(): void {
    this.host.cipher?.destroy();
  }

  private readFixedAt(it: ItemRef): FixedValue {
    return readFixedValue(this.readEntry(it), 0, it.type);
  }

  /** Payload of a variable-length item, or null (after erasing it) when its CRC fails. */
  private readPayload(it: ItemRef): Uint8Array | null {
    const raw = it.page.readEntries(it.entry, it.span);
    const payload = raw.subarray(ENTRY_SIZE, ENTRY_SIZE + it.size);
    if (crc32le(payload) !== varLengthCrc(raw, 0)) {
      this.eraseRef(it);
      return null;
    }
    return payload.slice();
  }

  /**
   * Reads a fixed-size value (nvs_get_u8 … nvs_get_i64).
   * @throws {NvsError} ESP_ERR_NVS_NOT_FOUND when the key has no value of this type
   */
  readFixed(ns: number, type: number, key: string): FixedValue {
    const it = this.find(ns, type, key);
    if (!it) throw notFound(key, type);
    const buf = this.readEntry(it);
    if (storedEntryCrc(buf, 0) !== entryCrc(buf, 0)) {
      this.eraseRef(it);
      return this.readFixed(ns, type, key);
    }
    return readFixedValue(buf, 0, type);
  }

  /**
   * Reads a string's bytes without the terminating NUL (nvs_get_str).
   * @throws {NvsError} ESP_ERR_NVS_NOT_FOUND
   */
  readString(ns: number, key: string): Uint8Array {
    const it = this.find(ns, ItemType.SZ, key);
    if (!it) throw notFound(key, ItemType.SZ);
    const p = this.readPayload(it);
    if (!p) throw notFound(key, ItemType.SZ, 'its data failed the CRC check and was discarded');
    return p.subarray(0, Math.max(0, p.length - 1));
  }

  /**
   * Reads a blob (nvs_get_blob): a chunked version-2 blob, else a version-1 blob.
   * @throws {NvsError} ESP_ERR_NVS_NOT_FOUND
   */
  readBlob(ns: number, key: string): Uint8Array {
    const idx = this.find(ns, ItemType.BLOB_IDX, key);
    if (idx) {
      const out = new Uint8Array(idx.size);
      let at = 0;
      for (let c = 0; c < idx.chunkCount; c++) {
        const chunk = this.find(ns, ItemType.BLOB_DATA, key, idx.chunkStart + c);
        const data = chunk && at + chunk.size <= out.length ? this.readPayload(chunk) : null;
        if (!data) {
          this.eraseBlob(idx);
          throw notFound(key, ItemType.BLOB_DATA, `chunk ${c} of ${idx.chunkCount} is missing or damaged, so the blob was discarded`);
        }
        out.set(data, at);
        at += data.length;
      }
      if (at !== out.length) {
        this.eraseBlob(idx);
        throw notFound(key, ItemType.BLOB_DATA, `its chunks hold ${at} of the ${out.length} bytes its index declares, so the blob was discarded`);
      }
      return out;
    }
    const v1 = this.find(ns, ItemType.BLOB, key);
    if (!v1) throw notFound(key, ItemType.BLOB_DATA);
    const p = this.readPayload(v1);
    if (!p) throw notFound(key, ItemType.BLOB_DATA, 'its data failed the CRC check and was discarded');
    return p;
  }

  /** Type code of the value stored under `key` (nvs_find_key), or undefined. Blobs report 0x42. */
  findType(ns: number, key: string): number | undefined {
    const it = this.find(ns, ItemType.ANY, key);
    if (!it) return undefined;
    return it.type === ItemType.BLOB_IDX || it.type === ItemType.BLOB ? ItemType.BLOB_DATA : it.type;
  }

  /**
   * Keys of a namespace in page order, each once, with the type of the item that answers for it
   * (BLOB_IDX for a chunked blob, BLOB for a version-1 blob) and where that item is. Unlike
   * iteration, version-1 blobs are included.
   */
  *keys(ns: number): IterableIterator<{ key: string; type: number; at: NvsItemLocation }> {
    const seen = new Set<string>();
    for (const p of this.used) {
      for (const it of p.itemsInOrder()) {
        if (it.ns !== ns || it.chunk !== CHUNK_ANY || seen.has(it.key)) continue;
        seen.add(it.key);
        const answer = it.type === ItemType.BLOB ? (this.find(ns, ItemType.BLOB_IDX, it.key) ?? it) : it;
        yield { key: it.key, type: answer.type, at: { page: answer.page.index, entry: answer.entry } };
      }
    }
  }

  /** Where the pieces of a chunked blob are: its index entry and each chunk, for reports. */
  blobLayout(ns: number, key: string): { chunkStart: number; index: NvsItemLocation; chunks: { chunkIndex: number; page: number; entry: number; size: number }[] } | undefined {
    const idx = this.find(ns, ItemType.BLOB_IDX, key);
    if (!idx) return undefined;
    const chunks = [];
    for (let c = idx.chunkStart; c < idx.chunkStart + idx.chunkCount; c++) {
      const it = this.find(ns, ItemType.BLOB_DATA, key, c);
      if (it) chunks.push({ chunkIndex: c, page: it.page.index, entry: it.entry, size: it.size });
    }
    return { chunkStart: idx.chunkStart, index: { page: idx.page.index, entry: idx.entry }, chunks };
  }

  // ---------------------------------------------------------------- writing

  private checkWrite(key: string): Uint8Array {
    if (this.readOnly) throw new NvsError('ESP_ERR_NOT_ALLOWED', 'The partition was opened read-only; writes are not allowed');
    const kb = encodeKey(key);
    if (kb.length > MAX_KEY_LENGTH) {
      throw new NvsError('ESP_ERR_NVS_KEY_TOO_LONG', `Key "${key}" is ${kb.length} bytes; NVS keys hold at most ${MAX_KEY_LENGTH}`);
    }
    if (kb.length === 0) throw new NvsError('ESP_ERR_NVS_INVALID_NAME', 'An empty key or namespace name is not allowed');
    return kb;
  }

  /** Appends an encoded item, moving to a new page (with garbage collection) when it does not fit. */
  private append(entries: Uint8Array, fields: Omit<ItemRef, 'page' | 'entry'>): ItemRef {
    const count = entries.length / ENTRY_SIZE;
    let page = this.current();
    if (page.freeEntries < count) {
      this.markFull(page);
      this.requestNewPage();
      page = this.current();
      if (page.freeEntries < count) throw notEnoughSpace();
    }
    const ref = page.appendItem(entries, fields, false);
    this.indexAdd(ref);
    return ref;
  }

  /**
   * Writes a fixed-size value (nvs_set_u8 … nvs_set_i64, float, double). An unchanged value is
   * not rewritten. The new item is written before the old one is erased, so a power cut leaves
   * the old or the new value.
   * @throws {NvsError} ESP_ERR_NVS_KEY_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE
   * @throws {RangeError} when the value does not fit the type
   */
  writeFixed(ns: number, type: number, key: string, value: FixedValue): void {
    if (!isFixedSizeType(type)) throw new RangeError(`Type 0x${type.toString(16)} is not a fixed-size type`);
    const kb = this.checkWrite(key);
    const data = encodeFixedValue(type, value);
    const old = this.find(ns, type, key);
    if (old && this.onlyItem(old) && bytesEqual(this.readEntry(old).subarray(24, 32), data)) return;
    const entry = new Uint8Array(ENTRY_SIZE);
    encodeEntry(entry, 0, ns, type, 1, CHUNK_ANY, kb, data);
    const ref = this.append(entry, { ns, type, span: 1, chunk: CHUNK_ANY, key, size: 0, chunkCount: 0, chunkStart: 0 });
    this.eraseAllExcept(ns, key, ref);
  }

  /**
   * Writes a string (nvs_set_str): `bytes` are the UTF-8 text without NUL.
   * @throws {NvsError} ESP_ERR_NVS_VALUE_TOO_LONG above 3999 bytes, ESP_ERR_NVS_NOT_ENOUGH_SPACE
   */
  writeString(ns: number, key: string, bytes: Uint8Array): void {
    const kb = this.checkWrite(key);
    if (bytes.length + 1 > CHUNK_MAX_SIZE) {
      throw new NvsError('ESP_ERR_NVS_VALUE_TOO_LONG', `String "${key}" is ${bytes.length + 1} bytes with its NUL; the limit is ${CHUNK_MAX_SIZE}`);
    }
    const payload = new Uint8Array(bytes.length + 1);
    payload.set(bytes);
    const old = this.find(ns, ItemType.SZ, key);
    if (old && old.size === payload.length && this.onlyItem(old)) {
      const cur = old.page.readEntries(old.entry, old.span);
      if (bytesEqual(cur.subarray(ENTRY_SIZE, ENTRY_SIZE + payload.length), payload) && crc32le(payload) === varLengthCrc(cur, 0)) return;
    }
    const ref = this.appendVar(ns, ItemType.SZ, key, kb, payload, CHUNK_ANY);
    this.eraseAllExcept(ns, key, ref);
  }

  private appendVar(ns: number, type: number, key: string, kb: Uint8Array, payload: Uint8Array, chunk: number): ItemRef {
    const span = 1 + Math.ceil(payload.length / ENTRY_SIZE);
    const entries = new Uint8Array(span * ENTRY_SIZE).fill(0xff);
    encodeEntry(entries, 0, ns, type, span, chunk, kb, encodeVarLengthData(payload.length, crc32le(payload)));
    entries.set(payload, ENTRY_SIZE);
    return this.append(entries, { ns, type, span, chunk, key, size: payload.length, chunkCount: 0, chunkStart: 0 });
  }

  /** True when no other item shares this item's namespace and key. */
  private onlyItem(it: ItemRef): boolean {
    return this.index.get(hk(it.ns, CHUNK_ANY, it.key))?.length === 1;
  }

  /**
   * Writes a blob (nvs_set_blob) in the version-2 chunked form, flipping the version so that the
   * old blob stays readable until the new index is written.
   * @throws {NvsError} ESP_ERR_NVS_VALUE_TOO_LONG, ESP_ERR_NVS_NOT_ENOUGH_SPACE
   */
  writeBlob(ns: number, key: string, data: Uint8Array): void {
    const kb = this.checkWrite(key);
    const maxChunks = Math.min(this.physical.length - 1, 127);
    if (data.length > maxChunks * CHUNK_MAX_SIZE) {
      throw new NvsError(
        'ESP_ERR_NVS_VALUE_TOO_LONG',
        `Blob "${key}" is ${data.length} bytes; this ${this.physical.length}-page partition holds blobs up to ${maxChunks * CHUNK_MAX_SIZE}`,
      );
    }
    // The readable blob keeps its version range; the new one goes to the other range, which must
    // hold nothing that belongs to a readable value: whatever is there (an older or shadowed index,
    // orphan chunks of damaged images) is cleared first.
    const old = this.find(ns, ItemType.BLOB_IDX, key);
    if (old && this.onlyItem(old) && old.size === data.length && this.blobEquals(old, data)) return;
    const current = this.find(ns, ItemType.BLOB_IDX, key); // blobEquals may have discarded a damaged blob
    const start = current?.chunkStart === VerOffset.VER_0_OFFSET ? VerOffset.VER_1_OFFSET : VerOffset.VER_0_OFFSET;
    for (const it of [...(this.index.get(hk(ns, CHUNK_ANY, key)) ?? [])]) {
      if (it.type === ItemType.BLOB_IDX && it !== current && it.chunkStart === start) this.eraseRef(it);
    }
    this.eraseChunks(ns, key, start, start + 0x7f);
    const ref = this.writeChunkedBlob(ns, key, kb, data, start);
    this.eraseAllExcept(ns, key, ref);
  }

  private blobEquals(idx: ItemRef, data: Uint8Array): boolean {
    try {
      return bytesEqual(this.readBlob(idx.ns, idx.key), data);
    } catch {
      return false;
    }
  }

  private writeChunkedBlob(ns: number, key: string, kb: Uint8Array, data: Uint8Array, start: number): ItemRef {
    let offset = 0;
    let count = 0;
    try {
      for (;;) {
        const page = this.current();
        const tailroom = page.varDataTailroom;
        if (count === 0 && (tailroom < data.length || (tailroom === 0 && data.length === 0)) && tailroom < CHUNK_MAX_SIZE / 10) {
          this.markFull(page);
          this.requestNewPage();
          if (this.current().varDataTailroom === tailroom) throw notEnoughSpace();
          continue;
        }
        if (tailroom === 0) throw notEnoughSpace();
        const size = Math.min(data.length - offset, tailroom);
        this.appendVar(ns, ItemType.BLOB_DATA, key, kb, data.subarray(offset, offset + size), start + count);
        count++;
        offset += size;
        if (offset < data.length || tailroom - size < ENTRY_SIZE) {
          this.markFull(page);
          this.requestNewPage();
        }
        if (offset === data.length) {
          const entry = new Uint8Array(ENTRY_SIZE);
          encodeEntry(entry, 0, ns, ItemType.BLOB_IDX, 1, CHUNK_ANY, kb, encodeBlobIndexData(data.length, count, start));
          return this.append(entry, { ns, type: ItemType.BLOB_IDX, span: 1, chunk: CHUNK_ANY, key, size: data.length, chunkCount: count, chunkStart: start });
        }
      }
    } catch (e) {
      // Undo by chunk number, not by reference: garbage collection may have moved chunks meanwhile.
      this.eraseChunks(ns, key, start, start + count);
      throw e;
    }
  }

  /** Erases every BLOB_DATA item of (ns, key) with a chunk number in `[from, to)`. */
  private eraseChunks(ns: number, key: string, from: number, to: number): void {
    const set = this.chunksByKey.get(`${ns}:${key}`);
    if (!set) return;
    for (const it of [...set]) if (it.chunk >= from && it.chunk < to) this.eraseRef(it);
  }

  /**
   * Erases a key (nvs_erase_key): every item stored under it.
   * @throws {NvsError} ESP_ERR_NVS_NOT_FOUND
   */
  eraseKey(ns: number, key: string): void {
    this.checkWrite(key);
    if (!this.index.has(hk(ns, CHUNK_ANY, key))) throw notFound(key, ItemType.ANY);
    this.eraseAllExcept(ns, key, null);
  }

  /** Erases every key of a namespace (nvs_erase_all); the namespace itself stays. */
  eraseNamespace(ns: number): void {
    if (this.readOnly) throw new NvsError('ESP_ERR_NOT_ALLOWED', 'The partition was opened read-only; writes are not allowed');
    for (const p of this.used) for (const it of [...p.itemsInOrder()]) if (it.ns === ns) this.eraseRef(it);
  }

  // ---------------------------------------------------------------- namespaces

  /**
   * Index of a namespace, creating it when `create` (nvs_open in read-write mode).
   * @throws {NvsError} ESP_ERR_NVS_NOT_FOUND (read-only open of a missing namespace),
   *   ESP_ERR_NVS_NOT_ENOUGH_SPACE (all 254 indexes used), ESP_ERR_NVS_KEY_TOO_LONG
   */
  namespaceIndex(name: string, create: boolean): number {
    const found = this.nsByName.get(name);
    if (found !== undefined) return found;
    if (!create) throw new NvsError('ESP_ERR_NVS_NOT_FOUND', `Namespace "${name}" does not exist (open it read-write to create it)`);
    let idx = 1;
    while (idx < 255 && this.nsUsed[idx]) idx++;
    if (idx === 255) throw new NvsError('ESP_ERR_NVS_NOT_ENOUGH_SPACE', 'All 254 namespace indexes are in use');
    this.writeFixed(NS_INDEX, ItemType.U8, name, idx);
    this.nsByName.set(name, idx);
    this.nsName.set(idx, name);
    this.nsUsed[idx] = 1;
    this.nsEntries++;
    return idx;
  }

  /**
   * Opens a namespace (nvs_open). Read-write creates it when missing.
   * @throws {NvsError} ESP_ERR_NVS_NOT_FOUND (read-only, missing), ESP_ERR_NVS_NOT_ENOUGH_SPACE
   */
  open(namespace: string, mode: NvsOpenMode = 'readonly'): NvsHandle {
    if (mode === 'readwrite' && this.readOnly) {
      throw new NvsError('ESP_ERR_NOT_ALLOWED', `Cannot open "${namespace}" read-write: the partition was opened read-only`);
    }
    return new NvsHandle(this, this.namespaceIndex(namespace, mode === 'readwrite'), namespace, mode);
  }

  /** Namespaces as loaded: name → index, in first-seen order. */
  namespaces(): Map<string, number> {
    return new Map(this.nsByName);
  }

  /** Name of a namespace index, or undefined. */
  namespaceName(index: number): string | undefined {
    return this.nsName.get(index);
  }

  // ---------------------------------------------------------------- reports

  /**
   * Entries in the runtime's iteration order (nvs_entry_find/next): pages by sequence number,
   * entries by index; version-1 blobs, blob indexes and non-first chunks are not reported.
   */
  *entries(filter: { ns?: number; type?: number } = {}): IterableIterator<NvsEntryInfo & { ns: number }> {
    for (const p of this.used) {
      for (const it of p.itemsInOrder()) {
        if (it.ns === NS_INDEX || it.type === ItemType.BLOB || it.type === ItemType.BLOB_IDX) continue;
        if (it.type === ItemType.BLOB_DATA && it.chunk !== VerOffset.VER_0_OFFSET && it.chunk !== VerOffset.VER_1_OFFSET) continue;
        if (filter.ns !== undefined && it.ns !== filter.ns) continue;
        if (filter.type !== undefined && filter.type !== ItemType.ANY && it.type !== filter.type) continue;
        const name = this.nsName.get(it.ns);
        if (name === undefined) continue;
        yield { namespace: name, ns: it.ns, key: it.key, type: it.type };
      }
    }
  }

  /**
   * nvs_get_stats.
   * @throws {NvsError} ESP_ERR_INVALID_STATE while a page is FREEING (read-only images)
   */
  stats(): NvsStats {
    let used = 0;
    let free = 0;
    for (const p of this.physical) {
      if (p.state === PageState.ACTIVE || p.state === PageState.FULL) {
        used += p.usedCount;
        free += ENTRY_COUNT - p.usedCount;
      } else if (p.state === PageState.UNINITIALIZED || p.state === PageState.CORRUPT) {
        free += ENTRY_COUNT;
      } else {
        throw new NvsError('ESP_ERR_INVALID_STATE', `Page ${p.index} is being freed; statistics are not available until it is finished`);
      }
    }
    return {
      usedEntries: used,
      freeEntries: free,
      availableEntries: Math.max(0, free - ENTRY_COUNT),
      totalEntries: ENTRY_COUNT * this.physical.length,
      namespaceCount: this.nsEntries,
    };
  }

  /** Entries used by a namespace (nvs_get_used_entry_count), headers and payload alike. */
  usedEntryCount(ns: number): number {
    let n = 0;
    for (const p of this.used) for (const it of p.itemsInOrder()) if (it.ns === ns) n += it.span;
    return n;
  }

  /** Every page in physical order, for reports. */
  pages(): NvsPageInfo[] {
    return this.physical.map((p) => {
      const state = PAGE_STATE_NAMES[p.state] ?? 'CORRUPT';
      const info: NvsPageInfo = {
        page: p.index,
        state,
        seq: p.seq >= 0 && state !== 'UNINITIALIZED' ? p.seq : null,
        version: p.seq >= 0 && state !== 'UNINITIALIZED' ? p.version : null,
        usedEntries: p.usedCount,
        erasedEntries: p.erasedCount,
      };
      if (p.corruptReason) info.corruptReason = p.corruptReason;
      return info;
    });
  }
}

const PAGE_STATE_NAMES: Record<number, NvsPageInfo['state']> = {
  [PageState.UNINITIALIZED]: 'UNINITIALIZED',
  [PageState.ACTIVE]: 'ACTIVE',
  [PageState.FULL]: 'FULL',
  [PageState.FREEING]: 'FREEING',
  [PageState.CORRUPT]: 'CORRUPT',
};

function notFound(key: string, type: number, why?: string): NvsError {
  const what = type === ItemType.ANY ? '' : ` of type ${typeName(type)}`;
  return new NvsError('ESP_ERR_NVS_NOT_FOUND', `Key "${key}" has no value${what}${why ? `: ${why}` : ''}`);
}

function notEnoughSpace(): NvsError {
  return new NvsError(
    'ESP_ERR_NVS_NOT_ENOUGH_SPACE',
    'Not enough space in the partition: erase keys you no longer need or use a larger partition',
  );
}
