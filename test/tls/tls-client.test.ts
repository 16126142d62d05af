import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { nodeTcpTransport } from '../../src/node/tcp-transport.js';
import { nodeTlsCrypto } from '../../src/node/node-tls-crypto.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { TokenSession } from '../../src/pkcs11/token-session.js';
import { tokenPublicKey, tokenSigner as digestSigner } from '../../src/pkcs11/token-signer.js';
import { loadCertificates } from '../../src/provision/certificates.js';
import { connectTls, fetchServerChain, type TlsClientOptions } from '../../src/tls/tls-client.js';
import { type TlsSigner, tokenSigner } from '../../src/tls/token-signer.js';
import { initTestToken, testToken, USER_PIN } from '../pkcs11/_token.js';
import { injectingProxy, scriptedServer } from './_hostile-server.js';

// The server is Debian's `openssl s_server` requiring a client certificate from the test CA;
// `-rev` sends every line back reversed.
const dir = mkdtempSync(join(tmpdir(), 'nvsec-tls-client-'));
const ossl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const der = (name: string): Uint8Array => new Uint8Array(execFileSync('openssl', ['x509', '-in', `${name}.pem`, '-outform', 'DER'], { cwd: dir }));

interface Server {
  port: number;
  log: () => string;
  stop: () => void;
}
const servers: Server[] = [];
async function startServer(...extra: string[]): Promise<Server> {
  const child = spawn('openssl', ['s_server', '-Verify', '1', '-verify_return_error', '-CAfile', 'ca.pem', '-cert', 'server.pem', '-key', 'server.key', '-accept', '0', '-rev', ...extra], { cwd: dir });
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ACCEPT \S*:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`openssl s_server exited with ${code}: ${out}`)));
  });
  const server = { port, log: () => out, stop: () => child.kill() };
  servers.push(server);
  return server;
}
const established = (s: Server): number => (s.log().match(/CONNECTION ESTABLISHED/g) ?? []).length;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 200));

let session: TokenSession;
let signer: TlsSigner;
let server: Server;

before(async () => {
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Test Factory CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=Other CA', '-addext', 'basicConstraints=critical,CA:TRUE');
  ossl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  ossl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'server.ext', '-out', 'server.pem');

  // The device: a P-256 key generated in an nvsec token; its CSR signed in the token; the certificate from `openssl x509 -req`.
  const token = testToken(new MemoryObjectStore(), { keys: await loadNodeKeyCrypto() });
  initTestToken(token);
  session = TokenSession.open(token, { readWrite: true });
  session.login(USER_PIN);
  const { publicKey, privateKey } = session.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'Device Priv TLS Key' });
  signer = tokenSigner(session, privateKey);
  const certs = await loadCertificates({ webCrypto: globalThis.crypto, crypto: nodeCrypto });
  const csr = await certs.createCsr({ subject: 'CN=device-0001', signer: digestSigner(session, privateKey, tokenPublicKey(session, publicKey)) });
  writeFileSync(join(dir, 'device.csr'), csr.der);
  ossl('req', '-inform', 'DER', '-in', 'device.csr', '-verify', '-noout'); // OpenSSL accepts the token's signature
  ossl('x509', '-req', '-inform', 'DER', '-in', 'device.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-out', 'device.pem');
  ossl('x509', '-req', '-inform', 'DER', '-in', 'device.csr', '-CA', 'other.pem', '-CAkey', 'other.key', '-CAcreateserial', '-days', '1', '-out', 'device-other.pem');
  server = await startServer();
});
after(() => {
  for (const s of servers) s.stop();
  session?.close();
  rmSync(dir, { recursive: true, force: true });
});

function options(port: number, over: Partial<TlsClientOptions> = {}): TlsClientOptions {
  return {
    connect: () => nodeTcpTransport('127.0.0.1', port),
    serverName: 'localhost',
    trustAnchors: [der('ca')],
    clientChain: [der('device')],
    signer,
    crypto: nodeCrypto,
    tlsCrypto: nodeTlsCrypto,
    ...over,
  };
}
async function readLine(conn: { read(): Promise<Uint8Array | null> }): Promise<string> {
  let text = '';
  while (!text.includes('\n')) {
    const chunk = await conn.read();
    if (chunk === null) break;
    text += new TextDecoder().decode(chunk);
  }
  return text;
}

describe('connectTls() against openssl s_server with client authentication', () => {
  it('presents the token-held device certificate and exchanges a line', async () => {
    const conn = await connectTls(options(server.port));
    assert.equal(conn.clientAuthRequested, true);
    assert.equal(conn.serverPath.length, 2);
    await conn.write(new TextEncoder().encode('hello nvsec\n'));
    assert.equal(await readLine(conn), 'cesvn olleh\n'); // "hello nvsec" reversed by the server
    await conn.close();
    assert.match(server.log(), /depth=0 CN = device-0001/);
  });

  it('speaks TLS_AES_256_GCM_SHA384 when that is the server\'s only suite, and by IP address', async () => {
    const s = await startServer('-ciphersuites', 'TLS_AES_256_GCM_SHA384');
    const conn = await connectTls(options(s.port, { serverName: '127.0.0.1' }));
    assert.equal(conn.cipherSuite, 'TLS_AES_256_GCM_SHA384');
    await conn.write(new TextEncoder().encode('abc\n'));
    assert.equal(await readLine(conn), 'cba\n');
    await conn.close();
  });

  it('refuses before connecting when no CA is given', async () => {
    let connects = 0;
    const opts = options(server.port, { trustAnchors: [], connect: () => (connects++, nodeTcpTransport('127.0.0.1', server.port)) });
    await assert.rejects(connectTls(opts), { code: 'TLS_CA_REQUIRED' });
    assert.equal(connects, 0);
  });

  it('refuses a server certificate from another CA without completing the handshake', async () => {
    const before = established(server);
    await assert.rejects(connectTls(options(server.port, { trustAnchors: [der('other')] })), { code: 'TLS_UNTRUSTED_SERVER' });
    await settle();
    assert.equal(established(server), before);
  });

  it('refuses a server certificate for another host name', async () => {
    const before = established(server);
    await assert.rejects(connectTls(options(server.port, { serverName: 'device.example.com' })), { code: 'TLS_HOST_MISMATCH' });
    await settle();
    assert.equal(established(server), before);
  });

  it('refuses an expired server certificate', async () => {
    const notAfter = new Date(ossl('x509', '-in', 'server.pem', '-noout', '-enddate').trim().replace('notAfter=', ''));
    await assert.rejects(connectTls(options(server.port, { now: new Date(notAfter.getTime() + 60_000) })), { code: 'TLS_CERT_EXPIRED' });
  });

  it('reports the server\'s refusal of a device certificate from another CA', async () => {
    const conn = await connectTls(options(server.port, { clientChain: [der('device-other')] }));
    await assert.rejects(conn.read(), { code: 'TLS_ALERT', message: /unknown_ca/ });
    await conn.close();
  });

  it('fails when a byte of the ServerHello is changed in transit (the transcript binds the keys)', async () => {
    let first = true;
    const proxy: NetServer = createServer((client) => {
      const upstream = connect(server.port, '127.0.0.1');
      client.pipe(upstream);
      upstream.on('data', (d: Buffer) => {
        if (first) d[15]! ^= 0x01; // record header 5 + handshake header 4 + version 2: inside server_random
        first = false;
        client.write(d);
      });
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.on('error', () => undefined);
      upstream.on('error', () => undefined);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const port = (proxy.address() as { port: number }).port;
    try {
      await assert.rejects(connectTls(options(port)), { code: 'TLS_BAD_RECORD' });
    } finally {
      proxy.close();
    }
  });

  it('refuses a server that only speaks TLS 1.2', async () => {
    const s = await startServer('-tls1_2');
    await assert.rejects(connectTls(options(s.port)), { code: 'TLS_ALERT', message: /protocol_version.*TLS 1\.3/ });
  });
});

describe('connectTls() record layer under concurrency', () => {
  it('two writes that are not awaited one after the other both reach openssl s_server intact (no AES-GCM nonce reuse)', { timeout: 10_000 }, async () => {
    const conn = await connectTls(options(server.port));
    const enc = new TextEncoder();
    await Promise.all([conn.write(enc.encode('attack at dawn\n')), conn.write(enc.encode('retreat at six\n'))]);
    // a record sealed under a reused nonce fails OpenSSL's tag check: it sends bad_record_mac instead of the second line
    assert.equal(await readLine(conn), 'nwad ta kcatta\n');
    assert.equal(await readLine(conn), 'xis ta taerter\n');
    await conn.close();
  });

  it('two reads that are not awaited one after the other return the lines in order', { timeout: 10_000 }, async () => {
    const conn = await connectTls(options(server.port));
    await conn.write(new TextEncoder().encode('one\n'));
    await conn.write(new TextEncoder().encode('two\n'));
    let text = '';
    while (!text.endsWith('owt\n')) {
      const [a, b] = await Promise.all([conn.read(), conn.read()]);
      text += (a === null ? '' : new TextDecoder().decode(a)) + (b === null ? '' : new TextDecoder().decode(b));
    }
    assert.equal(text, 'eno\nowt\n');
    await conn.close();
  });
});

describe('connectTls() against a man in the middle after the handshake', () => {
  // Each test first exchanges a line, so the server's NewSessionTickets have passed, then the proxy acts.
  async function established(target = server): Promise<{ conn: Awaited<ReturnType<typeof connectTls>>; proxy: Awaited<ReturnType<typeof injectingProxy>> }> {
    const proxy = await injectingProxy(target.port);
    const conn = await connectTls(options(proxy.port));
    await conn.write(new TextEncoder().encode('ping\n'));
    assert.equal(await readLine(conn), 'gnip\n');
    return { conn, proxy };
  }

  it('rejects an injected plaintext close_notify instead of reading it as the end of the data', { timeout: 10_000 }, async () => {
    const { conn, proxy } = await established();
    try {
      proxy.toClient().write(Uint8Array.of(21, 3, 3, 0, 2, 1, 0)); // alert record, warning close_notify, no AEAD
      await assert.rejects(conn.read(), { code: 'TLS_PROTOCOL', message: /unprotected record of type 21/ });
    } finally {
      await conn.close();
      proxy.close();
    }
  });

  it('rejects a bare end of stream (FIN without close_notify) as truncated', { timeout: 10_000 }, async () => {
    const { conn, proxy } = await established();
    try {
      proxy.toClient().end();
      await assert.rejects(conn.read(), { code: 'TLS_CLOSED', message: /truncated/ });
    } finally {
      await conn.close();
      proxy.close();
    }
  });

  it('ends the connection on a garbage record: bad_record_mac to the server, the same error on every later call', { timeout: 10_000 }, async () => {
    const s = await startServer('-msg'); // -msg logs the alerts it receives
    const { conn, proxy } = await established(s);
    try {
      proxy.toClient().write(Uint8Array.of(23, 3, 3, 0, 32, ...new Uint8Array(32).fill(0x41))); // a record that cannot authenticate
      const first = await conn.read().then(
        () => assert.fail('read() returned after a forged record'),
        (e: unknown) => e,
      );
      assert.equal((first as { code?: string }).code, 'TLS_BAD_RECORD');
      await assert.rejects(conn.read(), (e) => e === first);
      await assert.rejects(conn.write(new TextEncoder().encode('still here\n')), (e) => e === first);
      await settle();
      assert.match(s.log(), /<<< TLS 1.3, Alert.*\n.*02 14/); // OpenSSL received our fatal alert: level 2, description 20 bad_record_mac
    } finally {
      await conn.close();
      proxy.close();
    }
  });

  it('rejects an injected plaintext ChangeCipherSpec after the handshake', { timeout: 10_000 }, async () => {
    const { conn, proxy } = await established();
    try {
      proxy.toClient().write(Uint8Array.of(20, 3, 3, 0, 1, 1));
      await assert.rejects(conn.read(), { code: 'TLS_PROTOCOL', message: /unprotected record of type 20/ });
    } finally {
      await conn.close();
      proxy.close();
    }
  });
});

describe('connectTls() limits against a scripted hostile server', () => {
  const scripted = (chain = [der('server')]) => scriptedServer(nodeCrypto, chain);
  const connectTo = (srv: ReturnType<typeof scriptedServer>, over: Partial<TlsClientOptions> = {}) =>
    connectTls({ connect: async () => srv.transport, serverName: 'localhost', trustAnchors: [der('ca')], crypto: nodeCrypto, tlsCrypto: srv.tlsCrypto, ...over });
  const handshakeMessage = (type: number, length: number): Uint8Array => Uint8Array.of(type, (length >> 16) & 0xff, (length >> 8) & 0xff, length & 0xff);

  it('refuses a post-handshake message announced over 64 KiB as soon as its header arrives, and ends the connection', { timeout: 10_000 }, async () => {
    const srv = scripted();
    const conn = await connectTo(srv);
    srv.sendProtected(22, handshakeMessage(4, 65_537)); // a NewSessionTicket header only: the body never needs to come
    await assert.rejects(conn.read(), { code: 'TLS_PROTOCOL', message: /65537 bytes after the handshake is over the 65536-byte limit/ });
    assert.equal(srv.closed(), true);
  });

  it('still accepts a 60 000-byte NewSessionTicket spread over many small records', { timeout: 10_000 }, async () => {
    const srv = scripted();
    const conn = await connectTo(srv);
    const ticket = new Uint8Array(4 + 60_000);
    ticket.set(handshakeMessage(4, 60_000));
    for (let at = 0; at < ticket.length; at += 100) srv.sendProtected(22, ticket.subarray(at, at + 100));
    srv.sendProtected(23, new TextEncoder().encode('after the ticket'));
    assert.equal(new TextDecoder().decode((await conn.read())!), 'after the ticket');
  });

  it('refuses a Certificate message with more than 10 certificates', { timeout: 10_000 }, async () => {
    const srv = scripted(Array.from({ length: 11 }, () => der('server')));
    await assert.rejects(connectTo(srv), { code: 'TLS_PROTOCOL', message: /more than 10 certificates/ });
    assert.equal(srv.closed(), true);
  });

  it('gives up a handshake the server never answers after handshakeTimeoutMs and closes the transport', { timeout: 10_000 }, async () => {
    let closed = false;
    const silent = { write: async () => undefined, read: () => new Promise<Uint8Array | null>(() => undefined), close: () => void (closed = true) };
    await assert.rejects(connectTls(options(0, { connect: async () => silent, handshakeTimeoutMs: 150 })), { code: 'TLS_TIMEOUT', message: /150 ms/ });
    assert.equal(closed, true);
  });
});

describe('fetchServerChain()', () => {
  it('returns the chain the server sends, as openssl s_client -showcerts shows it, without finishing the handshake', async () => {
    const s = await startServer('-cert_chain', 'ca.pem');
    const chain = await fetchServerChain({ connect: () => nodeTcpTransport('127.0.0.1', s.port), serverName: 'anything.invalid', crypto: nodeCrypto, tlsCrypto: nodeTlsCrypto });
    assert.deepEqual(chain, [der('server'), der('ca')]);
    await settle();
    assert.equal(established(s), 0);
  });
});
