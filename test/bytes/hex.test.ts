import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../src/bytes/hex.js';

describe('toHex', () => {
  it('encodes bytes as lower-case hex with two digits each', () => {
    assert.equal(toHex(Uint8Array.of(0x00, 0x0a, 0xab, 0xff)), '000aabff');
  });

  it('encodes no bytes as an empty string', () => {
    assert.equal(toHex(new Uint8Array(0)), '');
  });
});

describe('fromHex', () => {
  it('decodes hex in either case', () => {
    assert.deepEqual(fromHex('00aBcDeF'), Uint8Array.of(0x00, 0xab, 0xcd, 0xef));
  });

  it('decodes an empty string to no bytes', () => {
    assert.deepEqual(fromHex(''), new Uint8Array(0));
  });

  it('round-trips every byte value through toHex', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(fromHex(toHex(all)), all);
  });

  it('refuses odd-length text with a RangeError naming the length', () => {
    assert.throws(() => fromHex('abc'), { name: 'RangeError', message: /odd length 3/ });
  });

  it('refuses a non-hex character with a RangeError naming it and its offset', () => {
    assert.throws(() => fromHex('00zz'), { name: 'RangeError', message: /"z" at offset 2/ });
    assert.throws(() => fromHex('0x12'), { name: 'RangeError', message: /"x" at offset 1/ });
    assert.throws(() => fromHex('12 345'), { name: 'RangeError', message: /" " at offset 2/ });
  });
});
