import { CKR, type CkrName } from './constants.js';
import { ckrName } from './constant-name.js';

/**
 * What each 2.40 return value means and what the caller can do about it, in one sentence each
 * (wording ours, meaning from the PKCS#11 2.40 base specification, section 5.1).
 */
const _DESCRIPTIONS: Readonly<Partial<Record<CkrName, string>>> = Object.freeze({
  CKR_OK: 'the function succeeded',
  CKR_CANCEL: 'the application callback asked to cancel the function; call it again if that was not intended',
  CKR_HOST_MEMORY: 'the host ran out of memory; free memory or reduce the request size and retry',
  CKR_SLOT_ID_INVALID: 'no slot has this ID; take the ID from C_GetSlotList',
  CKR_GENERAL_ERROR: 'the token hit an unrecoverable error; finalize, initialize again and check the token storage',
  CKR_FUNCTION_FAILED: 'the function could not complete; the token state is unchanged, check the cause and retry',
  CKR_ARGUMENTS_BAD: 'an argument is missing or malformed (e.g. a null buffer or a zero length); check the call',
  CKR_NO_EVENT: 'no slot event is pending; poll again later or wait without CKF_DONT_BLOCK',
  CKR_NEED_TO_CREATE_THREADS: 'the library needs to create threads but the application forbade it; allow OS threads in C_Initialize',
  CKR_CANT_LOCK: 'the requested locking is not available; pass CKF_OS_LOCKING_OK or no locking options',
  CKR_ATTRIBUTE_READ_ONLY: 'the attribute cannot be set or changed here; remove it from the template',
  CKR_ATTRIBUTE_SENSITIVE: 'the attribute value is sensitive or unextractable and cannot be revealed',
  CKR_ATTRIBUTE_TYPE_INVALID: 'the object has no attribute of this type; check the attribute type and the object class',
  CKR_ATTRIBUTE_VALUE_INVALID: 'an attribute value is not valid for this attribute or object class; fix the template value',
  CKR_ACTION_PROHIBITED: 'the object or token policy forbids this action (e.g. CKA_COPYABLE, CKA_DESTROYABLE or CKA_MODIFIABLE false)',
  CKR_DATA_INVALID: 'the input data is not valid for this mechanism; check its encoding',
  CKR_DATA_LEN_RANGE: 'the input data has a length this mechanism does not accept; check the expected size',
  CKR_DEVICE_ERROR: 'the token or its storage failed; check the storage backend and retry',
  CKR_DEVICE_MEMORY: 'the token has no room left; delete objects you no longer need',
  CKR_DEVICE_REMOVED: 'the token was removed during the function; reinsert or reopen it and retry',
  CKR_ENCRYPTED_DATA_INVALID: 'the ciphertext is not valid for this mechanism; check the key and the ciphertext',
  CKR_ENCRYPTED_DATA_LEN_RANGE: 'the ciphertext has a length this mechanism does not accept',
  CKR_FUNCTION_CANCELED: 'the function was canceled while it ran',
  CKR_FUNCTION_NOT_PARALLEL: 'no function is running in parallel in this session (legacy C_GetFunctionStatus/C_CancelFunction)',
  CKR_FUNCTION_NOT_SUPPORTED: 'this token does not implement the function; use another function or token',
  CKR_KEY_HANDLE_INVALID: 'no key has this handle in this session; find the key again',
  CKR_KEY_SIZE_RANGE: 'the key size is outside what the mechanism supports; see C_GetMechanismInfo for the range',
  CKR_KEY_TYPE_INCONSISTENT: 'the key type does not fit the mechanism (e.g. an RSA key for CKM_ECDSA, or a public key to sign)',
  CKR_KEY_NOT_NEEDED: 'this operation takes no key; call it without one',
  CKR_KEY_CHANGED: 'the key used by the saved operation state changed',
  CKR_KEY_NEEDED: 'the saved operation state needs its key supplied again',
  CKR_KEY_INDIGESTIBLE: 'the key value cannot be digested (C_DigestKey)',
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'the key attributes forbid this use (e.g. CKA_SIGN false); use a key created for it',
  CKR_KEY_NOT_WRAPPABLE: 'the key cannot be wrapped with this wrapping key or mechanism',
  CKR_KEY_UNEXTRACTABLE: 'the key is unextractable (CKA_EXTRACTABLE false) and cannot leave the token',
  CKR_MECHANISM_INVALID: 'the token does not support this mechanism for this function; see C_GetMechanismList',
  CKR_MECHANISM_PARAM_INVALID: 'the mechanism parameter is missing or malformed; check the parameter structure',
  CKR_OBJECT_HANDLE_INVALID: 'no object has this handle (it was destroyed or belongs to a closed session); find it again',
  CKR_OPERATION_ACTIVE: 'another operation is already active in this session; finish or cancel it first',
  CKR_OPERATION_NOT_INITIALIZED: 'no operation of this kind is active in the session; call the matching *Init function first',
  CKR_PIN_INCORRECT: 'the PIN is wrong and the retry counter went down; check the PIN before the token locks',
  CKR_PIN_INVALID: 'the new PIN contains characters the token does not accept',
  CKR_PIN_LEN_RANGE: 'the PIN is shorter or longer than the token accepts; see ulMinPinLen/ulMaxPinLen in C_GetTokenInfo',
  CKR_PIN_EXPIRED: 'the PIN has expired; set a new one with C_SetPIN',
  CKR_PIN_LOCKED: 'the PIN is locked after too many wrong tries; the security officer must set a new user PIN (C_InitPIN)',
  CKR_SESSION_CLOSED: 'the session was closed while the function ran',
  CKR_SESSION_COUNT: 'the token has no free session; close sessions you no longer use',
  CKR_SESSION_HANDLE_INVALID: 'no open session has this handle; open a session first',
  CKR_SESSION_PARALLEL_NOT_SUPPORTED: 'parallel sessions do not exist; always pass CKF_SERIAL_SESSION to C_OpenSession',
  CKR_SESSION_READ_ONLY: 'the session is read-only; open it with CKF_RW_SESSION to change token objects',
  CKR_SESSION_EXISTS: 'sessions are open, so the token cannot be initialized; close them first',
  CKR_SESSION_READ_ONLY_EXISTS: 'a read-only session is open, so the security officer cannot log in; close it first',
  CKR_SESSION_READ_WRITE_SO_EXISTS: 'the security officer is logged in on a R/W session, so a read-only session cannot open',
  CKR_SIGNATURE_INVALID: 'the signature does not verify with this key and data',
  CKR_SIGNATURE_LEN_RANGE: 'the signature has the wrong length for this key and mechanism',
  CKR_TEMPLATE_INCOMPLETE: 'the template lacks an attribute this object or key needs; add it',
  CKR_TEMPLATE_INCONSISTENT: 'the template has attributes that contradict each other or the mechanism; fix the template',
  CKR_TOKEN_NOT_PRESENT: 'no token is in the slot; insert or create the token',
  CKR_TOKEN_NOT_RECOGNIZED: 'the slot holds something that is not a token this library understands',
  CKR_TOKEN_WRITE_PROTECTED: 'the token is write-protected; nothing on it can be changed',
  CKR_UNWRAPPING_KEY_HANDLE_INVALID: 'no key has the unwrapping key handle',
  CKR_UNWRAPPING_KEY_SIZE_RANGE: 'the unwrapping key size is outside what the mechanism supports',
  CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT: 'the unwrapping key type does not fit the mechanism',
  CKR_USER_ALREADY_LOGGED_IN: 'this user is already logged in; no need to log in again',
  CKR_USER_NOT_LOGGED_IN: 'this needs a logged-in user; call C_Login first',
  CKR_USER_PIN_NOT_INITIALIZED: 'the user PIN has not been set; the security officer must call C_InitPIN',
  CKR_USER_TYPE_INVALID: 'the user type is not CKU_SO, CKU_USER or CKU_CONTEXT_SPECIFIC',
  CKR_USER_ANOTHER_ALREADY_LOGGED_IN: 'another user is logged in; log out first',
  CKR_USER_TOO_MANY_TYPES: 'too many distinct users are logged in at once; log one out',
  CKR_WRAPPED_KEY_INVALID: 'the wrapped key is not valid; check the wrapping key and the blob',
  CKR_WRAPPED_KEY_LEN_RANGE: 'the wrapped key has a length the mechanism does not accept',
  CKR_WRAPPING_KEY_HANDLE_INVALID: 'no key has the wrapping key handle',
  CKR_WRAPPING_KEY_SIZE_RANGE: 'the wrapping key size is outside what the mechanism supports',
  CKR_WRAPPING_KEY_TYPE_INCONSISTENT: 'the wrapping key type does not fit the mechanism',
  CKR_RANDOM_SEED_NOT_SUPPORTED: 'the token random generator does not take seed material',
  CKR_RANDOM_NO_RNG: 'the token has no random number generator',
  CKR_DOMAIN_PARAMS_INVALID: 'the domain parameters (e.g. CKA_EC_PARAMS) are invalid or not supported',
  CKR_CURVE_NOT_SUPPORTED: 'the token does not support this elliptic curve; use P-256 or another listed curve',
  CKR_BUFFER_TOO_SMALL: 'the output buffer is too small; the length needed was returned, call again with a buffer that large',
  CKR_SAVED_STATE_INVALID: 'the saved operation state is corrupt or from another session',
  CKR_INFORMATION_SENSITIVE: 'the information is sensitive and cannot be returned',
  CKR_STATE_UNSAVEABLE: 'the operation state cannot be saved',
  CKR_CRYPTOKI_NOT_INITIALIZED: 'the library is not initialized; call C_Initialize first',
  CKR_CRYPTOKI_ALREADY_INITIALIZED: 'the library is already initialized; call C_Finalize before initializing again',
  CKR_MUTEX_BAD: 'the mutex object passed to a locking callback is invalid',
  CKR_MUTEX_NOT_LOCKED: 'the mutex to unlock was not locked',
  CKR_NEW_PIN_MODE: 'the token wants a new PIN value set (OTP tokens)',
  CKR_NEXT_OTP: 'the token wants the next OTP value (OTP tokens)',
  CKR_EXCEEDED_MAX_ITERATIONS: 'a key generation step gave up after the maximum number of iterations; retry',
  CKR_FIPS_SELF_TEST_FAILED: 'a FIPS self-test failed; the token is unusable until it passes',
  CKR_LIBRARY_LOAD_FAILED: 'a library the token depends on could not be loaded',
  CKR_PIN_TOO_WEAK: 'the new PIN is too weak for the token policy; choose a stronger PIN',
  CKR_PUBLIC_KEY_INVALID: 'the public key fails the token validity checks',
  CKR_FUNCTION_REJECTED: 'the user or an external policy rejected the signature request',
});

/**
 * What a `CK_RV` means and what to do about it, as one lower-case sentence for error messages,
 * e.g. for 0xA0: "the PIN is wrong and the retry counter went down; check the PIN before the token locks".
 * Vendor-defined and unknown values get a generic sentence that names them.
 *
 * @throws TypeError when `rv` is not an integer; RangeError when it is outside 0..0xFFFFFFFF.
 * @example
 * ckrDescription(CKR.CKR_USER_NOT_LOGGED_IN); // 'this needs a logged-in user; call C_Login first'
 */
export function ckrDescription(rv: number): string {
  const name = ckrName(rv);
  const known = Object.hasOwn(CKR, name) ? _DESCRIPTIONS[name as CkrName] : undefined;
  if (known !== undefined) return known;
  return `the token returned ${name}, a value PKCS#11 2.40 leaves to vendors or does not define; see the token vendor's documentation`;
}
