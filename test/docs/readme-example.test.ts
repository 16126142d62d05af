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
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);

  it('has TypeScript examples', () => assert.ok(blocks.length >= 2, `found ${blocks.length}`));

  blocks.forEach((block, n) => {
    it(`example ${n + 1} runs as written (imports mapped to the sources)`, () => {
      const code = block.replace(/from 'nvsec\/([a-z0-9-]+)'/g, (_, sub: string) => `from '${pathToFileURL(path.join(ROOT, 'src', sub, 'index.ts')).href}'`);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-readme-'));
      try {
        const file = path.join(dir, 'example.mts');
        fs.writeFileSync(file, code);
        const r = spawnSync(process.execPath, ['--import', TSX, file], { cwd: dir, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        if (block.includes('NvsError')) assert.match(r.stdout, /ESP_ERR_NVS_NOT_FOUND 4354/);
        if (block.includes('C_GenerateKeyPair')) assert.match(r.stdout, /^true\n.*CKR_ATTRIBUTE_SENSITIVE 0x11\)\n[\s\S]*Device Priv TLS Key[\s\S]*\ntrue\n$/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
