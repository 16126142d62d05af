import { NvsecError } from '../errors/nvsec-error.js';

/**
 * ESP-IDF error codes used by NVS, with the reference names (grep-able). Values from
 * `esp_err.h` / `nvs.h`; ESP_ERR_NVS_BASE = 0x1100.
 */
export const ESP_ERR = Object.freeze({
  ESP_OK: 0,
  ESP_FAIL: -1,
  ESP_ERR_NO_MEM: 0x101,
  ESP_ERR_INVALID_ARG: 0x102,
  ESP_ERR_INVALID_STATE: 0x103,
  ESP_ERR_INVALID_SIZE: 0x104,
  ESP_ERR_NOT_SUPPORTED: 0x106,
  ESP_ERR_NOT_ALLOWED: 0x10d,
  ESP_ERR_NVS_NOT_INITIALIZED: 0x1101,
  ESP_ERR_NVS_NOT_FOUND: 0x1102,
  ESP_ERR_NVS_TYPE_MISMATCH: 0x1103,
  ESP_ERR_NVS_READ_ONLY: 0x1104,
  ESP_ERR_NVS_NOT_ENOUGH_SPACE: 0x1105,
  ESP_ERR_NVS_INVALID_NAME: 0x1106,
  ESP_ERR_NVS_INVALID_HANDLE: 0x1107,
  ESP_ERR_NVS_REMOVE_FAILED: 0x1108,
  ESP_ERR_NVS_KEY_TOO_LONG: 0x1109,
  ESP_ERR_NVS_PAGE_FULL: 0x110a,
  ESP_ERR_NVS_INVALID_STATE: 0x110b,
  ESP_ERR_NVS_INVALID_LENGTH: 0x110c,
  ESP_ERR_NVS_NO_FREE_PAGES: 0x110d,
  ESP_ERR_NVS_VALUE_TOO_LONG: 0x110e,
  ESP_ERR_NVS_PART_NOT_FOUND: 0x110f,
  ESP_ERR_NVS_NEW_VERSION_FOUND: 0x1110,
  ESP_ERR_NVS_XTS_ENCR_FAILED: 0x1111,
  ESP_ERR_NVS_XTS_DECR_FAILED: 0x1112,
  ESP_ERR_NVS_XTS_CFG_FAILED: 0x1113,
  ESP_ERR_NVS_XTS_CFG_NOT_FOUND: 0x1114,
  ESP_ERR_NVS_ENCR_NOT_SUPPORTED: 0x1115,
  ESP_ERR_NVS_KEYS_NOT_INITIALIZED: 0x1116,
  ESP_ERR_NVS_CORRUPT_KEY_PART: 0x1117,
  ESP_ERR_NVS_CONTENT_DIFFERS: 0x1118,
  ESP_ERR_NVS_WRONG_ENCRYPTION: 0x1119,
  ESP_ERR_FLASH_OP_FAIL: 0x6001,
});

/** Name of an ESP-IDF error code (e.g. `ESP_ERR_NVS_NOT_FOUND`). */
export type EspErrName = keyof typeof ESP_ERR;

/** The reference name of an `esp_err_t` value, or its hex when unknown. */
export function espErrName(code: number): string {
  for (const [name, value] of Object.entries(ESP_ERR)) if (value === code) return name;
  return `0x${code.toString(16)}`;
}

/**
 * An NVS failure. `code` is the ESP-IDF name and `espErr` its number, so code ported from C can
 * compare either; the message says what happened and what to do.
 *
 * @example
 * try { handle.getU8('missing'); } catch (e) { if (e instanceof NvsError && e.code === 'ESP_ERR_NVS_NOT_FOUND') ... }
 */
export class NvsError extends NvsecError {
  declare readonly code: EspErrName;

  constructor(name: EspErrName, message: string, cause?: unknown) {
    super(name, `${message} (${name} 0x${ESP_ERR[name].toString(16)})`, { espErr: ESP_ERR[name], cause });
    this.name = 'NvsError';
  }
}
