export { type AtomicWriteOptions, writeFileAtomic } from './atomic-file.js';
export { FileFlash, type FileFlashOptions } from './file-flash.js';
export { nodeCrypto } from './node-crypto.js';
