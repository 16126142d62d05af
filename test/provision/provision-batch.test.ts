// provisionBatch() where runs go wrong: another registry, a second run, a changed folder, a
// registry that fails mid-batch (its orphans voided and listed in the CRL on resume).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { BATCH_FILE, provisionBatch, type ProvisionBatchOptions } from '../../src/node/provision-batch.js';
import { openSqliteRegistry, type SqliteRegistry } from '../../src/node/sqlite-registry.js';
import { FACTORY_FILES } from '../../src/node/factory.js';
import type { DeviceRegistry } from '../../src/provision/registry.js';
import { runCli } from '../_support/cli.js';
import { makeTestFactory, PASSPHRASE, type TestFactory } from './_factory.js';

const bundles = (out: string): string[] => fs.readdirSync(out).filter((n) => /^t-[0-9a-f]{16}-\d{6}$/.test(n)).sort();

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<NvsecError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof NvsecError, String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

describe('provisionBatch() when runs go wrong', () => {
  let f: TestFactory;
  let n = 0;
  const registries: SqliteRegistry[] = [];
  const registry = async (): Promise<SqliteRegistry> => {
    const r = await openSqliteRegistry(path.join(f.root, `r${++n}.db`));
    registries.push(r);
    return r;
  };
  const run = (o: Partial<ProvisionBatchOptions> & { outDir: string; registry: DeviceRegistry }): ReturnType<typeof provisionBatch> =>
    provisionBatch({ factoryDir: f.dir, passphrase: PASSPHRASE, workers: 0, ...o });
  before(async () => {
    f = await makeTestFactory();
  });
  after(async () => {
    for (const r of registries) await r.close();
    f.cleanup();
  });

  it('refuses to resume against a registry that does not hold the batch, and removes nothing', async () => {
    const out = path.join(f.root, 'm');
    const a = await registry();
    await run({ outDir: out, registry: a, count: 3 });
    const before = bundles(out);
    await rejectsWith(run({ outDir: out, registry: await registry(), resume: true }), 'PROVISION_REGISTRY_MISMATCH', /has no batch .*--registry/);
    assert.deepEqual(bundles(out), before);
    assert.equal((await a.list()).length, 3);
  });

  it('one run at a time per folder: a live holder of the lock is refused, a dead one taken over', async () => {
    const out = path.join(f.root, 'l');
    const reg = await registry();
    await run({ outDir: out, registry: reg, count: 2 });
    const lock = path.join(out, '.provision.lock');
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), since: 'now' }));
    await rejectsWith(run({ outDir: out, registry: reg, resume: true }), 'PROVISION_LOCKED', new RegExp(`pid ${process.pid}`));
    assert.ok(fs.existsSync(lock), 'the live holder keeps its lock');
    const dead = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }));
    fs.writeFileSync(lock, JSON.stringify({ pid: dead, host: os.hostname(), since: 'then' }));
    const r = await run({ outDir: out, registry: reg, resume: true });
    assert.equal(r.complete, true);
    assert.equal(fs.existsSync(lock), false, 'released');
  });

  it('refuses to resume when a recorded device lost its bundle or holds another certificate', async () => {
    const out = path.join(f.root, 'c');
    const reg = await registry();
    const first = await run({ outDir: out, registry: reg, count: 3 });
    assert.equal(first.complete, true);
    const [a, b] = bundles(out);
    fs.rmSync(path.join(out, a!), { recursive: true });
    const manifest = path.join(out, b!, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
    m.certificate.sha256 = '0'.repeat(64);
    fs.writeFileSync(manifest, JSON.stringify(m));
    await rejectsWith(run({ outDir: out, registry: reg, resume: true }), 'PROVISION_INCONSISTENT', new RegExp(`${a} \\(no bundle\\), ${b} \\(its bundle holds another certificate\\)`));
  });

  it('a failing registry stops the line; resume voids the unrecorded certificates, the CRL lists them, and the batch completes', async () => {
    const out = path.join(f.root, 'x');
    const real = await registry();
    let calls = 0;
    const recordDevices = async (...args: Parameters<DeviceRegistry['recordDevices']>): ReturnType<DeviceRegistry['recordDevices']> => {
      if (++calls >= 2) throw new Error('disk full (simulated)');
      return real.recordDevices(...args);
    };
    // The real registry, but its second recordDevices fails.
    const failing = new Proxy(real, {
      get: (target, key) => (key === 'recordDevices' ? recordDevices : (Reflect.get(target, key) as (...a: unknown[]) => unknown).bind(target)),
    }) as DeviceRegistry;
    const COUNT = 200;
    const e = await rejectsWith(run({ outDir: out, registry: failing, count: COUNT }), 'PROVISION_FAILED', /recording devices in the registry failed: disk full \(simulated\)/);
    const recordedIds = new Set((await real.list()).map((d) => d.id));
    const recorded = recordedIds.size;
    assert.match(e.message, new RegExp(`${recorded} of ${COUNT} devices are recorded`));
    const made = bundles(out).length;
    assert.ok(made < COUNT, `the line went on making all ${made} devices after the registry failed`);
    const orphans = made - recorded;
    assert.ok(orphans > 0, 'the failure left no unrecorded bundle: the test did not exercise voiding');

    const batchId = JSON.parse(fs.readFileSync(path.join(out, BATCH_FILE), 'utf8')).batchId as string;
    const orphanSerials = bundles(out)
      .filter((id) => !recordedIds.has(id))
      .map((id) => JSON.parse(fs.readFileSync(path.join(out, id, 'manifest.json'), 'utf8')).certificate.serial.toLowerCase().replace(/^0+/, '') as string);
    const r = await run({ outDir: out, registry: real, resume: true });
    assert.equal(r.complete, true);
    assert.equal(r.orphansRemoved.length, orphans);
    const voided = await real.auditLog({ action: 'certificate.void', batchId });
    assert.deepEqual(voided.map((v) => v.detail.serial).sort(), [...orphanSerials].sort());

    const crl = path.join(f.root, 'x-crl.pem');
    const c = runCli(['registry', 'crl', '--factory', f.dir, '--registry', `sqlite:${path.join(f.root, `r${n}.db`)}`, '--out', crl, '--json'], { env: { NVSEC_FACTORY_PASSPHRASE: PASSPHRASE } });
    assert.equal(c.status, 0, c.stderr);
    const text = execFileSync('openssl', ['crl', '-in', crl, '-noout', '-text', '-CAfile', path.join(f.dir, FACTORY_FILES.intermediateCertificate)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    for (const serial of orphanSerials) assert.match(text, new RegExp(`Serial Number: 0*${serial}\\n[^]*?Superseded`, 'i'));
  });
});
