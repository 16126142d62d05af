import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { errorMessage } from '../errors/error-message.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { FLASH_SIZES, TYPES } from '../partition-table/constants.js';
import { convertPartitionTable } from '../partition-table/convert.js';
import { type ExtraSubtype, parseExtraSubtypes, type SubtypeTable, subtypeTable } from '../partition-table/extra-subtypes.js';
import { isFlashEncrypted } from '../partition-table/is-flash-encrypted.js';
import type { PartitionEntry } from '../partition-table/partition-entry.js';
import { PartitionTableError } from '../partition-table/partition-table-error.js';
import { EXIT, reportError, usageError } from './_run.js';
import { pythonInt } from '../bytes/python-int.js';

/** Options of `nvsec partition-table` as commander hands them over. */
interface PartitionTableCliOptions {
  flashSize?: string;
  disableMd5sum?: boolean;
  verify?: boolean;
  quiet?: boolean;
  offset: number;
  primaryBootloaderOffset?: number;
  recoveryBootloaderOffset?: number;
  secure?: string | true;
  extraPartitionSubtypes?: string[];
  json?: boolean;
}

const HELP_AFTER = `
Converts an ESP-IDF partition table between CSV and binary, byte for byte like gen_esp32part.py
1.5: the input's first two bytes decide (0xAA 0x50 = binary, anything else = CSV). A CSV becomes
the 3072-byte (0xC00) binary to flash at the table offset (0x8000 by default): 32-byte entries,
the MD5 entry, 0xFF padding. A binary becomes CSV text with offsets in hex and sizes in K/M.
The table is verified first (alignment, overlaps, unique names, otadata, read-only rules) and a
rejection prints the tool's own message on stderr and exits 2, writing nothing. INPUT and OUTPUT
may be '-' for stdin/stdout (OUTPUT defaults to stdout); OUTPUT is written atomically (mode 0644)
and its folder is created when missing. $VARS in the CSV are expanded from the environment.

Examples:
  $ nvsec partition-table partitions.csv partitions.bin
  $ nvsec partition-table --offset 0xa000 --disable-md5sum partitions.csv partitions.bin
  $ nvsec partition-table --flash-size 4MB partitions.csv build/partition-table.bin
  $ nvsec partition-table partitions.bin            prints the table as CSV
  $ nvsec partition-table -q partitions.bin --json  prints the decoded entries as JSON
  $ nvsec partition-table --primary-bootloader-offset 0x0 partitions.csv pt.bin
      (for CSVs with bootloader/partition_table rows: their offsets come from the options)
  $ nvsec partition-table p.csv p.bin --extra-partition-subtypes data,my_store,40
`;

/**
 * Registers `partition-table`: gen_esp32part.py 1.5 (`INPUT [OUTPUT] [--flash-size S] [--offset O]
 * [--disable-md5sum] [--no-verify] [--quiet] [--secure [v1|v2]] [--primary-bootloader-offset O]
 * [--recovery-bootloader-offset O]`), plus `--json`.
 *
 * @throws never at registration; the action prints the tool's message and exits 2 on a rejected
 *   table or unreadable input, 1 when the output cannot be written
 * @example
 * registerPartitionTableCommand(program); // nvsec partition-table partitions.csv partitions.bin
 */
export function registerPartitionTableCommand(program: Command): void {
  // --no-verify wins over -v/--verify wherever they stand, as in the tool (-v does nothing there).
  let noVerify = false;
  program
    .command('partition-table')
    .alias('gen-esp32part')
    .summary('convert partition tables between CSV and binary (gen_esp32part.py compatible)')
    .description('Convert an ESP-IDF partition table CSV to the binary table, or a binary table to CSV, verifying it as gen_esp32part.py 1.5 does.')
    .argument('<input>', "CSV or binary partition table ('-' for stdin)")
    .argument('[output]', "where the converted table goes ('-' or omitted: stdout)")
    .addOption(new Option('--flash-size <size>', 'check that the partitions fit in a flash of this size').choices(FLASH_SIZES))
    .option('--disable-md5sum', 'write no MD5 entry (and do not check one in a binary input)')
    .option('--no-verify', "don't verify the partition table fields")
    .option('-v, --verify', 'verify the table (the default; kept for compatibility)')
    .option('-q, --quiet', "don't print status messages to stderr")
    .addOption(new Option('-o, --offset <offset>', 'flash offset of the partition table').argParser(parseOffset('--offset')).default(0x8000, '0x8000'))
    .option('--primary-bootloader-offset <offset>', 'offset of the primary bootloader (fills bootloader/primary entries)', parseOffset('--primary-bootloader-offset'))
    .option('--recovery-bootloader-offset <offset>', 'offset of the recovery bootloader (fills bootloader/recovery entries)', parseOffset('--recovery-bootloader-offset'))
    .option('--secure [version]', 'require app partition sizes fit for Secure Boot: v1 (64 KiB multiples; the default) or v2 (4 KiB)')
    .option('--extra-partition-subtypes <spec...>', 'add subtype keywords, each TYPE,NAME,HEXVALUE (e.g. data,my_store,40)')
    .option('--json', 'print the decoded entries as one JSON object on stdout (OUTPUT, when given, is still written)')
    .addHelpText('after', HELP_AFTER)
    .on('option:no-verify', () => {
      noVerify = true;
    })
    .action(async (input: string, output: string | undefined, opts: PartitionTableCliOptions, cmd: Command) => {
      try {
        await runPartitionTable(input, output, { ...opts, verify: !noVerify }, cmd);
      } catch (e) {
        if (e instanceof CommanderError) throw e; // a usage error, already printed by commander
        if (e instanceof PartitionTableError) {
          for (const line of e.context) process.stderr.write(`${line}\n`);
          process.stderr.write(`${e.message}\n`);
          process.exitCode = EXIT.USAGE;
          return;
        }
        if (e instanceof _InputError) {
          process.stderr.write(`nvsec: error: ${e.message}\n`);
          process.exitCode = EXIT.USAGE;
          return;
        }
        reportError(e);
        process.exitCode = EXIT.FAILURE;
      }
    });
}

/** Bad input the tool also rejects with exit 2 (unreadable input file). */
class _InputError extends Error {}

async function runPartitionTable(input: string, outputArg: string | undefined, opts: PartitionTableCliOptions, cmd: Command): Promise<void> {
  let secure: 'v1' | 'v2' | null = null;
  if (opts.secure !== undefined) {
    if (opts.secure === true || opts.secure === 'v1') secure = 'v1';
    else if (opts.secure === 'v2') secure = 'v2';
    else usageError(cmd, `option '--secure [version]' argument '${opts.secure}' is invalid. Allowed choices are v1, v2.`);
  }
  const output = outputArg ?? '-';
  if (opts.json && outputArg === '-') {
    usageError(cmd, '--json prints to stdout, so OUTPUT cannot be stdout: give an OUTPUT file, or leave OUTPUT out to only print the JSON');
  }
  const jsonOnly = opts.json === true && outputArg === undefined;
  const extraSubtypes: ExtraSubtype[] = parseExtraSubtypes(opts.extraPartitionSubtypes ?? []);
  const subtypes = subtypeTable(extraSubtypes);
  const data = await readInput(input);
  const result = convertPartitionTable(data, nodeCrypto, {
    tableOffset: opts.offset,
    md5: !opts.disableMd5sum,
    verify: opts.verify !== false,
    secure,
    extraSubtypes,
    env: process.env,
    ...(opts.primaryBootloaderOffset === undefined ? {} : { primaryBootloaderOffset: opts.primaryBootloaderOffset }),
    ...(opts.recoveryBootloaderOffset === undefined ? {} : { recoveryBootloaderOffset: opts.recoveryBootloaderOffset }),
    ...(opts.flashSize === undefined ? {} : { flashSize: Number.parseInt(opts.flashSize, 10) * 1024 * 1024 }),
    onMessage: (line, kind) => {
      if (kind === 'warning' || !opts.quiet) process.stderr.write(`${line}\n`);
    },
  });
  let written: string | null = null;
  if (!jsonOnly) {
    if (output === '-') {
      await writeStdout(result.output);
    } else {
      const file = path.resolve(output);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      writeFileAtomic(file, result.output, { mode: 0o644 });
      written = file;
    }
  }
  if (opts.json) {
    console.log(
      JSON.stringify({
        inputFormat: result.inputFormat,
        output: written,
        outputBytes: result.output.length,
        tableOffset: opts.offset,
        md5: !opts.disableMd5sum,
        entries: result.entries.map((e) => entryJson(e, subtypes)),
      }),
    );
  }
}

/** One entry for --json: numbers, keyword names where the tool has them, and flash-encryption scope. */
function entryJson(e: PartitionEntry, subtypes: SubtypeTable): Record<string, unknown> {
  const keyword = (value: number, table: Readonly<Record<string, number>>) => Object.entries(table).find(([, v]) => v === value)?.[0] ?? null;
  return {
    name: e.name,
    type: e.type,
    typeName: keyword(e.type, TYPES),
    subtype: e.subtype,
    subtypeName: keyword(e.subtype, subtypes[e.type] ?? {}),
    offset: e.offset,
    size: e.size,
    flags: { encrypted: e.flags.encrypted, readonly: e.flags.readonly },
    flashEncrypted: isFlashEncrypted(e),
  };
}

/** Reads INPUT ('-' = all of stdin). */
async function readInput(input: string): Promise<Uint8Array> {
  try {
    if (input === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      const b = Buffer.concat(chunks);
      return new Uint8Array(b.buffer, b.byteOffset, b.length);
    }
    const b = fs.readFileSync(input);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new _InputError(`can't open '${input}': ${code ?? errorMessage(e)}; check the path`);
  }
}

/** Writes bytes to stdout and waits until they are handed over. */
function writeStdout(data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

/** A commander parser for an offset given as Python's int(x, 0) accepts it (decimal or 0x/0o/0b). */
function parseOffset(option: string): (text: string) => number {
  return (text: string) => {
    const value = pythonInt(text);
    if (value === null || value < 0n) throw new InvalidArgumentError(`${option} takes a non-negative number, decimal or 0x hex (e.g. 0x8000)`);
    if (value > 0xffffffffn) throw new InvalidArgumentError(`${option} must be at most 0xffffffff`);
    return Number(value);
  };
}
