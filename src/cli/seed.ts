import * as fs from 'node:fs';
import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { toHex } from '../bytes/hex.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { seedQuality } from '../entropy/seed-quality.js';
import { writeFileAtomic } from '../node/atomic-file.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { readBinaryFile } from './_files.js';
import { runAction } from './_run.js';
import { errorMessage } from '../errors/error-message.js';

/** Name of the manifest `seed generate` writes beside the seeds. */
export const SEED_MANIFEST = 'manifest.json';

interface GenerateOptions {
  count: string;
  out: string;
  size: string;
  prefix: string;
  json?: boolean;
}

/** `nvsec seed generate|inspect`: per-device NV seeds for the factory. */
export function registerSeedCommands(program: Command): void {
  const seed = program.command('seed').description('NV seeds for devices without a hardware RNG: generate unique seeds, inspect one');
  seed
    .command('generate')
    .description('Write N unique NV seeds from the OS CSPRNG, one file each (0600), with a manifest of their SHA-256 hashes')
    .requiredOption('--count <n>', 'number of seeds (devices)')
    .requiredOption('--out <dir>', 'folder for the seed files and manifest.json (created if missing)')
    .option('--size <bytes>', 'seed size: 64 for Mbed TLS with the SHA-512 accumulator (default), 32 with SHA-256', '64')
    .option('--prefix <name>', 'file name prefix; files are <prefix>000001.bin, …', 'seed-')
    .option('--json', 'print a JSON summary (never the seeds)')
    .addHelpText(
      'after',
      `
Every seed comes straight from the OS CSPRNG: never derived from a serial number, a MAC address
or a counter, which an attacker could guess. Seeds are checked unique (a repeat would mean a broken
RNG and stops the run) and checked against blank or stuck patterns. Each file is written
atomically with mode 0600 and existing files are never overwritten. manifest.json lists each file
with the SHA-256 of its seed, so a registry can prove uniqueness later without holding seeds.

Flash a seed as the device's NV seed (Mbed TLS MBEDTLS_ENTROPY_NV_SEED "seedfile", or an NVS key)
and delete it from the factory once the device is provisioned.

Examples:
  nvsec seed generate --count 1000 --out seeds/batch-42
  nvsec seed generate --count 10 --out seeds --size 32 --json`,
    )
    .action(runAction((opts: GenerateOptions) => generateSeeds(opts)));
  seed
    .command('inspect')
    .argument('<file>', 'seed file')
    .description('Check a seed file: size against the accumulator block size, mode, blank or stuck bytes, listed in a manifest')
    .option('--json', 'print the facts as JSON (the seed itself is never printed)')
    .action(runAction((file: string, opts: { json?: boolean }) => inspectSeed(file, opts)));
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new NvsecError('CLI_BAD_OPTION', `${what} must be a positive whole number, got "${text}"`);
  }
  return n;
}

function generateSeeds(opts: GenerateOptions): void {
  const count = positiveInt(opts.count, '--count');
  const size = positiveInt(opts.size, '--size');
  if (size !== 64 && size !== 32) {
    throw new NvsecError('CLI_BAD_OPTION', `--size must be 64 (SHA-512 accumulator) or 32 (SHA-256): the NV seed is one accumulator block, got ${size}`);
  }
  if (!/^[\w.-]*$/.test(opts.prefix)) throw new NvsecError('CLI_BAD_OPTION', `--prefix may hold letters, digits, "_", "-" and "." only, got "${opts.prefix}"`);
  fs.mkdirSync(opts.out, { recursive: true });
  const manifestPath = path.join(opts.out, SEED_MANIFEST);
  if (fs.existsSync(manifestPath)) {
    throw new NvsecError('SEED_OUT_EXISTS', `"${manifestPath}" already exists: write a new batch into a new folder (seed files are never overwritten)`);
  }
  const width = Math.max(6, String(count).length);
  const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ format: 'seeds [{bar}] {value}/{total} {percentage}% | {eta_formatted} left', hideCursor: true }) : null;
  bar?.start(count, 0);
  const hashes = new Set<string>();
  const entries: { file: string; sha256: string }[] = [];
  try {
    for (let i = 1; i <= count; i++) {
      const seed = nodeCrypto.randomBytes(size);
      try {
        const q = seedQuality(seed);
        const hash = toHex(nodeCrypto.digest('sha256', seed));
        if (q.problem || hashes.has(hash)) {
          throw new NvsecError(
            'SEED_RNG_FAILURE',
            `The OS random generator gave a ${q.problem ? `bad seed (${q.problem})` : 'repeated seed'} at seed ${i}: it cannot be trusted. ` +
              `Nothing is kept from this batch: fix the system's RNG, then run again`,
          );
        }
        hashes.add(hash);
        const file = `${opts.prefix}${String(i).padStart(width, '0')}.bin`;
        writeFileAtomic(path.join(opts.out, file), seed, { mode: 0o600, exclusive: true });
        entries.push({ file, sha256: hash });
      } finally {
        seed.fill(0);
      }
      bar?.increment();
    }
    const manifest = { format: 'nvsec-seed-manifest', version: 1, created: new Date().toISOString(), count, size, hash: 'sha256', seeds: entries };
    writeFileAtomic(manifestPath, new TextEncoder().encode(`${JSON.stringify(manifest, null, 1)}\n`), { mode: 0o644, exclusive: true });
  } catch (e) {
    // A batch is whole or absent: seeds without a manifest would be flashed untracked, and their
    // names would block the next run.
    for (const { file } of entries) fs.rmSync(path.join(opts.out, file), { force: true });
    throw e;
  } finally {
    bar?.stop();
  }
  if (opts.json) console.log(JSON.stringify({ out: path.resolve(opts.out), count, size, manifest: path.resolve(manifestPath), unique: true }));
  else console.log(`Wrote ${count} unique ${size}-byte seeds to ${path.resolve(opts.out)} (mode 0600) and ${SEED_MANIFEST} with their SHA-256 hashes`);
}

function inspectSeed(file: string, opts: { json?: boolean }): void {
  const seed = readBinaryFile(file, 'seed file');
  try {
    const q = seedQuality(seed);
    const sha256 = toHex(nodeCrypto.digest('sha256', seed));
    const mode = fs.statSync(file).mode & 0o777;
    const manifestPath = path.join(path.dirname(file), SEED_MANIFEST);
    let listed: boolean | null = null;
    if (fs.existsSync(manifestPath)) {
      let m: { seeds?: { file: string; sha256: string }[] };
      try {
        m = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as typeof m;
      } catch (e) {
        throw new NvsecError('SEED_BAD_MANIFEST', `${manifestPath} beside the seed is not a seed manifest (${errorMessage(e)}): restore it from the batch's records`);
      }
      listed = Array.isArray(m.seeds) && m.seeds.some((s) => s.sha256 === sha256);
    }
    const fits =
      seed.length === 64
        ? 'a full NV seed for the SHA-512 accumulator (Mbed TLS default)'
        : seed.length === 32
          ? 'a full NV seed for the SHA-256 accumulator only (a SHA-512 build needs 64 bytes and fails on a short seed file)'
          : seed.length > 64
            ? 'longer than a block: Mbed TLS reads only the first 64 bytes and rewrites the file with 64'
            : seed.length > 32
              ? 'enough for the SHA-256 accumulator only (it reads the first 32 bytes); a SHA-512 build (the default) fails on it (short read)'
              : 'too short for any accumulator block (32 or 64): Mbed TLS fails on it (short read)';
    const warnings = [
      ...(q.problem ? [q.problem] : []),
      ...(mode & 0o077 ? [`mode ${mode.toString(8)}: readable by others; a seed file should be 0600`] : []),
      ...(listed === false ? [`not listed in ${manifestPath}`] : []),
    ];
    if (opts.json) {
      console.log(JSON.stringify({ file: path.resolve(file), size: seed.length, sha256, mode: mode.toString(8), fits, quality: q, listedInManifest: listed, warnings }));
    } else {
      const lines = [
        `${file}: ${seed.length} bytes, ${fits}`,
        `sha256 ${sha256}, mode ${mode.toString(8)}, ${q.distinctBytes} distinct byte values, longest run ${q.longestRun}`,
        ...(listed === null ? [] : [listed ? `listed in ${manifestPath}` : '']).filter(Boolean),
        ...(warnings.length ? warnings.map((w) => `warning: ${w}`) : ['no problems found']),
      ];
      console.log(lines.join('\n'));
    }
    if (q.problem || seed.length < 32) process.exitCode = 1;
  } finally {
    seed.fill(0);
  }
}
