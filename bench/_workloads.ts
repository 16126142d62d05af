// The shared benchmark workloads that are not stored as files (../shared/bench/README.md):
// rebuilt here from the documented stream, stream(label) = SHA-256(label ‖ u64le(0)) ‖
// SHA-256(label ‖ u64le(1)) ‖ …, and checked against the README's sha256.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SHARED } from './nvs-generate.js';

/** sha256 of image-4m.bin (../shared/bench/README.md). */
const IMAGE_4M_SHA256 = 'e1175e814c6c4eac9f17e0285f46696abe7db61edc8ab4bab603f49caa9406e4';

function stream(label: string, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const input = Buffer.alloc(label.length + 8);
  input.write(label, 'latin1');
  for (let counter = 0, o = 0; o < length; counter++, o += 32) {
    input.writeBigUInt64LE(BigInt(counter), label.length);
    const block = createHash('sha256').update(input).digest();
    out.set(block.subarray(0, Math.min(32, length - o)), o);
  }
  return out;
}

let image4m: Uint8Array | undefined;

/** The 4 MiB "firmware" of the signing and flash-encryption benchmarks (the file when present, else rebuilt). */
export function benchImage4m(): Uint8Array {
  if (image4m) return image4m;
  const file = path.join(SHARED, 'image-4m.bin');
  const bytes = fs.existsSync(file) ? new Uint8Array(fs.readFileSync(file)) : stream('nvsec-bench:image-4m', 4 * 1024 * 1024);
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== IMAGE_4M_SHA256) throw new Error(`image-4m.bin: sha256 ${sha}, expected ${IMAGE_4M_SHA256} (rebuild it with make_workloads.py)`);
  image4m = bytes;
  return bytes;
}
