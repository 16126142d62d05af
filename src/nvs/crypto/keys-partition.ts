import { crc32le } from '../../bytes/crc32.js';
import { bytesEqual, isFilled } from '../../bytes/equal.js';
import type { CryptoProvider } from '../../crypto/provider.js';
import { NvsecError } from '../../errors/nvsec-error.js';
import { readU32, writeU32 } from '../format/entry.js';
import { NvsError } from '../esp-err.js';

/** Size of an `nvs_keys` partition image. */
export const KEYS_PARTITION_SIZE = 4096;

/** The two XTS-AES-256 keys of an encrypted NVS partition. */
export interface NvsKeys {
  /** XTS data key ("eky", key 1), 32 bytes. */
  eky: Uint8Array;
  /** XTS tweak key ("tky", key 2), 32 bytes. */
  tky: Uint8Array;
}

/**
 * The `nvs_keys` partition image: eky (32) ‖ tky (32) ‖ CRC of both (u32 LE, the NVS CRC
 * variant) ‖ 0xFF up to 4096 bytes.
 * @throws {RangeError} when a key is not 32 bytes
 * @throws {NvsecError} NVS_WEAK_KEY when the two keys are equal (XTS needs two different keys)
 */
export function buildKeysPartition(keys: NvsKeys): Uint8Array {
  checkKeys(keys);
  const out = new Uint8Array(KEYS_PARTITION_SIZE).fill(0xff);
  out.set(keys.eky, 0);
  out.set(keys.tky, 32);
  writeU32(out, 64, crc32le(out, 0xffffffff, 0, 64));
  return out;
}

/**
 * Reads and validates an `nvs_keys` partition image the way `nvs_flash_read_security_cfg` does,
 * and says what most likely went wrong when it fails.
 *
 * @throws {NvsError} ESP_ERR_NVS_KEYS_NOT_INITIALIZED (0x1116) for an erased partition;
 *   ESP_ERR_NVS_CORRUPT_KEY_PART (0x1117) when the CRC does not match (the message names the
 *   likely cause); ESP_ERR_INVALID_SIZE when the image is shorter than the 68 bytes it needs
 * @throws {NvsecError} NVS_WEAK_KEY when eky equals tky
 */
export function parseKeysPartition(image: Uint8Array): NvsKeys {
  if (image.length < 68) {
    throw new NvsError('ESP_ERR_INVALID_SIZE', `The keys partition image is ${image.length} bytes; it needs at least 68 (eky, tky, CRC) and is normally 4096`);
  }
  const stored = readU32(image, 64);
  if (isFilled(image, 0xff, 0, 64) && stored === 0xffffffff) {
    throw new NvsError(
      'ESP_ERR_NVS_KEYS_NOT_INITIALIZED',
      'The keys partition is erased (no keys in it): generate keys with "nvsec nvs generate-key" and flash them, or let the device generate its own (which makes existing encrypted data unreadable)',
    );
  }
  if (crc32le(image, 0xffffffff, 0, 64) !== stored) {
    throw new NvsError('ESP_ERR_NVS_CORRUPT_KEY_PART', `The keys partition fails its CRC check: ${likelyCause(image)}`);
  }
  const keys = { eky: image.slice(0, 32), tky: image.slice(32, 64) };
  checkKeys(keys);
  return keys;
}

/** Why a keys partition whose CRC does not match most likely got that way. */
function likelyCause(image: Uint8Array): string {
  const tail = image.subarray(68, Math.min(image.length, KEYS_PARTITION_SIZE));
  if (isFilled(image, 0xff, 0, 64)) {
    return 'the key bytes are erased but the CRC word is not: this is probably not the start of the nvs_keys partition (wrong offset)';
  }
  if (tail.length > 0 && !isFilled(tail, 0xff)) {
    let ff = 0;
    for (const b of tail) if (b === 0xff) ff++;
    if (ff / tail.length < 0.05) {
      return (
        'every byte looks random, the 0xFF tail included. Most likely it was read back through flash encryption ' +
        '(the partition is flagged "encrypted" and was written in plaintext after flash encryption was enabled, ' +
        'or this is a raw flash dump that is still encrypted), or it is not the nvs_keys partition (wrong offset)'
      );
    }
    return 'the bytes after the CRC should all be 0xFF but are not: wrong offset, or not an nvs_keys partition';
  }
  return 'the layout is right (keys, CRC, 0xFF tail) but the keys or the CRC changed: the partition is damaged';
}

/**
 * Fresh keys from the provider's CSPRNG (the reference generator uses a non-cryptographic PRNG).
 * Equal halves, astronomically unlikely, are drawn again.
 */
export function generateNvsKeys(crypto: CryptoProvider): NvsKeys {
  for (;;) {
    const r = crypto.randomBytes(64);
    const keys = { eky: r.slice(0, 32), tky: r.slice(32, 64) };
    r.fill(0);
    if (!bytesEqual(keys.eky, keys.tky)) return keys;
  }
}

/**
 * Keys derived from an HMAC key as ESP-IDF's `nvs_sec_provider` HMAC scheme (and the generator's
 * `--key_protect_hmac`) does: eky = HMAC-SHA256(key, AEBE5A5A (LE) ×8), tky = HMAC-SHA256(key, CEDEA5A5 (LE) ×8).
 * @throws {RangeError} when the HMAC key is not 32 bytes
 */
export function deriveNvsKeysFromHmac(crypto: CryptoProvider, hmacKey: Uint8Array): NvsKeys {
  if (hmacKey.length !== 32) throw new RangeError(`"hmacKey" must be 32 bytes, got ${hmacKey.length}`);
  const message = (word: number): Uint8Array => {
    const m = new Uint8Array(32);
    for (let i = 0; i < 8; i++) writeU32(m, i * 4, word);
    return m;
  };
  return { eky: crypto.hmac('sha256', hmacKey, message(0xaebe5a5a)), tky: crypto.hmac('sha256', hmacKey, message(0xcedea5a5)) };
}

/** The 64-byte XTS key (key1 ‖ key2 = eky ‖ tky). */
export function xtsKeyOf(keys: NvsKeys): Uint8Array {
  checkKeys(keys);
  const k = new Uint8Array(64);
  k.set(keys.eky, 0);
  k.set(keys.tky, 32);
  return k;
}

function checkKeys(keys: NvsKeys): void {
  if (keys.eky.length !== 32 || keys.tky.length !== 32) {
    throw new RangeError(`NVS keys must be 32 bytes each, got eky ${keys.eky.length} and tky ${keys.tky.length}`);
  }
  if (bytesEqual(keys.eky, keys.tky)) {
    throw new NvsecError(
      'NVS_WEAK_KEY',
      'The XTS data key and tweak key are equal, which XTS forbids (the reference generator fails on such keys too): generate new keys',
    );
  }
}
