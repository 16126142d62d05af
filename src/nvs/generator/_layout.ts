import { crc32le } from '../../bytes/crc32.js';
import {
  BITMAP_OFFSET,
  CHUNK_ANY,
  ENTRY_COUNT,
  ENTRY_DATA_OFFSET,
  ENTRY_SIZE,
  ItemType,
  PAGE_SIZE,
  PageState,
} from '../format/constants.js';
import { encodeBlobIndexData, encodeEntry, encodeVarLengthData, spanForSize, writeU32 } from '../format/entry.js';
import { encodePageHeader } from '../format/page-header.js';

/*
 * The generator's page layout (spec §11), writing straight into one preallocated image:
 * - pages are opened in physical order with sequence = page index; opening a data page marks the
 *   previous one FULL; the last data page stays ACTIVE; the rest stays 0xFF;
 * - entries are packed from 0 without gaps and marked WRITTEN in the bitmap;
 * - a fixed-size item needs n < 126; a string or version-1 blob needs n + span < 126 (strict);
 * - a version-2 blob is split at each page end (chunks may be empty) and ends with its BLOB_IDX.
 */

/** Thrown by {@link PageWriter} when a page cannot be opened; the caller adds the row context. */
export class PartitionFull extends Error {
  constructor() {
    super('partition full');
    this.name = 'PartitionFull';
  }
}

/** Thrown by {@link PageWriter.writeBlobV2} when a blob would need more than 127 chunks. */
export class TooManyChunks extends Error {
  constructor() {
    super('more than 127 chunks');
    this.name = 'TooManyChunks';
  }
}

/** Most BLOB_DATA chunks of one blob version the runtime accepts (chunk indices 0..126). */
export const MAX_CHUNKS = 127;

/** Lays out entries in the reference generator's order. */
export class PageWriter {
  /** The image: every byte 0xFF until written. */
  image: Uint8Array;
  /** Pages with a header so far. */
  pages = 0;
  /** Entries marked written so far, over all pages. */
  entriesUsed = 0;
  private readonly maxPages: number;
  private readonly version: number;
  private pageOff = -PAGE_SIZE;
  /** Entries used on the current page. */
  private n = ENTRY_COUNT;
  private readonly data8 = new Uint8Array(8);

  /**
   * @param imageSize bytes of the image to allocate
   * @param maxPages pages that may carry data (the rest stays erased)
   * @param version page-header version byte (0xFE or 0xFF)
   */
  constructor(imageSize: number, maxPages: number, version: number) {
    this.image = new Uint8Array(imageSize).fill(0xff);
    this.maxPages = maxPages;
    this.version = version;
  }

  /** Opens the next page (the previous one becomes FULL). */
  openPage(): void {
    if (this.pages >= this.maxPages) throw new PartitionFull();
    if ((this.pages + 1) * PAGE_SIZE > this.image.length) {
      const grown = new Uint8Array(Math.max(this.image.length * 2, (this.pages + 1) * PAGE_SIZE)).fill(0xff);
      grown.set(this.image);
      this.image = grown;
    }
    if (this.pages > 0) writeU32(this.image, this.pageOff, PageState.FULL);
    this.pageOff = this.pages * PAGE_SIZE;
    this.image.set(encodePageHeader(PageState.ACTIVE, this.pages, this.version), this.pageOff);
    this.pages++;
    this.n = 0;
  }

  /** Marks `count` entries from the current position WRITTEN and advances past them. */
  private advance(count: number): void {
    const img = this.image;
    const bitmap = this.pageOff + BITMAP_OFFSET;
    for (let i = this.n, end = this.n + count; i < end; i++) img[bitmap + (i >> 2)]! &= ~(1 << ((i & 3) << 1));
    this.n += count;
    this.entriesUsed += count;
  }

  private entryOffset(): number {
    return this.pageOff + ENTRY_DATA_OFFSET + this.n * ENTRY_SIZE;
  }

  /** A fixed-size item (integer or namespace entry); `data` is its encoded 8-byte field. */
  writeFixed(nsIndex: number, type: number, key: Uint8Array, data: Uint8Array): void {
    if (this.n >= ENTRY_COUNT) this.openPage();
    encodeEntry(this.image, this.entryOffset(), nsIndex, type, 1, CHUNK_ANY, key, data);
    this.advance(1);
  }

  /**
   * A string (SZ) or version-1 blob (BLOB) item on one page: `src[start, start + size)`. The
   * caller has checked that `singlePageSpan(size) < 126`.
   */
  writeSinglePage(nsIndex: number, type: number, key: Uint8Array, src: Uint8Array, start: number, size: number): void {
    const span = spanForSize(size);
    if (span >= ENTRY_COUNT) throw new RangeError(`A single-page item of ${size} bytes cannot be placed`);
    if (this.n + span >= ENTRY_COUNT) this.openPage();
    this.writeVarItem(nsIndex, type, CHUNK_ANY, key, src, start, size, span);
  }

  /** A version-2 blob: BLOB_DATA chunks filling each page to its end, then the BLOB_IDX. */
  writeBlobV2(nsIndex: number, key: Uint8Array, src: Uint8Array, start: number, size: number): number {
    if (this.n >= ENTRY_COUNT) this.openPage();
    let remaining = size;
    let offset = start;
    let chunks = 0;
    for (;;) {
      if (chunks === MAX_CHUNKS) throw new TooManyChunks();
      const tail = (ENTRY_COUNT - this.n - 1) * ENTRY_SIZE;
      const chunk = Math.min(remaining, tail);
      remaining -= chunk;
      this.writeVarItem(nsIndex, ItemType.BLOB_DATA, chunks, key, src, offset, chunk, spanForSize(chunk));
      chunks++;
      offset += chunk;
      if (remaining > 0 || tail - chunk < ENTRY_SIZE) this.openPage();
      if (remaining === 0) break;
    }
    encodeEntry(
      this.image,
      this.entryOffset(),
      nsIndex,
      ItemType.BLOB_IDX,
      1,
      CHUNK_ANY,
      key,
      encodeBlobIndexData(size, chunks, 0, this.data8),
    );
    this.advance(1);
    return chunks;
  }

  private writeVarItem(
    nsIndex: number,
    type: number,
    chunkIndex: number,
    key: Uint8Array,
    src: Uint8Array,
    start: number,
    size: number,
    span: number,
  ): void {
    const off = this.entryOffset();
    const crc = crc32le(src, 0xffffffff, start, start + size);
    if (size > 0) this.image.set(src.subarray(start, start + size), off + ENTRY_SIZE);
    encodeEntry(this.image, off, nsIndex, type, span, chunkIndex, key, encodeVarLengthData(size, crc, this.data8));
    this.advance(span);
  }
}
