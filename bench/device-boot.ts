// Boot time of one emulated device (issue 7): bootDevice() in process on a hand-built ESP32-C3
// device (2 MiB flash, XTS flash encryption, Secure Boot V2 RSA-3072, encrypted NVS with a token),
// per stage, and `nvsec device boot BUNDLE --json` as a whole process. Runs from source:
//   node --import tsx bench/device-boot.ts [--runs N]
// Not wired into bench/run.ts (it reads from dist/); the device is built with the test helper.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bootDevice } from '../src/device/boot.js';
import { defaultFlashLayout } from '../src/device/flash-layout.js';
import { MemoryFlash } from '../src/flash/memory-flash.js';
import { writeDeviceBundle } from '../src/node/device-bundle.js';
import { nodeCrypto } from '../src/node/node-crypto.js';
import { loadNodeKeyCrypto } from '../src/node/node-key-crypto.js';
import { buildHandMadeDevice, USER_PIN } from '../test/device/_device.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' } } });
const runs = Number(values.runs);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))]!;

const dev = await buildHandMadeDevice();
const keys = await loadNodeKeyCrypto();
const flash = new MemoryFlash(dev.flash);
const totals: number[] = [];
const byPin: [number[], number[]] = [[], []];
const perStage = new Map<string, number[]>();
for (let i = 0; i < runs + 3; i++) {
  const booted = await bootDevice({ flash, efuse: dev.efuse, crypto: nodeCrypto, keys, ...(i % 2 === 0 ? {} : { pin: USER_PIN }) });
  booted.close();
  if (i < 3) continue; // warm-up
  totals.push(booted.report.totalMs);
  byPin[i % 2]!.push(booted.report.totalMs);
  for (const s of booted.report.stages) perStage.set(s.stage, [...(perStage.get(s.stage) ?? []), s.ms]);
}
console.log(`bootDevice() in process, ${runs} boots (half with a PIN login), ${os.cpus().length} CPUs, Node ${process.version}`);
console.log(`  total: median ${median(totals).toFixed(1)} ms, p95 ${p95(totals).toFixed(1)} ms; without PIN median ${median(byPin[0]).toFixed(1)} ms, with PIN login ${median(byPin[1]).toFixed(1)} ms`);
for (const [stage, xs] of perStage) console.log(`  ${stage.padEnd(16)} median ${median(xs).toFixed(2).padStart(7)} ms`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-bench-boot-'));
try {
  const pem = path.join(tmp, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(tmp, 'k.pem'), '-subj', '/CN=bench', '-days', '1', '-out', pem], { stdio: 'ignore' });
  const certificate = new Uint8Array(execFileSync('openssl', ['x509', '-in', pem, '-outform', 'DER']));
  const bundle = writeDeviceBundle(tmp, { id: 'bench-device', layout: defaultFlashLayout(), flash: dev.flash, efuse: dev.efuse, certificate });
  const cli = path.join(ROOT, 'src', 'cli', 'main.ts');
  const times: number[] = [];
  const processRuns = Math.max(3, Math.min(10, Math.floor(runs / 5)));
  for (let i = 0; i < processRuns; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'device', 'boot', bundle, '--json'], { cwd: ROOT, encoding: 'utf8' });
    times.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`device boot failed: ${r.stderr}`);
  }
  console.log(`nvsec device boot --json as a process (from source through tsx), ${processRuns} runs: median ${median(times).toFixed(0)} ms`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
