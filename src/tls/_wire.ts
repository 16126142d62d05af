import { NvsecError } from '../errors/nvsec-error.js';
import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { concatBytes } from '../bytes/concat.js';


/** `data` behind a big-endian length of `lengthBytes` bytes (a TLS vector). */
export function vec(lengthBytes: 1 | 2 | 3, data: Uint8Array): Uint8Array {
  if (data.length >= 2 ** (8 * lengthBytes)) throw new RangeError(`vector of ${data.length} bytes does not fit a ${lengthBytes}-byte length`);
  const out = new Uint8Array(lengthBytes + data.length);
  for (let i = 0; i < lengthBytes; i++) out[i] = (data.length >>> (8 * (lengthBytes - 1 - i))) & 0xff;
  out.set(data, lengthBytes);
  return out;
}

/** Big-endian u16. */
export const u16 = (v: number): Uint8Array => Uint8Array.of((v >>> 8) & 0xff, v & 0xff);

/** Reads TLS structures front to back; any overrun is a decode_error. */
export class WireReader {
  private at = 0;
  constructor(
    private readonly data: Uint8Array,
    private readonly what: string,
  ) {}
  get remaining(): number {
    return this.data.length - this.at;
  }
  bytes(n: number): Uint8Array {
    if (n > this.remaining) throw new NvsecError('TLS_PROTOCOL', `${this.what}: truncated (${n} bytes wanted, ${this.remaining} left); the server sent a malformed message`);
    const out = this.data.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  uint(n: 1 | 2 | 3): number {
    let v = 0;
    for (const b of this.bytes(n)) v = v * 256 + b;
    return v;
  }
  vec(lengthBytes: 1 | 2 | 3): Uint8Array {
    return this.bytes(this.uint(lengthBytes));
  }
  end(): void {
    if (this.remaining !== 0) throw new NvsecError('TLS_PROTOCOL', `${this.what}: ${this.remaining} unexpected trailing bytes`);
  }
}

/** TLS 1.3 extensions as a map from type to body (RFC 8446 §4.2). */
export function readExtensions(data: Uint8Array, what: string): Map<number, Uint8Array> {
  const r = new WireReader(data, what);
  const out = new Map<number, Uint8Array>();
  while (r.remaining > 0) {
    const type = r.uint(2);
    if (out.has(type)) throw new NvsecError('TLS_PROTOCOL', `${what}: extension ${type} appears twice`);
    out.set(type, r.vec(2));
  }
  return out;
}

/** HKDF-Expand-Label (RFC 8446 §7.1) over HMAC-`hash` from the provider. */
export function expandLabel(crypto: CryptoProvider, hash: HashName, secret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  const info = concatBytes(u16(length), vec(1, new TextEncoder().encode(`tls13 ${label}`)), vec(1, context));
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1, at = 0; at < length; i++) {
    t = crypto.hmac(hash, secret, concatBytes(t, info, Uint8Array.of(i)));
    out.set(t.subarray(0, Math.min(t.length, length - at)), at);
    at += t.length;
  }
  return out;
}
