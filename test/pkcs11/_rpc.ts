// Test helpers for the p11-kit RPC: a signature-driven codec for whole message bodies (requests
// and responses), frame splitting of captured streams, and a fake transport around RpcConnection.
import { RPC_CALLS, RPC_HANDSHAKE } from '../../src/pkcs11/rpc/calls.js';
import { type Frame, FrameDecoder, encodeFrame } from '../../src/pkcs11/rpc/frames.js';
import { RpcConnection, type RpcConnectionOptions, signatureParts } from '../../src/pkcs11/rpc/server.js';
import { type MechanismFormat, WireReader, WireWriter } from '../../src/pkcs11/rpc/wire.js';
import type { Token } from '../../src/pkcs11/token/token.js';

export const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/[\s|]/g, ''), 'hex'));
export const toHexString = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** One decoded value; the tag says which encoder wrote it. */
export type Value = { part: string; value: unknown };

/** A whole message body: call id, signature, values. */
export interface Body {
  readonly id: number;
  readonly signature: string;
  readonly values: Value[];
}

/** Decodes a body by its own signature string (request parts when `kind` is 'request'); checks every byte is read. */
export function decodeBody(body: Uint8Array, kind: 'request' | 'response', format: MechanismFormat = 'legacy'): Body {
  const r = new WireReader(body);
  const id = r.u32();
  const signature = r.signature();
  const values = signatureParts(signature).map((part): Value => {
    switch (part) {
      case 'y':
        return { part, value: r.byte() };
      case 'u':
        return { part, value: r.u64() };
      case 'v':
        return { part, value: r.version() };
      case 's':
        return { part, value: r.byteArray() };
      case 'z':
        return { part, value: r.byteArray() };
      case 'ay':
        return { part, value: kind === 'request' ? rawAy(r) : r.bytesResult() };
      case 'au':
        return { part, value: r.ulongsResult() };
      case 'aA':
        return { part, value: r.attributes() };
      case 'fy':
      case 'fu':
        return { part, value: r.capacity() };
      case 'fA':
        return { part, value: r.attributeRequests() };
      case 'M':
        return { part, value: r.mechanism(format) };
      default:
        throw new Error(`part ${part}`);
    }
  });
  r.end();
  return { id, signature, values };
}

/** A request `ay` with its validity kept (valid 0 = NULL buffer of a size). */
function rawAy(r: WireReader): { valid: boolean; value: Uint8Array | null; length: number } {
  const valid = r.byte() === 1;
  if (!valid) return { valid, value: null, length: r.u32() };
  const value = r.byteArray();
  return { valid, value, length: value?.length ?? 0 };
}

/** Encodes what {@link decodeBody} decoded. */
export function encodeBody(b: Body, kind: 'request' | 'response', format: MechanismFormat = 'legacy'): Uint8Array {
  const w = new WireWriter();
  w.u32(b.id).signature(b.signature);
  for (const { part, value } of b.values) {
    const v = value as never;
    switch (part) {
      case 'y':
        w.byte(v);
        break;
      case 'u':
        w.u64(v);
        break;
      case 'v':
        w.version(v);
        break;
      case 's':
      case 'z':
        w.byteArray(v);
        break;
      case 'ay': {
        const a = value as { valid?: boolean; value: Uint8Array | null; length: number };
        if (kind === 'request') {
          if (a.valid === true) w.byte(1).byteArray(a.value);
          else w.byte(0).u32(a.length);
        } else if (a.value === null) w.bytesLength(a.length);
        else w.bytes(a.value);
        break;
      }
      case 'au': {
        const a = value as { values: number[] | null; count: number };
        if (a.values === null) w.ulongsLength(a.count);
        else w.ulongs(a.values);
        break;
      }
      case 'aA':
        w.attributes(v);
        break;
      case 'fy':
      case 'fu':
        w.capacity(v);
        break;
      case 'fA':
        w.attributeRequests(v);
        break;
      case 'M':
        w.mechanism(v, format);
        break;
      default:
        throw new Error(`part ${part}`);
    }
  }
  return w.finish();
}

/** The frames of a captured stream (`withVersion`: the first byte is the version byte, skipped). */
export function framesOf(stream: Uint8Array, withVersion = true): Frame[] {
  const d = new FrameDecoder();
  const frames = d.push(withVersion ? stream.subarray(1) : stream);
  if (d.buffered !== 0) throw new Error(`${d.buffered} bytes left after the last frame`);
  return frames;
}

/** A request body: call id, its table signature, and the argument bytes. */
export function request(id: number, args: (w: WireWriter) => void = () => undefined): Uint8Array {
  const call = RPC_CALLS[id]!;
  const w = new WireWriter();
  w.u32(id).signature(call.request!);
  args(w);
  return w.finish();
}

/** C_Initialize's arguments as the 0.24.1 client sends them. */
export const initializeArgs = (w: WireWriter, handshake = RPC_HANDSHAKE): void => {
  w.byte(1).byteArray(new TextEncoder().encode(handshake)).byte(0).byte(1).byteArray(Uint8Array.of(0));
};

/** An RpcConnection with an in-memory transport and a frame-level client. */
export class FakeClient {
  readonly conn: RpcConnection;
  readonly received: Uint8Array[] = [];
  closed = false;
  private code = 0x10;
  private readonly decoder = new FrameDecoder();
  private versionAnswer: number | null = null;

  constructor(token: Token, options: RpcConnectionOptions = {}) {
    this.conn = new RpcConnection(token, (b) => void this.received.push(b.slice()), () => void (this.closed = true), options);
  }

  /** Sends the version byte; returns the server's answer. */
  hello(version = 0): number | null {
    this.conn.receive(Uint8Array.of(version));
    const first = this.received.shift();
    this.versionAnswer = first?.[0] ?? null;
    return this.versionAnswer;
  }

  /** Sends one request body; returns the response body (null when the connection was dropped). */
  call(body: Uint8Array): Uint8Array | null {
    const code = this.code++;
    this.conn.receive(encodeFrame(code, body, new TextEncoder().encode('client')));
    const out = this.received.splice(0);
    const frames = out.flatMap((b) => this.decoder.push(b));
    if (frames.length === 0) return null;
    if (frames.length !== 1 || frames[0]!.code !== code) throw new Error(`expected one response with code ${code}`);
    return frames[0]!.body;
  }

  /** Version byte + C_Initialize; throws unless it succeeded. */
  init(): void {
    this.hello(0);
    const r = this.call(request(1, initializeArgs));
    if (r === null || toHexString(r) !== '0000000100000000') throw new Error(`C_Initialize failed: ${r === null ? 'dropped' : toHexString(r)}`);
  }
}

/** The CK_RV of an ERROR body, or null for a normal response. */
export function errorRv(body: Uint8Array): number | null {
  const b = decodeBody(body, 'response');
  return b.id === 0 ? (b.values[0]!.value as number) : null;
}
