export { DEFAULT_OBJECTS, type DefaultObject, FIRST_DYNAMIC_HANDLE, MAX_HANDLE, MAX_LABEL_BYTES, PKCS11_LABELS, publicLabelFor } from './default-labels.js';
export { MemoryObjectStore } from './memory-object-store.js';
export { NVS_NEXT_HANDLE_KEY, NVS_OBJECT_NAMESPACE, NvsObjectStore, nvsKeyOfHandle } from './nvs-object-store.js';
export {
  decodeObjectRecord,
  encodeObjectRecord,
  OBJECT_RECORD_MAGIC,
  OBJECT_RECORD_VERSION,
  type ObjectRecord,
  objectRecordHeader,
} from './object-record.js';
export { isWrappingObjectStore, type ObjectHandle, type ObjectInfo, type ObjectStore, type SaveOptions, type StoredObject, type WrappingObjectStore } from './object-store.js';
export { PalError, type PalErrorCode } from './pal-error.js';
