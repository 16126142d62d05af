import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteRegistry } from '../../src/node/sqlite-registry.js';
import type { NewDevice } from '../../src/provision/registry.js';
import { runCli } from '../_support/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-registry-cli-'));
const file = path.join(dir, 'registry.db');
const spec = `sqlite:${file}`;
const sha256 = (data: Uint8Array): string => crypto.createHash('sha256').update(data).digest('hex');
const devices: NewDevice[] = [];

before(async () => {
  const registry = await openSqliteRegistry(file);
  try {
    await registry.openBatch({ id: 'b1', factoryId: 'f1', requestedCount: 2 }, 'provision');
    await registry.openBatch({ id: 'b2', factoryId: 'f1', requestedCount: 1 }, 'provision');
    for (const [i, batchId] of ['b1', 'b1', 'b2'].entries()) {
      const d: NewDevice = {
        id: `dev-${i + 1}`,
        serial: `0${i + 1}${crypto.randomBytes(8).toString('hex')}`,
        seedHash: sha256(crypto.randomBytes(64)),
        certSha256: sha256(crypto.randomBytes(100)),
        batchId,
        bundlePath: `dev-${i + 1}`,
      };
      devices.push(d);
      await registry.recordDevice(d, 'provision');
    }
  } finally {
    await registry.close();
  }
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('nvsec registry', () => {
  it('list --json prints every device, and --status/--batch filter them', () => {
    const r = runCli(['registry', 'list', '--registry', spec, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.count, 3);
    assert.deepEqual(
      out.devices.map((d: { id: string }) => d.id),
      ['dev-1', 'dev-2', 'dev-3'],
    );
    // Serials come out canonical: lowercase, no leading zero.
    assert.equal(out.devices[0].serial, devices[0]!.serial.replace(/^0+/, ''));
    assert.equal(out.devices[0].seedHash, devices[0]!.seedHash);
    const b2 = JSON.parse(runCli(['registry', 'list', '--registry', spec, '--batch', 'b2', '--json']).stdout);
    assert.deepEqual(
      b2.devices.map((d: { id: string }) => d.id),
      ['dev-3'],
    );
  });

  it('list prints a table with id, serial, status, batch and created', () => {
    const r = runCli(['registry', 'list', '--registry', spec, '--limit', '1']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^ID\s+SERIAL\s+STATUS\s+BATCH\s+CREATED$/);
    assert.match(lines[1]!, /^dev-1\s+[0-9a-f]+\s+active\s+b1\s+\d{4}-\d\d-\d\dT/);
  });

  it('revoke exits 0 with a message, shows up in show --json and list --status, and a second revoke exits 1 saying when', () => {
    const r = runCli(['registry', 'revoke', 'dev-2', '--reason', 'returned by customer', '--actor', 'alice', '--registry', spec]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Revoked device dev-2/);
    const show = runCli(['registry', 'show', 'dev-2', '--registry', spec, '--json']);
    assert.equal(show.status, 0, show.stderr);
    const { device, audit } = JSON.parse(show.stdout);
    assert.equal(device.status, 'revoked');
    assert.equal(device.revokeReason, 'returned by customer');
    assert.deepEqual(
      audit.map((a: { action: string; actor: string }) => [a.action, a.actor]),
      [
        ['device.record', 'provision'],
        ['device.revoke', 'alice'],
      ],
    );
    const revoked = JSON.parse(runCli(['registry', 'list', '--registry', spec, '--status', 'revoked', '--json']).stdout);
    assert.deepEqual(
      revoked.devices.map((d: { id: string }) => d.id),
      ['dev-2'],
    );
    const again = runCli(['registry', 'revoke', 'dev-2', '--reason', 'again', '--registry', spec]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, new RegExp(`already revoked at ${device.revokedAt.replace(/[.]/g, '\\.')}`));
  });

  it('show and revoke of an unknown id exit 1', () => {
    for (const args of [
      ['show', 'dev-404'],
      ['revoke', 'dev-404', '--reason', 'x'],
    ]) {
      const r = runCli(['registry', ...args, '--registry', spec]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /No device "dev-404"/);
    }
  });

  it('refuses a missing registry file without creating it, and an unsupported scheme with exit 2', () => {
    const missing = path.join(dir, 'missing.db');
    const r = runCli(['registry', 'list', '--registry', `sqlite:${missing}`]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /No registry at/);
    assert.equal(fs.existsSync(missing), false);
    const pg = runCli(['registry', 'list', '--registry', 'postgres://db/nvsec']);
    assert.equal(pg.status, 2);
    assert.match(pg.stderr, /not supported yet/);
    const noReason = runCli(['registry', 'revoke', 'dev-1', '--registry', spec]);
    assert.equal(noReason.status, 2);
    assert.match(noReason.stderr, /--reason/);
  });
});
