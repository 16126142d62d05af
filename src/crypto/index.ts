export type { AesEcb, CryptoProvider, HashName } from './provider.js';
export { XtsCipher, xtsDecrypt, xtsEncrypt } from './xts.js';
