import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readNvsPartition } from '../../src/nvs/inspect.js';
import { runCli } from '../_support/cli.js';

describe('nvsec demo (npm start)', () => {
  it('generates the example partition, dumps it and counts a boot with the runtime', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-demo-test-'));
    try {
      const r = runCli(['demo', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /boot_count: 0 -> 1/);
      const dump = readNvsPartition(new Uint8Array(fs.readFileSync(path.join(out, 'nvs.bin'))));
      assert.deepEqual(dump.errors, []);
      assert.equal((dump.namespaces.device?.boot_count as { value: string }).value, '1');
      assert.equal((dump.namespaces.wifi?.ssid as { text: string }).text, 'factory-line-7');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
