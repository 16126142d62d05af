import * as fs from 'node:fs';
import type { Command } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import { readNvsPartition } from '../nvs/inspect.js';
import { dumpToJson, formatDump } from './_dump-format.js';
import { EXIT, runAction } from './_run.js';

interface DumpOptions {
  json?: boolean;
  mode: 'read-only' | 'read-write';
  strict?: boolean;
}

/** `nvsec nvs dump IMAGE [--json]`. */
export function registerNvsDumpCommand(nvs: Command): void {
  nvs
    .command('dump')
    .argument('<image>', 'NVS partition image (.bin), e.g. read back with esptool read_flash')
    .description('Decode an NVS partition image: pages, namespaces, values, statistics and every problem found')
    .option('--json', 'print {"pages", "namespaces", "iteration", "stats", "errors", "fatal"} as JSON')
    .option('--mode <mode>', "'read-only': a pure reader (default); 'read-write': what nvs_flash_init would see", 'read-only')
    .option('--strict', 'exit with status 3 when any problem is found, not only when the partition is unusable')
    .addHelpText(
      'after',
      `
The image file is never modified: repairs the ESP-IDF runtime would make on load (dropping
entries with a bad CRC, half-written items, orphan blob chunks) are applied to a copy in memory
and listed under "problems".

Exit status: 0 when the partition is usable (problems are still listed), 1 when it cannot be used
at all (e.g. ESP_ERR_NVS_NEW_VERSION_FOUND, a length that is not a multiple of 4096), 3 with
--strict when any problem was found.

Examples:
  nvsec nvs dump nvs.bin
  nvsec nvs dump nvs.bin --json | jq '.namespaces.wifi'`,
    )
    .action(
      runAction((image: string, opts: DumpOptions) => {
        if (opts.mode !== 'read-only' && opts.mode !== 'read-write') {
          throw new NvsecError('CLI_BAD_OPTION', `--mode must be read-only or read-write, got "${opts.mode}"`);
        }
        const bytes = readImage(image);
        const dump = readNvsPartition(bytes, { mode: opts.mode });
        if (opts.json) process.stdout.write(`${JSON.stringify(dumpToJson(dump), null, 1)}\n`);
        else process.stdout.write(formatDump(image, bytes.length, dump));
        if (dump.fatal) {
          console.error(`nvsec: error: ${dump.fatal}: ${dump.errors.find((e) => e.error === dump.fatal)?.message ?? 'the partition cannot be used'}`);
          process.exitCode = 1;
        } else if (opts.strict && dump.errors.length > 0) {
          process.exitCode = EXIT.PROBLEMS;
        }
      }),
    );
}


/** Reads an image file, with an error that names it and says what to check. */
export function readImage(file: string): Uint8Array {
  try {
    const b = fs.readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new NvsecError('CLI_FILE_READ', `Cannot read the image "${file}": ${err.code ?? err.message}; check the path`, { cause: e });
  }
}
