import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameDecoder, encodeFrame } from '../../src/pkcs11/rpc/frames.js';
import { WireError } from '../../src/pkcs11/rpc/wire.js';
import { CAPTURES } from './_rpc-captures.js';
import { hex, toHexString } from './_rpc.js';

describe('frames', () => {
  it('encodeFrame() writes code, options length and data length big-endian, then options and data', () => {
    // The C_Initialize answer of the spec capture: code 0x10, no options, 8 bytes of body.
    assert.equal(toHexString(encodeFrame(0x10, hex('0000000100000000'))), '00000010' + '00000000' + '00000008' + '0000000100000000');
    assert.equal(toHexString(encodeFrame(0x11, Uint8Array.of(9), new TextEncoder().encode('client'))), '00000011' + '00000006' + '00000001' + '636c69656e74' + '09');
  });

  it('FrameDecoder handles several frames in one chunk', () => {
    const stream = new Uint8Array([...encodeFrame(1, Uint8Array.of(1, 2)), ...encodeFrame(2, new Uint8Array(0)), ...encodeFrame(3, Uint8Array.of(3), Uint8Array.of(7, 7))]);
    const frames = new FrameDecoder().push(stream);
    assert.deepEqual(
      frames.map((f) => [f.code, [...f.options], [...f.body]]),
      [
        [1, [], [1, 2]],
        [2, [], []],
        [3, [7, 7], [3]],
      ],
    );
  });

  it('FrameDecoder gives the same frames whatever the chunking of a captured stream (byte by byte, at every split point)', () => {
    const stream = hex(CAPTURES.mechanisms.client).subarray(1);
    const whole = new FrameDecoder().push(stream).map((f) => [f.code, toHexString(f.options), toHexString(f.body)]);
    assert.ok(whole.length > 5);
    const d = new FrameDecoder();
    const bytewise = [...stream].flatMap((b) => d.push(Uint8Array.of(b))).map((f) => [f.code, toHexString(f.options), toHexString(f.body)]);
    assert.deepEqual(bytewise, whole);
    for (let cut = 1; cut < 200; cut += 7) {
      const d2 = new FrameDecoder();
      const got = [...d2.push(stream.subarray(0, cut)), ...d2.push(stream.subarray(cut))].map((f) => [f.code, toHexString(f.options), toHexString(f.body)]);
      assert.deepEqual(got, whole, `cut at ${cut}`);
      assert.equal(d2.buffered, 0);
    }
  });

  it('FrameDecoder refuses a body length over the limit from the header alone, and stays failed', () => {
    const d = new FrameDecoder({ maxBody: 1024 });
    assert.throws(() => d.push(hex('00000010 00000000 40000000')), (e) => e instanceof WireError && /body length 1073741824/.test(e.message));
    assert.equal(d.buffered, 0);
    assert.throws(() => d.push(encodeFrame(1, Uint8Array.of(1))), WireError);
  });

  it('FrameDecoder refuses options over the limit', () => {
    assert.throws(() => new FrameDecoder({ maxOptions: 16 }).push(hex('00000010 00000011 00000000')), /options length 17/);
  });

  it('FrameDecoder waits for the rest of a split header', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.push(hex('000000')), []);
    assert.deepEqual(d.push(hex('10000000')), []);
    assert.equal(d.push(hex('00000000 01 ff')).map((f) => f.code)[0], 0x10);
  });
});
