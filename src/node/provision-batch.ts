import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { toHex } from '../bytes/hex.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { canonicalSerial, type DeviceRecord, type DeviceRegistry, RegistryError } from '../provision/registry.js';
import { errorMessage } from '../errors/error-message.js';
import { writeFileAtomic } from './atomic-file.js';
import { DEVICE_BUNDLE_FILES, removeBundleTemps } from './device-bundle.js';
import { syncDir } from './_io.js';
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
  /** Worker threads making devices; 0 makes them on the calling thread. Default {@link defaultWorkers}. */
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
 * when every device is recorded. One run at a time works on `outDir` (a lock file, taken over
 * only from a process that no longer runs on this host).
 *
 * A killed run leaves complete bundles, perhaps some never recorded, and perhaps half-written
 * `.tmp-` folders: `resume: true` removes both (the certificate of an unrecorded bundle is logged
 * as void in the registry first, so the CRL lists it) and makes the devices still missing, new.
 * Before that it checks that every device the registry recorded has its bundle, holding the
 * certificate recorded. Device ids are `<idPrefix>-<batchId>-<n>` (n from 000001, the batch id 64
 * random bits), so a resume makes exactly the missing ones, and ids never repeat across batches.
 *
 * @throws {NvsecError} PROVISION_OUT_NOT_EMPTY (a new batch into a used folder), PROVISION_LOCKED
 *   (another run works on `outDir`), PROVISION_NO_BATCH / PROVISION_BATCH_CORRUPT (resume without a
 *   readable batch.json), PROVISION_FACTORY_MISMATCH, PROVISION_COUNT_MISMATCH,
 *   PROVISION_REGISTRY_MISMATCH (the registry does not hold this folder's batch: nothing is removed),
 *   PROVISION_INCONSISTENT (recorded devices whose bundles are missing or hold another certificate),
 *   PROVISION_FAILED (a device or the registry failed: the devices made before are recorded; fix
 *   the cause and resume), and the errors of loadFactory and the registry
 * @example
 * const result = await provisionBatch({ factoryDir: 'factory', passphrase, outDir: 'out', count: 100, registry });
 */
export async function provisionBatch(options: ProvisionBatchOptions): Promise<BatchResult> {
  const started = performance.now();
  const { outDir, registry } = options;
  const actor = options.actor ?? 'provision';
  const workerCount = options.workers ?? defaultWorkers();
  if (!Number.isSafeInteger(workerCount) || workerCount < 0 || workerCount > 64) throw new RangeError(`"workers" must be 0..64, got ${String(workerCount)}`);
  if (options.resume !== true && (options.count === undefined || !Number.isSafeInteger(options.count) || options.count < 1 || options.count > 1_000_000)) {
    throw new RangeError(`"count" must be 1..1000000, got ${String(options.count)}`);
  }

  // The factory is loaded (and checked) first: a bad factory or passphrase fails before anything is written.
  const factory = await loadFactory(options.factoryDir, options.passphrase);
  let lock: (() => void) | null = null;
  try {
    if (options.resume === true && !fs.existsSync(path.join(outDir, BATCH_FILE))) readBatchFile(path.join(outDir, BATCH_FILE)); // PROVISION_NO_BATCH, before creating anything
    fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
    lock = lockFolder(outDir);
    const batch = options.resume === true ? await resumeBatch(options, factory.manifest.id) : await newBatch(options, factory.manifest.id, factory.manifest.device.idPrefix, actor);
    const records = await registry.devicesOfBatch(batch.batchId);
    checkRecordedBundles(outDir, records);
    const recorded = new Set(records.map((d) => d.id));
    const { tempsRemoved, orphansRemoved } = await removeLeftovers(outDir, batch, recorded, registry, actor);
    if ((await registry.batch(batch.batchId))?.state === 'complete') {
      return summary({ batch, outDir, alreadyRecorded: recorded.size, made: [], registryMs: 0, orphansRemoved, tempsRemoved, complete: true, interrupted: false, workers: 0, started });
    }

    const todo = deviceIds(batch).filter((id) => !recorded.has(id));
    const made: MadeDevice[] = [];
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    if (options.signal?.aborted) stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let registryMs = 0;
    let recordError: unknown = null;
    let pending: MadeDevice[] = [];
    let flushTimer: NodeJS.Timeout | null = null;
    let recording = Promise.resolve();
    /** Records the devices ready so far, after the groups before; the first failure stops the line. */
    const flush = (): Promise<void> => {
      if (flushTimer !== null) clearTimeout(flushTimer);
      flushTimer = null;
      const group = pending;
      pending = [];
      if (group.length === 0) return recording;
      recording = recording.then(async () => {
        if (recordError !== null) return; // never record past a failure: resume sorts out the rest
        const t0 = performance.now();
        try {
          await registry.recordDevices(
            group.map((d) => ({ id: d.id, serial: d.serial, seedHash: d.seedHash, certSha256: d.certSha256, batchId: batch.batchId, bundlePath: d.id })),
            actor,
          );
        } catch (e) {
          recordError = e;
          stop.abort();
          return;
        }
        registryMs += performance.now() - t0;
        made.push(...group);
        options.onProgress?.({ done: recorded.size + made.length, total: batch.count, madeThisRun: made.length });
      });
      return recording;
    };
    const ready = (device: MadeDevice): void => {
      pending.push(device);
      if (pending.length >= RECORD_GROUP) void flush();
      else flushTimer ??= setTimeout(() => void flush(), RECORD_DELAY_MS);
    };

    let failure: unknown = null;
    try {
      if (workerCount === 0) {
        const keys = await loadNodeKeyCrypto();
        for (let i = 0; i < todo.length && !stop.signal.aborted; i += COMMIT_GROUP) {
          for (const device of await makeDeviceBundles(factory, keys, outDir, todo.slice(i, i + COMMIT_GROUP))) ready(device);
        }
      } else {
        factory.close(); // each worker opens its own
        const setup: WorkerSetup = { role: 'nvsec-provision', factoryDir: options.factoryDir, factoryId: factory.manifest.id, passphrase: options.passphrase, outDir };
        await runWorkers(Math.min(workerCount, todo.length), todo, setup, ready, stop.signal);
      }
    } catch (e) {
      failure = e;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    await flush(); // devices finished before a failure are recorded all the same
    failure ??= recordError === null ? null : new NvsecError('PROVISION_RECORD_FAILED', `recording devices in the registry failed: ${errorMessage(recordError)}`, { cause: recordError });
    if (failure !== null) {
      throw new NvsecError('PROVISION_FAILED', `Provisioning stopped: ${errorMessage(failure)}. ${recorded.size + made.length} of ${batch.count} devices are recorded; fix the cause and run again with --resume`, {
        cause: failure,
      });
    }
    const complete = recorded.size + made.length === batch.count;
    if (complete) await registry.completeBatch(batch.batchId, actor);
    return summary({ batch, outDir, alreadyRecorded: recorded.size, made, registryMs, orphansRemoved, tempsRemoved, complete, interrupted: !complete, workers: workerCount, started });
  } finally {
    factory.close();
    lock?.();
  }
}

/** Starts a batch: the folder must be empty (but for the lock and a killed batch.json write); the registry opens it first, then batch.json names it. */
async function newBatch(options: ProvisionBatchOptions, factoryId: string, idPrefix: string, actor: string): Promise<BatchFile> {
  const { outDir, registry } = options;
  const count = options.count!;
  const others = fs.readdirSync(outDir).filter((n) => n !== LOCK_FILE);
  const batchFile = path.join(outDir, BATCH_FILE);
  if (others.some((n) => !BATCH_FILE_TEMP.test(n))) {
    const hint = fs.existsSync(batchFile) ? ' It holds a batch: finish it with --resume.' : '';
    throw new NvsecError('PROVISION_OUT_NOT_EMPTY', `${outDir} is not empty: a new batch needs an empty output folder.${hint}`);
  }
  for (const n of others) fs.rmSync(path.join(outDir, n), { force: true }); // what a run killed while writing batch.json left
  for (let attempt = 0; ; attempt++) {
    const batchId = toHex(nodeCrypto.randomBytes(8));
    try {
      await registry.openBatch({ id: batchId, factoryId, requestedCount: count }, actor);
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'REGISTRY_DUPLICATE_BATCH' && attempt < 3) continue; // 64 random bits collided: draw again
      throw e;
    }
    const batch: BatchFile = { format: BATCH_FORMAT, version: 1, batchId, factoryId, count, idPrefix, createdAt: new Date().toISOString() };
    writeFileAtomic(batchFile, new TextEncoder().encode(`${JSON.stringify(batch, null, 2)}\n`), { mode: 0o644, exclusive: true });
    return batch;
  }
}

/** The batch of batch.json, checked against the factory, --count and the registry. */
async function resumeBatch(options: ProvisionBatchOptions, factoryId: string): Promise<BatchFile> {
  const { outDir, registry } = options;
  const batch = readBatchFile(path.join(outDir, BATCH_FILE));
  if (batch.factoryId !== factoryId) {
    throw new NvsecError('PROVISION_FACTORY_MISMATCH', `${outDir} holds batch ${batch.batchId} of factory ${batch.factoryId}, but ${options.factoryDir} is factory ${factoryId}: resume with the factory that started it`);
  }
  if (options.count !== undefined && options.count !== batch.count) {
    throw new NvsecError('PROVISION_COUNT_MISMATCH', `Batch ${batch.batchId} was started for ${batch.count} devices, not ${options.count}: omit --count to resume it`);
  }
  const held = await registry.batch(batch.batchId);
  if (held === null || held.factoryId !== batch.factoryId || held.requestedCount !== batch.count) {
    const why = held === null ? 'has no batch' : `holds a different batch under the id`;
    throw new NvsecError('PROVISION_REGISTRY_MISMATCH', `This registry ${why} ${batch.batchId} (of ${outDir}): resume with the registry the batch was started with (--registry); nothing was changed`);
  }
  return batch;
}

/**
 * Every device the registry recorded must have its bundle, holding the recorded certificate:
 * otherwise something outside this run changed the folder, and finishing would hide it.
 *
 * @throws {NvsecError} PROVISION_INCONSISTENT listing the first devices that differ
 */
function checkRecordedBundles(outDir: string, records: readonly DeviceRecord[]): void {
  const bad: string[] = [];
  for (const r of records) {
    let manifest: { certificate?: { serial?: string; sha256?: string } };
    try {
      manifest = JSON.parse(fs.readFileSync(path.join(outDir, r.bundlePath, DEVICE_BUNDLE_FILES.manifest), 'utf8')) as typeof manifest;
    } catch {
      bad.push(`${r.id} (no bundle)`);
      continue;
    }
    const cert = manifest.certificate ?? {};
    const same = cert.sha256 === undefined ? canonicalSerial(cert.serial ?? 'x') === r.serial : cert.sha256 === r.certSha256;
    if (!same) bad.push(`${r.id} (its bundle holds another certificate)`);
  }
  if (bad.length > 0) {
    throw new NvsecError(
      'PROVISION_INCONSISTENT',
      `${bad.length} recorded device(s) do not match their bundles in ${outDir}: ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''}. Was the folder changed, or two runs at once? Nothing was changed; investigate before resuming`,
    );
  }
}

/** Removes half-written bundles and complete but unrecorded ones, logging the certificate of each first as void. */
async function removeLeftovers(outDir: string, batch: BatchFile, recorded: ReadonlySet<string>, registry: DeviceRegistry, actor: string): Promise<{ tempsRemoved: string[]; orphansRemoved: string[] }> {
  const ids = new Set(deviceIds(batch));
  const orphansRemoved: string[] = [];
  const voidCertificateOf = async (id: string, bundle: string): Promise<void> => {
    let cert: { serial?: string; sha256?: string } | undefined;
    try {
      cert = (JSON.parse(fs.readFileSync(path.join(bundle, DEVICE_BUNDLE_FILES.manifest), 'utf8')) as { certificate?: typeof cert }).certificate;
    } catch {
      return; // killed before its manifest was written: the certificate never left the killed process's memory and the encrypted flash image removed below
    }
    if (typeof cert?.serial !== 'string') return;
    await registry.voidCertificate({ deviceId: id, serial: cert.serial, certSha256: cert.sha256 ?? null, batchId: batch.batchId, reason: 'bundle never recorded; removed by resume' }, actor);
  };
  for (const name of fs.readdirSync(outDir)) {
    const full = path.join(outDir, name);
    const tempOf = name.split('.tmp-')[0]!;
    if (ids.has(name) && !recorded.has(name)) {
      await voidCertificateOf(name, full);
      fs.rmSync(full, { recursive: true, force: true });
      orphansRemoved.push(name);
    } else if (name !== tempOf && ids.has(tempOf)) {
      await voidCertificateOf(tempOf, full);
    } else if (BATCH_FILE_TEMP.test(name)) {
      fs.rmSync(full, { force: true });
    }
  }
  const tempsRemoved = removeBundleTemps(outDir);
  if (orphansRemoved.length > 0) syncDir(outDir);
  return { tempsRemoved, orphansRemoved };
}

/** The lock file that keeps two runs off one output folder. */
const LOCK_FILE = '.provision.lock';

/**
 * Takes `dir`'s lock: creates the lock file exclusively, naming this process. A lock left by a
 * process that no longer runs on this host is taken over.
 *
 * @returns the release function
 * @throws {NvsecError} PROVISION_LOCKED when another live run holds it
 */
function lockFolder(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const me = JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, me, { flag: 'wx', mode: 0o644 });
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder: { pid?: number; host?: string; since?: string } = {};
    try {
      holder = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof holder;
    } catch {
      // unreadable: a run killed while writing it, on this host or another; treat as held
    }
    if (holder.host === os.hostname() && typeof holder.pid === 'number' && !processRuns(holder.pid)) {
      fs.rmSync(file, { force: true }); // stale: its process is gone
      continue;
    }
    throw new NvsecError(
      'PROVISION_LOCKED',
      `Another provision run (pid ${holder.pid ?? '?'} on ${holder.host ?? '?'}, since ${holder.since ?? '?'}) is working on ${dir}: wait for it to finish; if it is gone, remove ${file}`,
    );
  }
  throw new NvsecError('PROVISION_LOCKED', `Cannot take the lock ${file}`);
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // it exists, owned by someone else
  }
}

/**
 * Worker threads by default: one per CPU plus one, so that a CPU stays busy while a worker waits
 * for the disk (each device writes a 2 MiB flash image and syncs it).
 */
export function defaultWorkers(): number {
  return os.availableParallelism() + 1;
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
    /^[0-9a-f]{8,16}$/.test(b.batchId) &&
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
        } else fail(new NvsecError(reply.code, reply.message)); // the message names the device when one failed
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
