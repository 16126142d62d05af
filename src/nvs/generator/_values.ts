/*
 * Value conversions of esp-idf-nvs-partition-gen, reproducing the Python built-ins it relies on:
 * int(), str.strip(), bytes.strip(), binascii.a2b_hex() and binascii.a2b_base64(). Decoders write
 * into a caller-owned scratch buffer so that a row costs no allocation. Failures come back as a
 * short reason string (the caller adds the row, key and advice).
 */

/** Python `str.isspace()` characters (what `str.strip()` and `int()` drop at the ends). */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
/** What `int(str)` skips: the same minus \x1c-\x1f (ASCII characters reach its parser unmapped). */
const INT_SPACE = PY_SPACE.replace('\\x1c-\\x1f', '');
const INT_STRIP = new RegExp(`^[${INT_SPACE}]+|[${INT_SPACE}]+$`, 'g');
/** ASCII whitespace that `bytes.strip()` and `int(bytes)` drop. */
const ASCII_STRIP = /^[\t\n\v\f\r ]+|[\t\n\v\f\r ]+$/g;
const PY_INT = /^[+-]?[0-9]+(?:_[0-9]+)*$/;

/** True when the UTF-16 unit `c` might be whitespace (cheap pre-check before the regex). */
function maybeSpace(c: number): boolean {
  return c <= 0x20 || c === 0x85 || c === 0xa0 || c >= 0x1680;
}

/** Python `str.strip()` with no argument. */
export function pyStrip(s: string): string {
  if (s.length === 0 || (!maybeSpace(s.charCodeAt(0)) && !maybeSpace(s.charCodeAt(s.length - 1)))) return s;
  return s.replace(PY_STRIP, '');
}

/** Python `bytes.strip()` applied to bytes held as a latin-1 string. */
export function asciiStrip(s: string): string {
  if (s.length === 0 || (s.charCodeAt(0) > 0x20 && s.charCodeAt(s.length - 1) > 0x20)) return s;
  return s.replace(ASCII_STRIP, '');
}

/** A growable byte buffer reused across rows. */
export class Scratch {
  buf = new Uint8Array(4096);

  /** The buffer, grown (contents dropped) to hold at least `n` bytes. */
  ensure(n: number): Uint8Array {
    if (this.buf.length < n) this.buf = new Uint8Array(Math.max(n, this.buf.length * 2));
    return this.buf;
  }
}

/**
 * Python `int(text)` in base 10 (`text` from a str, or bytes decoded as latin-1 when `ascii`):
 * surrounding whitespace, one sign, digits with single underscores between them.
 * @returns the value, or a reason string when Python would raise ValueError
 */
export function pyInt(text: string, ascii: boolean): bigint | string {
  const t = ascii ? asciiStrip(text) : text.replace(INT_STRIP, '');
  if (!PY_INT.test(t)) {
    if (/^[+-]?0[xob]/i.test(t)) return 'only decimal integers are accepted (no 0x, 0o or 0b prefix)';
    return 'it is not a decimal integer';
  }
  return BigInt(t.replace(/_/g, ''));
}

const HEX_VALUE = /* @__PURE__ */ (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/**
 * `binascii.a2b_hex(text)` into `out` (which must hold `text.length / 2` bytes). `text` has
 * even length (checked by the caller, like the tool).
 * @returns the byte count, or a reason string for a non-hex character
 */
export function decodeHexInto(text: string, out: Uint8Array): number | string {
  const n = text.length >>> 1;
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    const a = text.charCodeAt(j);
    const b = text.charCodeAt(j + 1);
    const hi = a < 128 ? HEX_VALUE[a]! : -1;
    const lo = b < 128 ? HEX_VALUE[b]! : -1;
    if (hi < 0 || lo < 0) {
      const at = hi < 0 ? j : j + 1;
      return `"${text[at]}" at offset ${at} is not a hexadecimal digit`;
    }
    out[i] = (hi << 4) | lo;
  }
  return n;
}

const B64_VALUE = /* @__PURE__ */ (() => {
  const t = new Int8Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
})();

const CANONICAL_B64 = /^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * `binascii.a2b_base64(text)` (not strict) into `out` (which must hold `ceil(len * 3 / 4)`
 * bytes): characters outside the alphabet are skipped, a complete pad sequence ends the input,
 * and a dangling quad is an error. `text` is a str (non-ASCII is an error, as in Python) or
 * bytes as latin-1 (`bytesInput`, where non-ASCII bytes are just skipped).
 * @returns the byte count, or a reason string where Python raises
 */
export function decodeBase64Into(text: string, out: Uint8Array, bytesInput: boolean): number | string {
  // Canonical base64 (the usual case) decodes natively; atob and the lenient decoder agree on it.
  if (text.length % 4 === 0 && CANONICAL_B64.test(text)) {
    const bin = atob(text);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return bin.length;
  }
  const NOT_ASCII = 'base64 text may contain only ASCII characters';
  let quadPos = 0;
  let left = 0;
  let pads = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch > 0x7f && !bytesInput) return NOT_ASCII; // Python checks the whole str first
    if (ch === 0x3d) {
      if (quadPos >= 2 && quadPos + ++pads >= 4) {
        // A complete pad sequence ends the data (the rest of a str must still be ASCII).
        return bytesInput || isAscii(text.slice(i + 1)) ? o : NOT_ASCII;
      }
      continue;
    }
    const v = ch < 256 ? B64_VALUE[ch]! : -1;
    if (v < 0) continue;
    pads = 0;
    switch (quadPos) {
      case 0:
        quadPos = 1;
        left = v;
        break;
      case 1:
        quadPos = 2;
        out[o++] = ((left << 2) | (v >> 4)) & 0xff;
        left = v & 0x0f;
        break;
      case 2:
        quadPos = 3;
        out[o++] = ((left << 4) | (v >> 2)) & 0xff;
        left = v & 0x03;
        break;
      default:
        quadPos = 0;
        out[o++] = ((left << 6) | v) & 0xff;
        left = 0;
    }
  }
  if (quadPos === 1) {
    return `the number of base64 data characters (${Math.floor(o / 3) * 4 + 1}) cannot be 1 more than a multiple of 4`;
  }
  if (quadPos !== 0) return 'incorrect padding (a final "=" or "==" is missing)';
  return o;
}

/** A parsed `blob_fill(N;0xPP)` or `blob_sz_fill(N;0xPP)` encoding. */
export interface FillEncoding {
  /** true for blob_sz_fill: a u32 length precedes the value. */
  withSize: boolean;
  /** Bytes the value is padded to (the length prefix not counted). */
  size: number;
  /** The padding byte. */
  fill: number;
}

const FILL = /^blob_(sz_)?fill\(\s*(0[xX][0-9a-fA-F]+|[0-9]+)\s*;\s*(0[xX][0-9a-fA-F]{1,2}|[0-9]{1,3})\s*\)$/;

/**
 * Parses a fill encoding (`blob_fill(16;0x00)`, `blob_sz_fill(32;0xff)`).
 * @returns the fill, `null` when `encoding` is not a fill encoding, or a reason string when it
 *   looks like one but is malformed
 */
export function parseFillEncoding(encoding: string): FillEncoding | null | string {
  if (!encoding.startsWith('blob_fill') && !encoding.startsWith('blob_sz_fill')) return null;
  const m = FILL.exec(encoding);
  if (!m) return 'write it as blob_fill(N;0xPP) or blob_sz_fill(N;0xPP), e.g. blob_fill(32;0x00)';
  const size = Number(m[2]);
  const fill = Number(m[3]);
  if (!Number.isSafeInteger(size)) return `the size ${m[2]} is too large`;
  if (fill > 0xff) return `the fill byte ${m[3]} is not a byte (0x00..0xff)`;
  return { withSize: m[1] !== undefined, size, fill };
}

/** Number of Unicode code points in `s` (what Python's `len` counts). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** True when every UTF-16 unit of `s` is ASCII. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Bytes as a latin-1 string (one character per byte), for the Python bytes-based conversions. */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  const CHUNK = 8192;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return s;
}
