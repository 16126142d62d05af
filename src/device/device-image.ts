import { Efuse } from '../boot/efuse.js';
import type { EfuseChip } from '../boot/efuse-fields.js';
import { createFlashCipher } from '../boot/flash-encryption.js';
import { secureBootTrust, splitSignedImage, verifyAsBootloader } from '../boot/secure-boot-v2.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { NvsecError } from '../errors/nvsec-error.js';
import type { Flash } from '../flash/flash.js';
import { encodePartitionTable } from '../partition-table/binary.js';
import type { PartitionEntry } from '../partition-table/partition-entry.js';
import { type DeviceFlashLayout, partitionNamed } from './flash-layout.js';
import { readPartitionTable } from './_flash-access.js';

/** Options of {@link buildDeviceFlash}. */
export interface BuildDeviceFlashOptions {
  readonly crypto: CryptoProvider;
  /** The chip (must be the layout's). */
  readonly chip: EfuseChip;
  /** The signed app image (signed region ‖ signature sector), written to the first app partition. */
  readonly appImage: Uint8Array;
  /** The `nvs` partition image, already NVS-encrypted (it is written plain: NVS is never flash-encrypted). */
  readonly nvsPartition: Uint8Array;
  /** The `nvs_keys` partition bytes (buildKeysPartition), written flash-encrypted. */
  readonly nvsKeysPartition: Uint8Array;
  /** The flash encryption key in espsecure key-file form (32 bytes for XTS-AES-128). */
  readonly flashEncryptionKey: Uint8Array;
  readonly layout: DeviceFlashLayout;
}

/**
 * The whole flash of a provisioned device, as a factory writes it with flash encryption on: the
 * partition table at its offset, flash-encrypted (the ROM reads it through the cache, as it does
 * with every app partition and every partition flagged `encrypted`); the app in the first app
 * partition and the keys in `nvs_keys`, encrypted at their flash addresses; the NVS partition
 * plain (it carries NVS encryption). Bytes no image covers stay erased (0xFF).
 *
 * @returns a fresh `layout.flashSize`-byte image
 * @throws {RangeError} when an image does not fit its partition, the chip differs from the
 *   layout's, or the layout lacks `nvs`, `nvs_keys` or an app partition
 * @throws {FlashEncryptionError} FLASH_ENC_BAD_KEY for a key of the wrong length
 * @example
 * const flash = buildDeviceFlash({ crypto: nodeCrypto, chip: 'esp32c3', appImage, nvsPartition,
 *   nvsKeysPartition: buildKeysPartition(keys), flashEncryptionKey: xtsKey, layout: defaultFlashLayout() });
 */
export function buildDeviceFlash(options: BuildDeviceFlashOptions): Uint8Array {
  const { crypto, chip, layout } = options;
  if (chip !== layout.chip) throw new RangeError(`"chip" is ${chip} but the layout "${layout.name}" is for ${layout.chip}`);
  const nvs = partitionNamed(layout, 'nvs');
  const keys = partitionNamed(layout, 'nvs_keys');
  const app = firstAppPartition(layout.entries);
  if (nvs.flags.encrypted) throw new RangeError('The nvs partition is flagged encrypted: NVS cannot live on a flash-encrypted partition (it rewrites entry bitmaps); use NVS encryption instead');
  fits(options.nvsPartition, nvs, 'nvsPartition');
  fits(options.nvsKeysPartition, keys, 'nvsKeysPartition');
  fits(options.appImage, app, 'appImage');
  splitSignedImage(options.appImage); // a whole number of 4 KiB sectors with a signature sector

  const image = new Uint8Array(layout.flashSize).fill(0xff);
  const cipher = createFlashCipher(crypto, options.flashEncryptionKey, { aesXts: chip !== 'esp32' });
  try {
    const table = encodePartitionTable(layout.entries, crypto);
    image.set(cipher.encrypt(table, layout.tableOffset), layout.tableOffset);
    image.set(options.nvsPartition, nvs.offset);
    for (const [data, p] of [
      [options.nvsKeysPartition, keys],
      [options.appImage, app],
    ] as const) {
      image.set(p.flags.encrypted ? cipher.encrypt(padTo16(data), p.offset) : data, p.offset);
    }
  } finally {
    cipher.destroy();
  }
  return image;
}

/** Options of {@link deviceEfuse}. */
export interface DeviceEfuseOptions {
  /** esp32c3 or esp32s3 (XTS-AES-128 in BLOCK_KEY0, the digest in BLOCK_KEY1). */
  readonly chip: EfuseChip;
  /** The XTS-AES-128 flash encryption key, 32 bytes in espsecure key-file order. */
  readonly flashEncryptionKey: Uint8Array;
  /** SHA-256 digest of the Secure Boot V2 public key (publicKeyDigest / espsecure digest-sbv2-public-key). */
  readonly secureBootKeyDigest: Uint8Array;
}

/**
 * Hardening fuses a production bootloader burns with release-mode flash encryption and secure
 * boot (ESP-IDF's `esp_flash_encryption_enable` and secure boot for the C3/S3): JTAG off, no
 * direct boot, no cache access from download mode.
 */
const RELEASE_HARDENING = Object.freeze(['DIS_PAD_JTAG', 'DIS_USB_JTAG', 'DIS_DIRECT_BOOT', 'DIS_DOWNLOAD_ICACHE', 'DIS_DOWNLOAD_DCACHE']);

/**
 * The eFuses of a provisioned device, burned as a factory does: the XTS-AES-128 key in
 * BLOCK_KEY0 (read- and write-protected), the Secure Boot V2 key digest in BLOCK_KEY1
 * (SECURE_BOOT_DIGEST0), flash encryption on in release mode, secure boot enabled, JTAG and
 * download-mode cache access disabled. The model holds the key: `destroy()` it when done.
 *
 * @throws {RangeError} for a key that is not 32 bytes or a digest that is not 32 bytes
 * @throws {EfuseError} EFUSE_UNSUPPORTED for the ESP32 (its flash key and digest live in other blocks)
 * @example
 * const efuse = deviceEfuse({ chip: 'esp32c3', flashEncryptionKey: xtsKey, secureBootKeyDigest: publicKeyDigest(nodeCrypto, key) });
 * efuse.flashEncryptionReleaseMode(); // true
 */
export function deviceEfuse(options: DeviceEfuseOptions): Efuse {
  const { chip, flashEncryptionKey, secureBootKeyDigest } = options;
  if (!(flashEncryptionKey instanceof Uint8Array) || flashEncryptionKey.length !== 32) throw new RangeError('"flashEncryptionKey" must be a 32-byte XTS-AES-128 key');
  if (!(secureBootKeyDigest instanceof Uint8Array) || secureBootKeyDigest.length !== 32) throw new RangeError('"secureBootKeyDigest" must be a 32-byte SHA-256 digest');
  if (chip === 'esp32') throw new NvsecError('EFUSE_UNSUPPORTED', 'deviceEfuse() burns the C3/S3 key blocks; the ESP32 keeps its flash key in BLOCK1 and its digest in BLOCK2');
  const efuse = Efuse.create(chip);
  try {
    efuse.burnKey('BLOCK_KEY0', flashEncryptionKey, 'XTS_AES_128_KEY');
    efuse.burnKeyDigest(secureBootKeyDigest, 'BLOCK_KEY1', 'SECURE_BOOT_DIGEST0');
    efuse.enableFlashEncryption({ release: true });
    efuse.enableSecureBoot();
    const fields = new Set(efuse.fieldNames());
    for (const name of RELEASE_HARDENING) if (fields.has(name)) efuse.burn(name, true);
    return efuse;
  } catch (e) {
    efuse.destroy();
    throw e;
  }
}

/**
 * Writes a new signed app into the device's app partition, as an OTA update or a re-flash with
 * the device's own flash encryption does: the partition is erased and the app written encrypted
 * at its address. The NVS partitions (and with them the credentials) are not touched. The app is
 * checked against the eFuse secure boot digests first, so an app the device would refuse to
 * boot is never written.
 *
 * @throws {NvsecError} DEVICE_APP_REJECTED when secure boot is on and the app is not signed by a
 *   trusted key (nothing is written); SBV2_BAD_LENGTH for an unsigned image
 * @throws {RangeError} when the app does not fit the partition
 * @throws {EfuseError} EFUSE_NO_KEY when the eFuses hold no flash encryption key
 * @example
 * await reprogramApp(flash, efuse, signedAppV2, nodeCrypto);
 */
export async function reprogramApp(flash: Flash, efuse: Efuse, newSignedApp: Uint8Array, crypto: CryptoProvider): Promise<void> {
  const key = efuse.hardware.flashEncryptionKey();
  if (key === null) throw new NvsecError('EFUSE_NO_KEY', 'The eFuses hold no flash encryption key: this is not a provisioned device');
  const cipher = createFlashCipher(crypto, key, { aesXts: efuse.chip !== 'esp32' });
  key.fill(0);
  try {
    const { region, sector } = splitSignedImage(newSignedApp);
    const trust = secureBootTrust(efuse);
    if (trust.enabled) {
      const report = await verifyAsBootloader(crypto, region, sector, trust);
      if (!report.accepted) {
        throw new NvsecError('DEVICE_APP_REJECTED', `The new app is not signed by a key the eFuses trust (${report.blocks.map((b) => b.message).join('; ')}); nothing was written`);
      }
    }
    const entries = readPartitionTable(flash, cipher, crypto);
    const app = firstAppPartition(entries);
    fits(newSignedApp, app, 'newSignedApp');
    const ct = cipher.encrypt(padTo16(newSignedApp), app.offset);
    const firstSector = app.offset / flash.sectorSize;
    for (let s = 0; s < app.size / flash.sectorSize; s++) flash.eraseSector(firstSector + s);
    flash.write(app.offset, ct);
  } finally {
    cipher.destroy();
  }
}

/**
 * The app partition a device boots: `factory`, else the first app partition.
 *
 * @throws {RangeError} when the table has no app partition
 * @example
 * firstAppPartition(defaultFlashLayout().entries).offset; // 0x10000
 */
export function firstAppPartition(entries: readonly PartitionEntry[]): PartitionEntry {
  const apps = entries.filter((e) => e.type === 0);
  const app = apps.find((e) => e.name === 'factory') ?? apps[0];
  if (!app) throw new RangeError('The partition table has no app partition');
  return app;
}

function fits(data: Uint8Array, p: PartitionEntry, name: string): void {
  if (!(data instanceof Uint8Array)) throw new TypeError(`"${name}" must be a Uint8Array`);
  if (data.length > p.size) throw new RangeError(`"${name}" is ${data.length} bytes but partition "${p.name}" holds ${p.size}`);
}

function padTo16(data: Uint8Array): Uint8Array {
  if (data.length % 16 === 0) return data;
  const out = new Uint8Array(data.length + 16 - (data.length % 16)).fill(0xff);
  out.set(data);
  return out;
}
