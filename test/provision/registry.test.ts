import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteRegistry, parseRegistrySpec, SQLITE_REGISTRY_APPLICATION_ID, type SqliteRegistry } from '../../src/node/sqlite-registry.js';
import { canonicalSerial, checkNewDevice, type NewDevice, RegistryError } from '../../src/provision/registry.js';
import { TSX } from '../_support/cli.js';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '_support', 'registry-writer.ts');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
function tmpDb(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-registry-'));
  dirs.push(dir);
  return path.join(dir, 'registry.db');
}

const sha256 = (data: Uint8Array | string): string => crypto.createHash('sha256').update(data).digest('hex');

let n = 0;
/** A device with fresh random values; the seed hash is the SHA-256 of a random 64-byte seed, computed here by OpenSSL. */
function device(batchId: string, overrides: Partial<NewDevice> = {}): NewDevice {
  n++;
  return {
    id: `dev-${n}`,
    serial: crypto.randomBytes(16).toString('hex'),
    seedHash: sha256(crypto.randomBytes(64)),
    certSha256: sha256(crypto.randomBytes(200)),
    batchId,
    bundlePath: `dev-${n}`,
    ...overrides,
  };
}

async function withBatch(fn: (registry: SqliteRegistry, file: string) => Promise<void>): Promise<void> {
  const file = tmpDb();
  const registry = await openSqliteRegistry(file);
  try {
    await registry.openBatch({ id: 'b1', factoryId: 'factory-1', requestedCount: 10 }, 'tester');
    await fn(registry, file);
  } finally {
    await registry.close();
  }
}

/** Row counts read straight from the file with better-sqlite3, not through the registry. */
function rawCounts(file: string): { devices: number; audit: number } {
  const db = new Database(file, { readonly: true });
  try {
    const one = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
    return { devices: one('SELECT count(*) AS n FROM devices'), audit: one('SELECT count(*) AS n FROM audit_log') };
  } finally {
    db.close();
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string, extra: (e: RegistryError) => void = () => {}): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof RegistryError, `expected a RegistryError, got ${String(e)}`);
    assert.equal(e.code, code);
    extra(e);
    return true;
  });
}

describe('SqliteRegistry devices', () => {
  it('recordDevice() stores the device and one device.record audit row, with the serial in canonical form', async () => {
    await withBatch(async (registry, file) => {
      const seed = crypto.randomBytes(64);
      const d = device('b1', { serial: '00A1B2', seedHash: sha256(seed) });
      const rec = await registry.recordDevice(d, 'line-3');
      assert.equal(rec.serial, 'a1b2');
      assert.equal(rec.seedHash, crypto.createHash('sha256').update(seed).digest('hex'));
      assert.equal(rec.status, 'active');
      assert.equal(rec.revokedAt, null);
      assert.deepEqual(await registry.get(d.id), rec);
      assert.deepEqual(await registry.getBySerial('A1B2'), rec);
      const audit = await registry.auditLog({ deviceId: d.id });
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.action, 'device.record');
      assert.equal(audit[0]!.actor, 'line-3');
      assert.equal(audit[0]!.batchId, 'b1');
      assert.equal(audit[0]!.detail.serial, 'a1b2');
      assert.deepEqual(rawCounts(file), { devices: 1, audit: 2 }); // batch.open + device.record
      assert.ok(!JSON.stringify(audit).includes(seed.toString('hex')), 'the seed itself appears in the audit log');
    });
  });

  for (const [field, code] of [
    ['id', 'REGISTRY_DUPLICATE_ID'],
    ['serial', 'REGISTRY_DUPLICATE_SERIAL'],
    ['seedHash', 'REGISTRY_DUPLICATE_SEED_HASH'],
  ] as const) {
    it(`recordDevice() refuses a taken ${field} with ${code} and writes nothing`, async () => {
      await withBatch(async (registry, file) => {
        const first = device('b1');
        await registry.recordDevice(first, 'tester');
        const before = rawCounts(file);
        // The same value in another spelling must still collide: upper case, and a DER sign byte for the serial.
        const taken = field === 'serial' ? `00${first.serial.toUpperCase()}` : field === 'seedHash' ? first.seedHash.toUpperCase() : first.id;
        const second = device('b1', { [field]: taken });
        await rejectsWith(registry.recordDevice(second, 'tester'), code, (e) => assert.equal(e.field, field));
        assert.deepEqual(rawCounts(file), before);
        if (field !== 'id') assert.equal(await registry.get(second.id), null);
      });
    });
  }

  it('recordDevices() records a group with one audit row each, or nothing when one of them collides', async () => {
    await withBatch(async (registry, file) => {
      const group = [device('b1'), device('b1'), device('b1')];
      const recs = await registry.recordDevices(group, 'tester');
      assert.deepEqual(
        recs.map((r) => r.id),
        group.map((d) => d.id),
      );
      assert.deepEqual(rawCounts(file), { devices: 3, audit: 4 });
      const first = device('b1');
      const clash = [first, device('b1'), device('b1', { seedHash: first.seedHash })]; // a duplicate inside the group
      await rejectsWith(registry.recordDevices(clash, 'tester'), 'REGISTRY_DUPLICATE_SEED_HASH', (e) => assert.ok(e.message.includes(clash[2]!.id)));
      await rejectsWith(registry.recordDevices([device('b1'), device('b1', { serial: group[0]!.serial })], 'tester'), 'REGISTRY_DUPLICATE_SERIAL');
      assert.deepEqual(rawCounts(file), { devices: 3, audit: 4 });
      assert.equal(await registry.get(first.id), null);
    });
  });

  it('recordDevice() refuses an unknown or complete batch and writes nothing', async () => {
    await withBatch(async (registry, file) => {
      await rejectsWith(registry.recordDevice(device('nope'), 'tester'), 'REGISTRY_NOT_FOUND');
      await registry.recordDevice(device('b1'), 'tester');
      const done = await registry.completeBatch('b1', 'tester');
      assert.equal(done.state, 'complete');
      assert.notEqual(done.completedAt, null);
      const before = rawCounts(file);
      await rejectsWith(registry.recordDevice(device('b1'), 'tester'), 'REGISTRY_BATCH_COMPLETE');
      await rejectsWith(registry.completeBatch('b1', 'tester'), 'REGISTRY_BATCH_COMPLETE');
      assert.deepEqual(rawCounts(file), before);
      const [complete] = await registry.auditLog({ action: 'batch.complete' });
      assert.deepEqual(complete?.detail, { devices: 1, requestedCount: 10 });
    });
  });

  it('recordDevices() refuses more devices than the batch was opened for, and writes none of the group', async () => {
    await withBatch(async (registry, file) => {
      await registry.recordDevices(Array.from({ length: 8 }, () => device('b1')), 'tester');
      const before = rawCounts(file);
      await rejectsWith(registry.recordDevices([device('b1'), device('b1'), device('b1')], 'tester'), 'REGISTRY_BATCH_FULL');
      assert.deepEqual(rawCounts(file), before);
      await registry.recordDevices([device('b1'), device('b1')], 'tester');
      await rejectsWith(registry.recordDevice(device('b1'), 'tester'), 'REGISTRY_BATCH_FULL');
      assert.equal((await registry.devicesOfBatch('b1')).length, 10);
    });
  });

  it('voidCertificate() logs an unrecorded device\'s serial for the CRL, and refuses a recorded device\'s serial', async () => {
    await withBatch(async (registry, file) => {
      const kept = await registry.recordDevice(device('b1'), 'tester');
      const serial = crypto.randomBytes(16).toString('hex');
      await registry.voidCertificate({ deviceId: 'dev-orphan', serial: serial.toUpperCase(), certSha256: sha256(crypto.randomBytes(9)), batchId: 'b1', reason: 'bundle never recorded' }, 'provision');
      const [row] = await registry.auditLog({ action: 'certificate.void' });
      assert.equal(row?.deviceId, 'dev-orphan');
      assert.equal(row?.batchId, 'b1');
      assert.equal(row?.detail.serial, canonicalSerial(serial));
      const before = rawCounts(file);
      await rejectsWith(registry.voidCertificate({ deviceId: 'x', serial: kept.serial, certSha256: null, batchId: 'b1', reason: 'r' }, 'provision'), 'REGISTRY_DUPLICATE_SERIAL');
      await rejectsWith(registry.voidCertificate({ deviceId: 'x', serial: '01', certSha256: null, batchId: 'nope', reason: 'r' }, 'provision'), 'REGISTRY_NOT_FOUND');
      assert.deepEqual(rawCounts(file), before);
      assert.equal(await registry.get('dev-orphan'), null, 'a void certificate is not a device');
    });
  });

  it('checkNewDevice() rejects bad fields by name before anything is written', () => {
    const ok = device('b1');
    assert.throws(() => checkNewDevice({ ...ok, bundlePath: '/abs/dev' }), /bundlePath/);
    assert.throws(() => checkNewDevice({ ...ok, bundlePath: '../dev' }), /bundlePath/);
    assert.throws(() => checkNewDevice({ ...ok, seedHash: 'ab' }), /seedHash/);
    assert.throws(() => checkNewDevice({ ...ok, serial: 'xyz' }), /serial/);
    assert.throws(() => checkNewDevice({ ...ok, id: '' }), /device\.id/);
    assert.equal(canonicalSerial('00:0A:ff'), 'aff');
    assert.equal(canonicalSerial('0000'), '0');
  });

  it('revoke() marks the device, audits the reason, and refuses a second revocation saying when', async () => {
    await withBatch(async (registry, file) => {
      const d = device('b1');
      await registry.recordDevice(d, 'tester');
      const other = device('b1');
      await registry.recordDevice(other, 'tester');
      assert.equal(await registry.isRevoked(d.serial), false);
      const rec = await registry.revoke(d.id, 'key exposed', 'alice');
      assert.equal(rec.status, 'revoked');
      assert.equal(rec.revokeReason, 'key exposed');
      assert.equal(await registry.isRevoked(d.serial.toUpperCase()), true);
      assert.equal(await registry.isRevoked(other.serial), false);
      assert.equal(await registry.isRevoked('1234'), false); // never issued
      const audit = await registry.auditLog({ deviceId: d.id });
      assert.deepEqual(
        audit.map((a) => [a.action, a.actor]),
        [
          ['device.record', 'tester'],
          ['device.revoke', 'alice'],
        ],
      );
      assert.equal(audit[1]!.detail.reason, 'key exposed');
      const before = rawCounts(file);
      await rejectsWith(registry.revoke(d.id, 'again', 'bob'), 'REGISTRY_ALREADY_REVOKED', (e) => {
        assert.equal(e.revokedAt, rec.revokedAt);
        assert.ok(e.message.includes(rec.revokedAt!));
      });
      await rejectsWith(registry.revoke('dev-unknown', 'x', 'bob'), 'REGISTRY_NOT_FOUND');
      assert.deepEqual(rawCounts(file), before);
      assert.equal((await registry.get(d.id))?.revokeReason, 'key exposed');
    });
  });

  it('list() filters by status and batch and pages in creation order', async () => {
    await withBatch(async (registry) => {
      await registry.openBatch({ id: 'b2', factoryId: 'factory-1', requestedCount: 5 }, 'tester');
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const d = device(i % 2 === 0 ? 'b1' : 'b2');
        ids.push(d.id);
        await registry.recordDevice(d, 'tester');
      }
      await registry.revoke(ids[2]!, 'lost', 'tester');
      assert.deepEqual((await registry.list()).map((d) => d.id), ids);
      assert.deepEqual((await registry.list({ batch: 'b2' })).map((d) => d.id), [ids[1], ids[3], ids[5]]);
      assert.deepEqual((await registry.list({ status: 'revoked' })).map((d) => d.id), [ids[2]]);
      assert.deepEqual((await registry.list({ status: 'active', batch: 'b1' })).map((d) => d.id), [ids[0], ids[4]]);
      assert.deepEqual((await registry.list({ limit: 2, offset: 3 })).map((d) => d.id), [ids[3], ids[4]]);
      assert.deepEqual((await registry.devicesOfBatch('b1')).map((d) => d.id), [ids[0], ids[2], ids[4]]);
      await rejectsWith(registry.devicesOfBatch('b9'), 'REGISTRY_NOT_FOUND');
      await assert.rejects(registry.list({ limit: -1 }), RangeError);
    });
  });

  it('keeps the audit log append-only and devices undeletable, even for raw SQL', async () => {
    await withBatch(async (registry, file) => {
      await registry.recordDevice(device('b1'), 'tester');
      const db = new Database(file);
      try {
        assert.throws(() => db.prepare("UPDATE audit_log SET actor = 'mallory'").run(), /append-only/);
        assert.throws(() => db.prepare('DELETE FROM audit_log').run(), /append-only/);
        assert.throws(() => db.prepare('DELETE FROM devices').run(), /never deleted/);
      } finally {
        db.close();
      }
      assert.deepEqual(rawCounts(file), { devices: 1, audit: 2 });
    });
  });
});

describe('SqliteRegistry file', () => {
  it('persists across close and reopen, and refuses to open a batch id twice', async () => {
    const file = tmpDb();
    const a = await openSqliteRegistry(file);
    const batch = await a.openBatch({ id: 'b1', factoryId: 'f', requestedCount: 3 }, 'tester');
    const d = device('b1');
    const rec = await a.recordDevice(d, 'tester');
    await a.close();
    await a.close(); // harmless
    await rejectsWith(a.get(d.id), 'REGISTRY_IO');
    const b = await openSqliteRegistry(file, { create: false });
    try {
      assert.deepEqual(await b.get(d.id), rec);
      assert.deepEqual(await b.batch('b1'), batch);
      assert.equal(await b.batch('b2'), null);
      await rejectsWith(b.openBatch({ id: 'b1', factoryId: 'f', requestedCount: 3 }, 'tester'), 'REGISTRY_DUPLICATE_BATCH');
      assert.equal((await b.auditLog()).length, 2);
    } finally {
      await b.close();
    }
  });

  it('creates the database and its WAL file with mode 0600, in WAL mode with synchronous=FULL, foreign keys, a busy timeout and its schema version', async () => {
    const file = tmpDb();
    const old = process.umask(0o022);
    try {
      const registry = await openSqliteRegistry(file);
      await registry.openBatch({ id: 'b1', factoryId: 'f', requestedCount: 1 }, 'tester');
      // SQLite's numbers: synchronous 2 = FULL (the WAL is synced at every commit).
      assert.deepEqual(await registry.settings(), { journalMode: 'wal', synchronous: 2, foreignKeys: true, busyTimeoutMs: 10_000, schemaVersion: 1 });
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.equal(fs.statSync(`${file}-wal`).mode & 0o777, 0o600);
      await registry.close();
    } finally {
      process.umask(old);
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal'); // persistent in the file
      assert.equal(db.pragma('user_version', { simple: true }), 1);
      assert.equal(db.pragma('application_id', { simple: true }), SQLITE_REGISTRY_APPLICATION_ID);
    } finally {
      db.close();
    }
  });

  it('refuses a registry written by a newer schema, and leaves the file unchanged', async () => {
    const file = tmpDb();
    (await openSqliteRegistry(file)).close();
    const db = new Database(file);
    db.pragma('user_version = 2');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const before = fs.readFileSync(file);
    await rejectsWith(openSqliteRegistry(file), 'REGISTRY_SCHEMA', (e) => assert.match(e.message, /schema version 2.*newer nvsec/));
    assert.deepEqual(fs.readFileSync(file), before);
  });

  it('refuses an SQLite file that is not a registry, a file that is not SQLite, and a missing file when create is false', async () => {
    const other = tmpDb();
    const db = new Database(other);
    db.exec('CREATE TABLE t (x)');
    db.close();
    const otherBytes = fs.readFileSync(other);
    await rejectsWith(openSqliteRegistry(other), 'REGISTRY_SCHEMA', (e) => assert.match(e.message, /not an nvsec registry/));
    assert.deepEqual(fs.readFileSync(other), otherBytes); // not even switched to WAL
    const junk = tmpDb();
    fs.writeFileSync(junk, Buffer.alloc(8192, 0x41));
    await rejectsWith(openSqliteRegistry(junk), 'REGISTRY_IO');
    const missing = tmpDb();
    await rejectsWith(openSqliteRegistry(missing, { create: false }), 'REGISTRY_NOT_FOUND');
    assert.equal(fs.existsSync(missing), false);
  });

  it('parseRegistrySpec() takes sqlite:PATH and says other schemes are not supported yet', () => {
    assert.deepEqual(parseRegistrySpec('sqlite:factory/registry.db'), { scheme: 'sqlite', path: 'factory/registry.db' });
    assert.deepEqual(parseRegistrySpec('SQLite:/var/r.db'), { scheme: 'sqlite', path: '/var/r.db' });
    for (const spec of ['postgres://db/nvsec', 'mysql:x', 'registry.db', 'sqlite:']) {
      assert.throws(
        () => parseRegistrySpec(spec),
        (e: unknown) => e instanceof RegistryError && e.code === 'REGISTRY_UNSUPPORTED',
      );
    }
    assert.throws(() => parseRegistrySpec('postgres://db/nvsec'), /not supported yet/);
  });
});

/** Starts the writer child; `lines` holds the ids it reported recorded so far. */
function startWriter(file: string, batch: string, prefix: string, count: number): { child: ChildProcess; lines: string[]; exited: Promise<number | null>; waitFor: (k: number) => Promise<void> } {
  const child = spawn(process.execPath, ['--import', TSX, WRITER, file, batch, prefix, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffered = '';
  let stderr = '';
  const waiters: { k: number; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const p of parts) lines.push(p.replace(/^recorded /, ''));
    for (const w of waiters.filter((w) => lines.length >= w.k)) w.resolve();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = (k: number): Promise<void> =>
    new Promise((resolve, reject) => {
      if (lines.length >= k) return resolve();
      waiters.push({ k, resolve });
      void exited.then((code) => (lines.length >= k ? resolve() : reject(new Error(`writer exited (${code}) after ${lines.length} devices: ${stderr}`))));
    });
  return { child, lines, exited, waitFor };
}

describe('SqliteRegistry across processes', () => {
  it('a writer SIGKILLed in the middle of a loop of recordDevice calls leaves only complete rows', async () => {
    const file = tmpDb();
    // Several kills at different points of the loop, each a little after a device was reported,
    // so some land inside a transaction.
    for (const [round, stopAfter] of [3, 10, 20, 30, 45, 60].entries()) {
      const w = startWriter(file, 'b1', `kill${stopAfter}`, 0);
      await w.waitFor(stopAfter);
      if (round % 2 === 1) await new Promise((r) => setImmediate(r));
      w.child.kill('SIGKILL');
      await w.exited;
      const db = new Database(file);
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        assert.deepEqual(db.pragma('foreign_key_check'), []);
        const orphanDevices = db.prepare("SELECT id FROM devices WHERE id NOT IN (SELECT device_id FROM audit_log WHERE action = 'device.record')").all();
        const orphanAudit = db.prepare("SELECT device_id FROM audit_log WHERE action = 'device.record' AND device_id NOT IN (SELECT id FROM devices)").all();
        assert.deepEqual(orphanDevices, []);
        assert.deepEqual(orphanAudit, []);
        const doubled = db.prepare("SELECT device_id FROM audit_log WHERE action = 'device.record' GROUP BY device_id HAVING count(*) > 1").all();
        assert.deepEqual(doubled, []);
        // Every device whose recordDevice returned before the kill is there.
        const present = new Set((db.prepare('SELECT id FROM devices').all() as { id: string }[]).map((r) => r.id));
        for (const id of w.lines) assert.ok(present.has(id), `device ${id} was reported recorded but is missing`);
      } finally {
        db.close();
      }
    }
    // The registry still opens and takes new devices afterwards.
    const registry = await openSqliteRegistry(file);
    try {
      await registry.recordDevice(device('b1'), 'tester');
    } finally {
      await registry.close();
    }
  });

  it('two writers create one new file together and share it through the busy timeout while another process reads (WAL)', async () => {
    const file = tmpDb();
    fs.rmSync(file, { force: true });
    // Both writers start on a file that does not exist yet: one creates the schema, the other waits for it.
    const a = startWriter(file, 'b1', 'a', 150);
    const b = startWriter(file, 'b1', 'b', 150);
    await a.waitFor(1);
    const reader = await openSqliteRegistry(file, { create: false });
    try {
      let last = 0;
      let reads = 0;
      let done = false;
      void Promise.all([a.exited, b.exited]).then(() => (done = true));
      while (!done) {
        const seen = (await reader.list({ batch: 'b1' })).length;
        assert.ok(seen >= last, 'a reader saw rows disappear');
        last = seen;
        reads++;
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(await a.exited, 0);
      assert.equal(await b.exited, 0);
      assert.ok(reads > 1, 'the reader never read while the writers ran');
      const all = await reader.devicesOfBatch('b1');
      assert.equal(all.length, 300);
      assert.equal(new Set(all.map((d) => d.serial)).size, 300);
      assert.equal((await reader.auditLog({ action: 'device.record' })).length, 300);
    } finally {
      await reader.close();
    }
  });
});
