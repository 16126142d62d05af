import { type ChipInfo, chipByName, isFlashMapped } from './app-image-chips.js';
import { APP_DESC } from './app-image-desc.js';
import { IMAGE_FORMAT } from './app-image-header.js';
import { type AppImage, _hex32 } from './app-image.js';
import { SBV2 } from './signature-block.js';

/** Names of the loader checks, in the order {@link checkLoadable} runs them. */
export type LoadCheckName =
  | 'magic'
  | 'chip-id'
  | 'chip-revision'
  | 'segment-count'
  | 'segment-length'
  | 'segment0-size'
  | 'segment-alignment'
  | 'checksum'
  | 'partition-size'
  | 'hash';

/** The first failed check: its name, a stable code and a message in the loader's terms. */
export interface LoadCheckFailure {
  check: LoadCheckName;
  code: string;
  message: string;
}

/** Result of {@link checkLoadable}. */
export interface LoadCheckResult {
  /** True when every check passed: the bootloader would load this image. */
  ok: boolean;
  /** Checks that passed, in order (the loader stops at the first failure, and so does this). */
  passed: LoadCheckName[];
  /** The failure that stopped loading, or null. */
  failure: LoadCheckFailure | null;
}

/** Options of {@link checkLoadable}. */
export interface LoadCheckOptions {
  /** The chip that boots the image (name such as `esp32c3`, or a chip entry). */
  chip: string | ChipInfo;
  /** The chip's revision as major*100 + minor (e.g. 301 for v3.1); without it the range is not checked. */
  chipRevision?: number;
  /** Size of the partition the image sits in; without it the size is not checked. */
  partitionSize?: number;
  /** True for a second-stage bootloader image (no segment-0 size or max-revision rule). Default false. */
  bootloader?: boolean;
  /** MMU page size; default the one the image was parsed with. */
  mmuPageSize?: number;
}


/**
 * Runs the ESP-IDF bootloader's image-load checks (spec §1.5), in its order, on a parsed image:
 * magic, chip id and revision range, segment count, per segment (length multiple of 4 and below
 * 16 MiB, segment 0 at least 256 bytes for apps, flash-mapped data at the load address's offset
 * in the MMU page), checksum, image (and signature sector) within the partition, appended
 * SHA-256. Stops at the first failure, as the loader does. Which load addresses are allowed (RAM
 * regions the bootloader may write) is not modelled, and on chips whose flash windows nvsec lacks
 * (CHIPS entries with irom null) the page-alignment check cannot run. Secure Boot signature checks
 * are separate.
 *
 * @throws {RangeError} when options.chip names no known chip
 * @example
 * const r = checkLoadable(parseAppImage(nodeCrypto, bytes), { chip: 'esp32c3', chipRevision: 4 });
 * if (!r.ok) console.error(r.failure.message);
 */
export function checkLoadable(image: AppImage, options: LoadCheckOptions): LoadCheckResult {
  const chip = typeof options.chip === 'string' ? chipByName(options.chip) : options.chip;
  const passed: LoadCheckName[] = [];
  const fail = (check: LoadCheckName, code: string, message: string): LoadCheckResult => ({ ok: false, passed, failure: { check, code, message } });
  const h = image.header;

  if (h.magic !== IMAGE_FORMAT.ESP_IMAGE_MAGIC) return fail('magic', 'IMAGE_BAD_MAGIC', `bad image magic 0x${h.magic.toString(16)}, expected 0xe9`);
  passed.push('magic');

  if (h.chipId !== chip.chipId) {
    return fail(
      'chip-id',
      'IMAGE_CHIP_MISMATCH',
      `mismatch chip ID, expected ${chip.chipId} (${chip.displayName}), found ${h.chipId}${image.chip ? ` (${image.chip.displayName})` : ''}: the image was built for another chip`,
    );
  }
  passed.push('chip-id');

  if (options.chipRevision !== undefined) {
    const rev = options.chipRevision;
    if (h.minChipRevFull !== 0 && rev < h.minChipRevFull) {
      return fail('chip-revision', 'IMAGE_CHIP_REV_TOO_LOW', `image requires chip rev >= ${_rev(h.minChipRevFull)}, but chip is ${_rev(rev)}`);
    }
    if (!options.bootloader && h.maxChipRevFull !== IMAGE_FORMAT.MAX_CHIP_REV_FULL_DEFAULT && rev > h.maxChipRevFull) {
      return fail('chip-revision', 'IMAGE_CHIP_REV_TOO_HIGH', `image requires chip rev <= ${_rev(h.maxChipRevFull)}, but chip is ${_rev(rev)}`);
    }
    passed.push('chip-revision');
  }

  if (h.segmentCount > IMAGE_FORMAT.MAX_SEGMENTS) {
    return fail('segment-count', 'IMAGE_TOO_MANY_SEGMENTS', `image has ${h.segmentCount} segments; at most ${IMAGE_FORMAT.MAX_SEGMENTS} can be loaded`);
  }
  passed.push('segment-count');

  const pageSize = options.mmuPageSize ?? image.mmuPageSize;
  for (const s of image.segments) {
    if (s.length % 4 !== 0 || s.length >= IMAGE_FORMAT.MAX_SEGMENT_LEN) {
      return fail(
        'segment-length',
        'IMAGE_SEGMENT_LENGTH',
        `segment ${s.index} (load address 0x${_hex32(s.loadAddr)}) has invalid length ${s.length}: it must be a multiple of 4 and below 16 MiB`,
      );
    }
    if (s.index === 0 && !options.bootloader && s.length < APP_DESC.SIZE) {
      return fail(
        'segment0-size',
        'IMAGE_SEGMENT0_TOO_SHORT',
        `segment 0 is ${s.length} bytes; an app's first segment must hold the ${APP_DESC.SIZE}-byte esp_app_desc_t`,
      );
    }
    if (isFlashMapped(chip, s.loadAddr) && s.dataOffset % pageSize !== s.loadAddr % pageSize) {
      return fail(
        'segment-alignment',
        'IMAGE_SEGMENT_MISALIGNED',
        `segment ${s.index} load address 0x${_hex32(s.loadAddr)}, doesn't match data 0x${_hex32(s.dataOffset)}: flash-mapped data must sit at the same offset within a ${pageSize / 1024} KiB MMU page; rebuild the image with esptool or nvsec`,
      );
    }
  }
  passed.push('segment-length');
  if (!options.bootloader) passed.push('segment0-size');
  passed.push('segment-alignment');

  if (!image.checksum.valid) {
    return fail(
      'checksum',
      'IMAGE_CHECKSUM_MISMATCH',
      `checksum failed: calculated 0x${image.checksum.calculated.toString(16)}, read 0x${image.checksum.stored.toString(16)}; the image is corrupt`,
    );
  }
  passed.push('checksum');

  if (options.partitionSize !== undefined) {
    const withSig = image.signatureSector ? image.signatureSector.offset + SBV2.SECTOR_SIZE : image.imageLength;
    if (withSig > options.partitionSize) {
      return fail(
        'partition-size',
        'IMAGE_TOO_BIG',
        `image${image.signatureSector ? ' and signature sector' : ''} (${withSig} bytes) do not fit the ${options.partitionSize}-byte partition`,
      );
    }
    passed.push('partition-size');
  }

  if (h.hashAppended === 1) {
    if (!image.sha256?.valid) return fail('hash', 'IMAGE_HASH_MISMATCH', 'image hash failed: the appended SHA-256 does not match, the image is corrupt');
    passed.push('hash');
  }
  return { ok: true, passed, failure: null };
}

/** `v<major>.<minor>` of a major*100 + minor revision. */
function _rev(full: number): string {
  return `v${Math.floor(full / 100)}.${full % 100}`;
}
