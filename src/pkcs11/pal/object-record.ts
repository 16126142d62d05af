import { crc32le } from '../../bytes/crc32.js';
import { MAX_HANDLE, MAX_LABEL_BYTES } from './default-labels.js';
import { PalError } from './pal-error.js';

/** Magic of an object record: "P11O". */
export const OBJECT_RECORD_MAGIC = Object.freeze([0x50, 0x31, 0x31, 0x4f]);
/** Format version of object records. */
export const OBJECT_RECORD_VERSION = 1;
const FLAG_PRIVATE = 0x01;
const FIXED = 12;
const CRC = 4;

/** A decoded object record. The byte fields are views into the record. */
export interface ObjectRecord {
  readonly handle: number;
  readonly label: string;
  readonly isPrivate: boolean;
  /** The header (magic … label): the associated data an encrypting backend binds to the payload. */
  readonly header: Uint8Array;
  /** What the backend stored after the header: the value, or its ciphertext. */
  readonly payload: Uint8Array;
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * Encodes one stored object as the single blob or file that holds it, so that the value and its
 * metadata are replaced together:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 4 | magic "P11O" |
 * | 4 | 1 | version (1) |
 * | 5 | 1 | flags: bit 0 = private; other bits 0 |
 * | 6 | 1 | label length L (1..32) |
 * | 7 | 1 | reserved (0) |
 * | 8 | 4 | handle, u32 little-endian |
 * | 12 | L | label, UTF-8 |
 * | 12+L | n | payload |
 * | 12+L+n | 4 | CRC-32 (ESP `crc32_le`) of everything before, little-endian |
 *
 * @throws {RangeError} when the label is not 1..32 bytes or the handle not 1..0xFFFFFFFF
 * @example
 * const blob = encodeObjectRecord({ handle: 3, label: 'Device Cert', isPrivate: false }, certDer);
 */
export function encodeObjectRecord(meta: { handle: number; label: string; isPrivate: boolean }, payload: Uint8Array): Uint8Array {
  const lb = utf8.encode(meta.label);
  if (lb.length < 1 || lb.length > MAX_LABEL_BYTES) throw new RangeError(`"label" must be 1..${MAX_LABEL_BYTES} bytes of UTF-8, got ${lb.length}`);
  if (!Number.isInteger(meta.handle) || meta.handle < 1 || meta.handle > MAX_HANDLE) throw new RangeError(`"handle" must be 1..0xffffffff, got ${meta.handle}`);
  const out = new Uint8Array(FIXED + lb.length + payload.length + CRC);
  out.set(OBJECT_RECORD_MAGIC, 0);
  out[4] = OBJECT_RECORD_VERSION;
  out[5] = meta.isPrivate ? FLAG_PRIVATE : 0;
  out[6] = lb.length;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(8, meta.handle, true);
  out.set(lb, FIXED);
  out.set(payload, FIXED + lb.length);
  view.setUint32(out.length - CRC, crc32le(out, 0xffffffff, 0, out.length - CRC) >>> 0, true);
  return out;
}

/**
 * The header alone (what {@link encodeObjectRecord} writes before the payload), for a backend that
 * must bind it as associated data before it has the payload.
 *
 * @example
 * const aad = objectRecordHeader({ handle: 1, label: 'Device Priv TLS Key', isPrivate: true });
 */
export function objectRecordHeader(meta: { handle: number; label: string; isPrivate: boolean }): Uint8Array {
  const full = encodeObjectRecord(meta, new Uint8Array(0));
  return full.slice(0, full.length - CRC);
}

/**
 * Decodes an object record, checking magic, version, flags, label and CRC.
 *
 * @param where names the blob or file in error messages
 * @throws {PalError} PAL_OBJECT_CORRUPT when any check fails
 * @example
 * const rec = decodeObjectRecord(blob, 'NVS key "p11_cert"');
 */
export function decodeObjectRecord(bytes: Uint8Array, where: string): ObjectRecord {
  const bad = (why: string) => new PalError('PAL_OBJECT_CORRUPT', `${where} is not a valid token object: ${why}; delete the object and save it again`);
  if (bytes.length < FIXED + 1 + CRC) throw bad(`${bytes.length} bytes is too short`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== OBJECT_RECORD_MAGIC[i]) throw bad('wrong magic');
  if (bytes[4] !== OBJECT_RECORD_VERSION) throw bad(`format version ${bytes[4]} is not supported (expected ${OBJECT_RECORD_VERSION})`);
  const flags = bytes[5]!;
  if ((flags & ~FLAG_PRIVATE) !== 0) throw bad(`unknown flags 0x${flags.toString(16)}`);
  const len = bytes[6]!;
  if (len < 1 || len > MAX_LABEL_BYTES || FIXED + len + CRC > bytes.length) throw bad(`label length ${len} is out of range`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stored = view.getUint32(bytes.length - CRC, true);
  if ((crc32le(bytes, 0xffffffff, 0, bytes.length - CRC) >>> 0) !== stored) throw bad('CRC mismatch (torn or modified)');
  const handle = view.getUint32(8, true);
  if (handle === 0) throw bad('handle 0');
  let label: string;
  try {
    label = utf8Strict.decode(bytes.subarray(FIXED, FIXED + len));
  } catch {
    throw bad('the label is not UTF-8');
  }
  return {
    handle,
    label,
    isPrivate: (flags & FLAG_PRIVATE) !== 0,
    header: bytes.subarray(0, FIXED + len),
    payload: bytes.subarray(FIXED + len, bytes.length - CRC),
  };
}
