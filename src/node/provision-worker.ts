// Devices, from factory profile to flushed bundles: what the provisioning batch runs, in a
// worker thread or (workers: 0) on the calling thread. Run as a worker (workerData.role ===
// 'nvsec-provision'), this module loads the factory itself and answers jobs from the batch.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { KeyCrypto } from '../crypto/key-crypto.js';
import { errorMessage } from '../errors/error-message.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { provisionDevice, type ProvisionTimings } from '../provision/device-provisioner.js';
import { commitDeviceBundles, removeStaged, type StagedBundle, stageDeviceBundle } from './device-bundle.js';
import { type LoadedFactory, loadFactory } from './factory.js';
import { nodeCrypto } from './node-crypto.js';
import { loadNodeKeyCrypto } from './node-key-crypto.js';

/** Per-stage times of one device: the provisioner's stages and the bundle write (fsynced). */
export interface DeviceTimings extends ProvisionTimings {
  bundle: number;
}

/** What the registry needs of a device whose bundle is complete and flushed. */
export interface MadeDevice {
  readonly id: string;
  readonly serial: string;
  readonly seedHash: string;
  readonly certSha256: string;
  readonly timings: DeviceTimings;
}

/** Messages of the worker protocol. */
export type WorkerJob = { readonly type: 'job'; readonly id: string } | { readonly type: 'stop' };

/** Most devices a worker stages before committing them together. */
export const COMMIT_GROUP = 8;
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly device: MadeDevice }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

/** What the batch hands each worker thread. */
export interface WorkerSetup {
  readonly role: 'nvsec-provision';
  readonly factoryDir: string;
  /** The factory the batch checked: a worker refuses to work for another one (the folder changed under it). */
  readonly factoryId: string;
  readonly passphrase: string;
  readonly outDir: string;
}

/**
 * Makes the devices `ids` and writes their bundles into `outDir`: each is staged in its temporary
 * folder, then the group is made durable and visible at once (one disk sync for the group); only
 * then are the devices returned, ready to be recorded. The eFuse models (which hold the flash
 * keys) are destroyed before returning.
 *
 * @throws whatever provisionDevice or the bundle writer throws; no bundle of the group is left
 *   half-written (a `.tmp-` folder at worst, after a crash)
 */
export async function makeDeviceBundles(factory: LoadedFactory, keys: KeyCrypto, outDir: string, ids: readonly string[]): Promise<MadeDevice[]> {
  const made: { device: MadeDevice; staged: StagedBundle }[] = [];
  try {
    for (const id of ids) {
      try {
        const device = await provisionDevice(id, factory.profile, { crypto: nodeCrypto, keys, certificates: factory.certificates });
        try {
          const t0 = performance.now();
          const staged = stageDeviceBundle(outDir, { id, layout: factory.profile.layout, flash: device.flash, efuse: device.efuse, certificate: device.certificate.der });
          const timings: DeviceTimings = { ...device.timings, bundle: performance.now() - t0 };
          made.push({ device: { id, serial: device.certificate.serial, seedHash: device.seedHash, certSha256: device.certSha256, timings }, staged });
        } finally {
          device.efuse.destroy();
        }
      } catch (e) {
        throw new NvsecError(e instanceof NvsecError ? e.code : 'PROVISION_DEVICE_FAILED', `device ${id}: ${errorMessage(e)}`, { cause: e });
      }
    }
    const t0 = performance.now();
    commitDeviceBundles(
      outDir,
      made.map((m) => m.staged),
    );
    const share = (performance.now() - t0) / made.length;
    return made.map((m) => ({ ...m.device, timings: { ...m.device.timings, bundle: m.device.timings.bundle + share } }));
  } catch (e) {
    removeStaged(made.map((m) => m.staged));
    throw e;
  }
}

function errorReply(e: unknown): WorkerReply {
  return { type: 'error', code: e instanceof NvsecError ? e.code : ((e as NodeJS.ErrnoException).code ?? 'PROVISION_FAILED'), message: e instanceof Error ? e.message : String(e) };
}

async function runWorker(setup: WorkerSetup): Promise<void> {
  const port = parentPort!;
  let factory: LoadedFactory;
  let keys: KeyCrypto;
  try {
    [factory, keys] = await Promise.all([loadFactory(setup.factoryDir, setup.passphrase), loadNodeKeyCrypto()]);
    if (factory.manifest.id !== setup.factoryId) {
      factory.close();
      throw new NvsecError('PROVISION_FACTORY_MISMATCH', `${setup.factoryDir} changed while the batch started: it is now factory ${factory.manifest.id}, not ${setup.factoryId}`);
    }
  } catch (e) {
    port.postMessage(errorReply(e));
    return;
  }
  // Jobs run in arrival order; the ones waiting when a group starts are made and committed together.
  const waiting: string[] = [];
  let busy = false;
  let stopping = false;
  const work = async (): Promise<void> => {
    busy = true;
    while (waiting.length > 0) {
      const ids = waiting.splice(0, COMMIT_GROUP);
      try {
        for (const device of await makeDeviceBundles(factory, keys, setup.outDir, ids)) port.postMessage({ type: 'done', device } satisfies WorkerReply);
      } catch (e) {
        port.postMessage(errorReply(e)); // the message names the device
        waiting.length = 0;
      }
    }
    busy = false;
    if (stopping) finish();
  };
  const finish = (): void => {
    factory.close();
    port.close();
  };
  port.on('message', (job: WorkerJob) => {
    if (job.type === 'stop') {
      stopping = true;
      if (!busy) finish();
      return;
    }
    waiting.push(job.id);
    if (!busy) void work();
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}

if (!isMainThread && (workerData as Partial<WorkerSetup> | null)?.role === 'nvsec-provision') await runWorker(workerData as WorkerSetup);
