import type { CryptoProvider } from '../crypto/provider.js';
import { decodePartitionTable, encodePartitionTable, isBinaryPartitionTable } from './binary.js';
import { type SecureBootVersion, PARTITION_TABLE_OFFSET } from './constants.js';
import { parsePartitionCsv, type ParsePartitionCsvOptions } from './csv.js';
import { subtypeTable } from './extra-subtypes.js';
import type { PartitionEntry } from './partition-entry.js';
import { PartitionTableError } from './partition-table-error.js';
import { partitionTableToCsv } from './to-csv.js';
import { verifyPartitionTable, verifyPartitionTableFits } from './verify.js';

/** Options of {@link convertPartitionTable}: gen_esp32part.py's command-line options. */
export interface ConvertPartitionTableOptions extends ParsePartitionCsvOptions {
  /** Write / check the MD5 entry (default true; `--disable-md5sum` is false). */
  md5?: boolean;
  /** Run the verify checks (default true; `--no-verify` is false). */
  verify?: boolean;
  /** `--secure v1|v2`: app size alignment for Secure Boot V1 (0x10000) or V2 (0x1000). */
  secure?: SecureBootVersion | null;
  /** `--flash-size` in bytes: the partitions must end within it. Checked even with verify off, like the tool. */
  flashSize?: number;
  /**
   * Receives the lines the tool prints on stderr, as they happen: `status` lines ("Parsing CSV
   * input...", "Verifying table...", which `--quiet` hides) and `warning` lines.
   */
  onMessage?: (line: string, kind: 'status' | 'warning') => void;
}

/** Result of {@link convertPartitionTable}. */
export interface ConvertedPartitionTable {
  /** What the input was, decided by content like the tool: 0xAA 0x50 at the start means binary. */
  inputFormat: 'csv' | 'binary';
  /** The table's entries (from the CSV with offsets filled in, or decoded from the binary). */
  entries: PartitionEntry[];
  /** The converted table: the 0xC00-byte binary for a CSV input, the CSV text's UTF-8 for a binary input. */
  output: Uint8Array;
}

/**
 * Converts a partition table the way `gen_esp32part.py INPUT OUTPUT` does: a CSV input becomes
 * the binary table, a binary input becomes CSV text; the table is verified in between (and
 * checked against `flashSize`).
 *
 * @throws {PartitionTableError} every rejection of the tool, with its message (see
 *   {@link parsePartitionCsv}, {@link verifyPartitionTable}, {@link encodePartitionTable},
 *   {@link decodePartitionTable}); `PT_CONFIG` when the primary bootloader offset is not below
 *   the table; `PT_CSV` when a non-binary input is not UTF-8 text
 * @example
 * const { output } = convertPartitionTable(fs.readFileSync('partitions.csv'), nodeCrypto, { flashSize: 4 << 20 });
 */
export function convertPartitionTable(input: Uint8Array, crypto: CryptoProvider, options: ConvertPartitionTableOptions = {}): ConvertedPartitionTable {
  if (!(input instanceof Uint8Array)) throw new TypeError('convertPartitionTable: input must be a Uint8Array');
  const tableOffset = options.tableOffset ?? PARTITION_TABLE_OFFSET;
  const say = options.onMessage ?? (() => {});
  const md5 = options.md5 ?? true;
  const extra = options.extraSubtypes === undefined ? {} : { extraSubtypes: options.extraSubtypes };
  subtypeTable(options.extraSubtypes); // refuse bad extra subtypes before reading the input, like the tool
  if (options.primaryBootloaderOffset !== undefined && options.primaryBootloaderOffset >= tableOffset) {
    throw new PartitionTableError(
      'PT_CONFIG',
      `Unsupported configuration. Primary bootloader must be below partition table. Check --primary-bootloader-offset=0x${options.primaryBootloaderOffset.toString(16)} and --offset=0x${tableOffset.toString(16)}`,
    );
  }
  let entries: PartitionEntry[];
  let inputFormat: 'csv' | 'binary';
  if (isBinaryPartitionTable(input)) {
    inputFormat = 'binary';
    say('Parsing binary partition input...', 'status');
    const decoded = decodePartitionTable(input, crypto, { md5 });
    for (const w of decoded.warnings) say(w, 'warning');
    entries = decoded.entries;
  } else {
    inputFormat = 'csv';
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch (e) {
      throw new PartitionTableError(
        'PT_CSV',
        'The input is neither a binary partition table (those start with 0xAA 0x50) nor UTF-8 CSV text: check the file',
        [],
        e,
      );
    }
    say('Parsing CSV input...', 'status');
    entries = parsePartitionCsv(text, options);
  }
  if (options.verify ?? true) {
    say('Verifying table...', 'status');
    for (const w of verifyPartitionTable(entries, { tableOffset, secure: options.secure ?? null, ...extra })) say(w, 'warning');
  }
  if (options.flashSize !== undefined) verifyPartitionTableFits(entries, options.flashSize);
  const output = inputFormat === 'binary' ? new TextEncoder().encode(partitionTableToCsv(entries, extra)) : encodePartitionTable(entries, crypto, { md5 });
  return { inputFormat, entries, output };
}
