export {
  type BurnKeyOptions,
  Efuse,
  type EfuseCreateOptions,
  type EfuseHardwareView,
  type EfuseSummaryRow,
  type EfuseValue,
  type EnableFlashEncryptionOptions,
  type EnableSecureBootOptions,
  type SecureBootDigest,
} from './efuse.js';
export { EfuseError, type EfuseErrorCode } from './efuse-error.js';
export {
  EFUSE_CHIPS,
  ESP32_CODING_SCHEME,
  ESP32_EFUSE_FIELDS,
  ESP32C3_EFUSE_FIELDS,
  ESP32S3_EFUSE_FIELDS,
  type EfuseChip,
  type EfuseChipLayout,
  type EfuseField,
  type EfuseFieldType,
} from './efuse-fields.js';
export { decodeEfuseImage, EFUSE_IMAGE_MAGIC, EFUSE_IMAGE_VERSION, efuseImageSize, encodeEfuseImage } from './efuse-image.js';
export { type BurnKeyPurpose, CHIP_KEY_PURPOSES, KEY_PURPOSE, type KeyPurposeName, keyPurposeName } from './efuse-key-purpose.js';
