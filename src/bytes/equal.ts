/** True when `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when every byte of `data[start, end)` equals `value`. */
export function isFilled(data: Uint8Array, value: number, start = 0, end = data.length): boolean {
  let i = start;
  // Word at a time over the 4-byte-aligned middle (whole flash pages are checked this way).
  const a = (4 - ((data.byteOffset + i) & 3)) & 3;
  if (end - start >= 64 && a <= end - start) {
    for (const stop = i + a; i < stop; i++) if (data[i] !== value) return false;
    const words = (end - i) >>> 2;
    const w = new Uint32Array(data.buffer, data.byteOffset + i, words);
    const pattern = (value * 0x01010101) >>> 0;
    for (let k = 0; k < words; k++) if (w[k] !== pattern) return false;
    i += words * 4;
  }
  for (; i < end; i++) if (data[i] !== value) return false;
  return true;
}
