import {
  APP_TYPE,
  BOOTLOADER_TYPE,
  DATA_TYPE,
  NVS_RW_MIN_PARTITION_SIZE,
  offsetAlignment,
  OTADATA_SIZE,
  PARTITION_TABLE_OFFSET,
  PARTITION_TABLE_SIZE,
  PARTITION_TABLE_TYPE,
  type SecureBootVersion,
  sizeAlignment,
  SUBTYPES,
  TYPES,
} from './constants.js';
import type { PartitionEntry } from './partition-entry.js';
import { PartitionTableError } from './partition-table-error.js';
import { type ExtraSubtype, type SubtypeTable, subtypeTable } from './extra-subtypes.js';
import { _entryToCsv } from './to-csv.js';
import { _pyFixed1 } from './_python.js';

/** Options of {@link verifyPartitionTable}. */
export interface VerifyPartitionTableOptions {
  /** Flash offset of the table (`--offset`, default 0x8000): partitions must start at or after offset + 0x1000. */
  tableOffset?: number;
  /** `--secure`: 'v1' requires app sizes aligned to 0x10000 (else 0x1000). Default none. */
  secure?: SecureBootVersion | null;
  /** `--extra-partition-subtypes`: count as subtype keywords for the name warnings and the rows printed. */
  extraSubtypes?: readonly ExtraSubtype[];
}

const DATA_SUBTYPES = SUBTYPES[DATA_TYPE]!;

/**
 * Runs gen_esp32part.py 1.5's verify step, in its order and with its messages: per partition
 * offset alignment (app 0x10000, others 0x1000), app size alignment (0x1000, 0x10000 with
 * `secure: 'v1'`), data/ota and data/coredump not readonly, data/nvs below 0x3000 readonly; then
 * unique names, nothing below table offset + 0x1000 (bootloader/partition_table primary entries
 * excepted), no overlap (sorted by offset), at most one data/ota and one data/tee_ota, each of
 * size 0x2000.
 *
 * @returns the warnings the tool prints and goes on (a name that is a type or subtype keyword
 *   of another kind of partition), in order
 * @throws {PartitionTableError} `PT_INVALID` with the tool's message, e.g. "Partition nvs invalid:
 *   Offset 0x9100 is not aligned to 0x1000" or "Partition names must be unique"
 * @example
 * const warnings = verifyPartitionTable(parsePartitionCsv(text));
 */
export function verifyPartitionTable(entries: readonly PartitionEntry[], options: VerifyPartitionTableOptions = {}): string[] {
  const tableOffset = options.tableOffset ?? PARTITION_TABLE_OFFSET;
  const secure = options.secure ?? null;
  const warnings: string[] = [];
  const subtypes = subtypeTable(options.extraSubtypes);
  const partitionEntryToCsv = (p: PartitionEntry) => _entryToCsv(p, subtypes);
  for (const p of entries) verifyEntry(p, secure, subtypes, warnings);

  const counts = new Map<string, number>();
  for (const p of entries) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
  if ([...counts.values()].some((n) => n > 1)) {
    const dups = [...entries].filter((p) => counts.get(p.name)! > 1).sort((a, b) => compareCodeUnits(a.name, b.name));
    throw new PartitionTableError('PT_INVALID', 'Partition names must be unique', [
      'A list of partitions that have the same name:',
      ...dups.map(partitionEntryToCsv),
    ]);
  }

  let last: PartitionEntry | null = null;
  for (const p of [...entries].sort((a, b) => a.offset - b.offset)) {
    if (p.offset < tableOffset + PARTITION_TABLE_SIZE && !isPrimaryFixed(p)) {
      throw new PartitionTableError('PT_INVALID', `Partition offset ${hex(p.offset)} is below ${hex(tableOffset + PARTITION_TABLE_SIZE)}`);
    }
    if (last !== null && p.offset < last.offset + last.size) {
      throw new PartitionTableError('PT_INVALID', `Partition at ${hex(p.offset)} overlaps ${hex(last.offset)}-${hex(last.offset + last.size - 1)}`);
    }
    last = p;
  }

  const otadata = entries.filter((p) => p.type === DATA_TYPE && p.subtype === DATA_SUBTYPES['ota']);
  if (otadata.length > 1) {
    throw new PartitionTableError(
      'PT_INVALID',
      'Found multiple otadata partitions. Only one partition can be defined with type="data"(1) and subtype="ota"(0).',
      otadata.map(partitionEntryToCsv),
    );
  }
  if (otadata.length === 1 && otadata[0]!.size !== OTADATA_SIZE) {
    throw new PartitionTableError('PT_INVALID', 'otadata partition must have size = 0x2000', [partitionEntryToCsv(otadata[0]!)]);
  }
  const teeOtadata = entries.filter((p) => p.type === DATA_TYPE && p.subtype === DATA_SUBTYPES['tee_ota']);
  if (teeOtadata.length > 1) {
    throw new PartitionTableError(
      'PT_INVALID',
      'Found multiple TEE otadata partitions. Only one partition can be defined with type="data"(1) and subtype="tee_ota"(0x90).',
      teeOtadata.map(partitionEntryToCsv),
    );
  }
  if (teeOtadata.length === 1 && teeOtadata[0]!.size !== OTADATA_SIZE) {
    throw new PartitionTableError('PT_INVALID', 'TEE otadata partition must have size = 0x2000', [partitionEntryToCsv(teeOtadata[0]!)]);
  }
  return warnings;
}

/**
 * Where the partitions end: offset + size of the partition with the highest offset (the first
 * such one in table order), 0 for an empty table (the tool's `flash_size`).
 *
 * @example
 * partitionTableEnd(entries); // 0x400000 for a table that fills 4 MB
 */
export function partitionTableEnd(entries: readonly PartitionEntry[]): number {
  let last: PartitionEntry | null = null;
  for (const p of entries) if (last === null || p.offset > last.offset) last = p;
  return last === null ? 0 : last.offset + last.size;
}

/**
 * The `--flash-size` check: the partitions must end within `flashSizeBytes`.
 *
 * @throws {PartitionTableError} `PT_FLASH_SIZE` with the tool's message ("Partitions tables
 *   occupies 4.1MB of flash (4259840 bytes) which does not fit in configured flash size 4MB. …")
 * @throws {RangeError} when flashSizeBytes is not a positive safe integer
 * @example
 * verifyPartitionTableFits(entries, 4 * 1024 * 1024);
 */
export function verifyPartitionTableFits(entries: readonly PartitionEntry[], flashSizeBytes: number): void {
  if (!Number.isSafeInteger(flashSizeBytes) || flashSizeBytes <= 0) throw new RangeError(`flashSizeBytes must be a positive integer, got ${flashSizeBytes}`);
  const end = partitionTableEnd(entries);
  if (flashSizeBytes < end) {
    const mb = 1024 * 1024;
    throw new PartitionTableError(
      'PT_FLASH_SIZE',
      `Partitions tables occupies ${_pyFixed1(end, mb)}MB of flash (${end} bytes) which does not fit in configured flash size ${Math.trunc(flashSizeBytes / mb)}MB. Change the flash size in menuconfig under the 'Serial Flasher Config' menu.`,
    );
  }
}

function verifyEntry(p: PartitionEntry, secure: SecureBootVersion | null, subtypes: SubtypeTable, warnings: string[]): void {
  const fail = (message: string): never => {
    throw new PartitionTableError('PT_INVALID', `Partition ${p.name} invalid: ${message}`);
  };
  const align = offsetAlignment(p.type);
  if (p.offset % align !== 0) fail(`Offset ${hex(p.offset)} is not aligned to ${hex(align)}`);
  if (p.type === APP_TYPE) {
    const sizeAlign = sizeAlignment(p.type, secure);
    if (p.size % sizeAlign !== 0) fail(`Size ${hex(p.size)} is not aligned to ${hex(sizeAlign)}`);
  }
  if (Object.prototype.hasOwnProperty.call(TYPES, p.name) && TYPES[p.name] !== p.type) {
    warnings.push(
      `WARNING: Partition has name '${p.name}' which is a partition type, but does not match this partition's type (${hex(p.type)}). Mistake in partition table?`,
    );
  }
  const isSubtypeName = Object.values(subtypes).some((t) => Object.prototype.hasOwnProperty.call(t, p.name));
  const own = subtypes[p.type];
  if (isSubtypeName && !(own !== undefined && Object.prototype.hasOwnProperty.call(own, p.name) && own[p.name] === p.subtype)) {
    warnings.push(
      `WARNING: Partition has name '${p.name}' which is a partition subtype, but this partition has non-matching type ${hex(p.type)} and subtype ${hex(p.subtype)}. Mistake in partition table?`,
    );
  }
  if (p.type === DATA_TYPE && (p.subtype === DATA_SUBTYPES['ota'] || p.subtype === DATA_SUBTYPES['coredump']) && p.flags.readonly) {
    fail(`'${p.name}' partition of type ${p.type} and subtype ${p.subtype} is always read-write and cannot be read-only`);
  }
  if (p.type === DATA_TYPE && p.subtype === DATA_SUBTYPES['nvs'] && p.size < NVS_RW_MIN_PARTITION_SIZE && !p.flags.readonly) {
    fail(
      `'${p.name}' partition of type ${p.type} and subtype ${p.subtype} of this size (${hex(p.size)}) must be flagged as 'readonly' (the size of read/write NVS has to be at least ${hex(NVS_RW_MIN_PARTITION_SIZE)})`,
    );
  }
}

function isPrimaryFixed(p: PartitionEntry): boolean {
  return (p.type === BOOTLOADER_TYPE || p.type === PARTITION_TABLE_TYPE) && p.subtype === 0;
}

/** Python's str ordering (by code point; equal to UTF-16 order outside surrogates, enough for labels). */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function hex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}
