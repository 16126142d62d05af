import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isFilled } from '../../src/bytes/equal.js';

describe('isFilled()', () => {
  it('agrees with a byte-by-byte check for any buffer, offset, range and fill value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(7), fc.nat(300), fc.nat(300), fc.integer({ min: 0, max: 255 }), fc.nat(299), (bytes, shift, a, b, value, poke) => {
        const base = new Uint8Array(bytes.length + 8);
        const data = base.subarray(shift, shift + bytes.length).fill(value);
        if (bytes.length > 0 && bytes[0]! & 1) data[poke % bytes.length] = value ^ 1;
        const start = Math.min(a, b, data.length);
        const end = Math.min(Math.max(a, b), data.length);
        const expected = data.subarray(start, end).every((x) => x === value);
        assert.equal(isFilled(data, value, start, end), expected);
      }),
      { numRuns: 2000 },
    );
  });
});
