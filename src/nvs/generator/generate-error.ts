import { NvsecError } from '../../errors/nvsec-error.js';
import { ESP_ERR } from '../esp-err.js';

/** Stable codes of {@link NvsGenerateError}. */
export type NvsGenerateErrorCode =
  /** The CSV text cannot be read as the generator's CSV (header, quoting, missing columns, field too large, not UTF-8). */
  | 'NVS_CSV_SYNTAX'
  /** A value does not convert with its encoding (integer syntax or range, hex, base64, fill, text). */
  | 'NVS_CSV_BAD_VALUE'
  /** The encoding column names no encoding the generator knows. */
  | 'NVS_UNKNOWN_ENCODING'
  /** A key or namespace name is longer than 15 characters. */
  | 'NVS_KEY_TOO_LONG'
  /** A key or namespace name is not plain ASCII. */
  | 'NVS_BAD_KEY'
  /** A string or blob is larger than the generator can place. */
  | 'NVS_VALUE_TOO_LONG'
  /** More than 254 namespaces. */
  | 'NVS_TOO_MANY_NAMESPACES'
  /** The data does not fit in the partition size. */
  | 'NVS_PARTITION_TOO_SMALL'
  /** The partition size is not a multiple of 4096 of at least 4096. */
  | 'NVS_BAD_SIZE'
  /** A `file` row could not be read (no reader given, or the reader failed). */
  | 'NVS_FILE_READ'
  /** A row needs cryptography (the Wi-Fi `ap.pmk_info` PBKDF2) and no provider was given. */
  | 'NVS_CRYPTO_REQUIRED'
  /** The output file name is not acceptable (it must have the `.bin` extension). */
  | 'NVS_BAD_OUTPUT';

/** Where in the CSV input an error was found. */
export interface NvsGenerateErrorContext {
  /** 1-based index of the CSV input, when several were given. */
  input?: number;
  /** 1-based physical line of the row in its CSV text. */
  line?: number;
  /** The row's key (or namespace name). */
  key?: string;
}

const ESP_ERR_OF: Partial<Record<NvsGenerateErrorCode, number>> = {
  NVS_KEY_TOO_LONG: ESP_ERR.ESP_ERR_NVS_KEY_TOO_LONG,
  NVS_VALUE_TOO_LONG: ESP_ERR.ESP_ERR_NVS_VALUE_TOO_LONG,
  NVS_PARTITION_TOO_SMALL: ESP_ERR.ESP_ERR_NVS_NOT_ENOUGH_SPACE,
  NVS_TOO_MANY_NAMESPACES: ESP_ERR.ESP_ERR_NVS_NOT_ENOUGH_SPACE,
  NVS_BAD_KEY: ESP_ERR.ESP_ERR_NVS_INVALID_NAME,
};

/**
 * A failure of the NVS partition generator (CSV → image). `code` is stable; the message names
 * the CSV row (and the input when several were given), the key, and what to do. `input`, `line`
 * and `key` repeat that location for programs.
 *
 * @example
 * try { generateNvsPartition(csv, { size: 0x3000 }); }
 * catch (e) { if (e instanceof NvsGenerateError && e.code === 'NVS_KEY_TOO_LONG') console.error(e.line); }
 */
export class NvsGenerateError extends NvsecError {
  declare readonly code: NvsGenerateErrorCode;
  /** 1-based index of the CSV input, when several were given. */
  readonly input: number | undefined;
  /** 1-based physical line of the offending row. */
  readonly line: number | undefined;
  /** Key or namespace name of the offending row. */
  readonly key: string | undefined;

  constructor(code: NvsGenerateErrorCode, message: string, context: NvsGenerateErrorContext = {}, cause?: unknown) {
    const espErr = ESP_ERR_OF[code];
    super(code, message, {
      ...(espErr === undefined ? {} : { espErr }),
      ...(cause === undefined ? {} : { cause }),
    });
    this.name = 'NvsGenerateError';
    this.input = context.input;
    this.line = context.line;
    this.key = context.key;
  }
}
