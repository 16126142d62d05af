import type { EfuseChip } from './efuse-fields.js';

/**
 * KEY_PURPOSE_n values of ESP32-C3/S3-style chips (4 bits per key block), with espefuse's names.
 * `XTS_AES_256_KEY` is not a value: it is espefuse's virtual purpose that splits a 64-byte key
 * into two blocks with `XTS_AES_256_KEY_1` and `XTS_AES_256_KEY_2`.
 *
 * @example
 * KEY_PURPOSE.XTS_AES_128_KEY; // 4
 */
export const KEY_PURPOSE = Object.freeze({
  USER: 0,
  RESERVED: 1,
  XTS_AES_256_KEY_1: 2,
  XTS_AES_256_KEY_2: 3,
  XTS_AES_128_KEY: 4,
  HMAC_DOWN_ALL: 5,
  HMAC_DOWN_JTAG: 6,
  HMAC_DOWN_DIGITAL_SIGNATURE: 7,
  HMAC_UP: 8,
  SECURE_BOOT_DIGEST0: 9,
  SECURE_BOOT_DIGEST1: 10,
  SECURE_BOOT_DIGEST2: 11,
} as const);

/** A name of {@link KEY_PURPOSE}. @example const p: KeyPurposeName = 'HMAC_UP'; */
export type KeyPurposeName = keyof typeof KEY_PURPOSE;

/** What `burnKey` accepts: a stored purpose or the virtual `XTS_AES_256_KEY`. @example const p: BurnKeyPurpose = 'XTS_AES_256_KEY'; */
export type BurnKeyPurpose = Exclude<KeyPurposeName, 'RESERVED'> | 'XTS_AES_256_KEY';

/** Purposes every C3/S3-style chip accepts. */
const _COMMON_PURPOSES: readonly BurnKeyPurpose[] = [
  'USER',
  'XTS_AES_128_KEY',
  'HMAC_DOWN_ALL',
  'HMAC_DOWN_JTAG',
  'HMAC_DOWN_DIGITAL_SIGNATURE',
  'HMAC_UP',
  'SECURE_BOOT_DIGEST0',
  'SECURE_BOOT_DIGEST1',
  'SECURE_BOOT_DIGEST2',
];

/** Purposes each chip accepts in `burnKey` (ESP32-C3 has no XTS-AES-256). @example CHIP_KEY_PURPOSES.esp32s3.includes('XTS_AES_256_KEY') // true */
export const CHIP_KEY_PURPOSES: Readonly<Record<Exclude<EfuseChip, 'esp32'>, readonly BurnKeyPurpose[]>> = Object.freeze({
  esp32c3: Object.freeze([..._COMMON_PURPOSES]),
  esp32s3: Object.freeze([..._COMMON_PURPOSES, 'XTS_AES_256_KEY', 'XTS_AES_256_KEY_1', 'XTS_AES_256_KEY_2'] as const),
});

/** The name of a KEY_PURPOSE value, or `undefined` for an unknown value. @example keyPurposeName(9) // 'SECURE_BOOT_DIGEST0' */
export function keyPurposeName(value: number): KeyPurposeName | undefined {
  for (const [name, v] of Object.entries(KEY_PURPOSE)) if (v === value) return name as KeyPurposeName;
  return undefined;
}

/** True for purposes whose key bytes espefuse reverses on burn (the XTS-AES keys). @example isReversedPurpose('HMAC_UP') // false */
export function isReversedPurpose(purpose: KeyPurposeName): boolean {
  return purpose.startsWith('XTS_AES_');
}

/** True for purposes whose key must be read-protected (XTS-AES and HMAC keys). @example isSecretPurpose('SECURE_BOOT_DIGEST0') // false */
export function isSecretPurpose(purpose: KeyPurposeName): boolean {
  return purpose.startsWith('XTS_AES_') || purpose.startsWith('HMAC_');
}

/** The secure boot digest slot (0..2) of a purpose, or null. @example digestSlotOf('SECURE_BOOT_DIGEST2') // 2 */
export function digestSlotOf(purpose: KeyPurposeName): number | null {
  const m = /^SECURE_BOOT_DIGEST([0-2])$/.exec(purpose);
  return m ? Number(m[1]) : null;
}
