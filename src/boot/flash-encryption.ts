import type { CryptoProvider } from '../crypto/provider.js';
import type { FlashCipher } from './flash-cipher.js';
import { Esp32FlashCipher } from './flash-encryption-esp32.js';
import { loadFlashEncryptionKey } from './flash-encryption-key.js';
import { XtsFlashCipher } from './flash-encryption-xts.js';

/** Options of {@link createFlashCipher}, named after espsecure's. */
export interface FlashEncryptionOptions {
  /** XTS-AES (every chip but the ESP32); default false = the ESP32 scheme. */
  aesXts?: boolean;
  /** ESP32 only: the FLASH_CRYPT_CONFIG eFuse, 0..0xF, default 0xF. Ignored with `aesXts`. */
  flashCryptConf?: number;
}

/**
 * Sets up flash encryption from a key file's bytes, as espsecure's `encrypt-flash-data` /
 * `decrypt-flash-data` read it: without `aesXts` the ESP32 scheme (24- or 32-byte key), with it
 * XTS-AES (16 = SHA-256-derived, 32 = XTS-AES-128, 64 = XTS-AES-256). `keyFile` is not kept:
 * the cipher holds its own copy, zeroized by `destroy()`.
 *
 * @throws {FlashEncryptionError} FLASH_ENC_BAD_KEY (key length, with espsecure's message);
 *   FLASH_ENC_BAD_CONFIG (flashCryptConf outside 0..0xF)
 * @example
 * const c = createFlashCipher(nodeCrypto, fs.readFileSync('key.bin'), { flashCryptConf: 0xf });
 * try { fs.writeFileSync('enc.bin', c.encrypt(image, 0x10000)); } finally { c.destroy(); }
 */
export function createFlashCipher(crypto: CryptoProvider, keyFile: Uint8Array, options: FlashEncryptionOptions = {}): FlashCipher {
  const aesXts = options.aesXts ?? false;
  const { key } = loadFlashEncryptionKey(crypto, keyFile, aesXts ? 'xts' : 'esp32');
  try {
    return aesXts ? new XtsFlashCipher(crypto, key) : new Esp32FlashCipher(crypto, key, options.flashCryptConf ?? 0xf);
  } finally {
    key.fill(0);
  }
}

/**
 * One-shot flash encryption of `data` for flash `address` (espsecure `encrypt-flash-data`).
 *
 * @throws {FlashEncryptionError} FLASH_ENC_BAD_KEY, FLASH_ENC_BAD_CONFIG, FLASH_ENC_BAD_ADDRESS, FLASH_ENC_BAD_LENGTH
 * @example
 * const ct = encryptFlashData(nodeCrypto, key, image, 0x10000, { aesXts: true });
 */
export function encryptFlashData(crypto: CryptoProvider, keyFile: Uint8Array, data: Uint8Array, address: number, options: FlashEncryptionOptions = {}): Uint8Array {
  const c = createFlashCipher(crypto, keyFile, options);
  try {
    return c.encrypt(data, address);
  } finally {
    c.destroy();
  }
}

/**
 * One-shot flash decryption of `data` read from flash `address` (espsecure `decrypt-flash-data`).
 *
 * @throws {FlashEncryptionError} FLASH_ENC_BAD_KEY, FLASH_ENC_BAD_CONFIG, FLASH_ENC_BAD_ADDRESS, FLASH_ENC_BAD_LENGTH
 * @example
 * const plain = decryptFlashData(nodeCrypto, key, ct, 0x10000, { aesXts: true });
 */
export function decryptFlashData(crypto: CryptoProvider, keyFile: Uint8Array, data: Uint8Array, address: number, options: FlashEncryptionOptions = {}): Uint8Array {
  const c = createFlashCipher(crypto, keyFile, options);
  try {
    return c.decrypt(data, address);
  } finally {
    c.destroy();
  }
}
