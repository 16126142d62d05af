// NVS runtime throughput on a 1 MiB RAM flash, exactly as ../shared/bench/README.md
// ("NVS runtime throughput") describes for the ESP-IDF C++ runtime. Every workload is repeated
// `runs` times from a fresh partition (the peer figures are 9 runs); a row's figure is the median
// over the runs, with min–max. Only the operation loops are timed. Values read are checked.
import type { CryptoProvider } from '../src/crypto/provider.js';
import type { NvsKeys } from '../src/nvs/crypto/keys-partition.js';
import type { NvsHandle } from '../src/nvs/store/handle.js';
import { bytesEqual, encryptNvsImage, MemoryFlash, NvsEntryCipher, NvsStorage } from './_dist.js';
import { EXPECTED_SHA256_ENCRYPTED } from './nvs-encryption.js';
import { type Check, makeRow, MemoryTracker, type PeerFigure, randomIndices, type Row, secondsSince, sha256Hex } from './_harness.js';
import { EXPECTED_SHA256, generateImage, readCsv } from './nvs-generate.js';

const FLASH_SIZE = 0x100000;
const KEY_COUNT = 1000;
const BLOB_SIZE = 64;
const KEYS: readonly string[] = Array.from({ length: KEY_COUNT }, (_, i) => `key${String(i).padStart(4, '0')}`);

/** Rounds and repetitions; the defaults are the README's figures. */
export interface RuntimeConfig {
  runs: number;
  setU32Warmup: number;
  setU32Rounds: number;
  getU32Reads: number;
  getCompactReads: number;
  setBlobWarmup: number;
  setBlobRounds: number;
  getBlobReads: number;
  initReps: number;
  only: (id: string) => boolean;
  log: (line: string) => void;
  /** Run the same workloads on an XTS-encrypted partition (the C++ runtime's NVSEncryptedPartition rows). */
  encryption?: { keys: NvsKeys; crypto: CryptoProvider };
}

export const FULL_RUNTIME: Omit<RuntimeConfig, 'only' | 'log' | 'runs'> = {
  setU32Warmup: 64,
  setU32Rounds: 200,
  getU32Reads: 200_000,
  getCompactReads: 1_000_000,
  setBlobWarmup: 32,
  setBlobRounds: 50,
  getBlobReads: 100_000,
  initReps: 50,
};

export const QUICK_RUNTIME: Omit<RuntimeConfig, 'only' | 'log' | 'runs'> = {
  setU32Warmup: 8,
  setU32Rounds: 20,
  getU32Reads: 20_000,
  getCompactReads: 100_000,
  setBlobWarmup: 4,
  setBlobRounds: 8,
  getBlobReads: 10_000,
  initReps: 5,
};

const peer = (label: string, median: number, min: number, max: number): PeerFigure => ({ label, median, min, max });
const PEERS = {
  setU32: peer('C++ nvs::Storage::writeItem<u32>, 200k timed ops', 89_031, 73_032, 150_805),
  getU32: peer('C++ nvs::Storage::readItem<u32>, 200k ops', 98_903, 67_635, 138_845),
  getCompact: peer('C++ nvs::Storage::readItem<u32>, 1M ops, 8 pages', 925_786, 785_380, 1_341_727),
  setBlob: peer('C++ nvs::Storage::writeItem(BLOB, 64 B), 50k timed ops', 18_738, 16_122, 34_611),
  getBlob: peer('C++ nvs::Storage::readItem(BLOB, 64 B), 100k ops', 64_419, 35_202, 70_579),
  init: peer('C++ nvs::Storage::init on out.bin, 50 reps per run', 1.54, 1.39, 2.49),
};
/** The same runtime on NVSEncryptedPartition (keys from nvs-keys.bin). */
const PEERS_ENCRYPTED = {
  setU32: peer('C++ writeItem<u32>, XTS-encrypted', 100_943, 76_113, 139_714),
  getU32: peer('C++ readItem<u32>, XTS-encrypted', 106_077, 68_585, 136_583),
  getCompact: undefined,
  setBlob: peer('C++ writeItem(BLOB, 64 B), XTS-encrypted', 29_418, 16_187, 32_831),
  getBlob: peer('C++ readItem(BLOB, 64 B), XTS-encrypted', 60_985, 34_241, 72_174),
  init: peer('C++ nvs::Storage::init on out-enc.bin, XTS-encrypted', 2.58, 2.16, 3.56),
};
/** The targets. */
const TARGETS = {
  get: { op: '>=' as const, value: 1_000_000 },
  setU32: { op: '>=' as const, value: 100_000 },
  setBlob: { op: '>=' as const, value: 30_000 },
};

/** The u32 written to key `i` in round `round`: round·1000003 + i, wrapped to 32 bits. */
const u32Value = (round: number, i: number): number => (round * 1000003 + i) >>> 0;

/** The 64-byte blob written to key `i` in round `round` (every byte changes from one round to the next). */
function fillBlob(buf: Uint8Array, round: number, i: number): void {
  const base = (round * 131 + i * 7) & 0xff;
  for (let j = 0; j < BLOB_SIZE; j++) buf[j] = (base + j * 13) & 0xff;
}

function freshHandle(cfg: RuntimeConfig): { storage: NvsStorage; flash: MemoryFlash; h: NvsHandle } {
  const flash = new MemoryFlash(FLASH_SIZE);
  const storage = NvsStorage.init(flash, cfg.encryption ? { encryption: cfg.encryption } : {});
  return { storage, flash, h: storage.open('bench', 'readwrite') };
}

/** Accumulates check failures over the runs of one workload. */
class Checker {
  private failures = 0;
  private first: string | undefined;
  private ops = 0;

  constructor(private readonly what: string) {}

  count(n: number): void {
    this.ops += n;
  }

  fail(detail: string): void {
    this.failures++;
    this.first ??= detail;
  }

  result(): Check {
    if (this.failures > 0) return { ok: false, detail: `${this.failures} WRONG ${this.what}, first: ${this.first ?? ''}` };
    return { ok: true, detail: `${this.ops.toLocaleString('en-US')} ${this.what} checked, all correct` };
  }
}

/** One pass of set_u32 rounds over the 1,000 keys; returns the next round number. */
function setU32Rounds(h: NvsHandle, firstRound: number, rounds: number, mem: MemoryTracker): number {
  for (let r = firstRound; r < firstRound + rounds; r++) {
    for (let i = 0; i < KEY_COUNT; i++) h.setU32(KEYS[i]!, u32Value(r, i));
    mem.sample();
  }
  return firstRound + rounds;
}

function setBlobRounds(h: NvsHandle, firstRound: number, rounds: number, mem: MemoryTracker): number {
  const buf = new Uint8Array(BLOB_SIZE);
  for (let r = firstRound; r < firstRound + rounds; r++) {
    for (let i = 0; i < KEY_COUNT; i++) {
      fillBlob(buf, r, i);
      h.setBlob(KEYS[i]!, buf);
    }
    mem.sample();
  }
  return firstRound + rounds;
}

/** Random u32 reads; every value is compared with `expected`. Returns ops/s. */
function getU32Random(h: NvsHandle, expected: Uint32Array, reads: number, seed: number, chk: Checker, mem: MemoryTracker): number {
  const order = randomIndices(reads, KEY_COUNT, seed);
  let bad = 0;
  let badAt = -1;
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < reads; n++) {
    const k = order[n]!;
    if (h.getU32(KEYS[k]!) !== expected[k]) {
      bad++;
      badAt = k;
    }
  }
  const s = secondsSince(t0);
  mem.sample();
  chk.count(reads);
  if (bad > 0) chk.fail(`${bad} of ${reads} reads, e.g. ${KEYS[badAt]!}: got ${h.getU32(KEYS[badAt]!)}, expected ${expected[badAt]!}`);
  return reads / s;
}

/** Runs the runtime group. */
export function runRuntimeGroup(cfg: RuntimeConfig): Row[] {
  const rows: Row[] = [];
  const enc = cfg.encryption !== undefined;
  const variant = enc ? 'in-process, XTS-encrypted' : 'in-process';
  const peers = enc ? PEERS_ENCRYPTED : PEERS;
  // The targets are for the plain runtime; the encrypted rows compare with the C++ runtime only.
  const targets = enc ? { get: undefined, setU32: undefined, setBlob: undefined } : TARGETS;
  const runsNote = `${cfg.runs} runs, each from a fresh 1 MiB RAM flash; median over runs, ops/s of the timed loop only`;
  const want = {
    setU32: cfg.only('set_u32_1000keys_steady'),
    getU32: cfg.only('get_u32_random_of_1000'),
    compact: cfg.only('get_u32_random_of_1000_compact'),
    setBlob: cfg.only('set_blob64_1000keys_steady'),
    getBlob: cfg.only('get_blob64_random_of_1000'),
    init: cfg.only('storage_init_image'),
  };

  // set_u32_1000keys_steady, then get_u32_random_of_1000 on the same steady-state partition.
  if (want.setU32 || want.getU32) {
    cfg.log(`set_u32_1000keys_steady${want.getU32 ? ' + get_u32_random_of_1000' : ''} …`);
    const setSamples: number[] = [];
    const getSamples: number[] = [];
    const memSet = new MemoryTracker();
    const memGet = new MemoryTracker();
    const setChk = new Checker('keys read back after the timed rounds');
    const getChk = new Checker('random reads');
    const erases: number[] = [];
    for (let run = 0; run < cfg.runs; run++) {
      const { h, flash } = freshHandle(cfg);
      let round = setU32Rounds(h, 0, cfg.setU32Warmup, memSet);
      const erasesBefore = flash.stats.erases;
      const t0 = process.hrtime.bigint();
      round = setU32Rounds(h, round, cfg.setU32Rounds, memSet);
      const s = secondsSince(t0);
      setSamples.push((cfg.setU32Rounds * KEY_COUNT) / s);
      erases.push(flash.stats.erases - erasesBefore);
      const expected = new Uint32Array(KEY_COUNT);
      for (let i = 0; i < KEY_COUNT; i++) expected[i] = u32Value(round - 1, i);
      // The set row's own check: every key holds the last round's value.
      setChk.count(KEY_COUNT);
      for (let i = 0; i < KEY_COUNT; i++) {
        const got = h.getU32(KEYS[i]!);
        if (got !== expected[i]) setChk.fail(`${KEYS[i]!}: got ${got}, expected ${expected[i]!}`);
      }
      if (want.getU32) getSamples.push(getU32Random(h, expected, cfg.getU32Reads, 0x5eed0000 + run, getChk, memGet));
    }
    const eraseNote = `sector erases during the timed rounds: ${Math.min(...erases)}–${Math.max(...erases)} per run (page reclaim included)`;
    if (want.setU32) {
      rows.push(
        makeRow({
          id: 'set_u32_1000keys_steady',
          variant,
          workload: `setU32 on key0000..key0999, ${cfg.setU32Warmup} warm-up + ${cfg.setU32Rounds} timed rounds`,
          unit: 'ops/s',
          higherIsBetter: true,
          samples: setSamples,
          peer: peers.setU32,
          target: targets.setU32,
          check: setChk.result(),
          memory: memSet.peak(),
          notes: [runsNote, eraseNote],
        }),
      );
    }
    if (want.getU32) {
      rows.push(
        makeRow({
          id: 'get_u32_random_of_1000',
          variant,
          workload: `${cfg.getU32Reads.toLocaleString('en-US')} random getU32 on the steady-state partition`,
          unit: 'ops/s',
          higherIsBetter: true,
          samples: getSamples,
          peer: peers.getU32,
          target: targets.get,
          check: getChk.result(),
          memory: memGet.peak(),
          notes: [runsNote],
        }),
      );
    }
  }

  if (want.compact) {
    cfg.log('get_u32_random_of_1000_compact …');
    const samples: number[] = [];
    const mem = new MemoryTracker();
    const chk = new Checker('random reads');
    let pages = 0;
    for (let run = 0; run < cfg.runs; run++) {
      const { h, storage } = freshHandle(cfg);
      setU32Rounds(h, 0, 1, mem);
      pages = storage.pages().filter((p) => p.state === 'ACTIVE' || p.state === 'FULL').length;
      const expected = new Uint32Array(KEY_COUNT);
      for (let i = 0; i < KEY_COUNT; i++) expected[i] = u32Value(0, i);
      samples.push(getU32Random(h, expected, cfg.getCompactReads, 0xc0ac0000 + run, chk, mem));
    }
    rows.push(
      makeRow({
        id: 'get_u32_random_of_1000_compact',
        variant,
        workload: `1,000 keys written once to a fresh partition, ${cfg.getCompactReads.toLocaleString('en-US')} random getU32`,
        unit: 'ops/s',
        higherIsBetter: true,
        samples,
        peer: peers.getCompact,
        target: targets.get,
        check: chk.result(),
        memory: mem.peak(),
        notes: [runsNote, `pages in use: ${pages} (the C++ runtime: 8)`],
      }),
    );
  }

  if (want.setBlob || want.getBlob) {
    cfg.log(`set_blob64_1000keys_steady${want.getBlob ? ' + get_blob64_random_of_1000' : ''} …`);
    const setSamples: number[] = [];
    const getSamples: number[] = [];
    const memSet = new MemoryTracker();
    const memGet = new MemoryTracker();
    const setChk = new Checker('blobs read back after the timed rounds');
    const getChk = new Checker('random blob reads');
    for (let run = 0; run < cfg.runs; run++) {
      const { h } = freshHandle(cfg);
      let round = setBlobRounds(h, 0, cfg.setBlobWarmup, memSet);
      const t0 = process.hrtime.bigint();
      round = setBlobRounds(h, round, cfg.setBlobRounds, memSet);
      const s = secondsSince(t0);
      setSamples.push((cfg.setBlobRounds * KEY_COUNT) / s);
      // Expected contents: the last round's blobs, one 64-byte slice per key.
      const expected = new Uint8Array(KEY_COUNT * BLOB_SIZE);
      for (let i = 0; i < KEY_COUNT; i++) fillBlob(expected.subarray(i * BLOB_SIZE, (i + 1) * BLOB_SIZE), round - 1, i);
      setChk.count(KEY_COUNT);
      for (let i = 0; i < KEY_COUNT; i++) {
        const got = h.getBlob(KEYS[i]!);
        if (!bytesEqual(got, expected.subarray(i * BLOB_SIZE, (i + 1) * BLOB_SIZE))) {
          setChk.fail(`${KEYS[i]!}: ${got.length}-byte blob differs from the last round's`);
        }
      }
      if (!want.getBlob) continue;
      // get_blob64_random_of_1000: every read is compared byte for byte inside the loop (~64
      // byte compares, small next to a read).
      const reads = cfg.getBlobReads;
      const order = randomIndices(reads, KEY_COUNT, 0xb10b0000 + run);
      let bad = 0;
      let badKey = -1;
      const t1 = process.hrtime.bigint();
      for (let n = 0; n < reads; n++) {
        const k = order[n]!;
        const got = h.getBlob(KEYS[k]!);
        let ok = got.length === BLOB_SIZE;
        const off = k * BLOB_SIZE;
        for (let j = 0; ok && j < BLOB_SIZE; j++) ok = got[j] === expected[off + j];
        if (!ok) {
          bad++;
          badKey = k;
        }
      }
      const s1 = secondsSince(t1);
      memGet.sample();
      getSamples.push(reads / s1);
      getChk.count(reads);
      if (bad > 0) getChk.fail(`${bad} of ${reads} reads, e.g. ${KEYS[badKey]!}`);
    }
    if (want.setBlob) {
      rows.push(
        makeRow({
          id: 'set_blob64_1000keys_steady',
          variant,
          workload: `setBlob 64 B on key0000..key0999, content changes every round, ${cfg.setBlobWarmup} warm-up + ${cfg.setBlobRounds} timed rounds`,
          unit: 'ops/s',
          higherIsBetter: true,
          samples: setSamples,
          peer: peers.setBlob,
          target: targets.setBlob,
          check: setChk.result(),
          memory: memSet.peak(),
          notes: [runsNote],
        }),
      );
    }
    if (want.getBlob) {
      rows.push(
        makeRow({
          id: 'get_blob64_random_of_1000',
          variant,
          workload: `${cfg.getBlobReads.toLocaleString('en-US')} random getBlob (64 B) on the steady-state blob partition`,
          unit: 'ops/s',
          higherIsBetter: true,
          samples: getSamples,
          peer: peers.getBlob,
          check: getChk.result(),
          memory: memGet.peak(),
          notes: [runsNote, 'no target in the issue for blob reads (its get target is read as the u32 gets)'],
        }),
      );
    }
  }

  if (want.init) {
    cfg.log('storage_init_image …');
    const plain = generateImage(readCsv());
    const image = cfg.encryption ? encryptNvsImage(plain, new NvsEntryCipher(cfg.encryption.crypto, cfg.encryption.keys)) : plain;
    const imageSha = sha256Hex(image);
    const problems: string[] = [];
    const wantSha = cfg.encryption ? EXPECTED_SHA256_ENCRYPTED : EXPECTED_SHA256;
    if (imageSha !== wantSha) problems.push(`generated image sha256 ${imageSha}, expected ${wantSha}`);
    const samples: number[] = [];
    const mem = new MemoryTracker();
    let flashWrites = 0;
    let last: NvsStorage | undefined;
    for (let run = 0; run < cfg.runs; run++) {
      const flash = new MemoryFlash(image);
      const t0 = process.hrtime.bigint();
      // Nothing is kept from one init to the next (as on a device): retaining the previous store
      // would make every young-generation GC copy its ~10,000 live items.
      const opts = cfg.encryption ? { encryption: cfg.encryption } : {};
      for (let rep = 0; rep < cfg.initReps; rep++) NvsStorage.init(flash, opts);
      samples.push((secondsSince(t0) * 1e3) / cfg.initReps);
      last = NvsStorage.init(flash, opts);
      mem.sample();
      flashWrites += flash.stats.writes + flash.stats.erases;
    }
    let statsText = 'no stats';
    if (last) {
      // The C++ runtime reports used 10,637 / free 21,619 / total 32,256 entries, 8 namespaces.
      const st = last.stats();
      statsText = `used ${st.usedEntries} / free ${st.freeEntries} / total ${st.totalEntries} entries, ${st.namespaceCount} namespaces`;
      if (st.usedEntries !== 10637 || st.freeEntries !== 21619 || st.totalEntries !== 32256 || st.namespaceCount !== 8) {
        problems.push(`stats ${statsText}, the C++ runtime reports used 10637 / free 21619 / total 32256, 8 namespaces`);
      }
    }
    const check: Check =
      problems.length > 0
        ? { ok: false, detail: problems.join('; ') }
        : { ok: true, detail: `image sha256 as expected; after init: ${statsText} (as the C++ runtime)` };
    rows.push(
      makeRow({
        id: 'storage_init_image',
        variant,
        workload: `NvsStorage.init(new MemoryFlash(${enc ? 'out-enc.bin' : 'out.bin'})), nvs-2000 image, ${cfg.initReps} reps per run`,
        unit: 'ms',
        higherIsBetter: false,
        samples,
        peer: peers.init,
        check,
        memory: mem.peak(),
        notes: [
          `${cfg.runs} runs of ${cfg.initReps} inits on one MemoryFlash each (made outside the timing); ms per init`,
          `flash writes + erases done by the inits: ${flashWrites}`,
        ],
      }),
    );
  }
  return rows;
}
