// Private helpers that reproduce the few Python behaviours the tool's output depends on:
// os.path.expandvars, str.splitlines, repr(bytes), '%.1f' and hexlify (int(x, 0) and str.strip()
// are in bytes/python-int.ts).

/** Python's `str.splitlines()` (no trailing empty line for a final line break). */
export function _pySplitLines(text: string): string[] {
  // eslint-disable-next-line no-control-regex -- Python line boundaries include the \x1c-\x1e separators
  const lines = text.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

const VAR_RE = /\$(\w+|\{[^}]*\})/g;

/**
 * Python's `os.path.expandvars` (POSIX) over `env`: `$NAME` and `${NAME}` are replaced when
 * `NAME` is in env and left as they are otherwise; replaced text is not expanded again.
 */
export function _pyExpandVars(text: string, env: Readonly<Record<string, string | undefined>>): string {
  if (!text.includes('$')) return text;
  return text.replace(VAR_RE, (whole, group: string) => {
    const name = group.startsWith('{') && group.endsWith('}') ? group.slice(1, -1) : group;
    const value = Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
    return value === undefined ? whole : value;
  });
}

/** Python's `repr(bytes)`: `b'…'` with printable ASCII as is and the rest escaped. */
export function _pyBytesRepr(bytes: Uint8Array): string {
  const hasSingle = bytes.includes(0x27);
  const quote = hasSingle && !bytes.includes(0x22) ? '"' : "'";
  let s = '';
  for (const b of bytes) {
    if (b === 0x5c) s += '\\\\';
    else if (b === 0x09) s += '\\t';
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x0d) s += '\\r';
    else if (b === quote.charCodeAt(0)) s += `\\${quote}`;
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `b${quote}${s}${quote}`;
}

/**
 * Python's `'%.1f' % (numerator / denominator)` for non-negative integers: the exact quotient
 * rounded to one decimal, ties to even (Python rounds the exact binary value; the quotients here
 * are exact in binary, so rounding the rational gives the same text).
 */
export function _pyFixed1(numerator: number, denominator: number): string {
  const n = BigInt(numerator) * 10n;
  const d = BigInt(denominator);
  let q = n / d;
  const r2 = (n % d) * 2n;
  if (r2 > d || (r2 === d && q % 2n === 1n)) q += 1n;
  return `${q / 10n}.${q % 10n}`;
}
