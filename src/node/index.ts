export { type AtomicWriteOptions, writeFileAtomic } from './atomic-file.js';
export { FileFlash, type FileFlashOptions } from './file-flash.js';
export { nodeCrypto } from './node-crypto.js';
export { loadNodeKeyCrypto } from './node-key-crypto.js';
export { FileSeedStore, type FileSeedStoreOptions, NV_SEED_DEFAULT_FILE } from './file-seed-store.js';
export { generateSigningKey, readSigningKey, SIGNING_SCHEMES, type SigningKey, type SigningScheme } from './signing-key.js';
export { loadEfuseFile, openEfuseFile, saveEfuseFile } from './efuse-file.js';
export { esp32FlashCryptParallel, type ParallelFlashCryptOptions } from './parallel-flash-encryption.js';
export { DIRECTORY_KEY_CHECK_FILE, DIRECTORY_NEXT_HANDLE_FILE, DirectoryObjectStore, type DirectoryObjectStoreOptions, objectFileName } from './directory-object-store.js';
export { ensureNvSeed, type NodeTokenOptions, openCryptoki, openDirectoryToken, TOKEN_NV_SEED_FILE } from './node-token.js';
export {
  openRegistry,
  openSqliteRegistry,
  parseRegistrySpec,
  type RegistrySpec,
  SQLITE_REGISTRY_APPLICATION_ID,
  SQLITE_REGISTRY_SCHEMA_VERSION,
  SqliteRegistry,
  type SqliteRegistryOptions,
  type SqliteRegistrySettings,
} from './sqlite-registry.js';
export { CA_KEY_MIN_PASSPHRASE, type CaKeyCurve, generateCaKey, readCaKey, writeCaKey } from './ca-key.js';
export {
  commitDeviceBundles,
  DEVICE_BUNDLE_FILES,
  DEVICE_BUNDLE_FORMAT,
  type DeviceBundle,
  type DeviceManifest,
  readDeviceBundle,
  removeBundleTemps,
  type StagedBundle,
  stageDeviceBundle,
  type WriteDeviceBundleOptions,
  writeDeviceBundle,
} from './device-bundle.js';
export {
  FACTORY_FILES,
  FACTORY_FORMAT,
  FACTORY_PASSPHRASE_ENV,
  type FactoryCertificateInfo,
  type FactoryManifest,
  factoryManifestFile,
  initFactory,
  type InitFactoryOptions,
  type LoadedFactory,
  loadFactory,
  nodeCertificates,
} from './factory.js';
export {
  BATCH_FILE,
  BATCH_FORMAT,
  type BatchFile,
  type BatchProgress,
  type BatchResult,
  defaultWorkers,
  deviceIds,
  provisionBatch,
  type ProvisionBatchOptions,
  readBatchFile,
  type StageMeans,
} from './provision-batch.js';
export { nodeTlsCrypto } from './node-tls-crypto.js';
export { nodeTcpTransport } from './tcp-transport.js';
export { type P11KitServer, type P11KitServerOptions, serveP11Kit } from './p11-kit-server.js';
