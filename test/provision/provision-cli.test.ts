import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BATCH_FILE } from '../../src/node/provision-batch.js';
import { readDeviceBundle } from '../../src/node/device-bundle.js';
import { openSqliteRegistry } from '../../src/node/sqlite-registry.js';
import { runCli, TSX } from '../_support/cli.js';
import { mulberry32 } from '../_support/mulberry32.js';
import { makeTestFactory, PASSPHRASE, type TestFactory } from './_factory.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.ts');
const ENV = { NVSEC_FACTORY_PASSPHRASE: PASSPHRASE };

/** Complete bundle folders (named by device id; `<id>.tmp-…` ones are half-written) in `out`. */
const bundles = (out: string): string[] => (fs.existsSync(out) ? fs.readdirSync(out).filter((n) => /^t-[0-9a-f]{16}-\d{6}$/.test(n)).sort() : []);
const temps = (out: string): string[] => (fs.existsSync(out) ? fs.readdirSync(out).filter((n) => n.includes('.tmp-')) : []);

describe('nvsec provision', () => {
  let f: TestFactory;
  before(async () => {
    f = await makeTestFactory();
  });
  after(() => f.cleanup());

  it('makes a batch: one bundle per device, each recorded once, each boots as itself', async () => {
    const out = path.join(f.root, 'batch-a');
    const reg = path.join(f.root, 'a.db');
    const r = runCli(['provision', '--factory', f.dir, '--count', '3', '--out', out, '--workers', '2', '--registry', `sqlite:${reg}`, '--json'], { env: ENV });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.complete, true);
    assert.equal(result.madeThisRun, 3);
    assert.deepEqual(Object.keys(result.stageMeansMs).sort(), ['bundle', 'certificate', 'encryption', 'keygen', 'nvs', 'registry']);
    const ids = bundles(out);
    assert.equal(ids.length, 3);
    for (const id of ids) assert.match(id, new RegExp(`^t-${result.batchId}-00000[1-3]$`));
    const registry = await openSqliteRegistry(reg);
    try {
      const rows = await registry.devicesOfBatch(result.batchId);
      assert.deepEqual(rows.map((d) => d.id).sort(), ids);
      assert.equal((await registry.batch(result.batchId))?.state, 'complete');
      for (const row of rows) {
        const b = readDeviceBundle(path.join(out, row.id));
        b.efuse.destroy();
        assert.equal(b.manifest.certificate.serial.toLowerCase().replace(/^0+/, ''), row.serial);
        // The manifest holds no secret: no key or seed material, only names and digests.
        assert.doesNotMatch(JSON.stringify(b.manifest), /firmware-pin-1|PRIVATE/);
      }
    } finally {
      await registry.close();
    }
    const boot = runCli(['device', 'boot', path.join(out, ids[1]!), '--json', '--pin', 'firmware-pin-1']);
    assert.equal(boot.status, 0, boot.stderr);
    const report = JSON.parse(boot.stdout);
    assert.equal(report.identity.deviceId, ids[1]);
    assert.equal(report.identity.chainComplete, true);
    assert.equal(report.secureBoot.enabled, true);

    const again = runCli(['provision', '--factory', f.dir, '--out', out, '--resume', '--registry', `sqlite:${reg}`, '--json'], { env: ENV });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).madeThisRun, 0, 'a complete batch has nothing left to make');
    assert.deepEqual(bundles(out), ids);
  });

  it('refuses bad input with a clear error and writes nothing', () => {
    const out = path.join(f.root, 'batch-b');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'something'), 'x');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--factory', f.dir, '--count', '2', '--out', out], ENV, /is not empty/],
      [['--factory', path.join(f.root, 'none'), '--count', '2', '--out', path.join(f.root, 'b2')], ENV, /is not a factory/],
      [['--factory', f.dir, '--count', '2', '--out', path.join(f.root, 'b3')], { NVSEC_FACTORY_PASSPHRASE: '' }, /passphrase is needed/],
      [['--factory', f.dir, '--out', path.join(f.root, 'b4'), '--resume'], ENV, /holds no batch to resume/],
      [['--factory', f.dir, '--out', path.join(f.root, 'b5')], ENV, /--count is required/],
    ];
    for (const [args, env, message] of cases) {
      const r = runCli(['provision', ...args, '--registry', `sqlite:${path.join(f.root, 'b.db')}`], { env });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.deepEqual(fs.readdirSync(out), ['something']);
    for (const d of ['b2', 'b3', 'b4', 'b5']) assert.equal(fs.existsSync(path.join(f.root, d)), false, `${d} was created`);
    const wrong = runCli(['provision', '--factory', f.dir, '--count', '2', '--out', path.join(f.root, 'b6')], { env: { NVSEC_FACTORY_PASSPHRASE: 'wrong passphrase' } });
    assert.equal(wrong.status, 2);
    assert.match(wrong.stderr, /passphrase/i);
    assert.equal(fs.existsSync(path.join(f.root, 'b6')), false);
    // A folder that is not a factory: refused before the default registry (inside it) is created.
    const notFactory = path.join(f.root, 'not-a-factory');
    fs.mkdirSync(notFactory);
    const r = runCli(['provision', '--factory', notFactory, '--count', '1', '--out', path.join(f.root, 'b7')], { env: ENV });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /is not a factory/);
    assert.deepEqual(fs.readdirSync(notFactory), []);
  });

  it('starts afresh in a folder a run killed while writing batch.json left (only the temporary file there)', () => {
    const out = path.join(f.root, 'batch-t');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, '.batch.json.0a1b2c3d4e5f.tmp'), '{"format":');
    const resume = runCli(['provision', '--factory', f.dir, '--out', out, '--resume', '--registry', `sqlite:${path.join(f.root, 't.db')}`], { env: ENV });
    assert.equal(resume.status, 2);
    assert.match(resume.stderr, /holds no batch to resume .* start one with --count/);
    const r = runCli(['provision', '--factory', f.dir, '--count', '1', '--out', out, '--workers', '0', '--registry', `sqlite:${path.join(f.root, 't.db')}`, '--json'], { env: ENV });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(out).filter((n) => n.startsWith('.')), []);
    assert.equal(bundles(out).length, 1);
  });

  it('SIGKILLed at random points, --resume finishes the batch: every device unique, recorded once, no orphans, no half-written bundles', async () => {
    const COUNT = 24;
    const out = path.join(f.root, 'batch-k');
    const reg = path.join(f.root, 'k.db');
    const random = mulberry32(0x5eed7);
    const args = ['--factory', f.dir, '--out', out, '--workers', '2', '--registry', `sqlite:${reg}`, '--json'];
    let leftovers = 0;
    let kills = 0;
    for (let run = 0; run < 4; run++) {
      const before = bundles(out).length;
      // Kill once this run has finished 1..6 more bundles (or at once, when the batch file is all there is).
      const target = Math.min(COUNT - 1, before + 1 + (random() % 6));
      leftovers += temps(out).length;
      const child = spawn(process.execPath, ['--import', TSX, MAIN, 'provision', ...args, ...(run === 0 ? ['--count', String(COUNT)] : ['--resume'])], {
        env: { ...process.env, ...ENV },
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      let done = false;
      void exited.then(() => (done = true));
      while (!done && bundles(out).length < target) await new Promise((r) => setTimeout(r, 5));
      if (!done) {
        child.kill('SIGKILL');
        kills++;
      }
      await exited;
      // What the kill left: registry rows lag the bundles (they are recorded in groups), and maybe a .tmp- folder.
      const registry = await openSqliteRegistry(reg);
      try {
        const batch = JSON.parse(fs.readFileSync(path.join(out, BATCH_FILE), 'utf8'));
        const recorded = new Set((await registry.devicesOfBatch(batch.batchId)).map((d) => d.id));
        leftovers += bundles(out).filter((id) => !recorded.has(id)).length + temps(out).length;
        for (const id of recorded) assert.ok(fs.existsSync(path.join(out, id, 'manifest.json')), `recorded device ${id} has no complete bundle`);
      } finally {
        await registry.close();
      }
    }
    assert.ok(kills >= 3, `only ${kills} runs were killed before they finished`);
    assert.ok(leftovers > 0, 'the kills never left an unrecorded or half-written bundle: the test did not exercise --resume');

    const final = runCli(['provision', ...args, '--resume'], { env: ENV });
    assert.equal(final.status, 0, final.stderr);
    const result = JSON.parse(final.stdout);
    assert.equal(result.complete, true);

    const ids = bundles(out);
    assert.equal(ids.length, COUNT);
    assert.deepEqual(temps(out), []);
    const registry = await openSqliteRegistry(reg);
    try {
      const rows = await registry.devicesOfBatch(result.batchId);
      assert.deepEqual(rows.map((d) => d.id).sort(), ids, 'registry rows and bundles are the same set');
      assert.equal(new Set(rows.map((d) => d.serial)).size, COUNT);
      assert.equal(new Set(rows.map((d) => d.seedHash)).size, COUNT);
      assert.equal((await registry.auditLog({ batchId: result.batchId, action: 'device.record' })).length, COUNT, 'each device recorded exactly once');
      const flashHashes = new Set<string>();
      for (const row of rows) {
        const b = readDeviceBundle(path.join(out, row.id));
        b.efuse.destroy();
        assert.equal(b.manifest.certificate.serial.toLowerCase().replace(/^0+/, ''), row.serial, `${row.id}: the bundle is the device the registry recorded`);
        const flash = fs.readFileSync(b.flashFile);
        assert.equal(createHash('sha256').update(flash).digest('hex'), b.manifest.flash.sha256, `${row.id}: flash.bin is whole`);
        flashHashes.add(b.manifest.flash.sha256);
      }
      assert.equal(flashHashes.size, COUNT);
    } finally {
      await registry.close();
    }
  });
});
