import type { CryptoProvider } from '../crypto/provider.js';
import { checkRange } from '../flash/flash-error.js';
import type { Flash } from '../flash/flash.js';
import type { FlashCipher } from './flash-cipher.js';
import { createFlashCipher, type FlashEncryptionOptions } from './flash-encryption.js';

/** Encrypted reads and writes work on whole 16-byte blocks, as the flash-encryption engine does. */
const BLOCK = 16;

/** Options of {@link EncryptedFlash.create}. */
export interface EncryptedFlashOptions extends FlashEncryptionOptions {
  /**
   * Flash address of byte 0 of the wrapped flash (the partition's offset in the partition table):
   * the ciphertext depends on it. Default 0 (the wrapped flash is the whole chip).
   */
  baseAddress?: number;
}

/**
 * A partition seen through flash encryption, as an app sees an encrypted partition with
 * `esp_partition_read`/`esp_partition_write`: reads decrypt, writes encrypt (the ciphertext is what
 * lands on the wrapped flash), erase passes through. `readRaw`/`writeRaw` access the ciphertext
 * as it sits on flash (what `esptool read_flash` gets).
 *
 * Encrypted access needs 16-byte aligned addresses and lengths. A write goes through the wrapped
 * flash's NOR rules: each encrypted block is written once after an erase (rewriting part of a
 * block, as NVS does with its entry-state bitmap, changes the whole ciphertext block and fails
 * with FLASH_SETS_BITS on a NOR model). That is why ESP-IDF never flash-encrypts `nvs` partitions;
 * an NVS image on an encrypted partition can be read (open the store read-only), not updated.
 *
 * The cipher belongs to this object once given: `destroy()` zeroizes its key.
 *
 * @example
 * // an nvs_keys partition at 0x12000 on an XTS-AES-128 chip
 * const part = EncryptedFlash.create(new MemoryFlash(0x1000), nodeCrypto, key32, { aesXts: true, baseAddress: 0x12000 });
 * part.write(0, buildKeysPartition(keys));
 * const image = new Uint8Array(part.size);
 * part.read(0, image); // decrypted
 * const keysAgain = parseKeysPartition(image);
 */
export class EncryptedFlash implements Flash {
  readonly size: number;
  readonly sectorSize: number;
  /** Flash address of byte 0 of {@link EncryptedFlash.inner}. */
  readonly baseAddress: number;

  /**
   * @param inner the flash (or partition) holding the ciphertext
   * @param cipher the keyed scheme (from {@link createFlashCipher}); owned by this object
   * @param baseAddress flash address of byte 0 of `inner`, a non-negative multiple of 16
   * @throws {RangeError} when baseAddress is not a non-negative multiple of 16
   */
  constructor(
    readonly inner: Flash,
    private readonly cipher: FlashCipher,
    baseAddress = 0,
  ) {
    if (!Number.isSafeInteger(baseAddress) || baseAddress < 0 || baseAddress % BLOCK !== 0) {
      throw new RangeError(`"baseAddress" must be a non-negative multiple of 16 (the partition offset), got ${String(baseAddress)}`);
    }
    this.size = inner.size;
    this.sectorSize = inner.sectorSize;
    this.baseAddress = baseAddress;
  }

  /**
   * Wraps `inner` with flash encryption keyed from a key file's bytes (see {@link createFlashCipher}).
   *
   * @throws {FlashEncryptionError} FLASH_ENC_BAD_KEY, FLASH_ENC_BAD_CONFIG
   * @throws {RangeError} on a bad baseAddress
   * @example
   * const part = EncryptedFlash.create(flash, nodeCrypto, keyFile, { flashCryptConf: 0xf, baseAddress: 0x10000 });
   */
  static create(inner: Flash, crypto: CryptoProvider, keyFile: Uint8Array, options: EncryptedFlashOptions = {}): EncryptedFlash {
    const cipher = createFlashCipher(crypto, keyFile, options);
    try {
      return new EncryptedFlash(inner, cipher, options.baseAddress ?? 0);
    } catch (e) {
      cipher.destroy();
      throw e;
    }
  }

  /** The scheme in use. */
  get scheme(): FlashCipher['scheme'] {
    return this.cipher.scheme;
  }

  /**
   * Reads and decrypts `dest.length` bytes at `address` (relative to the wrapped flash).
   * @throws {RangeError} when address or length is not a multiple of 16
   * @throws {FlashError} FLASH_OUT_OF_BOUNDS from the range check
   */
  read(address: number, dest: Uint8Array): void {
    this.aligned(address, dest.length, 'read');
    checkRange(this, address, dest.length, 'read');
    if (dest.length === 0) return;
    const raw = new Uint8Array(dest.length);
    this.inner.read(address, raw);
    const plain = this.cipher.decrypt(raw, this.baseAddress + address);
    dest.set(plain);
    plain.fill(0);
  }

  /**
   * Encrypts `data` for its place and programs the ciphertext at `address`.
   * @throws {RangeError} when address or length is not a multiple of 16
   * @throws {FlashError} from the wrapped flash (FLASH_OUT_OF_BOUNDS, FLASH_SETS_BITS when the blocks were not erased)
   */
  write(address: number, data: Uint8Array): void {
    this.aligned(address, data.length, 'write');
    checkRange(this, address, data.length, 'write');
    if (data.length === 0) return;
    this.inner.write(address, this.cipher.encrypt(data, this.baseAddress + address));
  }

  /** Erases a sector of the wrapped flash (to raw 0xFF, which does not decrypt to 0xFF). */
  eraseSector(sector: number): void {
    this.inner.eraseSector(sector);
  }

  /** Reads the ciphertext as it sits on the wrapped flash (any address and length). */
  readRaw(address: number, dest: Uint8Array): void {
    this.inner.read(address, dest);
  }

  /** Programs bytes on the wrapped flash as they are, without encryption (like a plaintext `write_flash`). */
  writeRaw(address: number, data: Uint8Array): void {
    this.inner.write(address, data);
  }

  /** Zeroizes the key; later encrypted reads and writes throw (raw access and erase still work). */
  destroy(): void {
    this.cipher.destroy();
  }

  private aligned(address: number, length: number, what: 'read' | 'write'): void {
    if (!Number.isSafeInteger(address) || address % BLOCK !== 0 || length % BLOCK !== 0) {
      throw new RangeError(
        `Encrypted ${what} of ${length} bytes at 0x${Number.isFinite(address) ? address.toString(16) : String(address)}: "address" and the length must be multiples of 16 (the flash-encryption block); use readRaw/writeRaw for the ciphertext`,
      );
    }
  }
}
