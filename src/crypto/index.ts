export type { CryptoProvider, HashName } from './provider.js';
export { xtsDecrypt, xtsEncrypt } from './xts.js';
