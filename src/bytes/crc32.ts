/**
 * The CRC-32 variant used by ESP-IDF NVS and the ESP ROM (`crc32_le`): reflected polynomial
 * 0xEDB88320, register initialised to 0, result inverted. It equals Python's
 * `zlib.crc32(data, 0xFFFFFFFF)`, not the standard CRC-32.
 *
 * Computed eight bytes at a time ("slicing-by-8": eight 256-entry tables) with a byte-wise tail.
 */
const TABLES = /* @__PURE__ */ (() => {
  const t = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + i]!;
      t[k * 256 + i] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

/**
 * Continues an NVS-variant CRC over `data[start, end)`, chaining from `crc` (the output of an
 * earlier call, or 0xFFFFFFFF to start). Chained calls equal one call over the concatenation.
 *
 * @example crc32le(new TextEncoder().encode('123456789')) === 0xd202d277
 */
export function crc32le(data: Uint8Array, crc = 0xffffffff, start = 0, end = data.length): number {
  const t = TABLES;
  let c = ~crc >>> 0; // the ROM convention: invert on the way in and on the way out
  let i = start;
  for (const stop = end - 7; i < stop; i += 8) {
    c ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    c =
      t[1792 + (c & 0xff)]! ^
      t[1536 + ((c >>> 8) & 0xff)]! ^
      t[1280 + ((c >>> 16) & 0xff)]! ^
      t[1024 + (c >>> 24)]! ^
      t[768 + data[i + 4]!]! ^
      t[512 + data[i + 5]!]! ^
      t[256 + data[i + 6]!]! ^
      t[data[i + 7]!]!;
  }
  for (; i < end; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
