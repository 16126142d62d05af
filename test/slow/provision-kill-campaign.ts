// `npm run test:kill`: SIGKILLs `nvsec provision` at many random points of one batch (some by
// time after start, so start-up, the lock, batch.json and the registry's batch are hit too; some
// after a random number of finished bundles), then finishes it with --resume and checks the
// invariants: every device unique and recorded once, every recorded device's bundle complete and
// holding the recorded certificate, no orphan or half-written bundle, every removed orphan's
// certificate voided in the registry.
//   node --import tsx test/slow/provision-kill-campaign.ts [--devices 1000] [--kills 20] [--seed 1]
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initFactory } from '../../src/node/factory.js';
import { BATCH_FILE } from '../../src/node/provision-batch.js';
import { openSqliteRegistry } from '../../src/node/sqlite-registry.js';
import { TSX } from '../_support/cli.js';
import { mulberry32 } from '../_support/mulberry32.js';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '1000' }, kills: { type: 'string', default: '20' }, seed: { type: 'string', default: '1' } } });
const COUNT = Number(values.devices);
const KILLS = Number(values.kills);
const random = mulberry32(Number(values.seed));
const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.ts');
const PASSPHRASE = 'kill campaign passphrase';
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-kill-'));
const factory = path.join(root, 'factory');
const out = path.join(root, 'batch');
const reg = path.join(root, 'registry.db');
const ID = /^k-[0-9a-f]{16}-\d{6}$/;
const bundles = (): string[] => (fs.existsSync(out) ? fs.readdirSync(out).filter((n) => ID.test(n)) : []);
const temps = (): string[] => (fs.existsSync(out) ? fs.readdirSync(out).filter((n) => n.includes('.tmp')) : []);

function provision(args: string[], kill: { afterMs?: number; afterBundles?: number }): Promise<{ killed: boolean; code: number | null; stdout: string }> {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, 'provision', '--factory', factory, '--out', out, '--registry', `sqlite:${reg}`, '--workers', '2', '--json', ...args], {
    env: { ...process.env, NVSEC_FACTORY_PASSPHRASE: PASSPHRASE },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve) => {
    let killed = false;
    const t0 = Date.now();
    const poll = setInterval(() => {
      const due = (kill.afterMs !== undefined && Date.now() - t0 >= kill.afterMs) || (kill.afterBundles !== undefined && bundles().length >= kill.afterBundles);
      if (due && !killed) {
        killed = child.kill('SIGKILL');
      }
    }, 2);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ killed, code, stdout });
    });
  });
}

try {
  await initFactory(factory, { passphrase: PASSPHRASE, idPrefix: 'k', organization: 'Kill Test', userPin: 'kill-pin-1' });
  const rows: { run: number; how: string; killed: boolean; bundlesAfter: number; recordedAfter: number; unrecorded: number; temps: number; lockLeft: boolean }[] = [];
  for (let run = 0; run < KILLS; run++) {
    const first = !fs.existsSync(path.join(out, BATCH_FILE));
    const byTime = run % 2 === 0;
    const kill = byTime ? { afterMs: 200 + (random() % 2500) } : { afterBundles: Math.min(COUNT - 1, bundles().length + 1 + (random() % 40)) };
    const r = await provision(first ? ['--count', String(COUNT)] : ['--resume'], kill);
    let recorded = 0;
    if (fs.existsSync(path.join(out, BATCH_FILE))) {
      const registry = await openSqliteRegistry(reg);
      try {
        const batchId = JSON.parse(fs.readFileSync(path.join(out, BATCH_FILE), 'utf8')).batchId as string;
        recorded = (await registry.batch(batchId)) === null ? 0 : (await registry.devicesOfBatch(batchId)).length;
      } finally {
        await registry.close();
      }
    }
    rows.push({
      run,
      how: byTime ? `after ${kill.afterMs} ms` : `after ${kill.afterBundles} bundles`,
      killed: r.killed,
      bundlesAfter: bundles().length,
      recordedAfter: recorded,
      unrecorded: bundles().length - recorded,
      temps: temps().length,
      lockLeft: fs.existsSync(path.join(out, '.provision.lock')),
    });
    if (!r.killed && r.code === 0 && JSON.parse(r.stdout).complete === true) break;
  }
  console.table(rows);

  const final = await provision(['--resume'], {});
  assert.equal(final.code, 0, 'the final --resume failed');
  const result = JSON.parse(final.stdout);
  assert.equal(result.complete, true);
  const ids = bundles().sort();
  assert.equal(ids.length, COUNT);
  assert.deepEqual(temps(), []);
  const registry = await openSqliteRegistry(reg);
  try {
    const records = await registry.devicesOfBatch(result.batchId);
    assert.deepEqual(records.map((d) => d.id).sort(), ids);
    assert.equal(new Set(records.map((d) => d.serial)).size, COUNT);
    assert.equal(new Set(records.map((d) => d.seedHash)).size, COUNT);
    assert.equal((await registry.auditLog({ batchId: result.batchId, action: 'device.record' })).length, COUNT);
    for (const d of records) {
      const m = JSON.parse(fs.readFileSync(path.join(out, d.id, 'manifest.json'), 'utf8'));
      assert.equal(m.certificate.sha256, d.certSha256, `${d.id}: bundle and registry disagree`);
      assert.equal(createHash('sha256').update(fs.readFileSync(path.join(out, d.id, 'flash.bin'))).digest('hex'), m.flash.sha256, `${d.id}: flash.bin torn`);
    }
    const voided = await registry.auditLog({ batchId: result.batchId, action: 'certificate.void' });
    const recordedSerials = new Set(records.map((d) => d.serial));
    for (const v of voided) assert.ok(!recordedSerials.has(String(v.detail.serial)), 'a voided certificate belongs to a recorded device');
    const kills = rows.filter((r) => r.killed).length;
    const summary = {
      devices: COUNT,
      kills,
      killsLeavingUnrecordedBundles: rows.filter((r) => r.killed && r.unrecorded > 0).length,
      killsLeavingTempFolders: rows.filter((r) => r.killed && r.temps > 0).length,
      killsLeavingTheLock: rows.filter((r) => r.killed && r.lockLeft).length,
      certificatesVoided: voided.length,
      recorded: records.length,
      uniqueSerials: recordedSerials.size,
    };
    console.log(JSON.stringify(summary, null, 2));
    console.log('ok: every device unique, recorded once, bundles complete and matching, no orphans');
  } finally {
    await registry.close();
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
