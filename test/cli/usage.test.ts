import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../_support/cli.js';

describe('nvsec usage errors and outputs', () => {
  it('reports a missing argument or an unknown option in one line and exits 2', () => {
    for (const args of [['nvs', 'dump'], ['nvs', 'dump', '--bogus', 'x'], ['nvs', 'generate', 'only.csv']]) {
      const r = runCli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^nvsec: error: /);
    }
  });

  it('prints its version and exits 0', () => {
    const r = runCli(['--version']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('writes generated images readable by their owner only (they may hold Wi-Fi passwords)', { skip: process.platform === 'win32' && 'no POSIX modes' }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-usage-'));
    try {
      fs.writeFileSync(path.join(dir, 'in.csv'), 'key,type,encoding,value\nwifi,namespace,,\npass,data,string,hunter2\n');
      const r = runCli(['nvs', 'generate', 'in.csv', 'out.bin', '0x3000'], { cwd: dir });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(fs.statSync(path.join(dir, 'out.bin')).mode & 0o777, 0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
