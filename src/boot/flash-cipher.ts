/** The flash-encryption schemes nvsec implements (all byte-identical with espsecure 5.3.1). */
export type FlashEncryptionScheme = 'esp32-aes256' | 'xts-aes128' | 'xts-aes256';

/**
 * A keyed flash-encryption scheme: encrypts plaintext as it will sit in flash at an address, and
 * decrypts what was read from there. Addresses are absolute flash offsets (not partition-relative).
 *
 * @example
 * const c: FlashCipher = createFlashCipher(nodeCrypto, keyFile, { aesXts: true });
 * const ct = c.encrypt(image, 0x10000);
 * c.decrypt(ct, 0x10000); // = image
 * c.destroy();
 */
export interface FlashCipher {
  readonly scheme: FlashEncryptionScheme;
  /** Encrypts `data` for flash `address`; a new buffer of the same length. */
  encrypt(data: Uint8Array, address: number): Uint8Array;
  /** Decrypts `data` read from flash `address`; a new buffer of the same length. */
  decrypt(data: Uint8Array, address: number): Uint8Array;
  /** Zeroizes the key material; later calls throw NvsecError CRYPTO_KEY_DESTROYED. */
  destroy(): void;
}
