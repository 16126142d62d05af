import { crc32le } from '../bytes/crc32.js';
import { isFilled } from '../bytes/equal.js';
import { APP_TYPE, DATA_TYPE, PARTITION_TABLE_OFFSET, SUBTYPES } from '../partition-table/constants.js';
import { isFlashEncrypted } from '../partition-table/is-flash-encrypted.js';
import type { PartitionEntry } from '../partition-table/partition-entry.js';
import type { Efuse } from './efuse.js';

/** One write a flashing tool is about to do (esptool write-flash ADDRESS FILE). */
export interface FlashWrite {
  readonly address: number;
  readonly data: Uint8Array;
  /** The tool encrypts it on the way (esptool write-flash --encrypt / --encrypt-files). */
  readonly encrypt?: boolean;
  /** Name for messages (the file), default the address. */
  readonly name?: string;
}

/** What {@link checkFlashWrites} found. */
export interface FlashWriteWarning {
  /**
   * - `PLAINTEXT_TO_ENCRYPTED_REGION`: the data is recognisably plaintext (an app image, a
   *   partition table, a keys partition, otadata) and the region is encrypted;
   * - `UNKNOWN_TO_ENCRYPTED_REGION`: an encrypted region gets unencrypted data nvsec cannot
   *   classify (a partition flagged `encrypted`, or a write that starts inside a region);
   * - `ENCRYPTED_TO_PLAIN_REGION`: `encrypt` is set for a region flash encryption never encrypts (NVS).
   */
  readonly code: 'PLAINTEXT_TO_ENCRYPTED_REGION' | 'UNKNOWN_TO_ENCRYPTED_REGION' | 'ENCRYPTED_TO_PLAIN_REGION';
  readonly address: number;
  /** The partition (or "bootloader", "partition table") written to. */
  readonly region: string;
  readonly message: string;
}

/** Where the bootloader and partition table sit, for {@link checkFlashWrites}. */
export interface FlashLayout {
  readonly partitions: readonly PartitionEntry[];
  /** Partition table offset (default 0x8000). */
  readonly tableOffset?: number;
  /** Second-stage bootloader offset (default: 0x1000 on the ESP32, 0 on C3/S3). */
  readonly bootloaderOffset?: number;
}

type Kind = 'app' | 'partition-table' | 'nvs_keys' | 'otadata' | 'other';
interface Region {
  name: string;
  offset: number;
  size: number;
  encrypted: boolean;
  kind: Kind;
}

const DATA = SUBTYPES[DATA_TYPE]!;
const hex = (n: number): string => `0x${n.toString(16)}`;

/**
 * Whether `data`, written at `at` bytes into a region of `kind`, is plaintext: true (recognised
 * plaintext), false (recognised as not plaintext: already encrypted) or null (cannot tell).
 * Only the start of an app, a table, a keys partition or an otadata sector has a format to check.
 */
function looksPlaintext(kind: Kind, data: Uint8Array, at: number): boolean | null {
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  switch (kind) {
    case 'app': // image magic and the wp_pin byte esptool always writes: a 1-in-65,536 accident
      return at === 0 && data.length >= 24 ? data[0] === 0xe9 && data[8] === 0xee : null;
    case 'partition-table':
      return at === 0 && data.length >= 32 ? data[0] === 0xaa && data[1] === 0x50 : null;
    case 'nvs_keys':
      // Plaintext keys end in 0xFF padding (and normally pass their CRC); encrypted, that padding is noise.
      if (at !== 0 || data.length < 128) return null;
      return isFilled(data, 0xff, 68) || crc32le(data, 0xffffffff, 0, 64) === view.getUint32(64, true);
    case 'otadata': // a select entry: ota_seq, then its CRC at byte 28; the rest of the sector 0xFF
      if (at % 0x1000 !== 0 || data.length < 64) return null;
      return isFilled(data, 0xff, 32, Math.min(data.length, 0x1000)) || crc32le(data, 0xffffffff, 0, 4) === view.getUint32(28, true);
    default:
      return null;
  }
}

function regionsOf(efuse: Efuse, layout: FlashLayout): Region[] {
  const tableOffset = layout.tableOffset ?? PARTITION_TABLE_OFFSET;
  const bootloaderOffset = layout.bootloaderOffset ?? (efuse.chip === 'esp32' ? 0x1000 : 0);
  const regions: Region[] = [
    { name: 'bootloader', offset: bootloaderOffset, size: tableOffset - bootloaderOffset, encrypted: true, kind: 'app' },
    { name: 'partition table', offset: tableOffset, size: 0x1000, encrypted: true, kind: 'partition-table' },
  ];
  for (const p of layout.partitions) {
    let kind: Kind = 'other';
    if (p.type === APP_TYPE) kind = 'app';
    else if (p.type === DATA_TYPE && p.subtype === DATA['nvs_keys']) kind = 'nvs_keys';
    else if (p.type === DATA_TYPE && p.subtype === DATA['ota']) kind = 'otadata';
    regions.push({ name: `"${p.name}"`, offset: p.offset, size: p.size, encrypted: isFlashEncrypted(p), kind });
  }
  return regions;
}

/**
 * Checks writes a flashing script is about to do against a device's eFuses and partition table:
 * with flash encryption on, a region the bootloader and app read through decryption (apps, the
 * bootloader, the partition table, otadata, nvs_keys, partitions flagged `encrypted`) must be
 * written encrypted. Plaintext there decrypts to garbage: for nvs_keys that is the classic
 * ESP_ERR_NVS_CORRUPT_KEY_PART at NVS init. At the start of an app, table, keys or otadata
 * region the format tells plaintext from ciphertext (e.g. `nvsec flash-encryption
 * encrypt-flash-data` output), and ciphertext passes; anywhere else nvsec cannot tell, and
 * reports that the data may be plaintext. Erased (all-0xFF) data passes. With flash encryption
 * off nothing is reported.
 *
 * @example
 * const warnings = checkFlashWrites(efuse, { partitions }, [{ address: 0x12000, data: keys, name: 'nvs_keys.bin' }]);
 * for (const w of warnings) console.warn(w.message);
 */
export function checkFlashWrites(efuse: Efuse, layout: FlashLayout, writes: readonly FlashWrite[]): FlashWriteWarning[] {
  if (!efuse.flashEncryptionEnabled()) return [];
  const cnt = `${efuse.cryptCntField} = ${String(efuse.read(efuse.cryptCntField))}`;
  const regions = regionsOf(efuse, layout);
  const warnings: FlashWriteWarning[] = [];
  for (const w of writes) {
    const what = w.name ?? `data at ${hex(w.address)}`;
    for (const r of regions) {
      const from = Math.max(w.address, r.offset);
      const to = Math.min(w.address + w.data.length, r.offset + r.size);
      if (from >= to) continue;
      const part = w.data.subarray(from - w.address, to - w.address);
      if (isFilled(part, 0xff)) continue; // erasing, not writing data
      const base = { address: from, region: r.name };
      if (w.encrypt && !r.encrypted) {
        warnings.push({
          ...base,
          code: 'ENCRYPTED_TO_PLAIN_REGION',
          message: `${what} is written encrypted to ${r.name} at ${hex(from)}, which flash encryption never encrypts (NVS has its own encryption): the device will read ciphertext. Write it without --encrypt.`,
        });
      } else if (!w.encrypt && r.encrypted) {
        const plain = looksPlaintext(r.kind, part, from - r.offset);
        if (plain === false) continue; // recognisably not plaintext: already encrypted
        const effect =
          r.kind === 'nvs_keys'
            ? 'NVS encryption keys will read as garbage and nvs_flash_secure_init fails with ESP_ERR_NVS_CORRUPT_KEY_PART'
            : 'the device will decrypt it to garbage';
        warnings.push({
          ...base,
          code: plain ? 'PLAINTEXT_TO_ENCRYPTED_REGION' : 'UNKNOWN_TO_ENCRYPTED_REGION',
          message:
            `${what} ${plain ? 'is plaintext and' : 'may be plaintext and'} is written unencrypted to ${r.name} at ${hex(from)}, which is flash-encrypted on this device (${cnt}): ${effect}. ` +
            `Write it encrypted (esptool write-flash --encrypt, or nvsec flash-encryption encrypt-flash-data --address ${hex(from)} first).`,
        });
      }
    }
  }
  return warnings;
}
