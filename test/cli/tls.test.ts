import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../_support/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-cli-tls-'));
const ossl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
/** OpenSSL's SHA-256 fingerprint of a PEM file, as AA:BB:… */
const fingerprint = (file: string): string => ossl('x509', '-in', file, '-noout', '-fingerprint', '-sha256').trim().split('=')[1]!;
let server: ChildProcess;
let port = 0;

before(async () => {
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Fetch Test Root', '-addext', 'basicConstraints=critical,CA:TRUE');
  ossl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', 'server.pem');
  server = spawn('openssl', ['s_server', '-cert', 'server.pem', '-key', 'server.key', '-cert_chain', 'ca.pem', '-accept', '0', '-rev'], { cwd: dir });
  port = await new Promise<number>((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ACCEPT \S*:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.once('exit', (code) => reject(new Error(`openssl s_server exited with ${code}`)));
  });
});
after(() => {
  server?.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('nvsec tls fetch-ca', () => {
  it('prints the chain with OpenSSL\'s fingerprints and saves the root the server sent', () => {
    const out = path.join(dir, 'fetched.pem');
    const r = runCli(['tls', 'fetch-ca', `127.0.0.1:${port}`, '--servername', 'localhost', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(fingerprint(path.join(dir, 'server.pem'))));
    assert.ok(r.stdout.includes(fingerprint(path.join(dir, 'ca.pem'))));
    assert.match(r.stdout, /self-signed root "CN=Fetch Test Root"/);
    assert.equal(fingerprint(out), fingerprint(path.join(dir, 'ca.pem')));
  });

  it('does not replace an existing file without --force', () => {
    const out = path.join(dir, 'taken.pem');
    fs.writeFileSync(out, 'mine');
    const r = runCli(['tls', 'fetch-ca', `localhost:${port}`, '--out', out, '--json']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /exists: pass --force/);
    assert.equal(fs.readFileSync(out, 'utf8'), 'mine');
    const forced = runCli(['tls', 'fetch-ca', `localhost:${port}`, '--out', out, '--force', '--json']);
    assert.equal(forced.status, 0, forced.stderr);
    const json = JSON.parse(forced.stdout) as { chain: { sha256: string }[]; rootSent: boolean };
    assert.equal(json.chain.length, 2);
    assert.equal(json.rootSent, true);
    assert.equal(fingerprint(out), fingerprint(path.join(dir, 'ca.pem')));
  });

  it('refuses an address without a port as a usage error', () => {
    const r = runCli(['tls', 'fetch-ca', 'localhost']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not HOST:PORT/);
  });
});
