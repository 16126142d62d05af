import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../_support/cli.js';
import { NO_VECTORS, VECTORS_DIR } from '../_support/vectors.js';

describe('nvsec selftest', () => {
  it('runs the built-in power-on self test with no file', () => {
    const r = runCli(['selftest', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.passed, out.total);
    assert.ok(out.total >= 10);
    assert.deepEqual(out.failures, []);
  });

  it('replays every NIST case and golden run of the vector folder: 1,168 NIST cases among them', { skip: NO_VECTORS }, () => {
    const r = runCli(['selftest', path.join(VECTORS_DIR!, 'entropy'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.failures.length, 0);
    assert.ok(out.total >= 1168 + 30 + 4 * 12, `only ${out.total} cases`);
  });

  it('exits 1 and lists the failure when a case fails', { skip: NO_VECTORS }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-selftest-'));
    try {
      const file = JSON.parse(fs.readFileSync(path.join(VECTORS_DIR!, 'entropy', 'entropy-collector', 'e1-nv-only-pattern.json'), 'utf8'));
      file.expected.boot1.seedfile_after = '00'.repeat(64);
      fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(file));
      const r = runCli(['selftest', path.join(dir, 'bad.json')]);
      assert.equal(r.status, 1);
      assert.match(r.stdout, /failed: .*seed file after the boot/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a file it cannot replay as a failed case named after it, and still runs the others', { skip: NO_VECTORS }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-selftest-'));
    try {
      fs.copyFileSync(path.join(VECTORS_DIR!, 'entropy', 'entropy-collector', 'e1-nv-only-pattern.json'), path.join(dir, 'e1.json'));
      fs.writeFileSync(path.join(dir, 'stray.json'), '{}');
      const r = runCli(['selftest', dir, '--json']);
      assert.equal(r.status, 1);
      const out = JSON.parse(r.stdout);
      assert.equal(out.failures.length, 1);
      assert.match(out.failures[0].suite, /^stray\.json/);
      assert.ok(out.passed > 0, 'e1.json was not replayed');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
