import {
  APP_TYPE,
  BOOTLOADER_TYPE,
  DATA_TYPE,
  offsetAlignment,
  PARTITION_TABLE_OFFSET,
  PARTITION_TABLE_SIZE,
  PARTITION_TABLE_TYPE,
  SUBTYPES,
  TYPES,
} from './constants.js';
import { type ExtraSubtype, type SubtypeTable, subtypeTable } from './extra-subtypes.js';
import type { PartitionEntry } from './partition-entry.js';
import { PartitionTableError } from './partition-table-error.js';
import { _pyExpandVars, _pySplitLines } from './_python.js';
import { pythonInt, pythonStrip } from '../bytes/python-int.js';

/** Options of {@link parsePartitionCsv}; the names follow gen_esp32part's command line. */
export interface ParsePartitionCsvOptions {
  /** Flash offset of the table (`--offset`, default 0x8000): blank offsets start at offset + 0x1000. */
  tableOffset?: number;
  /** `--primary-bootloader-offset`: offset of bootloader/primary entries (required when the CSV has one). */
  primaryBootloaderOffset?: number;
  /** `--recovery-bootloader-offset`: offset of bootloader/recovery entries (required when the CSV has one). */
  recoveryBootloaderOffset?: number;
  /**
   * Variables for `$NAME` / `${NAME}` in the CSV (the tool reads the process environment; pass
   * it explicitly, e.g. `process.env`). Default: none.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** `--extra-partition-subtypes`: subtype keywords added to the tool's table (see {@link parseExtraSubtypes}). */
  extraSubtypes?: readonly ExtraSubtype[];
}

/** Suffix the tool appends to every per-line CSV error. */
const LINE_ERROR_HINT = 'Please check extra_partition_subtypes.inc file in build/config directory';

/** An InputError raised while reading one CSV line (wrapped with the line number by the caller). */
class _LineError extends Error {}

interface _Draft {
  name: string;
  type: number;
  subtype: number;
  offset: number | null;
  size: number;
  encrypted: boolean;
  readonly: boolean;
  line: number;
}

/**
 * Parses a partition table CSV as gen_esp32part.py 1.5 does: columns name, type, subtype, offset,
 * size, flags (missing trailing columns are empty, extra ones ignored); fields trimmed; blank and
 * `#` lines skipped; `$VARS` expanded from `options.env`; numbers decimal or 0x/0o/0b with an
 * optional k/K (×1024) or m/M (×1048576) suffix; type and subtype keywords case-insensitive.
 * Blank offsets are filled in (data: previous end rounded up to 0x1000, app: to 0x10000, first
 * at table offset + 0x1000), a negative size −X becomes X − offset, bootloader/primary and
 * partition_table/primary entries get fixed offsets and sizes. Does not run the verify checks
 * (see {@link verifyPartitionTable}).
 *
 * @throws {PartitionTableError} `PT_CSV` with the tool's message ("Error at line N: …",
 *   "unknown variable 'X'"), `PT_CSV_OVERLAP` when explicit offsets overlap
 * @throws {TypeError} when `text` is not a string
 * @example
 * const entries = parsePartitionCsv('nvs, data, nvs, , 0x6000\nfactory, app, factory, , 1M\n');
 * // entries[0].offset === 0x9000, entries[1].offset === 0x10000
 */
export function parsePartitionCsv(text: string, options: ParsePartitionCsvOptions = {}): PartitionEntry[] {
  if (typeof text !== 'string') throw new TypeError('parsePartitionCsv: text must be a string');
  const tableOffset = options.tableOffset ?? PARTITION_TABLE_OFFSET;
  const env = options.env ?? {};
  const subtypes = subtypeTable(options.extraSubtypes);
  const drafts: _Draft[] = [];
  const lines = _pySplitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const expanded = _pyExpandVars(lines[i]!, env);
    // Only a line that starts with an unexpanded variable is refused (the tool's re.match quirk).
    const unknown = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(expanded);
    if (unknown) throw new PartitionTableError('PT_CSV', `unknown variable '${unknown[1]}'`);
    const line = pythonStrip(expanded);
    if (line.startsWith('#') || line.length === 0) continue;
    try {
      drafts.push(_parseLine(line, i + 1, tableOffset, subtypes, options));
    } catch (e) {
      if (!(e instanceof _LineError)) throw e;
      throw new PartitionTableError('PT_CSV', `Error at line ${i + 1}: ${e.message}\n${LINE_ERROR_HINT}`);
    }
  }
  _fillOffsets(drafts, tableOffset);
  return drafts.map((d) =>
    Object.freeze({
      name: d.name,
      type: d.type,
      subtype: d.subtype,
      offset: d.offset!,
      size: d.size,
      flags: Object.freeze({ encrypted: d.encrypted, readonly: d.readonly }),
      line: d.line,
    }),
  );
}

/** True for the entries whose place is fixed by the command line, not by the running end. */
function _isPrimaryFixed(type: number, subtype: number): boolean {
  return (type === BOOTLOADER_TYPE || type === PARTITION_TABLE_TYPE) && subtype === 0;
}

/** Fills in blank offsets and resolves negative sizes, refusing explicit offsets that overlap. */
function _fillOffsets(drafts: _Draft[], tableOffset: number): void {
  let lastEnd = tableOffset + PARTITION_TABLE_SIZE;
  const first = drafts[0];
  for (const e of drafts) {
    if (_isPrimaryFixed(e.type, e.subtype)) continue;
    if (e.offset !== null && e.offset < lastEnd) {
      // The tool compares with ==, which looks at name, type, subtype, offset and size.
      const isFirst = first !== undefined && e.name === first.name && e.type === first.type && e.subtype === first.subtype && e.offset === first.offset && e.size === first.size;
      throw new PartitionTableError(
        'PT_CSV_OVERLAP',
        isFirst
          ? `CSV Error at line ${e.line}: Partitions overlap. Partition sets offset ${hex(e.offset)}. But partition table occupies the whole sector ${hex(tableOffset)}. Use a free offset ${hex(lastEnd)} or higher.`
          : `CSV Error at line ${e.line}: Partitions overlap. Partition sets offset ${hex(e.offset)}. Previous partition ends ${hex(lastEnd)}`,
      );
    }
    if (e.offset === null) {
      const padTo = offsetAlignment(e.type);
      if (lastEnd % padTo !== 0) lastEnd += padTo - (lastEnd % padTo);
      e.offset = lastEnd;
    }
    if (e.size < 0) e.size = -e.size - e.offset;
    lastEnd = e.offset + e.size;
  }
}

/** One non-comment CSV line → a draft entry (offset still null when blank). */
function _parseLine(line: string, lineNo: number, tableOffset: number, subtypes: SubtypeTable, options: ParsePartitionCsvOptions): _Draft {
  const fields = `${line},,,,`.split(',').map(pythonStrip);
  const name = fields[0]!;
  if (fields[1] === '') throw new _LineError("Field 'type' can't be left empty.");
  const type = _parseInt(fields[1]!, TYPES);
  let subtype: number;
  if (fields[2] === '') {
    if (type === APP_TYPE) throw new _LineError('App partition cannot have an empty subtype');
    subtype = SUBTYPES[DATA_TYPE]!['undefined']!;
  } else {
    subtype = _parseInt(fields[2]!, subtypes[type] ?? {});
  }
  const offset = _parseOffset(fields[3]!, type, subtype, tableOffset, options);
  const size = _parseSize(fields[4]!, type, tableOffset, options);
  if (size === null) throw new _LineError("Size field can't be empty");
  let encrypted = false;
  let readonly = false;
  for (const flag of fields[5]!.split(':')) {
    if (flag === 'encrypted') encrypted = true;
    else if (flag === 'readonly') readonly = true;
    else if (flag.length > 0) throw new _LineError(`CSV flag column contains unknown flag '${flag}'`);
  }
  return { name, type, subtype, offset, size, encrypted, readonly, line: lineNo };
}

function _parseOffset(text: string, type: number, subtype: number, tableOffset: number, options: ParsePartitionCsvOptions): number | null {
  if (type === BOOTLOADER_TYPE) {
    if (subtype === SUBTYPES[BOOTLOADER_TYPE]!['primary']) {
      if (options.primaryBootloaderOffset === undefined) throw new _LineError('Primary bootloader offset is not provided');
      return options.primaryBootloaderOffset;
    }
    if (subtype === SUBTYPES[BOOTLOADER_TYPE]!['recovery']) {
      if (options.recoveryBootloaderOffset === undefined) throw new _LineError('Recovery bootloader offset is not provided');
      return options.recoveryBootloaderOffset;
    }
  }
  if (type === PARTITION_TABLE_TYPE && subtype === SUBTYPES[PARTITION_TABLE_TYPE]!['primary']) return tableOffset;
  if (text === '') return null;
  return _parseInt(text, {});
}

function _parseSize(text: string, type: number, tableOffset: number, options: ParsePartitionCsvOptions): number | null {
  if (type === BOOTLOADER_TYPE) {
    if (options.primaryBootloaderOffset === undefined) throw new _LineError('Primary bootloader offset is not provided');
    return tableOffset - options.primaryBootloaderOffset;
  }
  if (type === PARTITION_TABLE_TYPE) return PARTITION_TABLE_SIZE;
  if (text === '') return null;
  return _parseInt(text, {});
}

/**
 * The tool's `parse_int`: a k/m suffix multiplies what precedes it (recursively), else
 * `int(v, 0)`, else a keyword (case-insensitive) when the field has keywords.
 */
function _parseInt(v: string, keywords: Readonly<Record<string, number>>): number {
  const lower = v.toLowerCase();
  if (lower.endsWith('k')) return _checked(_parseInt(v.slice(0, -1), keywords) * 1024, v);
  if (lower.endsWith('m')) return _checked(_parseInt(v.slice(0, -1), keywords) * 1024 * 1024, v);
  const n = pythonInt(v);
  if (n !== null) {
    if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) throw new _LineError(`Value ${v} is too large for a partition table field`);
    return Number(n);
  }
  const names = Object.keys(keywords);
  if (names.length === 0) throw new _LineError(`Invalid field value ${v}`);
  const value = Object.prototype.hasOwnProperty.call(keywords, lower) ? keywords[lower] : undefined;
  if (value === undefined) throw new _LineError(`Value '${v}' is not valid. Known keywords: ${names.join(', ')}`);
  return value;
}

function _checked(n: number, v: string): number {
  if (!Number.isSafeInteger(n)) throw new _LineError(`Value ${v} is too large for a partition table field`);
  return n;
}

function hex(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}
