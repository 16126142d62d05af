export * from './constants.js';
export {
  ckaName,
  ckcName,
  ckdName,
  ckgName,
  ckhName,
  ckkName,
  ckmName,
  ckoName,
  ckpName,
  ckrName,
  cksName,
  ckuName,
  constantName,
  flagNames,
  type Pkcs11ConstantTable,
} from './constant-name.js';
export { ckrDescription } from './ckr-description.js';
export { Pkcs11Error, pkcs11Error } from './pkcs11-error.js';
export { ATTRIBUTE_VALUE_TYPES, attributeValueType, type AttributeValueType } from './attribute-types.js';
export * from './pal/index.js';
export {
  type Attribute,
  type AttributeResult,
  type Callback,
  Cryptoki,
  type CryptokiMechanism,
  type CryptokiOptions,
  type Handle,
  type KeyPair,
  type Pkcs11jsErrorClass,
} from './cryptoki.js';
export {
  type AttributeAnswer,
  type AttributeRequest,
  type Mechanism,
  type Output,
  type RsaPssParams,
  type SessionInfo,
  Token,
  TOKEN_IDENTITY,
  type TokenInfo,
  type TokenOptions,
  type TokenRandom,
} from './token/token.js';
export type { RawAttribute } from './token/attribute-map.js';
export { MECHANISM_INFO, type MechanismInfo } from './token/mechanisms.js';
export { createTokenDrbg, type TokenDrbgOptions } from './token/token-drbg.js';
export { TOKEN_RECORD_LABEL } from './token/token-record.js';
export {
  KEY_TYPES,
  type KeyPairSpec,
  type KeyTypeName,
  type NewObjectOptions,
  OBJECT_CLASSES,
  type ObjectClassName,
  type ObjectSummary,
  SIGN_ALGORITHMS,
  type SignAlgorithm,
  TokenSession,
} from './token-session.js';
export * from './rpc/index.js';
