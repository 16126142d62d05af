import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeBase64Into } from '../../src/nvs/generator/_values.js';

describe('decodeBase64Into()', () => {
  it('decodes canonical base64 natively to the same bytes as the lenient decoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = Buffer.from(bytes).toString('base64');
        const fast = new Uint8Array(bytes.length + 3);
        const slow = new Uint8Array(bytes.length + 3);
        const n = decodeBase64Into(text, fast, false);
        const m = decodeBase64Into(`${text}\n`, slow, false); // a newline forces the lenient path, which skips it
        assert.equal(n, bytes.length);
        assert.equal(m, bytes.length);
        assert.deepEqual(fast.subarray(0, bytes.length), bytes);
        assert.deepEqual(slow.subarray(0, bytes.length), bytes);
      }),
      { numRuns: 1000 },
    );
  });
});
