import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { crc32le } from '../../src/bytes/crc32.js';

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('crc32le (the NVS / ESP ROM variant)', () => {
  it('gives 0xD202D277 for the check string "123456789"', () => {
    assert.equal(crc32le(ascii('123456789')), 0xd202d277);
  });

  it('gives 0xFFFFFFFF for no data', () => {
    assert.equal(crc32le(new Uint8Array(0)), 0xffffffff);
  });

  it('differs from the standard CRC-32 check value 0xCBF43926', () => {
    assert.notEqual(crc32le(ascii('123456789')), 0xcbf43926);
  });

  it('returns an unsigned 32-bit number', () => {
    const crc = crc32le(Uint8Array.of(0x80, 0x00, 0xff));
    assert.ok(Number.isInteger(crc) && crc >= 0 && crc <= 0xffffffff);
  });

  it('gives the same result chained over two parts as in one call over their concatenation', () => {
    const data = ascii('The quick brown fox jumps over the lazy dog');
    for (const cut of [0, 1, 9, data.length - 1, data.length]) {
      const chained = crc32le(data.subarray(cut), crc32le(data.subarray(0, cut)));
      assert.equal(chained, crc32le(data), `split at ${cut}`);
    }
  });

  it('covers only data[start, end) when given a range', () => {
    const data = ascii('xx123456789yy');
    assert.equal(crc32le(data, 0xffffffff, 2, 11), 0xd202d277);
  });
});

describe('crc32le() sliced computation', () => {
  // The textbook bit-at-a-time definition, independent of the tables.
  const reference = (data: Uint8Array, start: number, end: number): number => {
    let c = 0;
    for (let i = start; i < end; i++) {
      c ^= data[i]!;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    return (c ^ 0xffffffff) >>> 0;
  };

  it('equals the bit-at-a-time definition for any data and range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), fc.nat(200), (data, a, b) => {
        const start = Math.min(a, b, data.length);
        const end = Math.min(Math.max(a, b), data.length);
        assert.equal(crc32le(data, 0xffffffff, start, end), reference(data, start, end));
      }),
      { numRuns: 3000 },
    );
  });
});
