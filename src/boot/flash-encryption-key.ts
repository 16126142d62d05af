import type { CryptoProvider } from '../crypto/provider.js';
import { FlashEncryptionError } from './flash-encryption-error.js';

/** The two flash-encryption schemes of the ESP32 family. */
export type FlashEncryptionMode = 'esp32' | 'xts';

/** A key file made ready for the AES engine. Zeroize `key` when done (see {@link FlashEncryptionKey}). */
export interface FlashEncryptionKey {
  /** 32 bytes (ESP32 AES-256 or XTS-AES-128) or 64 bytes (XTS-AES-256), in espsecure's (= the AES engine's) order. */
  key: Uint8Array;
  /** Bits in the key file: 128, 192, 256 or 512. */
  fileBits: number;
  /** espsecure's note on the key, e.g. "Using 256-bit key." or "Using 192-bit key (extended)." */
  note: string;
}

/**
 * Checks a flash-encryption key file the way espsecure 5.3.1 does and expands it: a 24-byte
 * (3/4 coding scheme) ESP32 key becomes K ‖ K[8:16]; a 16-byte XTS key (ESP32-C2 "derived" mode)
 * becomes SHA-256(K). The returned key is a new buffer; `file` is left untouched.
 *
 * @throws {FlashEncryptionError} FLASH_ENC_BAD_KEY when the length is not 16, 24, 32 or 64 bytes,
 *   or not one the scheme takes (ESP32: 24 or 32; XTS: 16, 32 or 64)
 * @example
 * const { key, note } = loadFlashEncryptionKey(nodeCrypto, keyFileBytes, 'xts'); // note: "Using 256-bit key."
 * try { … } finally { key.fill(0); }
 */
export function loadFlashEncryptionKey(crypto: CryptoProvider, file: Uint8Array, mode: FlashEncryptionMode): FlashEncryptionKey {
  if (!(file instanceof Uint8Array)) throw new TypeError('"file" must be a Uint8Array (the key file bytes)');
  const n = file.length;
  if (n !== 16 && n !== 24 && n !== 32 && n !== 64) {
    throw new FlashEncryptionError(
      'FLASH_ENC_BAD_KEY',
      `Key file contains wrong length (${n} bytes), 16, 24, 32 or 64 expected. Use a key from "generate-flash-encryption-key"`,
    );
  }
  if (mode === 'xts' && n === 24) {
    throw new FlashEncryptionError(
      'FLASH_ENC_BAD_KEY',
      `AES_XTS supports only 128, 256, and 512-bit keys. Provided key is ${n * 8} bits. A 192-bit key is an ESP32 (3/4 coding) key: leave out --aes-xts`,
    );
  }
  if (mode === 'esp32' && n !== 24 && n !== 32) {
    throw new FlashEncryptionError(
      'FLASH_ENC_BAD_KEY',
      `ESP32 supports only 192 and 256-bit keys. Provided key is ${n * 8} bits. Use --aes-xts for other chips`,
    );
  }
  if (n === 16) {
    return { key: crypto.digest('sha256', file), fileBits: 128, note: 'Using 128-bit key (extended).' };
  }
  if (n === 24) {
    const key = new Uint8Array(32);
    key.set(file);
    key.set(file.subarray(8, 16), 24);
    return { key, fileBits: 192, note: 'Using 192-bit key (extended).' };
  }
  return { key: new Uint8Array(file), fileBits: n * 8, note: n === 32 ? 'Using 256-bit key.' : 'Using 512-bit key.' };
}
