// One device, from factory profile to a flushed bundle: what the provisioning batch runs, in a
// worker thread or (workers: 0) on the calling thread. Run as a worker (workerData.role ===
// 'nvsec-provision'), this module loads the factory itself and answers jobs from the batch.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { KeyCrypto } from '../crypto/key-crypto.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { provisionDevice, type ProvisionTimings } from '../provision/device-provisioner.js';
import { writeDeviceBundle } from './device-bundle.js';
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
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly device: MadeDevice }
  | { readonly type: 'error'; readonly id: string | null; readonly code: string; readonly message: string };

/** What the batch hands each worker thread. */
export interface WorkerSetup {
  readonly role: 'nvsec-provision';
  readonly factoryDir: string;
  readonly passphrase: string;
  readonly outDir: string;
}

/**
 * Makes device `id` and writes its bundle into `outDir` (fsynced, renamed into place): only then
 * is the device returned, ready to be recorded. The eFuse model (which holds the flash key) is
 * destroyed before returning.
 *
 * @throws whatever provisionDevice or writeDeviceBundle throws; nothing is left at `outDir/<id>` then
 */
export async function makeDeviceBundle(factory: LoadedFactory, keys: KeyCrypto, outDir: string, id: string): Promise<MadeDevice> {
  const device = await provisionDevice(id, factory.profile, { crypto: nodeCrypto, keys, certificates: factory.certificates });
  try {
    const t0 = performance.now();
    writeDeviceBundle(outDir, { id, layout: factory.profile.layout, flash: device.flash, efuse: device.efuse, certificate: device.certificate.der });
    const timings: DeviceTimings = { ...device.timings, bundle: performance.now() - t0 };
    return { id, serial: device.certificate.serial, seedHash: device.seedHash, certSha256: device.certSha256, timings };
  } finally {
    device.efuse.destroy();
  }
}

function errorReply(id: string | null, e: unknown): WorkerReply {
  return { type: 'error', id, code: e instanceof NvsecError ? e.code : ((e as NodeJS.ErrnoException).code ?? 'PROVISION_FAILED'), message: e instanceof Error ? e.message : String(e) };
}

async function runWorker(setup: WorkerSetup): Promise<void> {
  const port = parentPort!;
  let factory: LoadedFactory;
  let keys: KeyCrypto;
  try {
    [factory, keys] = await Promise.all([loadFactory(setup.factoryDir, setup.passphrase), loadNodeKeyCrypto()]);
  } catch (e) {
    port.postMessage(errorReply(null, e));
    return;
  }
  // Jobs run one at a time, in arrival order.
  let queue = Promise.resolve();
  port.on('message', (job: WorkerJob) => {
    if (job.type === 'stop') {
      void queue.then(() => {
        factory.close();
        port.close();
      });
      return;
    }
    queue = queue.then(async () => {
      try {
        port.postMessage({ type: 'done', device: await makeDeviceBundle(factory, keys, setup.outDir, job.id) } satisfies WorkerReply);
      } catch (e) {
        port.postMessage(errorReply(job.id, e));
      }
    });
  });
  port.postMessage({ type: 'ready' } satisfies WorkerReply);
}

if (!isMainThread && (workerData as Partial<WorkerSetup> | null)?.role === 'nvsec-provision') await runWorker(workerData as WorkerSetup);
