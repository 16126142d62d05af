/**
 * eFuse field tables of the chips the eFuse model knows, with espefuse's field names and bit
 * positions (espefuse 5.3 `efuse_defs/*.yaml`). A field lives in one block at bit
 * `word * 32 + pos` (little-endian words, bit 0 = LSB of the block's first byte) and is `len` bits
 * long; `wrDis` is the WR_DIS bit that write-protects it and `rdDis` the RD_DIS bit that hides it
 * from software reads (null when there is none).
 *
 * Only the fields that matter for boot security, keys and identity are listed; the other BLOCK0
 * bits still exist in the model and can be burned through a listed field that covers them.
 */

/** Chips the eFuse model supports. @example const chip: EfuseChip = 'esp32s3'; */
export type EfuseChip = 'esp32' | 'esp32c3' | 'esp32s3';

/** How a field's value is presented: a flag, an unsigned number (≤ 32 bits) or raw bytes. @example ESP32_EFUSE_FIELDS.ABS_DONE_1.type // 'bool' */
export type EfuseFieldType = 'bool' | 'uint' | 'bytes';

/** One named eFuse field. @example ESP32C3_EFUSE_FIELDS.SPI_BOOT_CRYPT_CNT.wrDis // 4 */
export interface EfuseField {
  /** espefuse's name, e.g. `FLASH_CRYPT_CNT`. */
  readonly name: string;
  /** Block number (BLOCK0 = 0). */
  readonly block: number;
  /** First bit inside the block (`word * 32 + pos`). */
  readonly start: number;
  /** Length in bits. */
  readonly len: number;
  readonly type: EfuseFieldType;
  /** WR_DIS bit that write-protects this field, or null. */
  readonly wrDis: number | null;
  /** RD_DIS bit that read-protects this field, or null. */
  readonly rdDis: number | null;
}

/** Block layout and field table of one chip. @example EFUSE_CHIPS.esp32.blockNames // ['BLOCK0', 'BLOCK1', 'BLOCK2', 'BLOCK3'] */
export interface EfuseChipLayout {
  readonly chip: EfuseChip;
  /** The image-header chip id (0 ESP32, 5 ESP32-C3, 9 ESP32-S3); also used in saved eFuse images. */
  readonly chipId: number;
  /** espefuse block names, index = block number. */
  readonly blockNames: readonly string[];
  /** Bytes of each block (logical data, without coding/RS check bytes). */
  readonly blockLengths: readonly number[];
  readonly fields: Readonly<Record<string, EfuseField>>;
}

type Row = readonly [name: string, block: number, word: number, pos: number, len: number, wrDis: number | null, rdDis: number | null, bytes?: true];

function _table(rows: readonly Row[]): Readonly<Record<string, EfuseField>> {
  const out: Record<string, EfuseField> = {};
  for (const [name, block, word, pos, len, wrDis, rdDis, bytes] of rows) {
    const type: EfuseFieldType = bytes ? 'bytes' : len === 1 ? 'bool' : 'uint';
    out[name] = Object.freeze({ name, block, start: word * 32 + pos, len, type, wrDis, rdDis });
  }
  return Object.freeze(out);
}

/** ESP32 (espefuse `esp32.yaml`): BLOCK0 config, BLOCK1 flash encryption key, BLOCK2 secure boot key/digest, BLOCK3. @example ESP32_EFUSE_FIELDS.FLASH_CRYPT_CNT.len // 7 */
export const ESP32_EFUSE_FIELDS: Readonly<Record<string, EfuseField>> = /* @__PURE__ */ _table([
  ['WR_DIS', 0, 0, 0, 16, 1, null],
  ['RD_DIS', 0, 0, 16, 4, 0, null],
  ['FLASH_CRYPT_CNT', 0, 0, 20, 7, 2, null],
  ['UART_DOWNLOAD_DIS', 0, 0, 27, 1, 2, null],
  ['MAC', 0, 1, 0, 48, 3, null, true],
  ['MAC_CRC', 0, 2, 16, 8, 3, null],
  ['DISABLE_APP_CPU', 0, 3, 0, 1, 3, null],
  ['DISABLE_BT', 0, 3, 1, 1, 3, null],
  ['DIS_CACHE', 0, 3, 3, 1, 3, null],
  ['BLK3_PART_RESERVE', 0, 3, 14, 1, 10, 3],
  ['CLK8M_FREQ', 0, 4, 0, 8, 4, null],
  ['XPD_SDIO_REG', 0, 4, 14, 1, 5, null],
  ['XPD_SDIO_TIEH', 0, 4, 15, 1, 5, null],
  ['XPD_SDIO_FORCE', 0, 4, 16, 1, 5, null],
  ['FLASH_CRYPT_CONFIG', 0, 5, 28, 4, 10, 3],
  ['CODING_SCHEME', 0, 6, 0, 2, 10, 3],
  ['CONSOLE_DEBUG_DISABLE', 0, 6, 2, 1, 15, null],
  ['DISABLE_SDIO_HOST', 0, 6, 3, 1, null, null],
  ['ABS_DONE_0', 0, 6, 4, 1, 12, null],
  ['ABS_DONE_1', 0, 6, 5, 1, 13, null],
  ['JTAG_DISABLE', 0, 6, 6, 1, 14, null],
  ['DISABLE_DL_ENCRYPT', 0, 6, 7, 1, 15, null],
  ['DISABLE_DL_DECRYPT', 0, 6, 8, 1, 15, null],
  ['DISABLE_DL_CACHE', 0, 6, 9, 1, 15, null],
  ['KEY_STATUS', 0, 6, 10, 1, 10, 3],
  ['BLOCK1', 1, 0, 0, 256, 7, 0, true],
  ['BLOCK2', 2, 0, 0, 256, 8, 1, true],
  ['BLOCK3', 3, 0, 0, 256, 9, 2, true],
  ['CUSTOM_MAC_CRC', 3, 0, 0, 8, 9, 2],
  ['CUSTOM_MAC', 3, 0, 8, 48, 9, 2, true],
]);

/** BLOCK0 security fields shared by ESP32-C3 and ESP32-S3 (same positions in both `*.yaml`). */
const C3_STYLE_SECURITY: readonly Row[] = [
  ['WR_DIS', 0, 0, 0, 32, null, null],
  ['RD_DIS', 0, 1, 0, 7, 0, null],
  ['DIS_ICACHE', 0, 1, 8, 1, 2, null],
  ['DIS_DOWNLOAD_ICACHE', 0, 1, 10, 1, 2, null],
  ['DIS_FORCE_DOWNLOAD', 0, 1, 12, 1, 2, null],
  ['DIS_TWAI', 0, 1, 14, 1, 2, null],
  ['SOFT_DIS_JTAG', 0, 1, 16, 3, 31, null],
  ['DIS_PAD_JTAG', 0, 1, 19, 1, 2, null],
  ['DIS_DOWNLOAD_MANUAL_ENCRYPT', 0, 1, 20, 1, 2, null],
  ['WDT_DELAY_SEL', 0, 2, 16, 2, 3, null],
  ['SPI_BOOT_CRYPT_CNT', 0, 2, 18, 3, 4, null],
  ['SECURE_BOOT_KEY_REVOKE0', 0, 2, 21, 1, 5, null],
  ['SECURE_BOOT_KEY_REVOKE1', 0, 2, 22, 1, 6, null],
  ['SECURE_BOOT_KEY_REVOKE2', 0, 2, 23, 1, 7, null],
  ['KEY_PURPOSE_0', 0, 2, 24, 4, 8, null],
  ['KEY_PURPOSE_1', 0, 2, 28, 4, 9, null],
  ['KEY_PURPOSE_2', 0, 3, 0, 4, 10, null],
  ['KEY_PURPOSE_3', 0, 3, 4, 4, 11, null],
  ['KEY_PURPOSE_4', 0, 3, 8, 4, 12, null],
  ['KEY_PURPOSE_5', 0, 3, 12, 4, 13, null],
  ['SECURE_BOOT_EN', 0, 3, 20, 1, 15, null],
  ['SECURE_BOOT_AGGRESSIVE_REVOKE', 0, 3, 21, 1, 16, null],
  ['FLASH_TPUW', 0, 3, 28, 4, 18, null],
  ['DIS_DOWNLOAD_MODE', 0, 4, 0, 1, 18, null],
  ['DIS_DIRECT_BOOT', 0, 4, 1, 1, 18, null],
  ['DIS_USB_SERIAL_JTAG_ROM_PRINT', 0, 4, 2, 1, 18, null],
  ['DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE', 0, 4, 4, 1, 18, null],
  ['ENABLE_SECURITY_DOWNLOAD', 0, 4, 5, 1, 18, null],
  ['UART_PRINT_CONTROL', 0, 4, 6, 2, 18, null],
  ['FORCE_SEND_RESUME', 0, 4, 13, 1, 18, null],
  ['SECURE_VERSION', 0, 4, 14, 16, 18, null],
  ['DISABLE_WAFER_VERSION_MAJOR', 0, 5, 0, 1, 19, null],
  ['DISABLE_BLK_VERSION_MAJOR', 0, 5, 1, 1, 19, null],
  ['MAC', 1, 0, 0, 48, 20, null, true],
  ['OPTIONAL_UNIQUE_ID', 2, 0, 0, 128, 21, null, true],
  ['BLOCK_USR_DATA', 3, 0, 0, 192, 22, null, true],
  ['CUSTOM_MAC', 3, 6, 8, 48, 22, null, true],
  ['BLOCK_KEY0', 4, 0, 0, 256, 23, 0, true],
  ['BLOCK_KEY1', 5, 0, 0, 256, 24, 1, true],
  ['BLOCK_KEY2', 6, 0, 0, 256, 25, 2, true],
  ['BLOCK_KEY3', 7, 0, 0, 256, 26, 3, true],
  ['BLOCK_KEY4', 8, 0, 0, 256, 27, 4, true],
  ['BLOCK_KEY5', 9, 0, 0, 256, 28, 5, true],
  ['BLOCK_SYS_DATA2', 10, 0, 0, 256, 29, 6, true],
];

/** ESP32-C3 (espefuse `esp32c3.yaml`): BLOCK_KEY0..5 = BLOCK4..9, XTS-AES-128 only. @example ESP32C3_EFUSE_FIELDS.BLOCK_KEY0.rdDis // 0 */
export const ESP32C3_EFUSE_FIELDS: Readonly<Record<string, EfuseField>> = /* @__PURE__ */ _table([
  ...C3_STYLE_SECURITY,
  ['DIS_USB_JTAG', 0, 1, 9, 1, 2, null],
  ['DIS_USB_SERIAL_JTAG', 0, 1, 11, 1, 2, null],
  ['JTAG_SEL_ENABLE', 0, 1, 15, 1, 2, null],
]);

/** ESP32-S3 (espefuse `esp32s3.yaml`): like the C3, plus XTS-AES-256 and the data cache fields. @example ESP32S3_EFUSE_FIELDS.DIS_DOWNLOAD_DCACHE.block // 0 */
export const ESP32S3_EFUSE_FIELDS: Readonly<Record<string, EfuseField>> = /* @__PURE__ */ _table([
  ...C3_STYLE_SECURITY,
  ['DIS_DCACHE', 0, 1, 9, 1, 2, null],
  ['DIS_DOWNLOAD_DCACHE', 0, 1, 11, 1, 2, null],
  ['DIS_USB_OTG', 0, 1, 13, 1, 2, null],
  ['DIS_APP_CPU', 0, 1, 15, 1, 2, null],
  ['DIS_USB_JTAG', 0, 3, 22, 1, 2, null],
  ['DIS_USB_SERIAL_JTAG', 0, 3, 23, 1, 2, null],
  ['STRAP_JTAG_SEL', 0, 3, 24, 1, 2, null],
  ['DIS_USB_OTG_DOWNLOAD_MODE', 0, 4, 31, 1, 19, null],
]);

const C3_STYLE_BLOCKS = Object.freeze([
  'BLOCK0',
  'BLOCK_MAC_SPI_SYS',
  'BLOCK_SYS_DATA',
  'BLOCK_USR_DATA',
  'BLOCK_KEY0',
  'BLOCK_KEY1',
  'BLOCK_KEY2',
  'BLOCK_KEY3',
  'BLOCK_KEY4',
  'BLOCK_KEY5',
  'BLOCK_SYS_DATA2',
]);
const C3_STYLE_LENGTHS = Object.freeze([24, 24, 32, 32, 32, 32, 32, 32, 32, 32, 32]);

/** The layout of every supported chip, by name. @example EFUSE_CHIPS.esp32c3.chipId // 5 */
export const EFUSE_CHIPS: Readonly<Record<EfuseChip, EfuseChipLayout>> = Object.freeze({
  esp32: Object.freeze({
    chip: 'esp32',
    chipId: 0,
    blockNames: Object.freeze(['BLOCK0', 'BLOCK1', 'BLOCK2', 'BLOCK3']),
    blockLengths: Object.freeze([28, 32, 32, 32]),
    fields: ESP32_EFUSE_FIELDS,
  }),
  esp32c3: Object.freeze({ chip: 'esp32c3', chipId: 5, blockNames: C3_STYLE_BLOCKS, blockLengths: C3_STYLE_LENGTHS, fields: ESP32C3_EFUSE_FIELDS }),
  esp32s3: Object.freeze({ chip: 'esp32s3', chipId: 9, blockNames: C3_STYLE_BLOCKS, blockLengths: C3_STYLE_LENGTHS, fields: ESP32S3_EFUSE_FIELDS }),
} satisfies Record<EfuseChip, EfuseChipLayout>);

/** ESP32 CODING_SCHEME values. @example efuse.read('CODING_SCHEME') === ESP32_CODING_SCHEME['3/4'] */
export const ESP32_CODING_SCHEME = Object.freeze({
  /** 256-bit BLOCK1..3. */
  NONE: 0,
  /** 3/4 coding: 192-bit keys in BLOCK1..3. */
  '3/4': 1,
  /** Repeat coding (128 bits): not supported by the model, as by espefuse. */
  REPEAT: 2,
} as const);
