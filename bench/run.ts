// Benchmark entry: `npm run bench` (builds, then runs this with tsx).
//   --only <id,id>  run only these workloads (ids of ../shared/bench/README.md, or the groups
//                   `cli` and `runtime`)
//   --quick         smoke run: fewer runs and rounds (figures not comparable with the targets)
// Prints a table and writes every row, with machine info, to bench/results.json (git-ignored).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { formatTable, type Row, secondsSince } from './_harness.js';
import { runCliGroup } from './nvs-generate.js';
import { FLASH_ENCRYPTION_IDS, runFlashEncryptionGroup } from './boot-flash-encryption.js';
import { nodeCrypto, parseKeysPartition } from './_dist.js';
import { DRBG_IDS, runDrbgGroup } from './entropy-drbg.js';
import { ENCRYPTION_IDS, runEncryptionGroup } from './nvs-encryption.js';
import { SHARED } from './nvs-generate.js';
import { FULL_RUNTIME, QUICK_RUNTIME, runRuntimeGroup } from './nvs-runtime.js';
import { runSigningGroup, SIGNING_IDS } from './boot-signing.js';
import { PARTITION_TABLE_IDS, runPartitionTableGroup } from './partition-table.js';
import { PKCS11_IDS, runPkcs11Group } from './pkcs11-signing.js';
import { PROVISION_10K_ID, PROVISION_IDS, runProvisionGroup } from './provision.js';

const RUNTIME_IDS = [
  'set_u32_1000keys_steady',
  'get_u32_random_of_1000',
  'get_u32_random_of_1000_compact',
  'set_blob64_1000keys_steady',
  'get_blob64_random_of_1000',
  'storage_init_image',
];
/** The runtime workloads again on an XTS-encrypted partition (ids suffixed ":encrypted"). */
const ENCRYPTED_SUFFIX = ':encrypted';
const GROUPS: Readonly<Record<string, readonly string[]>> = {
  cli: ['floor-node', 'import-nvsec', 'nvs-generate'],
  runtime: RUNTIME_IDS,
  encryption: ENCRYPTION_IDS,
  'runtime-encrypted': RUNTIME_IDS.map((id) => `${id}${ENCRYPTED_SUFFIX}`),
  drbg: DRBG_IDS,
  signing: SIGNING_IDS,
  'partition-table': PARTITION_TABLE_IDS,
  'flash-encryption': FLASH_ENCRYPTION_IDS,
  pkcs11: PKCS11_IDS,
  provision: PROVISION_IDS,
};
const ALL_IDS = Object.values(GROUPS).flat();
/** Workloads run only when named with --only (long, or heavy on the disk). */
const OPT_IN_IDS = [PROVISION_10K_ID];

function usage(message: string): never {
  console.error(`bench: ${message}\nusage: npm run bench -- [--quick] [--only <id,id,…>]\nids: ${[...ALL_IDS, ...OPT_IN_IDS].join(', ')} (groups: ${Object.keys(GROUPS).join(', ')})`);
  process.exit(2);
}

async function main(): Promise<void> {
  let values: { only?: string; quick?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { only: { type: 'string' }, quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (e) {
    usage(e instanceof Error ? e.message : String(e));
  }
  if (values.help) usage('benchmarks of ../shared/bench/README.md');
  const quick = values.quick ?? false;
  let selected = new Set(ALL_IDS);
  if (values.only !== undefined) {
    selected = new Set();
    for (const raw of values.only.split(',')) {
      const id = raw.trim();
      if (id === '') continue;
      const group = GROUPS[id];
      if (group) for (const g of group) selected.add(g);
      else if (ALL_IDS.includes(id) || OPT_IN_IDS.includes(id)) selected.add(id);
      else usage(`unknown id "${id}"`);
    }
    if (selected.size === 0) usage('--only selects nothing');
  }
  const only = (id: string): boolean => selected.has(id);
  const log = (line: string): void => {
    process.stderr.write(`[${secondsSince(start).toFixed(1).padStart(5)} s] ${line}\n`);
  };

  const start = process.hrtime.bigint();
  const rows: Row[] = [];
  // Spawned processes first, while this process is small (fork cost grows with its memory).
  rows.push(
    ...runCliGroup({
      warmups: quick ? 1 : 2,
      runs: quick ? 3 : 5,
      inProcessWarmups: quick ? 1 : 3,
      inProcessRuns: quick ? 3 : 15,
      only,
      log,
    }),
  );
  rows.push(
    ...runEncryptionGroup({ warmups: quick ? 1 : 2, runs: quick ? 3 : 5, inProcessWarmups: quick ? 1 : 5, inProcessRuns: quick ? 5 : 31, only, log }),
  );
  const runtime = { ...(quick ? QUICK_RUNTIME : FULL_RUNTIME), runs: quick ? 1 : 9, log };
  rows.push(...runRuntimeGroup({ ...runtime, only }));
  if (RUNTIME_IDS.some((id) => only(`${id}${ENCRYPTED_SUFFIX}`))) {
    const keys = parseKeysPartition(new Uint8Array(fs.readFileSync(path.join(SHARED, 'nvs-keys.bin'))));
    rows.push(
      ...runRuntimeGroup({ ...runtime, only: (id) => only(`${id}${ENCRYPTED_SUFFIX}`), encryption: { keys, crypto: nodeCrypto } }),
    );
  }
  rows.push(...runDrbgGroup({ only, log, quick }));
  rows.push(...(await runSigningGroup({ warmups: quick ? 1 : 2, runs: quick ? 3 : 5, inProcessWarmups: quick ? 1 : 2, inProcessRuns: quick ? 3 : 9, only, log })));
  rows.push(...runPartitionTableGroup({ only, log, quick }));
  rows.push(
    ...await runFlashEncryptionGroup({ warmups: quick ? 1 : 2, runs: quick ? 3 : 5, inProcessWarmups: quick ? 1 : 3, inProcessRuns: quick ? 3 : 15, only, log }),
  );
  rows.push(...(await runPkcs11Group({ only, log, quick })));
  rows.push(...runProvisionGroup({ only, log, quick }));
  const totalS = secondsSince(start);

  const cpus = os.cpus();
  const usage0 = process.resourceUsage();
  const peakHeapMiB = Math.max(0, ...rows.map((r) => r.memory?.heapUsedMiB ?? 0));
  const machine = {
    node: process.version,
    v8: process.versions.v8,
    openssl: process.versions.openssl,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    totalMemGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  };
  const memory = {
    /** Process-wide peak RSS (getrusage maxrss), all benchmarks included. */
    maxRssMiB: Number((usage0.maxRSS / 1024).toFixed(1)),
    /** Highest heapUsed sampled during the runtime workloads. */
    peakHeapUsedMiB: Number(peakHeapMiB.toFixed(1)),
  };

  console.log(formatTable(rows));
  console.log('');
  console.log(
    `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.totalMemGiB} GiB, ${machine.platform}, Node ${machine.node}` +
      ` (peer figures: 2 vCPU Intel Xeon, Node v20.20.2, see ../shared/bench/peer-baselines.md)`,
  );
  console.log(`memory: peak RSS ${memory.maxRssMiB} MiB (whole bench process), peak heapUsed ${memory.peakHeapUsedMiB} MiB (sampled per round)`);
  const failed = rows.filter((r) => r.verdict === 'FAIL');
  const badChecks = rows.filter((r) => r.check && !r.check.ok);
  console.log(
    `${rows.length} rows, ${rows.filter((r) => r.verdict === 'pass').length} pass, ${failed.length} FAIL against target` +
      `${badChecks.length > 0 ? `, ${badChecks.length} FAILED CHECKS (${badChecks.map((r) => r.id).join(', ')})` : ''}` +
      `; ${totalS.toFixed(1)} s${quick ? ' (--quick: fewer rounds, figures not comparable with the targets)' : ''}`,
  );
  if (rows.some((r) => r.id === 'nvs-generate')) {
    console.log(
      'nvs-generate: the whole-process target (<= 0.023 s) is below Node start-up (node -e 0), so the CLI row cannot pass; the in-process rows time the generate call alone against the same target.',
    );
  }

  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results.json');
  const json = { date: new Date().toISOString(), quick, options: { only: [...selected] }, machine, memory, totalSeconds: totalS, rows };
  fs.writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`results: ${path.relative(process.cwd(), out) || out}`);
  if (badChecks.length > 0) {
    console.error(`bench: OUTPUT CHECK FAILED: ${badChecks.map((r) => `${r.id} [${r.variant}]: ${r.check!.detail}`).join('; ')}`);
    process.exitCode = 1;
  }
}

await main();
