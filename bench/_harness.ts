// Timing helpers shared by the benchmark groups: whole-process timing (spawnSync, 2 warm-ups +
// 5 runs like the reference-tool methodology), in-process timing, median/min/max, peak-memory
// sampling, rows with peer figures and targets, and the stdout table.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mulberry32 } from '../test/_support/mulberry32.js';

/** Median, min and max of a set of samples. */
export interface Stats {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Run counts and selection of a benchmark group that times whole processes and in-process calls. */
export interface GroupConfig {
  warmups: number;
  runs: number;
  inProcessWarmups: number;
  inProcessRuns: number;
  only: (id: string) => boolean;
  log: (line: string) => void;
}

/** A reference figure from `../shared/bench/peer-baselines.md`. */
export interface PeerFigure {
  label: string;
  median: number;
  min: number;
  max: number;
}

/** A target from the issue: the median must be `<=` (times) or `>=` (throughput) the value. */
export interface Target {
  op: '<=' | '>=';
  value: number;
}

/** Result of a correctness check done alongside a timing (sha256, values read back…). */
export interface Check {
  ok: boolean;
  detail: string;
}

/** Peak memory seen while a workload ran (sampled between rounds, so a lower bound). */
export interface MemoryPeak {
  rssMiB: number;
  heapUsedMiB: number;
}

/** One line of the results table (and of results.json). */
export interface Row {
  id: string;
  variant: string;
  workload: string;
  unit: string;
  /** true: larger is better (ops/s); false: smaller is better (seconds, ms). */
  higherIsBetter: boolean;
  stats: Stats;
  samples: number[];
  peer?: PeerFigure;
  target?: Target;
  /** Against the target: 'pass', 'FAIL', or '-' when there is no target. A failed check is always 'FAIL'. */
  verdict: 'pass' | 'FAIL' | '-';
  /** Median relative to the peer figure, e.g. 5.2 = 5.2x faster than the peer (either unit). */
  speedupVsPeer?: number;
  check?: Check;
  memory?: MemoryPeak;
  notes: string[];
}

/** Median (mean of the two middle values for an even count), min and max. */
export function summarize(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** Seconds elapsed since a `process.hrtime.bigint()` reading. */
export function secondsSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Options of {@link timeProcess}. */
export interface ProcessTiming {
  cwd: string;
  warmups: number;
  runs: number;
  /** Called after every run (warm-ups too) with the run's outcome; throw to abort. */
  afterRun?: (run: { stdout: string; stderr: string }) => void;
}

/**
 * Wall time of a whole process, from spawn to exit (start-up, imports and I/O included), like
 * `hyperfine --warmup W --runs R`. The child gets the parent's environment minus NODE_OPTIONS, so
 * that the `--import tsx` loader of the bench process does not leak into the timed command.
 *
 * @returns the timed runs' wall times in seconds (warm-ups excluded)
 * @throws {Error} when the command fails to start or exits with a non-zero status
 */
export function timeProcess(command: string, args: readonly string[], opts: ProcessTiming): number[] {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const samples: number[] = [];
  for (let i = 0; i < opts.warmups + opts.runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(command, args, { cwd: opts.cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const dt = secondsSince(t0);
    if (r.error) throw r.error;
    if (r.status !== 0) {
      throw new Error(`${command} ${args.join(' ')} exited with ${String(r.status ?? r.signal)}: ${r.stderr.trim()}`);
    }
    opts.afterRun?.({ stdout: r.stdout, stderr: r.stderr });
    if (i >= opts.warmups) samples.push(dt);
  }
  return samples;
}

/**
 * Runs `fn` `warmups` times untimed, then `runs` times, each run timed on its own.
 * @returns seconds per run
 */
export function timeInProcess(fn: () => void, warmups: number, runs: number): number[] {
  for (let i = 0; i < warmups; i++) fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(secondsSince(t0));
  }
  return samples;
}

/** {@link timeInProcess} for an async `fn` (each run awaited before the next starts). */
export async function timeInProcessAsync(fn: () => Promise<void>, warmups: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmups; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(secondsSince(t0));
  }
  return samples;
}

/** Hex SHA-256 of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Peak memory tracker. `sample()` is cheap enough to call once per round (not per operation);
 * JS loops are synchronous, so a timer could not sample during them.
 */
export class MemoryTracker {
  private rss = 0;
  private heap = 0;

  sample(): void {
    const m = process.memoryUsage();
    if (m.rss > this.rss) this.rss = m.rss;
    if (m.heapUsed > this.heap) this.heap = m.heapUsed;
  }

  peak(): MemoryPeak {
    this.sample();
    return { rssMiB: this.rss / 2 ** 20, heapUsedMiB: this.heap / 2 ** 20 };
  }
}

/** What a benchmark group hands to {@link makeRow}. */
export interface RowInput {
  id: string;
  variant: string;
  workload: string;
  unit: string;
  higherIsBetter: boolean;
  samples: number[];
  peer?: PeerFigure | undefined;
  target?: Target | undefined;
  check?: Check | undefined;
  memory?: MemoryPeak | undefined;
  notes?: string[] | undefined;
}

/** Builds a row: statistics, verdict against the target (a failed check fails the row) and ratio to the peer. */
export function makeRow(input: RowInput): Row {
  const stats = summarize(input.samples);
  let verdict: Row['verdict'] = '-';
  if (input.target) {
    const { op, value } = input.target;
    verdict = (op === '<=' ? stats.median <= value : stats.median >= value) ? 'pass' : 'FAIL';
  }
  if (input.check && !input.check.ok) verdict = 'FAIL';
  const row: Row = {
    id: input.id,
    variant: input.variant,
    workload: input.workload,
    unit: input.unit,
    higherIsBetter: input.higherIsBetter,
    stats,
    samples: input.samples,
    verdict,
    notes: input.notes ?? [],
  };
  if (input.peer) {
    row.peer = input.peer;
    row.speedupVsPeer = input.higherIsBetter ? stats.median / input.peer.median : input.peer.median / stats.median;
  }
  if (input.target) row.target = input.target;
  if (input.check) row.check = input.check;
  if (input.memory) row.memory = input.memory;
  return row;
}

/** A number in the row's unit, with sensible precision. */
export function formatValue(v: number, unit: string): string {
  if (unit === 's') return v.toFixed(3);
  if (unit === 'ms') return v < 10 ? v.toFixed(3) : v.toFixed(1);
  if (unit === 'ops/s' || unit === 'devices/s') return Math.round(v).toLocaleString('en-US');
  if (unit === 'MiB') return v.toFixed(0);
  return String(v);
}

function figure(s: { median: number; min: number; max: number }, unit: string): string {
  return `${formatValue(s.median, unit)} (${formatValue(s.min, unit)}–${formatValue(s.max, unit)})`;
}

/** The results as a plain-text table (one line per row, then the notes and failed checks). */
export function formatTable(rows: readonly Row[]): string {
  const header = ['id', 'variant', 'median (min–max)', 'unit', 'peer median (min–max)', 'vs peer', 'target', 'result', 'peak rss / heap MiB'];
  const lines = rows.map((r) => [
    r.id,
    r.variant,
    figure(r.stats, r.unit),
    r.unit,
    r.peer ? figure(r.peer, r.unit) : '-',
    r.speedupVsPeer === undefined ? '-' : `${r.speedupVsPeer.toFixed(2)}x`,
    r.target ? `${r.target.op} ${formatValue(r.target.value, r.unit)}` : '-',
    r.check && !r.check.ok ? 'FAIL (check)' : r.verdict,
    r.memory ? `${r.memory.rssMiB.toFixed(0)} / ${r.memory.heapUsedMiB.toFixed(1)}` : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)];
  const notes: string[] = [];
  for (const r of rows) {
    if (r.check) notes.push(`${r.check.ok ? 'ok  ' : 'FAIL'} ${r.id} [${r.variant}] ${r.check.detail}`);
  }
  for (const r of rows) for (const n of r.notes) notes.push(`note ${r.id} [${r.variant}]: ${n}`);
  if (notes.length > 0) out.push('', ...notes);
  return out.join('\n');
}


/** `count` random indices in [0, n), from a seeded PRNG. */
export function randomIndices(count: number, n: number, seed: number): Uint16Array | Uint32Array {
  const next = mulberry32(seed);
  const out = n <= 0x10000 ? new Uint16Array(count) : new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = next() % n;
  return out;
}
