import type { CryptoProvider } from '../crypto/provider.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { CHIPS, type ChipInfo, chipById, isFlashMapped, segmentMemory } from './app-image-chips.js';
import { APP_DESC } from './app-image-desc.js';
import { type AppImageHeader, encodeAppImageHeader, IMAGE_FORMAT } from './app-image-header.js';
import { imageChecksum } from './app-image.js';
import { concatBytes } from '../bytes/concat.js';

/** A segment to place in an image: where it loads and its bytes. */
export interface AppImageSegmentInput {
  loadAddr: number;
  data: Uint8Array;
}

/** Header fields of a built image; magic, segment count and hash_appended are computed. */
export type AppImageHeaderFields = Partial<Omit<AppImageHeader, 'magic' | 'segmentCount' | 'hashAppended'>> & {
  /** The target chip's id (see CHIPS); selects the flash windows used for layout. */
  chipId: number;
  entryAddr: number;
};

/** Options of {@link buildAppImage}. */
export interface BuildAppImageOptions {
  /**
   * Header fields. Defaults are esptool's: spiMode 0 (QIO), spiSpeed 0, spiSize 0 (1MB), wpPin
   * 0xEE, spiPinDrv [0,0,0], revisions 0 / 0 / 0xFFFF, reserved zero.
   */
  header: AppImageHeaderFields;
  /**
   * Segments (ELF sections) in any order. Load address 0 marks padding: such segments are
   * dropped, the builder inserts its own. Data is zero-padded to 4 bytes; segments that touch
   * (one ends where the next starts, same memory) are merged, as esptool merges ELF sections
   * (esptool merges only neighbours in ELF section order; nvsec merges after sorting by address,
   * which also rejoins a RAM segment that an earlier layout split).
   */
  segments: readonly AppImageSegmentInput[];
  /** Append the SHA-256 of the image (header byte 23 = 1). Default true. */
  hashAppended?: boolean;
  /** esptool `--secure-pad-v2`: a last zero segment so the image length is a multiple of 64 KiB. */
  securePadV2?: boolean;
  /** esptool `--pad-to-size`: append 0xFF after the image to a multiple of this many bytes. */
  padToSize?: number;
  /** MMU page size flash-mapped segments align to. Default 64 KiB. */
  mmuPageSize?: number;
  /** SHA-256 of the ELF file, patched in at `elfSha256Offset` (esptool `--elf-sha256-offset`). */
  elfSha256?: Uint8Array;
  /** Image offset for elfSha256. Default 0xB0 (esp_app_desc_t.app_elf_sha256). */
  elfSha256Offset?: number;
}

interface _Segment {
  loadAddr: number;
  data: Uint8Array;
}

/**
 * Builds an ESP app image from segments the way `esptool elf2image` 5.3 lays them out (spec §1.2,
 * §1.3): flash-mapped segments sorted by address (the one holding esp_app_desc_t first), each
 * placed so its data sits at its load address's offset within the MMU page (filling the gap with
 * the start of the first RAM segment when more than 8 bytes are needed and RAM remains, otherwise
 * with a zero padding segment); on ESP32 each flash segment is zero-extended to end at least 0x24
 * bytes into a 64 KiB page; remaining RAM segments; the optional secure-pad-v2 segment; zero
 * padding so the checksum byte ends a 16-byte block; the checksum; the SHA-256; `padToSize`.
 *
 * @throws {NvsecError} `IMAGE_UNKNOWN_CHIP` when the chip id is unknown or nvsec lacks its flash
 *   windows; `IMAGE_SEGMENTS_SAME_PAGE` when two flash segments fall in the same MMU page;
 *   `IMAGE_TOO_MANY_SEGMENTS` when the layout needs more than 16 segments; `IMAGE_ELF_SHA256_TARGET`
 *   when the ELF SHA-256 target bytes are not zero or outside segment data
 * @throws {TypeError|RangeError} on malformed options (the message names the option)
 * @example
 * const bin = buildAppImage(nodeCrypto, {
 *   header: { chipId: CHIPS.esp32c3.chipId, entryAddr: 0x40380000, spiMode: 2 },
 *   segments: [{ loadAddr: 0x3c000020, data: rodata }, { loadAddr: 0x40380000, data: iram }],
 * });
 */
export function buildAppImage(crypto: CryptoProvider, options: BuildAppImageOptions): Uint8Array {
  const chip = _layoutChip(options.header.chipId);
  const pageSize = options.mmuPageSize ?? IMAGE_FORMAT.DEFAULT_MMU_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize <= 0 || (pageSize & (pageSize - 1)) !== 0) {
    throw new RangeError(`mmuPageSize: ${pageSize} is not a power of two`);
  }
  const hashAppended = options.hashAppended ?? true;
  if (options.securePadV2 && !hashAppended) {
    throw new RangeError('securePadV2: secure padding only applies when the SHA-256 is appended (hashAppended true)');
  }
  const { flash, ram } = _prepareSegments(chip, options.segments);
  _checkDistinctPages(flash, pageSize);

  const { SEG_HEADER_LEN, HEADER_LEN } = IMAGE_FORMAT;
  const written: _Segment[] = [];
  let pos = HEADER_LEN;
  const write = (s: _Segment) => {
    written.push(s);
    pos += SEG_HEADER_LEN + s.data.length;
  };
  for (const seg of flash) {
    for (;;) {
      const pad = _alignmentNeeded(pos, seg.loadAddr, pageSize);
      if (pad === 0) break;
      if (ram.length > 0 && pad > SEG_HEADER_LEN) {
        const first = ram[0]!;
        const take = Math.min(pad, first.data.length);
        write({ loadAddr: first.loadAddr, data: first.data.subarray(0, take) });
        if (take === first.data.length) ram.shift();
        else ram[0] = { loadAddr: first.loadAddr + take, data: first.data.subarray(take) };
      } else {
        write({ loadAddr: 0, data: new Uint8Array(pad) });
      }
    }
    let data = seg.data;
    if (chip.chipId === 0) {
      // ESP32: old bootloaders did not map the last page when a segment ended < 0x24 bytes into it.
      const remainder = (pos + SEG_HEADER_LEN + data.length) % 0x10000;
      if (remainder < 0x24) data = concatBytes(data, new Uint8Array(0x24 - remainder));
    }
    write({ loadAddr: seg.loadAddr, data });
  }
  for (const seg of ram) write(seg);
  if (options.securePadV2) {
    // Leave room for a 16-byte-aligned checksum block and the SHA-256, then end on a 64 KiB boundary.
    const alignPast = (pos + SEG_HEADER_LEN) % 0x10000;
    write({ loadAddr: 0, data: new Uint8Array(_mod(0x10000 - alignPast - 16 - IMAGE_FORMAT.HASH_LEN, 0x10000)) });
  }
  if (written.length > IMAGE_FORMAT.MAX_SEGMENTS) {
    throw new NvsecError(
      'IMAGE_TOO_MANY_SEGMENTS',
      `the layout needs ${written.length} segments (padding included) but an image holds at most ${IMAGE_FORMAT.MAX_SEGMENTS}; merge sections in the linker script`,
    );
  }

  const header = encodeAppImageHeader({
    magic: IMAGE_FORMAT.ESP_IMAGE_MAGIC,
    segmentCount: written.length,
    spiMode: options.header.spiMode ?? 0,
    spiSpeed: options.header.spiSpeed ?? 0,
    spiSize: options.header.spiSize ?? 0,
    entryAddr: options.header.entryAddr,
    wpPin: options.header.wpPin ?? IMAGE_FORMAT.WP_PIN_DISABLED,
    spiPinDrv: options.header.spiPinDrv ?? [0, 0, 0],
    chipId: options.header.chipId,
    minChipRevLegacy: options.header.minChipRevLegacy ?? 0,
    minChipRevFull: options.header.minChipRevFull ?? 0,
    maxChipRevFull: options.header.maxChipRevFull ?? IMAGE_FORMAT.MAX_CHIP_REV_FULL_DEFAULT,
    reserved: options.header.reserved ?? new Uint8Array(4),
    hashAppended: hashAppended ? 1 : 0,
  });

  const checksumOffset = pos + (15 - (pos % 16));
  const body = new Uint8Array(checksumOffset + 1 + (hashAppended ? IMAGE_FORMAT.HASH_LEN : 0));
  body.set(header, 0);
  const dataRanges: Array<[number, number]> = [];
  let at = HEADER_LEN;
  const view = new DataView(body.buffer);
  for (const s of written) {
    view.setUint32(at, s.loadAddr, true);
    view.setUint32(at + 4, s.data.length, true);
    body.set(s.data, at + SEG_HEADER_LEN);
    dataRanges.push([at + SEG_HEADER_LEN, at + SEG_HEADER_LEN + s.data.length]);
    at += SEG_HEADER_LEN + s.data.length;
  }
  if (options.elfSha256 !== undefined) _patchElfSha256(body, dataRanges, options.elfSha256, options.elfSha256Offset ?? IMAGE_FORMAT.ELF_SHA256_OFFSET);
  body[checksumOffset] = imageChecksum(dataRanges.map(([a, b]) => body.subarray(a, b)));
  if (hashAppended) body.set(crypto.digest('sha256', body.subarray(0, checksumOffset + 1)), checksumOffset + 1);

  if (options.padToSize === undefined) return body;
  const n = options.padToSize;
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`padToSize: ${n} is not a positive integer`);
  const padded = new Uint8Array(Math.ceil(body.length / n) * n).fill(0xff);
  padded.set(body, 0);
  return padded;
}

/** The chip for `chipId`, which must have known flash windows. */
function _layoutChip(chipId: number): ChipInfo {
  if (!Number.isInteger(chipId)) throw new TypeError('header.chipId: expected an integer');
  const chip = chipById(chipId);
  if (!chip || !chip.irom || !chip.drom) {
    throw new NvsecError(
      'IMAGE_UNKNOWN_CHIP',
      `cannot lay out an image for chip id ${chipId}${chip ? ` (${chip.displayName})` : ''}: nvsec does not know its flash-mapped address windows; use one of ${_layoutChipNames()}`,
    );
  }
  return chip;
}

function _layoutChipNames(): string {
  return Object.values(CHIPS)
    .filter((c) => c.irom && c.drom)
    .map((c) => c.name)
    .join(', ');
}

/** Copies, 4-pads, sorts, merges and splits the input into flash and RAM lists (esptool order). */
function _prepareSegments(chip: ChipInfo, input: readonly AppImageSegmentInput[]): { flash: _Segment[]; ram: _Segment[] } {
  if (!Array.isArray(input)) throw new TypeError('segments: expected an array of { loadAddr, data }');
  const segs: _Segment[] = [];
  input.forEach((s, i) => {
    if (!Number.isInteger(s.loadAddr) || s.loadAddr < 0 || s.loadAddr > 0xffffffff) throw new RangeError(`segments[${i}].loadAddr: ${s.loadAddr} is not a 32-bit address`);
    if (!(s.data instanceof Uint8Array)) throw new TypeError(`segments[${i}].data: expected a Uint8Array`);
    if (s.loadAddr === 0) return; // padding: the layout makes its own
    const data = new Uint8Array(Math.ceil(s.data.length / 4) * 4);
    data.set(s.data);
    segs.push({ loadAddr: s.loadAddr, data });
  });
  segs.sort((a, b) => a.loadAddr - b.loadAddr);
  const merged: _Segment[] = [];
  for (const s of segs) {
    const prev = merged[merged.length - 1];
    if (prev && prev.loadAddr + prev.data.length === s.loadAddr && segmentMemory(chip, prev.loadAddr) === segmentMemory(chip, s.loadAddr)) {
      merged[merged.length - 1] = { loadAddr: prev.loadAddr, data: concatBytes(prev.data, s.data) };
    } else {
      merged.push(s);
    }
  }
  const flash = merged.filter((s) => isFlashMapped(chip, s.loadAddr));
  const ram = merged.filter((s) => !isFlashMapped(chip, s.loadAddr));
  // The segment holding esp_app_desc_t (esptool's ".flash.appdesc") always goes first.
  const desc = flash.findIndex((s) => s.data.length >= 4 && new DataView(s.data.buffer, s.data.byteOffset, 4).getUint32(0, true) === APP_DESC.MAGIC_WORD);
  if (desc > 0) flash.unshift(...flash.splice(desc, 1));
  return { flash, ram };
}

/** Two flash segments in one MMU page cannot both be mapped. */
function _checkDistinctPages(flash: readonly _Segment[], pageSize: number): void {
  const sorted = [...flash].sort((a, b) => a.loadAddr - b.loadAddr);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (Math.floor(a.loadAddr / pageSize) === Math.floor(b.loadAddr / pageSize)) {
      throw new NvsecError(
        'IMAGE_SEGMENTS_SAME_PAGE',
        `segment loaded at 0x${b.loadAddr.toString(16)} lands in the same ${pageSize / 1024} KiB flash mapping as the segment at 0x${a.loadAddr.toString(16)}; merge the sections in the linker script`,
      );
    }
  }
}

/**
 * Bytes of padding-segment data to write at `pos` so that, after that segment's header and then
 * the flash segment's own header, the flash data lands at `loadAddr` modulo the page. 0 = aligned.
 */
function _alignmentNeeded(pos: number, loadAddr: number, pageSize: number): number {
  const hdr = IMAGE_FORMAT.SEG_HEADER_LEN;
  // Deliberately not reduced modulo the page: when the load address's page offset is more than
  // 8 bytes past the write position's, esptool pads by more than a page, and so must we.
  const needed = pageSize - (pos % pageSize) + ((loadAddr % pageSize) - hdr);
  if (needed === 0 || needed === pageSize) return 0;
  const pad = needed - hdr;
  return pad < 0 ? pad + pageSize : pad;
}

/** Writes the ELF SHA-256 into segment data at `offset`; the 32 bytes there must be zero. */
function _patchElfSha256(body: Uint8Array, ranges: ReadonlyArray<[number, number]>, sha: Uint8Array, offset: number): void {
  if (!(sha instanceof Uint8Array) || sha.length !== 32) throw new RangeError('elfSha256: expected 32 bytes');
  const inside = ranges.some(([a, b]) => offset >= a && offset + 32 <= b);
  if (!inside || body.subarray(offset, offset + 32).some((b) => b !== 0)) {
    throw new NvsecError(
      'IMAGE_ELF_SHA256_TARGET',
      `cannot patch the ELF SHA-256 at image offset 0x${offset.toString(16)}: the 32 bytes there are ${inside ? 'not all zero' : 'not inside one segment'}; refusing to overwrite (check elfSha256Offset)`,
    );
  }
  body.set(sha, offset);
}

function _mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}
