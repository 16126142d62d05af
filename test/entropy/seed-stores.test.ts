import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SECTOR_SIZE } from '../../src/flash/flash.js';
import { PowerCutError } from '../../src/flash/flash-error.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { PowerCutFlash } from '../../src/flash/power-cut-flash.js';
import { EntropyAccumulator } from '../../src/entropy/accumulator.js';
import { MbedtlsError } from '../../src/entropy/mbedtls-errors.js';
import { NvSeedSource } from '../../src/entropy/nv-seed.js';
import { NVS_SEED_DEFAULT_KEY, NvsSeedStore } from '../../src/entropy/nvs-seed-store.js';
import { FileSeedStore, NV_SEED_DEFAULT_FILE } from '../../src/node/file-seed-store.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';
import { NO_VECTORS, VECTORS_DIR } from '../_support/vectors.js';
import { runWithCrash } from '../_support/fs-crash.js';

const posixModes = process.platform === 'win32' ? 'no POSIX modes' : false;
const seedOf = (n: number, size = 64): Uint8Array => Uint8Array.from({ length: size }, (_, i) => (i * 29 + n * 101 + 7) & 0xff);
const hex = (b: Uint8Array | null) => (b ? Buffer.from(b).toString('hex') : 'null');

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-seed-stores-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});
const freshDir = (name: string) => fs.mkdtempSync(path.join(dir, `${name}-`));

function e1Vector(): { initial: Uint8Array; outputs: string[]; after: string } {
  const file = JSON.parse(fs.readFileSync(path.join(VECTORS_DIR!, 'entropy', 'entropy-collector', 'e1-nv-only-pattern.json'), 'utf8'));
  const boot = file.expected.boot1;
  return {
    initial: new Uint8Array(Buffer.from(file.inputs.initial_seedfile, 'hex')),
    outputs: boot.entropy_calls.map((c: { output: string }) => c.output),
    after: boot.seedfile_after,
  };
}

describe('FileSeedStore', () => {
  it('defaults to the Mbed TLS file name "seedfile"', () => {
    assert.equal(NV_SEED_DEFAULT_FILE, 'seedfile');
    assert.equal(new FileSeedStore().file, 'seedfile');
  });

  it('reads like Mbed TLS: missing -> null, shorter -> short, longer -> the first block only', () => {
    const d = freshDir('read');
    const store = new FileSeedStore(path.join(d, 'seedfile'));
    assert.equal(store.read(64), null);
    fs.writeFileSync(store.file, seedOf(1, 40));
    assert.deepEqual(store.read(64), seedOf(1, 40));
    fs.writeFileSync(store.file, seedOf(2, 100));
    assert.deepEqual(store.read(64), seedOf(2, 100).subarray(0, 64));
    fs.writeFileSync(store.file, new Uint8Array(0));
    assert.deepEqual(store.read(64), new Uint8Array(0));
  });

  it('makes the NV seed poll fail on a short file and leaves the file untouched', () => {
    const d = freshDir('short');
    const file = path.join(d, 'seedfile');
    fs.writeFileSync(file, seedOf(3, 63));
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, nvSeed: new NvSeedSource({ store: new FileSeedStore(file) }) });
    assert.throws(() => acc.entropy(64), (e) => e instanceof MbedtlsError && e.ret === -0x3c && /63 bytes/.test(e.message));
    assert.deepEqual(new Uint8Array(fs.readFileSync(file)), seedOf(3, 63));
  });

  it('writes exactly the seed, mode 0600, replacing a wider-mode or longer file', { skip: posixModes }, () => {
    const d = freshDir('write');
    const store = new FileSeedStore(path.join(d, 'seedfile'));
    fs.writeFileSync(store.file, seedOf(4, 100), { mode: 0o644 });
    fs.chmodSync(store.file, 0o644);
    store.write(seedOf(5));
    assert.deepEqual(new Uint8Array(fs.readFileSync(store.file)), seedOf(5));
    assert.equal(fs.statSync(store.file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(d), ['seedfile'], 'no temporary file left behind');
  });

  it('turns an unreadable path into a clear NV seed failure', () => {
    const d = freshDir('dir');
    fs.mkdirSync(path.join(d, 'seedfile'));
    const src = new NvSeedSource({ store: new FileSeedStore(path.join(d, 'seedfile')) });
    assert.throws(() => src.poll(128), (e) => e instanceof MbedtlsError && e.ret === -0x3c && /seed file/.test(e.message));
    assert.throws(() => src.write(seedOf(1)), (e) => e instanceof MbedtlsError && e.ret === -0x3f);
  });

  it('reproduces the e1 golden run through a real seed file', { skip: NO_VECTORS }, () => {
    const v = e1Vector();
    const d = freshDir('e1');
    const file = path.join(d, 'seedfile');
    fs.writeFileSync(file, v.initial);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, nvSeed: new NvSeedSource({ store: new FileSeedStore(file) }) });
    assert.deepEqual([hex(acc.entropy(64)), hex(acc.entropy(64))], v.outputs);
    assert.equal(hex(new Uint8Array(fs.readFileSync(file))), v.after);
    if (!posixModes) assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });
});

// Crashes are injected by the shared fs harness (test/_support/fs-crash.ts); after each, the seed is
// read back as a reboot would.
/** Crashes `write` at every step (clean, and torn for data writes); returns what a reboot reads each time. */
function crashCampaign(name: string, write: (file: string, seed: Uint8Array) => void): { steps: string[]; outcomes: Array<{ cut: string; got: Uint8Array | null }> } {
  const oldSeed = seedOf(10);
  const newSeed = seedOf(11);
  const prepare = () => {
    const d = freshDir(name);
    const file = path.join(d, 'seedfile');
    fs.writeFileSync(file, oldSeed, { mode: 0o600 });
    return file;
  };
  const first = prepare();
  const steps = runWithCrash(null, () => write(first, newSeed));
  const outcomes: Array<{ cut: string; got: Uint8Array | null }> = [];
  for (let at = 1; at <= steps.length; at++) {
    const tears = steps[at - 1] === 'writeSync' ? [0, 1, 32, 63] : [0];
    for (const tear of tears) {
      const file = prepare();
      runWithCrash({ at, tear }, () => write(file, newSeed));
      const got = fs.existsSync(file) && fs.statSync(file).isFile() ? new Uint8Array(fs.readFileSync(file)) : null;
      outcomes.push({ cut: `step ${at} (${steps[at - 1]}${tear ? `, torn after ${tear} bytes` : ''})`, got });
    }
  }
  return { steps, outcomes };
}

describe('FileSeedStore under crashes', () => {
  it('leaves exactly the old or the new seed when the write is cut at every file system step', (t) => {
    const { steps, outcomes } = crashCampaign('atomic', (file, seed) => new FileSeedStore(file).write(seed));
    assert.deepEqual(steps, ['openSync', 'writeSync', 'fsyncSync', 'closeSync', 'renameSync', 'openSync', 'fsyncSync', 'closeSync']);
    let olds = 0;
    let news = 0;
    for (const { cut, got } of outcomes) {
      const isOld = got !== null && hex(got) === hex(seedOf(10));
      const isNew = got !== null && hex(got) === hex(seedOf(11));
      assert.ok(isOld || isNew, `${cut}: the seed file holds ${got ? `${got.length} bytes ${hex(got)}` : 'nothing'}`);
      if (isOld) olds++;
      else news++;
    }
    assert.equal(outcomes.length, 11, '8 steps, the data write also torn 3 ways');
    assert.equal(olds, 8, 'every cut up to and including the rename keeps the old seed');
    assert.equal(news, 3, 'every cut after the rename has the new seed');
    t.diagnostic(`file seed store crashes: ${steps.length} fs steps, ${outcomes.length} cut points (clean + torn data write): ${olds} old, ${news} new, 0 torn or missing`);
  });

  it('keeps working after a crash left a temporary file behind', () => {
    const d = freshDir('leftover');
    const file = path.join(d, 'seedfile');
    fs.writeFileSync(file, seedOf(1));
    runWithCrash({ at: 3, tear: 0 }, () => new FileSeedStore(file).write(seedOf(2))); // dies before fsync
    assert.equal(fs.readdirSync(d).length, 2, 'seedfile and the orphaned temporary file');
    // The reboot is a new process at a later time: wait for the clock to move on, or the new
    // temporary file name (pid + milliseconds) would collide with the orphan's.
    for (const t0 = Date.now(); Date.now() === t0; );
    const store = new FileSeedStore(file);
    assert.deepEqual(store.read(64), seedOf(1));
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, nvSeed: new NvSeedSource({ store }) });
    acc.entropy(64);
    assert.equal(store.read(64)!.length, 64);
    assert.notDeepEqual(store.read(64), seedOf(1));
  });

  it('detects the torn or empty file that a plain truncate-and-write (Mbed TLS "w" mode) leaves', () => {
    const { outcomes } = crashCampaign('naive', (file, seed) => {
      const fd = fs.openSync(file, 'w');
      try {
        fs.writeSync(fd, seed, 0, seed.length, null);
      } finally {
        fs.closeSync(fd);
      }
    });
    const broken = outcomes.filter(({ got }) => got === null || (hex(got) !== hex(seedOf(10)) && hex(got) !== hex(seedOf(11))));
    assert.deepEqual(
      broken.map((b) => `${b.cut}: ${b.got?.length ?? 'missing'}`),
      ['step 2 (writeSync): 0', 'step 2 (writeSync, torn after 1 bytes): 1', 'step 2 (writeSync, torn after 32 bytes): 32', 'step 2 (writeSync, torn after 63 bytes): 63'],
      'the harness sees the damage the atomic write avoids',
    );
  });
});

const KEYS = { eky: Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i), tky: Uint8Array.from({ length: 32 }, (_, i) => 0x90 + i) };
const enc = () => ({ encryption: { keys: KEYS, crypto: nodeCrypto } });

describe('NvsSeedStore', () => {
  it('keeps the seed as an encrypted blob: missing -> null, round trip, first block of a longer blob, short blob', () => {
    const flash = new MemoryFlash(3 * SECTOR_SIZE);
    const h = NvsStorage.init(flash, enc()).open('entropy', 'readwrite');
    const store = new NvsSeedStore(h);
    assert.equal(store.key, NVS_SEED_DEFAULT_KEY);
    assert.equal(store.read(64), null);
    store.write(seedOf(1));
    const again = new NvsSeedStore(NvsStorage.init(flash, enc()).open('entropy', 'readonly'));
    assert.deepEqual(again.read(64), seedOf(1));
    assert.equal(Buffer.from(flash.bytes).indexOf(Buffer.from(seedOf(1))), -1, 'no plaintext seed on flash');
    assert.equal(Buffer.from(flash.bytes).indexOf(Buffer.from(NVS_SEED_DEFAULT_KEY)), -1, 'no plaintext key name either');
    h.setBlob('long', seedOf(2, 100));
    assert.deepEqual(new NvsSeedStore(h, 'long').read(64), seedOf(2, 100).subarray(0, 64));
    h.setBlob('short', seedOf(3, 20));
    assert.deepEqual(new NvsSeedStore(h, 'short').read(64), seedOf(3, 20));
    h.setU32('number', 7);
    assert.equal(new NvsSeedStore(h, 'number').read(64), null, 'a value of another type is no seed');
    assert.throws(() => again.write(seedOf(4)), (e) => (e as { code?: string }).code === 'ESP_ERR_NVS_READ_ONLY');
  });

  it('checks the key', () => {
    const h = NvsStorage.init(new MemoryFlash(3 * SECTOR_SIZE)).open('entropy', 'readwrite');
    assert.throws(() => new NvsSeedStore(h, ''), RangeError);
    assert.throws(() => new NvsSeedStore(h, 'k'.repeat(16)), RangeError);
    assert.throws(() => new NvsSeedStore({} as never), TypeError);
  });

  it('reproduces the e1 golden run with the seed in an encrypted NVS', { skip: NO_VECTORS }, () => {
    const v = e1Vector();
    const flash = new MemoryFlash(3 * SECTOR_SIZE);
    const store = new NvsSeedStore(NvsStorage.init(flash, enc()).open('entropy', 'readwrite'));
    store.write(v.initial);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, nvSeed: new NvSeedSource({ store }) });
    assert.deepEqual([hex(acc.entropy(64)), hex(acc.entropy(64))], v.outputs);
    const reboot = new NvsSeedStore(NvsStorage.init(flash, enc()).open('entropy', 'readonly'));
    assert.equal(hex(reboot.read(64)), v.after);
  });

  it('power cuts at every flash operation of 300 seed rewrites (clean and torn) leave the old or the new seed', (t) => {
    const REWRITES = 300; // enough to fill the pages several times: page switches and erases included
    const pages = 3; // small, so that the rewrites fill pages and force page switches and erases
    const TEARS = [0, 1, 17, 2048];
    const mem = new MemoryFlash(pages * SECTOR_SIZE);
    const live = NvsStorage.init(mem, enc());
    const h = live.open('entropy', 'readwrite');
    live.open('app', 'readwrite').setStr('name', 'sensor-42'); // a neighbour that must survive too
    new NvsSeedStore(h).write(seedOf(0));
    let cutPoints = 0;
    let checks = 0;
    let olds = 0;
    let news = 0;
    let writes = 0;
    let erases = 0;
    const failures: string[] = [];
    for (let i = 1; i <= REWRITES; i++) {
      const image = mem.bytes.slice();
      // Count the flash operations of this rewrite on a fresh store over a copy (as after a reboot).
      const counter = new PowerCutFlash(new MemoryFlash(image), null);
      new NvsSeedStore(NvsStorage.init(counter, enc()).open('entropy', 'readwrite')).write(seedOf(i));
      for (let at = 1; at <= counter.operations; at++) {
        cutPoints++;
        for (const tearBytes of TEARS) {
          const copy = new MemoryFlash(image);
          const cut = new PowerCutFlash(copy, { cutAt: at, tearBytes });
          try {
            new NvsSeedStore(NvsStorage.init(cut, enc()).open('entropy', 'readwrite')).write(seedOf(i));
            failures.push(`rewrite ${i}: the cut at op ${at} never happened`);
          } catch (e) {
            if (!(e instanceof PowerCutError)) throw e;
          }
          checks++;
          const nvs = NvsStorage.init(new MemoryFlash(copy.bytes), enc());
          const got = new NvsSeedStore(nvs.open('entropy', 'readonly')).read(64);
          if (hex(got) === hex(seedOf(i - 1))) olds++;
          else if (hex(got) === hex(seedOf(i))) news++;
          else failures.push(`rewrite ${i}, cut at op ${at} (tear ${tearBytes}): got ${hex(got)}`);
          if (nvs.open('app', 'readonly').getStr('name') !== 'sensor-42') failures.push(`rewrite ${i}, cut at op ${at}: neighbour lost`);
        }
      }
      const before = mem.stats.erases;
      const w0 = mem.stats.writes;
      new NvsSeedStore(h).write(seedOf(i)); // the rewrite really happens on the live store
      writes += mem.stats.writes - w0;
      erases += mem.stats.erases - before;
    }
    assert.deepEqual(failures, []);
    assert.ok(erases >= 4, 'the campaign crossed page erases');
    assert.equal(olds + news, checks);
    assert.ok(olds > 0 && news > 0);
    t.diagnostic(`NVS seed store power cuts: ${REWRITES} rewrites, ${writes} writes and ${erases} erases, ${cutPoints} cut points x ${TEARS.length} tears = ${checks} checks: ${olds} old, ${news} new, 0 other`);
  });

  it('keeps working after a power cut: the next boot refreshes the seed', () => {
    const mem = new MemoryFlash(3 * SECTOR_SIZE);
    new NvsSeedStore(NvsStorage.init(mem, enc()).open('entropy', 'readwrite')).write(seedOf(1));
    const cut = new PowerCutFlash(new MemoryFlash(mem.bytes), { cutAt: 2, tearBytes: 5 });
    assert.throws(
      () => {
        const store = new NvsSeedStore(NvsStorage.init(cut, enc()).open('entropy', 'readwrite'));
        new EntropyAccumulator({ crypto: nodeCrypto, nvSeed: new NvSeedSource({ store }) }).entropy(32);
      },
      (e) => e instanceof MbedtlsError && e.ret === -0x3f && e.cause instanceof PowerCutError,
    );
    const store = new NvsSeedStore(NvsStorage.init(new MemoryFlash((cut.inner as MemoryFlash).bytes), enc()).open('entropy', 'readwrite'));
    const before = store.read(64)!;
    new EntropyAccumulator({ crypto: nodeCrypto, nvSeed: new NvSeedSource({ store }) }).entropy(32);
    assert.notDeepEqual(store.read(64), before);
    assert.equal(store.read(64)!.length, 64);
  });
});
