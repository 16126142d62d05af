/**
 * Constants of the ESP-IDF partition table (binary layout and the CSV keywords), with the names
 * gen_esp32part.py 1.5 uses so they can be grepped for. Tables are frozen; their key order is the
 * tool's, which matters: binary → CSV prints the first keyword whose value matches.
 */

/** Type code of application partitions. */
export const APP_TYPE = 0x00;
/** Type code of data partitions. */
export const DATA_TYPE = 0x01;
/** Type code of bootloader partitions (ESP-IDF 5.5+: for bootloader OTA). */
export const BOOTLOADER_TYPE = 0x02;
/** Type code of partition-table partitions (ESP-IDF 5.5+). */
export const PARTITION_TABLE_TYPE = 0x03;

/** Length of the binary table gen_esp32part writes: 0xC00 bytes (96 slots of 32 bytes). */
export const MAX_PARTITION_LENGTH = 0xc00;
/** The flash sector the table occupies; the first partition starts at table offset + this. */
export const PARTITION_TABLE_SIZE = 0x1000;
/** Default table offset in flash. */
export const PARTITION_TABLE_OFFSET = 0x8000;
/** Size of one binary entry. */
export const PARTITION_ENTRY_SIZE = 32;
/** Length of the label field; a 16-byte name has no NUL terminator, longer names are truncated. */
export const PARTITION_NAME_SIZE = 16;
/** Magic bytes that start every partition entry (u16 0x50AA little-endian). */
export const PARTITION_MAGIC = Object.freeze([0xaa, 0x50] as const);
/** First 16 bytes of the MD5 entry: 0xEB 0xEB then 14 × 0xFF; the MD5 digest follows. */
export const MD5_PARTITION_BEGIN = Object.freeze([0xeb, 0xeb, ...new Array<number>(14).fill(0xff)]);
/** A data/nvs partition smaller than this must be flagged readonly. */
export const NVS_RW_MIN_PARTITION_SIZE = 0x3000;
/** Size every data/ota (otadata) and data/tee_ota partition must have. */
export const OTADATA_SIZE = 0x2000;

/** First app subtype of the 16 OTA slots (ota_0). */
export const MIN_PARTITION_SUBTYPE_APP_OTA = 0x10;
/** Number of app OTA slots (ota_0 … ota_15). */
export const NUM_PARTITION_SUBTYPE_APP_OTA = 16;
/** First app subtype of the TEE slots (tee_0). */
export const MIN_PARTITION_SUBTYPE_APP_TEE = 0x30;
/** Number of TEE app slots (tee_0, tee_1). */
export const NUM_PARTITION_SUBTYPE_APP_TEE = 2;

/** Partition type keywords of the CSV, in the tool's order (`TYPES`). */
export const TYPES: Readonly<Record<string, number>> = Object.freeze({
  bootloader: BOOTLOADER_TYPE,
  partition_table: PARTITION_TABLE_TYPE,
  app: APP_TYPE,
  data: DATA_TYPE,
});

const APP_SUBTYPES: Record<string, number> = { factory: 0x00, test: 0x20 };
for (let i = 0; i < NUM_PARTITION_SUBTYPE_APP_OTA; i++) APP_SUBTYPES[`ota_${i}`] = MIN_PARTITION_SUBTYPE_APP_OTA + i;
for (let i = 0; i < NUM_PARTITION_SUBTYPE_APP_TEE; i++) APP_SUBTYPES[`tee_${i}`] = MIN_PARTITION_SUBTYPE_APP_TEE + i;

/**
 * Subtype keywords per type code, in the tool's order (`SUBTYPES`). Custom types (0x40..0xFE)
 * have none: their subtypes are numbers.
 */
export const SUBTYPES: Readonly<Record<number, Readonly<Record<string, number>>>> = Object.freeze({
  [BOOTLOADER_TYPE]: Object.freeze({ primary: 0x00, ota: 0x01, recovery: 0x02 }),
  [PARTITION_TABLE_TYPE]: Object.freeze({ primary: 0x00, ota: 0x01 }),
  [APP_TYPE]: Object.freeze(APP_SUBTYPES),
  [DATA_TYPE]: Object.freeze({
    ota: 0x00,
    phy: 0x01,
    nvs: 0x02,
    coredump: 0x03,
    nvs_keys: 0x04,
    efuse: 0x05,
    undefined: 0x06,
    esphttpd: 0x80,
    fat: 0x81,
    spiffs: 0x82,
    littlefs: 0x83,
    tee_ota: 0x90,
  }),
});

/** Flag names of the CSV flags column and their bit in the binary flags word (`FLAGS`). */
export const FLAGS: Readonly<Record<'encrypted' | 'readonly', number>> = Object.freeze({ encrypted: 0, readonly: 1 });

/** Offset alignment per type (`ALIGNMENT`); types not listed use the data alignment. */
export const ALIGNMENT: Readonly<Record<number, number>> = Object.freeze({
  [APP_TYPE]: 0x10000,
  [DATA_TYPE]: 0x1000,
  [BOOTLOADER_TYPE]: 0x1000,
  [PARTITION_TABLE_TYPE]: 0x1000,
});

/** The `--flash-size` values gen_esp32part accepts. */
export const FLASH_SIZES = Object.freeze(['1MB', '2MB', '4MB', '8MB', '16MB', '32MB', '64MB', '128MB'] as const);

/**
 * Offset alignment of a partition type (the tool's `get_alignment_offset_for_type`).
 *
 * @example
 * offsetAlignment(APP_TYPE); // 0x10000
 */
export function offsetAlignment(type: number): number {
  return ALIGNMENT[type] ?? ALIGNMENT[DATA_TYPE]!;
}

/**
 * Size alignment of a partition type: app partitions 0x1000 (0x10000 with Secure Boot V1),
 * others 1 (the tool's `get_alignment_size_for_type`).
 *
 * @example
 * sizeAlignment(APP_TYPE, 'v1'); // 0x10000
 */
export function sizeAlignment(type: number, secure: SecureBootVersion | null): number {
  if (type !== APP_TYPE) return 1;
  return secure === 'v1' ? 0x10000 : 0x1000;
}

/** The `--secure` choices: Secure Boot V1 or V2. */
export type SecureBootVersion = 'v1' | 'v2';
