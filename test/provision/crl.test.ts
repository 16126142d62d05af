import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { generateSigningKey, readSigningKey } from '../../src/node/signing-key.js';
import { type Issuer, loadCertificates } from '../../src/provision/certificates.js';

// Expectations come from OpenSSL: `openssl crl -verify` checks the signature, `openssl crl -text`
// lists the entries, `openssl verify -crl_check` revokes (or not) certificates OpenSSL issued.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-crl-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const at = (name: string): string => path.join(tmp, name);
const openssl = (...args: string[]): { status: number | null; out: string } => {
  const r = spawnSync('openssl', args, { cwd: tmp, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
};

const certs = await loadCertificates({ webCrypto: globalThis.crypto, crypto: nodeCrypto });
const validity = { notBefore: new Date(Date.now() - 86400e3), notAfter: new Date(Date.now() + 365 * 86400e3) };
const rootKeyPem = generateSigningKey('ecdsa384');
const interKeyPem = generateSigningKey('ecdsa256');
const rootSigner = readSigningKey(rootKeyPem).signer!;
const interSigner = readSigningKey(interKeyPem).signer!;
const root = await certs.createRootCa({ subject: 'CN=CRL Test Root, O=Acme', signer: rootSigner, ...validity });
const inter = await certs.createIntermediateCa({ subject: 'CN=CRL Test Line CA, O=Acme', publicKey: interSigner.publicKey, issuer: { certificate: root, signer: rootSigner }, ...validity });
const line: Issuer = { certificate: inter, signer: interSigner };
fs.writeFileSync(at('root.pem'), root.pem);
fs.writeFileSync(at('inter.pem'), inter.pem);
fs.writeFileSync(at('chain.pem'), `${inter.pem}\n${root.pem}\n`);
fs.writeFileSync(at('inter.key'), interKeyPem);

/** A leaf certificate issued by OpenSSL under the intermediate, with `serial` (hex). */
function opensslLeaf(name: string, serial: string): string {
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`], { cwd: tmp, stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', `${name}.csr`, '-CA', 'inter.pem', '-CAkey', 'inter.key', '-set_serial', `0x${serial}`, '-days', '2', '-out', `${name}.pem`], { cwd: tmp, stdio: 'ignore' });
  return at(`${name}.pem`);
}

const thisUpdate = new Date(Date.now() - 3600e3);
const nextUpdate = new Date(Date.now() + 7 * 86400e3);

describe('createCrl()', () => {
  it('makes a CRL that openssl crl -verify accepts under the issuing CA, listing each revoked serial', async () => {
    const crl = await certs.createCrl({
      issuer: line,
      revoked: [
        { serial: '1001', revokedAt: new Date('2026-03-01T12:00:00Z'), reason: 'keyCompromise' },
        { serial: '8F:00:AA:01', revokedAt: new Date('2026-03-02T12:00:00Z') }, // top bit set: needs a sign byte in DER
        { serial: '00000abc', revokedAt: new Date('2026-03-03T12:00:00Z'), reason: 'superseded' },
      ],
      thisUpdate,
      nextUpdate,
      crlNumber: 42,
    });
    assert.match(crl.pem, /^-----BEGIN X509 CRL-----\n[^]*\n-----END X509 CRL-----\n$/);
    fs.writeFileSync(at('crl.pem'), crl.pem);
    fs.writeFileSync(at('crl.der'), crl.der);
    const verified = openssl('crl', '-in', 'crl.pem', '-noout', '-verify', '-CAfile', 'chain.pem');
    assert.equal(verified.status, 0, verified.out);
    assert.match(verified.out, /verify OK/);
    const der = openssl('crl', '-inform', 'DER', '-in', 'crl.der', '-noout', '-verify', '-CAfile', 'chain.pem');
    assert.match(der.out, /verify OK/, 'the DER is the same CRL');

    const text = openssl('crl', '-in', 'crl.pem', '-noout', '-text').out;
    assert.match(text, /Version 2 \(0x1\)/);
    assert.match(text, /Issuer: CN ?= ?CRL Test Line CA, O ?= ?Acme/);
    assert.match(text, /X509v3 CRL Number: *\n\s*42\b/);
    assert.match(text, /X509v3 Authority Key Identifier:/);
    const serials = [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]);
    assert.deepEqual(serials, ['1001', '8F00AA01', '0ABC']);
    assert.match(text, /Serial Number: 1001\s+Revocation Date: Mar {2}1 12:00:00 2026 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Key Compromise\s+Invalidity Date:\s+Mar {2}1 12:00:00 2026 GMT/);
    assert.match(text, /Serial Number: 0ABC\s+Revocation Date: Mar {2}3 12:00:00 2026 GMT\s+CRL entry extensions:\s+X509v3 CRL Reason Code:\s+Superseded/);
    assert.equal(openssl('crl', '-in', 'crl.pem', '-noout', '-nextupdate').out.trim(), `nextUpdate=${opensslDate(nextUpdate)}`);
  });

  it('revokes the certificate OpenSSL issued with that serial, and only it (openssl verify -crl_check)', async () => {
    const revoked = opensslLeaf('revoked', '5EED0001');
    const good = opensslLeaf('good', '5EED0002');
    const crl = await certs.createCrl({ issuer: line, revoked: [{ serial: '5eed0001', revokedAt: thisUpdate, reason: 'cessationOfOperation' }], thisUpdate, nextUpdate });
    fs.writeFileSync(at('crl2.pem'), crl.pem);
    const bad = openssl('verify', '-crl_check', '-CRLfile', 'crl2.pem', '-CAfile', 'root.pem', '-untrusted', 'inter.pem', revoked);
    assert.notEqual(bad.status, 0);
    assert.match(bad.out, /certificate revoked/);
    const ok = openssl('verify', '-crl_check', '-CRLfile', 'crl2.pem', '-CAfile', 'root.pem', '-untrusted', 'inter.pem', good);
    assert.equal(ok.status, 0, ok.out);
    // the default CRL number is thisUpdate in seconds
    assert.match(openssl('crl', '-in', 'crl2.pem', '-noout', '-crlnumber').out, new RegExp(`crlNumber=0x${Math.floor(thisUpdate.getTime() / 1000).toString(16).toUpperCase()}`));
  });

  it('makes an empty CRL that verifies and lists no certificate', async () => {
    const crl = await certs.createCrl({ issuer: line, revoked: [], thisUpdate, nextUpdate, crlNumber: 1n });
    fs.writeFileSync(at('crl3.pem'), crl.pem);
    assert.match(openssl('crl', '-in', 'crl3.pem', '-noout', '-verify', '-CAfile', 'chain.pem').out, /verify OK/);
    assert.match(openssl('crl', '-in', 'crl3.pem', '-noout', '-text').out, /No Revoked Certificates/);
  });

  it('a CRL checked against a CA of the same name but another key fails openssl crl -verify', async () => {
    const crl = await certs.createCrl({ issuer: line, revoked: [{ serial: '01', revokedAt: thisUpdate }], thisUpdate, nextUpdate });
    fs.writeFileSync(at('crl4.pem'), crl.pem);
    const imposter = await certs.createRootCa({ subject: inter.subject, signer: readSigningKey(generateSigningKey('ecdsa256')).signer!, ...validity });
    fs.writeFileSync(at('imposter.pem'), imposter.pem);
    const r = openssl('crl', '-in', 'crl4.pem', '-noout', '-verify', '-CAfile', 'imposter.pem');
    assert.doesNotMatch(r.out, /verify OK/);
    assert.match(r.out, /verify failure/, r.out); // loaded and matched by name, then the signature is refused
  });

  it('refuses bad arguments by name', async () => {
    const base = { issuer: line, thisUpdate, nextUpdate };
    await assert.rejects(certs.createCrl({ ...base, revoked: [{ serial: 'xyz', revokedAt: thisUpdate }] }), { name: 'RangeError', message: /revoked\[0\]\.serial/ });
    await assert.rejects(certs.createCrl({ ...base, revoked: [{ serial: '00', revokedAt: thisUpdate }] }), { name: 'RangeError', message: /not zero/ });
    await assert.rejects(certs.createCrl({ ...base, revoked: [{ serial: '0A', revokedAt: thisUpdate }, { serial: 'a', revokedAt: thisUpdate }] }), { name: 'RangeError', message: /listed twice/ });
    await assert.rejects(certs.createCrl({ ...base, thisUpdate: nextUpdate, nextUpdate: thisUpdate, revoked: [] }), { name: 'RangeError', message: /nextUpdate/ });
    await assert.rejects(certs.createCrl({ ...base, revoked: [], crlNumber: -1 }), { name: 'RangeError', message: /crlNumber/ });
    // @ts-expect-error an unknown reason name
    await assert.rejects(certs.createCrl({ ...base, revoked: [{ serial: '01', revokedAt: thisUpdate, reason: 'stolen' }] }), { name: 'RangeError', message: /reason/ });
    const notCa = await certs.createRootCa({ subject: 'CN=x', signer: interSigner, ...validity });
    await assert.rejects(certs.createCrl({ ...base, issuer: { certificate: notCa, signer: rootSigner }, revoked: [] }), { code: 'KEY_MISMATCH' });
  });
});

/** A date as `openssl crl -nextupdate` prints it: "Mar  7 12:00:00 2026 GMT". */
function opensslDate(d: Date): string {
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]!;
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${month} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()} GMT`;
}
