export {
  type BlockReport,
  type DeviceVerdict,
  type DeviceVerifyReport,
  type KeyVerdict,
  type KeyVerifyReport,
  leadingValidBlocks,
  readSignatureBlocks,
  type SecureBootTrust,
  secureBootTrust,
  type SignedImage,
  type SignOptions,
  type SignResult,
  signImage,
  splitSignedImage,
  verifyAsBootloader,
  verifyWithKey,
} from './secure-boot-v2.js';
export {
  decodeSignatureBlock,
  EMPTY_SLOT,
  encodeSignatureBlock,
  hashOfScheme,
  publicKeyDigest,
  SBV2,
  SCHEME_FAMILY,
  SCHEME_NAMES,
  type Sbv2Scheme,
  type SignatureBlock,
  schemeOfKey,
} from './signature-block.js';
export { type AddressWindow, CHIP_ID_INVALID, CHIPS, type ChipInfo, chipById, chipByName, isFlashMapped, type SegmentMemory, segmentMemory } from './app-image-chips.js';
export { APP_DESC, type AppDesc, type BootloaderDesc, decodeAppDesc, decodeBootloaderDesc } from './app-image-desc.js';
export { type AppImageHeader, decodeAppImageHeader, encodeAppImageHeader, FLASH_SIZES, IMAGE_FORMAT, SPI_MODES } from './app-image-header.js';
export {
  type AppImage,
  type AppImageProblem,
  type AppImageSegment,
  imageChecksum,
  type ParseAppImageOptions,
  parseAppImage,
  type SignatureSectorInfo,
} from './app-image.js';
export { type LoadCheckFailure, type LoadCheckName, type LoadCheckOptions, type LoadCheckResult, checkLoadable } from './app-image-check.js';
export { type ElfImageInput, type ElfSection, readElfForImage } from './app-image-elf.js';
export { type AppImageHeaderFields, type AppImageSegmentInput, type BuildAppImageOptions, buildAppImage } from './app-image-build.js';
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
export { EncryptedFlash, type EncryptedFlashOptions } from './encrypted-flash.js';
export type { FlashCipher, FlashEncryptionScheme } from './flash-cipher.js';
export { createFlashCipher, decryptFlashData, encryptFlashData, type FlashEncryptionOptions } from './flash-encryption.js';
export { Esp32FlashCipher } from './flash-encryption-esp32.js';
export { FlashEncryptionError, type FlashEncryptionErrorCode } from './flash-encryption-error.js';
export { type FlashEncryptionKey, type FlashEncryptionMode, loadFlashEncryptionKey } from './flash-encryption-key.js';
export { XtsFlashCipher } from './flash-encryption-xts.js';
export { checkFlashWrites, type FlashLayout, type FlashWrite, type FlashWriteWarning } from './flash-write-check.js';
