import { NvsecError } from '../../errors/nvsec-error.js';
import { CKR } from '../constants.js';

/**
 * Stable codes of {@link PalError}:
 * - `PAL_HANDLE_INVALID`: a handle this store never issued (CKR_KEY_HANDLE_INVALID, as the PAL contract says)
 * - `PAL_OBJECT_ABSENT`: a known handle whose object is not stored (CKR_OBJECT_HANDLE_INVALID)
 * - `PAL_PRIVATE_REQUIRED`: a secret default label saved with `isPrivate: false` (CKR_ATTRIBUTE_VALUE_INVALID)
 * - `PAL_STORE_FULL`: no room left for the object, or no handle left (CKR_DEVICE_MEMORY)
 * - `PAL_IO_FAILED`: the backing storage failed (CKR_FUNCTION_FAILED; `cause` holds the storage error)
 * - `PAL_OBJECT_CORRUPT`: a stored object fails its checks: torn, tampered, or moved from another label (CKR_FUNCTION_FAILED)
 * - `PAL_WRONG_KEY`: the wrapping key is not the one the store's private objects were encrypted under (CKR_FUNCTION_FAILED)
 * - `PAL_LOCKED`: a private object read or written without a wrapping key (CKR_USER_NOT_LOGGED_IN)
 * - `PAL_CLOSED`: the store was closed
 */
export type PalErrorCode =
  | 'PAL_HANDLE_INVALID'
  | 'PAL_OBJECT_ABSENT'
  | 'PAL_PRIVATE_REQUIRED'
  | 'PAL_STORE_FULL'
  | 'PAL_IO_FAILED'
  | 'PAL_OBJECT_CORRUPT'
  | 'PAL_WRONG_KEY'
  | 'PAL_LOCKED'
  | 'PAL_CLOSED';

const CKR_OF: Readonly<Record<PalErrorCode, number | undefined>> = Object.freeze({
  PAL_HANDLE_INVALID: CKR.CKR_KEY_HANDLE_INVALID,
  PAL_OBJECT_ABSENT: CKR.CKR_OBJECT_HANDLE_INVALID,
  PAL_PRIVATE_REQUIRED: CKR.CKR_ATTRIBUTE_VALUE_INVALID,
  PAL_STORE_FULL: CKR.CKR_DEVICE_MEMORY,
  PAL_IO_FAILED: CKR.CKR_FUNCTION_FAILED,
  PAL_OBJECT_CORRUPT: CKR.CKR_FUNCTION_FAILED,
  PAL_WRONG_KEY: CKR.CKR_FUNCTION_FAILED,
  PAL_LOCKED: CKR.CKR_USER_NOT_LOGGED_IN,
  PAL_CLOSED: undefined,
});

/**
 * A failure of the token's object store. `code` is one of {@link PalErrorCode}; `ckr` carries the
 * PKCS#11 return value the Cryptoki layer should report, where there is one.
 *
 * @example
 * try { store.get(h); } catch (e) { if (e instanceof PalError && e.code === 'PAL_OBJECT_ABSENT') ... }
 */
export class PalError extends NvsecError {
  declare readonly code: PalErrorCode;

  constructor(code: PalErrorCode, message: string, cause?: unknown) {
    const ckr = CKR_OF[code];
    super(code, message, ckr === undefined ? { cause } : { ckr, cause });
    this.name = 'PalError';
  }
}
