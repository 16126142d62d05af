export {
  type BlockReport,
  type DeviceVerdict,
  type DeviceVerifyReport,
  type KeyVerdict,
  type KeyVerifyReport,
  leadingValidBlocks,
  readSignatureBlocks,
  type SecureBootTrust,
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
