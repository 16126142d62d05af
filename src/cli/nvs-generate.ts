import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../node/atomic-file.js';
import { checkPartitionSize } from '../nvs/generator/generate.js';
import { formatVersionOption, generateFromCsvFiles, outputPath, parseSize } from './_nvs-args.js';
import { runAction, usageError } from './_run.js';

export { parseSize } from './_nvs-args.js';

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
    .addOption(formatVersionOption())
    .option('--outdir <dir>', 'directory for the output file, created if missing (default: current directory)')
    .option('--json', 'print the result as one JSON object')
    .addHelpText('after', HELP_AFTER)
    .action(
      runAction((args: string[], opts: { version: string; outdir?: string; json?: boolean }, cmd: Command) => {
        if (args.length < 3) usageError(cmd, `expected INPUT.csv [INPUT2.csv …] OUTPUT.bin SIZE, got ${args.length} argument(s)`);
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
  const target = outputPath(opts.outdir, output);
  const version = opts.version === '1' ? 1 : 2;
  const result = generateFromCsvFiles(inputs, size, version);

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
