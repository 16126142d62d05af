import { APP_TYPE, BOOTLOADER_TYPE, DATA_TYPE, PARTITION_TABLE_TYPE, SUBTYPES } from './constants.js';
import type { PartitionEntry } from './partition-entry.js';

const DATA = SUBTYPES[DATA_TYPE]!;

/**
 * True when flash encryption encrypts this partition (spec §3.1): every app partition, the
 * bootloader and partition_table types, data/ota (otadata), data/nvs_keys, data/tee_ota, and any
 * partition flagged `encrypted`, except plain data/nvs, which flash encryption never encrypts (NVS
 * has its own XTS scheme; an `encrypted` flag on it is ignored or refused by ESP-IDF).
 *
 * @example
 * isFlashEncrypted({ name: 'nvs_keys', type: 1, subtype: 4, offset: 0x12000, size: 0x1000,
 *   flags: { encrypted: true, readonly: false } }); // true
 */
export function isFlashEncrypted(entry: Pick<PartitionEntry, 'type' | 'subtype' | 'flags'>): boolean {
  if (entry.type === APP_TYPE || entry.type === BOOTLOADER_TYPE || entry.type === PARTITION_TABLE_TYPE) return true;
  if (entry.type === DATA_TYPE) {
    if (entry.subtype === DATA['nvs']) return false;
    if (entry.subtype === DATA['ota'] || entry.subtype === DATA['nvs_keys'] || entry.subtype === DATA['tee_ota']) return true;
  }
  return entry.flags.encrypted;
}
