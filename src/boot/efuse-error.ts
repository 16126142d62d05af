import { NvsecError } from '../errors/nvsec-error.js';

/** Stable codes of {@link EfuseError}. @example const c: EfuseErrorCode = 'EFUSE_WRITE_PROTECTED'; */
export type EfuseErrorCode =
  /** A burn would turn a 1 bit back into 0: eFuses only go 0 -> 1. */
  | 'EFUSE_CANNOT_CLEAR'
  /** The field is write-protected by its WR_DIS bit. */
  | 'EFUSE_WRITE_PROTECTED'
  /** The field has no WR_DIS/RD_DIS bit, so it cannot be protected that way. */
  | 'EFUSE_NOT_PROTECTABLE'
  /** No field, block or key purpose of that name on this chip. */
  | 'EFUSE_UNKNOWN_NAME'
  /** A key block (or its KEY_PURPOSE) already holds data. */
  | 'EFUSE_KEY_BLOCK_NOT_EMPTY'
  /** The key purpose cannot be burned on this chip or in this way. */
  | 'EFUSE_BAD_PURPOSE'
  /** Another key block already has a purpose that must be unique. */
  | 'EFUSE_PURPOSE_IN_USE'
  /** The operation needs a key or digest that is not burned. */
  | 'EFUSE_NO_KEY'
  /** The operation does not exist on this chip or coding scheme. */
  | 'EFUSE_UNSUPPORTED'
  /** Every bit of the CRYPT_CNT counter is already burned. */
  | 'EFUSE_CRYPT_CNT_EXHAUSTED'
  /** A serialized eFuse image is truncated, corrupt or of an unknown version. */
  | 'EFUSE_IMAGE_CORRUPT'
  /** The model was destroyed (its key material wiped). */
  | 'EFUSE_DESTROYED';

/**
 * A burn or read the eFuse controller (or espefuse) would refuse, or a corrupt saved eFuse image.
 *
 * @example
 * try { efuse.burn('SPI_BOOT_CRYPT_CNT', 0); } catch (e) { if (e instanceof EfuseError && e.code === 'EFUSE_CANNOT_CLEAR') { … } }
 */
export class EfuseError extends NvsecError {
  override readonly code: EfuseErrorCode;

  constructor(code: EfuseErrorCode, message: string) {
    super(code, message);
    this.name = 'EfuseError';
    this.code = code;
  }
}
