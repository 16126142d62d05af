import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../_support/cli.js';
import { NO_VECTORS, readManifest, vectorCases, vectorDir } from '../_support/vectors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-sb-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Every output file a manifest describes, by name, with its sha256. */
function outputHashes(outputs: unknown, into = new Map<string, string>()): Map<string, string> {
  if (outputs && typeof outputs === 'object') {
    const o = outputs as Record<string, unknown>;
    if (typeof o.file === 'string' && typeof o.sha256 === 'string') into.set(o.file, o.sha256);
    else for (const v of Object.values(o)) outputHashes(v, into);
  }
  return into;
}

describe('nvsec secure-boot replays the espsecure steps of every Secure Boot V2 vector', { skip: NO_VECTORS }, () => {
  for (const name of vectorCases('boot').filter((n) => n.startsWith('sbv2-'))) {
    it(name, () => {
      const m = readManifest('boot', name);
      const dir = path.join(tmp, name);
      fs.mkdirSync(dir);
      // Inputs only: everything the steps produce is made again by nvsec.
      const produced = outputHashes(m.outputs);
      for (const f of fs.readdirSync(vectorDir('boot', name))) {
        if (!produced.has(f) && f !== 'manifest.json') fs.copyFileSync(path.join(vectorDir('boot', name), f), path.join(dir, f));
      }
      for (const f of ['app.bin', 'app_padded.bin']) {
        if (produced.has(f)) fs.copyFileSync(path.join(vectorDir('boot', name), f), path.join(dir, f)); // made by esptool
      }
      let replayed = 0;
      for (const step of m.steps as Array<{ cmd: string[]; exit_code: number; stdout: string }>) {
        if (step.cmd[0] !== 'espsecure') continue;
        const r = runCli(['secure-boot', ...step.cmd.slice(1)], { cwd: dir });
        const label = step.cmd.join(' ');
        assert.equal(r.status, step.exit_code, `${label}\n${r.stderr}`);
        assert.equal(r.stdout.trimEnd(), step.stdout.split('\n').slice(1).join('\n'), label); // minus the version banner
        replayed++;
      }
      assert.ok(replayed >= 3);
      // Deterministic outputs are byte-identical; signed files differ only by the random signature.
      for (const [f, hash] of produced) {
        if (/signed/.test(f) || !fs.existsSync(path.join(dir, f)) || f === 'app.bin' || f === 'app_padded.bin') continue;
        assert.equal(sha256(path.join(dir, f)), hash, f);
      }
    });
  }
});

describe('nvsec secure-boot errors and options', () => {
  const key = path.join(tmp, 'k256.pem');
  const data = path.join(tmp, 'data.bin');

  it('generate-signing-key writes a 0600 key and never overwrites one', () => {
    assert.equal(runCli(['secure-boot', 'generate-signing-key', '--version', '2', '--scheme', 'ecdsa256', key]).status, 0);
    assert.equal(fs.statSync(key).mode & 0o777, 0o600);
    const before = fs.readFileSync(key);
    const again = runCli(['secure-boot', 'generate-signing-key', '--version', '2', '--scheme', 'ecdsa256', key]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already exists/);
    assert.deepEqual(fs.readFileSync(key), before);
  });

  it('sign-data then verify-signature --json, and a tampered copy fails with exit 2 (as espsecure)', () => {
    fs.writeFileSync(data, crypto.randomBytes(10000));
    const out = path.join(tmp, 'signed.bin');
    assert.equal(runCli(['secure-boot', 'sign-data', '-v', '2', '-k', key, '-o', out, data]).status, 0);
    const ok = runCli(['secure-boot', 'verify-signature', '-v', '2', '-k', key, '--json', out]);
    assert.equal(ok.status, 0);
    assert.equal(JSON.parse(ok.stdout).verified, true);
    const bytes = fs.readFileSync(out);
    bytes[5]! ^= 1;
    const bad = path.join(tmp, 'tampered.bin');
    fs.writeFileSync(bad, bytes);
    const r = runCli(['secure-boot', 'verify-signature', '-v', '2', '-k', key, bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /changed after it was signed/);
  });

  it('verify-signature as the bootloader takes eFuse digest files', () => {
    const out = path.join(tmp, 'signed.bin');
    const digest = path.join(tmp, 'digest.bin');
    assert.equal(runCli(['secure-boot', 'digest-sbv2-public-key', '-k', key, '-o', digest]).status, 0);
    assert.equal(runCli(['secure-boot', 'verify-signature', '-v', '2', '--trusted-digest', digest, out]).status, 0);
    const revoked = runCli(['secure-boot', 'verify-signature', '-v', '2', '--trusted-digest', digest, '--revoked', '0', out]);
    assert.equal(revoked.status, 2);
    assert.match(revoked.stdout, /slot 0 is revoked/);
  });

  it('verify-signature --efuse-file checks as the chip in an nvsec efuse file', () => {
    const out = path.join(tmp, 'signed-rsa.bin');
    const rsa = path.join(tmp, 'rsa.pem');
    const digest = path.join(tmp, 'rsa-digest.bin');
    const efuse = path.join(tmp, 'c3.efuse');
    assert.equal(runCli(['secure-boot', 'generate-signing-key', '-v', '2', '--scheme', 'rsa3072', rsa]).status, 0);
    assert.equal(runCli(['secure-boot', 'sign-data', '-v', '2', '-k', rsa, '-o', out, data]).status, 0);
    assert.equal(runCli(['secure-boot', 'digest-sbv2-public-key', '-k', rsa, '-o', digest]).status, 0);
    assert.equal(runCli(['efuse', 'burn-key-digest', 'BLOCK_KEY0', digest, 'SECURE_BOOT_DIGEST0', '--file', efuse, '--chip', 'esp32c3']).status, 0);
    const off = runCli(['secure-boot', 'verify-signature', '-v', '2', '--efuse-file', efuse, out]);
    assert.equal(off.status, 0);
    assert.match(off.stderr, /secure boot is not enabled/);
    assert.equal(runCli(['efuse', 'burn-efuse', 'SECURE_BOOT_KEY_REVOKE0', '1', '--file', efuse]).status, 0);
    const revoked = runCli(['secure-boot', 'verify-signature', '-v', '2', '--efuse-file', efuse, '--json', out]);
    assert.equal(revoked.status, 2);
    assert.equal(JSON.parse(revoked.stdout).blocks[0].verdict, 'revoked-key');
  });

  it('refuses version 1, a public key for signing, more than three keys, and a missing key choice', () => {
    const v1 = runCli(['secure-boot', 'sign-data', '--version', '1', '-k', key, data]);
    assert.equal(v1.status, 2);
    const pub = path.join(tmp, 'pub.pem');
    assert.equal(runCli(['secure-boot', 'extract-public-key', '-v', '2', '-k', key, pub]).status, 0);
    const withPub = runCli(['secure-boot', 'sign-data', '-v', '2', '-k', pub, '-o', path.join(tmp, 'never.bin'), data]);
    assert.equal(withPub.status, 2);
    assert.match(withPub.stderr, /public key; signing needs the private key/);
    assert.equal(fs.existsSync(path.join(tmp, 'never.bin')), false);
    const four = runCli(['secure-boot', 'sign-data', '-v', '2', '-k', key, key, key, key, '-o', path.join(tmp, 'never.bin'), data]);
    assert.equal(four.status, 2);
    assert.equal(runCli(['secure-boot', 'verify-signature', '-v', '2', data]).status, 2);
  });
});
