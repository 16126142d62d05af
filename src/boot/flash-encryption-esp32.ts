import type { CryptoProvider } from '../crypto/provider.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { _reverseUnits } from './_byte-order.js';
import { FlashEncryptionError } from './flash-encryption-error.js';
import type { FlashCipher } from './flash-cipher.js';
import { _checkAddress } from './_check-range.js';
import { _blockKeys, _tweakMasks } from './_esp32-tweak.js';

/** ESP32 flash is at most 16 MiB: the key tweak uses offset bits 5..23 only. */
const ESP32_FLASH_LIMIT = 0x1000000;

/**
 * ESP32 flash encryption (the original scheme, checked against espsecure 5.3.1): AES-256 where
 * every 32-byte block of flash has its own key, the key file XOR a tweak derived from offset bits
 * 5..23 as selected by the 4-bit FLASH_CRYPT_CONFIG eFuse; "inverted" AES (flash encryption is
 * AES-decrypt of the byte-reversed 16-byte block, output byte-reversed again).
 *
 * Each 32-byte block needs its own AES key, so the cost is one key setup per 32 bytes (with
 * FLASH_CRYPT_CONFIG 0 one key serves everything). The derived keys are zeroized after use.
 *
 * @example
 * const c = new Esp32FlashCipher(nodeCrypto, key32, 0xf);
 * const ct = c.encrypt(image, 0x10000);
 * c.destroy();
 */
export class Esp32FlashCipher implements FlashCipher {
  readonly scheme = 'esp32-aes256' as const;
  readonly flashCryptConf: number;
  private base: Uint32Array | null;
  private readonly masks: Uint32Array[];

  /**
   * @param key the 32-byte key (a 24-byte 3/4-coding key file goes through {@link loadFlashEncryptionKey} first); copied
   * @param flashCryptConf FLASH_CRYPT_CONFIG, 0..0xF (0 disables the tweak: plain AES-ECB, not recommended)
   * @throws {RangeError} when the key is not 32 bytes
   * @throws {FlashEncryptionError} FLASH_ENC_BAD_CONFIG when flashCryptConf is not an integer 0..15
   */
  constructor(
    private readonly crypto: CryptoProvider,
    key: Uint8Array,
    flashCryptConf = 0xf,
  ) {
    if (!(key instanceof Uint8Array) || key.length !== 32) {
      throw new RangeError(`"key" must be 32 bytes (ESP32 AES-256), got ${key instanceof Uint8Array ? key.length : typeof key}`);
    }
    if (!Number.isInteger(flashCryptConf) || flashCryptConf < 0 || flashCryptConf > 0xf) {
      throw new FlashEncryptionError(
        'FLASH_ENC_BAD_CONFIG',
        `FLASH_CRYPT_CONFIG ${String(flashCryptConf)} is not a 4-bit eFuse value: give 0x0..0xF (the bootloader burns 0xF)`,
      );
    }
    this.flashCryptConf = flashCryptConf;
    this.base = new Uint32Array(new Uint8Array(key).buffer);
    this.masks = _tweakMasks(flashCryptConf);
  }

  /**
   * Encrypts `data` as it will sit in flash at `address`.
   * @returns a new buffer of the same length
   * @throws {FlashEncryptionError} FLASH_ENC_BAD_ADDRESS (address not a multiple of 16, or the range
   *   goes past 16 MiB); FLASH_ENC_BAD_LENGTH (length not a multiple of 16)
   */
  encrypt(data: Uint8Array, address: number): Uint8Array {
    return this.process(data, address, true);
  }

  /** Inverse of {@link Esp32FlashCipher.encrypt}; same checks. */
  decrypt(data: Uint8Array, address: number): Uint8Array {
    return this.process(data, address, false);
  }

  /** Zeroizes the key; later calls throw. */
  destroy(): void {
    this.base?.fill(0);
    this.base = null;
  }

  private process(data: Uint8Array, address: number, encrypt: boolean): Uint8Array {
    const base = this.base;
    if (base === null) throw new NvsecError('CRYPTO_KEY_DESTROYED', 'This flash cipher was destroyed: set it up again with the key');
    if (!(data instanceof Uint8Array)) throw new TypeError('"data" must be a Uint8Array');
    _checkEsp32Input(data, address, encrypt);
    if (data.length === 0) return new Uint8Array(0);
    const x = new Uint8Array(data); // a copy (Buffer.slice would be a view)
    _reverseUnits(x, 16);
    const { keys, spans } = _blockKeys(base, this.masks, this.flashCryptConf, address, x.length);
    let out: Uint8Array;
    try {
      // Flash encryption is AES decryption, and vice versa.
      out = this.crypto.aesEcbPerSpan(keys, 32, spans, x, encrypt ? 'decrypt' : 'encrypt');
    } finally {
      keys.fill(0);
      x.fill(0);
    }
    _reverseUnits(out, 16);
    return out;
  }
}

/**
 * The ESP32 scheme's checks of an input (shared with the worker-thread variant): address a
 * multiple of 16 inside the 16 MiB of ESP32 flash, length a multiple of 16.
 *
 * @throws {FlashEncryptionError} FLASH_ENC_BAD_ADDRESS, FLASH_ENC_BAD_LENGTH
 */
export function _checkEsp32Input(data: Uint8Array, address: number, encrypt: boolean): void {
  _checkAddress(address, data.length, ESP32_FLASH_LIMIT, 'ESP32 flash ends at 16 MiB (0x1000000)');
  if (data.length % 16 !== 0) {
    throw new FlashEncryptionError(
      'FLASH_ENC_BAD_LENGTH',
      encrypt
        ? `Input data length (${data.length}) must be a multiple of 16. Pad the data to 16 bytes (espsecure would pad with random bytes, which makes the output irreproducible)`
        : `Data length is not a multiple of 16 bytes (${data.length}). Encrypted flash data always is: check the file`,
    );
  }
}
