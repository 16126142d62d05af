import * as path from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import { FACTORY_FILES, FACTORY_PASSPHRASE_ENV, factoryManifestFile } from '../node/factory.js';
import { type BatchResult, defaultWorkers, provisionBatch } from '../node/provision-batch.js';
import { openRegistry } from '../node/sqlite-registry.js';
import { factoryPassphrase } from './factory.js';
import { runAction, usageError } from './_run.js';

interface ProvisionOptions {
  factory: string;
  count?: string;
  out: string;
  registry?: string;
  workers?: string;
  resume?: boolean;
  passphraseFile?: string;
  json?: boolean;
}

/** Errors that reject the user's input (exit 2). */
const rejects = (e: unknown): boolean =>
  e instanceof RangeError ||
  (e instanceof NvsecError &&
    [
      'FACTORY_MISSING',
      'FACTORY_NO_PASSPHRASE',
      'KEY_PASSPHRASE',
      'PROVISION_OUT_NOT_EMPTY',
      'PROVISION_NO_BATCH',
      'PROVISION_BATCH_CORRUPT',
      'PROVISION_FACTORY_MISMATCH',
      'PROVISION_COUNT_MISMATCH',
      'PROVISION_REGISTRY_MISMATCH',
      'REGISTRY_UNSUPPORTED',
      'CLI_BAD_OPTION',
    ].includes(e.code));

/** `nvsec provision`: make a batch of devices from a factory. */
export function registerProvisionCommand(program: Command): void {
  program
    .command('provision')
    .description('Make N unique devices from a factory: keys in each device token, certificates, encrypted NVS and flash, eFuses, one bundle each')
    .requiredOption('--factory <dir>', 'the factory folder (nvsec factory init)')
    .option('--count <n>', 'devices to make (a new batch)')
    .requiredOption('--out <dir>', 'output folder: one bundle folder per device, and batch.json')
    .option('--registry <spec>', `the device registry (default: sqlite:<factory>/${FACTORY_FILES.registry})`)
    .option('--workers <k>', 'worker threads (0: on the main thread; default: CPUs + 1)', String(defaultWorkers()))
    .option('--resume', 'finish the batch in --out: remove half-written and unrecorded bundles, make the missing devices')
    .option('--passphrase-file <file>', `file whose first line decrypts the factory keys (or ${FACTORY_PASSPHRASE_ENV})`)
    .option('--json', 'print the result as JSON (no progress bar)')
    .addHelpText(
      'after',
      `
Each device gets: a unique id (<prefix>-<batch>-<n>), a unique 64-byte NV seed, its P-256 key pair
generated inside its own PKCS#11 token, a certificate from the manufacturing CA for a CSR the token
signed, the six credentials (device key pair and certificate, root CA, code-verification key, JITP
certificate) in NVS encrypted with its own keys, the keys partition and app flash-encrypted with
its own key, and eFuses with that key, the Secure Boot V2 key digest and release mode.

A device is recorded in the registry only after its bundle is complete and flushed. If the run is
killed or stopped (Ctrl-C finishes the devices in progress), run the same command with --resume:
half-written and unrecorded bundles are removed and the missing devices made, so the batch ends
with every device unique, recorded once, and no orphans.

Examples:
  nvsec provision --factory factory --count 1000 --out batch1
  nvsec provision --factory factory --out batch1 --resume --json
  nvsec device boot batch1/dev-1a2b3c4d-000001`,
    )
    .action(runAction((opts: ProvisionOptions, cmd: Command) => provision(opts, cmd), { rejects }));
}

async function provision(opts: ProvisionOptions, cmd: Command): Promise<void> {
  const whole = (text: string | undefined): number => (text !== undefined && /^\d{1,7}$/.test(text.trim()) ? Number(text) : NaN);
  const workers = whole(opts.workers);
  if (!(workers <= 64)) usageError(cmd, `--workers must be 0..64, got "${opts.workers}"`);
  let count: number | undefined;
  if (opts.count !== undefined) {
    count = whole(opts.count);
    if (!(count >= 1 && count <= 1_000_000)) usageError(cmd, `--count must be 1..1000000, got "${opts.count}"`);
  }
  if (count === undefined && opts.resume !== true) usageError(cmd, '--count is required for a new batch (or --resume to finish the batch in --out)');
  const passphrase = factoryPassphrase(opts);
  // The factory first: a mistyped --factory must not leave a registry.db behind.
  factoryManifestFile(opts.factory);
  const registry = await openRegistry(opts.registry ?? `sqlite:${path.join(opts.factory, FACTORY_FILES.registry)}`);
  const stop = new AbortController();
  const onSigint = (): void => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write('\nnvsec: stopping after the devices in progress (Ctrl-C again to quit now; then --resume)\n');
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ format: 'devices [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 200 }) : null;
  const t0 = performance.now();
  let result: BatchResult;
  try {
    result = await provisionBatch({
      factoryDir: opts.factory,
      passphrase,
      outDir: opts.out,
      registry,
      workers,
      signal: stop.signal,
      ...(count === undefined ? {} : { count }),
      ...(opts.resume === true ? { resume: true } : {}),
      onProgress: (p) => {
        if (bar === null) return;
        if (p.madeThisRun === 0 || bar.getTotal() !== p.total) bar.start(p.total, p.done, { rate: '0' });
        bar.update(p.done, { rate: (p.madeThisRun / ((performance.now() - t0) / 1000)).toFixed(0) });
      },
    });
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
    await registry.close();
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const s = result.stageMeansMs;
    const was = result.alreadyRecorded > 0 ? ` (${result.alreadyRecorded} were already recorded)` : '';
    console.log(`batch ${result.batchId}: ${result.madeThisRun} device(s) made in ${result.seconds.toFixed(1)} s, ${result.rate.toFixed(0)}/s with ${result.workers} worker(s)${was}`);
    if (result.tempsRemoved.length + result.orphansRemoved.length > 0) {
      console.log(`cleaned up: ${result.tempsRemoved.length} half-written bundle(s), ${result.orphansRemoved.length} unrecorded bundle(s) (made again)`);
    }
    if (result.madeThisRun > 0) {
      console.log(`per device (ms, in one worker): keygen ${s.keygen.toFixed(1)}, certificate ${s.certificate.toFixed(1)}, NVS ${s.nvs.toFixed(1)}, encryption ${s.encryption.toFixed(1)}, bundle ${s.bundle.toFixed(1)}, registry ${s.registry.toFixed(2)}`);
    }
    console.log(result.complete ? `complete: ${result.count} device(s) in ${result.outDir}` : `NOT complete: ${result.alreadyRecorded + result.madeThisRun} of ${result.count} recorded; run again with --resume`);
  }
  if (!result.complete) process.exitCode = 1;
}
