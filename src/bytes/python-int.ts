/**
 * Python's number parsing, which the ESP tools' command lines and CSV files follow (esptool's
 * AnyIntType, gen_esp32part.py, the NVS partition generator).
 */

const INT_RE = /^([+-]?)(0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0+(?:_?0)*|[1-9](?:_?[0-9])*)$/;

/** Python whitespace for str.strip() and int(): ASCII space, \t \n \v \f \r, \x1c-\x1f, \x85 and Unicode spaces. */
const STRIP_RE = /^[\s\x1c-\x1f\x85]+|[\s\x1c-\x1f\x85]+$/g; // eslint-disable-line no-control-regex -- Python's whitespace includes \x1c-\x1f

/** Python's `str.strip()` with no argument. */
export function pythonStrip(s: string): string {
  return s.replace(STRIP_RE, '');
}

/**
 * Python's `int(text, 0)`: optional sign, 0x/0o/0b prefix or decimal without leading zeros,
 * underscores between digits, surrounding whitespace. Returns null where Python raises
 * ValueError; a bigint so that no value is rounded.
 *
 * @example pythonInt('0x8000') === 32768n; pythonInt('010') === null
 */
export function pythonInt(text: string): bigint | null {
  const m = INT_RE.exec(pythonStrip(text));
  if (!m) return null;
  const digits = m[2]!.replace(/_/g, '');
  const value = BigInt(/^0[oObB]/.test(digits) ? `0${digits[1]!.toLowerCase()}${digits.slice(2)}` : digits);
  return m[1] === '-' ? -value : value;
}
