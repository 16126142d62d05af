import { NvsecError } from '../errors/nvsec-error.js';

/**
 * Fixed numbers of the ESP app image format (esptool's names where it has them). Frozen.
 *
 * @example
 * IMAGE_FORMAT.ESP_IMAGE_MAGIC; // 0xe9
 */
export const IMAGE_FORMAT = Object.freeze({
  /** Byte 0 of every image. */
  ESP_IMAGE_MAGIC: 0xe9,
  /** Common header (8) + extended header (16). */
  HEADER_LEN: 24,
  /** `u32 load_addr, u32 data_len` before each segment's data. */
  SEG_HEADER_LEN: 8,
  /** Most segments the bootloader (and esptool) accept, padding segments included. */
  MAX_SEGMENTS: 16,
  /** A segment's data_len must be below this (16 MiB). */
  MAX_SEGMENT_LEN: 0x1000000,
  /** The checksum starts from this value and XORs every segment data byte. */
  ESP_CHECKSUM_MAGIC: 0xef,
  /** Length of the appended SHA-256. */
  HASH_LEN: 32,
  /** What esptool always writes as wp_pin: "disabled". */
  WP_PIN_DISABLED: 0xee,
  /** esptool's default max_chip_rev_full (shown as v655.35). */
  MAX_CHIP_REV_FULL_DEFAULT: 0xffff,
  /** Default MMU page size: flash-mapped segments align to it. */
  DEFAULT_MMU_PAGE_SIZE: 0x10000,
  /** Image offset esptool patches the ELF file's SHA-256 into (esp_app_desc_t.app_elf_sha256). */
  ELF_SHA256_OFFSET: 0xb0,
});

/**
 * Header spi_mode codes by name (esptool `--flash-mode`). Frozen.
 *
 * @example
 * SPI_MODES[2]; // 'DIO'
 */
export const SPI_MODES: readonly string[] = Object.freeze(['QIO', 'QOUT', 'DIO', 'DOUT', 'FAST_READ', 'SLOW_READ']);

/**
 * Header spi_size nibble (high nibble of byte 3) to esptool's `--flash-size` name. Frozen.
 *
 * @example
 * FLASH_SIZES[2]; // '4MB'
 */
export const FLASH_SIZES: readonly string[] = Object.freeze(['1MB', '2MB', '4MB', '8MB', '16MB', '32MB', '64MB', '128MB']);

/** The 24-byte image header (common + extended part), decoded. */
export interface AppImageHeader {
  /** Byte 0: 0xE9. */
  magic: number;
  /** Byte 1: number of segments, padding segments included. */
  segmentCount: number;
  /** Byte 2: 0 QIO, 1 QOUT, 2 DIO, 3 DOUT, 4 FAST_READ, 5 SLOW_READ. */
  spiMode: number;
  /** Low nibble of byte 3: flash clock divider code (meaning is chip specific). */
  spiSpeed: number;
  /** High nibble of byte 3: flash size code (0 = 1MB … 7 = 128MB). */
  spiSize: number;
  /** Bytes 4..7: entry point address. */
  entryAddr: number;
  /** Byte 8: SPI WP pin (0xEE = disabled). */
  wpPin: number;
  /** Bytes 9..11: drive settings, one byte each (two 4-bit fields per byte). */
  spiPinDrv: [number, number, number];
  /** Bytes 12..13: target chip id. */
  chipId: number;
  /** Byte 14: legacy min_chip_rev. */
  minChipRevLegacy: number;
  /** Bytes 15..16: minimum chip revision, major*100 + minor. */
  minChipRevFull: number;
  /** Bytes 17..18: maximum chip revision, major*100 + minor. */
  maxChipRevFull: number;
  /** Bytes 19..22: reserved, zero in valid images. */
  reserved: Uint8Array;
  /** Byte 23: 1 when a SHA-256 follows the checksum. */
  hashAppended: number;
}

/**
 * Decodes the 24-byte header at the start of `image`.
 *
 * @throws {NvsecError} `IMAGE_TRUNCATED` when fewer than 24 bytes are given; `IMAGE_BAD_MAGIC`
 *   when byte 0 is not 0xE9 (the file is not an ESP app or bootloader image)
 * @example
 * const h = decodeAppImageHeader(bytes); // h.chipId === 5 for an ESP32-C3 image
 */
export function decodeAppImageHeader(image: Uint8Array): AppImageHeader {
  if (!(image instanceof Uint8Array)) throw new TypeError('image: expected a Uint8Array');
  if (image.length < 1 || image[0] !== IMAGE_FORMAT.ESP_IMAGE_MAGIC) {
    const got = image.length < 1 ? 'an empty file' : `0x${image[0]!.toString(16).padStart(2, '0')}`;
    throw new NvsecError(
      'IMAGE_BAD_MAGIC',
      `not an ESP app image: byte 0 is ${got}, expected magic 0xe9; give a .bin made by "esptool elf2image" (not an ELF file or a merged flash dump)`,
    );
  }
  if (image.length < IMAGE_FORMAT.HEADER_LEN) {
    throw new NvsecError('IMAGE_TRUNCATED', `image is truncated: ${image.length} bytes, the header alone needs 24; the file was cut short`);
  }
  const v = new DataView(image.buffer, image.byteOffset, IMAGE_FORMAT.HEADER_LEN);
  return {
    magic: image[0]!,
    segmentCount: image[1]!,
    spiMode: image[2]!,
    spiSpeed: image[3]! & 0x0f,
    spiSize: image[3]! >> 4,
    entryAddr: v.getUint32(4, true),
    wpPin: image[8]!,
    spiPinDrv: [image[9]!, image[10]!, image[11]!],
    chipId: v.getUint16(12, true),
    minChipRevLegacy: image[14]!,
    minChipRevFull: v.getUint16(15, true),
    maxChipRevFull: v.getUint16(17, true),
    reserved: image.slice(19, 23),
    hashAppended: image[23]!,
  };
}

/**
 * Encodes `header` as the 24 bytes an image starts with (the inverse of {@link decodeAppImageHeader}).
 *
 * @throws {RangeError} when a field does not fit its byte width (the message names the field)
 * @example
 * encodeAppImageHeader(decodeAppImageHeader(image)); // equals image.subarray(0, 24)
 */
export function encodeAppImageHeader(header: AppImageHeader): Uint8Array {
  const out = new Uint8Array(IMAGE_FORMAT.HEADER_LEN);
  const v = new DataView(out.buffer);
  const field = (name: string, value: number, max: number): number => {
    if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`header.${name}: ${value} is not an integer in 0..${max}`);
    return value;
  };
  out[0] = field('magic', header.magic, 0xff);
  out[1] = field('segmentCount', header.segmentCount, 0xff);
  out[2] = field('spiMode', header.spiMode, 0xff);
  out[3] = (field('spiSize', header.spiSize, 0xf) << 4) | field('spiSpeed', header.spiSpeed, 0xf);
  v.setUint32(4, field('entryAddr', header.entryAddr, 0xffffffff), true);
  out[8] = field('wpPin', header.wpPin, 0xff);
  if (header.spiPinDrv.length !== 3) throw new RangeError(`header.spiPinDrv: expected 3 bytes, got ${header.spiPinDrv.length}`);
  header.spiPinDrv.forEach((b, i) => (out[9 + i] = field(`spiPinDrv[${i}]`, b, 0xff)));
  v.setUint16(12, field('chipId', header.chipId, 0xffff), true);
  out[14] = field('minChipRevLegacy', header.minChipRevLegacy, 0xff);
  v.setUint16(15, field('minChipRevFull', header.minChipRevFull, 0xffff), true);
  v.setUint16(17, field('maxChipRevFull', header.maxChipRevFull, 0xffff), true);
  if (header.reserved.length !== 4) throw new RangeError(`header.reserved: expected 4 bytes, got ${header.reserved.length}`);
  out.set(header.reserved, 19);
  out[23] = field('hashAppended', header.hashAppended, 0xff);
  return out;
}
