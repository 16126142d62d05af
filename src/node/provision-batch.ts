import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { toHex } from '../bytes/hex.js';
import { NvsecError } from '../errors/nvsec-error.js';
import type { DeviceRegistry, NewDevice } from '../provision/registry.js';
import { writeFileAtomic } from './atomic-file.js';
import { removeBundleTemps } from './device-bundle.js';
import { loadFactory } from './factory.js';
import { nodeCrypto } from './node-crypto.js';
import { loadNodeKeyCrypto } from './node-key-crypto.js';
import { COMMIT_GROUP, type DeviceTimings, type MadeDevice, makeDeviceBundles, type WorkerJob, type WorkerReply, type WorkerSetup } from './provision-worker.js';

/** `format` of DIR/batch.json. */
export const BATCH_FORMAT = 'nvsec-batch';
/** The batch file in a provisioning output folder. */
export const BATCH_FILE = 'batch.json';
/** The temporary file writeFileAtomic leaves when killed while writing batch.json. */
const BATCH_FILE_TEMP = /^\.batch\.json\.[0-9a-f]+\.tmp$/;

/** DIR/batch.json: which batch an output folder holds, so `--resume` knows what to finish. */
export interface BatchFile {
  readonly format: typeof BATCH_FORMAT;
  readonly version: 1;
  readonly batchId: string;
  readonly factoryId: string;
  readonly count: number;
  readonly idPrefix: string;
  readonly createdAt: string;
}

/** Progress of a batch, after each device recorded. */
export interface BatchProgress {
  /** Devices of the batch recorded so far (including those recorded before a resume). */
  readonly done: number;
  readonly total: number;
  /** Devices made by this run so far. */
  readonly madeThisRun: number;
}

/** Options of {@link provisionBatch}. */
export interface ProvisionBatchOptions {
  readonly factoryDir: string;
  /** Decrypts the factory's intermediate CA key. */
  readonly passphrase: string;
  /** The output folder: one bundle folder per device, and batch.json. */
  readonly outDir: string;
  /** Devices to make (a new batch). Omit with `resume`: the batch file says how many. */
  readonly count?: number;
  readonly registry: DeviceRegistry;
  /** Worker threads making devices; 0 makes them on the calling thread. Default: the number of CPUs. */
  readonly workers?: number;
  /** Finish the batch in `outDir` instead of starting one. */
  readonly resume?: boolean;
  /** Who the registry's audit log names. Default "provision". */
  readonly actor?: string;
  readonly onProgress?: (progress: BatchProgress) => void;
  /** Stops dispatching new devices; those in flight are finished and recorded. `--resume` continues. */
  readonly signal?: AbortSignal;
}

/** Mean milliseconds per device of each stage (wall time inside one worker, not divided by workers). */
export type StageMeans = { readonly [K in keyof DeviceTimings | 'registry']: number };

/** What {@link provisionBatch} did. */
export interface BatchResult {
  readonly batchId: string;
  readonly factoryId: string;
  readonly outDir: string;
  readonly count: number;
  /** Devices recorded before this run (a resumed batch). */
  readonly alreadyRecorded: number;
  readonly madeThisRun: number;
  /** Complete bundles that were never recorded (a crash between the two), removed and made again. */
  readonly orphansRemoved: readonly string[];
  /** Half-written `.tmp-` bundle folders removed. */
  readonly tempsRemoved: readonly string[];
  /** True when every device of the batch is recorded and the batch is marked complete. */
  readonly complete: boolean;
  /** True when `signal` stopped the run before the end. */
  readonly interrupted: boolean;
  readonly workers: number;
  readonly seconds: number;
  /** Devices made per second by this run. */
  readonly rate: number;
  readonly stageMeansMs: StageMeans;
  /** Peak resident set size of this process in MiB (workers included: they are threads). */
  readonly peakRssMiB: number;
}

/** Devices recorded per registry transaction: one disk sync for the group. */
const RECORD_GROUP = 32;
/** A group is recorded at the latest this long after its first device is ready. */
const RECORD_DELAY_MS = 250;
/** Jobs queued per worker: a whole commit group, so a worker never waits for the main thread. */
const IN_FLIGHT_PER_WORKER = COMMIT_GROUP;

/**
 * Provisions a batch of devices from the factory in `factoryDir` into `outDir`, as
 * `nvsec provision` does. Each device's bundle is written and flushed by a worker, and only then
 * recorded in the registry (in groups of up to 32 per transaction); the batch is marked complete
 * when every device is recorded. A killed run leaves complete bundles, perhaps some never
 * recorded, and perhaps half-written `.tmp-` folders: `resume: true` removes the latter two (an
 * unrecorded device's keys, seed and serial were never registered, so it is made again, new) and
 * makes the devices still missing. Device ids are `<idPrefix>-<batchId>-<n>` (n from 000001), so
 * a resume makes exactly the missing ones, and ids never repeat across batches.
 *
 * @throws {NvsecError} PROVISION_OUT_NOT_EMPTY (a new batch into a used folder), PROVISION_NO_BATCH
 *   (resume without batch.json), PROVISION_FACTORY_MISMATCH (resume with another factory),
 *   PROVISION_FAILED (a device failed: the devices before it are recorded; fix the cause and
 *   resume), and the errors of loadFactory and the registry
 * @example
 * const result = await provisionBatch({ factoryDir: 'factory', passphrase, outDir: 'out', count: 100, registry });
 */
export async function provisionBatch(options: ProvisionBatchOptions): Promise<BatchResult> {
  const started = performance.now();
  const { outDir, registry } = options;
  const actor = options.actor ?? 'provision';
  const workerCount = options.workers ?? os.availableParallelism();
  if (!Number.isSafeInteger(workerCount) || workerCount < 0 || workerCount > 64) throw new RangeError(`"workers" must be 0..64, got ${String(workerCount)}`);

  // The factory is loaded (and checked) on this thread first: a bad factory or passphrase fails here, before anything is written.
  const factory = await loadFactory(options.factoryDir, options.passphrase);
  const batchFile = path.join(outDir, BATCH_FILE);
  let batch: BatchFile;
  let tempsRemoved: string[] = [];
  const orphansRemoved: string[] = [];
  let recorded: Set<string>;
  try {
    if (options.resume === true) {
      batch = readBatchFile(batchFile);
      if (batch.factoryId !== factory.manifest.id) {
        throw new NvsecError('PROVISION_FACTORY_MISMATCH', `${outDir} holds batch ${batch.batchId} of factory ${batch.factoryId}, but ${options.factoryDir} is factory ${factory.manifest.id}: resume with the factory that started it`);
      }
      if (options.count !== undefined && options.count !== batch.count) {
        throw new NvsecError('PROVISION_COUNT_MISMATCH', `Batch ${batch.batchId} was started for ${batch.count} devices, not ${options.count}: omit --count to resume it`);
      }
    } else {
      const count = options.count;
      if (count === undefined || !Number.isSafeInteger(count) || count < 1 || count > 1_000_000) throw new RangeError(`"count" must be 1..1000000, got ${String(count)}`);
      // A run killed while writing batch.json leaves only the atomic writer's temporary file: not a batch.
      const leftovers = fs.existsSync(outDir) ? fs.readdirSync(outDir) : [];
      if (leftovers.length > 0 && leftovers.every((n) => BATCH_FILE_TEMP.test(n))) for (const n of leftovers) fs.rmSync(path.join(outDir, n), { force: true });
      else if (leftovers.length > 0) {
        const hint = fs.existsSync(batchFile) ? ' It holds a batch: finish it with --resume.' : '';
        throw new NvsecError('PROVISION_OUT_NOT_EMPTY', `${outDir} is not empty: a new batch needs an empty output folder.${hint}`);
      }
      batch = {
        format: BATCH_FORMAT,
        version: 1,
        batchId: toHex(nodeCrypto.randomBytes(4)),
        factoryId: factory.manifest.id,
        count,
        idPrefix: factory.manifest.device.idPrefix,
        createdAt: new Date().toISOString(),
      };
      fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
      writeFileAtomic(batchFile, new TextEncoder().encode(`${JSON.stringify(batch, null, 2)}\n`), { mode: 0o644, exclusive: true });
    }
    const existing = await registry.batch(batch.batchId);
    if (existing === null) await registry.openBatch({ id: batch.batchId, factoryId: batch.factoryId, requestedCount: batch.count }, actor);
    recorded = new Set(existing === null ? [] : (await registry.devicesOfBatch(batch.batchId)).map((d) => d.id));

    // Clean what a killed run left: half-written bundles, and complete bundles never recorded.
    tempsRemoved = removeBundleTemps(outDir);
    const ids = new Set(deviceIds(batch));
    for (const name of fs.readdirSync(outDir)) {
      if (ids.has(name) && !recorded.has(name)) {
        fs.rmSync(path.join(outDir, name), { recursive: true, force: true });
        orphansRemoved.push(name);
      }
    }
    if (existing?.state === 'complete') {
      return summary({ batch, outDir, alreadyRecorded: recorded.size, made: [], registryMs: 0, orphansRemoved, tempsRemoved, complete: true, interrupted: false, workers: 0, started });
    }
  } catch (e) {
    factory.close();
    throw e;
  }

  const todo = deviceIds(batch).filter((id) => !recorded.has(id));
  const made: MadeDevice[] = [];
  let registryMs = 0;
  let pending: MadeDevice[] = [];
  let flushTimer: NodeJS.Timeout | null = null;
  let recording = Promise.resolve();
  const flush = (): Promise<void> => {
    if (flushTimer !== null) clearTimeout(flushTimer);
    flushTimer = null;
    const group = pending;
    pending = [];
    if (group.length === 0) return recording;
    recording = recording.then(async () => {
      const t0 = performance.now();
      const rows: NewDevice[] = group.map((d) => ({ id: d.id, serial: d.serial, seedHash: d.seedHash, certSha256: d.certSha256, batchId: batch.batchId, bundlePath: d.id }));
      await registry.recordDevices(rows, actor);
      registryMs += performance.now() - t0;
      made.push(...group);
      options.onProgress?.({ done: recorded.size + made.length, total: batch.count, madeThisRun: made.length });
    });
    return recording;
  };
  const ready = (device: MadeDevice): void => {
    pending.push(device);
    if (pending.length >= RECORD_GROUP) void flush().catch(() => {});
    else flushTimer ??= setTimeout(() => void flush().catch(() => {}), RECORD_DELAY_MS);
  };

  let failure: unknown = null;
  try {
    if (workerCount === 0) {
      const keys = await loadNodeKeyCrypto();
      for (let i = 0; i < todo.length && options.signal?.aborted !== true; i += COMMIT_GROUP) {
        for (const device of await makeDeviceBundles(factory, keys, outDir, todo.slice(i, i + COMMIT_GROUP))) ready(device);
      }
    } else {
      factory.close(); // each worker opens its own
      await runWorkers(Math.min(workerCount, todo.length), todo, { role: 'nvsec-provision', factoryDir: options.factoryDir, passphrase: options.passphrase, outDir }, ready, options.signal);
    }
  } catch (e) {
    failure = e;
  } finally {
    factory.close();
  }
  await flush(); // devices finished before a failure are recorded all the same
  if (failure !== null) {
    const cause = failure instanceof NvsecError ? failure.message : String((failure as Error).message ?? failure);
    throw new NvsecError('PROVISION_FAILED', `Provisioning stopped: ${cause}. ${recorded.size + made.length} of ${batch.count} devices are recorded; fix the cause and run again with --resume`, { cause: failure });
  }
  const complete = recorded.size + made.length === batch.count;
  if (complete) await registry.completeBatch(batch.batchId, actor);
  return summary({ batch, outDir, alreadyRecorded: recorded.size, made, registryMs, orphansRemoved, tempsRemoved, complete, interrupted: !complete, workers: workerCount, started });
}

/** Every device id of the batch, in order. */
export function deviceIds(batch: Pick<BatchFile, 'idPrefix' | 'batchId' | 'count'>): string[] {
  return Array.from({ length: batch.count }, (_, i) => `${batch.idPrefix}-${batch.batchId}-${String(i + 1).padStart(6, '0')}`);
}

/**
 * Reads DIR/batch.json.
 *
 * @throws {NvsecError} PROVISION_NO_BATCH when missing, PROVISION_BATCH_CORRUPT when unreadable
 */
export function readBatchFile(file: string): BatchFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new NvsecError('PROVISION_NO_BATCH', `${path.dirname(file)} holds no batch to resume (no ${BATCH_FILE}): start one with --count`);
  }
  let b: Partial<BatchFile>;
  try {
    b = JSON.parse(text) as Partial<BatchFile>;
  } catch (e) {
    throw new NvsecError('PROVISION_BATCH_CORRUPT', `${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const ok =
    b.format === BATCH_FORMAT &&
    b.version === 1 &&
    typeof b.batchId === 'string' &&
    /^[0-9a-f]{8}$/.test(b.batchId) &&
    typeof b.factoryId === 'string' &&
    typeof b.idPrefix === 'string' &&
    Number.isSafeInteger(b.count) &&
    (b.count ?? 0) > 0;
  if (!ok) throw new NvsecError('PROVISION_BATCH_CORRUPT', `${file} is not a version 1 ${BATCH_FORMAT} file`);
  return b as BatchFile;
}

/** Where the worker module is: beside this one (tsc output or sources), or under node/ beside the CLI bundle. */
function workerEntry(): string {
  const candidates = ['./provision-worker.js', './provision-worker.ts', './node/provision-worker.js', '../node/provision-worker.js'];
  for (const c of candidates) {
    const file = fileURLToPath(new URL(c, import.meta.url));
    if (fs.existsSync(file)) return file;
  }
  throw new NvsecError('PROVISION_NO_WORKER', `The provisioning worker module is missing beside ${fileURLToPath(import.meta.url)}: reinstall nvsec, or use workers: 0`);
}

/**
 * A worker on `entry`. From TypeScript sources (tests, `tsx`), the worker registers the tsx
 * loader first: Node 20 does not pass module hooks on to worker threads.
 */
function spawnWorker(entry: string, setup: WorkerSetup): Worker {
  if (!entry.endsWith('.ts')) return new Worker(entry, { workerData: setup });
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(entry).href)}); });`;
  return new Worker(code, { eval: true, workerData: setup });
}

function runWorkers(n: number, todo: readonly string[], setup: WorkerSetup, ready: (d: MadeDevice) => void, signal: AbortSignal | undefined): Promise<void> {
  if (n === 0) return Promise.resolve();
  const entry = workerEntry();
  let next = 0;
  return new Promise<void>((resolve, reject) => {
    let live = n;
    let failed = false;
    const workers: Worker[] = [];
    const fail = (e: unknown): void => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(e);
    };
    for (let i = 0; i < n; i++) {
      const w = spawnWorker(entry, setup);
      workers.push(w);
      let inFlight = 0;
      const feed = (): void => {
        while (!failed && inFlight < IN_FLIGHT_PER_WORKER && next < todo.length && signal?.aborted !== true) {
          w.postMessage({ type: 'job', id: todo[next++]! } satisfies WorkerJob);
          inFlight++;
        }
        if (inFlight === 0) w.postMessage({ type: 'stop' } satisfies WorkerJob);
      };
      w.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') feed();
        else if (reply.type === 'done') {
          inFlight--;
          ready(reply.device);
          feed();
        } else fail(new NvsecError(reply.code, reply.id === null ? reply.message : `device ${reply.id}: ${reply.message}`));
      });
      w.on('error', fail);
      w.on('exit', (code) => {
        if (inFlight > 0) fail(new NvsecError('PROVISION_WORKER_DIED', `a provisioning worker stopped (exit code ${code}) with ${inFlight} device(s) unfinished`));
        if (--live === 0 && !failed) resolve();
      });
    }
  });
}

function summary(p: {
  batch: BatchFile;
  outDir: string;
  alreadyRecorded: number;
  made: readonly MadeDevice[];
  registryMs: number;
  orphansRemoved: string[];
  tempsRemoved: string[];
  complete: boolean;
  interrupted: boolean;
  workers: number;
  started: number;
}): BatchResult {
  const seconds = (performance.now() - p.started) / 1000;
  const n = p.made.length;
  const mean = (k: keyof DeviceTimings): number => (n === 0 ? 0 : p.made.reduce((s, d) => s + d.timings[k], 0) / n);
  return {
    batchId: p.batch.batchId,
    factoryId: p.batch.factoryId,
    outDir: p.outDir,
    count: p.batch.count,
    alreadyRecorded: p.alreadyRecorded,
    madeThisRun: n,
    orphansRemoved: p.orphansRemoved,
    tempsRemoved: p.tempsRemoved,
    complete: p.complete,
    interrupted: p.interrupted,
    workers: p.workers,
    seconds,
    rate: seconds > 0 ? n / seconds : 0,
    stageMeansMs: { keygen: mean('keygen'), certificate: mean('certificate'), nvs: mean('nvs'), encryption: mean('encryption'), bundle: mean('bundle'), registry: n === 0 ? 0 : p.registryMs / n },
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}
