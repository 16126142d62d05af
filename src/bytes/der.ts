/** One DER TLV: its tag byte and where its value lies in the input. */
export interface DerTlv {
  readonly tag: number;
  /** Offset of the tag byte: `data.subarray(offset, end)` is the whole TLV. */
  readonly offset: number;
  /** Offset of the first value byte. */
  readonly start: number;
  /** Offset just past the value: the next TLV starts here. */
  readonly end: number;
}

/**
 * Reads the DER TLV at `offset` (single-byte tags, definite lengths up to 4 length bytes, minimal
 * encoding not checked).
 *
 * @throws {RangeError} when the TLV is truncated or uses an indefinite or over-long length
 * @example
 * readDer(Uint8Array.of(0x04, 0x02, 0xaa, 0xbb), 0); // { tag: 4, offset: 0, start: 2, end: 4 }
 */
export function readDer(data: Uint8Array, offset: number, limit = data.length): DerTlv {
  if (offset + 2 > limit) throw new RangeError(`DER: truncated TLV at offset ${offset}`);
  const tag = data[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new RangeError(`DER: multi-byte tag at offset ${offset} is not supported`);
  let len = data[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new RangeError(`DER: ${n === 0 ? 'indefinite' : 'over-long'} length at offset ${offset}`);
    if (start + n > limit) throw new RangeError(`DER: truncated length at offset ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + data[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > limit) throw new RangeError(`DER: value of the TLV at offset ${offset} runs past the end (${end} > ${limit})`);
  return { tag, offset, start, end };
}

/**
 * The TLVs directly inside the constructed value `outer`, in order.
 * @throws {RangeError} when a child is malformed or they do not fill the value exactly
 */
export function derChildren(data: Uint8Array, outer: DerTlv): DerTlv[] {
  const out: DerTlv[] = [];
  for (let at = outer.start; at < outer.end; ) {
    const t = readDer(data, at, outer.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/**
 * Encodes one DER TLV with tag `tag` around the concatenated `parts`.
 * @example
 * derEncode(0x04, Uint8Array.of(1, 2)); // 04 02 01 02
 */
export function derEncode(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const lenBytes: number[] = [];
  if (len < 0x80) lenBytes.push(len);
  else {
    for (let v = len; v > 0; v = Math.floor(v / 256)) lenBytes.unshift(v & 0xff);
    lenBytes.unshift(0x80 | lenBytes.length);
  }
  const out = new Uint8Array(1 + lenBytes.length + len);
  out[0] = tag;
  out.set(lenBytes, 1);
  let at = 1 + lenBytes.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A DER INTEGER of the unsigned big-endian `value` (leading zeros trimmed, a 0x00 added when the top bit is set). */
export function derUnsignedInteger(value: Uint8Array): Uint8Array {
  let i = 0;
  while (i < value.length - 1 && value[i] === 0) i++;
  const v = value.subarray(i);
  return (v[0] ?? 0) & 0x80 ? derEncode(0x02, Uint8Array.of(0), v) : derEncode(0x02, v.length === 0 ? Uint8Array.of(0) : v);
}

/**
 * An X.509 `Time` (RFC 5280 §4.1.2.5) of `date`, to the whole second (milliseconds are dropped):
 * UTCTime `YYMMDDHHMMSSZ` for the years 1950 through 2049, GeneralizedTime `YYYYMMDDHHMMSSZ` for
 * the others.
 *
 * @throws {RangeError} when `date` is not a valid Date or lies outside the years 0000 to 9999
 * @example
 * derTime(new Date('2049-12-31T23:59:59Z')); // 17 0d "491231235959Z"
 * derTime(new Date('2050-01-01T00:00:00Z')); // 18 0f "20500101000000Z"
 */
export function derTime(date: Date): Uint8Array {
  const t = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(t)) throw new RangeError('"date" must be a valid Date');
  const d = new Date(t - (((t % 1000) + 1000) % 1000)); // floor to the second, also before 1970
  const year = d.getUTCFullYear();
  if (year < 0 || year > 9999) throw new RangeError(`an X.509 time must lie in the years 0000 to 9999, got ${d.toISOString()}`);
  const two = (n: number): string => String(n).padStart(2, '0');
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  const utc = year >= 1950 && year <= 2049;
  const text = utc ? `${two(year % 100)}${rest}` : `${String(year).padStart(4, '0')}${rest}`;
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return derEncode(utc ? DER_TAG.UTC_TIME : DER_TAG.GENERALIZED_TIME, bytes);
}

/** DER tags used by the encoders here. */
export const DER_TAG = Object.freeze({
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
});
