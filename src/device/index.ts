export {
  type BootDeviceOptions,
  type BootedDevice,
  type BootReport,
  bootDevice,
  DEVICE_NVS,
  type DeviceIdentity,
  IDENTITY_CERT_LABELS,
  type IdentityCertificate,
} from './boot.js';
export { BOOT_STAGES, type BootStage, DeviceBootError } from './device-boot-error.js';
export { type CertificateFacts, certificateFacts, certificatePublicKey, formatName } from './certificate-facts.js';
export { type ConnectDeviceOptions, connectDevice, DEVICE_TLS_KEY_LABEL, deviceClientChain } from './connect.js';
export { buildDemoApp, type DemoAppOptions } from './demo-app.js';
export { buildDeviceFlash, type BuildDeviceFlashOptions, deviceEfuse, type DeviceEfuseOptions, firstAppPartition, reprogramApp } from './device-image.js';
export { DEFAULT_FLASH_SIZE, DEFAULT_PARTITION_CSV, type DeviceFlashLayout, defaultFlashLayout, flashLayoutFromCsv, partitionNamed } from './flash-layout.js';
