import { crc32le } from '../../bytes/crc32.js';
import { CHUNK_ANY, ENTRY_SIZE, ItemType, MAX_KEY_LENGTH } from './constants.js';

/*
 * Entry layout (32 bytes): nsIndex u8 | type u8 | span u8 | chunkIndex u8 | crc32 u32 |
 * key[16] (NUL-terminated, zero-padded) | data[8]. The CRC covers every byte except itself.
 */

const utf8 = /* @__PURE__ */ new TextEncoder();
const utf8Decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: false });

/** CRC of the entry at `buf[off..off+32)`, computed the way the header field stores it. */
export function entryCrc(buf: Uint8Array, off: number): number {
  const c = crc32le(buf, 0xffffffff, off, off + 4);
  return crc32le(buf, c, off + 8, off + ENTRY_SIZE);
}

/** Reads a little-endian u32. */
export function readU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

/** Writes a little-endian u32. */
export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}

/** Reads a little-endian u16. */
export function readU16(buf: Uint8Array, off: number): number {
  return buf[off]! | (buf[off + 1]! << 8);
}

/** The stored CRC field of an entry. */
export function storedEntryCrc(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 4);
}

/**
 * The key of an entry: bytes up to the first NUL, at most 15 (keys compare with strncmp(…, 15)
 * semantics in the runtime).
 */
export function readKey(buf: Uint8Array, off: number): string {
  const start = off + 8;
  let end = start;
  let ascii = true;
  while (end < start + MAX_KEY_LENGTH && buf[end] !== 0) {
    if (buf[end]! >= 0x80) ascii = false;
    end++;
  }
  if (ascii) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
    return s;
  }
  return utf8Decoder.decode(buf.subarray(start, end));
}

/** UTF-8 bytes of a key or namespace name (no length check). */
export function encodeKey(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return utf8.encode(key); // rare: non-ASCII keys
    out[i] = c;
  }
  return out;
}

/** Fields of an entry header as stored. */
export interface EntryHeader {
  nsIndex: number;
  type: number;
  span: number;
  chunkIndex: number;
  key: string;
}

/** Decodes the header fields of the entry at `off` (no validation). */
export function readEntryHeader(buf: Uint8Array, off: number): EntryHeader {
  return { nsIndex: buf[off]!, type: buf[off + 1]!, span: buf[off + 2]!, chunkIndex: buf[off + 3]!, key: readKey(buf, off) };
}

/**
 * Writes a complete entry at `dest[off..off+32)`: header fields, zero-padded key, the 8-byte data
 * field (already encoded by the caller into `data`, or 0xFF), and the CRC last.
 */
export function encodeEntry(
  dest: Uint8Array,
  off: number,
  nsIndex: number,
  type: number,
  span: number,
  chunkIndex: number,
  keyBytes: Uint8Array,
  data: Uint8Array,
): void {
  dest[off] = nsIndex;
  dest[off + 1] = type;
  dest[off + 2] = span;
  dest[off + 3] = chunkIndex;
  dest.fill(0, off + 8, off + 24);
  dest.set(keyBytes.subarray(0, 16), off + 8);
  dest.set(data.subarray(0, 8), off + 24);
  writeU32(dest, off + 4, entryCrc(dest, off));
}

/** Byte width of a fixed-size type (low nibble of its code). */
export function fixedTypeSize(type: number): number {
  return type & 0x0f;
}

/** The value of a fixed-size item: number for ≤ 32-bit integers, float and double; bigint for 64-bit. */
export type FixedValue = number | bigint;

/** Decodes the data field of a fixed-size item at entry offset `off`. */
export function readFixedValue(buf: Uint8Array, off: number, type: number): FixedValue {
  const d = off + 24;
  switch (type) {
    case ItemType.U8:
      return buf[d]!;
    case ItemType.I8:
      return (buf[d]! << 24) >> 24;
    case ItemType.U16:
      return readU16(buf, d);
    case ItemType.I16:
      return (readU16(buf, d) << 16) >> 16;
    case ItemType.U32:
      return readU32(buf, d);
    case ItemType.I32:
      return readU32(buf, d) | 0;
    case ItemType.U64:
      return BigInt(readU32(buf, d)) | (BigInt(readU32(buf, d + 4)) << 32n);
    case ItemType.I64:
      return BigInt.asIntN(64, BigInt(readU32(buf, d)) | (BigInt(readU32(buf, d + 4)) << 32n));
    case ItemType.FLOAT:
      return new DataView(buf.buffer, buf.byteOffset + d, 4).getFloat32(0, true);
    case ItemType.DOUBLE:
      return new DataView(buf.buffer, buf.byteOffset + d, 8).getFloat64(0, true);
    default:
      throw new RangeError(`Type 0x${type.toString(16)} is not a fixed-size type`);
  }
}

/**
 * Encodes a fixed-size value into an 8-byte data field: little-endian, unused bytes 0xFF.
 * @throws {RangeError} when the value is not an integer in the type's range
 */
export function encodeFixedValue(type: number, value: FixedValue, out = new Uint8Array(8)): Uint8Array {
  out.fill(0xff);
  const dv = new DataView(out.buffer, out.byteOffset, 8);
  if (type === ItemType.FLOAT) {
    dv.setFloat32(0, Number(value), true);
    return out;
  }
  if (type === ItemType.DOUBLE) {
    dv.setFloat64(0, Number(value), true);
    return out;
  }
  const size = fixedTypeSize(type);
  const signed = (type & 0x10) !== 0;
  if (size <= 4 && typeof value === 'number') {
    // Fast path without BigInt: integers up to 32 bits.
    const lo = signed ? -(2 ** (size * 8 - 1)) : 0;
    const hi = signed ? 2 ** (size * 8 - 1) - 1 : 2 ** (size * 8) - 1;
    if (!Number.isInteger(value) || value < lo || value > hi) {
      throw new RangeError(`Value ${String(value)} is out of range for ${typeName(type)} (${lo}..${hi})`);
    }
    for (let i = 0; i < size; i++) out[i] = (value >>> (8 * i)) & 0xff;
    return out;
  }
  const bits = BigInt(size * 8);
  const v = typeof value === 'bigint' ? value : Number.isInteger(value) ? BigInt(value) : Number.NaN;
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (typeof v !== 'bigint' || v < min || v > max) {
    throw new RangeError(`Value ${String(value)} is out of range for ${typeName(type)} (${min}..${max})`);
  }
  if (size === 8) {
    dv.setBigUint64(0, BigInt.asUintN(64, v), true);
  } else {
    const n = Number(BigInt.asUintN(size * 8, v));
    for (let i = 0; i < size; i++) out[i] = (n >>> (8 * i)) & 0xff;
  }
  return out;
}

/** Writes the data field of a variable-length header: size u16, 0xFFFF, payload CRC u32. */
export function encodeVarLengthData(size: number, dataCrc: number, out = new Uint8Array(8)): Uint8Array {
  out[0] = size & 0xff;
  out[1] = (size >>> 8) & 0xff;
  out[2] = 0xff;
  out[3] = 0xff;
  writeU32(out, 4, dataCrc);
  return out;
}

/** Writes the data field of a BLOB_IDX: totalSize u32, chunkCount u8, chunkStart u8, 0xFFFF. */
export function encodeBlobIndexData(totalSize: number, chunkCount: number, chunkStart: number, out = new Uint8Array(8)): Uint8Array {
  writeU32(out, 0, totalSize);
  out[4] = chunkCount;
  out[5] = chunkStart;
  out[6] = 0xff;
  out[7] = 0xff;
  return out;
}

/** Payload size of a variable-length header at entry offset `off`. */
export function varLengthSize(buf: Uint8Array, off: number): number {
  return readU16(buf, off + 24);
}

/** Payload CRC of a variable-length header at entry offset `off`. */
export function varLengthCrc(buf: Uint8Array, off: number): number {
  return readU32(buf, off + 28);
}

/** Decoded data field of a BLOB_IDX entry. */
export interface BlobIndexData {
  totalSize: number;
  chunkCount: number;
  chunkStart: number;
}

/** Decodes the data field of a BLOB_IDX entry at `off`. */
export function readBlobIndexData(buf: Uint8Array, off: number): BlobIndexData {
  return { totalSize: readU32(buf, off + 24), chunkCount: buf[off + 28]!, chunkStart: buf[off + 29]! };
}

/** Entries a variable-length item of `size` payload bytes spans, header included. */
export function spanForSize(size: number): number {
  return 1 + Math.ceil(size / ENTRY_SIZE);
}

const TYPE_NAMES: Record<number, string> = {
  [ItemType.U8]: 'u8',
  [ItemType.I8]: 'i8',
  [ItemType.U16]: 'u16',
  [ItemType.I16]: 'i16',
  [ItemType.U32]: 'u32',
  [ItemType.I32]: 'i32',
  [ItemType.U64]: 'u64',
  [ItemType.I64]: 'i64',
  [ItemType.FLOAT]: 'float',
  [ItemType.DOUBLE]: 'double',
  [ItemType.SZ]: 'string',
  [ItemType.BLOB]: 'blob',
  [ItemType.BLOB_DATA]: 'blob',
  [ItemType.BLOB_IDX]: 'blob_index',
  [ItemType.ANY]: 'any',
};

/** Short lower-case name of a type code (`u8`, `string`, `blob`, …), or its hex. */
export function typeName(type: number): string {
  return TYPE_NAMES[type] ?? `0x${type.toString(16)}`;
}

export { CHUNK_ANY };
