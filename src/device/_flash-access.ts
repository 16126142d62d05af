// Private helpers of the device module: reading what the ROM and bootloader read.
import type { FlashCipher } from '../boot/flash-cipher.js';
import type { CryptoProvider } from '../crypto/provider.js';
import type { Flash } from '../flash/flash.js';
import { decodePartitionTable } from '../partition-table/binary.js';
import { PARTITION_TABLE_OFFSET } from '../partition-table/constants.js';
import type { PartitionEntry } from '../partition-table/partition-entry.js';

/** Bytes of a binary partition table (gen_esp32part's MAX_PARTITION_LENGTH). */
export const TABLE_BYTES = 0xc00;

/** Reads `length` bytes at `address`, decrypting them for that address when `cipher` is given. */
export function readFlash(flash: Flash, address: number, length: number, cipher: FlashCipher | null): Uint8Array {
  const raw = new Uint8Array(length);
  flash.read(address, raw);
  if (cipher === null) return raw;
  const plain = cipher.decrypt(raw, address);
  raw.fill(0);
  return plain;
}

/**
 * The partition table at 0x8000, read as the bootloader reads it (through flash decryption when
 * `cipher` is given), MD5 checked.
 *
 * @throws {PartitionTableError} PT_BINARY / PT_MD5_MISMATCH when the table is damaged or was read with the wrong key
 */
export function readPartitionTable(flash: Flash, cipher: FlashCipher | null, crypto: CryptoProvider): PartitionEntry[] {
  return decodePartitionTable(readFlash(flash, PARTITION_TABLE_OFFSET, TABLE_BYTES, cipher), crypto).entries;
}
