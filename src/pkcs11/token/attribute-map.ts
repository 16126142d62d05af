import { bytesEqual } from '../../bytes/equal.js';
import { attributeValueType } from '../attribute-types.js';
import { CKR } from '../constants.js';
import { ckaName } from '../constant-name.js';
import { pkcs11Error } from '../pkcs11-error.js';

/** One attribute as a caller passes it: the type and the value bytes, as a C caller lays them out. */
export interface RawAttribute {
  readonly type: number;
  readonly value: Uint8Array;
}

/**
 * An object's attributes by type, each value in canonical form: CK_BBOOL as 1 byte (0 or 1),
 * CK_ULONG as 8 bytes little-endian (the LP64 layout pkcs11js and p11-kit clients use), everything
 * else as given.
 */
export type AttributeMap = Map<number, Uint8Array>;

/** The canonical 8-byte little-endian CK_ULONG. */
export function ulongBytes(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(0, value >>> 0, true);
  new DataView(out.buffer).setUint32(4, Math.floor(value / 2 ** 32), true);
  return out;
}

/** The canonical CK_BBOOL. */
export function boolBytes(value: boolean): Uint8Array {
  return Uint8Array.of(value ? 1 : 0);
}

/** A CK_ULONG value of 4 or 8 little-endian bytes; null for any other length or a value above 2^53. */
export function readUlong(value: Uint8Array): number | null {
  if (value.length !== 4 && value.length !== 8) return null;
  const v = new DataView(value.buffer, value.byteOffset, value.length);
  const lo = v.getUint32(0, true);
  if (value.length === 4) return lo;
  const hi = v.getUint32(4, true);
  return hi > 0x1fffff ? null : hi * 2 ** 32 + lo;
}

/**
 * Checks and canonicalises a caller's template: booleans must be one byte of 0 or 1, CK_ULONGs 4
 * or 8 bytes (CKR_ATTRIBUTE_VALUE_INVALID otherwise); an attribute given twice with different
 * values is CKR_TEMPLATE_INCONSISTENT.
 */
export function toAttributeMap(template: readonly RawAttribute[], context: string): AttributeMap {
  const out: AttributeMap = new Map();
  for (const { type, value } of template) {
    let v = value;
    const kind = attributeValueType(type);
    if (kind === 'bool') {
      if (value.length !== 1 || value[0]! > 1) throw pkcs11Error(CKR.CKR_ATTRIBUTE_VALUE_INVALID, `${context}: ${ckaName(type)} must be one byte, CK_TRUE or CK_FALSE`);
    } else if (kind === 'ulong') {
      const n = readUlong(value);
      if (n === null) throw pkcs11Error(CKR.CKR_ATTRIBUTE_VALUE_INVALID, `${context}: ${ckaName(type)} must be a CK_ULONG (4 or 8 bytes)`);
      v = ulongBytes(n);
    }
    const seen = out.get(type);
    if (seen !== undefined && !bytesEqual(seen, v)) throw pkcs11Error(CKR.CKR_TEMPLATE_INCONSISTENT, `${context}: ${ckaName(type)} is given twice with different values`);
    out.set(type, ownCopy(v));
  }
  return out;
}

/**
 * A copy of `bytes` the token owns. (`Buffer#slice` does not copy: a token that zeroizes a
 * "copy" made with it would wipe the caller's buffer.)
 */
export function ownCopy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** The CK_ULONG attribute `type` of a canonical map, or undefined when absent. */
export function getUlong(attrs: AttributeMap, type: number): number | undefined {
  const v = attrs.get(type);
  return v === undefined ? undefined : (readUlong(v) ?? undefined);
}

/** The CK_BBOOL attribute `type` of a canonical map, or undefined when absent. */
export function getBool(attrs: AttributeMap, type: number): boolean | undefined {
  const v = attrs.get(type);
  return v === undefined ? undefined : v[0] === 1;
}
