import { MAX_LABEL_BYTES } from './default-labels.js';

const utf8 = new TextEncoder();

/**
 * The UTF-8 bytes of a label, checked: a string of 1..32 bytes of UTF-8 with no lone surrogate
 * (which UTF-8 cannot hold: two such labels would collide).
 */
export function labelBytes(label: unknown, name = 'label'): Uint8Array {
  if (typeof label !== 'string') throw new TypeError(`"${name}" must be a string, got ${typeof label}`);
  if (label.length === 0) throw new RangeError(`"${name}" must not be empty`);
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = label.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) throw new RangeError(`"${name}" holds a lone UTF-16 surrogate at index ${i}: it has no UTF-8 form`);
  }
  const bytes = utf8.encode(label);
  if (bytes.length > MAX_LABEL_BYTES) {
    throw new RangeError(`"${name}" is ${bytes.length} bytes of UTF-8; labels are at most ${MAX_LABEL_BYTES} bytes (pkcs11configMAX_LABEL_LENGTH)`);
  }
  return bytes;
}

/** Checks a save's data argument. */
export function checkData(data: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError('"data" must be a Uint8Array');
}

/** Checks a save's options argument and returns isPrivate. */
export function checkIsPrivate(options: unknown): boolean {
  const p = (options as { isPrivate?: unknown } | null | undefined)?.isPrivate;
  if (typeof p !== 'boolean') throw new TypeError('"options.isPrivate" must be a boolean');
  return p;
}
