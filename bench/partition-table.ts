// Partition table benchmarks: CSV -> binary of the golden vector's 13-partition table, in-process
// (convertPartitionTable) and as a whole `nvsec partition-table` process. Outputs are checked
// against gen_esp32part.py 1.5's sha256 from the vector's manifest. No peer figure or target
// exists for these workloads (../shared/bench/README.md has none); the rows are informative.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertPartitionTable, nodeCrypto } from './_dist.js';
import { type Check, makeRow, type Row, sha256Hex, timeInProcess, timeProcess } from './_harness.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VECTOR = path.resolve(REPO, '..', 'shared', 'vectors', 'boot', 'partition-table-ota-nvs-keys');
/** The ids of this group, for bench/run.ts's GROUPS. */
export const PARTITION_TABLE_IDS: readonly string[] = ['partition-table-csv2bin', 'partition-table-cli'];

/** Options of the partition-table group. */
export interface PartitionTableBenchConfig {
  only: (id: string) => boolean;
  log: (line: string) => void;
  quick: boolean;
}

/** Runs the partition-table group (nothing when the vector is absent). */
export function runPartitionTableGroup(cfg: PartitionTableBenchConfig): Row[] {
  if (!PARTITION_TABLE_IDS.some(cfg.only)) return [];
  if (!fs.existsSync(path.join(VECTOR, 'manifest.json'))) {
    cfg.log('partition-table: golden vector not found, group skipped');
    return [];
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(VECTOR, 'manifest.json'), 'utf8')) as { outputs: { binary: { sha256: string } } };
  const expected = manifest.outputs.binary.sha256;
  const csv = new Uint8Array(fs.readFileSync(path.join(VECTOR, 'partitions.csv')));
  const checkOf = (bytes: Uint8Array | undefined): Check => {
    const hex = bytes === undefined ? 'none' : sha256Hex(bytes);
    return hex === expected ? { ok: true, detail: `sha256 ${expected.slice(0, 16)}… (gen_esp32part.py 1.5)` } : { ok: false, detail: `OUTPUT MISMATCH: sha256 ${hex}, expected ${expected}` };
  };
  const rows: Row[] = [];
  if (cfg.only('partition-table-csv2bin')) {
    cfg.log('partition-table-csv2bin: in-process …');
    const calls = cfg.quick ? 200 : 2000;
    let last: Uint8Array | undefined;
    const seconds = timeInProcess(
      () => {
        for (let i = 0; i < calls; i++) last = convertPartitionTable(csv, nodeCrypto).output;
      },
      cfg.quick ? 1 : 3,
      cfg.quick ? 3 : 11,
    );
    rows.push(
      makeRow({
        id: 'partition-table-csv2bin',
        variant: 'in-process',
        workload: 'convertPartitionTable: 13-partition CSV -> 3072-byte binary (parse, verify, encode, MD5)',
        unit: 'ops/s',
        higherIsBetter: true,
        samples: seconds.map((s) => calls / s),
        check: checkOf(last),
      }),
    );
  }
  if (cfg.only('partition-table-cli')) {
    cfg.log('partition-table-cli: whole process …');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-bench-pt-'));
    try {
      const out = path.join(tmp, 'partitions.bin');
      let check: Check = { ok: false, detail: 'no run' };
      const seconds = timeProcess(process.execPath, ['dist/nvsec.mjs', 'partition-table', '-q', path.join(VECTOR, 'partitions.csv'), out], {
        cwd: REPO,
        warmups: cfg.quick ? 1 : 2,
        runs: cfg.quick ? 3 : 5,
        afterRun: () => {
          check = checkOf(new Uint8Array(fs.readFileSync(out)));
        },
      });
      rows.push(
        makeRow({
          id: 'partition-table-cli',
          variant: 'dist/nvsec.mjs',
          workload: 'nvsec partition-table -q partitions.csv partitions.bin (whole process)',
          unit: 's',
          higherIsBetter: false,
          samples: seconds,
          check,
        }),
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  return rows;
}
