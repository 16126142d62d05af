import * as fs from 'node:fs';
import * as path from 'node:path';
import { vectorDir } from '../_support/vectors.js';

/** The two app-image vectors. */
export const IMAGE_VECTORS = ['app-image-esp32c3', 'app-image-esp32-padded'] as const;

/** Bytes of a file inside vectors/boot/<name>. */
export function bootFile(name: string, file: string): Uint8Array {
  const b = fs.readFileSync(path.join(vectorDir('boot', name), file));
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** A copy of `bytes` with byte `offset` XORed with `mask`. */
export function flipped(bytes: Uint8Array, offset: number, mask = 0x01): Uint8Array {
  const copy = bytes.slice();
  copy[offset]! ^= mask;
  return copy;
}
