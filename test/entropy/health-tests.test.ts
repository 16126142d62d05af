import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EntropyAccumulator } from '../../src/entropy/accumulator.js';
import type { EntropyPoll } from '../../src/entropy/entropy-source.js';
import { adaptiveProportionCutoff, HealthTestedSource, repetitionCountCutoff } from '../../src/entropy/health-tests.js';
import { MbedtlsError } from '../../src/entropy/mbedtls-errors.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { mulberry32 } from '../_support/mulberry32.js';

/** A deterministic good noise source (full-entropy-looking bytes), counting the bytes it gave. */
function prng(seed: number): EntropyPoll & { given: number } {
  const next = mulberry32(seed);
  const poll = ((n: number) => {
    poll.given += n;
    return Uint8Array.from({ length: n }, () => next() & 0xff);
  }) as EntropyPoll & { given: number };
  poll.given = 0;
  return poll;
}

const failedWith = (test: string) => (e: unknown) =>
  e instanceof MbedtlsError && e.code === 'MBEDTLS_ERR_ENTROPY_SOURCE_FAILED' && e.ret === -0x3c && e.message.includes(test);

describe('SP 800-90B cutoffs', () => {
  it('repetition count cutoffs match the spec table for α = 2^-20', () => {
    const table: Array<[number, number]> = [[8, 4], [7, 4], [4, 6], [2, 11], [1, 21], [0.5, 41]];
    for (const [h, c] of table) assert.equal(repetitionCountCutoff(h), c, `H = ${h}`);
    assert.equal(repetitionCountCutoff(8, 40), 6);
  });

  it('adaptive proportion cutoffs match the spec table (W = 512 and W = 1024)', () => {
    const w512: Array<[number, number]> = [[8, 13], [7, 18], [6, 25], [5, 39], [4, 62], [2, 177], [1, 311], [0.5, 410]];
    for (const [h, c] of w512) assert.equal(adaptiveProportionCutoff(h, 512), c, `W = 512, H = ${h}`);
    const w1024: Array<[number, number]> = [[1, 589], [0.5, 793], [0.2, 941]];
    for (const [h, c] of w1024) assert.equal(adaptiveProportionCutoff(h, 1024), c, `W = 1024, H = ${h}`);
  });

  it('rejects out-of-range parameters', () => {
    assert.throws(() => repetitionCountCutoff(0), RangeError);
    assert.throws(() => repetitionCountCutoff(9), RangeError);
    assert.throws(() => repetitionCountCutoff(8, 19), RangeError);
    assert.throws(() => adaptiveProportionCutoff(8, 1), RangeError);
    assert.throws(() => new HealthTestedSource(prng(1), { aptCutoff: 600 }), RangeError);
    assert.throws(() => new HealthTestedSource(prng(1), { rctCutoff: 1 }), RangeError);
    assert.throws(() => new HealthTestedSource(prng(1), { startupSamples: -1 }), RangeError);
    assert.throws(() => new HealthTestedSource('x' as never), TypeError);
  });
});

describe('HealthTestedSource', () => {
  it('passes a good source over 1 MiB of samples and delivers its bytes unchanged after start-up', () => {
    const inner = prng(20240601);
    const tested = new HealthTestedSource(inner);
    assert.equal(tested.rctCutoff, 4);
    assert.equal(tested.aptCutoff, 13);
    assert.equal(tested.window, 512);
    const reference = prng(20240601);
    let startup = 0;
    while (startup < 1024) startup += reference(128).length; // the discarded start-up samples
    for (let i = 0; i < 8192; i++) assert.deepEqual(tested.poll(128), reference(128));
    assert.equal(tested.failedTest, null);
    assert.equal(tested.samplesTested, 1024 + 8192 * 128);
  });

  it('trips the repetition count test on a stuck source, during start-up, and zeroizes the batch', () => {
    const batches: Uint8Array[] = [];
    const stuck: EntropyPoll = (n) => (batches.push(new Uint8Array(n).fill(0x41)), batches.at(-1)!);
    const tested = new HealthTestedSource(stuck);
    assert.throws(() => tested.poll(128), failedWith('repetition count test'));
    assert.equal(tested.failedTest, 'repetition count test');
    assert.ok(batches.every((b) => b.every((x) => x === 0)));
    assert.equal(tested.samplesTested, 4, 'fails at the 4th identical sample (cutoff 4 for H = 8)');
  });

  it('trips the repetition count test across poll boundaries', () => {
    const polls = [Uint8Array.of(1, 2, 3, 0x41, 0x41), Uint8Array.of(0x41, 0x41, 9)];
    const tested = new HealthTestedSource(() => polls.shift() ?? new Uint8Array(0), { startupSamples: 0 });
    assert.deepEqual(tested.poll(128), Uint8Array.of(1, 2, 3, 0x41, 0x41));
    assert.throws(() => tested.poll(128), failedWith('repetition count test'));
  });

  it('trips the adaptive proportion test on a biased source that never repeats a sample', () => {
    // Every other sample is 0x00: no run longer than 1, but 0x00 fills half of every window.
    const next = mulberry32(7);
    let i = 0;
    const biased: EntropyPoll = (n) => Uint8Array.from({ length: n }, () => (i++ % 2 === 0 ? 0 : 1 + (next() % 255)));
    const tested = new HealthTestedSource(biased, { startupSamples: 0 });
    assert.throws(() => tested.poll(128), failedWith('adaptive proportion test'));
    assert.equal(tested.failedTest, 'adaptive proportion test');
    assert.equal(tested.samplesTested, 25, 'the 13th 0x00 of the window is sample 25');
  });

  it('catches a subtler bias with a lower assessed entropy only when it crosses that cutoff', () => {
    // 0x00 about one time in 9 (never twice in a row, so no run), other values spread: fine for
    // H = 2 (cutoff 177 in 512), caught for H = 8 (13 in 512) in the first window starting with 0x00.
    const make = () => {
      const next = mulberry32(99);
      let last = -1;
      return (n: number) =>
        Uint8Array.from({ length: n }, () => {
          last = last !== 0 && next() % 8 === 0 ? 0 : 1 + (next() % 255);
          return last;
        });
    };
    const lenient = new HealthTestedSource(make(), { minEntropy: 2, startupSamples: 0 });
    for (let k = 0; k < 200; k++) lenient.poll(128);
    assert.equal(lenient.failedTest, null);
    const strict = new HealthTestedSource(make(), { minEntropy: 8, startupSamples: 0 });
    assert.throws(() => {
      for (let k = 0; k < 200; k++) strict.poll(128);
    }, failedWith('adaptive proportion test'));
  });

  it('stays failed once tripped, even when the source recovers', () => {
    let stuck = true;
    const good = prng(3);
    const tested = new HealthTestedSource((n) => (stuck ? new Uint8Array(n) : good(n)), { startupSamples: 0 });
    assert.throws(() => tested.poll(128), failedWith('repetition count test'));
    stuck = false;
    for (let k = 0; k < 3; k++) assert.throws(() => tested.poll(128), failedWith('repetition count test'));
    assert.equal(good.given, 0, 'the noise source is not even polled any more');
  });

  it('honours configured cutoffs and window', () => {
    const tested = new HealthTestedSource(() => Uint8Array.of(5, 5, 5, 6), { rctCutoff: 4, aptCutoff: 10, window: 16, startupSamples: 0 });
    assert.equal(tested.window, 16);
    tested.poll(128); // 5,5,5 is a run of 3 < 4
    tested.poll(128);
    tested.poll(128); // window so far: 12 samples, nine 5s
    assert.throws(() => tested.poll(128), failedWith('adaptive proportion test')); // the 10th 5 within 16 samples
  });

  it('fails closed through the accumulator with SOURCE_FAILED naming the test', () => {
    const tested = new HealthTestedSource(() => new Uint8Array(128).fill(0xff));
    const acc = new EntropyAccumulator({ crypto: nodeCrypto, sources: [{ poll: tested.poll, threshold: 32, strong: true }] });
    assert.throws(() => acc.entropy(32), (e) => failedWith('repetition count test')(e) && /stays disabled/.test((e as Error).message));
    assert.throws(() => acc.entropy(32), failedWith('repetition count test'));
  });

  it('ends a start-up round empty-handed when the noise source has nothing yet, and resumes later', () => {
    let ready = false;
    const good = prng(11);
    const tested = new HealthTestedSource((n) => (ready ? good(n) : new Uint8Array(0)));
    assert.equal(tested.poll(128).length, 0);
    ready = true;
    assert.equal(tested.poll(128).length, 128);
    assert.equal(tested.samplesTested, 1024 + 128);
  });
});
