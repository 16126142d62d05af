/**
 * Sizes and magic numbers of the descriptors at the start of segment 0. Frozen.
 *
 * @example
 * APP_DESC.MAGIC_WORD; // 0xabcd5432
 */
export const APP_DESC = Object.freeze({
  /** esp_app_desc_t.magic_word (ESP_APP_DESC_MAGIC_WORD). */
  MAGIC_WORD: 0xabcd5432,
  /** sizeof(esp_app_desc_t); also the minimum length of an app's segment 0. */
  SIZE: 256,
  /** Offset of app_elf_sha256 inside esp_app_desc_t. */
  ELF_SHA256_OFFSET: 144,
  /** esp_bootloader_desc_t.magic_byte (ESP_BOOTLOADER_DESC_MAGIC_BYTE). */
  BOOTLOADER_MAGIC_BYTE: 0x50,
  /** sizeof(esp_bootloader_desc_t). */
  BOOTLOADER_SIZE: 80,
});

/** esp_app_desc_t, decoded (strings stop at the first NUL). */
export interface AppDesc {
  magicWord: number;
  /** Anti-rollback version; the bootloader reads it from here. */
  secureVersion: number;
  version: string;
  projectName: string;
  /** `__TIME__` at build. */
  time: string;
  /** `__DATE__` at build. */
  date: string;
  idfVer: string;
  /** SHA-256 of the ELF file (patched in by esptool; zero when it was not). */
  appElfSha256: Uint8Array;
  minEfuseBlkRevFull: number;
  maxEfuseBlkRevFull: number;
  /** log2 of the MMU page size the app was built for (16 = 64 KiB; 0 = not recorded). */
  mmuPageSizeLog2: number;
  /** Flash mode the app was built for (same codes as the header's spi_mode). */
  spiFlashMode: number;
}

/** esp_bootloader_desc_t, decoded. */
export interface BootloaderDesc {
  magicByte: number;
  secureVersion: number;
  version: number;
  idfVer: string;
  dateTime: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: false });

/** A NUL-terminated C string from a fixed-size field. */
function _cString(field: Uint8Array): string {
  const end = field.indexOf(0);
  return UTF8.decode(end < 0 ? field : field.subarray(0, end));
}

/**
 * Decodes an esp_app_desc_t from the first 256 bytes of `data` (segment 0 of an app), or returns
 * null when `data` is shorter or does not start with the magic word 0xABCD5432.
 *
 * @throws {TypeError} when `data` is not a Uint8Array
 * @example
 * decodeAppDesc(segment0)?.projectName; // 'golden_esp32c3'
 */
export function decodeAppDesc(data: Uint8Array): AppDesc | null {
  if (!(data instanceof Uint8Array)) throw new TypeError('data: expected a Uint8Array');
  if (data.length < APP_DESC.SIZE) return null;
  const v = new DataView(data.buffer, data.byteOffset, APP_DESC.SIZE);
  if (v.getUint32(0, true) !== APP_DESC.MAGIC_WORD) return null;
  return {
    magicWord: v.getUint32(0, true),
    secureVersion: v.getUint32(4, true),
    version: _cString(data.subarray(16, 48)),
    projectName: _cString(data.subarray(48, 80)),
    time: _cString(data.subarray(80, 96)),
    date: _cString(data.subarray(96, 112)),
    idfVer: _cString(data.subarray(112, 144)),
    appElfSha256: data.slice(144, 176),
    minEfuseBlkRevFull: v.getUint16(176, true),
    maxEfuseBlkRevFull: v.getUint16(178, true),
    mmuPageSizeLog2: data[180]!,
    spiFlashMode: data[181]!,
  };
}

/**
 * Decodes an esp_bootloader_desc_t from the first 80 bytes of `data` (segment 0 of a
 * second-stage bootloader), or returns null when `data` is shorter or byte 0 is not 0x50.
 *
 * @throws {TypeError} when `data` is not a Uint8Array
 * @example
 * decodeBootloaderDesc(segment0)?.idfVer; // 'v5.5'
 */
export function decodeBootloaderDesc(data: Uint8Array): BootloaderDesc | null {
  if (!(data instanceof Uint8Array)) throw new TypeError('data: expected a Uint8Array');
  if (data.length < APP_DESC.BOOTLOADER_SIZE || data[0] !== APP_DESC.BOOTLOADER_MAGIC_BYTE) return null;
  const v = new DataView(data.buffer, data.byteOffset, APP_DESC.BOOTLOADER_SIZE);
  return {
    magicByte: data[0]!,
    secureVersion: data[3]!,
    version: v.getUint32(4, true),
    idfVer: _cString(data.subarray(8, 40)),
    dateTime: _cString(data.subarray(40, 64)),
  };
}
