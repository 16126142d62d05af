import type { EntropyPoll } from './entropy-source.js';
import { MbedtlsError } from './mbedtls-errors.js';
import { errorMessage } from '../errors/error-message.js';

/**
 * The `mbedtls_hardware_poll` contract (`MBEDTLS_ENTROPY_HARDWARE_ALT`): write up to `len` bytes
 * of full-entropy data to the start of `output` and return how many were written (0 is allowed).
 * Report a failure by throwing (an {@link MbedtlsError} passes through unchanged) or by returning
 * a negative number (the C function's error code).
 */
export type MbedtlsHardwarePoll = (output: Uint8Array, len: number) => number;

const sourceFailed = (message: string, cause?: unknown): MbedtlsError =>
  new MbedtlsError('MBEDTLS_ERR_ENTROPY_SOURCE_FAILED', message, cause === undefined ? {} : { cause });

/** Calls `poll` on `buf` and checks its answer; returns olen. Zeroizes `buf` on failure. */
function callPoll(poll: MbedtlsHardwarePoll, buf: Uint8Array): number {
  let olen: unknown;
  try {
    olen = poll(buf, buf.length);
  } catch (e) {
    buf.fill(0);
    if (e instanceof MbedtlsError) throw e;
    throw sourceFailed(`The hardware entropy source failed: ${errorMessage(e)}`, e);
  }
  if (typeof olen !== 'number' || !Number.isInteger(olen) || olen < 0 || olen > buf.length) {
    buf.fill(0);
    if (typeof olen === 'number' && olen < 0) {
      throw sourceFailed(`The hardware entropy source reported an error (returned ${olen}${Number.isInteger(olen) ? ` = -0x${(-olen).toString(16).toUpperCase()}` : ''})`);
    }
    throw sourceFailed(`The hardware entropy source broke its contract: it returned ${String(olen)} for a ${buf.length}-byte buffer (expected 0..${buf.length})`);
  }
  return olen;
}

/**
 * Adapts an `mbedtls_hardware_poll`-style function to an {@link EntropyPoll}. Register it as a
 * strong source with threshold `ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MIN_HARDWARE` (32): the
 * collector counts bytes, assuming full entropy; wrap a raw noise source in health tests first.
 *
 * @throws {TypeError} when `poll` is not a function
 * @example
 * const trng: MbedtlsHardwarePoll = (output, len) => {
 *   output.set(readTrngRegister().subarray(0, len));
 *   return Math.min(len, 4);
 * };
 * acc.addSource(hardwarePollSource(trng), ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MIN_HARDWARE, true);
 */
export function hardwarePollSource(poll: MbedtlsHardwarePoll): EntropyPoll {
  if (typeof poll !== 'function') throw new TypeError('"poll" must be a function (output, len) => olen');
  return (maxLength) => {
    const buf = new Uint8Array(maxLength);
    const olen = callPoll(poll, buf);
    const out = buf.slice(0, olen);
    buf.fill(0);
    return out;
  };
}

/**
 * The start-up check of a hardware source (`mbedtls_entropy_source_self_test`): fills two 16-byte
 * buffers with at most 16 polls each (each poll asked for the bytes still missing) and fails if a
 * buffer is short, all zero bits or all one bits, or if both buffers are equal. A crude check for
 * a dead or stuck source; the SP 800-90B health tests are the real continuous check.
 *
 * @throws {MbedtlsError} MBEDTLS_ERR_ENTROPY_SOURCE_FAILED naming the check that failed, or the
 *   source's own error
 * @example
 * hardwarePollSelfTest(trng); // at boot, before registering the source
 */
export function hardwarePollSelfTest(poll: MbedtlsHardwarePoll): void {
  if (typeof poll !== 'function') throw new TypeError('"poll" must be a function (output, len) => olen');
  const size = 16;
  const bufs = [new Uint8Array(size), new Uint8Array(size)] as const;
  try {
    for (const buf of bufs) {
      let filled = 0;
      for (let attempts = size; attempts > 0 && filled < size; attempts--) filled += callPoll(poll, buf.subarray(filled));
      if (filled < size) throw sourceFailed(`Hardware entropy self test failed: ${size} polls delivered only ${filled} of ${size} bytes`);
    }
    for (const buf of bufs) {
      let and = 0xff;
      let or = 0;
      for (const b of buf) {
        and &= b;
        or |= b;
      }
      if (and === 0xff || or === 0) throw sourceFailed(`Hardware entropy self test failed: ${size} bytes with every bit ${or === 0 ? '0' : '1'}: the source is stuck`);
    }
    if (bufs[0].every((b, i) => b === bufs[1][i])) throw sourceFailed('Hardware entropy self test failed: two consecutive reads returned the same bytes');
  } finally {
    for (const buf of bufs) buf.fill(0);
  }
}
