// Flash-encryption benchmarks on the 4 MiB image of ../shared/bench: in-process encryption (MB/s)
// with the ESP32 scheme (conf 0xF), XTS-AES-128 and XTS-AES-256 at 0x10000, and the whole-process
// `nvsec flash-encryption encrypt-flash-data` next to espsecure's figures. Every output is
// checked against the sha256 the reference tool produced (../shared/bench/README.md).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createFlashCipher, esp32FlashCryptParallel, nodeCrypto } from './_dist.js';
import { type Check, makeRow, MemoryTracker, type PeerFigure, type Row, sha256Hex, timeInProcess, timeInProcessAsync, timeProcess, type GroupConfig } from './_harness.js';
import { benchImage4m } from './_workloads.js';
import { SHARED } from './nvs-generate.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = 'dist/nvsec.mjs';
const IMAGE = 'image-4m.bin';

/** The ids of this group, for bench/run.ts's GROUPS. */
export const FLASH_ENCRYPTION_IDS: readonly string[] = ['fe-esp32-aes256', 'fe-xts-aes128', 'fe-xts-aes256'];

interface Workload {
  id: string;
  keyFile: string;
  aesXts: boolean;
  out: string;
  sha256: string;
  target: number;
  peer: PeerFigure;
}

const peer = (label: string, median: number, min: number, max: number): PeerFigure => ({ label, median, min, max });
const WORKLOADS: Workload[] = [
  {
    id: 'fe-esp32-aes256',
    keyFile: 'fe-key-32.bin',
    aesXts: false,
    out: 'image-4m.esp32.bin',
    sha256: '52ae06c46f65c47c9e0efb3971fd079d871af8f7c2ef42c77fb95043a53aaa72',
    target: 20,
    peer: peer('python3 -m espsecure encrypt-flash-data --keyfile fe-key-32.bin --address 0x10000 --flash-crypt-conf 0xf …', 1.397, 1.071, 1.5),
  },
  {
    id: 'fe-xts-aes128',
    keyFile: 'fe-key-32.bin',
    aesXts: true,
    out: 'image-4m.xts128.bin',
    sha256: 'd7482af52bbe85d653418d5e60aad9fc3865b3b90463c9d0ed28c90538507870',
    target: 300,
    peer: peer('python3 -m espsecure encrypt-flash-data --aes-xts --keyfile fe-key-32.bin --address 0x10000 …', 0.937, 0.758, 0.961),
  },
  {
    id: 'fe-xts-aes256',
    keyFile: 'fe-key-64.bin',
    aesXts: true,
    out: 'image-4m.xts256.bin',
    sha256: '0e990c748d4ef32c4fdc26acfb313a04e6efaf16da805badfdd388eb27bbe8f3',
    target: 300,
    peer: peer('python3 -m espsecure encrypt-flash-data --aes-xts --keyfile fe-key-64.bin --address 0x10000 …', 0.986, 0.739, 1.011),
  },
];

function check(bytes: Uint8Array | undefined, expected: string, what: string): Check {
  if (bytes === undefined) return { ok: false, detail: `OUTPUT MISMATCH: ${what}: no output` };
  const hex = sha256Hex(bytes);
  return hex === expected
    ? { ok: true, detail: `sha256 of ${what} = ${expected.slice(0, 16)}… (espsecure's)` }
    : { ok: false, detail: `OUTPUT MISMATCH: ${what}: sha256 ${hex}, expected ${expected}` };
}

/** Runs the flash-encryption group. */
export async function runFlashEncryptionGroup(cfg: GroupConfig): Promise<Row[]> {
  const selected = WORKLOADS.filter((w) => cfg.only(w.id));
  if (selected.length === 0) return [];
  const image = benchImage4m();
  const rows: Row[] = [];
  const node = process.execPath;
  const cliPath = path.join(REPO, CLI);

  // Whole process first, while this process is small.
  for (const w of selected) {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-bench-fe-'));
    try {
      fs.writeFileSync(path.join(scratch, IMAGE), image);
      fs.copyFileSync(path.join(SHARED, w.keyFile), path.join(scratch, w.keyFile));
      const probe = spawnSync(node, [cliPath, 'flash-encryption', 'encrypt-flash-data', '--help'], { encoding: 'utf8' });
      if (probe.status !== 0) {
        cfg.log(`${w.id}: whole process skipped, "node ${CLI} flash-encryption" is not available (build first)`);
        continue;
      }
      const args = ['flash-encryption', 'encrypt-flash-data', ...(w.aesXts ? ['--aes-xts'] : []), '--keyfile', w.keyFile, '--address', '0x10000'];
      if (!w.aesXts) args.push('--flash-crypt-conf', '0xf');
      args.push('--output', w.out, IMAGE);
      cfg.log(`${w.id}: whole process (node ${CLI}) …`);
      let last: Check = { ok: false, detail: 'no run' };
      const samples = timeProcess(node, [cliPath, ...args], {
        cwd: scratch,
        warmups: cfg.warmups,
        runs: cfg.runs,
        afterRun: () => {
          const out = path.join(scratch, w.out);
          const c = check(fs.existsSync(out) ? new Uint8Array(fs.readFileSync(out)) : undefined, w.sha256, 'CLI output');
          if (last.ok || last.detail === 'no run') last = c;
          fs.rmSync(out, { force: true });
        },
      });
      rows.push(
        makeRow({
          id: w.id,
          variant: `whole process (${CLI})`,
          workload: `node ${CLI} ${args.join(' ')}`,
          unit: 's',
          higherIsBetter: false,
          samples,
          peer: w.peer,
          check: last,
          notes: [`${cfg.warmups} warm-ups + ${cfg.runs} runs, wall time of spawnSync (${node}); no whole-process target in the issue`],
        }),
      );
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  const mb = image.length / 1e6;
  for (const w of selected) {
    const cipher = createFlashCipher(nodeCrypto, new Uint8Array(fs.readFileSync(path.join(SHARED, w.keyFile))), { aesXts: w.aesXts, flashCryptConf: 0xf });
    try {
      cfg.log(`${w.id}: in-process …`);
      const mem = new MemoryTracker();
      let last: Uint8Array | undefined;
      // The ESP32 scheme sets up one AES key per 32 bytes: fewer runs keep the group short.
      const runs = w.aesXts ? cfg.inProcessRuns : Math.max(3, Math.ceil(cfg.inProcessRuns / 3));
      const seconds = timeInProcess(
        () => {
          last = cipher.encrypt(image, 0x10000);
          mem.sample();
        },
        cfg.inProcessWarmups,
        runs,
      );
      rows.push(
        makeRow({
          id: w.id,
          variant: 'in-process, warm',
          workload: `FlashCipher.encrypt(image-4m.bin, 0x10000), ${w.aesXts ? (w.keyFile === 'fe-key-64.bin' ? 'XTS-AES-256' : 'XTS-AES-128') : 'ESP32 AES-256, FLASH_CRYPT_CONFIG 0xF'}`,
          unit: 'MB/s',
          higherIsBetter: true,
          samples: seconds.map((s) => Math.round((mb / s) * 10) / 10),
          target: { op: '>=', value: w.target },
          check: check(last, w.sha256, `last ${w.id} output`),
          memory: mem.peak(),
          notes: [
            `${cfg.inProcessWarmups} warm-ups + ${runs} runs; MB = 10^6 bytes of the 4,194,304-byte image; espsecure has no in-process figure (see the whole-process row)`,
            ...(w.aesXts ? [] : ['one AES-256 key setup per 32-byte block (131,072 for 4 MiB): every block has its own tweaked key']),
          ],
        }),
      );
    } finally {
      cipher.destroy();
    }
  }

  // The ESP32 scheme again, spread over worker threads (what the CLI uses for large inputs).
  const esp32 = selected.find((w) => !w.aesXts);
  if (esp32 !== undefined) {
    const threads = os.availableParallelism();
    const key = new Uint8Array(fs.readFileSync(path.join(SHARED, esp32.keyFile)));
    cfg.log(`${esp32.id}: in-process, ${threads} worker threads …`);
    const runs = Math.max(3, Math.ceil(cfg.inProcessRuns / 3));
    let last: Uint8Array | undefined;
    const seconds = await timeInProcessAsync(
      async () => {
        last = await esp32FlashCryptParallel(key, 0xf, image, 0x10000, 'encrypt', { threads });
      },
      cfg.inProcessWarmups,
      runs,
    );
    key.fill(0);
    rows.push(
      makeRow({
        id: esp32.id,
        variant: `in-process, ${threads} worker threads`,
        workload: 'esp32FlashCryptParallel(key, 0xf, image-4m.bin, 0x10000, "encrypt") (nvsec/node)',
        unit: 'MB/s',
        higherIsBetter: true,
        samples: seconds.map((s) => Math.round((mb / s) * 10) / 10),
        target: { op: '>=', value: esp32.target },
        check: check(last, esp32.sha256, 'last parallel output'),
        notes: [`${cfg.inProcessWarmups} warm-ups + ${runs} runs; worker start-up included in every run (the workers live for one call)`],
      }),
    );
  }
  return rows;
}
