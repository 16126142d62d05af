import type { CryptoProvider } from '../../crypto/provider.js';
import { NvsecError } from '../../errors/nvsec-error.js';
import { EntropyAccumulator, type EntropySourceSpec } from '../accumulator.js';
import { ENTROPY_CONSTANTS, type EntropyHash, type EntropyPoll } from '../entropy-source.js';
import { NvSeedSource } from '../nv-seed.js';
import type { SeedStore } from '../seed-store.js';
import type { SelftestCase } from './case.js';

// Shared by the collector and scenario replays: the golden-run file format, the in-memory seed
// file, the fake counter hardware source and the comparison of entropy calls.

/** One call of the entropy function, as recorded in a golden run. */
export interface EntropyCall {
  len: number;
  ret: number;
  output: string;
}

/** What one boot of a golden run must show. */
export interface Boot {
  entropy_calls: EntropyCall[];
  hardware_polls: number;
  seedfile_after: string;
  /** DRBG runs only: the seeding result, the calls made while seeding, and each request's result. */
  seed_ret: number;
  entropy_calls_during_seed: number;
  requests: Array<{ ret: number | null; output: string }>;
}

/** A golden Mbed TLS run (collector alone, or collector + NV seed + DRBG), see vectors/entropy/README.md. */
export interface GoldenRun {
  id: string;
  /** "none (...)" for collector-only runs, else e.g. "CTR_DRBG-AES-256". */
  drbg: string;
  constants: Record<string, unknown>;
  personalization: string;
  predictionResistance: boolean;
  reseedInterval: number;
  additionalInputs: string[];
  blockSize: number;
  sources: Array<{ kind: 'hardware' | 'nv_seed'; threshold: number; strong: boolean }>;
  initialSeedfile: string;
  hardware: { chunk: number; starts: Record<string, number>; used: boolean };
  requests: number[];
  boots: Array<[string, Boot]>;
}

function bad(what: string): never {
  throw new NvsecError('SELFTEST_BAD_FILE', `Not a valid Mbed TLS golden-run vector file: ${what}`);
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const int = (x: unknown, what: string): number => (Number.isSafeInteger(x) ? (x as number) : bad(`${what} must be an integer`));
const hex = (x: unknown, what: string): string => (typeof x === 'string' && /^([0-9a-f]{2})*$/.test(x) ? x : bad(`${what} must be lowercase hex`));

/** Checks and extracts the fields the replays use; see vectors/entropy/README.md. */
export function parseGoldenRun(file: unknown): GoldenRun {
  if (!isObject(file)) bad('expected a JSON object');
  const id = typeof file.id === 'string' ? file.id : bad('"id" is missing');
  const c = isObject(file.constants) ? file.constants : bad('"constants" is missing');
  const blockSize = int(c.entropy_block_size, 'constants.entropy_block_size');
  if (blockSize !== 64 && blockSize !== 32) bad(`constants.entropy_block_size ${blockSize} is neither 64 nor 32`);
  if (c.entropy_max_sources !== ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MAX_SOURCES || c.entropy_max_gather !== ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MAX_GATHER) {
    bad('constants.entropy_max_sources/entropy_max_gather differ from Mbed TLS 2.28 (20/128)');
  }
  if (!Array.isArray(file.entropy_sources)) bad('"entropy_sources" is missing');
  const sources = file.entropy_sources.map((s: unknown, i: number) => {
    if (!isObject(s) || s.index !== i || typeof s.name !== 'string' || typeof s.strong !== 'boolean') bad(`entropy_sources[${i}] is malformed`);
    const kind = s.name.startsWith('hardware') ? 'hardware' : s.name.startsWith('nv_seed') ? 'nv_seed' : bad(`unknown source "${s.name}"`);
    return { kind, threshold: int(s.threshold, `entropy_sources[${i}].threshold`), strong: s.strong } as const;
  });
  sources.forEach((s, i) => {
    if (s.kind === 'nv_seed' && i !== sources.length - 1) bad('the NV seed source must be registered last, as mbedtls_entropy_init does');
  });
  const inputs = isObject(file.inputs) ? file.inputs : bad('"inputs" is missing');
  const drbg = typeof inputs.drbg === 'string' ? inputs.drbg : bad('inputs.drbg is missing');
  const hw = isObject(inputs.hardware_source) ? inputs.hardware_source : bad('inputs.hardware_source is missing');
  if (hw.pattern !== 'counter') bad(`inputs.hardware_source.pattern "${String(hw.pattern)}" is not "counter"`);
  const used = hw.used === true;
  if (used !== sources.some((s) => s.kind === 'hardware')) bad('inputs.hardware_source.used disagrees with entropy_sources');
  if (!Array.isArray(inputs.requests)) bad('inputs.requests is missing');
  const requests = inputs.requests.map((r: unknown, i: number) => int(isObject(r) ? r.len : undefined, `inputs.requests[${i}].len`));
  const additionalInputs = inputs.requests.map((r: unknown, i: number) =>
    hex(isObject(r) ? (r.additional_input ?? '') : '', `inputs.requests[${i}].additional_input`),
  );
  const expected = isObject(file.expected) ? file.expected : bad('"expected" is missing');
  const bootNames = Object.keys(expected).filter((k) => /^boot\d+$/.test(k)).sort((a, b) => Number(a.slice(4)) - Number(b.slice(4)));
  if (bootNames.length === 0) bad('"expected" has no boots');
  const starts: Record<string, number> = {};
  const boots = bootNames.map((name): [string, Boot] => {
    const b = expected[name];
    if (!isObject(b) || !Array.isArray(b.entropy_calls)) bad(`expected.${name} is malformed`);
    starts[name] = used ? int(hw[`${name}_start`], `inputs.hardware_source.${name}_start`) : 0;
    const calls = b.entropy_calls.map((x: unknown, i: number) => {
      if (!isObject(x)) bad(`expected.${name}.entropy_calls[${i}] is malformed`);
      return { len: int(x.len, 'len'), ret: int(x.ret, 'ret'), output: hex(x.output, `expected.${name}.entropy_calls[${i}].output`) };
    });
    const requestsOut = Array.isArray(b.requests)
      ? b.requests.map((r: unknown, i: number) => {
          if (!isObject(r)) bad(`expected.${name}.requests[${i}] is malformed`);
          return { ret: r.ret === null ? null : int(r.ret, 'ret'), output: typeof r.output === 'string' ? hex(r.output, 'output') : '' };
        })
      : [];
    return [
      name,
      {
        entropy_calls: calls,
        hardware_polls: int(b.hardware_polls, `expected.${name}.hardware_polls`),
        seedfile_after: hex(b.seedfile_after, `expected.${name}.seedfile_after`),
        seed_ret: b.seed_ret === undefined ? 0 : int(b.seed_ret, `expected.${name}.seed_ret`),
        entropy_calls_during_seed: b.entropy_calls_during_seed === undefined ? 0 : int(b.entropy_calls_during_seed, 'entropy_calls_during_seed'),
        requests: requestsOut,
      },
    ];
  });
  return {
    id,
    drbg,
    constants: c,
    personalization: hex(inputs.personalization ?? '', 'inputs.personalization'),
    predictionResistance: inputs.prediction_resistance === true,
    reseedInterval: inputs.reseed_interval === undefined ? 10000 : int(inputs.reseed_interval, 'inputs.reseed_interval'),
    additionalInputs,
    blockSize,
    sources,
    initialSeedfile: hex(inputs.initial_seedfile, 'inputs.initial_seedfile'),
    hardware: { chunk: used ? int(hw.chunk, 'inputs.hardware_source.chunk') : 0, starts, used },
    requests,
    boots,
  };
}

/** The seed file in memory, with the semantics of Mbed TLS's default file functions. */
export class MemorySeedFile implements SeedStore {
  constructor(public content: Uint8Array | null) {}
  read(length: number): Uint8Array | null {
    return this.content ? this.content.slice(0, Math.min(length, this.content.length)) : null;
  }
  write(seed: Uint8Array): void {
    this.content = seed.slice();
  }
}

/** The README's fake hardware source: bytes c, c+1, ... (mod 256), `min(L, chunk)` per poll. */
export function counterSource(start: number, chunk: number): { poll: EntropyPoll; polls: () => number } {
  let c = start & 0xff;
  let polls = 0;
  return {
    poll: (maxLength) => {
      polls++;
      const out = new Uint8Array(Math.min(maxLength, chunk));
      for (let i = 0; i < out.length; i++) out[i] = (c + i) & 0xff;
      c = (c + out.length) & 0xff;
      return out;
    },
    polls: () => polls,
  };
}


/**
 * A fresh accumulator for one boot: the run's sources in their registered order (the fake counter
 * hardware source restarted at this boot's start value) and the NV seed over `seedfile`.
 */
export function bootAccumulator(
  run: GoldenRun,
  bootName: string,
  crypto: CryptoProvider,
  seedfile: MemorySeedFile,
): { acc: EntropyAccumulator; hardwarePolls: () => number } {
  const hw = counterSource(run.hardware.starts[bootName] ?? 0, run.hardware.chunk);
  const sources: EntropySourceSpec[] = [];
  let nvSeed: NvSeedSource | null = null;
  for (const s of run.sources) {
    if (s.kind === 'hardware') sources.push({ poll: hw.poll, threshold: s.threshold, strong: s.strong });
    else if (s.threshold !== run.blockSize || !s.strong) bad('the NV seed source must be strong with threshold = block size');
    else nvSeed = new NvSeedSource({ store: seedfile, size: run.blockSize });
  }
  const hash: EntropyHash = run.blockSize === 64 ? 'sha512' : 'sha256';
  return { acc: new EntropyAccumulator({ crypto, hash, sources, nvSeed }), hardwarePolls: hw.polls };
}

/** A selftest case from a comparison. */
export function check(suite: string, name: string, passed: boolean, detail: string): SelftestCase {
  return { suite, name, passed, ...(passed ? {} : { detail }) };
}

/** Compares recorded entropy calls with the expected ones; the first difference is the detail. */
export function compareCalls(got: EntropyCall[], want: EntropyCall[], unexpected: string[]): { passed: boolean; detail?: string } {
  if (unexpected.length > 0) return { passed: false, detail: unexpected.join('; ') };
  if (got.length !== want.length) return { passed: false, detail: `${got.length} calls, expected ${want.length}` };
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (g.len !== w.len || g.ret !== w.ret || g.output !== w.output) {
      return { passed: false, detail: `call ${i + 1} (len ${w.len}): got ret ${g.ret} output "${g.output}", expected ret ${w.ret} output "${w.output}"` };
    }
  }
  return { passed: true };
}
