import type { CryptoProvider } from '../crypto/provider.js';
import { XtsCipher } from '../crypto/xts.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { _reverseUnits } from './_byte-order.js';
import { _checkAddress } from './_check-range.js';
import type { FlashCipher } from './flash-cipher.js';
import { FlashEncryptionError } from './flash-encryption-error.js';

/** XTS data unit of the flash-encryption engine. */
const UNIT = 128;
/** The tweak holds the unit address as a 32-bit little-endian number. */
const ADDRESS_LIMIT = 0x100000000;

/**
 * XTS-AES flash encryption of the newer chips (ESP32-S2, S3, C2, C3, C5, C6, H2, P4; checked
 * against espsecure 5.3.1): 128-byte data units at U = address & ~0x7F whose tweak is U as a
 * little-endian number; each unit is byte-reversed, encrypted with standard XTS-AES (IEEE 1619)
 * and byte-reversed again. Key: 32 bytes = XTS-AES-128 (key1 ‖ key2), 64 bytes = XTS-AES-256.
 *
 * Any 16-byte aligned address and length work: the XTS blocks of a unit are independent, so units
 * only partly covered by the data are padded in a scratch buffer and trimmed. The whole input is
 * processed with one batched XTS call (two AES-ECB calls in all).
 *
 * @example
 * const c = new XtsFlashCipher(nodeCrypto, key32);
 * const ct = c.encrypt(image, 0x10000);
 * c.destroy();
 */
export class XtsFlashCipher implements FlashCipher {
  readonly scheme: 'xts-aes128' | 'xts-aes256';
  private xts: XtsCipher | null;

  /**
   * @param key 32 or 64 bytes (a 16-byte key file goes through {@link loadFlashEncryptionKey} first: SHA-256)
   * @throws {RangeError} when the key is not 32 or 64 bytes
   */
  constructor(crypto: CryptoProvider, key: Uint8Array) {
    if (!(key instanceof Uint8Array) || (key.length !== 32 && key.length !== 64)) {
      throw new RangeError(`"key" must be 32 (XTS-AES-128) or 64 (XTS-AES-256) bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`);
    }
    this.scheme = key.length === 32 ? 'xts-aes128' : 'xts-aes256';
    this.xts = new XtsCipher(crypto, key);
  }

  /**
   * Encrypts `data` as it will sit in flash at `address`.
   * @returns a new buffer of the same length
   * @throws {FlashEncryptionError} FLASH_ENC_BAD_ADDRESS (address not a multiple of 16, or past 4 GiB);
   *   FLASH_ENC_BAD_LENGTH (empty, or not a multiple of 16)
   */
  encrypt(data: Uint8Array, address: number): Uint8Array {
    return this.process(data, address, false);
  }

  /** Inverse of {@link XtsFlashCipher.encrypt}; same checks. */
  decrypt(data: Uint8Array, address: number): Uint8Array {
    return this.process(data, address, true);
  }

  /** Zeroizes the key; later calls throw. */
  destroy(): void {
    this.xts?.destroy();
    this.xts = null;
  }

  private process(data: Uint8Array, address: number, decrypt: boolean): Uint8Array {
    const xts = this.xts;
    if (xts === null) throw new NvsecError('CRYPTO_KEY_DESTROYED', 'This flash cipher was destroyed: set it up again with the key');
    if (!(data instanceof Uint8Array)) throw new TypeError('"data" must be a Uint8Array');
    _checkAddress(address, data.length, ADDRESS_LIMIT, 'the XTS tweak holds a 32-bit flash address');
    if (data.length % 16 !== 0) {
      throw new FlashEncryptionError(
        'FLASH_ENC_BAD_LENGTH',
        `Input data length (${data.length}) must be a multiple of 16. Encrypted flash is written in 16-byte blocks: pad the data`,
      );
    }
    if (data.length === 0) {
      throw new FlashEncryptionError('FLASH_ENC_BAD_LENGTH', 'Input data must be longer than 0. Give a non-empty file');
    }
    const first = address - (address % UNIT);
    const lead = address - first;
    const units = Math.ceil((lead + data.length) / UNIT);
    const x = new Uint8Array(units * UNIT);
    x.set(data, lead);
    _reverseUnits(x, UNIT);
    const sectors = new Float64Array(units);
    for (let i = 0; i < units; i++) sectors[i] = first + i * UNIT;
    const y = decrypt ? xts.decrypt(x, UNIT, sectors) : xts.encrypt(x, UNIT, sectors);
    x.fill(0);
    _reverseUnits(y, UNIT);
    if (lead === 0 && y.length === data.length) return y;
    const out = y.slice(lead, lead + data.length);
    y.fill(0);
    return out;
  }
}
