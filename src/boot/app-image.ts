import { bytesEqual } from '../bytes/equal.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { type ChipInfo, chipById, chipByName, isFlashMapped, type SegmentMemory, segmentMemory } from './app-image-chips.js';
import { type AppDesc, type BootloaderDesc, decodeAppDesc, decodeBootloaderDesc } from './app-image-desc.js';
import { type AppImageHeader, decodeAppImageHeader, IMAGE_FORMAT } from './app-image-header.js';
import { leadingValidBlocks, readSignatureBlocks } from './secure-boot-v2.js';
import { SBV2 } from './signature-block.js';

/** One segment of a parsed image. `data` is a view into the parsed bytes. */
export interface AppImageSegment {
  index: number;
  /** File offset of the 8-byte segment header. */
  headerOffset: number;
  /** File offset of the data (headerOffset + 8). */
  dataOffset: number;
  loadAddr: number;
  length: number;
  data: Uint8Array;
  /** Where the load address points on the image's chip; null when nvsec lacks the chip's flash windows. */
  memory: SegmentMemory | null;
}

/** Something wrong with an image that could still be parsed. */
export interface AppImageProblem {
  /** Stable code, e.g. `IMAGE_CHECKSUM_MISMATCH`. */
  code: string;
  /** What is wrong and what it means. */
  message: string;
}

/** A Secure Boot V2 signature sector found after the image (reported, not verified). */
export interface SignatureSectorInfo {
  /** File offset: the image length rounded up to 4096. */
  offset: number;
  /** Number of valid signature blocks (magic, version and CRC good) from slot 0 on. */
  blockCount: number;
}

/** Result of {@link parseAppImage}: every decoded field, the integrity results and the problems. */
export interface AppImage {
  header: AppImageHeader;
  /** The chip named by header.chipId, or null when nvsec does not know that id. */
  chip: ChipInfo | null;
  segments: AppImageSegment[];
  /** Zero bytes between the last segment and the checksum byte (0..15). */
  paddingBeforeChecksum: number;
  checksumOffset: number;
  checksum: { stored: number; calculated: number; valid: boolean };
  /** The appended SHA-256 over [0, checksumOffset + 1), or null when hash_appended is not 1. */
  sha256: { offset: number; stored: Uint8Array; calculated: Uint8Array; valid: boolean } | null;
  /** Bytes up to and including the checksum (and the SHA-256 when appended). */
  imageLength: number;
  /** Bytes in the input after imageLength (0xFF padding, a signature sector, …). */
  trailingBytes: number;
  /** esp_app_desc_t at the start of segment 0 (image offset 0x20), or null. */
  appDesc: AppDesc | null;
  /** esp_bootloader_desc_t at the start of segment 0, or null. */
  bootloaderDesc: BootloaderDesc | null;
  /** MMU page size used for the alignment check (from appDesc, the option, or 64 KiB). */
  mmuPageSize: number;
  signatureSector: SignatureSectorInfo | null;
  /** Empty for a valid image. */
  problems: AppImageProblem[];
}

/** Options of {@link parseAppImage}. */
export interface ParseAppImageOptions {
  /** The chip the image must be for (name like `esp32c3` or a chip entry); a mismatch is a problem. */
  chip?: string | ChipInfo;
  /** MMU page size for the alignment check; default from esp_app_desc_t, else 64 KiB. */
  mmuPageSize?: number;
}


/**
 * XOR checksum of segment data as esptool and the bootloader compute it: 0xEF XOR every byte.
 *
 * @example
 * imageChecksum([new Uint8Array([1, 2])]); // 0xef ^ 1 ^ 2
 */
export function imageChecksum(segmentData: Iterable<Uint8Array>, start: number = IMAGE_FORMAT.ESP_CHECKSUM_MAGIC): number {
  let words = 0;
  let c = start;
  for (const data of segmentData) {
    let i = 0;
    if (data.byteOffset % 4 === 0) {
      // XOR 32-bit words, then fold the four bytes: same result as byte by byte, 4x fewer steps.
      const w = new Uint32Array(data.buffer, data.byteOffset, data.length >>> 2);
      for (let k = 0; k < w.length; k++) words ^= w[k]!;
      i = w.length * 4;
    }
    for (; i < data.length; i++) c ^= data[i]!;
  }
  words ^= words >>> 16;
  words ^= words >>> 8;
  return (c ^ words) & 0xff;
}

/**
 * Parses and validates an ESP app (or bootloader) image as written by `esptool elf2image`:
 * header, extended header, segments, XOR checksum, appended SHA-256 (through `crypto`), and the
 * esp_app_desc_t / esp_bootloader_desc_t in segment 0. A bad but parseable image is returned
 * with its `problems` listed (checksum or hash mismatch, misaligned flash segment, wrong chip…);
 * only input that cannot be read as an image throws.
 *
 * @throws {NvsecError} `IMAGE_BAD_MAGIC` when byte 0 is not 0xE9; `IMAGE_TRUNCATED` when a
 *   segment, the checksum or the SHA-256 lies beyond the end of the input
 * @throws {RangeError} when options.chip names no known chip
 * @example
 * const img = parseAppImage(nodeCrypto, fs.readFileSync('app.bin'));
 * if (img.problems.length) console.log(img.problems.map((p) => p.message));
 */
export function parseAppImage(crypto: CryptoProvider, image: Uint8Array, options: ParseAppImageOptions = {}): AppImage {
  const header = decodeAppImageHeader(image);
  const problems: AppImageProblem[] = [];
  const problem = (code: string, message: string) => problems.push({ code, message });
  const chip = chipById(header.chipId) ?? null;
  const expected = typeof options.chip === 'string' ? chipByName(options.chip) : options.chip;
  if (expected && expected.chipId !== header.chipId) {
    problem(
      'IMAGE_CHIP_MISMATCH',
      `image is for chip id ${header.chipId}${chip ? ` (${chip.displayName})` : ''}, not ${expected.displayName} (chip id ${expected.chipId}); build it with --chip ${expected.name}`,
    );
  } else if (!chip) {
    problem('IMAGE_UNKNOWN_CHIP', `chip id ${header.chipId} in the header is not a known chip${header.chipId === 0xffff ? ' (0xffff marks an invalid image)' : ''}`);
  }
  if (header.segmentCount > IMAGE_FORMAT.MAX_SEGMENTS) {
    problem('IMAGE_TOO_MANY_SEGMENTS', `header says ${header.segmentCount} segments; the bootloader accepts at most ${IMAGE_FORMAT.MAX_SEGMENTS}`);
  }
  if (header.hashAppended > 1) {
    problem('IMAGE_BAD_HASH_APPENDED', `hash_appended byte is ${header.hashAppended}; only 0 and 1 are valid, so no SHA-256 was read`);
  }
  if (header.reserved.some((b) => b !== 0)) problem('IMAGE_RESERVED_NOT_ZERO', 'reserved header bytes 19..22 are not zero');

  const segments = _readSegments(image, header.segmentCount, chip);
  const mmuPageSize = options.mmuPageSize ?? _pageSizeFromDesc(segments[0]) ?? IMAGE_FORMAT.DEFAULT_MMU_PAGE_SIZE;
  for (const s of segments) {
    if (s.length % 4 !== 0) problem('IMAGE_SEGMENT_LENGTH', `segment ${s.index} length ${s.length} is not a multiple of 4`);
    if (chip && isFlashMapped(chip, s.loadAddr) && s.dataOffset % mmuPageSize !== s.loadAddr % mmuPageSize) {
      problem(
        'IMAGE_SEGMENT_MISALIGNED',
        `segment ${s.index} (${s.memory} at 0x${_hex32(s.loadAddr)}) has its data at file offset 0x${s.dataOffset.toString(16)}, which does not match the load address modulo the ${mmuPageSize / 1024} KiB MMU page; the bootloader cannot map it`,
      );
    }
  }

  const end = segments.length ? segments[segments.length - 1]!.dataOffset + segments[segments.length - 1]!.length : IMAGE_FORMAT.HEADER_LEN;
  const paddingBeforeChecksum = 15 - (end % 16);
  const checksumOffset = end + paddingBeforeChecksum;
  if (checksumOffset >= image.length) {
    throw new NvsecError('IMAGE_TRUNCATED', `image is truncated: the checksum byte belongs at offset ${checksumOffset} but the input has ${image.length} bytes`);
  }
  const stored = image[checksumOffset]!;
  const calculated = imageChecksum(segments.map((s) => s.data));
  const checksum = { stored, calculated, valid: stored === calculated };
  if (!checksum.valid) {
    problem('IMAGE_CHECKSUM_MISMATCH', `checksum mismatch: stored 0x${_hex8(stored)}, calculated 0x${_hex8(calculated)}; segment data was changed or damaged`);
  }

  let imageLength = checksumOffset + 1;
  let sha256: AppImage['sha256'] = null;
  if (header.hashAppended === 1) {
    const offset = imageLength;
    if (offset + IMAGE_FORMAT.HASH_LEN > image.length) {
      throw new NvsecError(
        'IMAGE_TRUNCATED',
        `image is truncated: hash_appended is set but the SHA-256 at offset ${offset} needs 32 bytes and only ${image.length - offset} remain`,
      );
    }
    const storedHash = image.slice(offset, offset + IMAGE_FORMAT.HASH_LEN);
    const calculatedHash = crypto.digest('sha256', image.subarray(0, offset));
    sha256 = { offset, stored: storedHash, calculated: calculatedHash, valid: bytesEqual(storedHash, calculatedHash) };
    if (!sha256.valid) {
      problem('IMAGE_HASH_MISMATCH', 'appended SHA-256 does not match the image: the header, a segment or the checksum was changed after the image was built');
    }
    imageLength = offset + IMAGE_FORMAT.HASH_LEN;
  }

  const seg0 = segments[0]?.data;
  const appDesc = seg0 ? decodeAppDesc(seg0) : null;
  const bootloaderDesc = seg0 && !appDesc ? decodeBootloaderDesc(seg0) : null;
  return {
    header,
    chip,
    segments,
    paddingBeforeChecksum,
    checksumOffset,
    checksum,
    sha256,
    imageLength,
    trailingBytes: image.length - imageLength,
    appDesc,
    bootloaderDesc,
    mmuPageSize,
    signatureSector: _findSignatureSector(crypto, image, imageLength),
    problems,
  };
}

/** Reads `count` segments after the header. */
function _readSegments(image: Uint8Array, count: number, chip: ChipInfo | null): AppImageSegment[] {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const segments: AppImageSegment[] = [];
  let pos = IMAGE_FORMAT.HEADER_LEN;
  for (let index = 0; index < count; index++) {
    if (pos + IMAGE_FORMAT.SEG_HEADER_LEN > image.length) {
      throw new NvsecError('IMAGE_TRUNCATED', `image is truncated: segment ${index} of ${count} starts at offset ${pos} but the input has ${image.length} bytes`);
    }
    const loadAddr = v.getUint32(pos, true);
    const length = v.getUint32(pos + 4, true);
    const dataOffset = pos + IMAGE_FORMAT.SEG_HEADER_LEN;
    if (length >= IMAGE_FORMAT.MAX_SEGMENT_LEN || dataOffset + length > image.length) {
      throw new NvsecError(
        'IMAGE_TRUNCATED',
        `cannot read segment ${index} of ${count}: length ${length} at offset ${dataOffset} runs past the end of the input (${image.length} bytes)${length >= IMAGE_FORMAT.MAX_SEGMENT_LEN ? ' and exceeds the 16 MiB limit' : ''}; the image is truncated or corrupt`,
      );
    }
    segments.push({
      index,
      headerOffset: pos,
      dataOffset,
      loadAddr,
      length,
      data: image.subarray(dataOffset, dataOffset + length),
      memory: _memory(chip, loadAddr),
    });
    pos = dataOffset + length;
  }
  return segments;
}

/** Memory type of a load address, or null when the chip or its flash windows are unknown. */
function _memory(chip: ChipInfo | null, loadAddr: number): SegmentMemory | null {
  if (loadAddr === 0) return 'PADDING';
  return chip?.irom && chip.drom ? segmentMemory(chip, loadAddr) : null;
}

/** MMU page size recorded in segment 0's esp_app_desc_t, if any. */
function _pageSizeFromDesc(seg0: AppImageSegment | undefined): number | undefined {
  const log2 = seg0 ? decodeAppDesc(seg0.data)?.mmuPageSizeLog2 : undefined;
  return log2 !== undefined && log2 > 0 && log2 < 31 ? 2 ** log2 : undefined;
}

/** A Secure Boot V2 signature sector at the image length rounded up to 4 KiB, if it holds valid blocks. */
function _findSignatureSector(crypto: CryptoProvider, image: Uint8Array, imageLength: number): SignatureSectorInfo | null {
  const offset = Math.ceil(imageLength / SBV2.SECTOR_SIZE) * SBV2.SECTOR_SIZE;
  if (offset + SBV2.SECTOR_SIZE > image.length) return null;
  const blockCount = leadingValidBlocks(readSignatureBlocks(crypto, image.subarray(offset, offset + SBV2.SECTOR_SIZE))).length;
  return blockCount > 0 ? { offset, blockCount } : null;
}

/** Eight lower-case hex digits. */
export function _hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Two lower-case hex digits. */
function _hex8(n: number): string {
  return n.toString(16).padStart(2, '0');
}
