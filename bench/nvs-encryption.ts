// NVS encryption benchmarks: in-process encrypt/decrypt of the 1 MiB nvs-2000 image (MB/s), and
// the whole-process `nvs encrypt` / `nvs decrypt` CLI runs next to the Python tool's figures. Every
// output is checked against the reference tool's sha256 (../shared/bench/README.md).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decryptNvsImage, encryptNvsImage, NvsEntryCipher, nodeCrypto, parseKeysPartition } from './_dist.js';
import { type Check, makeRow, MemoryTracker, type PeerFigure, type Row, sha256Hex, timeInProcess, timeProcess, type GroupConfig } from './_harness.js';
import { CSV_FILE, EXPECTED_SHA256, generateImage, readCsv, SHARED } from './nvs-generate.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The keys partition of the shared workloads. */
export const KEYS_FILE = path.join(SHARED, 'nvs-keys.bin');
/** sha256 of the tool's `encrypt nvs-2000.csv out-enc.bin 0x100000 --inputkey nvs-keys.bin`. */
export const EXPECTED_SHA256_ENCRYPTED = 'e34ddd09a0fda1914dd8d60435a0d97d33738c67972983e05bc1544422b4b2e2';
/** The ids of this group, for bench/run.ts's GROUPS. */
export const ENCRYPTION_IDS: readonly string[] = ['nvs-encrypt-1mib', 'nvs-decrypt-1mib', 'nvs-encrypt', 'nvs-decrypt'];

/** The bundled CLI (package.json bin). */
const CLI = 'dist/nvsec.mjs';

const PEER_ENCRYPT: PeerFigure = {
  label: 'python3 -m esp_idf_nvs_partition_gen encrypt nvs-2000.csv out-enc.bin 0x100000 --inputkey nvs-keys.bin',
  median: 0.339,
  min: 0.273,
  max: 0.451,
};
const PEER_DECRYPT: PeerFigure = {
  label: 'python3 -m esp_idf_nvs_partition_gen decrypt out-enc.bin nvs-keys.bin out-dec.bin',
  median: 0.326,
  min: 0.258,
  max: 0.457,
};
/** The targets: 300 MB/s in-process; the whole CLI at least 5x faster than the tool (0.339 s / 5). */
const TARGET_MBPS = { op: '>=' as const, value: 300 };
const TARGET_ENCRYPT_CLI = { op: '<=' as const, value: 0.068 };
const FLOOR_NOTE = "0.068 s is close to Node's own start-up (node -e 0, ~0.065 s on the peer machine): see the floor-node row";

/** The keys of nvs-keys.bin (validated as the device does). */
export function readBenchKeys(): ReturnType<typeof parseKeysPartition> {
  return parseKeysPartition(new Uint8Array(fs.readFileSync(KEYS_FILE)));
}

/** Compares an output's sha256 with the expected one, counting the outputs checked. */
class ShaCheck {
  private checked = 0;
  private bad: string | undefined;

  constructor(private readonly expected: string) {}

  add(bytes: Uint8Array | undefined, what: string): void {
    this.checked++;
    if (bytes === undefined) {
      this.bad ??= `${what}: no output`;
      return;
    }
    const hex = sha256Hex(bytes);
    if (hex !== this.expected) this.bad ??= `${what} (${bytes.length} bytes): sha256 ${hex}, expected ${this.expected}`;
  }

  result(): Check {
    if (this.bad !== undefined) return { ok: false, detail: `OUTPUT MISMATCH: ${this.bad}` };
    return { ok: true, detail: `sha256 of all ${this.checked} outputs = ${this.expected.slice(0, 16)}… (expected)` };
  }
}

/** Runs the encryption group. */
export function runEncryptionGroup(cfg: GroupConfig): Row[] {
  const rows: Row[] = [];
  const node = process.execPath;
  const methodology = `${cfg.warmups} warm-up${cfg.warmups === 1 ? '' : 's'} + ${cfg.runs} runs, wall time of spawnSync (${node})`;

  // Whole process first, while this process is small.
  const cliRows: Array<{ id: 'nvs-encrypt' | 'nvs-decrypt'; args: string[]; out: string; sha: string; peer: PeerFigure }> = [
    {
      id: 'nvs-encrypt',
      args: ['nvs', 'encrypt', 'nvs-2000.csv', 'out-enc.bin', '0x100000', '--inputkey', 'nvs-keys.bin'],
      out: 'out-enc.bin',
      sha: EXPECTED_SHA256_ENCRYPTED,
      peer: PEER_ENCRYPT,
    },
    { id: 'nvs-decrypt', args: ['nvs', 'decrypt', 'enc-in.bin', 'nvs-keys.bin', 'out-dec.bin'], out: 'out-dec.bin', sha: EXPECTED_SHA256, peer: PEER_DECRYPT },
  ];
  for (const c of cliRows) {
    if (!cfg.only(c.id)) continue;
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-bench-enc-'));
    try {
      fs.copyFileSync(CSV_FILE, path.join(scratch, 'nvs-2000.csv'));
      fs.copyFileSync(KEYS_FILE, path.join(scratch, 'nvs-keys.bin'));
      const cliPath = path.join(REPO, CLI);
      const probe = spawnSync(node, [cliPath, 'nvs', c.args[1]!, '--help'], { encoding: 'utf8' });
      if (probe.status !== 0) {
        cfg.log(`${c.id}: skipped, "node ${CLI} nvs ${c.args[1]!}" is not available (register the command in src/cli/nvs.ts and build)`);
        continue;
      }
      if (c.id === 'nvs-decrypt') fs.writeFileSync(path.join(scratch, 'enc-in.bin'), encryptedImage());
      const out = path.join(scratch, c.out);
      const sha = new ShaCheck(c.sha);
      let run = 0;
      cfg.log(`${c.id}: whole process (node ${CLI}) …`);
      const samples = timeProcess(node, [cliPath, ...c.args], {
        cwd: scratch,
        warmups: cfg.warmups,
        runs: cfg.runs,
        afterRun: () => {
          run++;
          sha.add(fs.existsSync(out) ? new Uint8Array(fs.readFileSync(out)) : undefined, `CLI run ${run}`);
          fs.rmSync(out, { force: true });
        },
      });
      rows.push(
        makeRow({
          id: c.id,
          variant: `whole process (${CLI})`,
          workload: `node ${CLI} ${c.args.join(' ')}`,
          unit: 's',
          higherIsBetter: false,
          samples,
          peer: c.peer,
          target: c.id === 'nvs-encrypt' ? TARGET_ENCRYPT_CLI : undefined,
          check: sha.result(),
          notes: c.id === 'nvs-encrypt' ? [methodology, FLOOR_NOTE] : [methodology, 'no target in the issue; includes the key check (diagnosis) before writing'],
        }),
      );
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  const wantEnc = cfg.only('nvs-encrypt-1mib');
  const wantDec = cfg.only('nvs-decrypt-1mib');
  if (!wantEnc && !wantDec) return rows;
  const plain = generateImage(readCsv());
  const cipher = new NvsEntryCipher(nodeCrypto, readBenchKeys());
  try {
    const mb = plain.length / 1e6;
    const encrypted = encryptNvsImage(plain, cipher);
    for (const [id, want, fn, expected, what] of [
      ['nvs-encrypt-1mib', wantEnc, () => encryptNvsImage(plain, cipher), EXPECTED_SHA256_ENCRYPTED, 'encryptNvsImage(image, cipher)'],
      ['nvs-decrypt-1mib', wantDec, () => decryptNvsImage(encrypted, cipher), EXPECTED_SHA256, 'decryptNvsImage(encrypted, cipher)'],
    ] as const) {
      if (!want) continue;
      cfg.log(`${id}: in-process …`);
      const sha = new ShaCheck(expected);
      const mem = new MemoryTracker();
      let last: Uint8Array | undefined;
      const seconds = timeInProcess(
        () => {
          last = fn();
          mem.sample();
        },
        cfg.inProcessWarmups,
        cfg.inProcessRuns,
      );
      sha.add(last, `last ${id} output`);
      rows.push(
        makeRow({
          id,
          variant: 'in-process, warm',
          workload: `${what} on the 1 MiB nvs-2000 image (86 pages, 10,637 entries), keys from nvs-keys.bin`,
          unit: 'MB/s',
          higherIsBetter: true,
          // MB/s of the partition size, rounded to 0.1 (the table prints other units as they are)
          samples: seconds.map((s) => Math.round((mb / s) * 10) / 10),
          target: TARGET_MBPS,
          check: sha.result(),
          memory: mem.peak(),
          notes: [
            `${cfg.inProcessWarmups} warm-ups + ${cfg.inProcessRuns} runs; MB = 10^6 bytes of the ${plain.length}-byte partition; the Python tool has no in-process figure (its whole process is the nvs-encrypt/nvs-decrypt rows)`,
          ],
        }),
      );
    }
  } finally {
    cipher.destroy();
  }
  return rows;
}

/** The nvs-2000 image encrypted in this process (input of the decrypt CLI row). */
function encryptedImage(): Uint8Array {
  const cipher = new NvsEntryCipher(nodeCrypto, readBenchKeys());
  try {
    return encryptNvsImage(generateImage(readCsv()), cipher);
  } finally {
    cipher.destroy();
  }
}
