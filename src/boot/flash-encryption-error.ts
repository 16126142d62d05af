import { NvsecError } from '../errors/nvsec-error.js';

/** Stable codes of {@link FlashEncryptionError}. */
export type FlashEncryptionErrorCode =
  /** The key file has a length the scheme does not take. */
  | 'FLASH_ENC_BAD_KEY'
  /** The flash address is not a multiple of 16, or the range leaves the address space. */
  | 'FLASH_ENC_BAD_ADDRESS'
  /** The data is empty (XTS) or not a whole number of 16-byte blocks. */
  | 'FLASH_ENC_BAD_LENGTH'
  /** FLASH_CRYPT_CONFIG is not a 4-bit value. */
  | 'FLASH_ENC_BAD_CONFIG';

/**
 * A flash-encryption input that cannot be processed (key file, address, length, FLASH_CRYPT_CONFIG).
 * The message starts with espsecure's own wording for the same rejection, then says what to do.
 *
 * @example
 * try { encryptFlashData(nodeCrypto, key, data, 0x10008); } catch (e) {
 *   if (e instanceof FlashEncryptionError && e.code === 'FLASH_ENC_BAD_ADDRESS') { … }
 * }
 */
export class FlashEncryptionError extends NvsecError {
  declare readonly code: FlashEncryptionErrorCode;

  constructor(code: FlashEncryptionErrorCode, message: string) {
    super(code, message);
    this.name = 'FlashEncryptionError';
  }
}
