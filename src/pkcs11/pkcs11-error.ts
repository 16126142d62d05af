import { NvsecError } from '../errors/nvsec-error.js';
import { ckrDescription } from './ckr-description.js';
import { ckrName } from './constant-name.js';

/**
 * A Cryptoki failure. `code` is the CKR name (`'CKR_PIN_INCORRECT'`, or `'CKR_VENDOR_DEFINED+0x…'` /
 * 8-digit hex for values 2.40 does not name) and `ckr` its number, so code ported from C or pkcs11js
 * can compare either. The message says what happened and what to do and ends with the name and hex
 * value, e.g. `C_Login: the PIN is wrong ... (CKR_PIN_INCORRECT 0xA0)`.
 *
 * @throws RangeError when `rv` is `CKR_OK` (0): success is not an error; TypeError/RangeError when
 *   `rv` is not a CK_ULONG integer.
 * @example
 * throw new Pkcs11Error(CKR.CKR_USER_NOT_LOGGED_IN, 'C_Sign: the private key is private; call C_Login first');
 * try { ... } catch (e) { if (e instanceof Pkcs11Error && e.ckr === CKR.CKR_PIN_INCORRECT) ... }
 */
export class Pkcs11Error extends NvsecError {
  declare readonly ckr: number;

  constructor(rv: number, message: string, options: { cause?: unknown } = {}) {
    const name = ckrName(rv);
    if (rv === 0) throw new RangeError('rv must not be CKR_OK (0): a successful return value is not an error');
    super(name, `${message} (${name} 0x${rv.toString(16).toUpperCase()})`, { ckr: rv, cause: options.cause });
    this.name = 'Pkcs11Error';
  }
}

/**
 * A {@link Pkcs11Error} for `rv` whose message is the standard description of that value
 * ({@link ckrDescription}), prefixed by `context` (typically the function name and the object at
 * stake) when given.
 *
 * @throws RangeError when `rv` is `CKR_OK`; TypeError/RangeError when `rv` is not a CK_ULONG integer.
 * @example
 * throw pkcs11Error(CKR.CKR_OPERATION_ACTIVE, 'C_SignInit');
 * // Pkcs11Error: C_SignInit: another operation is already active in this session; finish or cancel it first (CKR_OPERATION_ACTIVE 0x90)
 */
export function pkcs11Error(rv: number, context?: string, options: { cause?: unknown } = {}): Pkcs11Error {
  const description = ckrDescription(rv);
  return new Pkcs11Error(rv, context === undefined || context === '' ? description : `${context}: ${description}`, options);
}
