import type { EfuseChip } from '../boot/efuse-fields.js';
import { PARTITION_TABLE_OFFSET } from '../partition-table/constants.js';
import { parsePartitionCsv } from '../partition-table/csv.js';
import type { PartitionEntry } from '../partition-table/partition-entry.js';
import { verifyPartitionTable, verifyPartitionTableFits } from '../partition-table/verify.js';

/**
 * The flash of one device model: the chip, the flash size, where the partition table sits and
 * the partitions it lists (as the CSV describes them, with every offset resolved).
 *
 * @example
 * const layout = defaultFlashLayout();
 * layout.entries.find((p) => p.name === 'nvs')?.offset; // 0x9000
 */
export interface DeviceFlashLayout {
  /** A short name for manifests and messages (`default-2mb`). */
  readonly name: string;
  /** The chip the layout is for. */
  readonly chip: EfuseChip;
  /** Flash size in bytes. */
  readonly flashSize: number;
  /** Flash offset of the partition table (0x8000). */
  readonly tableOffset: number;
  /** The partition table as gen_esp32part CSV. */
  readonly csv: string;
  /** The parsed entries, in CSV order. */
  readonly entries: readonly PartitionEntry[];
}

/** The default device's partition table (gen_esp32part CSV): NVS, its encrypted keys, one encrypted 1 MiB factory app. */
export const DEFAULT_PARTITION_CSV = `# nvsec default device: ESP32-C3, 2 MiB flash, flash encryption (XTS-AES-128), Secure Boot V2
# Name,     Type, SubType,  Offset,   Size,    Flags
nvs,        data, nvs,      0x9000,   0x6000,
nvs_keys,   data, nvs_keys, 0xF000,   0x1000,  encrypted
factory,    app,  factory,  0x10000,  1M,      encrypted
`;

/** Flash size of the default device: 2 MiB. */
export const DEFAULT_FLASH_SIZE = 2 * 1024 * 1024;

/**
 * Builds a layout from a partition table CSV, checked as gen_esp32part checks it (overlaps,
 * alignment, fits the flash). Note that `nvs` partitions are never flash-encrypted (NVS has its
 * own encryption); mark `nvs_keys` and app partitions `encrypted`.
 *
 * @throws {PartitionTableError} PT_CSV, PT_CSV_OVERLAP and the verify errors of the partition table module
 * @throws {RangeError} when `flashSize` is not a positive multiple of 4096
 * @example
 * const layout = flashLayoutFromCsv('big-4mb', 'esp32c3', 4 * 1024 * 1024, csvText);
 */
export function flashLayoutFromCsv(name: string, chip: EfuseChip, flashSize: number, csv: string): DeviceFlashLayout {
  if (!Number.isSafeInteger(flashSize) || flashSize <= 0 || flashSize % 4096 !== 0) {
    throw new RangeError(`"flashSize" must be a positive multiple of 4096, got ${String(flashSize)}`);
  }
  const entries = parsePartitionCsv(csv);
  verifyPartitionTable(entries, { tableOffset: PARTITION_TABLE_OFFSET, secure: 'v2' });
  verifyPartitionTableFits(entries, flashSize);
  return Object.freeze({ name, chip, flashSize, tableOffset: PARTITION_TABLE_OFFSET, csv, entries: Object.freeze(entries) });
}

/**
 * The default device: ESP32-C3, 2 MiB flash, partition table at 0x8000, `nvs` (0x9000, 0x6000),
 * `nvs_keys` (0xF000, 0x1000, encrypted) and the `factory` app (0x10000, 1 MiB, encrypted).
 *
 * @example
 * const { entries } = defaultFlashLayout(); // nvs, nvs_keys, factory
 */
export function defaultFlashLayout(): DeviceFlashLayout {
  return flashLayoutFromCsv('default-2mb', 'esp32c3', DEFAULT_FLASH_SIZE, DEFAULT_PARTITION_CSV);
}

/**
 * The partition of `layout` with `name`.
 *
 * @throws {RangeError} when the layout has no such partition
 * @example
 * const app = partitionNamed(defaultFlashLayout(), 'factory'); // offset 0x10000
 */
export function partitionNamed(layout: Pick<DeviceFlashLayout, 'entries'>, name: string): PartitionEntry {
  const p = layout.entries.find((e) => e.name === name);
  if (!p) throw new RangeError(`The flash layout has no partition named "${name}" (it has ${layout.entries.map((e) => e.name).join(', ')})`);
  return p;
}
