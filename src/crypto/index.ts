export { type AesEcb, type CryptoProvider, type DigestName, HASH_LENGTH, type HashName, type HmacKey, hashLength, type IncrementalHash } from './provider.js';
export { XtsCipher, xtsDecrypt, xtsEncrypt } from './xts.js';
export type { EcCurve, EcPublicKey, PublicKey, RsaPublicKey } from './public-key.js';
export type { Signer } from './signer.js';
export {
  type KeyCrypto,
  type PreparedPrivateKey,
  type PreparedPublicKey,
  type PrivateKeyMaterial,
  type PublicKeyMaterial,
  type RsaPrivateComponents,
  type RsaPublicComponents,
  type SignatureScheme,
  TOKEN_CURVE_BYTES,
  type TokenCurve,
} from './key-crypto.js';
export { aesCmac } from './cmac.js';
export { DIGEST_INFO_PREFIXES, digestInfo, digestInfoHash } from './digest-info.js';
export { ecdsaDerToRaw, ecdsaRawToDer } from './ecdsa-signature.js';
