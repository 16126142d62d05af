// p11-kit RPC framing (spec §3.3, P9, P11): a 12-byte header of three big-endian u32 (code,
// options length, data length), the options, then the message body.
import { WireError } from './wire.js';

/** Bytes of a frame header. */
export const FRAME_HEADER_BYTES = 12;

/** One frame: the header code (echoed in the response), the options (the client's module name) and the body. */
export interface Frame {
  readonly code: number;
  readonly options: Uint8Array;
  readonly body: Uint8Array;
}

/** Limits a {@link FrameDecoder} enforces before it allocates anything. */
export interface FrameLimits {
  /** Largest options part. Default 4 KiB (p11-kit sends its module name, a few bytes). */
  readonly maxOptions?: number;
  /** Largest body. Default 16 MiB (a certificate or a large C_Sign input fits many times). */
  readonly maxBody?: number;
}

/**
 * A frame's bytes: header, `options`, `body`.
 *
 * @throws RangeError for a code over 0xFFFFFFFF
 * @example
 * socket.write(encodeFrame(frame.code, responseBody));
 */
export function encodeFrame(code: number, body: Uint8Array, options: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (!Number.isInteger(code) || code < 0 || code > 0xffffffff) throw new RangeError(`frame code must be a u32, got ${code}`);
  const out = new Uint8Array(FRAME_HEADER_BYTES + options.length + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, code);
  dv.setUint32(4, options.length);
  dv.setUint32(8, body.length);
  out.set(options, FRAME_HEADER_BYTES);
  out.set(body, FRAME_HEADER_BYTES + options.length);
  return out;
}

/**
 * Cuts a byte stream into frames: several frames in one chunk, a frame split across chunks, a
 * header split anywhere. Lengths over the limits throw {@link WireError} as soon as the header is
 * complete, before the frame's bytes are buffered; after an error the decoder stays failed.
 *
 * @example
 * const frames = new FrameDecoder();
 * socket.on('data', (chunk) => { for (const f of frames.push(chunk)) handle(f); });
 */
export class FrameDecoder {
  private readonly maxOptions: number;
  private readonly maxBody: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private header: { code: number; options: number; body: number } | null = null;
  private failed: WireError | null = null;

  constructor(limits: FrameLimits = {}) {
    this.maxOptions = limits.maxOptions ?? 4096;
    this.maxBody = limits.maxBody ?? 16 * 1024 * 1024;
  }

  /** Bytes held for a frame not complete yet. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /**
   * Adds `chunk`; returns the frames it completed, in order.
   * @throws {WireError} for an options or body length over the limits
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.failed !== null) throw this.failed;
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const out: Frame[] = [];
    for (;;) {
      if (this.header === null) {
        if (this.pendingBytes < FRAME_HEADER_BYTES) break;
        const h = this.take(FRAME_HEADER_BYTES);
        const dv = new DataView(h.buffer, h.byteOffset, h.length);
        const header = { code: dv.getUint32(0), options: dv.getUint32(4), body: dv.getUint32(8) };
        if (header.options > this.maxOptions) return this.fail(`frame options length ${header.options} is over the limit of ${this.maxOptions}`);
        if (header.body > this.maxBody) return this.fail(`frame body length ${header.body} is over the limit of ${this.maxBody}`);
        this.header = header;
      }
      const h = this.header;
      if (this.pendingBytes < h.options + h.body) break;
      const options = this.take(h.options);
      const body = this.take(h.body);
      this.header = null;
      out.push({ code: h.code, options, body });
    }
    return out;
  }

  private fail(message: string): never {
    this.failed = new WireError(message);
    this.pending = [];
    this.pendingBytes = 0;
    throw this.failed;
  }

  /** Removes and returns the first `n` buffered bytes (a view when they sit in one chunk). */
  private take(n: number): Uint8Array {
    const first = this.pending[0];
    if (n === 0) return new Uint8Array(0);
    this.pendingBytes -= n;
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const c = this.pending[0]!;
      const k = Math.min(c.length, n - at);
      out.set(c.subarray(0, k), at);
      at += k;
      if (k === c.length) this.pending.shift();
      else this.pending[0] = c.subarray(k);
    }
    return out;
  }
}
