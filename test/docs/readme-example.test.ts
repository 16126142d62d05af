import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { TSX } from '../_support/cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('README', () => {
  it('library example runs as written (imports mapped to the sources)', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, 'README has a ```ts example');
    const code = block.replace(/from 'nvsec\/([a-z-]+)'/g, (_, sub: string) => `from '${pathToFileURL(path.join(ROOT, 'src', sub, 'index.ts')).href}'`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-readme-'));
    try {
      const file = path.join(dir, 'example.mts');
      fs.writeFileSync(file, code);
      const r = spawnSync(process.execPath, ['--import', TSX, file], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /ESP_ERR_NVS_NOT_FOUND 4354/);
      assert.ok(fs.existsSync(path.join(dir, 'nvs.bin')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
