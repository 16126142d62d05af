import { NvsecError } from '../../errors/nvsec-error.js';

/**
 * The PKCS#11 return values the storage layer reports, with their names and numbers from the
 * PKCS#11 2.40 header (`pkcs11t.h`). The Cryptoki layer owns the full CKR table; these are the
 * ones a PAL failure maps to.
 */
export const PAL_CKR = Object.freeze({
  CKR_FUNCTION_FAILED: 0x6,
  CKR_ATTRIBUTE_VALUE_INVALID: 0x13,
  CKR_DEVICE_MEMORY: 0x31,
  CKR_KEY_HANDLE_INVALID: 0x60,
  CKR_OBJECT_HANDLE_INVALID: 0x82,
  CKR_USER_NOT_LOGGED_IN: 0x101,
});

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
  PAL_HANDLE_INVALID: PAL_CKR.CKR_KEY_HANDLE_INVALID,
  PAL_OBJECT_ABSENT: PAL_CKR.CKR_OBJECT_HANDLE_INVALID,
  PAL_PRIVATE_REQUIRED: PAL_CKR.CKR_ATTRIBUTE_VALUE_INVALID,
  PAL_STORE_FULL: PAL_CKR.CKR_DEVICE_MEMORY,
  PAL_IO_FAILED: PAL_CKR.CKR_FUNCTION_FAILED,
  PAL_OBJECT_CORRUPT: PAL_CKR.CKR_FUNCTION_FAILED,
  PAL_WRONG_KEY: PAL_CKR.CKR_FUNCTION_FAILED,
  PAL_LOCKED: PAL_CKR.CKR_USER_NOT_LOGGED_IN,
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
