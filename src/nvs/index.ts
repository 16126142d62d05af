export { ESP_ERR, type EspErrName, espErrName, NvsError } from './esp-err.js';
export {
  BLOB_MAX_TOTAL_SIZE,
  CHUNK_MAX_SIZE,
  ENTRY_COUNT,
  ENTRY_SIZE,
  EntryState,
  FORMAT_VERSION,
  ItemType,
  MAX_KEY_LENGTH,
  PAGE_SIZE,
  PageState,
  VerOffset,
} from './format/constants.js';
export { type FixedValue, typeName } from './format/entry.js';
export { checkPartitionSize, generateNvsPartition, type GenerateOptions, type GenerateResult } from './generator/generate.js';
export {
  NvsGenerateError,
  type NvsGenerateErrorCode,
  type NvsGenerateErrorContext,
} from './generator/generate-error.js';
export { type NvsCsvRow, type ParseCsvOptions, parseCsv } from './generator/csv.js';
export {
  type NvsDump,
  type NvsDumpProblem,
  type NvsDumpValue,
  type ReadNvsOptions,
  readNvsPartition,
} from './inspect.js';
export { NvsHandle, type NvsOpenMode, type NvsValueType, TYPE_CODES, TYPE_NAMES } from './store/handle.js';
export type { LoadNote } from './store/page.js';
export {
  type NvsEntryInfo,
  type NvsInitOptions,
  type NvsItemLocation,
  type NvsPageInfo,
  type NvsStats,
  NvsStorage,
} from './store/storage.js';
export { diagnoseNvsDecryption, type NvsDecryptionDiagnosis } from './crypto/diagnose.js';
export { NvsEntryCipher } from './crypto/entry-cipher.js';
export { decryptNvsImage, encryptNvsImage } from './crypto/image-cipher.js';
export {
  buildKeysPartition,
  deriveNvsKeysFromHmac,
  generateNvsKeys,
  KEYS_PARTITION_SIZE,
  type NvsKeys,
  parseKeysPartition,
} from './crypto/keys-partition.js';
