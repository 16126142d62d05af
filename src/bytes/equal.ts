/** True when `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when every byte of `data[start, end)` equals `value`. */
export function isFilled(data: Uint8Array, value: number, start = 0, end = data.length): boolean {
  for (let i = start; i < end; i++) if (data[i] !== value) return false;
  return true;
}
