import { isFilled } from '../../bytes/equal.js';
import { NvsError } from '../esp-err.js';
import { BITMAP_OFFSET, ENTRY_COUNT, ENTRY_DATA_OFFSET, ENTRY_SIZE, EntryState, PAGE_SIZE, PageState } from '../format/constants.js';
import { readU32 } from '../format/entry.js';
import { pageHeaderCrc } from '../format/page-header.js';
import type { NvsEntryCipher } from './entry-cipher.js';

/** The entries of an NVS image that encryption covers, found from page headers and bitmaps. */
export interface NvsCipherSelection {
  /** Partition offset of every selected entry (its XTS tweak), ascending. */
  offsets: Uint32Array;
  /** Pages holding at least one selected entry: physical page index and its slice of `offsets`. */
  pages: { page: number; start: number; count: number }[];
}

/**
 * The entries {@link encryptNvsImage} and {@link decryptNvsImage} process: on every page whose
 * header is valid (CRC matches, state ACTIVE, FULL or FREEING), each entry the bitmap marks
 * WRITTEN, plus each entry in another state (erased, or left by an interrupted write) that holds
 * data, i.e. is neither all 0xFF (empty) nor all 0x00 (purged). Decided from the bitmap, never
 * from content, for written entries: a WRITTEN entry that happens to be all 0xFF is still
 * encrypted, as ESP-IDF does. Headers, bitmaps and invalid or blank pages are never selected.
 *
 * @throws {NvsError} ESP_ERR_INVALID_SIZE when the image is not a whole number of 4096-byte pages
 * @example
 * const { offsets } = selectCipherEntries(image); // offsets[0] === 0x40 for a generated image
 */
export function selectCipherEntries(image: Uint8Array): NvsCipherSelection {
  checkWholePages(image);
  const pageCount = image.length / PAGE_SIZE;
  const found: number[] = [];
  const pages: NvsCipherSelection['pages'] = [];
  for (let page = 0; page < pageCount; page++) {
    const base = page * PAGE_SIZE;
    const state = readU32(image, base);
    if (state !== PageState.ACTIVE && state !== PageState.FULL && state !== PageState.FREEING) continue;
    if (readU32(image, base + 28) !== pageHeaderCrc(image, base)) continue;
    const start = found.length;
    for (let i = 0; i < ENTRY_COUNT; i++) {
      const bits = (image[base + BITMAP_OFFSET + (i >>> 2)]! >>> ((i & 3) * 2)) & 3;
      const off = base + ENTRY_DATA_OFFSET + i * ENTRY_SIZE;
      if (bits === EntryState.WRITTEN || !(isFilled(image, 0xff, off, off + ENTRY_SIZE) || isFilled(image, 0x00, off, off + ENTRY_SIZE))) {
        found.push(off);
      }
    }
    if (found.length > start) pages.push({ page, start, count: found.length - start });
  }
  return { offsets: Uint32Array.from(found), pages };
}

/**
 * Encrypts an NVS partition image the way ESP-IDF and esp-idf-nvs-partition-gen do: every entry
 * chosen by {@link selectCipherEntries} is XTS-AES-256 encrypted in place with its partition
 * offset as the tweak; headers, bitmaps, empty entries and blank pages stay as they are. The
 * whole image goes through one cipher call. `encryptNvsImage(generateNvsPartition(csv).image)`
 * equals the reference tool's `encrypt` output.
 *
 * @returns a new image; `image` is not modified
 * @throws {NvsError} ESP_ERR_INVALID_SIZE when the image is not a whole number of 4096-byte pages
 * @throws {NvsecError} NVS_CIPHER_DESTROYED when the cipher was destroyed
 * @example
 * const cipher = new NvsEntryCipher(nodeCrypto, parseKeysPartition(keysBin));
 * const encrypted = encryptNvsImage(generateNvsPartition(csv, { size: 0x6000 }).image, cipher);
 * cipher.destroy();
 */
export function encryptNvsImage(image: Uint8Array, cipher: NvsEntryCipher): Uint8Array {
  return transform(image, cipher, false);
}

/**
 * Decrypts an encrypted NVS partition image: the inverse of {@link encryptNvsImage}, over the
 * same entries (chosen from the bitmaps, so it is also right for images the ESP-IDF runtime wrote,
 * with gaps and erased entries). For a generator image the result equals the tool's `decrypt`
 * output. It does not check the key: see `diagnoseNvsDecryption` for that.
 *
 * @returns a new image; `image` is not modified
 * @throws {NvsError} ESP_ERR_INVALID_SIZE when the image is not a whole number of 4096-byte pages
 * @throws {NvsecError} NVS_CIPHER_DESTROYED when the cipher was destroyed
 * @example
 * const plain = decryptNvsImage(encrypted, cipher);
 */
export function decryptNvsImage(image: Uint8Array, cipher: NvsEntryCipher): Uint8Array {
  return transform(image, cipher, true);
}

function transform(image: Uint8Array, cipher: NvsEntryCipher, decrypt: boolean): Uint8Array {
  const { offsets } = selectCipherEntries(image);
  const out = image.slice();
  if (offsets.length === 0) return out;
  const input = gatherEntries(image, offsets);
  const result = decrypt ? cipher.decryptAt(input, offsets) : cipher.encryptAt(input, offsets);
  input.fill(0);
  scatterEntries(out, offsets, result);
  result.fill(0);
  return out;
}

/**
 * The entries at `offsets` of `image`, concatenated (copied run by run: consecutive entries are
 * one copy), ready for one `NvsEntryCipher.decryptAt(entries, offsets)` call.
 *
 * @example
 * const { offsets } = selectCipherEntries(image);
 * const plain = cipher.decryptAt(gatherEntries(image, offsets), offsets);
 */
export function gatherEntries(image: Uint8Array, offsets: ArrayLike<number>): Uint8Array {
  const buf = new Uint8Array(offsets.length * ENTRY_SIZE);
  forEachRun(offsets, (from, index, count) => buf.set(image.subarray(from, from + count * ENTRY_SIZE), index * ENTRY_SIZE));
  return buf;
}

/** Writes the concatenated `entries` back to `image` at `offsets` (the inverse of {@link gatherEntries}). */
function scatterEntries(image: Uint8Array, offsets: ArrayLike<number>, entries: Uint8Array): void {
  forEachRun(offsets, (to, index, count) => image.set(entries.subarray(index * ENTRY_SIZE, (index + count) * ENTRY_SIZE), to));
}

/** Calls `fn(offset, firstIndex, count)` for each run of offsets that follow each other 32 bytes apart. */
function forEachRun(offsets: ArrayLike<number>, fn: (offset: number, index: number, count: number) => void): void {
  const n = offsets.length;
  let i = 0;
  while (i < n) {
    const first = offsets[i]!;
    let j = i + 1;
    while (j < n && offsets[j] === first + (j - i) * ENTRY_SIZE) j++;
    fn(first, i, j - i);
    i = j;
  }
}

function checkWholePages(image: Uint8Array): void {
  if (image.length % PAGE_SIZE !== 0) {
    throw new NvsError(
      'ESP_ERR_INVALID_SIZE',
      `The image is ${image.length} bytes, not a whole number of 4096-byte pages (truncated?): use the complete partition image`,
    );
  }
}
