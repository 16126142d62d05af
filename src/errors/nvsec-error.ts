/** Options every nvsec error may carry besides its message. */
export interface NvsecErrorOptions {
  /** ESP-IDF `esp_err_t` value where the failure has one (e.g. 0x1102 for ESP_ERR_NVS_NOT_FOUND). */
  espErr?: number;
  /** PKCS#11 `CK_RV` value where the failure has one. */
  ckr?: number;
  /** The error this one wraps. */
  cause?: unknown;
}

/**
 * Base class of every domain error nvsec throws. `code` is a stable string to branch on
 * (for NVS errors it is the ESP-IDF name, e.g. `ESP_ERR_NVS_NOT_FOUND`); the message says what
 * happened and what to do. Wrong argument types or lengths throw `TypeError`/`RangeError` instead.
 */
export class NvsecError extends Error {
  readonly code: string;
  readonly espErr: number | undefined;
  readonly ckr: number | undefined;

  constructor(code: string, message: string, options: NvsecErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NvsecError';
    this.code = code;
    this.espErr = options.espErr;
    this.ckr = options.ckr;
  }
}
