import { SECTOR_SIZE } from '../../src/flash/flash.js';
import { PowerCutError } from '../../src/flash/flash-error.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { PowerCutFlash } from '../../src/flash/power-cut-flash.js';
import type { Flash } from '../../src/flash/flash.js';
import { type NvsInitOptions, NvsStorage } from '../../src/nvs/store/storage.js';
import { DEFAULT_OBJECTS } from '../../src/pkcs11/pal/default-labels.js';
import { NvsObjectStore } from '../../src/pkcs11/pal/nvs-object-store.js';
import { PalError } from '../../src/pkcs11/pal/pal-error.js';
import { rng } from './power-cut-campaign.js';

/*
 * Power-cut campaign for the token's NVS object store. A deterministic workload of saves that
 * replace an object, saves that create one and destroys runs over a small partition (pages fill,
 * get reclaimed and erased). Before each step the image is copied; the step is replayed on copies
 * with a clean and several torn cuts at each of its flash writes and erases; each copy is
 * re-initialised and every label must hold its value before the step or after it, and the store
 * must open without notes. Every 7th recovery also finishes the step on the recovered store and
 * re-checks after another reboot.
 */

export type PalModel = Map<string, { data: Uint8Array; isPrivate: boolean }>;
export type PalStep = { label: string; data: Uint8Array; isPrivate: boolean } | { label: string; destroy: true };
export type PalApply = (store: NvsObjectStore, step: PalStep) => void;

export interface PalCampaignOptions {
  steps: number;
  seed: number;
  pages: number;
  /** Bytes of a torn write or erase that reach the flash (0 = clean cut). */
  tears: number[];
  init: () => NvsInitOptions | undefined;
  /** How a step is applied; default {@link applyPalStep}. Tests pass a broken one to show the campaign can fail. */
  apply?: PalApply;
}

export interface PalCampaignResult {
  steps: number;
  cutPoints: number;
  checks: number;
  continued: number;
  erases: number;
  /** Cut points by the kind of step they interrupted. */
  counts: { replace: number; create: number; destroy: number };
  /** Steps refused with PAL_STORE_FULL (the partition had no room); they must change nothing. */
  full: number;
  failures: string[];
}

const LABELS = ['Device Priv TLS Key', 'Device Cert', 'Root Cert', 'HMAC Key', 'Device Pub TLS Key'];

/** The workload: mostly default-label replacements, every third step a new dynamic object, periodic destroys. */
export function palWorkload(count: number, seed: number): PalStep[] {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const steps: PalStep[] = [];
  for (let i = 0; i < count; i++) {
    const label = i % 3 === 2 ? `dyn ${i}` : LABELS[int(0, LABELS.length - 1)]!;
    const secret = DEFAULT_OBJECTS.find((o) => o.label === label)?.secret ?? r() < 0.5;
    const len = i % 4 === 0 ? int(1000, 1700) : int(0, 400);
    const data = new Uint8Array(len);
    for (let j = 0; j < len; j++) data[j] = int(0, 255);
    steps.push({ label, data, isPrivate: secret });
    if (i % 6 === 5) steps.push({ label: `dyn ${i - 3}`, destroy: true }); // at most two dynamic objects live
  }
  return steps;
}

/** Applies a step the way the token does: save, or find + destroy. */
export function applyPalStep(store: NvsObjectStore, step: PalStep): void {
  if ('destroy' in step) {
    const h = store.find(step.label);
    if (h !== null) store.destroy(h);
  } else store.save(step.label, step.data, { isPrivate: step.isPrivate });
}

const same = (a: { data: Uint8Array; isPrivate: boolean } | undefined, b: { data: Uint8Array; isPrivate: boolean } | undefined) =>
  a === b || (a !== undefined && b !== undefined && a.isPrivate === b.isPrivate && Buffer.compare(a.data, b.data) === 0);

/** Checks a recovered store: no notes, every label equal to `before` or `after`. */
export function checkPalStore(store: NvsObjectStore, before: PalModel, after: PalModel): string | null {
  if (store.notes.length) return `notes: ${store.notes.join('; ')}`;
  const labels = new Set([...before.keys(), ...after.keys(), ...store.labels()]);
  for (const label of labels) {
    const h = store.find(label);
    let got: { data: Uint8Array; isPrivate: boolean } | undefined;
    if (h !== null) {
      try {
        got = store.get(h);
      } catch (e) {
        return `${label}: ${(e as Error).message}`;
      }
    }
    if (!same(got, before.get(label)) && !same(got, after.get(label))) return `${label}: neither old nor new (${got ? `${got.data.length} bytes` : 'nothing'})`;
  }
  return null;
}

/** Runs `f`; true when it failed with PAL_STORE_FULL. */
function storeFull(f: () => void): boolean {
  try {
    f();
    return false;
  } catch (e) {
    if (e instanceof PalError && e.code === 'PAL_STORE_FULL') return true;
    throw e;
  }
}

const openStore = (flash: Flash, init?: NvsInitOptions) => new NvsObjectStore(NvsStorage.init(flash, init).open('pkcs11', 'readwrite'));

/** Runs the campaign. */
export function runPalPowerCutCampaign(opts: PalCampaignOptions): PalCampaignResult {
  const applyStep = opts.apply ?? applyPalStep;
  const mem = new MemoryFlash(opts.pages * SECTOR_SIZE);
  let live = openStore(mem, opts.init());
  const model: PalModel = new Map();
  const r: PalCampaignResult = { steps: 0, cutPoints: 0, checks: 0, continued: 0, erases: 0, counts: { replace: 0, create: 0, destroy: 0 }, full: 0, failures: [] };
  const eraseStart = mem.stats.erases;
  for (const [i, step] of palWorkload(opts.steps, opts.seed).entries()) {
    r.steps++;
    const after: PalModel = new Map(model);
    if ('destroy' in step) after.delete(step.label);
    else after.set(step.label, { data: step.data, isPrivate: step.isPrivate });
    const kind = 'destroy' in step ? 'destroy' : model.has(step.label) ? 'replace' : 'create';
    const what = `step ${i} (${kind} "${step.label}")`;
    const image = mem.bytes.slice();
    const counter = new PowerCutFlash(new MemoryFlash(image), null);
    const full = storeFull(() => applyStep(openStore(counter, opts.init()), step));
    if (full) {
      // The partition has no room for this save: NVS refuses it and every label keeps its value.
      r.full++;
      after.clear();
      for (const [k, v] of model) after.set(k, v);
    }
    r.counts[kind] += counter.operations;
    for (let at = 1; at <= counter.operations; at++) {
      r.cutPoints++;
      for (const tearBytes of opts.tears) {
        const copy = new MemoryFlash(image);
        try {
          applyStep(openStore(new PowerCutFlash(copy, { cutAt: at, tearBytes }), opts.init()), step);
          r.failures.push(`${what}: the cut at op ${at} never happened`);
        } catch (e) {
          if (!(e instanceof PalError && e.cause instanceof PowerCutError)) throw e;
        }
        r.checks++;
        let recovered: NvsObjectStore;
        try {
          recovered = openStore(copy, opts.init());
        } catch (e) {
          r.failures.push(`${what}, cut at op ${at}, tear ${tearBytes}: the store does not open: ${(e as Error).message}`);
          continue;
        }
        const bad = checkPalStore(recovered, model, after);
        if (bad) r.failures.push(`${what}, cut at op ${at}, tear ${tearBytes}: ${bad}`);
        if (!bad && r.checks % 7 === 0) {
          // The recovered store keeps working: finish the step and re-check after a reboot.
          if (storeFull(() => applyStep(recovered, step)) !== full) r.failures.push(`${what}, cut at op ${at}, tear ${tearBytes}: redoing the step ${full ? 'found room' : 'found no room'}`);
          const bad2 = checkPalStore(openStore(copy, opts.init()), after, after);
          if (bad2) r.failures.push(`${what}, cut at op ${at}, tear ${tearBytes}, then redone: ${bad2}`);
          r.continued++;
        }
      }
    }
    if (storeFull(() => applyStep(live, step)) !== full) r.failures.push(`${what}: the live store and its copy disagree on free space`);
    model.clear();
    for (const [k, v] of after) model.set(k, v);
    if (i % 5 === 0) live = openStore(mem, opts.init()); // reboot the live device now and then
  }
  const final = checkPalStore(openStore(mem, opts.init()), model, model);
  if (final) r.failures.push(`after the workload: ${final}`);
  r.erases = mem.stats.erases - eraseStart;
  return r;
}
