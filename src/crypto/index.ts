export type { AesEcb, CryptoProvider, DigestName, HashName, HmacKey, IncrementalHash } from './provider.js';
export { XtsCipher, xtsDecrypt, xtsEncrypt } from './xts.js';
export type { EcCurve, EcPublicKey, PublicKey, RsaPublicKey } from './public-key.js';
export type { Signer } from './signer.js';
