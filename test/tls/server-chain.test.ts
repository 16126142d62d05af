import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyServerChain } from '../../src/tls/server-chain.js';

// Certificates made by the openssl CLI; where it matters OpenSSL's own `verify` is asked too.
const dir = mkdtempSync(join(tmpdir(), 'nvsec-server-chain-'));
const ossl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const der = (name: string): Uint8Array => new Uint8Array(execFileSync('openssl', ['x509', '-in', `${name}.pem`, '-outform', 'DER'], { cwd: dir }));
/** Whether `openssl verify` accepts leaf.pem with these options (the independent opinion). */
const opensslAccepts = (...args: string[]): boolean => spawnSync('openssl', ['verify', ...args], { cwd: dir }).status === 0;

function ca(name: string, issuer?: string, ext = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'): void {
  ossl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  writeFileSync(join(dir, `${name}.ext`), ext);
  const signer = issuer === undefined ? ['-signkey', `${name}.key`] : ['-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial'];
  ossl('x509', '-req', '-in', `${name}.csr`, ...signer, '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
}
function leaf(name: string, issuer: string, ext: string): void {
  ca(name, issuer, `basicConstraints=CA:FALSE\n${ext}`);
}

before(() => {
  ca('root');
  ca('inter', 'root');
  ca('other-root');
  ca('not-a-ca', 'root', 'basicConstraints=CA:FALSE\n');
  leaf('server', 'inter', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('wild', 'inter', 'subjectAltName=DNS:*.example.com\n');
  leaf('cn-only', 'inter', 'extendedKeyUsage=serverAuth\n');
  leaf('client-only', 'inter', 'subjectAltName=DNS:localhost\nextendedKeyUsage=clientAuth\n');
  leaf('under-leaf', 'not-a-ca', 'subjectAltName=DNS:localhost\n');
  // path validation beyond the links (review finding 4)
  ca('plen0', 'root', 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n');
  ca('under-plen0', 'plen0');
  leaf('deep', 'under-plen0', 'subjectAltName=DNS:localhost\n');
  leaf('shallow', 'plen0', 'subjectAltName=DNS:localhost\n');
  leaf('crit-ext', 'inter', 'subjectAltName=DNS:localhost\n1.3.6.1.4.1.99999.1=critical,ASN1:NULL\n');
  ca('nc', 'root', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nnameConstraints=critical,permitted;DNS:localhost\n');
  leaf('under-nc', 'nc', 'subjectAltName=DNS:localhost\n');
  leaf('no-digsig', 'inter', 'subjectAltName=DNS:localhost\nkeyUsage=critical,nonRepudiation\n');
  ossl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'sha1.key', '-out', 'sha1.csr', '-subj', '/CN=sha1');
  ossl('x509', '-req', '-sha1', '-in', 'sha1.csr', '-CA', 'inter.pem', '-CAkey', 'inter.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'sha1.pem');
  ossl('req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', 'rsa1024.key', '-out', 'rsa1024.csr', '-subj', '/CN=rsa1024');
  ossl('x509', '-req', '-in', 'rsa1024.csr', '-CA', 'inter.pem', '-CAkey', 'inter.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'rsa1024.pem');
  writeFileSync(join(dir, 'plen-chain.pem'), ossl('x509', '-in', 'plen0.pem') + ossl('x509', '-in', 'under-plen0.pem'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('verifyServerChain()', () => {
  it('refuses a chain of more than 10 certificates before building a path, and accepts the same path with 10', async () => {
    const flood = [der('server'), ...Array.from({ length: 10 }, () => der('inter'))];
    await assert.rejects(verifyServerChain(flood, { trustAnchors: [der('root')], serverName: 'localhost' }), { code: 'TLS_BAD_CERTIFICATE', message: /11 certificates/ });
    const path = await verifyServerChain(flood.slice(0, 10), { trustAnchors: [der('root')], serverName: 'localhost' });
    assert.equal(path.length, 3);
  });

  it('accepts leaf + intermediate under the pinned root, for its DNS name and its IP address', async () => {
    assert.ok(opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'inter.pem', '-purpose', 'sslserver', '-verify_hostname', 'localhost', 'server.pem'));
    const path = await verifyServerChain([der('server'), der('inter')], { trustAnchors: [der('root')], serverName: 'localhost' });
    assert.deepEqual(path, [der('server'), der('inter'), der('root')]);
    await verifyServerChain([der('server'), der('inter')], { trustAnchors: [der('root')], serverName: '127.0.0.1' });
    await verifyServerChain([der('server'), der('inter')], { trustAnchors: [der('root')], serverName: 'LocalHost.' });
  });

  it('finds intermediates in any order and ignores unrelated certificates', async () => {
    const path = await verifyServerChain([der('server'), der('other-root'), der('inter')], { trustAnchors: [der('other-root'), der('root')], serverName: 'localhost' });
    assert.equal(path.length, 3);
  });

  it('refuses to judge anything without a CA', async () => {
    await assert.rejects(verifyServerChain([der('server'), der('inter')], { trustAnchors: [], serverName: 'localhost' }), { code: 'TLS_CA_REQUIRED' });
  });

  it('refuses a chain that does not reach the pinned CA, or misses its intermediate', async () => {
    assert.ok(!opensslAccepts('-CAfile', 'other-root.pem', '-untrusted', 'inter.pem', 'server.pem'));
    await assert.rejects(verifyServerChain([der('server'), der('inter')], { trustAnchors: [der('other-root')], serverName: 'localhost' }), { code: 'TLS_UNTRUSTED_SERVER' });
    await assert.rejects(verifyServerChain([der('server')], { trustAnchors: [der('root')], serverName: 'localhost' }), { code: 'TLS_UNTRUSTED_SERVER', message: /intermediates/ });
    await assert.rejects(verifyServerChain([], { trustAnchors: [der('root')], serverName: 'localhost' }), { code: 'TLS_NO_SERVER_CERT' });
  });

  it('refuses another host name, and a certificate that names its host only in the CN', async () => {
    assert.ok(!opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'inter.pem', '-verify_hostname', 'example.org', 'server.pem'));
    await assert.rejects(verifyServerChain([der('server'), der('inter')], { trustAnchors: [der('root')], serverName: 'example.org' }), { code: 'TLS_HOST_MISMATCH', message: /dns:localhost/ });
    await assert.rejects(verifyServerChain([der('server'), der('inter')], { trustAnchors: [der('root')], serverName: '127.0.0.2' }), { code: 'TLS_HOST_MISMATCH' });
    await assert.rejects(verifyServerChain([der('cn-only'), der('inter')], { trustAnchors: [der('root')], serverName: 'cn-only' }), { code: 'TLS_HOST_MISMATCH', message: /CN is not used/ });
  });

  it('matches a wildcard against exactly one left-most label', async () => {
    const chain = [der('wild'), der('inter')];
    const opts = (serverName: string) => ({ trustAnchors: [der('root')], serverName });
    assert.ok(opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'inter.pem', '-verify_hostname', 'a.example.com', 'wild.pem'));
    assert.ok(!opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'inter.pem', '-verify_hostname', 'a.b.example.com', 'wild.pem'));
    await verifyServerChain(chain, opts('a.example.com'));
    await assert.rejects(verifyServerChain(chain, opts('a.b.example.com')), { code: 'TLS_HOST_MISMATCH' });
    await assert.rejects(verifyServerChain(chain, opts('example.com')), { code: 'TLS_HOST_MISMATCH' });
  });

  it('refuses certificates outside their validity, the anchor included', async () => {
    const notAfter = new Date(ossl('x509', '-in', 'server.pem', '-noout', '-enddate').trim().replace('notAfter=', ''));
    const later = new Date(notAfter.getTime() + 86_400_000);
    await assert.rejects(verifyServerChain([der('server'), der('inter')], { trustAnchors: [der('root')], serverName: 'localhost', now: later }), { code: 'TLS_CERT_EXPIRED' });
    await assert.rejects(verifyServerChain([der('server'), der('inter')], { trustAnchors: [der('root')], serverName: 'localhost', now: new Date('2001-01-01T00:00:00Z') }), { code: 'TLS_CERT_EXPIRED', message: /not at 2001/ });
  });

  it('refuses an issuer that is not a CA and a leaf that is not for servers', async () => {
    assert.ok(!opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'not-a-ca.pem', 'under-leaf.pem'));
    await assert.rejects(verifyServerChain([der('under-leaf'), der('not-a-ca')], { trustAnchors: [der('root')], serverName: 'localhost' }), { code: 'TLS_NOT_A_CA' });
    assert.ok(!opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'inter.pem', '-purpose', 'sslserver', 'client-only.pem'));
    await assert.rejects(verifyServerChain([der('client-only'), der('inter')], { trustAnchors: [der('root')], serverName: 'localhost' }), { code: 'TLS_WRONG_PURPOSE' });
  });

  const root = { trustAnchors: [der('root')], serverName: 'localhost' };

  it('enforces pathLenConstraint as openssl verify does', async () => {
    assert.ok(!opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'plen-chain.pem', 'deep.pem'));
    await assert.rejects(verifyServerChain([der('deep'), der('under-plen0'), der('plen0')], root), { code: 'TLS_NOT_A_CA', message: /pathLenConstraint/ });
    assert.ok(opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'plen0.pem', 'shallow.pem'));
    assert.equal((await verifyServerChain([der('shallow'), der('plen0')], root)).length, 3);
  });

  it('refuses a critical extension it does not understand, as openssl verify does', async () => {
    assert.ok(!opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'inter.pem', 'crit-ext.pem'));
    await assert.rejects(verifyServerChain([der('crit-ext'), der('inter')], root), { code: 'TLS_BAD_CERTIFICATE', message: /critical extension .*1\.3\.6\.1\.4\.1\.99999\.1/ });
  });

  it('refuses nameConstraints it cannot enforce, even where openssl verify accepts them, and says so', async () => {
    assert.ok(opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'nc.pem', 'under-nc.pem')); // the constraint is met; nvsec does not implement them
    await assert.rejects(verifyServerChain([der('under-nc'), der('nc')], root), { code: 'TLS_BAD_CERTIFICATE', message: /nameConstraints, which nvsec does not enforce/ });
  });

  it('uses a pinned anchor as an issuer only if it is a CA, but still accepts an exactly pinned leaf', async () => {
    assert.ok(!opensslAccepts('-CAfile', 'not-a-ca.pem', 'under-leaf.pem'));
    await assert.rejects(verifyServerChain([der('under-leaf')], { trustAnchors: [der('not-a-ca')], serverName: 'localhost' }), { code: 'TLS_NOT_A_CA' });
    assert.equal((await verifyServerChain([der('server')], { trustAnchors: [der('server')], serverName: 'localhost' })).length, 1);
  });

  it('requires digitalSignature in the leaf\'s keyUsage when it has one', async () => {
    assert.ok(!opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'inter.pem', '-purpose', 'sslserver', 'no-digsig.pem'));
    await assert.rejects(verifyServerChain([der('no-digsig'), der('inter')], root), { code: 'TLS_WRONG_PURPOSE', message: /digitalSignature/ });
  });

  it('refuses SHA-1 signatures and RSA keys under 2048 bits, as openssl verify -auth_level 2 does', async () => {
    // OpenSSL 3.0's default level 1 still accepts both; level 2 is the floor nvsec holds
    assert.ok(!opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'inter.pem', '-auth_level', '2', 'sha1.pem'));
    await assert.rejects(verifyServerChain([der('sha1'), der('inter')], root), { code: 'TLS_BAD_CERTIFICATE', message: /SHA-1/ });
    assert.ok(!opensslAccepts('-CAfile', 'root.pem', '-untrusted', 'inter.pem', '-auth_level', '2', 'rsa1024.pem'));
    await assert.rejects(verifyServerChain([der('rsa1024'), der('inter')], root), { code: 'TLS_BAD_CERTIFICATE', message: /1024-bit RSA/ });
  });

  it('names bytes that are not a certificate', async () => {
    await assert.rejects(verifyServerChain([Uint8Array.of(0x30, 0x03, 1, 2, 3)], { trustAnchors: [der('root')], serverName: 'localhost' }), { code: 'TLS_BAD_CERTIFICATE' });
  });
});
