import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteRegistry } from '../../src/node/sqlite-registry.js';
import { runCli } from '../_support/cli.js';

describe('nvsec demo (npm start)', () => {
  it('sets up a factory, provisions 5 devices, boots one, connects it over mutual TLS, and sees a revoked one refused', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-demo-test-'));
    try {
      const r = runCli(['demo', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      for (let step = 1; step <= 7; step++) assert.match(r.stdout, new RegExp(`^\\[${step}\\] `, 'm'));
      const ids = fs.readdirSync(path.join(out, 'batch')).filter((n) => n !== 'batch.json').sort();
      assert.equal(ids.length, 5);
      assert.match(r.stdout, /secure-boot +app in factory verified with eFuse digest slot 0/);
      assert.match(r.stdout, new RegExp(`server said: welcome ${ids[0]}, your certificate`));
      assert.match(r.stdout, new RegExp(`server said: refused: certificate [0-9A-F]+… of ${ids[1]} is revoked`));
      const registry = await openSqliteRegistry(path.join(out, 'factory', 'registry.db'));
      try {
        const devices = await registry.list();
        assert.deepEqual(devices.map((d) => d.id).sort(), ids);
        assert.deepEqual(devices.filter((d) => d.status === 'revoked').map((d) => d.id), [ids[1]]);
      } finally {
        await registry.close();
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
