// Byte-order helpers of the flash-encryption schemes: both reverse bytes around the AES engine.

/** Byte-swaps a 32-bit word. */
const bswap = (x: number): number => ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x & 0xff00) << 8) | (x << 24)) >>> 0;

/**
 * Reverses, in place, the bytes of every `unit`-byte unit of `buf` (unit = 16 or 128). `buf` must
 * start on a 4-byte boundary and hold whole units (callers pass buffers they allocated).
 */
export function _reverseUnits(buf: Uint8Array, unit: number): void {
  const w = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
  const n = unit >>> 2;
  for (let base = 0; base < w.length; base += n) {
    for (let i = base, j = base + n - 1; i <= j; i++, j--) {
      const a = w[i]!;
      w[i] = bswap(w[j]!);
      w[j] = bswap(a);
    }
  }
}
