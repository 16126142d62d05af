import { TYPES } from './constants.js';
import { type ExtraSubtype, type SubtypeTable, subtypeTable } from './extra-subtypes.js';
import type { PartitionEntry } from './partition-entry.js';

/** The two header lines the tool writes before the rows. */
const CSV_HEADER = ['# ESP-IDF Partition Table', '# Name, Type, SubType, Offset, Size, Flags'] as const;

/**
 * One CSV row exactly as gen_esp32part.py prints it: `name,type,subtype,offset,size,flags` with
 * keywords for known types and subtypes (the first keyword in the tool's table order, else the
 * decimal number), the offset in lower-case hex, the size as `<n>M` or `<n>K` when exact (else
 * hex), and the flags joined with ':'.
 *
 * @throws {PartitionTableError} `PT_CONFIG` for bad extraSubtypes (see {@link subtypeTable})
 * @example
 * partitionEntryToCsv({ name: 'nvs', type: 1, subtype: 2, offset: 0x9000, size: 0x6000,
 *   flags: { encrypted: false, readonly: false } }); // 'nvs,data,nvs,0x9000,24K,'
 */
export function partitionEntryToCsv(entry: PartitionEntry, options: PartitionCsvOptions = {}): string {
  return _entryToCsv(entry, subtypeTable(options.extraSubtypes));
}

/** Options of {@link partitionEntryToCsv} and {@link partitionTableToCsv}. */
export interface PartitionCsvOptions {
  /** `--extra-partition-subtypes`: their names are printed like the built-in keywords. */
  extraSubtypes?: readonly ExtraSubtype[];
}

/** One row with a given subtype table. */
export function _entryToCsv(entry: PartitionEntry, subtypes: SubtypeTable): string {
  const flags: string[] = [];
  if (entry.flags.encrypted) flags.push('encrypted');
  if (entry.flags.readonly) flags.push('readonly');
  return [
    entry.name,
    keywordOf(entry.type, TYPES),
    keywordOf(entry.subtype, subtypes[entry.type] ?? {}),
    `0x${entry.offset.toString(16)}`,
    sizeText(entry.size),
    flags.join(':'),
  ].join(',');
}

/**
 * The whole table as gen_esp32part.py writes it for a binary input: the two header lines, one row
 * per entry, a final line break.
 *
 * @throws {PartitionTableError} `PT_CONFIG` for bad extraSubtypes (see {@link subtypeTable})
 * @example
 * const text = partitionTableToCsv(decodePartitionTable(bin, crypto).entries);
 */
export function partitionTableToCsv(entries: readonly PartitionEntry[], options: PartitionCsvOptions = {}): string {
  const subtypes = subtypeTable(options.extraSubtypes);
  return `${[...CSV_HEADER, ...entries.map((e) => _entryToCsv(e, subtypes))].join('\n')}\n`;
}

/** Name of `value` in a keyword table (first match in table order), else its decimal text. */
function keywordOf(value: number, keywords: Readonly<Record<string, number>>): string {
  for (const [k, v] of Object.entries(keywords)) if (v === value) return k;
  return String(value);
}

/** The tool's size format: M or K when exact, else lower-case hex. */
function sizeText(size: number): string {
  if (size % 0x100000 === 0) return `${size / 0x100000}M`;
  if (size % 0x400 === 0) return `${size / 0x400}K`;
  return `0x${size.toString(16)}`;
}
