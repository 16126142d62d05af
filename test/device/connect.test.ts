import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bootDevice, type BootedDevice } from '../../src/device/boot.js';
import { connectDevice, type ConnectDeviceOptions, deviceClientChain } from '../../src/device/connect.js';
import { defaultFlashLayout } from '../../src/device/flash-layout.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { writeDeviceBundle } from '../../src/node/device-bundle.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { nodeTlsCrypto } from '../../src/node/node-tls-crypto.js';
import { readSigningKey } from '../../src/node/signing-key.js';
import { nodeTcpTransport } from '../../src/node/tcp-transport.js';
import { TokenSession } from '../../src/pkcs11/token-session.js';
import { loadCertificates } from '../../src/provision/certificates.js';
import { runCli } from '../_support/cli.js';
import { type OpensslServer, startOpensslServer, stopOpensslServers } from '../_support/openssl-server.js';
import { buildHandMadeDevice, DEVICE_ID, type HandBuiltDevice, USER_PIN } from './_device.js';

// The server is Debian's `openssl s_server` requiring a client certificate from the device's CAs
// (root + JITP, made by OpenSSL in _device.ts); its own certificate comes from an independent
// OpenSSL-made server CA. The device is booted from a bundle, as the CLI does.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-connect-'));
const at = (name: string): string => path.join(dir, name);
const ossl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const derOf = (pemFile: string): Uint8Array => new Uint8Array(execFileSync('openssl', ['x509', '-in', pemFile, '-outform', 'DER'], { cwd: dir }));

type Server = OpensslServer;
/** Starts `openssl s_server` on a free port demanding a client certificate from the device CAs. */
const startServer = (...extra: string[]): Promise<Server> =>
  startOpensslServer(dir, ['-Verify', '1', '-verify_return_error', '-CAfile', 'device-cas.pem', '-cert', 'server.pem', '-key', 'server.key', '-no_dhe', ...extra]);
/** Lets the server's output reach us (runCli blocks the event loop while the CLI runs). */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200));

let dev: HandBuiltDevice;
let bundle: string;
let www: Server;
const GET = 'GET / HTTP/1.0\\r\\n\\r\\n'; // as typed on a command line: the CLI turns \r\n into CR LF

before(async () => {
  dev = await buildHandMadeDevice();
  for (const [name, text] of Object.entries({ 'device.pem': dev.pem.device, 'jitp.pem': dev.pem.jitp, 'root.pem': dev.pem.root, 'jitp.key': dev.pem.jitpKey })) fs.writeFileSync(at(name), text);
  fs.writeFileSync(at('device-cas.pem'), dev.pem.root + dev.pem.jitp);

  // The server side: its own CA, a certificate for localhost / 127.0.0.1, an expired one, another CA.
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server-ca.key', '-out', 'server-ca.pem', '-days', '2', '-subj', '/CN=Test Server CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=Other CA', '-addext', 'basicConstraints=critical,CA:TRUE');
  ossl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(at('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  ossl('x509', '-req', '-in', 'server.csr', '-CA', 'server-ca.pem', '-CAkey', 'server-ca.key', '-set_serial', '0x5001', '-days', '1', '-extfile', 'server.ext', '-out', 'server.pem');
  // expired: `openssl ca` sets explicit dates (January 2025)
  fs.writeFileSync(at('index.txt'), '');
  fs.writeFileSync(at('serial'), '5002\n');
  fs.writeFileSync(at('ca.cnf'), '[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n');
  ossl('ca', '-batch', '-config', 'ca.cnf', '-cert', 'server-ca.pem', '-keyfile', 'server-ca.key', '-in', 'server.csr', '-startdate', '20250101000000Z', '-enddate', '20250201000000Z', '-extfile', 'server.ext', '-notext', '-out', 'expired.pem');
  assert.match(ossl('x509', '-in', 'expired.pem', '-noout', '-enddate'), /notAfter=Feb {2}1 00:00:00 2025 GMT/);

  bundle = writeDeviceBundle(at('out'), { id: DEVICE_ID, layout: defaultFlashLayout(), flash: dev.flash, efuse: dev.efuse, certificate: derOf('device.pem') });
  www = await startServer('-www');
});
after(() => {
  stopOpensslServers();
  fs.rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]): ReturnType<typeof runCli> => runCli(['device', 'connect', bundle, '--host', '127.0.0.1', ...args], { env: { NVSEC_PIN: '' } });
const json = (r: ReturnType<typeof runCli>): Record<string, unknown> => JSON.parse(r.stdout) as Record<string, unknown>;

describe('nvsec device connect against openssl s_server', () => {
  it('completes the handshake with the token-held key: the server saw the device certificate, and --json says ok', async () => {
    const r = cli('--port', String(www.port), '--servername', 'localhost', '--ca', at('server-ca.pem'), '--pin', USER_PIN, '--send', GET, '--json');
    assert.equal(r.status, 0, r.stderr);
    const result = json(r);
    assert.equal(result.ok, true);
    assert.equal(result.id, DEVICE_ID);
    assert.equal(result.cipherSuite, 'TLS_AES_128_GCM_SHA256');
    assert.deepEqual(result.clientCertificate, { requested: true, sent: [dev.device.subject, dev.jitp.subject] });
    assert.deepEqual((result.server as { chain: { subject: string }[] }).chain.map((c) => c.subject), ['CN=localhost', 'CN=Test Server CA']);
    assert.equal(result.end, 'closed');
    // s_server -www answers with its view of the session, the client certificate included
    const page = String(result.received);
    assert.match(page, /HTTP\/1\.0 200 ok/);
    assert.match(page, /Client certificate/);
    assert.match(page, /Client certificate\nCertificate:\n[^]*Issuer: O=Acme, CN=Acme JITP CA\n[^]*Subject: O=Acme, Inc\., CN=nvsec-0001\n/);
    assert.ok(page.includes(dev.pem.device.trim()), 'the page ends with the client certificate PEM: the very one OpenSSL made for the device');
    await settle();
    assert.match(www.log(), /depth=0 O = "Acme, Inc\.", CN = nvsec-0001/);
    assert.match(www.log(), /depth=1 O = Acme, CN = Acme JITP CA/);
  });

  it('prints the device, the server chain, the suite and the client-certificate request in text', () => {
    const r = cli('--port', String(www.port), '--servername', 'localhost', '--ca', at('server-ca.pem'), '--pin', USER_PIN, '--send', GET);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^device +${DEVICE_ID} `, 'm'));
    assert.match(r.stdout, /^ +0 CN=localhost$/m);
    assert.match(r.stdout, /^ +1 CN=Test Server CA$/m);
    assert.match(r.stdout, /^cipher +TLS_AES_128_GCM_SHA256/m);
    assert.match(r.stdout, /the server asked for a certificate: sent CN=nvsec-0001,O=Acme\\, Inc\. <- CN=Acme JITP CA,O=Acme; signed in the token/);
    assert.match(r.stdout, /Client certificate/);
  });

  it('takes a DER --ca, and without --send waits for the server\'s verdict on the device certificate', () => {
    fs.writeFileSync(at('server-ca.der'), derOf('server-ca.pem'));
    const r = cli('--port', String(www.port), '--servername', 'localhost', '--ca', at('server-ca.der'), '--pin', USER_PIN, '--json');
    assert.equal(r.status, 0, r.stderr);
    const result = json(r);
    assert.equal(result.ok, true);
    assert.equal(result.end, 'idle'); // -www waits for a request: no alert came, so the device was accepted
    assert.equal(result.received, '');
  });

  it('names the input step for a --ca file that holds no certificate', () => {
    fs.writeFileSync(at('not-a-ca.pem'), dev.pem.jitpKey);
    const r = cli('--port', String(www.port), '--ca', at('not-a-ca.pem'), '--pin', USER_PIN, '--json');
    assert.equal(r.status, 1);
    assert.equal(json(r).step, 'input');
    assert.equal(json(r).code, 'CLI_BAD_CA');
  });

  it('fails with a verification error when --ca is not the server\'s CA', () => {
    const r = cli('--port', String(www.port), '--servername', 'localhost', '--ca', at('other-ca.pem'), '--pin', USER_PIN, '--json');
    assert.equal(r.status, 1);
    const result = json(r);
    assert.equal(result.ok, false);
    assert.equal(result.step, 'tls-handshake');
    assert.equal(result.code, 'TLS_UNTRUSTED_SERVER');
    assert.match(r.stderr, /step tls-handshake: the server certificate failed verification: it does not chain to --ca/);
  });

  it('fails when the server certificate has expired, and says so', async () => {
    const s = await startServer('-www', '-cert', 'expired.pem');
    const r = cli('--port', String(s.port), '--servername', 'localhost', '--ca', at('server-ca.pem'), '--pin', USER_PIN, '--json');
    assert.equal(r.status, 1);
    assert.equal(json(r).code, 'TLS_CERT_EXPIRED');
    assert.match(r.stderr, /step tls-handshake: .*has expired/);
    assert.match(r.stderr, /2025-02-01T00:00:00\.000Z/);
  });

  it('fails when the server certificate is for another host name, and says so', () => {
    const r = cli('--port', String(www.port), '--servername', 'broker.example.com', '--ca', at('server-ca.pem'), '--pin', USER_PIN);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /step tls-handshake: .*host name mismatch/);
    assert.match(r.stderr, /not valid for "broker\.example\.com"/);
  });

  it('is refused by a server with a CRL (made by createCrl) that revokes the device, and accepted when the CRL lists another serial', async () => {
    const certs = await loadCertificates({ webCrypto: globalThis.crypto, crypto: nodeCrypto });
    const issuer = { certificate: certs.parseCertificate(dev.pem.jitp), signer: readSigningKey(dev.pem.jitpKey, 'jitp.key').signer! };
    const window = { thisUpdate: new Date(Date.now() - 3600e3), nextUpdate: new Date(Date.now() + 86400e3) };
    const revoked = await certs.createCrl({ issuer, revoked: [{ serial: dev.device.serial, revokedAt: new Date(Date.now() - 60e3), reason: 'keyCompromise' }], ...window });
    const other = await certs.createCrl({ issuer, revoked: [{ serial: '7777', revokedAt: new Date(Date.now() - 60e3) }], ...window });
    fs.writeFileSync(at('revoked.crl.pem'), revoked.pem);
    fs.writeFileSync(at('other.crl.pem'), other.pem);

    const refusing = await startServer('-crl_check', '-CRL', 'revoked.crl.pem');
    const r = cli('--port', String(refusing.port), '--servername', 'localhost', '--ca', at('server-ca.pem'), '--pin', USER_PIN, '--json');
    assert.equal(r.status, 1, r.stdout);
    const result = json(r);
    assert.equal(result.step, 'client-certificate');
    assert.equal(result.code, 'TLS_ALERT');
    assert.match(String(result.error), /certificate_revoked/);
    assert.match(r.stderr, /refused the device certificate: it is revoked/);
    await settle();
    assert.match(refusing.log(), /certificate revoked/);

    const accepting = await startServer('-crl_check', '-CRL', 'other.crl.pem', '-www');
    const ok = cli('--port', String(accepting.port), '--servername', 'localhost', '--ca', at('server-ca.pem'), '--pin', USER_PIN, '--send', GET, '--json');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(String(json(ok).received), /Client certificate/);
  });

  it('says a PIN is needed without one, before booting', () => {
    const before = fs.readFileSync(path.join(bundle, 'flash.bin'));
    const r = cli('--port', String(www.port), '--ca', at('server-ca.pem'), '--json');
    assert.equal(r.status, 1);
    assert.equal(json(r).step, 'input');
    assert.match(r.stderr, /needs the user PIN: give --pin PIN, --pin-file FILE or set NVSEC_PIN/);
    assert.deepEqual(fs.readFileSync(path.join(bundle, 'flash.bin')), before, 'nothing was booted');
  });

  it('names the boot stage when the PIN is wrong', () => {
    const r = cli('--port', String(www.port), '--ca', at('server-ca.pem'), '--pin', 'wrong-pin', '--json');
    assert.equal(r.status, 1);
    const result = json(r);
    assert.equal(result.step, 'boot');
    assert.equal(result.stage, 'token');
  });

  it('names the TCP step when nothing listens', async () => {
    const port = await freePort();
    const r = cli('--port', String(port), '--ca', at('server-ca.pem'), '--pin', USER_PIN, '--json');
    assert.equal(r.status, 1);
    assert.equal(json(r).step, 'tcp');
    assert.equal(json(r).code, 'TLS_CONNECT');
  });

  it('makes a missing --ca a usage error (exit 2)', () => {
    const r = cli('--port', String(www.port), '--pin', USER_PIN);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--ca CA\.pem is required/);
    assert.equal(r.stdout, '');
  });
});

describe('connectDevice()', () => {
  let keys: Awaited<ReturnType<typeof loadNodeKeyCrypto>>;
  let rev: Server;
  before(async () => {
    keys = await loadNodeKeyCrypto();
    rev = await startServer('-rev');
  });
  const boot = (pin?: string): Promise<BootedDevice> => bootDevice({ flash: new MemoryFlash(dev.flash.slice()), efuse: dev.efuse, crypto: nodeCrypto, keys, ...(pin === undefined ? {} : { pin }) });
  const options = (over: Partial<ConnectDeviceOptions> = {}): ConnectDeviceOptions => ({
    connect: () => nodeTcpTransport('127.0.0.1', rev.port),
    serverName: 'localhost',
    trustAnchors: [derOf('server-ca.pem')],
    crypto: nodeCrypto,
    tlsCrypto: nodeTlsCrypto,
    ...over,
  });

  it('presents the device and JITP certificates (not the root) and exchanges a line', async () => {
    const device = await boot(USER_PIN);
    try {
      assert.deepEqual(deviceClientChain(device), [derOf('device.pem'), derOf('jitp.pem')]);
      const conn = await connectDevice(device, options());
      await conn.write(new TextEncoder().encode('hello device\n'));
      let text = '';
      while (!text.includes('\n')) {
        const chunk = await conn.read();
        if (chunk === null) break;
        text += new TextDecoder().decode(chunk);
      }
      assert.equal(text, 'ecived olleh\n'); // s_server -rev reverses each line
      await conn.close();
    } finally {
      device.close();
    }
  });

  it('refuses a device booted without the PIN', async () => {
    const device = await boot();
    try {
      await assert.rejects(connectDevice(device, options()), { code: 'DEVICE_NOT_LOGGED_IN', message: /boot the device with the user PIN/ });
    } finally {
      device.close();
    }
  });

  it('refuses an empty trustAnchors before connecting', async () => {
    const device = await boot(USER_PIN);
    let connects = 0;
    try {
      await assert.rejects(connectDevice(device, options({ trustAnchors: [], connect: () => (connects++, nodeTcpTransport('127.0.0.1', rev.port)) })), { code: 'TLS_CA_REQUIRED' });
      assert.equal(connects, 0);
    } finally {
      device.close();
    }
  });

  it('says the token holds no device key when it is gone', async () => {
    const device = await boot(USER_PIN);
    try {
      const rw = TokenSession.open(device.token, { readWrite: true });
      for (const h of rw.find({ label: 'Device Priv TLS Key', class: 'private-key' })) rw.destroy(h);
      rw.close();
      await assert.rejects(connectDevice(device, options()), { code: 'DEVICE_NO_PRIVATE_KEY' });
    } finally {
      device.close();
    }
  });
});

/** A TCP port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
