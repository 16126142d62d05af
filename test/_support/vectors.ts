import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared golden-vector folder (`../shared/vectors` beside the checkout), or null when absent. */
export const VECTORS_DIR: string | null = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dir = path.resolve(here, '..', '..', '..', 'shared', 'vectors');
  return fs.existsSync(dir) ? dir : null;
})();

/** The shared benchmark folder (`../shared/bench`), or null when absent. */
export const BENCH_DIR: string | null = VECTORS_DIR ? path.resolve(VECTORS_DIR, '..', 'bench') : null;

/** Reason to pass as `skip` to node:test when the vectors are missing. */
export const NO_VECTORS = VECTORS_DIR
  ? false
  : 'golden vectors not found: ../shared/vectors must sit beside the checkout (see README)';

/** Sub-folders of `vectors/<area>` that hold a manifest.json, sorted. */
export function vectorCases(area: string): string[] {
  if (!VECTORS_DIR) return [];
  const dir = path.join(VECTORS_DIR, area);
  return fs
    .readdirSync(dir)
    .filter((d) => fs.existsSync(path.join(dir, d, 'manifest.json')))
    .sort();
}

/** Path of `vectors/<area>/<name>`. */
export function vectorDir(area: string, name: string): string {
  if (!VECTORS_DIR) throw new Error('vectors not available');
  return path.join(VECTORS_DIR, area, name);
}

/** Parsed manifest.json of a vector. */
// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form JSON read by tests
export function readManifest(area: string, name: string): any {
  return JSON.parse(fs.readFileSync(path.join(vectorDir(area, name), 'manifest.json'), 'utf8'));
}
