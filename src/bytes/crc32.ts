/**
 * The CRC-32 variant used by ESP-IDF NVS and the ESP ROM (`crc32_le`): reflected polynomial
 * 0xEDB88320, register initialised to 0, result inverted. It equals Python's
 * `zlib.crc32(data, 0xFFFFFFFF)`, not the standard CRC-32.
 */
const TABLE = /* @__PURE__ */ (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
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
  let c = ~crc >>> 0; // the ROM convention: invert on the way in and on the way out
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
