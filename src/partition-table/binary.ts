import { bytesEqual, isFilled } from '../bytes/equal.js';
import { toHex } from '../bytes/hex.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { FLAGS, MAX_PARTITION_LENGTH, MD5_PARTITION_BEGIN, PARTITION_ENTRY_SIZE, PARTITION_MAGIC, PARTITION_NAME_SIZE } from './constants.js';
import type { PartitionEntry } from './partition-entry.js';
import { PartitionTableError } from './partition-table-error.js';
import { _pyBytesRepr } from './_python.js';

/** Options of {@link encodePartitionTable} and {@link decodePartitionTable}. */
export interface PartitionBinaryOptions {
  /** Write / check the MD5 entry (default true; the tool's `--disable-md5sum` turns it off). */
  md5?: boolean;
}

/** What {@link decodePartitionTable} found. */
export interface DecodedPartitionTable {
  /** The entries before the end marker (the MD5 entry is not one of them). */
  entries: PartitionEntry[];
  /** True when an MD5 entry was found and matched. */
  md5Verified: boolean;
  /** Warnings the tool prints and goes on (unknown flag bits), in order. */
  warnings: string[];
}

const FLAG_MASK = (1 << FLAGS.encrypted) | (1 << FLAGS.readonly);
const UINT32_MAX = 0xffffffff;

/**
 * Encodes entries as gen_esp32part.py 1.5 does: 32-byte entries (magic 0xAA50, type, subtype,
 * offset, size little-endian, the name's UTF-8 NUL-padded or truncated to 16 bytes, flags), the
 * MD5 entry (0xEBEB, 14 × 0xFF, MD5 of the entries before it; unless `md5: false`), then 0xFF up
 * to exactly 0xC00 bytes. Run {@link verifyPartitionTable} first: this only checks that values fit.
 *
 * @throws {PartitionTableError} `PT_TOO_LONG` "Binary partition table length (3072) longer than
 *   max" (more than 94 entries with MD5, 95 without); `PT_VALUE_RANGE` when a value does not fit
 *   its field
 * @example
 * const bin = encodePartitionTable(parsePartitionCsv(csv), nodeCrypto); // 3072 bytes
 */
export function encodePartitionTable(entries: readonly PartitionEntry[], crypto: CryptoProvider, options: PartitionBinaryOptions = {}): Uint8Array {
  const md5 = options.md5 ?? true;
  const used = entries.length * PARTITION_ENTRY_SIZE + (md5 ? PARTITION_ENTRY_SIZE : 0);
  if (used >= MAX_PARTITION_LENGTH) {
    throw new PartitionTableError('PT_TOO_LONG', `Binary partition table length (${used}) longer than max`);
  }
  const out = new Uint8Array(MAX_PARTITION_LENGTH).fill(0xff);
  const view = new DataView(out.buffer);
  const encoder = new TextEncoder();
  entries.forEach((e, i) => {
    checkField(e, 'type', e.type, 0xff);
    checkField(e, 'subtype', e.subtype, 0xff);
    checkField(e, 'offset', e.offset, UINT32_MAX);
    checkField(e, 'size', e.size, UINT32_MAX);
    const at = i * PARTITION_ENTRY_SIZE;
    out.set(PARTITION_MAGIC, at);
    out[at + 2] = e.type;
    out[at + 3] = e.subtype;
    view.setUint32(at + 4, e.offset, true);
    view.setUint32(at + 8, e.size, true);
    const label = new Uint8Array(PARTITION_NAME_SIZE);
    label.set(encoder.encode(e.name).subarray(0, PARTITION_NAME_SIZE));
    out.set(label, at + 12);
    view.setUint32(at + 28, (e.flags.encrypted ? 1 << FLAGS.encrypted : 0) | (e.flags.readonly ? 1 << FLAGS.readonly : 0), true);
  });
  if (md5) {
    const end = entries.length * PARTITION_ENTRY_SIZE;
    const digest = crypto.digest('md5', out.subarray(0, end));
    out.set(MD5_PARTITION_BEGIN, end);
    out.set(digest, end + 16);
  }
  return out;
}

/**
 * Decodes a binary table as gen_esp32part.py 1.5 does: 32-byte entries up to the end marker
 * (32 × 0xFF); an entry starting 0xEB 0xEB is the MD5 entry, whose digest must match the MD5 of
 * the entries before it (with `md5: false` it is read as an entry and fails its magic check).
 * Flag bits other than encrypted/readonly are dropped with a warning.
 *
 * @throws {PartitionTableError} `PT_MD5_MISMATCH` "MD5 checksums don't match! (computed: 0x…,
 *   parsed: 0x…)"; `PT_BINARY` for a length that is not a multiple of 32, a bad magic, a missing
 *   end-of-table marker, or a label that is not UTF-8
 * @example
 * const { entries } = decodePartitionTable(fs.readFileSync('partitions.bin'), nodeCrypto);
 */
export function decodePartitionTable(data: Uint8Array, crypto: CryptoProvider, options: PartitionBinaryOptions = {}): DecodedPartitionTable {
  if (!(data instanceof Uint8Array)) throw new TypeError('decodePartitionTable: data must be a Uint8Array');
  const md5 = options.md5 ?? true;
  const entries: PartitionEntry[] = [];
  const warnings: string[] = [];
  let md5Verified = false;
  // The MD5 covers every entry read so far, including entries after an earlier MD5 entry.
  const hashed: Uint8Array[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let at = 0; at < data.length; at += PARTITION_ENTRY_SIZE) {
    if (data.length - at < PARTITION_ENTRY_SIZE) {
      throw new PartitionTableError('PT_BINARY', 'Partition table length must be a multiple of 32 bytes');
    }
    const raw = data.subarray(at, at + PARTITION_ENTRY_SIZE);
    if (isFilled(raw, 0xff)) return { entries, md5Verified, warnings };
    if (md5 && raw[0] === MD5_PARTITION_BEGIN[0] && raw[1] === MD5_PARTITION_BEGIN[1]) {
      const computed = crypto.digest('md5', concat(hashed));
      const parsed = raw.subarray(16);
      if (!bytesEqual(computed, parsed)) {
        throw new PartitionTableError('PT_MD5_MISMATCH', `MD5 checksums don't match! (computed: 0x${toHex(computed)}, parsed: 0x${_pyBytesRepr(new TextEncoder().encode(toHex(parsed)))})`);
      }
      md5Verified = true;
      continue;
    }
    hashed.push(raw);
    if (raw[0] !== PARTITION_MAGIC[0] || raw[1] !== PARTITION_MAGIC[1]) {
      throw new PartitionTableError('PT_BINARY', `Invalid magic bytes (${_pyBytesRepr(raw.subarray(0, 2))}) for partition definition`);
    }
    const label = raw.subarray(12, 28);
    const nul = label.indexOf(0);
    let name: string;
    try {
      name = decoder.decode(nul >= 0 ? label.subarray(0, nul) : label);
    } catch (e) {
      throw new PartitionTableError('PT_BINARY', `Partition entry ${at / PARTITION_ENTRY_SIZE} has a label that is not UTF-8 (${toHex(label)}): the table is corrupt or not a partition table`, [], e);
    }
    const flags = view.getUint32(at + 28, true);
    if ((flags & ~FLAG_MASK) >>> 0 !== 0) {
      warnings.push(`WARNING: Partition definition had unknown flag(s) 0x${((flags & ~FLAG_MASK) >>> 0).toString(16).padStart(8, '0')}. Newer binary format?`);
    }
    entries.push(
      Object.freeze({
        name,
        type: raw[2]!,
        subtype: raw[3]!,
        offset: view.getUint32(at + 4, true),
        size: view.getUint32(at + 8, true),
        flags: Object.freeze({ encrypted: (flags & (1 << FLAGS.encrypted)) !== 0, readonly: (flags & (1 << FLAGS.readonly)) !== 0 }),
      }),
    );
  }
  throw new PartitionTableError('PT_BINARY', 'Partition table is missing an end-of-table marker');
}

/**
 * True when `data` is a binary table by the tool's rule: it starts with the entry magic 0xAA 0x50
 * (anything else is read as CSV text).
 *
 * @example
 * isBinaryPartitionTable(fs.readFileSync('partitions.bin')); // true
 */
export function isBinaryPartitionTable(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === PARTITION_MAGIC[0] && data[1] === PARTITION_MAGIC[1];
}

function checkField(e: PartitionEntry, field: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new PartitionTableError(
      'PT_VALUE_RANGE',
      `Partition ${e.name}: ${field} ${value < 0 ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`} does not fit the binary field (0..0x${max.toString(16)}): fix the ${field} column`,
    );
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.length * PARTITION_ENTRY_SIZE);
  parts.forEach((p, i) => out.set(p, i * PARTITION_ENTRY_SIZE));
  return out;
}
