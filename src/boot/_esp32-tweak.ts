// The ESP32 flash-encryption key tweak, shared by Esp32FlashCipher and the Node worker-thread
// variant (src/node/parallel-flash-encryption.ts).

/** First key bit and length of the four FLASH_CRYPT_CONFIG groups (bit g of the eFuse enables group g). */
const GROUPS: ReadonlyArray<readonly [number, number]> = [
  [0, 67],
  [67, 65],
  [132, 63],
  [195, 61],
];

/**
 * The tweak masks: entry k - 5 (offset bit k = 5..23) is the 256-bit mask of the key bits that
 * flip when offset bit k is set, limited to the groups enabled in `conf`, as eight 32-bit words
 * over the key bytes (native order: only ever XORed with words over the same bytes).
 */
export function _tweakMasks(conf: number): Uint32Array[] {
  const bytes = Array.from({ length: 19 }, () => new Uint8Array(32));
  GROUPS.forEach(([start, length], g) => {
    if ((conf & (1 << g)) === 0) return;
    const tail = length - 57; // the last t bits map to offset bits t+4, t+3, …, 5
    for (let i = 0; i < length; i++) {
      const k = i < 57 ? 23 - (i % 19) : tail + 4 - (i - 57);
      const n = start + i; // key bit n = bit (7 - n % 8) of key byte n / 8 (n = 0 is the MSB of byte 0)
      bytes[k - 5]![n >>> 3]! |= 0x80 >>> (n & 7);
    }
  });
  return bytes.map((b) => new Uint32Array(b.buffer));
}

/**
 * The AES key of every run of `length` bytes of data at flash `address` that shares one key
 * (every 32-byte block; one run for all when `conf` is 0), with where each run starts and ends,
 * for one `aesEcbPerSpan` call: `keys` holds 32 bytes per run (zeroize it after use), `spans`
 * the [start, end) pairs.
 */
export function _blockKeys(base: Uint32Array, masks: Uint32Array[], conf: number, address: number, length: number): { keys: Uint8Array; spans: Uint32Array } {
  if (conf === 0) {
    return { keys: new Uint8Array(base.slice().buffer), spans: Uint32Array.of(0, length) };
  }
  const runs = Math.ceil(((address & 31) + length) / 32);
  const words = new Uint32Array(runs * 8);
  const spans = new Uint32Array(runs * 2);
  // The tweak of 32-byte block number b (b = offset >> 5, 19 bits) is the XOR of the masks of
  // its set bits; walking b upwards, only the bits that changed are applied.
  const tweak = new Uint32Array(8);
  let prev = 0;
  let n = 0;
  for (let pos = 0; pos < length; n++) {
    const o = address + pos;
    const b = (o >>> 5) & 0x7ffff;
    for (let d = b ^ prev; d !== 0; d &= d - 1) {
      const m = masks[31 - Math.clz32(d & -d)]!;
      for (let w = 0; w < 8; w++) tweak[w]! ^= m[w]!;
    }
    prev = b;
    for (let w = 0; w < 8; w++) words[n * 8 + w] = base[w]! ^ tweak[w]!;
    const end = Math.min(length, pos + 32 - (o & 31));
    spans[n * 2] = pos;
    spans[n * 2 + 1] = end;
    pos = end;
  }
  tweak.fill(0);
  return { keys: new Uint8Array(words.buffer, 0, n * 32), spans: spans.subarray(0, n * 2) };
}
