import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { seedQuality } from '../../src/entropy/seed-quality.js';
import { runCli } from '../_support/cli.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-seed-'));
}

describe('nvsec seed generate', () => {
  it('writes N unique 0600 seeds and a manifest holding only their hashes', () => {
    const dir = tmp();
    try {
      const r = runCli(['seed', 'generate', '--count', '40', '--out', dir, '--json']);
      assert.equal(r.status, 0, r.stderr);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.seeds.length, 40);
      const hashes = new Set<string>();
      for (const { file, sha256 } of manifest.seeds) {
        const seed = fs.readFileSync(path.join(dir, file));
        assert.equal(seed.length, 64);
        assert.equal(fs.statSync(path.join(dir, file)).mode & 0o777, 0o600);
        assert.equal(crypto.createHash('sha256').update(seed).digest('hex'), sha256);
        hashes.add(sha256);
        const text = fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8') + r.stdout;
        assert.ok(!text.includes(seed.toString('hex')), 'a seed appears in the manifest or the output');
      }
      assert.equal(hashes.size, 40);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to write into a folder that already holds a batch, and refuses sizes other than 32 or 64', () => {
    const dir = tmp();
    try {
      assert.equal(runCli(['seed', 'generate', '--count', '2', '--out', dir]).status, 0);
      const again = runCli(['seed', 'generate', '--count', '2', '--out', dir]);
      assert.equal(again.status, 1);
      assert.match(again.stderr, /already exists/);
      assert.equal(runCli(['seed', 'generate', '--count', '2', '--out', path.join(dir, 'x'), '--size', '48']).status, 1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it('leaves nothing behind when a batch fails midway (a stale seed file blocks seed 3)', () => {
    const dir = tmp();
    try {
      fs.writeFileSync(path.join(dir, 'seed-000003.bin'), 'stale');
      const r = runCli(['seed', 'generate', '--count', '5', '--out', dir]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /seed-000003\.bin/);
      assert.deepEqual(fs.readdirSync(dir), ['seed-000003.bin']);
      assert.equal(fs.readFileSync(path.join(dir, 'seed-000003.bin'), 'utf8'), 'stale');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('nvsec seed inspect', () => {
  it('flags an erased seed and exits 1, without printing the seed', () => {
    const dir = tmp();
    try {
      const file = path.join(dir, 'seedfile');
      fs.writeFileSync(file, Buffer.alloc(64, 0xff), { mode: 0o600 });
      const r = runCli(['seed', 'inspect', file]);
      assert.equal(r.status, 1);
      assert.match(r.stdout, /unwritten or erased seed/);
      const good = path.join(dir, 'good');
      const bytes = crypto.randomBytes(64);
      fs.writeFileSync(good, bytes, { mode: 0o644 });
      const g = runCli(['seed', 'inspect', good, '--json']);
      assert.equal(g.status, 0, g.stderr);
      const out = JSON.parse(g.stdout);
      assert.equal(out.size, 64);
      assert.ok(out.warnings.some((w: string) => /0600/.test(w)));
      assert.ok(!g.stdout.includes(bytes.toString('hex')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names a corrupt manifest beside the seed instead of a bare JSON error', () => {
    const dir = tmp();
    try {
      const file = path.join(dir, 'seed-000001.bin');
      fs.writeFileSync(file, crypto.randomBytes(64), { mode: 0o600 });
      fs.writeFileSync(path.join(dir, 'manifest.json'), '{ broken');
      const r = runCli(['seed', 'inspect', file]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /manifest\.json beside the seed is not a seed manifest/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('seedQuality()', () => {
  it('accepts CSPRNG seeds and rejects blank, stuck and low-variety ones', () => {
    for (let i = 0; i < 200; i++) assert.equal(seedQuality(crypto.randomBytes(64)).problem, null);
    assert.ok(seedQuality(new Uint8Array(64)).blank);
    assert.match(seedQuality(Uint8Array.from({ length: 64 }, (_, i) => (i < 10 ? 7 : i))).problem ?? '', /equal bytes in a row/);
    assert.match(seedQuality(Uint8Array.from({ length: 64 }, (_, i) => i % 4)).problem ?? '', /distinct byte values/);
  });
});
