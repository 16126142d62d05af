export type { AesEcb, CryptoProvider, HashName, HmacKey, IncrementalHash } from './provider.js';
export { XtsCipher, xtsDecrypt, xtsEncrypt } from './xts.js';
