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
