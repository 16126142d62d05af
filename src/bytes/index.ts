export { crc32le } from './crc32.js';
export { bytesEqual, isFilled } from './equal.js';
export { fromHex, toHex } from './hex.js';
export { concatBytes } from './concat.js';
