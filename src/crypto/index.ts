export type { AesEcb, CryptoProvider, DigestName, HashName, HmacKey, IncrementalHash } from './provider.js';
export { XtsCipher, xtsDecrypt, xtsEncrypt } from './xts.js';
