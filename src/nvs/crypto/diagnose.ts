import { crc32le } from '../../bytes/crc32.js';
import { ENTRY_COUNT, ENTRY_DATA_OFFSET, ENTRY_SIZE, isVariableLengthType, PAGE_SIZE } from '../format/constants.js';
import { entryCrc, readU16, readU32 } from '../format/entry.js';
import type { NvsEntryCipher } from './entry-cipher.js';
import { gatherEntries, type NvsCipherSelection, selectCipherEntries } from './image-cipher.js';

/** What {@link diagnoseNvsDecryption} found out about an image and a key. */
export interface NvsDecryptionDiagnosis {
  /**
   * `ok`: at least half of the written entries pass their CRC after decryption. `no-data`: no
   * entry is written. Otherwise the most likely cause: `plaintext` (most entries pass without
   * decryption), `wrong-offset` (most pass with the tweak shifted by `bestOffset.pages` pages), or
   * `wrong-key`.
   */
  verdict: 'ok' | 'wrong-key' | 'plaintext' | 'wrong-offset' | 'no-data';
  /** Entries decrypted (those `selectCipherEntries` chooses: written, plus erased ones holding data). */
  writtenEntries: number;
  /**
   * Of those, how many pass their CRC after decryption with the given keys: an item's header
   * entry by its entry CRC, its payload entries by the item's data CRC.
   */
  passingEntries: number;
  /** Pages with written entries, with their counts. */
  pages: { page: number; written: number; passing: number }[];
  /** How many pass their CRC without decryption (many: a plaintext image). */
  plaintextPassing: number;
  /**
   * The shift (in pages, −16..16) of the partition offset that makes most entries pass, with how
   * many pass then; null when none does or when no search was needed (ok, plaintext, no data).
   */
  bestOffset: { pages: number; passing: number } | null;
  /** One or two sentences naming the most likely cause, with the counts, and what to do. */
  message: string;
}

/** Offsets tried by the wrong-offset search: ±this many pages. */
const MAX_SHIFT_PAGES = 16;
/** The wrong-offset search decrypts the first whole pages holding at least this many entries. */
const SAMPLE_ENTRIES = 64;
/** Pages listed by name in a message before "…". */
const PAGES_SHOWN = 6;

/**
 * Tells whether `cipher` holds the right keys for an encrypted NVS image, and when it does not,
 * what is most likely wrong. NVS encryption has no MAC, but every entry has a CRC: with the right
 * keys (nearly) every written entry passes it; with a wrong key, a plaintext image or an image read
 * from the wrong flash offset (the XTS tweak is the entry's offset in the partition) none does.
 * The function tells these apart by also checking the entries undecrypted and with the offset
 * shifted by up to ±16 pages. A few damaged entries still give `ok` (they only lose their items).
 * Costs a few large cipher calls: one over the image, and for the offset search one over the first
 * pages for all 32 shifts plus one over the image for the best shift.
 *
 * @throws {NvsError} ESP_ERR_INVALID_SIZE when the image is not a whole number of 4096-byte pages
 * @throws {NvsecError} NVS_CIPHER_DESTROYED when the cipher was destroyed
 * @example
 * const d = diagnoseNvsDecryption(image, new NvsEntryCipher(nodeCrypto, keys));
 * if (d.verdict !== 'ok' && d.verdict !== 'no-data') throw new Error(d.message);
 * // "0 of 208 written entries pass their CRC after decryption (page 0: 0/126, …): wrong key, plaintext
 * //  image, or wrong partition offset. Most likely the key is wrong: …"
 */
export function diagnoseNvsDecryption(image: Uint8Array, cipher: NvsEntryCipher): NvsDecryptionDiagnosis {
  const sel = selectCipherEntries(image);
  const written = sel.offsets.length;
  if (written === 0) {
    return {
      verdict: 'no-data',
      writtenEntries: 0,
      passingEntries: 0,
      pages: [],
      plaintextPassing: 0,
      bestOffset: null,
      message:
        'The image has no written entries (no page with a valid header holds data): there is nothing to decrypt. ' +
        'Check that it is the NVS partition and not a blank one.',
    };
  }

  const raw = gatherEntries(image, sel.offsets);
  const decrypted = cipher.decryptAt(raw, sel.offsets);
  const pages = sel.pages.map((p) => ({ page: p.page, written: p.count, passing: countPassing(decrypted, sel, p, p.start) }));
  decrypted.fill(0);
  const passing = sum(pages.map((p) => p.passing));
  const plaintextPassing = sum(sel.pages.map((p) => countPassing(raw, sel, p, p.start)));
  const base = { writtenEntries: written, passingEntries: passing, pages, plaintextPassing };

  if (passing * 2 >= written) {
    const bad = pages.filter((p) => p.passing < p.written);
    const failing = written - passing;
    const detail =
      failing === 0
        ? ''
        : ` ${failing} ${failing === 1 ? 'entry fails' : 'entries fail'} (${pageList(bad)}): damaged data, only those items are lost.`;
    return {
      verdict: 'ok',
      ...base,
      bestOffset: null,
      message: `${passing} of ${written} written entries pass their CRC after decryption: the key fits.${detail}`,
    };
  }

  const head =
    `${passing} of ${written} written entries pass their CRC after decryption (${pageList(pages)}): ` +
    'wrong key, plaintext image, or wrong partition offset.';
  if (plaintextPassing * 2 > written) {
    return {
      verdict: 'plaintext',
      ...base,
      bestOffset: null,
      message:
        `${head} Most likely the image is plaintext (not encrypted): ${plaintextPassing} of ${written} entries pass their CRC ` +
        'without decryption, so read it without a key, or encrypt it with "nvsec nvs encrypt" before it goes to an encrypted NVS partition.',
    };
  }

  const best = searchOffset(image, raw, sel, cipher);
  raw.fill(0);
  if (best && best.passing * 2 > written) {
    const n = Math.abs(best.pages);
    const amount = `${n} page${n === 1 ? '' : 's'} (0x${(n * PAGE_SIZE).toString(16)} bytes)`;
    const where = best.pages > 0 ? `${amount} after the start of the partition` : `${amount} before the start of the partition`;
    return {
      verdict: 'wrong-offset',
      ...base,
      bestOffset: best,
      message:
        `${head} Most likely the partition offset is wrong: ${best.passing} of ${written} entries pass if the image starts ${where}, ` +
        'so it was read from the wrong flash address; read the partition back from exactly the offset and size in the partition table.',
    };
  }
  return {
    verdict: 'wrong-key',
    ...base,
    bestOffset: null,
    message:
      `${head} Most likely the key is wrong: ${plaintextPassing} pass without decryption and no partition offset within ` +
      `±${MAX_SHIFT_PAGES} pages fits, so use the keys partition made together with this image (the keys file of "nvs encrypt").`,
  };
}

/**
 * The page shift in −16..16 (not 0) that makes the most entries pass: the first pages (at least
 * 64 entries) decrypted under every shift in one call, then the whole image under the best one.
 */
function searchOffset(image: Uint8Array, raw: Uint8Array, sel: NvsCipherSelection, cipher: NvsEntryCipher): { pages: number; passing: number } | null {
  let samplePages = 0;
  let sampleEntries = 0;
  while (samplePages < sel.pages.length && sampleEntries < SAMPLE_ENTRIES) sampleEntries += sel.pages[samplePages++]!.count;

  // One buffer holding the sample once per shift; pages that would move before offset 0 are left out.
  const shifts: { k: number; pages: { p: NvsCipherSelection['pages'][number]; at: number }[]; entries: number }[] = [];
  const offsets: number[] = [];
  const chunks: Uint8Array[] = [];
  for (let k = -MAX_SHIFT_PAGES; k <= MAX_SHIFT_PAGES; k++) {
    if (k === 0) continue;
    const s = { k, pages: [] as { p: NvsCipherSelection['pages'][number]; at: number }[], entries: 0 };
    for (let i = 0; i < samplePages; i++) {
      const p = sel.pages[i]!;
      if (p.page + k < 0) continue;
      s.pages.push({ p, at: offsets.length });
      for (let j = p.start; j < p.start + p.count; j++) offsets.push(sel.offsets[j]! + k * PAGE_SIZE);
      chunks.push(raw.subarray(p.start * ENTRY_SIZE, (p.start + p.count) * ENTRY_SIZE));
      s.entries += p.count;
    }
    if (s.entries > 0) shifts.push(s);
  }
  if (offsets.length === 0) return null;
  const buf = new Uint8Array(offsets.length * ENTRY_SIZE);
  let o = 0;
  for (const c of chunks) {
    buf.set(c, o);
    o += c.length;
  }
  const dec = cipher.decryptAt(buf, offsets);
  buf.fill(0);
  let best: { k: number; passing: number; entries: number } | null = null;
  for (const s of shifts) {
    const passing = sum(s.pages.map(({ p, at }) => countPassing(dec, sel, p, at)));
    if (!best || passing * best.entries > best.passing * s.entries) best = { k: s.k, passing, entries: s.entries };
  }
  dec.fill(0);
  if (!best || best.passing * 2 <= best.entries) return null;

  // The whole image under the best shift, for the full count.
  const k = best.k;
  const full: number[] = [];
  const fullPages: { p: NvsCipherSelection['pages'][number]; at: number }[] = [];
  for (const p of sel.pages) {
    if (p.page + k < 0) continue;
    fullPages.push({ p, at: full.length });
    for (let j = p.start; j < p.start + p.count; j++) full.push(sel.offsets[j]!);
  }
  const shifted = gatherEntries(image, full);
  const decFull = cipher.decryptAt(
    shifted,
    full.map((x) => x + k * PAGE_SIZE),
  );
  shifted.fill(0);
  const passing = sum(fullPages.map(({ p, at }) => countPassing(decFull, sel, p, at)));
  decFull.fill(0);
  return { pages: k, passing };
}

/**
 * Entries of one page that check out in `buf`, where the page's selected entries sit
 * consecutively from entry index `at` of `buf`. An item's header passes by its entry CRC; the
 * payload entries of a string or blob pass when the item's data CRC matches too.
 */
function countPassing(buf: Uint8Array, sel: NvsCipherSelection, page: NvsCipherSelection['pages'][number], at: number): number {
  const pos = new Int32Array(ENTRY_COUNT).fill(-1);
  const pageBase = page.page * PAGE_SIZE + ENTRY_DATA_OFFSET;
  for (let j = 0; j < page.count; j++) pos[(sel.offsets[page.start + j]! - pageBase) / ENTRY_SIZE] = (at + j) * ENTRY_SIZE;
  let passing = 0;
  for (let i = 0; i < ENTRY_COUNT; ) {
    const p = pos[i]!;
    if (p < 0 || entryCrc(buf, p) !== readU32(buf, p + 4)) {
      i++;
      continue;
    }
    passing++;
    const span = buf[p + 2]!;
    if (isVariableLengthType(buf[p + 1]!) && span >= 2 && i + span <= ENTRY_COUNT && payloadPasses(buf, pos, i, span, p)) {
      passing += span - 1;
      i += span;
    } else {
      i++;
    }
  }
  return passing;
}

/** Whether the payload entries of the string/blob whose header is entry `i` (at `p` in `buf`) match its data CRC. */
function payloadPasses(buf: Uint8Array, pos: Int32Array, i: number, span: number, p: number): boolean {
  let remaining = readU16(buf, p + 24);
  if (remaining > (span - 1) * ENTRY_SIZE) return false;
  let crc = 0xffffffff;
  for (let k = 1; k < span; k++) {
    const q = pos[i + k]!;
    if (q < 0) return false;
    const n = Math.min(ENTRY_SIZE, remaining);
    crc = crc32le(buf, crc, q, q + n);
    remaining -= n;
  }
  return crc === readU32(buf, p + 28);
}

/** "page 0: 0/126, page 1: 0/82, …" (the first few pages). */
function pageList(pages: readonly { page: number; written: number; passing: number }[]): string {
  const shown = pages.slice(0, PAGES_SHOWN).map((p) => `page ${p.page}: ${p.passing}/${p.written}`);
  if (pages.length > PAGES_SHOWN) shown.push(`${pages.length - PAGES_SHOWN} more pages`);
  return shown.join(', ');
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
