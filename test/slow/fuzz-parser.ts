/**
 * Parser fuzzer (`npm run fuzz`): feeds random and mutated NVS partition images to
 * `readNvsPartition` (read-only, and read-write for a share of the cases) and, for a share of the
 * cases, exercises the read-write runtime (`NvsStorage`) on them.
 *
 *   npm run fuzz -- [--cases N] [--seed S] [--minutes M] [--case K] [--max-findings F]
 *
 * - `--cases N`        number of cases (default 100000)
 * - `--seed S`         PRNG seed, decimal or 0x-hex (default fixed, printed); a run is deterministic
 * - `--minutes M`      stop after M minutes even if not all cases ran
 * - `--case K`         replay only case K (same seed) in this thread, with the runtime's page
 *                      table and load notes, and save the flash after the runtime's writes
 * - `--max-findings F` stop after F findings (default 20); with more, the first 20 and the first
 *                      of each class are printed in full, and a count per class ends the report
 *
 * Inputs: purely random images, randomly generated but well-formed pages, and mutations of seed
 * images (the golden vectors plus images the runtime wrote under a random workload, some cut by a
 * simulated power failure): bit flips, byte runs, length changes, page shuffles, and
 * structure-aware mutations that keep checksums valid (page headers, entry fields, entry-state
 * bitmaps, duplicated entries) so that the deep code runs.
 *
 * A finding is: `readNvsPartition` throwing or returning a malformed result, or changing its input;
 * the runtime throwing anything but a typed `NvsecError` (a `FlashError` counts as a finding: on a
 * `MemoryFlash` it means the store wrote outside the flash or over programmed bits, i.e. it
 * mis-tracked free space); a value written through the runtime not reading back, before or after a
 * re-init. Two consequences of ESP-IDF's namespace resolution on corrupt namespace tables (a name
 * defined twice, a non-u8 item in namespace 0) are counted, not reported. Cases run in a worker;
 * the main thread aborts when no case finishes for 10 s.
 * The last line of the output is `N passed, N failed`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { crc32le } from '../../src/bytes/crc32.js';
import { bytesEqual } from '../../src/bytes/equal.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { FlashError, PowerCutError } from '../../src/flash/flash-error.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { PowerCutFlash } from '../../src/flash/power-cut-flash.js';
import {
  BITMAP_OFFSET,
  BLOB_MAX_TOTAL_SIZE,
  ENTRY_COUNT,
  ENTRY_DATA_OFFSET,
  ENTRY_SIZE,
  EntryState,
  FORMAT_VERSION,
  ItemType,
  isFixedSizeType,
  isVariableLengthType,
  PAGE_SIZE,
  PageState,
} from '../../src/nvs/format/constants.js';
import { encodeEntry, entryCrc, readU16, readU32, writeU32 } from '../../src/nvs/format/entry.js';
import { pageHeaderCrc } from '../../src/nvs/format/page-header.js';
import { type NvsDump, readNvsPartition } from '../../src/nvs/inspect.js';
import type { NvsHandle, NvsValueType } from '../../src/nvs/store/handle.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';
import { VECTORS_DIR } from '../_support/vectors.js';

// ------------------------------------------------------------------------------------ settings

const DEFAULT_CASES = 100_000;
const DEFAULT_SEED = 0x5eedf022;
const MAX_FINDINGS = 20;
/** With a larger --max-findings, only the first findings and the first of each class are printed in full. */
const PRINT_FINDINGS = 20;
const HANG_MS = 10_000;
const PROGRESS_EVERY = 10_000;
/** Largest image a case may produce: 10 pages plus a partial one. */
const MAX_PAGES = 10;
const MAX_LEN = MAX_PAGES * PAGE_SIZE + PAGE_SIZE - 1;
/** Share of cases that also run readNvsPartition in read-write mode, and the runtime exercise. */
const RW_SHARE = 0.4;
const STORE_SHARE = 0.25;
/** Runtime-written seed images: clean ones and ones cut by a power failure. */
const RUNTIME_SEEDS = 40;
const POWERCUT_SEEDS = 24;

const KINDS = [
  'seed',
  'random',
  'structured',
  'bitflip',
  'byterun',
  'resize',
  'pages',
  'header',
  'entry',
  'bitmap',
  'dup-entry',
  'stacked',
] as const;
type Kind = (typeof KINDS)[number];
const KIND_WEIGHTS: readonly [Kind, number][] = [
  ['seed', 2],
  ['random', 5],
  ['structured', 9],
  ['bitflip', 9],
  ['byterun', 7],
  ['resize', 5],
  ['pages', 6],
  ['header', 10],
  ['entry', 18],
  ['bitmap', 10],
  ['dup-entry', 9],
  ['stacked', 10],
];

// ------------------------------------------------------------------------------------ PRNG

function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** sfc32, seeded from any number of 32-bit words (e.g. run seed and case number). */
class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...words: number[]) {
    let h = 0x2545f491;
    for (const w of words) h = fmix32((h ^ (w >>> 0)) + 0x9e3779b9);
    this.a = fmix32(h + 1);
    this.b = fmix32(h + 2);
    this.c = fmix32(h + 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 4294967296) * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(items.length)]!;
  }

  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.int(total);
    for (const [v, w] of items) {
      if (r < w) return v;
      r -= w;
    }
    return items[items.length - 1]![0];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

// ------------------------------------------------------------------------------------ image helpers

const pageCount = (img: Uint8Array): number => Math.floor(img.length / PAGE_SIZE);
const entryOff = (page: number, i: number): number => page * PAGE_SIZE + ENTRY_DATA_OFFSET + i * ENTRY_SIZE;

function getState(img: Uint8Array, page: number, i: number): number {
  return (img[page * PAGE_SIZE + BITMAP_OFFSET + (i >> 2)]! >> ((i & 3) * 2)) & 3;
}

function setState(img: Uint8Array, page: number, i: number, st: number): void {
  const at = page * PAGE_SIZE + BITMAP_OFFSET + (i >> 2);
  const shift = (i & 3) * 2;
  img[at] = (img[at]! & ~(3 << shift)) | (st << shift);
}

function setStates(img: Uint8Array, page: number, first: number, count: number, st: number): void {
  for (let i = first; i < first + count && i < ENTRY_COUNT; i++) setState(img, page, i, st);
}

function fixHeaderCrc(img: Uint8Array, page: number): void {
  writeU32(img, page * PAGE_SIZE + 28, pageHeaderCrc(img, page * PAGE_SIZE));
}

function fixEntryCrc(img: Uint8Array, off: number): void {
  writeU32(img, off + 4, entryCrc(img, off));
}

function entryCrcOk(img: Uint8Array, off: number): boolean {
  return readU32(img, off + 4) === entryCrc(img, off);
}

/** Recomputes the payload CRC of a variable-length header (payload clamped to the page). */
function fixDataCrc(img: Uint8Array, page: number, i: number): void {
  const off = entryOff(page, i);
  const start = off + ENTRY_SIZE;
  const end = Math.min(start + readU16(img, off + 24), (page + 1) * PAGE_SIZE);
  writeU32(img, off + 28, crc32le(img, 0xffffffff, start, Math.max(start, end)));
}

function writeHeader(img: Uint8Array, page: number, state: number, seq: number, version: number): void {
  const b = page * PAGE_SIZE;
  img.fill(0xff, b, b + 32);
  writeU32(img, b, state);
  writeU32(img, b + 4, seq);
  img[b + 8] = version;
  fixHeaderCrc(img, page);
}

/** Entries of a page that look like item headers: WRITTEN with a valid CRC, walked like the loader. */
function itemHeaders(img: Uint8Array, page: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ENTRY_COUNT; i++) {
    if (getState(img, page, i) !== EntryState.WRITTEN) continue;
    const off = entryOff(page, i);
    if (!entryCrcOk(img, off)) continue;
    out.push(i);
    const type = img[off + 1]!;
    const span = img[off + 2]!;
    if (isVariableLengthType(type) && span > 1 && span <= ENTRY_COUNT - i) i += span - 1;
  }
  return out;
}

function writtenEntries(img: Uint8Array, page: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ENTRY_COUNT; i++) if (getState(img, page, i) === EntryState.WRITTEN) out.push(i);
  return out;
}

/** Pages whose header has a valid CRC and a non-erased state (the ones with entries to mutate). */
function livePages(img: Uint8Array): number[] {
  const out: number[] = [];
  for (let p = 0; p < pageCount(img); p++) {
    const b = p * PAGE_SIZE;
    if (readU32(img, b) !== PageState.UNINITIALIZED && readU32(img, b + 28) === pageHeaderCrc(img, b)) out.push(p);
  }
  return out;
}

/** True when a live page holds a WRITTEN, CRC-valid item of namespace 0 that is not a u8. */
function hasNonU8NamespaceItem(img: Uint8Array): boolean {
  for (const p of livePages(img)) {
    for (let i = 0; i < ENTRY_COUNT; i++) {
      const off = entryOff(p, i);
      if (getState(img, p, i) === EntryState.WRITTEN && img[off] === 0 && img[off + 1] !== ItemType.U8 && entryCrcOk(img, off)) return true;
    }
  }
  return false;
}

function pickPage(img: Uint8Array, rng: Rng): number {
  const live = livePages(img);
  if (live.length > 0 && rng.chance(0.85)) return rng.pick(live);
  return rng.int(pageCount(img));
}

const KNOWN_TYPES = Object.values(ItemType).filter((t) => t !== ItemType.ANY);
const FIXED_TYPES = KNOWN_TYPES.filter((t) => isFixedSizeType(t));
const KEY_POOL = ['k0', 'k1', 'k2', 'blob', 'str', 'ssid', 'a', 'fifteen_chars__', 'x'];

function asciiKey(rng: Rng, maxLen = 15): Uint8Array {
  const n = rng.range(1, maxLen);
  const k = new Uint8Array(n);
  for (let i = 0; i < n; i++) k[i] = rng.range(0x21, 0x7e);
  return k;
}

function poolKey(rng: Rng): Uint8Array {
  return new TextEncoder().encode(rng.pick(KEY_POOL));
}

// ------------------------------------------------------------------------------------ mutations

/** A mutated image and what was done to it (for reports). */
interface Mutant {
  img: Uint8Array;
  trace: string[];
}

type Mutation = (m: Mutant, rng: Rng) => void;

const mutBitflip: Mutation = (m, rng) => {
  if (m.img.length === 0) return;
  const n = rng.range(1, 16);
  const where: number[] = [];
  for (let k = 0; k < n; k++) {
    let at: number;
    if (rng.chance(0.5) && pageCount(m.img) > 0) at = rng.int(pageCount(m.img)) * PAGE_SIZE + rng.int(64);
    else at = rng.int(m.img.length);
    m.img[at] = m.img[at]! ^ (1 << rng.int(8));
    where.push(at);
  }
  m.trace.push(`bitflip x${n} at 0x${where.map((w) => w.toString(16)).join(',0x')}`);
};

const mutByterun: Mutation = (m, rng) => {
  if (m.img.length === 0) return;
  const len = rng.chance(0.85) ? rng.range(1, 64) : rng.range(65, 600);
  const pages = pageCount(m.img);
  let at: number;
  const region = rng.int(4);
  if (region === 0 && pages > 0) at = rng.int(pages) * PAGE_SIZE + rng.int(64);
  else if (region === 1 && pages > 0) at = entryOff(rng.int(pages), rng.int(ENTRY_COUNT)) + rng.int(32);
  else at = rng.int(m.img.length);
  const end = Math.min(m.img.length, at + len);
  const fill = rng.int(4);
  if (fill === 0) m.img.set(rng.bytes(end - at), at);
  else m.img.fill(fill === 1 ? 0x00 : fill === 2 ? 0xff : rng.int(256), at, end);
  m.trace.push(`byterun 0x${at.toString(16)}..0x${end.toString(16)} fill ${['random', '00', 'ff', 'byte'][fill]}`);
};

const mutResize: Mutation = (m, rng) => {
  const old = m.img.length;
  let len: number;
  const r = rng.int(10);
  if (r < 4) len = rng.int(MAX_LEN + 1);
  else if (r < 7) len = Math.max(0, Math.min(MAX_LEN, old + (rng.chance(0.5) ? 1 : -1) * rng.range(1, PAGE_SIZE - 1)));
  else len = rng.range(1, MAX_PAGES) * PAGE_SIZE;
  const out = new Uint8Array(len);
  out.set(m.img.subarray(0, Math.min(old, len)));
  if (len > old) {
    const f = rng.int(3);
    if (f === 0) out.fill(0xff, old);
    else if (f === 1) out.set(rng.bytes(len - old), old);
    else for (let i = old; i < len; i++) out[i] = old > 0 ? m.img[i % old]! : 0xff;
  }
  m.img = out;
  m.trace.push(`resize ${old} -> ${len}`);
};

const mutPages: Mutation = (m, rng) => {
  const n = pageCount(m.img);
  if (n === 0) return;
  const pages: Uint8Array[] = [];
  for (let p = 0; p < n; p++) pages.push(m.img.slice(p * PAGE_SIZE, (p + 1) * PAGE_SIZE));
  const tail = m.img.slice(n * PAGE_SIZE);
  const op = rng.pick(['shuffle', 'swap', 'dup-over', 'dup-insert', 'drop', 'insert-erased', 'reverse'] as const);
  switch (op) {
    case 'shuffle':
      for (let i = pages.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [pages[i], pages[j]] = [pages[j]!, pages[i]!];
      }
      break;
    case 'swap': {
      const i = rng.int(n);
      const j = rng.int(n);
      [pages[i], pages[j]] = [pages[j]!, pages[i]!];
      break;
    }
    case 'dup-over':
      pages[rng.int(n)] = pages[rng.int(n)]!.slice();
      break;
    case 'dup-insert':
      if (n < MAX_PAGES) pages.splice(rng.int(n + 1), 0, pages[rng.int(n)]!.slice());
      break;
    case 'drop':
      if (n > 1) pages.splice(rng.int(n), 1);
      break;
    case 'insert-erased':
      if (n < MAX_PAGES) pages.splice(rng.int(n + 1), 0, new Uint8Array(PAGE_SIZE).fill(0xff));
      break;
    case 'reverse':
      pages.reverse();
      break;
  }
  const out = new Uint8Array(pages.length * PAGE_SIZE + tail.length);
  pages.forEach((p, i) => out.set(p, i * PAGE_SIZE));
  out.set(tail, pages.length * PAGE_SIZE);
  m.img = out;
  m.trace.push(`pages ${op} (${n} -> ${pages.length})`);
};

const STATE_CHOICES: readonly (readonly [number | 'random', number])[] = [
  [PageState.ACTIVE, 25],
  [PageState.FULL, 25],
  [PageState.FREEING, 15],
  [PageState.UNINITIALIZED, 6],
  [PageState.CORRUPT, 5],
  [0, 3],
  ['random', 6],
];

const mutHeader: Mutation = (m, rng) => {
  const n = pageCount(m.img);
  if (n === 0) return;
  const p = rng.int(n);
  const b = p * PAGE_SIZE;
  const st = rng.weighted(STATE_CHOICES);
  const state = st === 'random' ? rng.u32() : st;
  const oldSeq = readU32(m.img, b + 4);
  let seq: number;
  const r = rng.int(20);
  if (r < 6) seq = oldSeq;
  else if (r < 14) seq = rng.int(17);
  else if (r < 17) seq = readU32(m.img, rng.int(n) * PAGE_SIZE + 4);
  else seq = rng.pick([0xffffffff, 0xfffffffe, 0x7fffffff, 0x80000000, rng.u32()]);
  const vr = rng.int(20);
  const version = vr < 15 ? FORMAT_VERSION.V2 : vr < 18 ? FORMAT_VERSION.V1 : rng.int(256);
  writeU32(m.img, b, state);
  writeU32(m.img, b + 4, seq);
  m.img[b + 8] = version;
  if (rng.chance(0.1)) m.img.set(rng.bytes(19), b + 9);
  const fix = rng.chance(0.92);
  if (fix) fixHeaderCrc(m.img, p);
  m.trace.push(`header p${p} state=0x${state.toString(16)} seq=${seq} version=0x${version.toString(16)}${fix ? '' : ' (stale crc)'}`);
};

const mutEntry: Mutation = (m, rng) => {
  const n = pageCount(m.img);
  if (n === 0) return;
  const p = pickPage(m.img, rng);
  const heads = itemHeaders(m.img, p);
  const written = writtenEntries(m.img, p);
  const r = rng.int(10);
  const i = r < 7 && heads.length > 0 ? rng.pick(heads) : r < 9 && written.length > 0 ? rng.pick(written) : rng.int(ENTRY_COUNT);
  const off = entryOff(p, i);
  const img = m.img;
  const done: string[] = [];
  const fields = rng.range(1, 3);
  for (let f = 0; f < fields; f++) {
    const field = rng.weighted([
      ['type', 14],
      ['span', 12],
      ['chunk', 10],
      ['ns', 8],
      ['size', 14],
      ['key', 12],
      ['blobidx', 12],
      ['data', 6],
      ['payload', 6],
    ] as const);
    switch (field) {
      case 'type':
        img[off + 1] = rng.chance(0.85) ? rng.pick(KNOWN_TYPES) : rng.int(256);
        done.push(`type=0x${img[off + 1]!.toString(16)}`);
        break;
      case 'span': {
        const size = readU16(img, off + 24);
        img[off + 2] = rng.pick([1, 2, rng.int(256), Math.min(255, Math.ceil(size / 32) + 1), ENTRY_COUNT - i, ENTRY_COUNT + 1 - i, 0]);
        done.push(`span=${img[off + 2]}`);
        break;
      }
      case 'chunk':
        img[off + 3] = rng.pick([0xff, 0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xfe, rng.int(256)]);
        done.push(`chunk=0x${img[off + 3]!.toString(16)}`);
        break;
      case 'ns':
        img[off] = rng.pick([0, 1, 2, 3, 254, 255, rng.int(256)]);
        done.push(`ns=${img[off]}`);
        break;
      case 'size': {
        const size = rng.pick([0, 1, 31, 32, 33, rng.int(200), rng.int(4001), (ENTRY_COUNT - 1 - i) * 32, (ENTRY_COUNT - 1 - i) * 32 + 1, 0xffff]);
        img[off + 24] = size & 0xff;
        img[off + 25] = size >>> 8;
        let extra = '';
        if (rng.chance(0.6)) {
          img[off + 2] = Math.min(255, Math.ceil(size / 32) + 1);
          extra = ` span=${img[off + 2]}`;
          if (rng.chance(0.5)) {
            setStates(img, p, i, img[off + 2]!, EntryState.WRITTEN);
            extra += ' marked-written';
          }
        }
        done.push(`size=${size}${extra}`);
        break;
      }
      case 'key': {
        const kr = rng.int(7);
        let kb: Uint8Array;
        let tail: Uint8Array | null = null;
        if (kr === 0) kb = asciiKey(rng);
        else if (kr === 1) kb = rng.bytes(16).map((b) => b | 1); // no NUL at all
        else if (kr === 2) kb = new Uint8Array(0); // empty key
        else if (kr === 3) kb = rng.bytes(rng.range(1, 15)).map((b) => b | 0x80); // non-ASCII, often invalid UTF-8
        else if (kr === 4) {
          kb = poolKey(rng);
          tail = rng.bytes(16).map((b) => b | 1); // non-zero bytes after the NUL
        } else if (kr === 5) {
          // the key of another valid entry in the image (same key, other place)
          const q = pickPage(img, rng);
          const hs = itemHeaders(img, q);
          const o = hs.length > 0 ? entryOff(q, rng.pick(hs)) : -1;
          kb = o >= 0 ? img.slice(o + 8, o + 24) : poolKey(rng);
        } else kb = poolKey(rng);
        img.fill(0, off + 8, off + 24);
        img.set(kb.subarray(0, 16), off + 8);
        if (tail && kb.length < 15) img.set(tail.subarray(0, 16 - kb.length - 1), off + 8 + kb.length + 1);
        done.push(`key=${Buffer.from(img.subarray(off + 8, off + 24)).toString('hex')}`);
        break;
      }
      case 'blobidx': {
        if (rng.chance(0.5)) {
          img[off + 1] = ItemType.BLOB_IDX;
          img[off + 2] = 1;
          img[off + 3] = 0xff;
        }
        const total = rng.pick([0, rng.int(100), rng.int(20000), BLOB_MAX_TOTAL_SIZE, BLOB_MAX_TOTAL_SIZE + 1, 0xffffffff, readU32(img, off + 24)]);
        writeU32(img, off + 24, total);
        img[off + 28] = rng.pick([0, 1, 2, 3, 127, 128, 255, rng.int(256), img[off + 28]!]);
        img[off + 29] = rng.pick([0x00, 0x80, 0x7f, 0xff, 0x01, rng.int(256), img[off + 29]!]);
        done.push(`blobidx type=0x${img[off + 1]!.toString(16)} total=${total} count=${img[off + 28]} start=0x${img[off + 29]!.toString(16)}`);
        break;
      }
      case 'data':
        img.set(rng.bytes(8), off + 24);
        done.push('data=random');
        break;
      case 'payload': {
        const span = Math.min(img[off + 2]!, ENTRY_COUNT - i);
        if (span > 1) {
          const at = off + 32 + rng.int((span - 1) * 32);
          img[at] = rng.int(256);
          done.push(`payload byte 0x${at.toString(16)}`);
        }
        break;
      }
    }
  }
  if (isVariableLengthType(img[off + 1]!) && rng.chance(0.7)) {
    fixDataCrc(img, p, i);
    done.push('data-crc fixed');
  }
  const fix = rng.chance(0.95);
  if (fix) fixEntryCrc(img, off);
  m.trace.push(`entry p${p} e${i}: ${done.join(' ')}${fix ? '' : ' (stale crc)'}`);
};

const mutBitmap: Mutation = (m, rng) => {
  const n = pageCount(m.img);
  if (n === 0) return;
  const p = pickPage(m.img, rng);
  const b = p * PAGE_SIZE + BITMAP_OFFSET;
  const op = rng.weighted([
    ['entries', 50],
    ['range', 20],
    ['all-written', 6],
    ['all-empty', 4],
    ['tail-nibble', 8],
    ['random-bytes', 6],
    ['clear-first-empty', 6],
  ] as const);
  const states = [EntryState.EMPTY, EntryState.WRITTEN, EntryState.ERASED, EntryState.ILLEGAL];
  let what: string = op;
  switch (op) {
    case 'entries': {
      const k = rng.range(1, 8);
      const list: string[] = [];
      for (let j = 0; j < k; j++) {
        const i = rng.int(ENTRY_COUNT);
        const st = rng.pick(states);
        setState(m.img, p, i, st);
        list.push(`${i}=${st.toString(2).padStart(2, '0')}`);
      }
      what = `entries ${list.join(',')}`;
      break;
    }
    case 'range': {
      const first = rng.int(ENTRY_COUNT);
      const count = rng.range(1, 40);
      const st = rng.pick(states);
      setStates(m.img, p, first, count, st);
      what = `range ${first}+${count}=${st.toString(2).padStart(2, '0')}`;
      break;
    }
    case 'all-written':
      m.img.fill(0xaa, b, b + 31);
      m.img[b + 31] = 0xfa;
      break;
    case 'all-empty':
      m.img.fill(0xff, b, b + 32);
      break;
    case 'tail-nibble':
      // the bits of the non-existent entries 126 and 127
      m.img[b + 31] = (m.img[b + 31]! & 0x0f) | (rng.int(16) << 4);
      what = `tail-nibble byte63=0x${m.img[b + 31]!.toString(16)}`;
      break;
    case 'random-bytes': {
      const at = rng.int(32);
      const len = rng.range(1, 32 - at);
      m.img.set(rng.bytes(len), b + at);
      what = `random-bytes ${at}+${len}`;
      break;
    }
    case 'clear-first-empty': {
      // an ACTIVE page's first EMPTY slot becomes WRITTEN/ERASED/ILLEGAL (torn write shapes)
      let i = 0;
      while (i < ENTRY_COUNT && getState(m.img, p, i) !== EntryState.EMPTY) i++;
      if (i < ENTRY_COUNT) {
        const st = rng.pick([EntryState.WRITTEN, EntryState.ERASED, EntryState.ILLEGAL]);
        setState(m.img, p, i, st);
        what = `first-empty ${i}=${st.toString(2).padStart(2, '0')}`;
        if (rng.chance(0.5)) {
          m.img.set(rng.bytes(rng.range(1, 32)), entryOff(p, i));
          what += ' +garbage';
        }
      }
      break;
    }
  }
  m.trace.push(`bitmap p${p} ${what}`);
};

const mutDupEntry: Mutation = (m, rng) => {
  const n = pageCount(m.img);
  if (n === 0) return;
  const ps = pickPage(m.img, rng);
  const heads = itemHeaders(m.img, ps);
  const i = heads.length > 0 && rng.chance(0.9) ? rng.pick(heads) : rng.int(ENTRY_COUNT);
  const srcOff = entryOff(ps, i);
  const type = m.img[srcOff + 1]!;
  let span = isVariableLengthType(type) ? Math.max(1, Math.min(m.img[srcOff + 2]!, ENTRY_COUNT - i)) : 1;
  const pd = rng.chance(0.5) ? ps : pickPage(m.img, rng);
  let j: number;
  if (rng.chance(0.45)) {
    j = 0;
    while (j < ENTRY_COUNT && getState(m.img, pd, j) !== EntryState.EMPTY) j++;
    if (j === ENTRY_COUNT) j = rng.int(ENTRY_COUNT);
  } else j = rng.int(ENTRY_COUNT);
  span = Math.min(span, ENTRY_COUNT - j);
  const copy = m.img.slice(srcOff, srcOff + span * ENTRY_SIZE);
  const dstOff = entryOff(pd, j);
  m.img.set(copy, dstOff);
  if (rng.chance(0.85)) setStates(m.img, pd, j, span, EntryState.WRITTEN);
  let extra = '';
  if (rng.chance(0.3)) {
    if (isFixedSizeType(type) || type === ItemType.BLOB_IDX) {
      m.img.set(rng.bytes(isFixedSizeType(type) ? 4 : 2), dstOff + 24);
      extra = ' value changed';
    } else if (span > 1) {
      m.img[dstOff + 32] = rng.int(256);
      fixDataCrc(m.img, pd, j);
      extra = ' payload changed';
    }
    fixEntryCrc(m.img, dstOff);
  }
  m.trace.push(`dup p${ps} e${i} (span ${span}) -> p${pd} e${j}${extra}`);
};

const STACKABLE: readonly (readonly [Mutation, number])[] = [
  [mutBitflip, 2],
  [mutByterun, 2],
  [mutHeader, 4],
  [mutEntry, 8],
  [mutBitmap, 4],
  [mutDupEntry, 4],
  [mutPages, 2],
  [mutResize, 1],
];

// ------------------------------------------------------------------------------------ generated images

function randomImage(rng: Rng): Uint8Array {
  const pages = rng.range(1, 8);
  const r = rng.int(4);
  if (r === 0) return rng.bytes(pages * PAGE_SIZE);
  // mostly erased flash with random bytes sprinkled, or random pages among erased ones
  const img = new Uint8Array(pages * PAGE_SIZE).fill(0xff);
  if (r === 1) {
    const k = rng.range(1, 200);
    for (let i = 0; i < k; i++) img[rng.int(img.length)] = rng.int(256);
  } else if (r === 2) {
    for (let p = 0; p < pages; p++) if (rng.chance(0.5)) img.set(rng.bytes(PAGE_SIZE), p * PAGE_SIZE);
  } else {
    for (let i = 0; i < img.length; i++) img[i] = rng.chance(0.5) ? 0x00 : 0xff;
  }
  return img;
}

/** Writes one random but well-formed item at entry `e` of a page; returns the entries used (0 = none fit). */
function writeRandomItem(img: Uint8Array, p: number, e: number, room: number, rng: Rng): number {
  const kind = rng.weighted([
    ['namespace', 18],
    ['fixed', 34],
    ['string', 18],
    ['blob', 16],
    ['v1blob', 4],
    ['index', 6],
    ['chunk', 4],
  ] as const);
  const off = entryOff(p, e);
  const ns = rng.chance(0.9) ? rng.range(1, 4) : rng.int(256);
  const key = rng.chance(0.85) ? poolKey(rng) : asciiKey(rng);
  const varItem = (type: number, chunk: number, size: number): number => {
    const span = 1 + Math.ceil(size / ENTRY_SIZE);
    if (span > room) return 0;
    const payload = rng.bytes(size);
    if (type === ItemType.SZ && size > 0) payload[size - 1] = 0;
    const crc = rng.chance(0.9) ? crc32le(payload) : rng.u32();
    const data = new Uint8Array(8);
    data[0] = size & 0xff;
    data[1] = size >>> 8;
    data[2] = data[3] = 0xff;
    writeU32(data, 4, crc);
    img.fill(0xff, off, off + span * ENTRY_SIZE);
    encodeEntry(img, off, ns, type, span, chunk, key, data);
    img.set(payload, off + ENTRY_SIZE);
    return span;
  };
  switch (kind) {
    case 'namespace': {
      const data = new Uint8Array(8).fill(0xff);
      // mostly one index per name (as a device writes them); sometimes conflicting definitions
      const k = rng.int(4);
      data[0] = rng.chance(0.9) ? k + 1 : rng.int(256);
      encodeEntry(img, off, 0, ItemType.U8, 1, 0xff, new TextEncoder().encode(`ns${k}`), data);
      return 1;
    }
    case 'fixed': {
      const type = rng.pick(FIXED_TYPES);
      const data = new Uint8Array(8).fill(0xff);
      data.set(rng.bytes(type & 0x0f));
      encodeEntry(img, off, ns, type, 1, 0xff, key, data);
      return 1;
    }
    case 'string':
      return varItem(ItemType.SZ, 0xff, rng.chance(0.8) ? rng.range(1, 100) : rng.range(1, 4000));
    case 'v1blob':
      return varItem(ItemType.BLOB, 0xff, rng.range(0, 300));
    case 'chunk':
      return varItem(ItemType.BLOB_DATA, rng.pick([0, 1, 0x80, 0x81, rng.int(255)]), rng.range(0, 300));
    case 'index': {
      const data = new Uint8Array(8).fill(0xff);
      writeU32(data, 0, rng.int(600));
      data[4] = rng.int(4);
      data[5] = rng.pick([0, 0x80]);
      encodeEntry(img, off, ns, ItemType.BLOB_IDX, 1, 0xff, key, data);
      return 1;
    }
    case 'blob': {
      // consistent version-2 blob on this page: chunks, then the index
      const start = rng.pick([0, 0x80]);
      const chunks = rng.range(1, 3);
      let used = 0;
      let total = 0;
      let c = 0;
      for (; c < chunks; c++) {
        const size = rng.range(0, 120);
        const span = 1 + Math.ceil(size / ENTRY_SIZE);
        if (used + span + 1 > room) break;
        const payload = rng.bytes(size);
        const data = new Uint8Array(8);
        data[0] = size & 0xff;
        data[1] = size >>> 8;
        data[2] = data[3] = 0xff;
        writeU32(data, 4, crc32le(payload));
        const o = off + used * ENTRY_SIZE;
        img.fill(0xff, o, o + span * ENTRY_SIZE);
        encodeEntry(img, o, ns, ItemType.BLOB_DATA, span, start + c, key, data);
        img.set(payload, o + ENTRY_SIZE);
        used += span;
        total += size;
      }
      if (used + 1 > room) return used;
      const data = new Uint8Array(8).fill(0xff);
      writeU32(data, 0, total);
      data[4] = c;
      data[5] = start;
      encodeEntry(img, off + used * ENTRY_SIZE, ns, ItemType.BLOB_IDX, 1, 0xff, key, data);
      return used + 1;
    }
  }
}

/** Pages built from scratch with valid header and entry CRCs and mostly consistent items. */
function structuredImage(rng: Rng): Uint8Array {
  const pages = rng.range(1, 8);
  const img = new Uint8Array(pages * PAGE_SIZE).fill(0xff);
  for (let p = 0; p < pages; p++) {
    const r = rng.int(100);
    if (r < 15) continue;
    if (r < 19) {
      img.set(rng.bytes(PAGE_SIZE), p * PAGE_SIZE);
      continue;
    }
    const state = rng.weighted([
      [PageState.ACTIVE, 40],
      [PageState.FULL, 45],
      [PageState.FREEING, 10],
      [PageState.CORRUPT, 5],
    ] as const);
    const seq = rng.chance(0.85) ? p + rng.int(3) : rng.u32();
    const version = rng.chance(0.9) ? FORMAT_VERSION.V2 : FORMAT_VERSION.V1;
    writeHeader(img, p, state, seq, version);
    const limit = state === PageState.ACTIVE ? rng.int(ENTRY_COUNT + 1) : rng.chance(0.8) ? ENTRY_COUNT : rng.int(ENTRY_COUNT + 1);
    let e = 0;
    while (e < limit) {
      const used = writeRandomItem(img, p, e, limit - e, rng);
      if (used === 0) break;
      const st = rng.weighted([
        [EntryState.WRITTEN, 90],
        [EntryState.ERASED, 6],
        [EntryState.ILLEGAL, 2],
        [EntryState.EMPTY, 2],
      ] as const);
      setStates(img, p, e, used, st);
      if (rng.chance(0.03)) setState(img, p, e + rng.int(used), rng.pick([EntryState.ERASED, EntryState.EMPTY]));
      e += used;
    }
  }
  return img;
}

// ------------------------------------------------------------------------------------ corpus

interface SeedImage {
  name: string;
  bytes: Uint8Array;
}

interface Corpus {
  golden: SeedImage[];
  runtime: SeedImage[];
  /** Problems met while building runtime seeds (the runtime failing on a clean flash). */
  problems: { name: string; error: unknown; image: Uint8Array }[];
}

const NAMESPACES = ['app', 'wifi', 'cfg', 'fifteen_chars__'];
const WORK_KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'str', 'blob', 'big', 'fifteen_chars__'];
const VALUE_TYPES: readonly NvsValueType[] = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64', 'float', 'double'];

type Value = number | bigint | string | Uint8Array;

function randomFixed(type: NvsValueType, rng: Rng): number | bigint {
  switch (type) {
    case 'u8':
      return rng.int(256);
    case 'i8':
      return rng.int(256) - 128;
    case 'u16':
      return rng.int(65536);
    case 'i16':
      return rng.int(65536) - 32768;
    case 'u32':
      return rng.u32();
    case 'i32':
      return rng.u32() | 0;
    case 'u64':
      return (BigInt(rng.u32()) << 32n) | BigInt(rng.u32());
    case 'i64':
      return BigInt.asIntN(64, (BigInt(rng.u32()) << 32n) | BigInt(rng.u32()));
    case 'float':
      return Math.fround((rng.u32() / 4294967296) * 2000 - 1000);
    default:
      return (rng.u32() / 4294967296) * 1e6 - 5e5;
  }
}

function randomText(rng: Rng, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += rng.chance(0.97) ? String.fromCharCode(rng.range(0x20, 0x7e)) : rng.pick(['é', '€', '\u00ff']);
  return s;
}

function randomValue(rng: Rng, pages: number): { type: NvsValueType; value: Value } {
  const r = rng.int(100);
  if (r < 45) {
    const type = rng.pick(VALUE_TYPES);
    return { type, value: randomFixed(type, rng) };
  }
  if (r < 70) return { type: 'string', value: randomText(rng, rng.chance(0.85) ? rng.int(120) : rng.int(3990)) };
  if (r < 95) return { type: 'blob', value: rng.bytes(rng.chance(0.8) ? rng.int(400) : rng.int(5000)) };
  return { type: 'blob', value: rng.bytes(4097 + rng.int(Math.max(1, (pages - 1) * 4000 - 4097))) };
}

/** A random workload through the public handle API; typed NVS errors (e.g. no space) are part of the game. */
function workload(s: NvsStorage, rng: Rng, ops: number, pages: number): void {
  const handles = new Map<string, NvsHandle>();
  const handle = (ns: string): NvsHandle => {
    let h = handles.get(ns);
    if (!h) {
      h = s.open(ns, 'readwrite');
      handles.set(ns, h);
    }
    return h;
  };
  for (let i = 0; i < ops; i++) {
    try {
      const h = handle(rng.pick(NAMESPACES));
      const key = rng.pick(WORK_KEYS);
      const r = rng.int(100);
      if (r < 80) {
        const v = randomValue(rng, pages);
        h.set(key, v.type, v.value);
      } else if (r < 95) h.eraseKey(key);
      else if (r < 97) h.eraseAll();
      else h.findKey(key);
    } catch (e) {
      if (e instanceof PowerCutError || e instanceof FlashError || !(e instanceof NvsecError)) throw e;
    }
  }
}

function buildCorpus(seed: number, beat: () => void): Corpus {
  const corpus: Corpus = { golden: [], runtime: [], problems: [] };
  if (VECTORS_DIR) {
    const area = path.join(VECTORS_DIR, 'nvs');
    const dirs = fs.existsSync(area) ? fs.readdirSync(area).sort() : [];
    for (const d of dirs) {
      for (const f of ['partition.bin', 'decrypted.bin']) {
        const file = path.join(area, d, f);
        if (!fs.existsSync(file)) continue;
        const bytes = new Uint8Array(fs.readFileSync(file));
        if (bytes.length > 0 && bytes.length <= MAX_LEN) corpus.golden.push({ name: `golden:${d}/${f}`, bytes });
      }
    }
  }
  for (let k = 0; k < RUNTIME_SEEDS + POWERCUT_SEEDS; k++) {
    beat();
    const rng = new Rng(seed, 0xc0ffee, k);
    const pages = rng.range(2, 8);
    const cut = k >= RUNTIME_SEEDS;
    const mem = new MemoryFlash(pages * PAGE_SIZE);
    const flash = cut ? new PowerCutFlash(mem, { cutAt: rng.range(1, 600), tearBytes: rng.chance(0.5) ? 0 : rng.range(1, 40) }) : mem;
    const name = `runtime:${k}${cut ? '(power-cut)' : ''} ${pages}p`;
    try {
      const s = NvsStorage.init(flash);
      workload(s, rng, rng.range(5, 250), pages);
    } catch (e) {
      if (!(e instanceof PowerCutError)) corpus.problems.push({ name, error: e, image: mem.bytes.slice() });
    }
    corpus.runtime.push({ name, bytes: mem.bytes.slice() });
  }
  return corpus;
}

// ------------------------------------------------------------------------------------ checks

/** Why a case failed. */
interface Problem {
  phase: string;
  error: unknown;
  /** Runtime operations done before the failure (runtime exercise only). */
  ops?: string[];
}

class Malformed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedResult';
  }
}

class Mismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueMismatch';
  }
}

const PAGE_STATES = new Set(['UNINITIALIZED', 'ACTIVE', 'FULL', 'FREEING', 'CORRUPT']);
const DUMP_TYPES = new Set(['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64', 'float', 'double', 'string', 'blob']);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Structural problems of a readNvsPartition result, or an empty list. */
function dumpProblems(d: NvsDump, length: number): string[] {
  const out: string[] = [];
  if (!isPlainObject(d)) return ['result is not an object'];
  if (!Array.isArray(d.pages)) out.push('pages is not an array');
  if (!isPlainObject(d.namespaces)) out.push('namespaces is not an object');
  if (!Array.isArray(d.iteration)) out.push('iteration is not an array');
  if (!Array.isArray(d.errors)) out.push('errors is not an array');
  if (d.fatal !== null && typeof d.fatal !== 'string') out.push(`fatal is ${typeof d.fatal}`);
  if (out.length > 0) return out;
  const whole = Math.floor(length / PAGE_SIZE);
  if (length % PAGE_SIZE !== 0 && d.fatal === null) out.push(`length ${length} is not a whole number of pages but fatal is null`);
  if (d.pages.length !== 0 && d.pages.length !== whole) out.push(`${d.pages.length} pages reported for ${whole} whole pages`);
  d.pages.forEach((p, i) => {
    if (!isPlainObject(p)) {
      out.push(`pages[${i}] is not an object`);
      return;
    }
    if (p.page !== i) out.push(`pages[${i}].page = ${p.page}`);
    if (!PAGE_STATES.has(p.state)) out.push(`pages[${i}].state = ${String(p.state)}`);
    if (p.seq !== null && !(isCount(p.seq) && p.seq <= 0xffffffff)) out.push(`pages[${i}].seq = ${p.seq}`);
    if (p.version !== null && !(isCount(p.version) && p.version <= 0xff)) out.push(`pages[${i}].version = ${p.version}`);
    if (!isCount(p.usedEntries) || p.usedEntries > ENTRY_COUNT) out.push(`pages[${i}].usedEntries = ${p.usedEntries}`);
    if (!isCount(p.erasedEntries) || p.erasedEntries > ENTRY_COUNT) out.push(`pages[${i}].erasedEntries = ${p.erasedEntries}`);
    if (p.usedEntries + p.erasedEntries > ENTRY_COUNT) out.push(`pages[${i}]: used ${p.usedEntries} + erased ${p.erasedEntries} > ${ENTRY_COUNT}`);
  });
  const s = d.stats;
  if (s !== null) {
    if (!isPlainObject(s)) out.push('stats is not an object');
    else {
      for (const k of ['usedEntries', 'freeEntries', 'availableEntries', 'totalEntries', 'namespaceCount'] as const) {
        if (!isCount(s[k])) out.push(`stats.${k} = ${s[k]}`);
      }
      if (s.usedEntries + s.freeEntries !== s.totalEntries) out.push(`stats: used ${s.usedEntries} + free ${s.freeEntries} != total ${s.totalEntries}`);
      if (d.pages.length > 0 && s.totalEntries !== ENTRY_COUNT * d.pages.length) out.push(`stats.totalEntries ${s.totalEntries} for ${d.pages.length} pages`);
      if (s.availableEntries !== Math.max(0, s.freeEntries - ENTRY_COUNT)) out.push(`stats.availableEntries ${s.availableEntries} for free ${s.freeEntries}`);
    }
  }
  d.iteration.forEach((t, i) => {
    if (!Array.isArray(t) || t.length !== 3 || typeof t[0] !== 'string' || typeof t[1] !== 'string' || !isCount(t[2]) || t[2] > 0xff) {
      out.push(`iteration[${i}] = ${JSON.stringify(t)}`);
    }
  });
  d.errors.forEach((e, i) => {
    if (!isPlainObject(e) || typeof e.message !== 'string') out.push(`errors[${i}] has no message`);
    else if ((e.page !== undefined && !isCount(e.page)) || (e.entry !== undefined && !isCount(e.entry))) out.push(`errors[${i}] has a bad page/entry`);
  });
  for (const [ns, values] of Object.entries(d.namespaces)) {
    if (!isPlainObject(values)) {
      out.push(`namespaces[${ns}] is not an object`);
      continue;
    }
    for (const [key, v] of Object.entries(values)) {
      const where = `namespaces[${JSON.stringify(ns)}][${JSON.stringify(key)}]`;
      if (!isPlainObject(v) || !DUMP_TYPES.has(v.type)) {
        out.push(`${where} has a bad type`);
        continue;
      }
      if (v.type === 'string') {
        if (!isCount(v.size) || v.size < 1 || typeof v.hex !== 'string' || v.hex.length !== 2 * (v.size - 1) || typeof v.text !== 'string') {
          out.push(`${where}: string size ${v.size} with ${String(v.hex).length / 2} bytes`);
        }
      } else if (v.type === 'blob') {
        if (!isCount(v.size) || typeof v.hex !== 'string' || v.hex.length !== 2 * v.size) out.push(`${where}: blob size ${v.size} with ${String(v.hex).length / 2} bytes`);
        if (v.layout !== 'v1-single' && v.layout !== 'v2-chunked') out.push(`${where}: blob layout ${String(v.layout)}`);
        if (v.chunks && !v.chunks.every((c) => isCount(c.chunk_index) && isCount(c.page) && isCount(c.entry) && isCount(c.size))) out.push(`${where}: bad chunk list`);
      } else if (typeof v.value !== 'string') out.push(`${where}: value is not a string`);
    }
  }
  try {
    JSON.stringify(d);
  } catch (e) {
    out.push(`not JSON-serialisable: ${(e as Error).message}`);
  }
  return out;
}

/** An error the runtime may throw: a typed NvsecError that is not a flash-level violation. */
function isTyped(e: unknown): boolean {
  return e instanceof NvsecError && !(e instanceof FlashError);
}

function sameValue(a: Value, b: Value): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) return a instanceof Uint8Array && b instanceof Uint8Array && bytesEqual(a, b);
  return Object.is(a, b);
}

function show(v: Value): string {
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === 'string') return `string(${v.length})`;
  return `${typeof v} ${String(v)}`;
}

/** Counters that show how deep the cases got. */
interface Depth {
  roDecodedValues: number;
  roFatal: number;
  rwRuns: number;
  rwFatal: number;
  storeRuns: number;
  storeInitOk: number;
  storeOpsOk: number;
  storeOpsTyped: number;
  bigBlobOk: number;
  reinitOk: number;
  /** Re-inits where the namespace name resolved to another index (duplicate namespace entries). */
  nsFlips: number;
  /** Re-inits where the namespace was hidden by a non-u8 item in namespace 0. */
  nsHidden: number;
}

function newDepth(): Depth {
  return { roDecodedValues: 0, roFatal: 0, rwRuns: 0, rwFatal: 0, storeRuns: 0, storeInitOk: 0, storeOpsOk: 0, storeOpsTyped: 0, bigBlobOk: 0, reinitOk: 0, nsFlips: 0, nsHidden: 0 };
}

function checkRead(image: Uint8Array, mode: 'read-only' | 'read-write', depth: Depth, label: string): Problem | null {
  const before = image.slice();
  let d: NvsDump;
  try {
    d = readNvsPartition(image, { mode });
  } catch (e) {
    return { phase: `${label}readNvsPartition(${mode}) threw`, error: e };
  }
  if (!bytesEqual(before, image)) return { phase: `${label}readNvsPartition(${mode})`, error: new Malformed('the input image was modified') };
  const problems = dumpProblems(d, image.length);
  if (problems.length > 0) return { phase: `${label}readNvsPartition(${mode}) result`, error: new Malformed(problems.slice(0, 8).join('; ')) };
  if (mode === 'read-only') {
    if (d.fatal !== null) depth.roFatal++;
    for (const ns of Object.values(d.namespaces)) depth.roDecodedValues += Object.keys(ns).length;
  } else if (d.fatal !== null) depth.rwFatal++;
  return null;
}

/** `--case K` sets this: the runtime exercise then logs its page table and load notes. */
let verbose = false;

function logStore(what: string, s: NvsStorage): void {
  if (!verbose) return;
  const pages = s
    .pages()
    .map((p) => `${p.page}:${p.state}${p.seq === null ? '' : `#${p.seq}`}(${p.usedEntries}u/${p.erasedEntries}e)`)
    .join(' ');
  console.log(`  [${what}] pages ${pages}`);
  if (what === 'after ops') return; // same notes as at init
  const byProblem = new Map<string, string[]>();
  for (const n of s.loadNotes) {
    const k = n.problem.replace(/\d+/g, 'N');
    byProblem.set(k, [...(byProblem.get(k) ?? []), `${n.page}/${n.entry}`]);
  }
  for (const [k, at] of byProblem) console.log(`  [${what}]   ${at.length} x ${k} -> at ${at.slice(0, 12).join(' ')}${at.length > 12 ? ' …' : ''}`);
}

/**
 * Read-write runtime on a copy of the image: a few writes, erases and reads (one blob larger than
 * a page), then a re-init and read-back. Typed NvsecErrors are accepted; anything else, a
 * FlashError, or a value not reading back is a problem.
 */
function exerciseStore(image: Uint8Array, rng: Rng, depth: Depth): Problem | null {
  const whole = image.length - (image.length % PAGE_SIZE);
  if (whole === 0) return null;
  depth.storeRuns++;
  const flash = new MemoryFlash(image.subarray(0, whole));
  const pages = whole / PAGE_SIZE;
  let phase = 'NvsStorage.init(read-write)';
  const ops: string[] = [];
  try {
    let s: NvsStorage;
    try {
      s = NvsStorage.init(flash);
    } catch (e) {
      if (isTyped(e)) return null;
      throw e;
    }
    depth.storeInitOk++;
    logStore('init', s);
    // ESP-IDF finishes only one FREEING page per init; name the case when another one is left over
    const leftover = s.pages().some((p) => p.state === 'FREEING') ? ' [a FREEING page survived the first init]' : '';
    const existing = [...s.namespaces().keys()].filter((n) => new TextEncoder().encode(n).length <= 15 && n.length > 0);
    const nsName = existing.length > 0 && rng.chance(0.5) ? rng.pick(existing) : 'fuzz';
    phase = `open(${JSON.stringify(nsName)}, 'readwrite')`;
    ops.push(phase);
    let h: NvsHandle;
    try {
      h = s.open(nsName, 'readwrite');
    } catch (e) {
      if (isTyped(e)) return null;
      throw e;
    }
    const keys = [...WORK_KEYS];
    for (const k of s.keys(h.nsIndex)) if (k.key.length > 0 && new TextEncoder().encode(k.key).length <= 15 && keys.length < WORK_KEYS.length + 4) keys.push(k.key);
    const model = new Map<string, { type: NvsValueType; value: Value }>();
    const bigSize = 4097 + rng.int(Math.max(1, Math.min(9000, (pages - 1) * 4000 - 4097)));
    const nOps = rng.range(3, 8);
    const bigAt = rng.int(nOps + 1);
    for (let op = 0; op <= nOps; op++) {
      const key = op === bigAt ? 'big' : rng.pick(keys);
      const r = op === bigAt ? -1 : rng.int(100);
      if (r < 60) {
        const v = r < 0 ? { type: 'blob' as const, value: rng.bytes(bigSize) } : randomValue(rng, pages);
        phase = `set ${JSON.stringify(key)} ${v.type} ${show(v.value)}`;
        ops.push(phase);
        try {
          h.set(key, v.type, v.value);
        } catch (e) {
          if (!isTyped(e)) throw e;
          ops.push(`  -> ${(e as NvsecError).code}`);
          depth.storeOpsTyped++;
          model.delete(key);
          continue;
        }
        depth.storeOpsOk++;
        if (r < 0) depth.bigBlobOk++;
        phase = `read back ${JSON.stringify(key)} ${v.type} after set`;
        const got = h.get(key, v.type);
        if (!sameValue(got, v.value)) throw new Mismatch(`read ${show(got)}, wrote ${show(v.value)}`);
        model.set(key, v);
      } else if (r < 85) {
        phase = `eraseKey ${JSON.stringify(key)}`;
        ops.push(phase);
        try {
          h.eraseKey(key);
        } catch (e) {
          if (!isTyped(e)) throw e;
          ops.push(`  -> ${(e as NvsecError).code}`);
          depth.storeOpsTyped++;
          if (!(e instanceof NvsecError && e.code === 'ESP_ERR_NVS_NOT_FOUND')) model.delete(key);
          continue;
        }
        depth.storeOpsOk++;
        model.delete(key);
        phase = `findKey ${JSON.stringify(key)} after eraseKey`;
        const t = h.findKey(key);
        if (t !== undefined) throw new Mismatch(`key still found (type ${t}) after eraseKey`);
      } else {
        phase = `get ${JSON.stringify(key)}`;
        ops.push(phase);
        const want = model.get(key);
        try {
          const got = h.get(key, want?.type ?? 'blob');
          if (want && !sameValue(got, want.value)) throw new Mismatch(`read ${show(got)}, expected ${show(want.value)}`);
        } catch (e) {
          if (!isTyped(e)) throw e;
          if (want) throw new Mismatch(`read of a value written in this session failed: ${(e as Error).message}`);
        }
      }
    }
    logStore('after ops', s);
    if (verbose) console.log(`  [after ops] flash saved to ${saveImage('after-ops.bin', flash.bytes)}`);
    phase = `NvsStorage.init(read-write) again${leftover}`;
    let s2: NvsStorage;
    try {
      s2 = NvsStorage.init(flash);
    } catch (e) {
      if (isTyped(e)) return null;
      throw e;
    }
    depth.reinitOk++;
    logStore('re-init', s2);
    if (model.size === 0) return checkRead(flash.bytes, 'read-only', depth, 'after runtime writes: ');
    phase = `open(${JSON.stringify(nsName)}, 'readonly') after re-init${leftover}`;
    let h2: NvsHandle;
    try {
      h2 = s2.open(nsName, 'readonly');
    } catch (e) {
      if (!isTyped(e)) throw e;
      if (hasNonU8NamespaceItem(flash.bytes)) {
        // Like ESP-IDF, the namespace scan of a page stops at an item of namespace 0 that is not a
        // u8 (only a corrupt image has one), hiding the definitions after it. Counted, not a finding.
        depth.nsHidden++;
        return checkRead(flash.bytes, 'read-only', depth, 'after runtime writes: ');
      }
      throw new Mismatch(`namespace lost after re-init (${model.size} values written): ${(e as Error).message}`);
    }
    if (h2.nsIndex !== h.nsIndex) {
      // The image defines this namespace name more than once (a corrupt image): which definition
      // wins depends on page order, which garbage collection changes. Counted, not a finding.
      depth.nsFlips++;
      return checkRead(flash.bytes, 'read-only', depth, 'after runtime writes: ');
    }
    for (const [key, v] of model) {
      phase = `read ${JSON.stringify(key)} ${v.type} after re-init${leftover}`;
      let got: Value;
      try {
        got = h2.get(key, v.type);
      } catch (e) {
        if (!isTyped(e)) throw e;
        throw new Mismatch(`value lost after re-init: ${(e as Error).message}`);
      }
      if (!sameValue(got, v.value)) throw new Mismatch(`read ${show(got)} after re-init, wrote ${show(v.value)}`);
    }
  } catch (e) {
    return { phase: `runtime: ${phase}`, error: e, ops };
  }
  return checkRead(flash.bytes, 'read-only', depth, 'after runtime writes: ');
}

// ------------------------------------------------------------------------------------ cases

interface Case {
  kind: Kind;
  source: string;
  trace: string[];
  image: Uint8Array;
}

function makeCase(seed: number, caseNo: number, corpus: Corpus): { c: Case; rng: Rng } {
  const rng = new Rng(seed, caseNo);
  const kind = rng.weighted(KIND_WEIGHTS);
  if (kind === 'random') return { c: { kind, source: 'random', trace: [], image: randomImage(rng) }, rng };
  if (kind === 'structured') {
    const m: Mutant = { img: structuredImage(rng), trace: [] };
    if (rng.chance(0.3)) rng.weighted(STACKABLE)(m, rng);
    return { c: { kind, source: 'structured', trace: m.trace, image: m.img }, rng };
  }
  const useGolden = corpus.golden.length > 0 && rng.chance(0.35);
  const seedImg = useGolden ? rng.pick(corpus.golden) : rng.pick(corpus.runtime);
  const m: Mutant = { img: seedImg.bytes.slice(), trace: [] };
  switch (kind) {
    case 'seed':
      break;
    case 'bitflip':
      mutBitflip(m, rng);
      break;
    case 'byterun':
      mutByterun(m, rng);
      break;
    case 'resize':
      mutResize(m, rng);
      break;
    case 'pages':
      mutPages(m, rng);
      break;
    case 'header':
      mutHeader(m, rng);
      break;
    case 'entry': {
      const n = rng.chance(0.7) ? 1 : rng.range(2, 4);
      for (let k = 0; k < n; k++) mutEntry(m, rng);
      break;
    }
    case 'bitmap':
      mutBitmap(m, rng);
      break;
    case 'dup-entry':
      mutDupEntry(m, rng);
      break;
    case 'stacked': {
      const n = rng.range(2, 6);
      for (let k = 0; k < n; k++) rng.weighted(STACKABLE)(m, rng);
      break;
    }
  }
  if (m.img.length > MAX_LEN) m.img = m.img.slice(0, MAX_LEN);
  return { c: { kind, source: seedImg.name, trace: m.trace, image: m.img }, rng };
}

function runCase(c: Case, rng: Rng, depth: Depth): Problem | null {
  const ro = checkRead(c.image, 'read-only', depth, '');
  if (ro) return ro;
  if (rng.chance(RW_SHARE)) {
    depth.rwRuns++;
    const rw = checkRead(c.image, 'read-write', depth, '');
    if (rw) return rw;
  }
  if (rng.chance(STORE_SHARE)) return exerciseStore(c.image, rng, depth);
  return null;
}

// ------------------------------------------------------------------------------------ worker

interface Slowest {
  ms: number;
  caseNo: number;
  kind: string;
}

interface FindingMsg {
  type: 'finding';
  caseNo: number;
  kind: string;
  source: string;
  trace: string[];
  phase: string;
  ops: string[];
  error: string;
  stack: string;
  image: Uint8Array;
}

interface ProgressMsg {
  type: 'progress';
  done: number;
  findings: number;
  slowest: Slowest;
}

interface DoneMsg {
  type: 'done';
  done: number;
  findings: number;
  /** Findings that belong to a case (the others came from building the seed corpus). */
  caseFindings: number;
  byKind: Record<string, number>;
  findingsByKind: Record<string, number>;
  slowest: Slowest;
  stoppedEarly: boolean;
  depth: Depth;
  corpus: { golden: number; runtime: number };
  buildMs: number;
}

type WorkerMsg = FindingMsg | ProgressMsg | DoneMsg;

interface WorkerInput {
  cases: number;
  seed: number;
  minutes: number | null;
  maxFindings: number;
  ctl: SharedArrayBuffer;
  img: SharedArrayBuffer;
}

/** Shared control words: [0] heartbeat counter, [1] current case, [2] kind index, [3] image length. */
const CTL_BEAT = 0;
const CTL_CASE = 1;
const CTL_KIND = 2;
const CTL_LEN = 3;

function describeError(e: unknown): { error: string; stack: string } {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const head = `${e.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${e.message}`;
    return { error: head, stack: e.stack ?? head };
  }
  return { error: `non-Error thrown: ${String(e)}`, stack: '(no stack)' };
}

function workerMain(input: WorkerInput): void {
  const port = parentPort!;
  const ctl = new Int32Array(input.ctl);
  const shared = new Uint8Array(input.img);
  const beat = () => Atomics.add(ctl, CTL_BEAT, 1);
  const post = (m: WorkerMsg, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  const t0 = performance.now();
  Atomics.store(ctl, CTL_CASE, -1);
  const corpus = buildCorpus(input.seed, beat);
  const buildMs = performance.now() - t0;
  let findings = 0;
  let caseFindings = 0;
  for (const p of corpus.problems) {
    findings++;
    const img = p.image.slice();
    post({ type: 'finding', caseNo: -1, kind: 'seed-build', source: p.name, trace: [], phase: 'runtime workload on a clean flash', ops: [], ...describeError(p.error), image: img }, [img.buffer]);
  }
  const byKind: Record<string, number> = Object.fromEntries(KINDS.map((k) => [k, 0]));
  const findingsByKind: Record<string, number> = {};
  const depth = newDepth();
  const slowest: Slowest = { ms: 0, caseNo: -1, kind: '' };
  const deadline = input.minutes === null ? Number.POSITIVE_INFINITY : t0 + input.minutes * 60_000;
  let done = 0;
  let stoppedEarly = false;
  for (let caseNo = 0; caseNo < input.cases; caseNo++) {
    if (findings >= input.maxFindings || performance.now() > deadline) {
      stoppedEarly = true;
      break;
    }
    const start = performance.now();
    const { c, rng } = makeCase(input.seed, caseNo, corpus);
    shared.set(c.image);
    Atomics.store(ctl, CTL_LEN, c.image.length);
    Atomics.store(ctl, CTL_KIND, KINDS.indexOf(c.kind));
    Atomics.store(ctl, CTL_CASE, caseNo);
    const problem = runCase(c, rng, depth);
    const ms = performance.now() - start;
    if (ms > slowest.ms) Object.assign(slowest, { ms, caseNo, kind: c.kind });
    byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;
    done++;
    beat();
    if (problem) {
      findings++;
      caseFindings++;
      findingsByKind[c.kind] = (findingsByKind[c.kind] ?? 0) + 1;
      const img = c.image.slice();
      post(
        { type: 'finding', caseNo, kind: c.kind, source: c.source, trace: c.trace, phase: problem.phase, ops: problem.ops ?? [], ...describeError(problem.error), image: img },
        [img.buffer],
      );
    }
    if (done % PROGRESS_EVERY === 0) post({ type: 'progress', done, findings, slowest: { ...slowest } });
  }
  post({
    type: 'done',
    done,
    findings,
    caseFindings,
    byKind,
    findingsByKind,
    slowest,
    stoppedEarly,
    depth,
    corpus: { golden: corpus.golden.length, runtime: corpus.runtime.length },
    buildMs,
  });
}

// ------------------------------------------------------------------------------------ main thread

interface Options {
  cases: number;
  seed: number;
  minutes: number | null;
  only: number | null;
  maxFindings: number;
}

function usage(msg: string): never {
  console.error(`fuzz-parser: ${msg}\nusage: npm run fuzz -- [--cases N] [--seed S] [--minutes M] [--case K] [--max-findings F]`);
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const o: Options = { cases: DEFAULT_CASES, seed: DEFAULT_SEED, minutes: null, only: null, maxFindings: MAX_FINDINGS };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    const int = (v: string, what: string, max: number): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > max) usage(`${what} must be an integer from 0 to ${max}, got ${JSON.stringify(v)}`);
      return n;
    };
    switch (flag) {
      case '--cases':
        o.cases = int(value(), '--cases', 1e9);
        break;
      case '--seed':
        o.seed = int(value(), '--seed', 0xffffffff);
        break;
      case '--minutes': {
        const m = Number(value());
        if (!(m > 0)) usage('--minutes must be a positive number');
        o.minutes = m;
        break;
      }
      case '--case':
        o.only = int(value(), '--case', 1e9);
        break;
      case '--max-findings':
        o.maxFindings = Math.max(1, int(value(), '--max-findings', 1e9));
        break;
      case '--help':
      case '-h':
        usage('help');
        break;
      default:
        usage(`unknown option ${a}`);
    }
  }
  return o;
}

const hex32 = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const slowText = (s: Slowest): string => (s.caseNo < 0 ? 'n/a' : `${s.ms.toFixed(1)} ms (case ${s.caseNo}, ${s.kind})`);

/** A finding's class: its phase and error with names, numbers and hex made generic. */
function signature(phase: string, error: string): string {
  const generic = (t: string) =>
    t
      .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
      .replace(/0x[0-9a-f]+/gi, '0x…')
      .replace(/\d+/g, 'N');
  // a malformed result lists several problems: the first one names the class
  return `${generic(phase)} :: ${generic(error.split('\n')[0]!.split('; ')[0]!)}`.slice(0, 220);
}

let tmpDir: string | null = null;
function saveImage(name: string, image: Uint8Array): string {
  tmpDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-fuzz-'));
  const file = path.join(tmpDir, name);
  fs.writeFileSync(file, image);
  return file;
}

function printFinding(n: number, seed: number, f: Omit<FindingMsg, 'type'>): void {
  const file = saveImage(f.caseNo < 0 ? `seed-build-${n}.bin` : `case-${f.caseNo}-${f.kind}.bin`, f.image);
  console.log(`\nFINDING #${n}: case ${f.caseNo}, seed ${hex32(seed)}, kind ${f.kind}, source ${f.source}`);
  if (f.trace.length > 0) console.log(`  mutations: ${f.trace.join(' | ')}`);
  console.log(`  phase: ${f.phase}`);
  if (f.ops.length > 0) console.log(`  runtime ops: ${f.ops.join('; ')}`);
  console.log(`  ${f.stack.split('\n').join('\n  ')}`);
  console.log(`  image (${f.image.length} bytes): ${file}`);
  if (f.caseNo >= 0) console.log(`  replay: npm run fuzz -- --seed ${hex32(seed)} --case ${f.caseNo}`);
}

/** `--case K`: rebuild the corpus and run one case here, describing it. */
function replayOne(o: Options, only: number): void {
  const corpus = buildCorpus(o.seed, () => {});
  const { c, rng } = makeCase(o.seed, only, corpus);
  console.log(`case ${only}, seed ${hex32(o.seed)}: kind ${c.kind}, source ${c.source}, ${c.image.length} bytes`);
  for (const t of c.trace) console.log(`  ${t}`);
  const d = readNvsPartition(c.image.slice());
  console.log(`  read-only: fatal ${d.fatal}, ${d.pages.length} pages, ${d.errors.length} problems, ${Object.keys(d.namespaces).length} namespaces, stats ${JSON.stringify(d.stats)}`);
  const depth = newDepth();
  const start = performance.now();
  verbose = true;
  const problem = runCase(c, rng, depth);
  console.log(`  ran in ${(performance.now() - start).toFixed(1)} ms; depth ${JSON.stringify(depth)}`);
  if (problem) {
    printFinding(1, o.seed, { caseNo: only, kind: c.kind, source: c.source, trace: c.trace, phase: problem.phase, ops: problem.ops ?? [], ...describeError(problem.error), image: c.image });
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
  } else {
    console.log('1 passed, 0 failed');
  }
}

function main(): void {
  const o = parseOptions(process.argv.slice(2));
  if (o.only !== null) {
    replayOne(o, o.only);
    return;
  }
  console.log(
    `nvsec parser fuzzer: ${o.cases} cases, seed ${hex32(o.seed)}${o.minutes === null ? '' : `, time cap ${o.minutes} min`}` +
      `, golden vectors ${VECTORS_DIR ? 'found' : 'NOT found (runtime seeds only)'}`,
  );
  const ctlBuf = new SharedArrayBuffer(16);
  const ctl = new Int32Array(ctlBuf);
  const imgBuf = new SharedArrayBuffer(MAX_LEN);
  const input: WorkerInput = { cases: o.cases, seed: o.seed, minutes: o.minutes, maxFindings: o.maxFindings, ctl: ctlBuf, img: imgBuf };
  // Workers do not inherit `--import tsx` hooks on Node 20: register tsx in the worker, then load this file.
  const boot =
    `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})` +
    `.then((api) => { api.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: input });
  const started = performance.now();
  let findings = 0;
  let caseFindings = 0;
  const signatures = new Map<string, { count: number; first: number }>();
  let finished = false;
  let lastBeat = Atomics.load(ctl, CTL_BEAT);
  let lastChange = performance.now();

  const finish = (code: number, passed: number, failed: number): void => {
    finished = true;
    clearInterval(watchdog);
    console.log(`${passed} passed, ${failed} failed`);
    void worker.terminate().finally(() => process.exit(code));
  };

  const watchdog = setInterval(() => {
    const b = Atomics.load(ctl, CTL_BEAT);
    const now = performance.now();
    if (b !== lastBeat) {
      lastBeat = b;
      lastChange = now;
      return;
    }
    if (now - lastChange < HANG_MS) return;
    const caseNo = Atomics.load(ctl, CTL_CASE);
    const kind = KINDS[Atomics.load(ctl, CTL_KIND)] ?? '?';
    console.log(`\nHANG: no progress for ${HANG_MS / 1000} s; worker terminated. seed ${hex32(o.seed)}, case ${caseNo} (${caseNo < 0 ? 'building the seed corpus' : kind})`);
    if (caseNo >= 0) {
      const len = Atomics.load(ctl, CTL_LEN);
      const file = saveImage(`hang-case-${caseNo}-${kind}.bin`, new Uint8Array(imgBuf).slice(0, len));
      console.log(`  image (${len} bytes): ${file}\n  replay: npm run fuzz -- --seed ${hex32(o.seed)} --case ${caseNo}`);
    }
    finish(1, Math.max(0, caseNo - caseFindings), findings + 1);
  }, 500);

  worker.on('message', (m: WorkerMsg) => {
    if (finished) return;
    if (m.type === 'finding') {
      findings++;
      if (m.caseNo >= 0) caseFindings++;
      const sig = signature(m.phase, m.error);
      const seen = signatures.get(sig);
      if (seen) seen.count++;
      else signatures.set(sig, { count: 1, first: m.caseNo });
      if (findings <= PRINT_FINDINGS || !seen) printFinding(findings, o.seed, m);
    } else if (m.type === 'progress') {
      console.log(`[fuzz] ${m.done}/${o.cases} cases, ${m.findings} findings, ${secs(performance.now() - started)}, slowest ${slowText(m.slowest)}`);
    } else {
      const elapsed = performance.now() - started;
      console.log(`\nseed corpus: ${m.corpus.golden} golden images, ${m.corpus.runtime} runtime-written images (built in ${secs(m.buildMs)})`);
      console.log(`cases by kind: ${Object.entries(m.byKind).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      const d = m.depth;
      console.log(
        `depth: ${d.roDecodedValues} values decoded, ${d.roFatal} read-only fatal; ${d.rwRuns} read-write reads (${d.rwFatal} fatal); ` +
          `runtime: ${d.storeRuns} runs, ${d.storeInitOk} inits ok, ${d.storeOpsOk} ops ok, ${d.storeOpsTyped} typed errors, ` +
          `${d.bigBlobOk} >1-page blobs written, ${d.reinitOk} re-inits ok (quirks of corrupt namespace tables, not findings: ` +
          `${d.nsFlips} duplicated names resolving elsewhere, ${d.nsHidden} names hidden by a non-u8 namespace-0 item)`,
      );
      if (m.stoppedEarly) console.log(`stopped early after ${m.done} cases (${m.findings >= o.maxFindings ? `${o.maxFindings} findings` : 'time cap'})`);
      if (m.findings > 0) {
        console.log(`findings by kind: ${JSON.stringify(m.findingsByKind)}`);
        console.log('distinct findings (count, first case, signature):');
        for (const [sig, v] of signatures) console.log(`  ${String(v.count).padStart(6)}  case ${v.first}  ${sig}`);
      }
      console.log(`cases ${m.done}, findings ${m.findings}, elapsed ${secs(elapsed)}, slowest case ${slowText(m.slowest)}`);
      finish(m.findings > 0 ? 1 : 0, m.done - m.caseFindings, m.findings);
    }
  });
  worker.on('error', (e) => {
    if (finished) return;
    console.log(`\nthe fuzz worker crashed (seed ${hex32(o.seed)}, case ${Atomics.load(ctl, CTL_CASE)}):\n${describeError(e).stack}`);
    finish(1, Math.max(0, Atomics.load(ctl, CTL_CASE) - caseFindings), findings + 1);
  });
  worker.on('exit', (code) => {
    if (finished) return;
    console.log(`\nthe fuzz worker exited early with code ${code}`);
    finish(1, 0, findings + 1);
  });
}

if (isMainThread) main();
else workerMain(workerData as WorkerInput);
