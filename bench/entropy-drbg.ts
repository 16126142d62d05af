// DRBG throughput, in-process on the compiled library (dist/): CTR_DRBG AES-256 with 1 KiB and
// 32-byte requests (Mbed TLS limits), with 64 KiB requests (compat: false, the SP 800-90A
// maximum), and HMAC_DRBG SHA-256 with 1 KiB requests, next to the Mbed TLS 2.28 C figures of
// issue 4. Each DRBG is seeded from a fixed byte stream, so the output is checked against known
// answers (sha256 of the first outputs, computed by the per-block references of
// test/entropy/*-drbg.test.ts).
import { CtrDrbg, HmacDrbg, nodeCrypto } from './_dist.js';
import { type Check, makeRow, MemoryTracker, type PeerFigure, type Row, sha256Hex, type Target, timeInProcess } from './_harness.js';

/** The ids of this group, for bench/run.ts's GROUPS. */
export const DRBG_IDS: readonly string[] = ['ctr_drbg_aes256_1k', 'ctr_drbg_aes256_32b', 'ctr_drbg_aes256_64k', 'hmac_drbg_sha256_1k'];

/** Options of the DRBG group. */
export interface DrbgBenchConfig {
  only: (id: string) => boolean;
  log: (line: string) => void;
  /** Fewer runs and calls (figures not comparable with the targets). */
  quick: boolean;
}

const MIB = 2 ** 20;
const peer = (label: string, median: number, min = median, max = median): PeerFigure => ({ label, median, min, max });
const atLeast = (value: number): Target => ({ op: '>=', value });

/** A deterministic entropy stream (bytes 0, 1, 2, …), so outputs can be checked. */
function byteStream(): (n: number) => Uint8Array {
  let c = 0;
  return (n) => Uint8Array.from({ length: n }, () => c++ & 0xff);
}
const PERSONALIZATION = new TextEncoder().encode('nvsec bench');

interface Generator {
  generate(length: number): Uint8Array;
  destroy(): void;
}

interface Workload {
  id: string;
  what: string;
  make: () => Generator;
  length: number;
  /** generate calls per timed run (full / quick). */
  calls: number;
  quickCalls: number;
  peer: PeerFigure;
  target: Target;
  /** sha256 of the first 8 outputs of a fresh generator. */
  expected: string;
  notes: string[];
}

const ctr = (compat: boolean) => (): Generator => CtrDrbg.seed({ crypto: nodeCrypto, entropy: byteStream(), personalization: PERSONALIZATION, compat });
const hmac = (): Generator => HmacDrbg.seed({ crypto: nodeCrypto, hash: 'sha256', entropy: byteStream(), personalization: PERSONALIZATION });

// The 64 KiB workload first, while the heap is small (see its note).
const WORKLOADS: readonly Workload[] = [
  {
    id: 'ctr_drbg_aes256_64k',
    what: 'CtrDrbg.generate(65536), AES-256, compat: false (SP 800-90A maximum per request)',
    make: ctr(false),
    length: 65536,
    calls: 400,
    quickCalls: 80,
    peer: peer('Mbed TLS 2.28 C, 1 KiB requests (its maximum per call; issue 4)', 590),
    target: atLeast(2 * 590),
    expected: '655a76d28052485bd9697ef7501beb6d343614d18d5a3a9e0724044a4204de8c',
    notes: [
      'Mbed TLS refuses requests over 1024 bytes (-0x0036); its figure is the 1 KiB one, the target 2x that',
      'runs first: each call returns a fresh 64 KiB buffer, and once earlier workloads have shaped the heap, glibc trims ' +
        'the freed buffers after every GC so each new one is page-faulted in again (about 950-1050 MiB/s then on the 2-vCPU VM; ' +
        '2200+ with MALLOC_TRIM_THRESHOLD_=33554432)',
    ],
  },
  {
    id: 'ctr_drbg_aes256_1k',
    what: 'CtrDrbg.generate(1024), AES-256, compat (Mbed TLS limits), no additional input',
    make: ctr(true),
    length: 1024,
    calls: 10_000,
    quickCalls: 2_000,
    peer: peer('Mbed TLS 2.28 C, mbedtls_ctr_drbg_random 1 KiB (issue 4)', 590),
    target: atLeast(590),
    expected: '4dcb971f0e11e876d7325135135e4c7ac879fc88761bc9af86165bae8623cc8f',
    notes: [],
  },
  {
    id: 'ctr_drbg_aes256_32b',
    what: 'CtrDrbg.generate(32), AES-256, compat, no additional input',
    make: ctr(true),
    length: 32,
    calls: 20_000,
    quickCalls: 4_000,
    peer: peer('Mbed TLS 2.28 C, 32-byte requests (issue 4: 128–178 MiB/s; median = midpoint)', 153, 128, 178),
    target: atLeast(100),
    expected: '7499b63fc1d4b49525e888afe3c5a0216bda2d7e03ebfa1ab7cc5dc9475f778e',
    notes: [],
  },
  {
    id: 'hmac_drbg_sha256_1k',
    what: 'HmacDrbg.generate(1024), SHA-256, compat, no additional input',
    make: hmac,
    length: 1024,
    calls: 1_000,
    quickCalls: 200,
    peer: peer('Mbed TLS 2.28 C, mbedtls_hmac_drbg_random 1 KiB (issue 4)', 21),
    target: atLeast(21),
    expected: 'ceb3f69a4e74c62492b449fe4a3129b46a6af9e76090d6ac868357af67ae195c',
    notes: [],
  },
];

/** Outputs of a fresh generator against the known answer. */
function checkOutputs(w: Workload): Check {
  const g = w.make();
  try {
    const outs: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) outs.push(g.generate(w.length));
    const all = new Uint8Array(8 * w.length);
    outs.forEach((o, i) => all.set(o, i * w.length));
    const got = sha256Hex(all);
    if (got !== w.expected) return { ok: false, detail: `OUTPUT MISMATCH: sha256 of the first 8 outputs ${got}, expected ${w.expected}` };
    return { ok: true, detail: `sha256 of the first 8 outputs from the fixed seed = ${w.expected.slice(0, 16)}… (per-block reference)` };
  } finally {
    g.destroy();
  }
}

/** Runs the DRBG group. */
export function runDrbgGroup(cfg: DrbgBenchConfig): Row[] {
  const rows: Row[] = [];
  const warmups = cfg.quick ? 1 : 3;
  const runs = cfg.quick ? 5 : 15;
  for (const w of WORKLOADS) {
    if (!cfg.only(w.id)) continue;
    cfg.log(`${w.id}: in-process …`);
    const check = checkOutputs(w);
    const calls = cfg.quick ? w.quickCalls : w.calls;
    const g = w.make();
    const mem = new MemoryTracker();
    let seconds: number[];
    try {
      seconds = timeInProcess(
        () => {
          for (let i = 0; i < calls; i++) g.generate(w.length);
          mem.sample();
        },
        warmups,
        runs,
      );
    } finally {
      g.destroy();
    }
    const mib = (calls * w.length) / MIB;
    rows.push(
      makeRow({
        id: w.id,
        variant: 'in-process, warm',
        workload: w.what,
        unit: 'MiB/s',
        higherIsBetter: true,
        samples: seconds.map((s) => Math.round((mib / s) * 10) / 10),
        peer: w.peer,
        target: w.target,
        check,
        memory: mem.peak(),
        notes: [
          `${warmups} warm-ups + ${runs} runs of ${calls.toLocaleString('en-US')} calls; MiB = 2^20 bytes of output; seeded once from a fixed stream, default reseed interval (10000 calls) included`,
          ...w.notes,
        ],
      }),
    );
  }
  return rows;
}
