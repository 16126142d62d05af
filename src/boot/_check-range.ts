import { FlashEncryptionError } from './flash-encryption-error.js';

/**
 * Checks a flash address (and the range it starts) for the flash-encryption schemes: a
 * non-negative integer, a multiple of 16 (espsecure's message), and `address + length <= limit`.
 *
 * @throws {FlashEncryptionError} FLASH_ENC_BAD_ADDRESS
 */
export function _checkAddress(address: number, length: number, limit: number, why: string): void {
  if (!Number.isSafeInteger(address) || address < 0) {
    throw new FlashEncryptionError('FLASH_ENC_BAD_ADDRESS', `Flash address ${String(address)} is not a non-negative integer: give the offset in flash (e.g. 0x10000)`);
  }
  if (address % 16 !== 0) {
    throw new FlashEncryptionError(
      'FLASH_ENC_BAD_ADDRESS',
      `Starting flash address 0x${address.toString(16)} must be a multiple of 16. Encrypted flash is written in 16-byte blocks: give the partition's offset`,
    );
  }
  if (address + length > limit) {
    throw new FlashEncryptionError(
      'FLASH_ENC_BAD_ADDRESS',
      `The data (0x${length.toString(16)} bytes at 0x${address.toString(16)}) ends past 0x${limit.toString(16)}: ${why}`,
    );
  }
}
