import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PublicKey } from '../../src/crypto/public-key.js';
import type { Signer } from '../../src/crypto/signer.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { generateSigningKey, readSigningKey } from '../../src/node/signing-key.js';
import { CKA, CKU } from '../../src/pkcs11/constants.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { TokenSession } from '../../src/pkcs11/token-session.js';
import { tokenPublicKey, tokenSigner } from '../../src/pkcs11/token-signer.js';
import { type Certificate, type Issuer, loadCertificates, randomSerial } from '../../src/provision/certificates.js';
import { initTestToken, pin, testToken, USER_PIN } from '../pkcs11/_token.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-ca-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;
/** Writes `text` to a new file in the temporary folder and returns its path. */
function file(name: string, text: string | Uint8Array): string {
  const f = path.join(tmp, `${fileNo++}-${name}`);
  fs.writeFileSync(f, text);
  return f;
}

/** Runs openssl; returns its status and both outputs. */
function openssl(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
const text = (pem: string): string => execFileSync('openssl', ['x509', '-noout', '-text', '-in', file('c.pem', pem)], { encoding: 'utf8' });

const certs = await loadCertificates({ webCrypto: globalThis.crypto, crypto: nodeCrypto });
const memorySigner = (scheme: 'ecdsa256' | 'ecdsa384'): Signer => readSigningKey(generateSigningKey(scheme)).signer!;

const validity = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2046-01-01T00:00:00Z') };
const deviceValidity = { notBefore: new Date('2026-06-01T00:00:00Z'), notAfter: new Date('2036-06-01T00:00:00Z') };

const rootSigner = memorySigner('ecdsa384');
const interSigner = memorySigner('ecdsa256');
const root = await certs.createRootCa({ subject: 'CN=Acme Root CA, O=Acme Devices', signer: rootSigner, ...validity });
const inter = await certs.createIntermediateCa({
  subject: 'CN=Acme Manufacturing CA 1, O=Acme Devices',
  publicKey: interSigner.publicKey,
  issuer: { certificate: root, signer: rootSigner },
  ...validity,
});
const line: Issuer = { certificate: inter, signer: interSigner };

/** SHA-1 of the uncompressed point in `certPem`'s SubjectPublicKeyInfo, computed by node:crypto: RFC 5280 key identifier method 1. */
function keyIdOf(certPem: string): string {
  const key = new crypto.X509Certificate(certPem).publicKey;
  const spki = key.export({ format: 'der', type: 'spki' });
  const bitString = spki.subarray(spki.length - (key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 97 : 65));
  assert.equal(bitString[0], 0x04);
  return crypto.createHash('sha1').update(bitString).digest('hex');
}
/** The "X509v3 <name>" extension's first value line in `openssl x509 -text` output. */
function extension(textOut: string, name: string): string {
  const m = new RegExp(`X509v3 ${name}:( critical)? *\\n\\s*(.*)`).exec(textOut);
  assert.ok(m, `no ${name} in\n${textOut}`);
  return `${m[2]!.trim()}${m[1] ?? ''}`;
}
const colonHex = (hex: string): string => hex.toUpperCase().match(/../g)!.join(':');

/** The content octets of the serialNumber INTEGER in a certificate's DER, read by hand. */
function serialOctets(der: Uint8Array): Uint8Array {
  const len = (at: number): { len: number; start: number } => {
    const b = der[at]!;
    if (b < 0x80) return { len: b, start: at + 1 };
    let n = 0;
    for (let i = 0; i < (b & 0x7f); i++) n = n * 256 + der[at + 1 + i]!;
    return { len: n, start: at + 1 + (b & 0x7f) };
  };
  const tbs = len(1).start; // Certificate SEQUENCE -> tbsCertificate SEQUENCE
  let at = len(tbs + 1).start; // inside tbsCertificate
  assert.equal(der[at], 0xa0, 'version [0]');
  at = len(at + 1).start + len(at + 1).len;
  assert.equal(der[at], 0x02, 'serialNumber INTEGER');
  const { len: n, start } = len(at + 1);
  return der.subarray(start, start + n);
}

describe('loadCertificates(): a root, an intermediate and a device certificate', () => {
  const deviceSigner = memorySigner('ecdsa256');
  let device: Certificate;

  it('makes a chain that openssl verify accepts (strict X.509, TLS client purpose)', async () => {
    const csr = await certs.createCsr({ subject: 'CN=device-0001, O=Acme Devices', signer: deviceSigner });
    device = await certs.issueDeviceCertificate({ csr, issuer: line, validity: deviceValidity });
    const r = openssl('verify', '-x509_strict', '-purpose', 'sslclient', '-attime', String(Date.parse('2030-01-01T00:00:00Z') / 1000), '-CAfile', file('root.pem', root.pem), '-untrusted', file('inter.pem', inter.pem), file('device.pem', device.pem));
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /device\.pem: OK/);
  });

  it('gives the root the CA extensions (critical basic constraints and key usage, SKI = AKI)', () => {
    const t = text(root.pem);
    assert.equal(extension(t, 'Basic Constraints'), 'CA:TRUE critical');
    assert.equal(extension(t, 'Key Usage'), 'Certificate Sign, CRL Sign critical');
    assert.equal(extension(t, 'Subject Key Identifier'), colonHex(keyIdOf(root.pem)));
    assert.equal(extension(t, 'Authority Key Identifier'), colonHex(keyIdOf(root.pem)));
    assert.match(t, /Signature Algorithm: ecdsa-with-SHA384/);
    assert.match(t, /Issuer: CN = Acme Root CA, O = Acme Devices/);
    const x = new crypto.X509Certificate(root.pem);
    assert.equal(x.ca, true);
    assert.ok(x.verify(x.publicKey), 'self-signed');
  });

  it('limits the intermediate to path length 0 and links it to the root by key identifiers', () => {
    const t = text(inter.pem);
    assert.equal(extension(t, 'Basic Constraints'), 'CA:TRUE, pathlen:0 critical');
    assert.equal(extension(t, 'Key Usage'), 'Certificate Sign, CRL Sign critical');
    assert.equal(extension(t, 'Subject Key Identifier'), colonHex(keyIdOf(inter.pem)));
    assert.equal(extension(t, 'Authority Key Identifier'), colonHex(keyIdOf(root.pem)));
    assert.match(t, /Signature Algorithm: ecdsa-with-SHA384/); // signed by the P-384 root
    const x = new crypto.X509Certificate(inter.pem);
    assert.ok(x.checkIssued(new crypto.X509Certificate(root.pem)));
    assert.ok(x.verify(new crypto.X509Certificate(root.pem).publicKey));
    assert.equal(x.validFrom, 'Jan  1 00:00:00 2026 GMT');
    assert.equal(x.validTo, 'Jan  1 00:00:00 2046 GMT');
  });

  it('makes the device certificate a TLS client end entity for the CSR key', () => {
    const t = text(device.pem);
    assert.equal(extension(t, 'Basic Constraints'), 'CA:FALSE critical');
    assert.equal(extension(t, 'Key Usage'), 'Digital Signature critical');
    assert.equal(extension(t, 'Extended Key Usage'), 'TLS Web Client Authentication');
    assert.equal(extension(t, 'Subject Key Identifier'), colonHex(keyIdOf(device.pem)));
    assert.equal(extension(t, 'Authority Key Identifier'), colonHex(keyIdOf(inter.pem)));
    assert.match(t, /Signature Algorithm: ecdsa-with-SHA256/);
    const x = new crypto.X509Certificate(device.pem);
    assert.equal(x.ca, false);
    assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.equal(x.subject, 'CN=device-0001\nO=Acme Devices');
    assert.equal(x.issuer, 'CN=Acme Manufacturing CA 1\nO=Acme Devices');
    assert.equal(x.serialNumber.toLowerCase().replace(/^0+/, ''), device.serial.replace(/^0+/, ''));
    assert.equal(x.validFrom, 'Jun  1 00:00:00 2026 GMT');
    const devicePublic = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(deviceSigner.publicKey.kind === 'ec' ? deviceSigner.publicKey.x : []).toString('base64url'), y: Buffer.from(deviceSigner.publicKey.kind === 'ec' ? deviceSigner.publicKey.y : []).toString('base64url') }, format: 'jwk' });
    assert.ok(x.publicKey.equals(devicePublic));
  });

  it('writes a subject override instead of the CSR subject', async () => {
    const csr = await certs.createCsr({ subject: 'CN=whatever the device says', signer: deviceSigner });
    const c = await certs.issueDeviceCertificate({ csr: csr.pem, issuer: line, validity: deviceValidity, subject: 'CN=acme-00:11:22:33:44:55, O=Acme Devices' });
    assert.equal(new crypto.X509Certificate(c.pem).subject, 'CN=acme-00:11:22:33:44:55\nO=Acme Devices');
  });
});

describe('createCsr()', () => {
  it('makes a PKCS#10 request that openssl req -verify accepts, for the signer key', async () => {
    const signer = memorySigner('ecdsa384');
    const csr = await certs.createCsr({ subject: 'CN=device-0002, O=Acme Devices', signer });
    const f = file('csr.pem', csr.pem);
    const r = openssl('req', '-verify', '-noout', '-in', f);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /verify OK/);
    const t = execFileSync('openssl', ['req', '-noout', '-text', '-in', f], { encoding: 'utf8' });
    assert.match(t, /Subject: CN = device-0002, O = Acme Devices/);
    assert.match(t, /NIST CURVE: P-384/);
    assert.match(t, /Signature Algorithm: ecdsa-with-SHA384/);
    const pub = execFileSync('openssl', ['req', '-noout', '-pubkey', '-in', f], { encoding: 'utf8' });
    assert.deepEqual(readSigningKey(pub).publicKey, signer.publicKey);
  });
});

describe('issueDeviceCertificate(): a key generated inside a token', () => {
  it('certifies the token key: the certificate public key is the token CKA_EC_POINT', async () => {
    const token = testToken(new MemoryObjectStore(), { keys: await loadNodeKeyCrypto() });
    initTestToken(token);
    const s = TokenSession.open(token, { readWrite: true });
    token.loginAs(s.handle, CKU.CKU_USER, pin(USER_PIN));
    const pair = s.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'Device Priv TLS Key' });
    const ecPoint = s.attribute(pair.publicKey, CKA.CKA_EC_POINT);
    assert.equal(ecPoint[0], 0x04, 'DER OCTET STRING');
    assert.equal(ecPoint[1], 65);
    const point = ecPoint.subarray(2);

    const signer = tokenSigner(s, pair.privateKey, tokenPublicKey(s, pair.publicKey));
    const csr = await certs.createCsr({ subject: 'CN=device-token-1', signer });
    assert.equal(openssl('req', '-verify', '-noout', '-in', file('csr.pem', csr.pem)).status, 0);
    const cert = await certs.issueDeviceCertificate({ csr, issuer: line, validity: deviceValidity });
    const spki = new crypto.X509Certificate(cert.pem).publicKey.export({ format: 'der', type: 'spki' });
    assert.deepEqual(new Uint8Array(spki.subarray(spki.length - 65)), new Uint8Array(point));
    const r = openssl('verify', '-attime', String(Date.parse('2030-01-01T00:00:00Z') / 1000), '-CAfile', file('root.pem', root.pem), '-untrusted', file('inter.pem', inter.pem), file('device.pem', cert.pem));
    assert.equal(r.status, 0, r.out);
    s.close();
  });

  it('uses a token key as an intermediate CA key', async () => {
    const token = testToken(new MemoryObjectStore(), { keys: await loadNodeKeyCrypto() });
    initTestToken(token);
    const s = TokenSession.open(token, { readWrite: true });
    s.login(USER_PIN);
    const pair = s.generateKeyPair({ type: 'ec', curve: 'P-384' }, { label: 'line 2 CA key' });
    const caSigner = tokenSigner(s, pair.privateKey, tokenPublicKey(s, pair.publicKey));
    const ca2 = await certs.createIntermediateCa({ subject: 'CN=Acme Line 2', publicKey: caSigner.publicKey, issuer: { certificate: root, signer: rootSigner }, ...validity });
    const csr = await certs.createCsr({ subject: 'CN=device-line-2', signer: memorySigner('ecdsa256') });
    const cert = await certs.issueDeviceCertificate({ csr, issuer: { certificate: ca2, signer: caSigner }, validity: deviceValidity });
    const r = openssl('verify', '-attime', String(Date.parse('2030-01-01T00:00:00Z') / 1000), '-CAfile', file('root.pem', root.pem), '-untrusted', file('ca2.pem', ca2.pem), file('device.pem', cert.pem));
    assert.equal(r.status, 0, r.out);
    assert.match(text(cert.pem), /Signature Algorithm: ecdsa-with-SHA384/);
    s.close();
  });
});

describe('issueDeviceCertificate(): refusals', () => {
  const signer = memorySigner('ecdsa256');
  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof NvsecError, String(e));
      return e.code;
    }
    assert.fail('expected a refusal');
  };

  it('refuses a CSR whose subject was altered after signing (and openssl agrees it is bad)', async () => {
    const csr = await certs.createCsr({ subject: 'CN=device-0003', signer });
    const der = csr.der.slice();
    const at = Buffer.from(der).indexOf('device-0003');
    assert.ok(at > 0);
    der[at + 10] = '4'.charCodeAt(0); // device-0004
    const r = openssl('req', '-verify', '-noout', '-inform', 'DER', '-in', file('bad.der', der));
    assert.match(r.out, /verify failure/, 'openssl should refuse the tampered request too (OpenSSL 3.0 says so but exits 0)');
    assert.equal(await codeOf(certs.issueDeviceCertificate({ csr: der, issuer: line, validity: deviceValidity })), 'CSR_SIGNATURE_INVALID');
    assert.equal(await certs.verifyCsr(der), false);
    assert.equal(await certs.verifyCsr(csr), true);
  });

  it('refuses a CSR whose signature was altered', async () => {
    const csr = await certs.createCsr({ subject: 'CN=device-0005', signer });
    const der = csr.der.slice();
    der[der.length - 5]! ^= 0x01; // inside s of the ECDSA signature
    assert.equal(await codeOf(certs.issueDeviceCertificate({ csr: der, issuer: line, validity: deviceValidity })), 'CSR_SIGNATURE_INVALID');
  });

  it('refuses a CSR signed by another key than the one it names', async () => {
    const csr = await certs.createCsr({ subject: 'CN=device-0006', signer });
    const other = memorySigner('ecdsa256');
    const der = Buffer.from(csr.der);
    const mine = Buffer.from([4, ...(signer.publicKey.kind === 'ec' ? [...signer.publicKey.x, ...signer.publicKey.y] : [])]);
    const theirs = Buffer.from([4, ...(other.publicKey.kind === 'ec' ? [...other.publicKey.x, ...other.publicKey.y] : [])]);
    const at = der.indexOf(mine);
    assert.ok(at > 0);
    theirs.copy(der, at); // the request now names the other key, signed by the first
    assert.match(openssl('req', '-verify', '-noout', '-inform', 'DER', '-in', file('swapped.der', der)).out, /verify failure/);
    assert.equal(await codeOf(certs.issueDeviceCertificate({ csr: new Uint8Array(der), issuer: line, validity: deviceValidity })), 'CSR_SIGNATURE_INVALID');
  });

  it('refuses to sign with a signer whose key is not the public key it claims (checks what it signs)', async () => {
    const other = memorySigner('ecdsa256');
    const liar: Signer = { publicKey: signer.publicKey, sign: (d, h) => other.sign(d, h) };
    assert.equal(await codeOf(certs.createCsr({ subject: 'CN=device-0008', signer: liar })), 'KEY_MISMATCH');
    const liarCa: Signer = { publicKey: interSigner.publicKey, sign: (d, h) => other.sign(d, h) };
    const csr = await certs.createCsr({ subject: 'CN=device-0008', signer });
    assert.equal(await codeOf(certs.issueDeviceCertificate({ csr, issuer: { certificate: inter, signer: liarCa }, validity: deviceValidity })), 'KEY_MISMATCH');
  });

  it('refuses garbage as a CSR', async () => {
    assert.equal(await codeOf(certs.issueDeviceCertificate({ csr: Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01), issuer: line, validity: deviceValidity })), 'CSR_UNREADABLE');
  });

  it('refuses an issuer whose signer does not hold the certificate key, and a non-CA issuer', async () => {
    const csr = await certs.createCsr({ subject: 'CN=device-0007', signer });
    assert.equal(await codeOf(certs.issueDeviceCertificate({ csr, issuer: { certificate: inter, signer: rootSigner }, validity: deviceValidity })), 'KEY_MISMATCH');
    const leaf = await certs.issueDeviceCertificate({ csr, issuer: line, validity: deviceValidity });
    assert.equal(await codeOf(certs.issueDeviceCertificate({ csr, issuer: { certificate: leaf, signer }, validity: deviceValidity })), 'CERT_NOT_CA');
  });

  it('refuses RSA keys, an inverted validity and a negative serial', async () => {
    const rsa = readSigningKey(generateSigningKey('rsa3072')).signer!;
    assert.equal(await codeOf(certs.createRootCa({ subject: 'CN=RSA root', signer: rsa, ...validity })), 'KEY_UNSUPPORTED');
    await assert.rejects(certs.createRootCa({ subject: 'CN=r', signer, notBefore: validity.notAfter, notAfter: validity.notBefore }), RangeError);
    await assert.rejects(certs.createRootCa({ subject: 'CN=r', signer, ...validity, serial: '80' }), RangeError);
    await assert.rejects(certs.createRootCa({ subject: '', signer, ...validity }), TypeError);
  });
});

describe('serial numbers', () => {
  it('are positive, at most 16 bytes and distinct over 1,000 device certificates', async () => {
    const signer = memorySigner('ecdsa256');
    const csr = await certs.createCsr({ subject: 'CN=device-many', signer });
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const c = await certs.issueDeviceCertificate({ csr, issuer: line, validity: deviceValidity });
      const octets = serialOctets(c.der);
      assert.ok(octets.length >= 1 && octets.length <= 16, `serial of ${octets.length} bytes`);
      assert.ok(octets[0]! < 0x80, 'positive');
      assert.ok(octets.some((b) => b !== 0), 'not zero');
      assert.ok(!(octets.length > 1 && octets[0] === 0 && octets[1]! < 0x80), 'minimal DER');
      const hex = Buffer.from(octets).toString('hex');
      assert.ok(!seen.has(hex), `serial ${hex} repeated`);
      seen.add(hex);
    }
    assert.equal(seen.size, 1000);
  });

  it('clear the top bit of the random bytes (all-ones random gives 7fff…ff, as openssl reads it)', async () => {
    assert.equal(randomSerial((n) => new Uint8Array(n).fill(0xff)), `7f${'ff'.repeat(15)}`);
    assert.equal(randomSerial((n) => new Uint8Array(n)), `${'00'.repeat(15)}01`);
    const ones = await loadCertificates({ webCrypto: globalThis.crypto, crypto: nodeCrypto, random: (n) => new Uint8Array(n).fill(0xff) });
    const c = await ones.createRootCa({ subject: 'CN=serial test', signer: rootSigner, ...validity });
    const out = execFileSync('openssl', ['x509', '-noout', '-serial', '-in', file('s.pem', c.pem)], { encoding: 'utf8' });
    assert.equal(out.trim(), `serial=7F${'FF'.repeat(15)}`);
    assert.equal(c.serial, `7f${'ff'.repeat(15)}`);
  });
});

describe('issueServerCertificate()', () => {
  it('makes a TLS server certificate with DNS and IP subjectAltNames that openssl and node accept', async () => {
    const serverKey: PublicKey = memorySigner('ecdsa256').publicKey;
    const c = await certs.issueServerCertificate({ subject: 'CN=localhost', publicKey: serverKey, issuer: line, validity: deviceValidity, dnsNames: ['localhost', 'mqtt.example.test'], ipAddresses: ['127.0.0.1', '::1'] });
    const t = text(c.pem);
    assert.equal(extension(t, 'Extended Key Usage'), 'TLS Web Server Authentication');
    assert.equal(extension(t, 'Subject Alternative Name'), 'DNS:localhost, DNS:mqtt.example.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.equal(extension(t, 'Basic Constraints'), 'CA:FALSE critical');
    const r = openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-verify_hostname', 'localhost', '-verify_ip', '127.0.0.1', '-attime', String(Date.parse('2030-01-01T00:00:00Z') / 1000), '-CAfile', file('root.pem', root.pem), '-untrusted', file('inter.pem', inter.pem), file('server.pem', c.pem));
    assert.equal(r.status, 0, r.out);
    const x = new crypto.X509Certificate(c.pem);
    assert.equal(x.checkHost('localhost'), 'localhost');
    assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(x.checkHost('example.com'), undefined);
  });

  it('needs at least one subjectAltName', async () => {
    await assert.rejects(certs.issueServerCertificate({ subject: 'CN=x', publicKey: interSigner.publicKey, issuer: line, validity: deviceValidity }), RangeError);
  });
});

describe('parseCertificate()', () => {
  it('reads back the fields of a PEM and a DER certificate', () => {
    for (const input of [inter.pem, inter.der]) {
      const p = certs.parseCertificate(input);
      assert.equal(p.subject, 'CN=Acme Manufacturing CA 1, O=Acme Devices');
      assert.equal(p.issuer, 'CN=Acme Root CA, O=Acme Devices');
      assert.deepEqual(p.publicKey, interSigner.publicKey);
      assert.equal(Buffer.from(p.subjectKeyId!).toString('hex'), keyIdOf(inter.pem));
      assert.equal(p.notAfter.toISOString(), '2046-01-01T00:00:00.000Z');
    }
    assert.throws(() => certs.parseCertificate(Uint8Array.of(1, 2, 3)), (e: unknown) => e instanceof NvsecError && e.code === 'CERT_UNREADABLE');
  });
});

describe('loading', () => {
  it('imports neither @peculiar/x509 nor reflect-metadata until loadCertificates() is called', () => {
    const src = fileURLToPath(new URL('../../src/provision/certificates.ts', import.meta.url));
    const script = `const m = await import(${JSON.stringify(src)}); const before = typeof Reflect.getMetadata; await m.loadCertificates({ webCrypto: globalThis.crypto, crypto: {} }); console.log(before, typeof Reflect.getMetadata);`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(out.trim(), 'undefined function');
  });
});
