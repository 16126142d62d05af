import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * House rule (ARCHITECTURE.md): core modules never import `node:*` or use Node's globals, so they
 * stay usable in a browser. Core is everything under src/ except src/cli/, src/node/ and the
 * sqlite/postgres adapters.
 */

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** True for a path relative to src/ (forward slashes) that is a core module. */
function isCore(relative: string): boolean {
  const [top] = relative.split('/');
  const base = path.posix.basename(relative);
  return top !== 'cli' && top !== 'node' && !base.startsWith('sqlite') && !base.startsWith('postgres');
}

/** Every .ts file under `dir`, as paths relative to it with forward slashes, sorted. */
function walk(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix + entry.name;
    if (entry.isDirectory()) out.push(...walk(path.join(dir, entry.name), `${rel}/`));
    else if (entry.isFile() && entry.name.endsWith('.ts')) out.push(rel);
  }
  return out.sort();
}

const BUILTINS = new Set(builtinModules);

/** True for `node:fs`, `fs`, `fs/promises` and the like. */
function isBuiltin(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  return BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]!);
}

/**
 * Two copies of `source` with the same length and line breaks: `code` with comments blanked, and
 * `bare` with string, template and regex contents blanked as well (quotes kept). A small scanner,
 * not a parser: good enough for this codebase's style, and checked by the self-tests below.
 */
function strip(source: string): { code: string; bare: string } {
  const code: string[] = [];
  const bare: string[] = [];
  const blank = (c: string) => (c === '\n' ? '\n' : ' ');
  const keep = (c: string) => {
    code.push(c);
    bare.push(c);
  };
  const hide = (c: string) => {
    code.push(blank(c));
    bare.push(blank(c));
  };
  const quoted = (c: string) => {
    code.push(c);
    bare.push(blank(c));
  };
  const templateDepths: number[] = []; // brace depth at each open `${`
  let depth = 0;
  let last = ''; // last significant code character, to tell a regex from a division
  let i = 0;
  const n = source.length;

  const scanTemplate = (): void => {
    // after the opening backtick or the `}` closing an expression
    while (i < n) {
      const c = source[i]!;
      if (c === '\\') {
        quoted(c);
        if (i + 1 < n) quoted(source[i + 1]!);
        i += 2;
      } else if (c === '`') {
        keep(c);
        i++;
        last = '`';
        return;
      } else if (c === '$' && source[i + 1] === '{') {
        keep('$');
        keep('{');
        i += 2;
        templateDepths.push(depth);
        depth = 0;
        last = '{';
        return;
      } else {
        quoted(c);
        i++;
      }
    }
  };

  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') hide(source[i++]!);
    } else if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      while (i < stop) hide(source[i++]!);
    } else if (c === "'" || c === '"') {
      keep(c);
      i++;
      while (i < n && source[i] !== c && source[i] !== '\n') {
        if (source[i] === '\\' && i + 1 < n) quoted(source[i++]!);
        quoted(source[i++]!);
      }
      if (i < n && source[i] === c) keep(source[i++]!);
      last = c;
    } else if (c === '`') {
      keep(c);
      i++;
      scanTemplate();
    } else if (c === '}' && depth === 0 && templateDepths.length > 0) {
      keep(c);
      i++;
      depth = templateDepths.pop()!;
      scanTemplate();
    } else if (c === '/' && startsRegex(last, code)) {
      keep(c);
      i++;
      let inClass = false;
      while (i < n && source[i] !== '\n' && (inClass || source[i] !== '/')) {
        if (source[i] === '\\' && i + 1 < n) quoted(source[i++]!);
        else if (source[i] === '[') inClass = true;
        else if (source[i] === ']') inClass = false;
        quoted(source[i++]!);
      }
      if (i < n && source[i] === '/') keep(source[i++]!);
      last = '/';
    } else {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      keep(c);
      i++;
      if (!/\s/.test(c)) last = c;
    }
  }
  return { code: code.join(''), bare: bare.join('') };
}

/** Whether a `/` after the significant character `last` starts a regex literal rather than a division. */
function startsRegex(last: string, emitted: string[]): boolean {
  if (last === '' || '(,=:[!&|?{};+-*%<>~^'.includes(last)) return true;
  if (!/[\w$]/.test(last)) return false;
  let j = emitted.length - 1;
  while (j >= 0 && /\s/.test(emitted[j]!)) j--;
  let word = '';
  while (j >= 0 && /[\w$]/.test(emitted[j]!)) word = emitted[j--]! + word;
  return /^(return|typeof|case|do|else|in|of|new|delete|void|throw|instanceof|yield|await)$/.test(word);
}

interface Violation {
  line: number;
  reason: string;
}

/** Every place in `source` where a core module reaches for Node: built-in imports, require, globals. */
function findViolations(source: string): Violation[] {
  const { code, bare } = strip(source);
  const found: Violation[] = [];
  const lineOf = (index: number) => code.slice(0, index).split('\n').length;
  const specifier = (m: RegExpExecArray) => {
    const [start, end] = m.indices![2]!;
    return code.slice(start, end);
  };
  // Keywords are matched on `bare` (so text inside strings and comments never counts); the
  // specifier is read from `code` at the same offsets.
  const imports: Array<[RegExp, string]> = [
    [/\bfrom\s*(['"])([^'"\n]*)\1/dg, 'imports'],
    [/(?<![\w$.])import\s*(['"])([^'"\n]*)\1/dg, 'imports'],
    [/(?<![\w$.])import\s*\(\s*(['"`])([^'"`\n]*)\1/dg, 'dynamically imports'],
  ];
  for (const [re, verb] of imports) {
    for (const m of bare.matchAll(re)) {
      const spec = specifier(m as RegExpExecArray);
      if (isBuiltin(spec)) found.push({ line: lineOf(m.index), reason: `${verb} Node built-in '${spec}'` });
    }
  }
  for (const m of bare.matchAll(/(?<![\w$.])require\s*\(\s*(?:(['"`])([^'"`\n]*)\1)?/dg)) {
    const spec = m[2] === undefined ? null : specifier(m as RegExpExecArray);
    const what = spec !== null && isBuiltin(spec) ? ` of Node built-in '${spec}'` : '';
    found.push({ line: lineOf(m.index), reason: `calls require()${what}` });
  }
  const globals: Array<[RegExp, string]> = [
    [/(?<![\w$.])Buffer\b/g, 'uses the Node global Buffer (use Uint8Array)'],
    [/(?<![\w$.])process\s*(?:\?\.|\.|\[)/g, 'uses the Node global process (inject what it needs)'],
    [/\btypeof\s+(?:process|Buffer)\b/g, 'probes for a Node global'],
    [/\bglobalThis\s*(?:\?\.|\.)\s*(?:process|Buffer)\b/g, 'uses a Node global through globalThis'],
  ];
  for (const [re, reason] of globals) {
    for (const m of bare.matchAll(re)) found.push({ line: lineOf(m.index), reason });
  }
  for (const m of source.matchAll(/^[ \t]*\/\/\/[ \t]*<reference\s+types\s*=\s*["']node["']/gm)) {
    found.push({ line: lineOf(m.index), reason: 'references the Node type definitions' });
  }
  return found.sort((a, b) => a.line - b.line);
}

/** `file:line: reason: text` for every violation in the core modules under src/. */
function scanCore(): { files: string[]; report: string[] } {
  const files = walk(SRC).filter(isCore);
  const report: string[] = [];
  for (const rel of files) {
    const source = fs.readFileSync(path.join(SRC, rel), 'utf8');
    const lines = source.split('\n');
    for (const v of findViolations(source)) {
      report.push(`src/${rel}:${v.line}: ${v.reason}: ${lines[v.line - 1]!.trim()}`);
    }
  }
  return { files, report };
}

describe('core modules stay free of Node', () => {
  it('treats src/cli, src/node and sqlite/postgres adapters as non-core and everything else as core', () => {
    assert.equal(isCore('flash/memory-flash.ts'), true);
    assert.equal(isCore('nvs/format/entry.ts'), true);
    assert.equal(isCore('cli/main.ts'), false);
    assert.equal(isCore('node/file-flash.ts'), false);
    assert.equal(isCore('provision/sqlite-registry.ts'), false);
    assert.equal(isCore('provision/postgres-registry.ts'), false);
    assert.equal(isCore('provision/registry.ts'), true);
  });

  it('flags every way of reaching Node in a synthetic module, on the right line (self-check)', () => {
    const source = [
      "import * as fs from 'node:fs';",
      "import { join } from 'path';",
      "const os = await import('node:os');",
      "const cp = require('child_process');",
      "import 'node:process';",
      "export { createHash } from 'crypto';",
      "import type { Readable } from 'stream';",
      'const b = Buffer.from([1]);',
      'const home = process.env.HOME;',
      "if (typeof process !== 'undefined') {}",
      'const g = globalThis.Buffer;',
      "import {\n  readFileSync,\n} from 'node:fs/promises';",
      '/// <reference types="node" />',
      'const z = await import(`zlib`);',
    ].join('\n');
    const lines = findViolations(source).map((v) => v.line);
    assert.deepEqual([...new Set(lines)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 14, 15, 16]);
  });

  it('ignores comments, strings, regexes, local modules and look-alike names (self-check)', () => {
    const source = [
      "import { crc32le } from '../bytes/crc32.js';",
      "import type { Flash } from './flash.js';",
      "import { thing } from 'fast-check';",
      "// import * as fs from 'node:fs'; Buffer.from(process.env)",
      "/* require('fs') */ const ab = new ArrayBuffer(8);",
      "const msg = 'cannot process Buffer from fs';",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: this is source text holding a template literal
      'const t = `process.env ${1 + 1} Buffer`;',
      "const re = /require('fs')|process\\./;",
      'const half = total / 2 / 1; // import("node:os")',
      'const src: BufferSource = ab; const p = task.process.count;',
      'function process2(b: SharedArrayBuffer) { return b; }',
      'const note = "import x from \'node:fs\'";',
    ].join('\n');
    assert.deepEqual(findViolations(source), []);
  });

  it('finds the node:fs import of a real non-core file, so the scan reads real sources (self-check)', () => {
    const source = fs.readFileSync(path.join(SRC, 'node', 'file-flash.ts'), 'utf8');
    assert.ok(findViolations(source).some((v) => v.reason === "imports Node built-in 'node:fs'"));
  });

  it('finds no Node built-in import, require or Node global in any core module under src/', () => {
    const { files, report } = scanCore();
    assert.ok(files.includes('flash/memory-flash.ts'), `the scan sees the core files (saw ${files.length})`);
    assert.ok(!files.some((f) => f.startsWith('node/') || f.startsWith('cli/')));
    assert.deepEqual(report, [], `core modules must not use Node:\n${report.join('\n')}`);
  });
});
