export { EncryptedFlash, type EncryptedFlashOptions } from './encrypted-flash.js';
export type { FlashCipher, FlashEncryptionScheme } from './flash-cipher.js';
export { createFlashCipher, decryptFlashData, encryptFlashData, type FlashEncryptionOptions } from './flash-encryption.js';
export { Esp32FlashCipher } from './flash-encryption-esp32.js';
export { FlashEncryptionError, type FlashEncryptionErrorCode } from './flash-encryption-error.js';
export { type FlashEncryptionKey, type FlashEncryptionMode, loadFlashEncryptionKey } from './flash-encryption-key.js';
export { XtsFlashCipher } from './flash-encryption-xts.js';
