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
