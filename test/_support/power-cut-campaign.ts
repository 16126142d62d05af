import { isDeepStrictEqual } from 'node:util';
import { type Flash, SECTOR_SIZE } from '../../src/flash/flash.js';
import { PowerCutError } from '../../src/flash/flash-error.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { PowerCutFlash } from '../../src/flash/power-cut-flash.js';
import { NvsError } from '../../src/nvs/esp-err.js';
import type { NvsHandle, NvsValueType } from '../../src/nvs/store/handle.js';
import { type NvsInitOptions, NvsStorage } from '../../src/nvs/store/storage.js';
import { mulberry32 } from './mulberry32.js';

/*
 * Power-cut campaign for the NVS runtime. A deterministic workload of mixed operations runs once
 * over a flash that records every write and erase. Before each of them, the campaign copies the
 * flash, applies that operation cut short (cleanly: not at all; torn: a prefix of its bytes) on
 * the copy through PowerCutFlash, re-initialises the store on the copy and checks every key
 * against a model: the last committed value, or for the operation in flight its old or new value.
 * Because the workload is deterministic, the copy equals what a replay from scratch with a cut at
 * that operation produces; `replaySamples` re-checks that claim by real replays.
 */

export type Value = { type: NvsValueType; value: number | bigint | string | Uint8Array };
type Model = Map<string, Value>; // "ns/key" -> value

export type Op =
  | { kind: 'set'; ns: string; key: string; v: Value }
  | { kind: 'erase'; ns: string; key: string }
  | { kind: 'eraseAll'; ns: string };

export interface CampaignOptions {
  ops: number;
  seed: number;
  pages: number;
  /** Re-check this many cut points by a full replay on PowerCutFlash. */
  replaySamples?: number;
  /** Every N-th cut point, keep using the recovered store (write every key again) and re-check. */
  continueEvery?: number;
  /** Run on an encrypted partition (XTS per entry) with these init options. */
  init?: NvsInitOptions;
  onProgress?: (done: number, total: number) => void;
}

export interface CampaignResult {
  operations: number;
  flashOperations: number;
  writes: number;
  erases: number;
  cutPoints: number;
  checks: number;
  replaysMatched: number;
  continued: number;
  gcErases: number;
  failures: string[];
}

/** Deterministic floats in [0, 1). */
export function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}

const NAMESPACES = ['cfg', 'cred', 'log'];
const FIXED: NvsValueType[] = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64'];

/** The workload: sets of every type, multi-page blobs, erases, namespace erases. */
export function makeWorkload(count: number, seed: number): Op[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const ops: Op[] = [];
  for (let i = 0; i < count; i++) {
    const ns = NAMESPACES[int(0, 2)]!;
    const roll = r();
    if (roll < 0.06) {
      ops.push({ kind: 'erase', ns, key: `k${int(0, 9)}` });
    } else if (roll < 0.07) {
      ops.push({ kind: 'eraseAll', ns });
    } else if (roll < 0.55) {
      const type = FIXED[int(0, 7)]!;
      ops.push({ kind: 'set', ns, key: `k${int(0, 9)}`, v: { type, value: randomInt(type, r) } });
    } else if (roll < 0.8) {
      const len = r() < 0.8 ? int(0, 80) : int(81, 600);
      let s = '';
      for (let j = 0; j < len; j++) s += String.fromCharCode(int(0x20, 0x7e));
      ops.push({ kind: 'set', ns, key: `s${int(0, 2)}`, v: { type: 'string', value: s } });
    } else {
      const big = ns === 'cred' && r() < 0.35;
      const len = big ? int(3000, 7000) : int(0, 200);
      const data = new Uint8Array(len);
      for (let j = 0; j < len; j++) data[j] = int(0, 255);
      ops.push({ kind: 'set', ns, key: big ? 'cert' : `b${int(0, 1)}`, v: { type: 'blob', value: data } });
    }
  }
  return ops;
}

function randomInt(type: NvsValueType, r: () => number): number | bigint {
  const bits = Number(type.slice(1));
  const signed = type.startsWith('i');
  if (bits === 64) {
    const v = (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
    return signed ? BigInt.asIntN(64, v) : v;
  }
  const v = Math.floor(r() * 2 ** bits);
  return signed ? v - 2 ** (bits - 1) : v;
}

/** Applies an op to the store and to the model; NOT_ENOUGH_SPACE leaves both as they were. */
function apply(nvs: NvsStorage, handles: Map<string, NvsHandle>, model: Model, op: Op): void {
  let h = handles.get(op.ns);
  if (!h) {
    h = nvs.open(op.ns, 'readwrite');
    handles.set(op.ns, h);
  }
  try {
    if (op.kind === 'set') {
      h.set(op.key, op.v.type, op.v.value);
      model.set(`${op.ns}/${op.key}`, op.v);
    } else if (op.kind === 'erase') {
      if (!model.has(`${op.ns}/${op.key}`)) return;
      h.eraseKey(op.key);
      model.delete(`${op.ns}/${op.key}`);
    } else {
      h.eraseAll();
      for (const k of [...model.keys()]) if (k.startsWith(`${op.ns}/`)) model.delete(k);
    }
  } catch (e) {
    if (e instanceof NvsError && e.code === 'ESP_ERR_NVS_NOT_ENOUGH_SPACE') return;
    throw e;
  }
}

/** Checks a recovered store: untouched keys equal `before`; keys of the op in flight equal before or after. */
function check(nvs: NvsStorage, before: Model, after: Model): string | null {
  const keys = new Set([...before.keys(), ...after.keys()]);
  for (const ns of NAMESPACES) {
    let h: NvsHandle;
    try {
      h = nvs.open(ns, 'readonly');
    } catch (e) {
      if (e instanceof NvsError && e.code === 'ESP_ERR_NVS_NOT_FOUND') {
        if ([...before.keys()].some((k) => k.startsWith(`${ns}/`))) return `namespace ${ns} lost`;
        continue;
      }
      throw e;
    }
    for (const e of h.entries()) keys.add(`${ns}/${e.key}`);
  }
  for (const id of keys) {
    const [ns, key] = id.split('/') as [string, string];
    const b = before.get(id);
    const a = after.get(id);
    let got: Value | undefined;
    try {
      const h = nvs.open(ns, 'readonly');
      const type = h.findKey(key);
      if (type) got = { type, value: h.get(key, type) };
    } catch (e) {
      if (!(e instanceof NvsError && e.code === 'ESP_ERR_NVS_NOT_FOUND')) return `${id}: read failed: ${(e as Error).message}`;
    }
    if (!isDeepStrictEqual(got, b) && !isDeepStrictEqual(got, a)) {
      return `${id}: got ${show(got)}, expected ${show(b)}${isDeepStrictEqual(a, b) ? '' : ` or ${show(a)}`}`;
    }
  }
  return null;
}

function show(v: Value | undefined): string {
  if (!v) return 'nothing';
  if (v.value instanceof Uint8Array) return `${v.type}[${v.value.length}]`;
  return `${v.type} ${String(v.value).slice(0, 40)}`;
}

type FlashOp = { kind: 'write'; address: number; data: Uint8Array } | { kind: 'erase'; sector: number };

/** Flash that calls `before` ahead of every write and erase, with the op about to happen. */
class ObservedFlash implements Flash {
  readonly size: number;
  readonly sectorSize = SECTOR_SIZE;
  constructor(
    readonly inner: MemoryFlash,
    private readonly before: (op: FlashOp) => void,
  ) {
    this.size = inner.size;
  }
  read(address: number, dest: Uint8Array): void {
    this.inner.read(address, dest);
  }
  write(address: number, data: Uint8Array): void {
    this.before({ kind: 'write', address, data });
    this.inner.write(address, data);
  }
  eraseSector(sector: number): void {
    this.before({ kind: 'erase', sector });
    this.inner.eraseSector(sector);
  }
}

/** Runs the campaign. */
export function runPowerCutCampaign(opts: CampaignOptions): CampaignResult {
  const ops = makeWorkload(opts.ops, opts.seed);
  const tear = rng(opts.seed ^ 0x5eed);
  const result: CampaignResult = {
    operations: ops.length,
    flashOperations: 0,
    writes: 0,
    erases: 0,
    cutPoints: 0,
    checks: 0,
    replaysMatched: 0,
    continued: 0,
    gcErases: 0,
    failures: [],
  };
  const size = opts.pages * SECTOR_SIZE;
  const mem = new MemoryFlash(size);
  // committed: what the store must hold between operations; predicted: what it holds once the
  // operation in flight completes. A cut may leave, per key, either of them.
  const committed: Model = new Map();
  let predicted: Model = committed;
  const sampleEvery = opts.replaySamples ? Math.max(1, Math.floor((ops.length * 6) / opts.replaySamples)) : 0;
  const snapshots = new Map<number, Uint8Array>(); // cut point -> image checked, for replay comparison

  const flash = new ObservedFlash(mem, (op) => {
    result.flashOperations++;
    if (op.kind === 'write') result.writes++;
    else result.erases++;
    const cutAt = result.flashOperations;
    const len = op.kind === 'write' ? op.data.length : SECTOR_SIZE;
    const tears = [0];
    if (len > 1) tears.push(1 + Math.floor(tear() * (len - 1)));
    for (const tearBytes of tears) {
      const copy = new MemoryFlash(mem.bytes);
      const cut = new PowerCutFlash(copy, { cutAt: 1, tearBytes });
      try {
        if (op.kind === 'write') cut.write(op.address, op.data);
        else cut.eraseSector(op.sector);
      } catch (e) {
        if (!(e instanceof PowerCutError)) throw e;
      }
      if (sampleEvery && cutAt % sampleEvery === 0 && tearBytes === 0) snapshots.set(cutAt, copy.bytes.slice());
      result.checks++;
      const failure = recoverAndCheck(copy, committed, predicted, opts.continueEvery ? cutAt % opts.continueEvery === 0 : false, result, opts.init);
      if (failure) result.failures.push(`cut at flash op ${cutAt} (${op.kind}${tearBytes ? `, torn after ${tearBytes} bytes` : ', clean'}), workload op ${opIndex}: ${failure}`);
    }
    result.cutPoints++;
  });

  let opIndex = 0;
  const nvs = NvsStorage.init(flash, opts.init);
  const handles = new Map<string, NvsHandle>();
  for (const op of ops) {
    predicted = predict(committed, op);
    apply(nvs, handles, committed, op); // updates `committed` once the store op has returned
    predicted = committed;
    opIndex++;
    opts.onProgress?.(opIndex, ops.length);
  }
  const final = check(NvsStorage.init(new MemoryFlash(mem.bytes), opts.init), committed, committed);
  if (final) result.failures.push(`after the whole workload: ${final}`);
  result.gcErases = mem.stats.erases;

  for (const [cutAt, image] of snapshots) {
    const inner = new MemoryFlash(size);
    const cut = new PowerCutFlash(inner, { cutAt });
    const model: Model = new Map();
    const hs = new Map<string, NvsHandle>();
    try {
      const s = NvsStorage.init(cut, opts.init);
      for (const op of ops) apply(s, hs, model, op);
      result.failures.push(`replay for cut ${cutAt} never reached the cut`);
    } catch (e) {
      if (!(e instanceof PowerCutError)) throw e;
    }
    if (Buffer.compare(inner.bytes, image) === 0) result.replaysMatched++;
    else result.failures.push(`replay with a cut at flash op ${cutAt} does not equal the snapshot image`);
  }
  return result;
}

/**
 * The model once `op` succeeds. (An op that fails with NOT_ENOUGH_SPACE leaves the committed
 * model; allowing its predicted value too during the op only widens the check, never hides a loss.)
 */
function predict(committed: Model, op: Op): Model {
  const model = new Map(committed);
  if (op.kind === 'set') model.set(`${op.ns}/${op.key}`, op.v);
  else if (op.kind === 'erase') model.delete(`${op.ns}/${op.key}`);
  else for (const k of [...model.keys()]) if (k.startsWith(`${op.ns}/`)) model.delete(k);
  return model;
}

function recoverAndCheck(
  copy: MemoryFlash,
  before: Model,
  after: Model,
  continueAfter: boolean,
  result: CampaignResult,
  init: NvsInitOptions | undefined,
): string | null {
  let nvs: NvsStorage;
  try {
    nvs = NvsStorage.init(copy, init);
  } catch (e) {
    return `re-init failed: ${(e as Error).message}`;
  }
  const failure = check(nvs, before, after);
  if (failure || !continueAfter) return failure;
  // The recovered store must keep working: bring it to `after` (write every key, erase the rest).
  result.continued++;
  const target = new Map(after);
  try {
    for (const [id, v] of target) {
      const [ns, key] = id.split('/') as [string, string];
      nvs.open(ns, 'readwrite').set(key, v.type, v.value);
    }
    for (const id of before.keys()) {
      if (target.has(id)) continue;
      const [ns, key] = id.split('/') as [string, string];
      const h = nvs.open(ns, 'readwrite');
      if (h.findKey(key)) h.eraseKey(key);
    }
  } catch (e) {
    if (!(e instanceof NvsError && e.code === 'ESP_ERR_NVS_NOT_ENOUGH_SPACE')) return `write after recovery failed: ${(e as Error).message}`;
    return null;
  }
  const again = NvsStorage.init(new MemoryFlash(copy.bytes), init);
  const extra = check(again, target, target);
  return extra ? `after recovery and rewrite: ${extra}` : null;
}

