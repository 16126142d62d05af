// The main job end to end against a real, independent TLS server: provision → device boot →
// device connect to `openssl s_server` requiring a client certificate from the factory root;
// then a device revoked in the registry is refused in the handshake through `registry crl`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FACTORY_FILES } from '../../src/node/factory.js';
import { BATCH_FILE } from '../../src/node/provision-batch.js';
import { runCli } from '../_support/cli.js';
import { type OpensslServer, startOpensslServer, stopOpensslServers } from '../_support/openssl-server.js';
import { makeTestFactory, PASSPHRASE, type TestFactory } from './_factory.js';

const ENV = { NVSEC_FACTORY_PASSPHRASE: PASSPHRASE, NVSEC_PIN: '' };
/** `openssl s_server -www` on a free port, demanding a client certificate the factory root verifies. */
const startServer = (cwd: string, ...extra: string[]): Promise<OpensslServer> =>
  startOpensslServer(cwd, ['-Verify', '1', '-verify_return_error', '-CAfile', 'root-ca.pem', '-cert', 'server.pem', '-key', 'server.key', '-www', ...extra]);

describe('provision → device boot → device connect against openssl s_server', () => {
  let f: TestFactory;
  let srv: string;
  let ids: string[];
  let out: string;
  let reg: string;
  before(async () => {
    f = await makeTestFactory();
    srv = path.join(f.root, 'server');
    fs.mkdirSync(srv);
    // The server's certificate, made by OpenSSL with the factory's (encrypted) root key.
    const ossl = (...args: string[]): string => execFileSync('openssl', args, { cwd: srv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    fs.copyFileSync(path.join(f.dir, FACTORY_FILES.rootCertificate), path.join(srv, 'root-ca.pem'));
    ossl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    fs.writeFileSync(path.join(srv, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
    ossl('x509', '-req', '-in', 'server.csr', '-CA', 'root-ca.pem', '-CAkey', path.join(f.dir, FACTORY_FILES.rootKey), '-passin', `pass:${PASSPHRASE}`, '-set_serial', '0x77', '-days', '1', '-extfile', 'server.ext', '-out', 'server.pem');

    out = path.join(f.root, 'batch');
    reg = `sqlite:${path.join(f.root, 'registry.db')}`;
    const r = runCli(['provision', '--factory', f.dir, '--count', '2', '--out', out, '--workers', '0', '--registry', reg, '--json'], { env: ENV });
    assert.equal(r.status, 0, r.stderr);
    ids = fs.readdirSync(out).filter((n) => n !== BATCH_FILE).sort();
    assert.equal(ids.length, 2);
  });
  after(() => {
    stopOpensslServers();
    f.cleanup();
  });

  const connect = (id: string, port: number, ca = path.join(f.dir, FACTORY_FILES.rootCertificate)): ReturnType<typeof runCli> =>
    runCli(['device', 'connect', path.join(out, id), '--host', '127.0.0.1', '--servername', 'localhost', '--port', String(port), '--ca', ca, '--pin', 'firmware-pin-1', '--send', 'GET / HTTP/1.0\\r\\n\\r\\n', '--json'], { env: ENV });

  it('a provisioned device boots, then connects with its token key: the server saw its certificate', async () => {
    const boot = runCli(['device', 'boot', path.join(out, ids[0]!), '--json', '--pin', 'firmware-pin-1'], { env: ENV });
    assert.equal(boot.status, 0, boot.stderr);
    assert.equal(JSON.parse(boot.stdout).identity.deviceId, ids[0]);

    const server = await startServer(srv);
    const r = connect(ids[0]!, server.port);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.ok, true);
    const page = String(result.received);
    assert.match(page, /Client certificate/);
    assert.match(page, new RegExp(`Subject: O=Acme Test, CN=${ids[0]}`));
    assert.match(page, /Issuer: O=Acme Test, CN=Acme Test Manufacturing CA/);
  });

  it('device flash-app re-flashes a trusted app keeping the credentials, and refuses an untrusted one without writing', async () => {
    const bundle = path.join(out, ids[0]!);
    const boot = (): { serial: string; seed: string } => {
      const r = runCli(['device', 'boot', bundle, '--json'], { env: ENV });
      assert.equal(r.status, 0, r.stderr);
      const report = JSON.parse(r.stdout);
      return { serial: report.identity.certificate.serial, seed: report.nvSeed.after };
    };
    const before = boot();
    const ok = runCli(['device', 'flash-app', bundle, path.join(f.dir, FACTORY_FILES.signedApp), '--json'], { env: ENV });
    assert.equal(ok.status, 0, ok.stderr);
    const after = boot();
    assert.equal(after.serial, before.serial, 'the credentials survive the re-flash');
    assert.notEqual(after.seed, before.seed, 'each boot refreshes the NV seed');
    // An app signed with another key: refused, flash.bin byte for byte unchanged.
    const other = path.join(srv, 'other-signed.bin');
    execFileSync('openssl', ['genrsa', '-out', path.join(srv, 'other.pem'), '3072'], { stdio: 'ignore' });
    const signed = runCli(['secure-boot', 'sign-data', '--version', '2', '--keyfile', path.join(srv, 'other.pem'), '--output', other, path.join(f.dir, FACTORY_FILES.app)]);
    assert.equal(signed.status, 0, signed.stderr);
    const flashBefore = fs.readFileSync(path.join(bundle, 'flash.bin'));
    const refused = runCli(['device', 'flash-app', bundle, other], { env: ENV });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /not signed by a key the eFuses trust.*nothing was written/);
    assert.ok(fs.readFileSync(path.join(bundle, 'flash.bin')).equals(flashBefore));
  });

  it('refuses to trust a server its pinned CA did not certify', async () => {
    const server = await startServer(srv);
    const other = path.join(srv, 'other-ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(srv, 'other.key'), '-out', other, '-days', '1', '-subj', '/CN=Other CA'], { stdio: 'ignore' });
    const r = connect(ids[0]!, server.port, other);
    assert.equal(r.status, 1);
    const result = JSON.parse(r.stdout);
    assert.equal(result.ok, false);
    assert.equal(result.step, 'tls-handshake');
  });

  it('a device revoked in the registry is refused in the handshake once the server loads the registry CRL; the others still connect', async () => {
    const revoke = runCli(['registry', 'revoke', ids[1]!, '--reason', 'test: stolen', '--registry', reg], { env: ENV });
    assert.equal(revoke.status, 0, revoke.stderr);
    const crl = path.join(srv, 'crl.pem');
    const made = runCli(['registry', 'crl', '--factory', f.dir, '--registry', reg, '--out', crl, '--json'], { env: ENV });
    assert.equal(made.status, 0, made.stderr);
    // OpenSSL reads the CRL as signed by the manufacturing CA and listing the revoked serial.
    const text = execFileSync('openssl', ['crl', '-in', crl, '-noout', '-text', '-CAfile', path.join(f.dir, FACTORY_FILES.intermediateCertificate)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const serial = JSON.parse(made.stdout).revoked[0] as string;
    assert.match(text, new RegExp(`Serial Number: 0*${serial}`, 'i'));

    const server = await startServer(srv, '-crl_check', '-CRL', crl);
    const refused = connect(ids[1]!, server.port);
    assert.equal(refused.status, 1);
    const result = JSON.parse(refused.stdout);
    assert.equal(result.ok, false);
    assert.match(String(result.error), /certificate_revoked|revoked/);
    const ok = connect(ids[0]!, server.port);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).ok, true);
  });
});
