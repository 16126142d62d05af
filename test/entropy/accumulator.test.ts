import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { EntropyAccumulator } from '../../src/entropy/accumulator.js';
import { ENTROPY_CONSTANTS, type EntropyPoll, entropyBlockSize } from '../../src/entropy/entropy-source.js';
import { hardwarePollSelfTest, hardwarePollSource, type MbedtlsHardwarePoll } from '../../src/entropy/hardware-poll.js';
import { MbedtlsError } from '../../src/entropy/mbedtls-errors.js';
import { NvSeedSource, nvSeedFunctionsFromStore } from '../../src/entropy/nv-seed.js';
import { osEntropyPoll } from '../../src/entropy/os-source.js';
import type { SeedStore } from '../../src/entropy/seed-store.js';
import { replayCollectorVector } from '../../src/entropy/selftest/collector-replay.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NO_VECTORS, VECTORS_DIR } from '../_support/vectors.js';

const sha = (name: 'sha512' | 'sha256', ...parts: Uint8Array[]): Uint8Array => {
  const h = crypto.createHash(name);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hdr = (id: number, len: number) => Uint8Array.of(id, len & 0xff);
const pattern = (n: number, seed = 0) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

/** A SeedStore in memory that counts reads and writes. */
class MemoryStore implements SeedStore {
  reads = 0;
  writes = 0;
  constructor(public content: Uint8Array | null) {}
  read(length: number): Uint8Array | null {
    this.reads++;
    return this.content ? this.content.slice(0, Math.min(length, this.content.length)) : null;
  }
  write(seed: Uint8Array): void {
    this.writes++;
    this.content = seed.slice();
  }
}

/** A strong-source poll returning `chunk` bytes of a counter each time, counting polls. */
function counter(chunk: number, start = 0): EntropyPoll & { polls: number } {
  let c = start;
  const poll = ((maxLength: number) => {
    poll.polls++;
    const out = Uint8Array.from({ length: Math.min(chunk, maxLength) }, (_, i) => (c + i) & 0xff);
    c = (c + out.length) & 0xff;
    return out;
  }) as EntropyPoll & { polls: number };
  poll.polls = 0;
  return poll;
}

const mbedtls = (name: string, ret: number) => (e: unknown) => {
  assert.ok(e instanceof MbedtlsError, `expected an MbedtlsError, got ${String(e)}`);
  assert.equal(e.code, name);
  assert.equal(e.ret, ret);
  return true;
};
const nvsec = (code: string) => (e: unknown) => e instanceof NvsecError && e.code === code;

const COLLECTOR_DIR = VECTORS_DIR ? path.join(VECTORS_DIR, 'entropy', 'entropy-collector') : '';
const collectorFiles = VECTORS_DIR && fs.existsSync(COLLECTOR_DIR) ? fs.readdirSync(COLLECTOR_DIR).filter((f) => f.endsWith('.json')).sort() : [];

describe('EntropyAccumulator reproduces the Mbed TLS 2.28.3 collector golden runs', { skip: NO_VECTORS }, () => {
  it('finds the 5 collector vectors', () => {
    assert.deepEqual(collectorFiles, [
      'e1-nv-only-pattern.json',
      'e2-nv-only-zero.json',
      'e3-nv-only-ff.json',
      'e4-hw-and-nv-lengths.json',
      'e5-sha256-hw-and-nv.json',
    ]);
  });

  for (const f of collectorFiles) {
    it(`replays ${f} byte for byte (entropy calls, hardware polls, seed file, both boots)`, () => {
      const cases = replayCollectorVector(JSON.parse(fs.readFileSync(path.join(COLLECTOR_DIR, f), 'utf8')), nodeCrypto);
      assert.equal(cases.length, 6);
      for (const c of cases) assert.ok(c.passed, `${c.name}: ${c.detail ?? ''}`);
    });
  }

  it('reports a failing case when one output byte of a vector is changed', () => {
    const file = JSON.parse(fs.readFileSync(path.join(COLLECTOR_DIR, 'e4-hw-and-nv-lengths.json'), 'utf8'));
    const call = file.expected.boot2.entropy_calls[2];
    call.output = (call.output[0] === '0' ? '1' : '0') + call.output.slice(1);
    file.expected.boot1.seedfile_after = '00'.repeat(64);
    const failed = replayCollectorVector(file, nodeCrypto).filter((c) => !c.passed);
    assert.deepEqual(
      failed.map((c) => c.name),
      ['e4-hw-and-nv-lengths boot1: seed file after the boot', 'e4-hw-and-nv-lengths boot2: entropy calls (length, return code, output)'],
    );
  });

  it('refuses a DRBG scenario or a malformed file with SELFTEST_BAD_FILE', () => {
    assert.throws(() => replayCollectorVector({ id: 'x' }, nodeCrypto), nvsec('SELFTEST_BAD_FILE'));
    const file = JSON.parse(fs.readFileSync(path.join(COLLECTOR_DIR, 'e1-nv-only-pattern.json'), 'utf8'));
    file.inputs.drbg = 'CTR_DRBG-AES-256';
    assert.throws(() => replayCollectorVector(file, nodeCrypto), nvsec('SELFTEST_BAD_FILE'));
  });
});

describe('EntropyAccumulator pool arithmetic (spec 2 and 4.4, independent of the vectors)', () => {
  it('matches the worked form with the NV seed as the only source', () => {
    const old = pattern(64, 3);
    const store = new MemoryStore(old.slice());
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, nvSeed: new NvSeedSource({ store }) });
    const out = acc.entropy(64);
    const h1 = sha('sha512', hdr(0, 64), old);
    const s = sha('sha512', h1);
    assert.deepEqual(store.content, s, 'new seed = H(H([0,B] || seed_old))');
    const expected = sha('sha512', sha('sha512', h1, hdr(20, 64), new Uint8Array(64), hdr(0, 64), s));
    assert.deepEqual(out, expected);
  });

  it('matches the worked form with hardware (id 0) and NV seed (id 1), and chains outputs through the recycled pool', () => {
    const old = pattern(64, 9);
    const store = new MemoryStore(old.slice());
    const hw = counter(40);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: hw, threshold: 32, strong: true }], nvSeed: new NvSeedSource({ store }) });
    const out1 = acc.entropy(48);
    const out2 = acc.entropy(16);
    const hw0 = pattern(40).map((_, i) => i);
    const hw1 = hw0.map((b) => b + 40);
    const hw2 = hw0.map((b) => b + 80);
    const h1 = sha('sha512', hdr(0, 40), hw0, hdr(1, 64), old);
    const s = sha('sha512', h1);
    assert.deepEqual(store.content, s);
    const h2 = sha('sha512', h1, hdr(20, 64), new Uint8Array(64), hdr(0, 40), hw1, hdr(1, 64), s);
    assert.deepEqual(out1, sha('sha512', h2).subarray(0, 48));
    const h3 = sha('sha512', h2, hdr(0, 40), hw2, hdr(1, 64), s);
    assert.deepEqual(out2, sha('sha512', h3).subarray(0, 16));
    assert.equal(hw.polls, 3);
  });

  it('pre-hashes inputs longer than a block and hashes the header of an empty manual input', () => {
    const long = pattern(100, 1);
    const src = counter(64);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: src, threshold: 0, strong: true }] });
    acc.updateManual(long);
    acc.updateManual(new Uint8Array(0));
    acc.updateManual(pattern(64, 2)); // exactly a block: not pre-hashed
    const out = acc.entropy(64);
    const h = sha('sha512', hdr(20, 64), sha('sha512', long), hdr(20, 0), hdr(20, 64), pattern(64, 2), hdr(0, 64), pattern(64).map((_, i) => i));
    assert.deepEqual(out, sha('sha512', h));
  });

  it('pre-hashes with SHA-256 to 32 bytes in a SHA-256 accumulator', () => {
    const src: EntropyPoll = () => pattern(100, 5);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, hash: 'sha256', sources: [{ poll: src, threshold: 32, strong: true }] });
    assert.equal(acc.blockSize, 32);
    const h = sha('sha256', hdr(0, 32), sha('sha256', pattern(100, 5)));
    assert.deepEqual(acc.entropy(32), sha('sha256', h));
  });

  it('skips a source that delivers 0 bytes (no header)', () => {
    const acc = new EntropyAccumulator({
      crypto: nodeCrypto,
      sources: [
        { poll: () => new Uint8Array(0), threshold: 0, strong: false },
        { poll: () => pattern(64), threshold: 64, strong: true },
      ],
    });
    assert.deepEqual(acc.entropy(64), sha('sha512', sha('sha512', hdr(1, 64), pattern(64))));
  });
});

describe('EntropyAccumulator limits and errors', () => {
  it('rejects a request longer than the block size with SOURCE_FAILED (-0x3C) before anything else', () => {
    const store = new MemoryStore(pattern(64));
    const src = counter(64);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: src, threshold: 32, strong: true }], nvSeed: new NvSeedSource({ store }) });
    assert.throws(() => acc.entropy(65), mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c));
    assert.equal(src.polls, 0);
    assert.equal(store.writes, 0, 'an oversized first call does not consume the NV seed refresh');
    acc.entropy(64);
    assert.equal(store.writes, 1);
    const small = new EntropyAccumulator({ crypto: nodeCrypto, hash: 'sha256', sources: [{ poll: src, threshold: 32, strong: true }] });
    assert.equal(small.entropy(32).length, 32);
    assert.throws(() => small.entropy(33), mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c));
  });

  it('returns an empty array for length 0 after a full gather and finalization', () => {
    const src = counter(64);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: src, threshold: 32, strong: true }] });
    assert.equal(acc.entropy(0).length, 0);
    assert.equal(src.polls, 1);
    const after = acc.entropy(64);
    const h1 = sha('sha512', hdr(0, 64), pattern(64).map((_, i) => i));
    assert.deepEqual(after, sha('sha512', sha('sha512', h1, hdr(0, 64), pattern(64).map((_, i) => i + 64))));
  });

  it('throws RangeError for a negative or fractional length', () => {
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: counter(64), threshold: 32, strong: true }] });
    assert.throws(() => acc.entropy(-1), RangeError);
    assert.throws(() => acc.entropy(1.5), RangeError);
  });

  it('accepts 20 sources and refuses the 21st with MAX_SOURCES (-0x3E); the NV seed counts as one', () => {
    const acc = new EntropyAccumulator({ crypto: nodeCrypto });
    for (let i = 0; i < 20; i++) assert.equal(acc.addSource(counter(1), 0, true), i);
    assert.throws(() => acc.addSource(counter(1), 0, true), mbedtls('MBEDTLS_ERR_ENTROPY_MAX_SOURCES', -0x3e));
    assert.equal(acc.sourceCount, 20);
    const sources = Array.from({ length: 19 }, () => ({ poll: counter(1), threshold: 0, strong: true }));
    const withSeed = new EntropyAccumulator({ crypto: nodeCrypto, sources, nvSeed: new NvSeedSource({ store: new MemoryStore(pattern(64)) }) });
    assert.equal(withSeed.sourceCount, 20);
    assert.throws(() => withSeed.addSource(counter(1), 0, true), mbedtls('MBEDTLS_ERR_ENTROPY_MAX_SOURCES', -0x3e));
    assert.throws(
      () => new EntropyAccumulator({ crypto: nodeCrypto, sources: [...sources, sources[0]!], nvSeed: new NvSeedSource({ store: new MemoryStore(null) }) }),
      mbedtls('MBEDTLS_ERR_ENTROPY_MAX_SOURCES', -0x3e),
    );
  });

  it('fails with NO_SOURCES_DEFINED (-0x40) when nothing is registered', () => {
    const acc = new EntropyAccumulator({ crypto: nodeCrypto });
    assert.throws(() => acc.entropy(32), mbedtls('MBEDTLS_ERR_ENTROPY_NO_SOURCES_DEFINED', -0x40));
    assert.throws(() => acc.gather(), mbedtls('MBEDTLS_ERR_ENTROPY_NO_SOURCES_DEFINED', -0x40));
  });

  it('fails with NO_STRONG_SOURCE (-0x3D) when only weak sources exist, after hashing their data in', () => {
    const weak = counter(64);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: weak, threshold: 4, strong: false }] });
    assert.throws(() => acc.gather(), mbedtls('MBEDTLS_ERR_ENTROPY_NO_STRONG_SOURCE', -0x3d));
    assert.throws(() => acc.entropy(16), mbedtls('MBEDTLS_ERR_ENTROPY_NO_STRONG_SOURCE', -0x3d));
    assert.equal(weak.polls, 2);
    acc.addSource(() => pattern(64, 1), 32, true);
    const out = acc.entropy(64);
    const w = (k: number) => pattern(64).map((_, i) => i + 64 * k);
    const h = sha('sha512', hdr(0, 64), w(0), hdr(0, 64), w(1), hdr(0, 64), w(2), hdr(1, 64), pattern(64, 1));
    assert.deepEqual(out, sha('sha512', h), 'the failed rounds stay in the pool');
  });

  it('gives up after 257 gather rounds with SOURCE_FAILED (-0x3C) when a source never reaches its threshold', () => {
    const silent = counter(0);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: silent, threshold: 1, strong: true }] });
    assert.throws(() => acc.entropy(32), (e: unknown) => mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c)(e) && /257 gather rounds/.test((e as Error).message));
    assert.equal(silent.polls, 257);
  });

  it('needs a whole block from strong sources even when every threshold is reached', () => {
    const trickle = counter(1);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: trickle, threshold: 0, strong: true }] });
    acc.entropy(64);
    assert.equal(trickle.polls, 64);
    // A weak source's bytes do not count toward the block.
    const strong = counter(8);
    const weak = counter(128);
    const mixed = new EntropyAccumulator({
      crypto: nodeCrypto,
      sources: [
        { poll: weak, threshold: 0, strong: false },
        { poll: strong, threshold: 0, strong: true },
      ],
    });
    mixed.entropy(1);
    assert.equal(strong.polls, 8);
  });

  it('runs more rounds until every source, weak ones included, reaches its threshold', () => {
    const hw = counter(16); // below its threshold of 32: two rounds per call (scenario s2)
    const weak = counter(1); // hardclock-like: threshold 4
    const acc = new EntropyAccumulator({
      crypto: nodeCrypto,
      sources: [
        { poll: hw, threshold: 32, strong: true },
        { poll: weak, threshold: 4, strong: false },
        { poll: () => pattern(64), threshold: 0, strong: true },
      ],
    });
    acc.entropy(32);
    assert.equal(hw.polls, 4);
    assert.equal(weak.polls, 4);
    acc.entropy(32);
    assert.equal(hw.polls, 8, 'sizes restart from 0 after every output');
  });

  it('passes a source MbedtlsError through unchanged and wraps any other throw as SOURCE_FAILED', () => {
    const own = new MbedtlsError('MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR', 'custom');
    const a = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: () => { throw own; }, threshold: 0, strong: true }] });
    assert.throws(() => a.entropy(8), (e) => e === own);
    const boom = new Error('TRNG timeout');
    const b = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: () => { throw boom; }, threshold: 0, strong: true }] });
    assert.throws(() => b.entropy(8), (e) => mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c)(e) && (e as Error).cause === boom && /TRNG timeout/.test((e as Error).message));
  });

  it('refuses a source that returns more than the 128 bytes offered, or no Uint8Array', () => {
    const big = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: () => new Uint8Array(129), threshold: 0, strong: true }] });
    assert.throws(() => big.entropy(8), mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c));
    const bad = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: (() => 'x') as unknown as EntropyPoll, threshold: 0, strong: true }] });
    assert.throws(() => bad.entropy(8), mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c));
  });

  it('zeroizes what a source returned once it is hashed in', () => {
    const given: Uint8Array[] = [];
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: () => (given.push(pattern(64, 1)), given.at(-1)!), threshold: 0, strong: true }] });
    acc.entropy(64);
    assert.ok(given.every((g) => g.every((b) => b === 0)));
  });

  it('offers every source exactly MBEDTLS_ENTROPY_MAX_GATHER (128) bytes', () => {
    const seen: number[] = [];
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: (n) => (seen.push(n), pattern(64)), threshold: 0, strong: true }] });
    acc.entropy(1);
    acc.gather();
    assert.deepEqual(seen, [128, 128]);
  });

  it('checks its arguments', () => {
    assert.throws(() => new EntropyAccumulator({} as never), TypeError);
    assert.throws(() => new EntropyAccumulator({ crypto: nodeCrypto, hash: 'sha1' as never }), TypeError);
    assert.throws(() => new EntropyAccumulator({ crypto: nodeCrypto, hash: 'sha256', nvSeed: new NvSeedSource() }), RangeError);
    const acc = new EntropyAccumulator({ crypto: nodeCrypto });
    assert.throws(() => acc.addSource('x' as never, 0, true), TypeError);
    assert.throws(() => acc.addSource(counter(1), -1, true), RangeError);
    assert.throws(() => acc.addSource(counter(1), 0, 1 as never), TypeError);
    assert.throws(() => acc.updateManual('x' as never), TypeError);
  });

  it('refuses a source that calls back into the accumulator', () => {
    const acc: EntropyAccumulator = new EntropyAccumulator({ crypto: nodeCrypto });
    acc.addSource(() => acc.entropy(8), 0, true);
    assert.throws(() => acc.entropy(8), (e) => mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c)(e) && ((e as Error).cause as NvsecError).code === 'ENTROPY_BUSY');
  });

  it('throws ENTROPY_DESTROYED on every use after destroy(); a second destroy does nothing', () => {
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: counter(64), threshold: 0, strong: true }] });
    acc.entropy(8);
    acc.destroy();
    acc.destroy();
    assert.throws(() => acc.entropy(8), nvsec('ENTROPY_DESTROYED'));
    assert.throws(() => acc.gather(), nvsec('ENTROPY_DESTROYED'));
    assert.throws(() => acc.updateManual(new Uint8Array(1)), nvsec('ENTROPY_DESTROYED'));
    assert.throws(() => acc.addSource(counter(1), 0, true), nvsec('ENTROPY_DESTROYED'));
    assert.throws(() => acc.updateNvSeed(), nvsec('ENTROPY_DESTROYED'));
    assert.throws(() => acc.sourceCount, nvsec('ENTROPY_DESTROYED'));
  });
});

describe('EntropyAccumulator NV seed', () => {
  const hwSpec = () => ({ poll: counter(64), threshold: 32, strong: true });

  it('refreshes the seed on the first entropy call only, not on gather or manual updates', () => {
    const store = new MemoryStore(pattern(64));
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [hwSpec()], nvSeed: new NvSeedSource({ store }) });
    acc.gather();
    acc.updateManual(pattern(10));
    assert.equal(store.writes, 0);
    acc.entropy(32);
    assert.equal(store.writes, 1);
    const seed = store.content!.slice();
    acc.entropy(64);
    acc.entropy(1);
    assert.equal(store.writes, 1);
    assert.deepEqual(store.content, seed);
    const next = new EntropyAccumulator({ crypto: nodeCrypto, sources: [hwSpec()], nvSeed: new NvSeedSource({ store }) });
    next.entropy(16);
    assert.equal(store.writes, 2, 'a new context (a new boot) refreshes again');
    assert.notDeepEqual(store.content, seed);
  });

  it('refreshes twice when updateNvSeed() runs before any entropy call, as Mbed TLS does', () => {
    const store = new MemoryStore(pattern(64));
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [hwSpec()], nvSeed: new NvSeedSource({ store }) });
    acc.updateNvSeed();
    assert.equal(store.writes, 2);
    acc.updateNvSeed();
    assert.equal(store.writes, 3);
    const none = new EntropyAccumulator({ crypto: nodeCrypto, sources: [hwSpec()] });
    assert.throws(() => none.updateNvSeed(), nvsec('ENTROPY_NO_NV_SEED'));
  });

  it('fails with SOURCE_FAILED and leaves the store untouched when the seed is missing or short', () => {
    for (const content of [null, pattern(63), new Uint8Array(0)]) {
      const store = new MemoryStore(content);
      const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [hwSpec()], nvSeed: new NvSeedSource({ store }) });
      assert.throws(() => acc.entropy(32), (e) => mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c)(e) && /provision a 64-byte seed/.test((e as Error).message));
      assert.equal(store.writes, 0);
      assert.deepEqual(store.content, content);
    }
  });

  it('zeroizes the buffer of a short read (store: the short bytes; platform read: the whole buffer)', () => {
    const short = pattern(40, 1);
    const store: SeedStore = { read: () => short, write: () => {} };
    const src = new NvSeedSource({ store });
    assert.throws(() => src.poll(128), mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c));
    assert.ok(short.every((b) => b === 0));
    let seen: Uint8Array | null = null;
    const platform = new NvSeedSource({
      read: (buf, len) => {
        seen = buf;
        buf.fill(0xaa, 0, len - 5); // a partial read...
        return -1; // ...reported as a failure
      },
      write: (_buf, len) => len,
    });
    assert.throws(() => platform.poll(128), mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c));
    assert.ok(seen !== null && (seen as Uint8Array).every((b) => b === 0));
  });

  it('uses only the first block of a longer seed, and the standard functions rewrite exactly one block', () => {
    const long = pattern(100, 4);
    const store = new MemoryStore(long.slice());
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, nvSeed: new NvSeedSource({ store }) });
    const out = acc.entropy(64);
    const ref = new EntropyAccumulator({ crypto: nodeCrypto, nvSeed: new NvSeedSource({ store: new MemoryStore(long.slice(0, 64)) }) });
    assert.deepEqual(out, ref.entropy(64));
    assert.equal(store.content!.length, 64);
  });

  it('does not refresh again on a retry after a failed first call (the flag is consumed), as Mbed TLS', () => {
    const store = new MemoryStore(pattern(10));
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [hwSpec()], nvSeed: new NvSeedSource({ store }) });
    assert.throws(() => acc.entropy(32), mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c));
    store.content = pattern(64);
    acc.entropy(32);
    assert.equal(store.writes, 0);
  });

  it('fails with FILE_IO_ERROR (-0x3F) when the new seed cannot be written, and mixes in no separator then', () => {
    const run = (fail: boolean) => {
      const seed = pattern(64, 2);
      const src = new NvSeedSource({
        read: (buf, len) => (buf.set(seed), len),
        write: (_buf, len) => (fail ? -1 : len),
      });
      return new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: () => pattern(64, 8), threshold: 32, strong: true }], nvSeed: src });
    };
    const failing = run(true);
    assert.throws(() => failing.entropy(32), mbedtls('MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR', -0x3f));
    // The pool now holds round 1 only: the next output is H(H(h1 || round 2)), no separator.
    const out = failing.entropy(64);
    const round = [hdr(0, 64), pattern(64, 8), hdr(1, 64), pattern(64, 2)];
    const h1 = sha('sha512', ...round);
    assert.deepEqual(out, sha('sha512', sha('sha512', h1, ...round)));
    const thrower = new NvSeedSource({ read: () => 64, write: () => { throw new Error('flash is read-only'); } });
    assert.throws(() => thrower.write(pattern(64)), (e) => mbedtls('MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR', -0x3f)(e) && /flash is read-only/.test((e as Error).message));
  });

  it('gives the same bytes through all three porting options', () => {
    const seed = pattern(64, 6);
    const viaStore = new MemoryStore(seed.slice());
    const a = new EntropyAccumulator({ crypto: nodeCrypto, sources: [hwSpec()], nvSeed: new NvSeedSource({ store: viaStore }) }).entropy(64);
    // Option 2: platform functions with the (buf, len) => number contract.
    let platformSeed = seed.slice();
    const b = new EntropyAccumulator({
      crypto: nodeCrypto,
      sources: [hwSpec()],
      nvSeed: new NvSeedSource({ read: (buf, len) => (buf.set(platformSeed.subarray(0, len)), len), write: (buf, len) => ((platformSeed = buf.slice(0, len)), len) }),
    }).entropy(64);
    // Option 3: an unbound source fails until wrappers are registered at run time.
    const late = new NvSeedSource();
    assert.equal(late.binding, 'none');
    assert.throws(() => late.poll(128), (e) => mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c)(e) && /setNvSeed/.test((e as Error).message));
    assert.throws(() => late.write(pattern(64)), mbedtls('MBEDTLS_ERR_ENTROPY_FILE_IO_ERROR', -0x3f));
    const viaWrappers = new MemoryStore(seed.slice());
    const { read, write } = nvSeedFunctionsFromStore(viaWrappers);
    late.setNvSeed(read, write);
    assert.equal(late.binding, 'functions');
    const c = new EntropyAccumulator({ crypto: nodeCrypto, sources: [hwSpec()], nvSeed: late }).entropy(64);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
    assert.deepEqual(platformSeed, viaStore.content);
    assert.deepEqual(viaWrappers.content, viaStore.content);
  });

  it('checks NvSeedSource options', () => {
    assert.throws(() => new NvSeedSource({ size: 48 }), RangeError);
    assert.throws(() => new NvSeedSource({ store: new MemoryStore(null), read: () => 0, write: () => 0 }), TypeError);
    assert.throws(() => new NvSeedSource({ read: () => 0 }), TypeError);
    assert.throws(() => new NvSeedSource().write(new Uint8Array(63)), RangeError);
    assert.equal(new NvSeedSource({ size: 32, store: new MemoryStore(pattern(32)) }).poll(128).length, 32);
  });
});

describe('entropy sources', () => {
  it('osEntropyPoll returns maxLength bytes of the provider CSPRNG', () => {
    const poll = osEntropyPoll(nodeCrypto);
    const a = poll(128);
    assert.equal(a.length, 128);
    assert.notDeepEqual(a, poll(128));
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll, threshold: ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MIN_PLATFORM, strong: true }] });
    assert.equal(acc.entropy(64).length, 64);
  });

  it('hardwarePollSource follows the mbedtls_hardware_poll contract', () => {
    const trng: MbedtlsHardwarePoll = (output, len) => {
      assert.equal(len, 128);
      output.set(pattern(10, 3));
      return 10;
    };
    const poll = hardwarePollSource(trng);
    assert.deepEqual(poll(128), pattern(10, 3));
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll, threshold: ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MIN_HARDWARE, strong: true }] });
    acc.entropy(16); // 10 bytes per poll: 7 rounds for a full block
    assert.throws(() => hardwarePollSource(() => -0x3c)(128), (e) => mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c)(e) && /-0x3C/.test((e as Error).message));
    assert.throws(() => hardwarePollSource(() => 129)(128), mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c));
    assert.throws(() => hardwarePollSource(() => { throw new Error('bus error'); })(128), mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c));
  });

  it('hardwarePollSelfTest passes a working source and fails stuck, short or repeating ones', () => {
    const good: MbedtlsHardwarePoll = (out, len) => (out.set(nodeCrypto.randomBytes(len)), len);
    hardwarePollSelfTest(good);
    const fail = (poll: MbedtlsHardwarePoll, re: RegExp) =>
      assert.throws(() => hardwarePollSelfTest(poll), (e) => mbedtls('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', -0x3c)(e) && re.test((e as Error).message));
    fail((out, len) => (out.fill(0, 0, len), len), /every bit 0/);
    fail((out, len) => (out.fill(0xff, 0, len), len), /every bit 1/);
    fail(() => 0, /only 0 of 16/);
    fail((out, len) => (out.set(pattern(len, 1)), len), /same bytes/);
  });

  it('entropyBlockSize maps the hash to the block size', () => {
    assert.equal(entropyBlockSize('sha512'), 64);
    assert.equal(entropyBlockSize('sha256'), 32);
    assert.throws(() => entropyBlockSize('md5' as never), TypeError);
  });
});
