import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * The folder of nvsec's package.json, found by walking up from this module: the same answer from
 * the sources, from dist/cli/ and from the bundled dist/nvsec.mjs.
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'nvsec') return (root = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('Cannot find the nvsec package folder (package.json) above the CLI');
    dir = up;
  }
}

/** nvsec's version, from package.json. */
export function packageVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version;
}
