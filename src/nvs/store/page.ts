import { isFilled } from '../../bytes/equal.js';
import type { Flash } from '../../flash/flash.js';
import {
  BITMAP_OFFSET,
  BLOB_MAX_TOTAL_SIZE,
  CHUNK_ANY,
  ENTRY_COUNT,
  ENTRY_DATA_OFFSET,
  ENTRY_SIZE,
  EntryState,
  FORMAT_VERSION,
  ItemType,
  isFixedSizeType,
  isKnownType,
  isVariableLengthType,
  PAGE_SIZE,
  PageState,
} from '../format/constants.js';
import { entryCrc, readKey, readU16, readU32, storedEntryCrc } from '../format/entry.js';
import { encodePageHeader, readPageHeader } from '../format/page-header.js';
import type { NvsEntryCipher } from '../crypto/entry-cipher.js';

/** One item (header entry plus payload) as the store indexes it. */
export interface ItemRef {
  page: Page;
  /** Entry index of the header (0..125). */
  entry: number;
  ns: number;
  type: number;
  span: number;
  chunk: number;
  key: string;
  /** Payload size (SZ, BLOB, BLOB_DATA) or total size (BLOB_IDX); 0 otherwise. */
  size: number;
  /** BLOB_IDX only. */
  chunkCount: number;
  /** BLOB_IDX only. */
  chunkStart: number;
}

/** Something the loader found wrong with an entry, and what it did about it. */
export interface LoadNote {
  page: number;
  entry: number;
  problem: string;
  action: 'erased' | 'ignored';
}

/** Why an entry fails the runtime's header-consistency rules, or null when it passes. */
export function entryProblem(buf: Uint8Array, off: number, idx: number): string | null {
  if (storedEntryCrc(buf, off) !== entryCrc(buf, off)) return 'crc';
  const type = buf[off + 1]!;
  const span = buf[off + 2]!;
  const chunk = buf[off + 3]!;
  if (!isKnownType(type)) return 'type';
  if (isFixedSizeType(type)) return span === 1 ? null : 'span';
  if (type === ItemType.BLOB_IDX) {
    if (span !== 1) return 'span';
    if (chunk !== CHUNK_ANY) return 'chunk index';
    return readU32(buf, off + 24) <= BLOB_MAX_TOTAL_SIZE ? null : 'size';
  }
  if (type === ItemType.BLOB_DATA && chunk === CHUNK_ANY) return 'chunk index';
  const size = readU16(buf, off + 24);
  if (size > (ENTRY_COUNT - 1 - idx) * ENTRY_SIZE) return 'size';
  if (span > ENTRY_COUNT - idx || span !== Math.ceil(size / ENTRY_SIZE) + 1) return 'span';
  return null;
}

/** Hooks a page uses to report to its store. */
export interface PageHost {
  readonly flash: Flash;
  /** Entry encryption of an encrypted partition (XTS per entry, tweak = partition offset), or null. */
  readonly cipher: NvsEntryCipher | null;
  /** Load-time repairs are applied in memory only (read-only partition or image inspection). */
  readonly readOnly: boolean;
  note(note: LoadNote): void;
}

/**
 * One 4096-byte NVS page: header, entry-state bitmap and 126 entries. It knows how to load itself
 * (with the runtime's repairs of interrupted writes), append entries, change entry states and
 * its own state; item lookup across pages belongs to the store.
 */
export class Page {
  readonly base: number;
  state: number = PageState.UNINITIALIZED;
  /** Sequence number, or -1 when the page has none (uninitialised or corrupt). */
  seq = -1;
  version: number = FORMAT_VERSION.V2;
  /** 2-bit state of each entry. */
  readonly entryStates = new Uint8Array(ENTRY_COUNT).fill(EntryState.EMPTY);
  /**
   * The 32-byte state bitmap as on flash. Bitmap writes are built from it, so bits this page
   * does not manage (those of the nonexistent entries 126 and 127) are written back unchanged.
   */
  private readonly bitmap = new Uint8Array(32).fill(0xff);
  /** Items by header entry index. */
  readonly items: (ItemRef | undefined)[] = new Array(ENTRY_COUNT);
  nextFree = 0;
  usedCount = 0;
  erasedCount = 0;
  /** Why the page was classed CORRUPT, for reports. */
  corruptReason = '';

  constructor(
    private readonly host: PageHost,
    /** Physical page number in the partition. */
    readonly index: number,
  ) {
    this.base = index * PAGE_SIZE;
  }

  /** Byte address of entry `i`. */
  entryAddress(i: number): number {
    return this.base + ENTRY_DATA_OFFSET + i * ENTRY_SIZE;
  }

  /** Reads entries `[first, first + count)` (decrypted on an encrypted partition) into a new buffer. */
  readEntries(first: number, count: number): Uint8Array {
    const buf = new Uint8Array(count * ENTRY_SIZE);
    this.host.flash.read(this.entryAddress(first), buf);
    return this.host.cipher ? this.host.cipher.decrypt(buf, this.entryAddress(first)) : buf;
  }

  /**
   * Parses the page from flash. The store has already refused newer format versions, so a valid
   * header here has version 0xFE or 0xFF.
   */
  load(raw: Uint8Array): void {
    // `raw` is the page as on flash (header and bitmap are never encrypted); entries are decrypted
    // below once the bitmap says which ones hold data.
    const h = readPageHeader(raw);
    if (h.state === PageState.UNINITIALIZED) {
      if (isFilled(raw, 0xff)) {
        this.state = PageState.UNINITIALIZED;
      } else {
        this.state = PageState.CORRUPT;
        this.corruptReason = 'header is erased but the page holds data';
      }
      return;
    }
    if (!h.crcValid) {
      this.state = PageState.CORRUPT;
      this.corruptReason = 'header CRC mismatch';
      return;
    }
    this.seq = h.seq;
    this.version = h.version;
    if (h.state !== PageState.ACTIVE && h.state !== PageState.FULL && h.state !== PageState.FREEING) {
      this.state = PageState.CORRUPT;
      this.seq = -1;
      this.corruptReason = `unknown state word 0x${h.state.toString(16)}`;
      return;
    }
    this.state = h.state;
    this.bitmap.set(raw.subarray(BITMAP_OFFSET, BITMAP_OFFSET + 32));
    for (let i = 0; i < ENTRY_COUNT; i++) {
      this.entryStates[i] = (raw[BITMAP_OFFSET + (i >> 2)]! >> ((i & 3) * 2)) & 3;
    }
    this.loadEntries(raw);
  }

  private loadEntries(raw: Uint8Array): void {
    // Counters come from the bitmap; every repair below goes through markErased, which keeps them right.
    for (let i = 0; i < ENTRY_COUNT; i++) {
      if (this.entryStates[i] === EntryState.WRITTEN) this.usedCount++;
      else if (this.entryStates[i] === EntryState.ERASED) this.erasedCount++;
    }
    const active = this.state === PageState.ACTIVE;
    let end = ENTRY_COUNT;
    if (active) {
      // Entries from the first EMPTY slot on are unused, except where a write was cut short:
      // a slot there that is not fully 0xFF (or whose state bits moved) was partly programmed and
      // can never be written again, so it is marked ERASED up to the last such slot. (The
      // reference runtime checks only the first word of the next slot.)
      let first = this.entryStates.indexOf(EntryState.EMPTY);
      if (first < 0) first = ENTRY_COUNT;
      let last = first - 1;
      for (let i = ENTRY_COUNT - 1; i >= first; i--) {
        const off = ENTRY_DATA_OFFSET + i * ENTRY_SIZE;
        if (this.entryStates[i] !== EntryState.EMPTY || !isFilled(raw, 0xff, off, off + ENTRY_SIZE)) {
          last = i;
          break;
        }
      }
      for (let i = first; i <= last; i++) {
        const off = ENTRY_DATA_OFFSET + i * ENTRY_SIZE;
        this.markErased(i, 1, !isFilled(raw, 0xff, off, off + ENTRY_SIZE));
        this.host.note({ page: this.index, entry: i, problem: 'partly written (interrupted write)', action: 'erased' });
      }
      end = first;
      this.nextFree = Math.max(first, last + 1);
    } else {
      this.nextFree = ENTRY_COUNT;
    }
    const plain = this.host.cipher ? this.decryptWritten(raw, end) : raw;

    // On the ACTIVE page, an item with the same namespace, key and chunk as an earlier one is the
    // newer copy of an interrupted update: the older one goes (types are not compared).
    const seen = active ? new Map<string, ItemRef>() : null;
    for (let i = 0; i < end; i++) {
      const st = this.entryStates[i]!;
      if (st !== EntryState.WRITTEN) {
        if (active && st === EntryState.ILLEGAL) {
          this.host.note({ page: this.index, entry: i, problem: 'illegal entry state', action: 'erased' });
          this.markErased(i, 1, false);
        }
        continue;
      }
      const off = ENTRY_DATA_OFFSET + i * ENTRY_SIZE;
      const problem = entryProblem(plain, off, i);
      if (problem) {
        this.host.note({ page: this.index, entry: i, problem: `inconsistent (${problem})`, action: 'erased' });
        this.markErased(i, 1, true);
        continue;
      }
      const type = plain[off + 1]!;
      const span = plain[off + 2]!;
      if (isVariableLengthType(type)) {
        let complete = true;
        for (let j = i + 1; j < i + span; j++) if (this.entryStates[j] !== EntryState.WRITTEN) complete = false;
        if (!complete) {
          this.host.note({ page: this.index, entry: i, problem: 'payload entries not all written', action: 'erased' });
          this.markErased(i, span, true);
          i += span - 1;
          continue;
        }
      }
      const ref: ItemRef = {
        page: this,
        entry: i,
        ns: plain[off]!,
        type,
        span,
        chunk: plain[off + 3]!,
        key: readKey(plain, off),
        size: type === ItemType.BLOB_IDX ? readU32(plain, off + 24) : isVariableLengthType(type) ? readU16(plain, off + 24) : 0,
        chunkCount: type === ItemType.BLOB_IDX ? plain[off + 28]! : 0,
        chunkStart: type === ItemType.BLOB_IDX ? plain[off + 29]! : 0,
      };
      this.items[i] = ref;
      if (seen) {
        const id = `${ref.ns}:${ref.chunk}:${ref.key}`;
        const older = seen.get(id);
        if (older) {
          this.host.note({ page: this.index, entry: older.entry, problem: `duplicate of entry ${i} (interrupted update)`, action: 'erased' });
          this.eraseItem(older, true);
        }
        seen.set(id, ref);
      }
      i += span - 1;
    }
  }

  /**
   * A copy of `raw` with every WRITTEN entry before `end` decrypted. The entries before `end` are
   * decrypted in one call and the few that are not WRITTEN (erased, purged) are put back raw.
   */
  private decryptWritten(raw: Uint8Array, end: number): Uint8Array {
    const plain = raw.slice();
    if (end === 0) return plain;
    const range = raw.subarray(ENTRY_DATA_OFFSET, ENTRY_DATA_OFFSET + end * ENTRY_SIZE);
    plain.set(this.host.cipher!.decrypt(range, this.entryAddress(0)), ENTRY_DATA_OFFSET);
    for (let i = 0; i < end; i++) {
      if (this.entryStates[i] !== EntryState.WRITTEN) {
        const off = ENTRY_DATA_OFFSET + i * ENTRY_SIZE;
        plain.set(raw.subarray(off, off + ENTRY_SIZE), off);
      }
    }
    return plain;
  }

  /** Items on this page in entry order. */
  *itemsInOrder(): IterableIterator<ItemRef> {
    for (let i = 0; i < ENTRY_COUNT; i++) {
      const it = this.items[i];
      if (it) {
        yield it;
        i += it.span - 1;
      }
    }
  }

  /** Free entries left for a new item (0 on a FULL page). */
  get freeEntries(): number {
    return this.state === PageState.FULL ? 0 : ENTRY_COUNT - this.nextFree;
  }

  /** Payload bytes a blob chunk can still take here: one entry stays for its header. */
  get varDataTailroom(): number {
    if (this.state === PageState.FULL) return 0;
    return this.nextFree < ENTRY_COUNT - 1 ? (ENTRY_COUNT - this.nextFree - 1) * ENTRY_SIZE : 0;
  }

  /** Writes the header of a fresh page: ACTIVE with its sequence number. */
  initialize(): void {
    this.host.flash.write(this.base, encodePageHeader(PageState.ACTIVE, this.seq, this.version));
    this.state = PageState.ACTIVE;
  }

  /**
   * Appends an item whose entries are already encoded (header with CRC, then payload padded with
   * 0xFF) in `entries`. Writes in the runtime's order: header entry, its state, the full payload,
   * the payload states. `perEntry` writes each entry and its state in turn (how pages are copied
   * during garbage collection).
   */
  appendItem(plainEntries: Uint8Array, fields: Omit<ItemRef, 'page' | 'entry'>, perEntry: boolean): ItemRef {
    if (this.state === PageState.UNINITIALIZED) this.initialize();
    const first = this.nextFree;
    const count = plainEntries.length / ENTRY_SIZE;
    const flash = this.host.flash;
    // On an encrypted partition every entry is encrypted with its own offset as the tweak.
    const entries = this.host.cipher ? this.host.cipher.encrypt(plainEntries, this.entryAddress(first)) : plainEntries;
    if (perEntry) {
      for (let k = 0; k < count; k++) {
        flash.write(this.entryAddress(first + k), entries.subarray(k * ENTRY_SIZE, (k + 1) * ENTRY_SIZE));
        this.setStates(first + k, first + k + 1, EntryState.WRITTEN);
        this.nextFree = first + k + 1;
      }
    } else {
      flash.write(this.entryAddress(first), entries.subarray(0, ENTRY_SIZE));
      this.setStates(first, first + 1, EntryState.WRITTEN);
      this.nextFree = first + 1;
      if (count > 1) {
        flash.write(this.entryAddress(first + 1), entries.subarray(ENTRY_SIZE));
        this.setStates(first + 1, first + count, EntryState.WRITTEN);
        this.nextFree = first + count;
      }
    }
    this.usedCount += count;
    const ref: ItemRef = { page: this, entry: first, ...fields };
    this.items[first] = ref;
    return ref;
  }

  /** Marks an item's entries ERASED (header last, like the runtime) and forgets it. */
  eraseItem(ref: ItemRef, purge: boolean): void {
    this.items[ref.entry] = undefined;
    this.markErased(ref.entry, ref.span, purge);
  }

  /**
   * Sets entries `[first, first+count)` to ERASED and, with `purge`, overwrites them with zeros.
   * Counters follow. On a read-only host only the in-memory state changes.
   */
  markErased(first: number, count: number, purge: boolean): void {
    for (let j = first; j < first + count; j++) {
      const st = this.entryStates[j];
      if (st === EntryState.WRITTEN) this.usedCount--;
      if (st !== EntryState.ERASED) this.erasedCount++;
    }
    this.setStates(first, first + count, EntryState.ERASED);
    if (purge && !this.host.readOnly) this.host.flash.write(this.entryAddress(first), new Uint8Array(count * ENTRY_SIZE));
    if (first + count > this.nextFree && this.state === PageState.ACTIVE) this.nextFree = first + count;
  }

  /** Changes the state word (FULL, FREEING); only clears bits. */
  setPageState(state: number): void {
    if (!this.host.readOnly) {
      const w = new Uint8Array(4);
      w[0] = state & 0xff;
      w[1] = (state >>> 8) & 0xff;
      w[2] = (state >>> 16) & 0xff;
      w[3] = (state >>> 24) & 0xff;
      this.host.flash.write(this.base, w);
    }
    this.state = state;
  }

  /** Erases the sector and resets the page to UNINITIALIZED. */
  erase(): void {
    this.host.flash.eraseSector(this.index);
    this.reset();
  }

  /** Forgets everything in memory (after an erase). */
  reset(): void {
    this.state = PageState.UNINITIALIZED;
    this.seq = -1;
    this.version = FORMAT_VERSION.V2;
    this.entryStates.fill(EntryState.EMPTY);
    this.bitmap.fill(0xff);
    this.items.fill(undefined);
    this.nextFree = 0;
    this.usedCount = 0;
    this.erasedCount = 0;
    this.corruptReason = '';
  }

  /**
   * Sets the state of entries `[begin, end)` and writes each affected 32-bit bitmap word once,
   * from the highest word down (so an item's header state changes last).
   */
  private setStates(begin: number, end: number, state: number): void {
    for (let i = begin; i < end; i++) {
      this.entryStates[i] = state;
      const shift = (i & 3) * 2;
      this.bitmap[i >> 2] = (this.bitmap[i >> 2]! & ~(3 << shift)) | (state << shift);
    }
    if (this.host.readOnly) return;
    for (let w = (end - 1) >> 4; w >= begin >> 4; w--) {
      this.host.flash.write(this.base + BITMAP_OFFSET + w * 4, this.bitmap.slice(w * 4, w * 4 + 4));
    }
  }
}
