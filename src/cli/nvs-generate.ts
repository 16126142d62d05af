import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Command, Option } from 'commander';
import { writeFileAtomic } from '../node/atomic-file.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { checkPartitionSize, generateNvsPartition } from '../nvs/generator/generate.js';
import { NvsGenerateError } from '../nvs/generator/generate-error.js';
import { EXIT, runAction } from './_run.js';

const HELP_AFTER = `
Arguments are those of esp-idf-nvs-partition-gen 0.2.0 ("generate"): one or more CSV files,
processed in order into one image, then the output file (must have the .bin extension; relative
paths go under --outdir) and the partition size (decimal or 0x hex, a multiple of 0x1000).
The output is byte-identical to the reference tool's and is written atomically: a failed run
never leaves a partial or empty file.

CSV (header first): key,type,encoding,value
  type      namespace | data | file (value = path, relative to the current directory)
  encoding  u8 i8 u16 i16 u32 i32 u64 i64 (decimal) | string | hex2bin | base64 | binary
            | blob_fill(N;0xPP) | blob_sz_fill(N;0xPP)
  Lines starting with # are ignored. Keys are at most 15 characters.

Sizes: 0x1000 and 0x2000 make a read-only partition (the file holds only the pages used);
from 0x3000 the file is exactly SIZE bytes and one page is kept free for the runtime.

Examples:
  $ cat nvs.csv
  key,type,encoding,value
  storage,namespace,,
  serial,data,string,SN-000042
  boot_count,data,u32,0
  ca_cert,file,string,certs/ca.pem
  $ nvsec nvs generate nvs.csv nvs.bin 0x6000
  $ nvsec nvs generate common.csv device-42.csv nvs-42.bin 24576 --outdir build --json
`;

/**
 * Registers `nvs generate <input...>`: the esp-idf-nvs-partition-gen `generate` command
 * (`INPUT.csv [INPUT2.csv …] OUTPUT.bin SIZE [--version 1|2] [--outdir DIR]`, plus `--json`).
 *
 * The command has a `--version` option like the reference tool; this needs the root program to
 * use positional options (main.ts sets them), so that nvsec's own `--version` only counts before
 * the sub-command.
 *
 * @throws never at registration; the action reports errors as one line and exit code 1
 * @example
 * const nvs = program.command('nvs');
 * registerNvsGenerateCommand(nvs); // nvsec nvs generate nvs.csv nvs.bin 0x6000
 */
export function registerNvsGenerateCommand(nvs: Command): void {
  nvs
    .command('generate')
    .summary('generate an NVS partition image from CSV (esp-idf-nvs-partition-gen compatible)')
    .description('Generate an ESP-IDF NVS partition image from one or more CSV files, byte-identical to esp-idf-nvs-partition-gen 0.2.0 "generate".')
    .argument('<input...>', 'INPUT.csv [INPUT2.csv …] OUTPUT.bin SIZE')
    .addOption(
      new Option('--version <version>', 'NVS format version: 2 = multi-page blobs, 1 = single-page blobs (max 1984 bytes)')
        .choices(['1', '2'])
        .default('2'),
    )
    .option('--outdir <dir>', 'directory for the output file, created if missing (default: current directory)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', HELP_AFTER)
    .action(
      runAction((args: string[], opts: { version: string; outdir?: string; json?: boolean }, cmd: Command) => {
        if (args.length < 3) {
          cmd.error(`error: expected INPUT.csv [INPUT2.csv …] OUTPUT.bin SIZE, got ${args.length} argument(s)`, {
            exitCode: EXIT.USAGE,
            code: 'nvsec.usage',
          });
        }
        generateCommand(args.slice(0, -2), args[args.length - 2]!, args[args.length - 1]!, opts);
      }),
    );
}

function generateCommand(
  inputs: string[],
  output: string,
  sizeArg: string,
  opts: { version: string; outdir?: string; json?: boolean },
): void {
  const size = parseSize(sizeArg);
  checkPartitionSize(size); // before any input is read, as the tool does
  if (path.extname(output) !== '.bin') {
    throw new NvsGenerateError('NVS_BAD_OUTPUT', `Output file "${output}" must have the .bin extension (for example nvs.bin)`);
  }
  const outdir = expandHome(opts.outdir ?? process.cwd());
  if (fs.existsSync(outdir) && !fs.statSync(outdir).isDirectory()) {
    throw new NvsGenerateError('NVS_BAD_OUTPUT', `--outdir "${outdir}" exists and is not a directory: choose another directory`);
  }
  const target = path.resolve(outdir, output);
  const version = opts.version === '1' ? 1 : 2;

  const texts = inputs.map(readCsvText);
  const result = generateNvsPartition(texts, {
    size,
    version,
    crypto: nodeCrypto,
    readFile: (file) => {
      const b = fs.readFileSync(path.resolve(file));
      return new Uint8Array(b.buffer, b.byteOffset, b.length);
    },
    inputNames: inputs,
  });

  fs.mkdirSync(path.dirname(target), { recursive: true });
  writeFileAtomic(target, result.image, { mode: 0o600 });

  const { pagesTotal, readOnly } = result;
  if (opts.json) {
    console.log(
      JSON.stringify({
        output: target,
        size,
        bytes: result.image.length,
        version,
        readOnly,
        pagesUsed: result.pagesUsed,
        pagesTotal,
        entriesUsed: result.entriesUsed,
        items: result.items,
        namespaces: result.namespaces,
      }),
    );
    return;
  }
  if (readOnly) {
    console.error(
      'nvsec: note: partitions smaller than 0x3000 must be flagged "readonly" in the partition table; the file holds only the pages used',
    );
  }
  const ns = result.namespaces.length === 0 ? 'no namespaces' : `namespaces: ${result.namespaces.join(', ')}`;
  console.log(
    `Created ${target}: ${result.image.length} bytes (partition 0x${size.toString(16)}, format v${version}), ` +
      `${result.pagesUsed} of ${pagesTotal} pages used, ${result.entriesUsed} entries, ${result.items} items, ${ns}`,
  );
}

/** Reads a CSV input as strict UTF-8, like the tool's `open(…, encoding='utf8')`. */
function readCsvText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new NvsGenerateError('NVS_FILE_READ', `Cannot read the CSV file "${file}": ${reason}`, {}, e);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (e) {
    throw new NvsGenerateError('NVS_CSV_SYNTAX', `The CSV file "${file}" is not valid UTF-8 text: save it as UTF-8`, {}, e);
  }
}

/**
 * SIZE the way the tool reads it: Python `int(x, 0)` (decimal without leading zeros, or a
 * 0x/0o/0b prefix, underscores between digits). The generator checks the value itself.
 *
 * @throws {NvsGenerateError} `NVS_BAD_SIZE` when the text is not such a number
 * @example
 * parseSize('0x6000'); // 24576
 * parseSize('24576'); // 24576
 */
export function parseSize(text: string): number {
  const t = text.trim();
  const m = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0+(?:_?0)*|[1-9](?:_?[0-9])*)$/.exec(t);
  if (!m) {
    throw new NvsGenerateError(
      'NVS_BAD_SIZE',
      `Partition size "${text}" is not a number: give it in bytes, decimal (24576) or hex (0x6000)`,
    );
  }
  const digits = m[2]!.replace(/_/g, '');
  let value = BigInt(/^0[oObB]/.test(digits) ? `0${digits[1]!.toLowerCase()}${digits.slice(2)}` : digits);
  if (m[1] === '-') value = -value;
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new NvsGenerateError('NVS_BAD_SIZE', `Partition size ${text} is too large: NVS partitions are at most a few MiB`);
  }
  return Number(value);
}

/** `~` and `~/…` expanded like Python's os.path.expanduser. */
function expandHome(dir: string): string {
  if (dir === '~') return os.homedir();
  if (dir.startsWith('~/')) return path.join(os.homedir(), dir.slice(2));
  return dir;
}
