export {
  ALIGNMENT,
  APP_TYPE,
  BOOTLOADER_TYPE,
  DATA_TYPE,
  FLAGS,
  FLASH_SIZES,
  MAX_PARTITION_LENGTH,
  MD5_PARTITION_BEGIN,
  MIN_PARTITION_SUBTYPE_APP_OTA,
  MIN_PARTITION_SUBTYPE_APP_TEE,
  NUM_PARTITION_SUBTYPE_APP_OTA,
  NUM_PARTITION_SUBTYPE_APP_TEE,
  NVS_RW_MIN_PARTITION_SIZE,
  offsetAlignment,
  OTADATA_SIZE,
  PARTITION_ENTRY_SIZE,
  PARTITION_MAGIC,
  PARTITION_NAME_SIZE,
  PARTITION_TABLE_OFFSET,
  PARTITION_TABLE_SIZE,
  PARTITION_TABLE_TYPE,
  type SecureBootVersion,
  sizeAlignment,
  SUBTYPES,
  TYPES,
} from './constants.js';
export {
  decodePartitionTable,
  type DecodedPartitionTable,
  encodePartitionTable,
  isBinaryPartitionTable,
  type PartitionBinaryOptions,
} from './binary.js';
export { type ConvertedPartitionTable, convertPartitionTable, type ConvertPartitionTableOptions } from './convert.js';
export { parsePartitionCsv, type ParsePartitionCsvOptions } from './csv.js';
export { type ExtraSubtype, parseExtraSubtypes, type SubtypeTable, subtypeTable } from './extra-subtypes.js';
export { isFlashEncrypted } from './is-flash-encrypted.js';
export { NO_FLAGS, type PartitionEntry, type PartitionFlags } from './partition-entry.js';
export { PartitionTableError, type PartitionTableErrorCode } from './partition-table-error.js';
export { type PartitionCsvOptions, partitionEntryToCsv, partitionTableToCsv } from './to-csv.js';
export {
  partitionTableEnd,
  verifyPartitionTable,
  verifyPartitionTableFits,
  type VerifyPartitionTableOptions,
} from './verify.js';
