import { crc32le } from '../bytes/crc32.js';
import { EfuseError } from './efuse-error.js';
import { EFUSE_CHIPS, type EfuseChip } from './efuse-fields.js';

/**
 * The saved form of an eFuse model ("eFuse image"), version 1. Little-endian, fixed size per chip:
 *
 * | off | size | content |
 * | --- | --- | --- |
 * | 0 | 4 | magic `NVEF` (0x4E 0x56 0x45 0x46) |
 * | 4 | 1 | format version, 1 |
 * | 5 | 1 | chip id as in app image headers: 0 ESP32, 5 ESP32-C3, 9 ESP32-S3 |
 * | 6 | 1 | number of blocks (4 for ESP32, 11 for C3/S3) |
 * | 7 | 1 | zero |
 * | 8 | Σ | the raw blocks BLOCK0..n in order, each of the chip's block length (ESP32: 28, 32, 32, 32; C3/S3: 24, 24, then 9 × 32) |
 * | end−4 | 4 | CRC32 (`crc32le`, the ESP ROM / NVS variant) of every byte before it |
 *
 * Raw means the hardware view: read-protected keys are stored in clear, so the file is a secret.
 * A torn, truncated or altered file fails the length or CRC check.
 *
 * @example
 * EFUSE_IMAGE_MAGIC // 'NVEF' in ASCII
 */
export const EFUSE_IMAGE_MAGIC: Uint8Array = /* @__PURE__ */ Uint8Array.of(0x4e, 0x56, 0x45, 0x46);

/** Current eFuse image format version. @example image[4] === EFUSE_IMAGE_VERSION */
export const EFUSE_IMAGE_VERSION = 1;

const HEADER = 8;

/** Total size of a version-1 image for `chip`. @example efuseImageSize('esp32') // 136 */
export function efuseImageSize(chip: EfuseChip): number {
  return HEADER + EFUSE_CHIPS[chip].blockLengths.reduce((a, b) => a + b, 0) + 4;
}

/**
 * Encodes raw eFuse blocks as an eFuse image (format above).
 *
 * @throws {RangeError} when the blocks do not match the chip's layout
 * @example
 * const image = encodeEfuseImage('esp32c3', blocks);
 */
export function encodeEfuseImage(chip: EfuseChip, blocks: readonly Uint8Array[]): Uint8Array {
  const layout = EFUSE_CHIPS[chip];
  if (blocks.length !== layout.blockLengths.length || blocks.some((b, i) => b.length !== layout.blockLengths[i])) {
    throw new RangeError(`"blocks" must be ${layout.blockLengths.length} blocks of ${layout.blockLengths.join('/')} bytes for ${chip}`);
  }
  const out = new Uint8Array(efuseImageSize(chip));
  out.set(EFUSE_IMAGE_MAGIC, 0);
  out[4] = EFUSE_IMAGE_VERSION;
  out[5] = layout.chipId;
  out[6] = blocks.length;
  let off = HEADER;
  for (const b of blocks) {
    out.set(b, off);
    off += b.length;
  }
  new DataView(out.buffer).setUint32(off, crc32le(out, 0xffffffff, 0, off), true);
  return out;
}

/**
 * Decodes an eFuse image into its chip and fresh copies of the raw blocks.
 *
 * @throws {EfuseError} EFUSE_IMAGE_CORRUPT when the magic, version, chip, length or CRC is wrong
 * @example
 * const { chip, blocks } = decodeEfuseImage(bytes);
 */
export function decodeEfuseImage(image: Uint8Array): { chip: EfuseChip; blocks: Uint8Array[] } {
  if (!(image instanceof Uint8Array)) throw new TypeError('"image" must be a Uint8Array');
  const bad = (why: string) => new EfuseError('EFUSE_IMAGE_CORRUPT', `Not a valid eFuse image: ${why}; restore the file from a backup or create a new one`);
  if (image.length < HEADER + 4 || EFUSE_IMAGE_MAGIC.some((b, i) => image[i] !== b)) throw bad('the NVEF magic is missing');
  if (image[4] !== EFUSE_IMAGE_VERSION) throw bad(`format version ${image[4]} is not supported (this nvsec reads version ${EFUSE_IMAGE_VERSION})`);
  const layout = Object.values(EFUSE_CHIPS).find((l) => l.chipId === image[5]);
  if (!layout) throw bad(`unknown chip id ${image[5]}`);
  const size = efuseImageSize(layout.chip);
  if (image[6] !== layout.blockLengths.length || image.length !== size) {
    throw bad(`${layout.chip} images are ${size} bytes with ${layout.blockLengths.length} blocks, this one is ${image.length} bytes with ${image[6]} (torn or truncated write?)`);
  }
  const stored = new DataView(image.buffer, image.byteOffset, image.length).getUint32(size - 4, true);
  const actual = crc32le(image, 0xffffffff, 0, size - 4);
  if (stored !== actual) {
    throw bad(`CRC32 0x${stored.toString(16).padStart(8, '0')} stored, 0x${actual.toString(16).padStart(8, '0')} computed (the file is corrupt)`);
  }
  const blocks: Uint8Array[] = [];
  let off = HEADER;
  for (const len of layout.blockLengths) {
    blocks.push(new Uint8Array(image.subarray(off, off + len))); // a copy even when `image` is a Node Buffer (whose slice is a view)
    off += len;
  }
  return { chip: layout.chip, blocks };
}
