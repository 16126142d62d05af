const HEX = /* @__PURE__ */ Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/**
 * Decodes hex text (either case, even length, no separators).
 * @throws {RangeError} on odd length or a non-hex character
 */
export function fromHex(text: string): Uint8Array {
  if (text.length % 2 !== 0) throw new RangeError(`Cannot decode hex: odd length ${text.length}`);
  const bad = /[^0-9a-fA-F]/.exec(text);
  if (bad) throw new RangeError(`Cannot decode hex: invalid character "${bad[0]}" at offset ${bad.index}`);
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
