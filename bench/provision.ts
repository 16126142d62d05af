// Factory provisioning and device boot (issue 7), measured on the built CLI (dist/nvsec.mjs):
//   provision-devices  devices/s of `nvsec provision` (default workers: CPUs + 1) with the default bundle (2 MiB
//                      flash, encrypted), per-stage breakdown; target >= 200 devices/s
//   device-boot        one device's boot, in process (bootDevice) and as `nvsec device boot` processes
//   provision-10k      peak memory (and rate) of a 10,000-device batch; only with --only provision-10k
//                      (it writes 20 GiB of bundles, removed afterwards)
// The factory signs its app with ../shared/bench/rsa3072.pem, so every run signs the same way.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Check, type Row, summarize, type Target, timeProcess } from './_harness.js';
import { SHARED } from './nvs-generate.js';

export const PROVISION_IDS: readonly string[] = ['provision-devices', 'device-boot'];
/** Opt-in: not part of the default run. */
export const PROVISION_10K_ID = 'provision-10k';

export interface ProvisionBenchConfig {
  only: (id: string) => boolean;
  log: (line: string) => void;
  quick: boolean;
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO, 'dist', 'nvsec.mjs');
const PASSPHRASE = 'benchmark passphrase';
/** The CLI's default: one worker per CPU plus one. */
const WORKERS = os.availableParallelism() + 1;
const TARGET: Target = { op: '>=', value: 200 };

interface BatchJson {
  batchId: string;
  madeThisRun: number;
  seconds: number;
  rate: number;
  complete: boolean;
  peakRssMiB: number;
  stageMeansMs: Record<string, number>;
}

function cli(args: string[], env: Record<string, string> = {}): { stdout: string; wallS: number } {
  const e: NodeJS.ProcessEnv = { ...process.env, NVSEC_FACTORY_PASSPHRASE: PASSPHRASE, ...env };
  delete e.NODE_OPTIONS;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { env: e, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`nvsec ${args.join(' ')} exited ${String(r.status ?? r.signal)}: ${r.stderr.trim()}`);
  return { stdout: r.stdout, wallS };
}

function row(id: string, variant: string, workload: string, unit: string, higherIsBetter: boolean, samples: number[], notes: string[], extra: Partial<Row> = {}): Row {
  const stats = summarize(samples);
  const target = extra.target;
  const pass = target === undefined ? '-' : (target.op === '>=' ? stats.median >= target.value : stats.median <= target.value) ? 'pass' : 'FAIL';
  return { id, variant, workload, unit, higherIsBetter, stats, samples, verdict: extra.check?.ok === false ? 'FAIL' : pass, notes, ...extra };
}

/** Runs the provisioning benchmarks selected by `cfg.only`. */
export function runProvisionGroup(cfg: ProvisionBenchConfig): Row[] {
  const wanted = [...PROVISION_IDS, PROVISION_10K_ID].filter(cfg.only);
  if (wanted.length === 0) return [];
  const rows: Row[] = [];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-bench-provision-'));
  try {
    const factory = path.join(tmp, 'factory');
    cli(['factory', 'init', '--dir', factory, '--signing-key', path.join(SHARED, 'rsa3072.pem'), '--id-prefix', 'bench', '--json']);
    const pin = (JSON.parse(fs.readFileSync(path.join(factory, 'factory.json'), 'utf8')) as { token: { userPin: string } }).token.userPin;
    let batch = 0;
    const provision = (count: number): { json: BatchJson; wallS: number; out: string } => {
      const out = path.join(tmp, `batch-${++batch}`);
      const r = cli(['provision', '--factory', factory, '--count', String(count), '--out', out, '--workers', String(WORKERS), '--json']);
      const json = JSON.parse(r.stdout) as BatchJson;
      if (!json.complete || json.madeThisRun !== count) throw new Error(`provision made ${json.madeThisRun} of ${count}`);
      return { json, wallS: r.wallS, out };
    };
    const stageNote = (j: BatchJson): string =>
      `per device in one worker (ms): ${Object.entries(j.stageMeansMs)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}`;

    let sample: string | null = null;
    if (cfg.only('provision-devices') || cfg.only('device-boot')) {
      const count = cfg.quick ? 200 : 2000;
      const runs = cfg.quick ? 1 : 3;
      const inProcess: number[] = [];
      const whole: number[] = [];
      const notes: string[] = [];
      let peak = 0;
      for (let i = 0; i < runs; i++) {
        cfg.log(`provision-devices: run ${i + 1}/${runs}, ${count} devices, ${WORKERS} workers …`);
        const { json, wallS, out } = provision(count);
        inProcess.push(json.rate);
        whole.push(count / wallS);
        peak = Math.max(peak, json.peakRssMiB);
        notes.push(stageNote(json));
        sample = path.join(out, fs.readdirSync(out).find((n) => n.startsWith('bench-'))!); // the last run keeps its bundles
        if (i < runs - 1) fs.rmSync(out, { recursive: true, force: true });
      }
      const workload = `${count} devices, default bundle (ESP32-C3, 2 MiB flash, XTS flash encryption, Secure Boot V2 RSA-3072, encrypted NVS, 6 credentials), ${WORKERS} workers, SQLite registry`;
      rows.push(row('provision-devices', 'in-process rate (workers started, factory loaded)', workload, 'devices/s', true, inProcess, [...notes, `peak RSS ${peak.toFixed(0)} MiB`], { target: TARGET }));
      rows.push(row('provision-devices', 'whole process (node start-up and factory checks included)', workload, 'devices/s', true, whole, [], { target: TARGET }));
    }

    if (cfg.only('device-boot') && sample !== null) {
      cfg.log('device-boot: nvsec device boot --json …');
      const reports: number[] = [];
      const check: Check = { ok: true, detail: 'each boot reports the bundle id and a complete chain' };
      const id = path.basename(sample);
      const samples = timeProcess(process.execPath, [CLI, 'device', 'boot', sample, '--json', '--pin', pin], {
        cwd: REPO,
        warmups: 2,
        runs: cfg.quick ? 3 : 9,
        afterRun: ({ stdout }) => {
          const r = JSON.parse(stdout) as { identity: { deviceId: string; chainComplete: boolean }; totalMs: number };
          if (r.identity.deviceId !== id || !r.identity.chainComplete) check.ok = false;
          reports.push(r.totalMs);
        },
      });
      const workload = 'boot of one provisioned device: secure boot check, flash decryption, NVS secure init, NV seed refresh, DRBG, token login, identity';
      rows.push(row('device-boot', 'inside each CLI process, cold (the boot report\'s totalMs)', workload, 'ms', false, reports.slice(2), [], { check }));
      rows.push(row('device-boot', 'whole process (nvsec device boot --json)', workload, 'ms', false, samples.map((s) => s * 1000), []));
    }

    if (cfg.only(PROVISION_10K_ID)) {
      cfg.log('provision-10k: 10,000 devices …');
      const { json, wallS, out } = provision(cfg.quick ? 1000 : 10_000);
      rows.push(
        row('provision-10k', 'peak RSS of the provision process (workers are threads: included)', `${json.madeThisRun} devices, ${WORKERS} workers`, 'MiB', false, [json.peakRssMiB], [
          `${json.rate.toFixed(0)} devices/s in process, ${(json.madeThisRun / wallS).toFixed(0)}/s whole process`,
          stageNote(json),
        ]),
      );
      fs.rmSync(out, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}
