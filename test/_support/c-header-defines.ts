import * as fs from 'node:fs';

/** Object-like `#define NAME value` macros of a C header whose value is an integer constant expression. */
export interface CHeaderDefines {
  /** Name → value as C `unsigned long` on LP64 (64-bit, two's complement wrapped). */
  readonly values: ReadonlyMap<string, bigint>;
  /** Name → the macro it is defined as when the whole value is another macro's name (an alias). */
  readonly aliases: ReadonlyMap<string, string>;
  /** `#define`s whose value is not an integer expression (types, strings, function-like macros...). */
  readonly skipped: readonly string[];
  /** Names defined twice with different values (e.g. in #if branches); the first value is kept. */
  readonly conflicts: readonly string[];
}

const _TYPE_WORDS = new Set(['unsigned', 'signed', 'long', 'int', 'short', 'char', 'CK_ULONG', 'CK_LONG']);
const _MASK64 = (1n << 64n) - 1n;

/**
 * Reads every object-like `#define` of a C header and evaluates the ones that are integer constant
 * expressions: decimal/hex literals with U/L suffixes, references to earlier macros, casts such as
 * `(unsigned long)` or `(CK_ULONG)`, parentheses and the operators `~ - + << >> & ^ |`. Written for
 * the test suite so constants can be checked against a header nvsec did not produce.
 */
export function readCHeaderDefines(path: string): CHeaderDefines {
  const text = fs.readFileSync(path, 'utf8').replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\\\n/g, ' ');
  const values = new Map<string, bigint>();
  const aliases = new Map<string, string>();
  const skipped: string[] = [];
  const conflicts: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*#\s*define\s+([A-Za-z_]\w*)(\(?)(.*)$/.exec(line);
    if (m === null) continue;
    const [, name, paren, rest] = m as unknown as [string, string, string, string];
    const body = rest.replace(/\/\/.*$/, '').trim();
    if (paren === '(' || body === '') {
      skipped.push(name);
      continue;
    }
    let value: bigint;
    try {
      value = _evaluate(body, values);
    } catch {
      skipped.push(name);
      continue;
    }
    const before = values.get(name);
    if (before !== undefined) {
      if (before !== value) conflicts.push(name);
      continue;
    }
    values.set(name, value);
    if (/^[A-Za-z_]\w*$/.test(body)) aliases.set(name, body);
  }
  return { values, aliases, skipped, conflicts };
}

function _evaluate(expr: string, known: ReadonlyMap<string, bigint>): bigint {
  const tokens = expr.match(/0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|<<|>>|[()~|&^+-]/g) ?? [];
  if (tokens.join('') !== expr.replace(/\s+/g, '')) throw new Error(`unexpected characters in ${expr}`);
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const take = (want?: string): string => {
    const t = tokens[i++];
    if (t === undefined || (want !== undefined && t !== want)) throw new Error(`expected ${want ?? 'a token'} in ${expr}`);
    return t;
  };
  const binary = (next: () => bigint, ops: Record<string, (a: bigint, b: bigint) => bigint>) => (): bigint => {
    let v = next();
    while (peek() !== undefined && Object.hasOwn(ops, peek()!)) {
      const op = ops[take()]!;
      v = op(v, next()) & _MASK64;
    }
    return v;
  };
  const primary = (): bigint => {
    const t = take();
    if (t === '(') {
      // A cast: "(" type words ")" followed by an operand.
      let j = i;
      while (tokens[j] !== undefined && _TYPE_WORDS.has(tokens[j]!)) j++;
      if (j > i && tokens[j] === ')') {
        i = j + 1;
        return unary() & _MASK64;
      }
      const v = or();
      take(')');
      return v;
    }
    const num = /^(0[xX][0-9a-fA-F]+|\d+)[uUlL]*$/.exec(t);
    if (num !== null) return BigInt(num[1]!);
    const v = known.get(t);
    if (v === undefined) throw new Error(`unknown name ${t} in ${expr}`);
    return v;
  };
  const unary = (): bigint => {
    const t = peek();
    if (t === '~') return (take(), ~unary()) & _MASK64;
    if (t === '-') return (take(), -unary()) & _MASK64;
    if (t === '+') return (take(), unary());
    return primary();
  };
  const add = binary(unary, { '+': (a, b) => a + b, '-': (a, b) => a - b });
  const shift = binary(add, { '<<': (a, b) => a << b, '>>': (a, b) => a >> b });
  const and = binary(shift, { '&': (a, b) => a & b });
  const xor = binary(and, { '^': (a, b) => a ^ b });
  const or: () => bigint = binary(xor, { '|': (a, b) => a | b });
  const value = or();
  if (i !== tokens.length) throw new Error(`trailing tokens in ${expr}`);
  return value & _MASK64;
}
