import { crc32le } from '../../bytes/crc32.js';
import { readU32, writeU32 } from './entry.js';

/*
 * Page header (32 bytes): state u32 | seq u32 | version u8 | reserved[19] = 0xFF | crc32 u32.
 * The CRC covers bytes 4..27 (not the state word, so a state change keeps it valid).
 */

/** Decoded page header. */
export interface PageHeader {
  state: number;
  seq: number;
  version: number;
  crc: number;
  /** Whether the stored CRC matches bytes 4..27. */
  crcValid: boolean;
}

/** CRC of a page header as stored at offset 28. */
export function pageHeaderCrc(buf: Uint8Array, off = 0): number {
  return crc32le(buf, 0xffffffff, off + 4, off + 28);
}

/** Decodes the page header at `buf[off..off+32)`. */
export function readPageHeader(buf: Uint8Array, off = 0): PageHeader {
  const crc = readU32(buf, off + 28);
  return { state: readU32(buf, off), seq: readU32(buf, off + 4), version: buf[off + 8]!, crc, crcValid: crc === pageHeaderCrc(buf, off) };
}

/** Encodes a 32-byte page header. */
export function encodePageHeader(state: number, seq: number, version: number): Uint8Array {
  const h = new Uint8Array(32).fill(0xff);
  writeU32(h, 0, state);
  writeU32(h, 4, seq);
  h[8] = version;
  writeU32(h, 28, pageHeaderCrc(h));
  return h;
}
