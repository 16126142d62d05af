import { NvsecError } from '../errors/nvsec-error.js';

/** Stable codes of {@link PartitionTableError}. */
export type PartitionTableErrorCode =
  /** The CSV cannot be read: bad field value, unknown keyword or flag, empty type or size, unknown variable, not UTF-8. */
  | 'PT_CSV'
  /** Explicit offsets overlap while the CSV's blank offsets are filled in. */
  | 'PT_CSV_OVERLAP'
  /** A partition fails a check of the tool's verify step (alignment, read-only rules, names, overlap, otadata). */
  | 'PT_INVALID'
  /** The partitions end beyond the given --flash-size. */
  | 'PT_FLASH_SIZE'
  /** Too many entries: the binary table (with the MD5 entry) would not be shorter than 0xC00 bytes. */
  | 'PT_TOO_LONG'
  /** A value does not fit its binary field (type/subtype 0..255, offset/size 0..0xFFFFFFFF). */
  | 'PT_VALUE_RANGE'
  /** The binary's MD5 entry does not match the entries before it. */
  | 'PT_MD5_MISMATCH'
  /** The binary is malformed: length not a multiple of 32, bad magic, no end marker, label not UTF-8. */
  | 'PT_BINARY'
  /** The bootloader offsets given do not fit the table (primary bootloader at or after the table). */
  | 'PT_CONFIG';

/**
 * A partition table failure. The message is gen_esp32part.py 1.5's own text (the tool prints it
 * to stderr and exits 2), so scripts that match on it keep working; `code` is stable, and
 * `context` holds the lines the tool prints before the message (e.g. the CSV rows of duplicate
 * names).
 *
 * @example
 * try { parsePartitionCsv('a,data,nvs,0x9000,0x1000\n'); }
 * catch (e) { if (e instanceof PartitionTableError) console.error(e.code, e.message); }
 */
export class PartitionTableError extends NvsecError {
  declare readonly code: PartitionTableErrorCode;
  /** Lines the tool writes to stderr just before the message (often none). */
  readonly context: readonly string[];

  constructor(code: PartitionTableErrorCode, message: string, context: readonly string[] = [], cause?: unknown) {
    super(code, message, cause === undefined ? {} : { cause });
    this.name = 'PartitionTableError';
    this.context = Object.freeze([...context]);
  }
}
