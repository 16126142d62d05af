import type { AttributeMap } from './attribute-map.js';

const VERSION = 1;

/**
 * Serialises an object's attributes into the blob the object store keeps: a version byte (1), then
 * for each attribute in type order `type u32 LE ‖ length u32 LE ‖ value`. The store adds the label,
 * handle and CRC around it and encrypts it when the object is private.
 */
export function encodeObjectAttributes(attrs: AttributeMap): Uint8Array {
  const types = [...attrs.keys()].sort((a, b) => a - b);
  let size = 1;
  for (const t of types) size += 8 + attrs.get(t)!.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = VERSION;
  let at = 1;
  for (const t of types) {
    const v = attrs.get(t)!;
    view.setUint32(at, t, true);
    view.setUint32(at + 4, v.length, true);
    out.set(v, at + 8);
    at += 8 + v.length;
  }
  return out;
}

/**
 * The attributes of a blob made by {@link encodeObjectAttributes} (values are copies).
 * @throws {RangeError} when the blob is not such an encoding
 */
export function decodeObjectAttributes(blob: Uint8Array): AttributeMap {
  if (blob[0] !== VERSION) throw new RangeError(`object blob version ${blob[0] ?? 'missing'} is not ${VERSION}`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.length);
  const attrs: AttributeMap = new Map();
  for (let at = 1; at < blob.length; ) {
    if (at + 8 > blob.length) throw new RangeError('object blob: truncated attribute header');
    const type = view.getUint32(at, true);
    const len = view.getUint32(at + 4, true);
    if (at + 8 + len > blob.length) throw new RangeError('object blob: attribute value runs past the end');
    attrs.set(type, new Uint8Array(blob.subarray(at + 8, at + 8 + len)));
    at += 8 + len;
  }
  return attrs;
}
