// The DER that createCsr() and issueDeviceCertificate() write themselves, held against
// independent encoders and parsers: @peculiar/x509 (which wrote these structures before), OpenSSL
// (req -verify, verify, x509 -text, asn1parse) and node:crypto.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import * as x509 from '@peculiar/x509';
import type { Signer } from '../../src/crypto/signer.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { generateSigningKey, readSigningKey } from '../../src/node/signing-key.js';
import { type Certificate, type Issuer, loadCertificates } from '../../src/provision/certificates.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-der-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let fileNo = 0;
function file(name: string, data: string | Uint8Array): string {
  const f = path.join(tmp, `${fileNo++}-${name}`);
  fs.writeFileSync(f, data);
  return f;
}
function openssl(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
const opensslText = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8' });

const certs = await loadCertificates({ webCrypto: globalThis.crypto, crypto: nodeCrypto });

/** A key pair as a nvsec Signer and as WebCrypto keys (for the library's own generators). */
interface TestKey {
  readonly signer: Signer;
  readonly pem: string;
  readonly web: { privateKey: crypto.webcrypto.CryptoKey; publicKey: crypto.webcrypto.CryptoKey };
  readonly curve: 'P-256' | 'P-384';
}
async function testKey(curve: 'P-256' | 'P-384'): Promise<TestKey> {
  const pem = generateSigningKey(curve === 'P-256' ? 'ecdsa256' : 'ecdsa384');
  const k = crypto.createPrivateKey(pem);
  const algorithm = { name: 'ECDSA', namedCurve: curve };
  const privateKey = await crypto.subtle.importKey('pkcs8', k.export({ format: 'der', type: 'pkcs8' }), algorithm, false, ['sign']);
  const publicKey = await crypto.subtle.importKey('spki', crypto.createPublicKey(k).export({ format: 'der', type: 'spki' }), algorithm, true, ['verify']);
  return { signer: readSigningKey(pem).signer!, pem, web: { privateKey, publicKey }, curve };
}
const webHash = (curve: 'P-256' | 'P-384'): string => (curve === 'P-256' ? 'SHA-256' : 'SHA-384');

/** The first element inside the outer SEQUENCE of `der` (the TBSCertificate or CertificationRequestInfo), read by hand. */
function firstChild(der: Uint8Array): Uint8Array {
  const header = (at: number): { start: number; end: number } => {
    const b = der[at + 1]!;
    if (b < 0x80) return { start: at + 2, end: at + 2 + b };
    let n = 0;
    for (let i = 0; i < (b & 0x7f); i++) n = n * 256 + der[at + 2 + i]!;
    return { start: at + 2 + (b & 0x7f), end: at + 2 + (b & 0x7f) + n };
  };
  const inner = header(0).start;
  return der.subarray(inner, header(inner).end);
}
const hex = (b: Uint8Array | ArrayBuffer): string => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');

const validity = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2046-01-01T00:00:00Z') };
const deviceValidity = { notBefore: new Date('2026-06-01T00:00:00Z'), notAfter: new Date('2036-06-01T00:00:00Z') };
const attime = String(Date.parse('2030-01-01T00:00:00Z') / 1000);

const rootKey = await testKey('P-384');
const root = await certs.createRootCa({ subject: 'CN=DER Root CA, O=Acme Devices', signer: rootKey.signer, ...validity });
const lineKeys = { 'P-256': await testKey('P-256'), 'P-384': await testKey('P-384') };
const lines: Record<'P-256' | 'P-384', Issuer> = {
  'P-256': { certificate: await certs.createIntermediateCa({ subject: 'CN=DER Line P-256, O=Acme Devices', publicKey: lineKeys['P-256'].signer.publicKey, issuer: { certificate: root, signer: rootKey.signer }, ...validity }), signer: lineKeys['P-256'].signer },
  'P-384': { certificate: await certs.createIntermediateCa({ subject: 'CN=DER Line P-384, OU=Line 2, O=Acme Devices', publicKey: lineKeys['P-384'].signer.publicKey, issuer: { certificate: root, signer: rootKey.signer }, ...validity }), signer: lineKeys['P-384'].signer },
};

/** Plain subjects (written directly) and ones the library encodes (escapes, "+", an OID as type). */
const SUBJECTS = [
  'CN=device-0001, O=Acme Devices',
  'CN=dev-1, O=Acme Devices, E=dev-1@acme.example, C=DE, OU=Line 2, L=Köln, ST=NRW',
  'CN=acme-00:11:22:33:44:55, DC=example, SN=Smith, G=Ann, I=A, T=Dr',
  'CN=a\\, b, O=x',
  'CN=a+OU=b, O=c',
  '2.5.4.3=by-oid, O=Acme',
  'CN=trailing-escaped\\ , O=Acme',
];

describe('createCsr() writes the CertificationRequestInfo @peculiar/x509 wrote', () => {
  for (const curve of ['P-256', 'P-384'] as const) {
    for (const subject of SUBJECTS) {
      it(`for "${subject}" on ${curve}, and openssl req -verify accepts it`, async () => {
        const key = await testKey(curve);
        const csr = await certs.createCsr({ subject, signer: key.signer });
        const lib = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, keys: key.web, signingAlgorithm: { name: 'ECDSA', hash: webHash(curve) } }, crypto);
        assert.equal(hex(firstChild(csr.der)), hex(firstChild(new Uint8Array(lib.rawData))));
        const parsed = new x509.Pkcs10CertificateRequest(csr.der);
        assert.equal(csr.subject, parsed.subject);
        assert.equal(csr.subject, lib.subject);
        assert.equal(parsed.signatureAlgorithm.hash.name, webHash(curve));
        assert.ok(await parsed.verify(crypto), 'the library verifies the signature');
        assert.equal(csr.pem, parsed.toString('pem'));
        const f = file('csr.pem', csr.pem);
        const r = openssl('req', '-verify', '-noout', '-in', f);
        assert.equal(r.status, 0, r.out);
        assert.match(r.out, /verify OK/);
      });
    }
  }

  it('shows openssl the subject, the key, the signature algorithm and no attributes', async () => {
    const key = await testKey('P-256');
    const csr = await certs.createCsr({ subject: 'CN=device-0002, O=Acme Devices', signer: key.signer });
    const t = opensslText('req', '-noout', '-text', '-in', file('csr.pem', csr.pem));
    assert.match(t, /Version: 1 \(0x0\)/);
    assert.match(t, /Subject: CN = device-0002, O = Acme Devices/);
    assert.match(t, /NIST CURVE: P-256/);
    assert.match(t, /Attributes:\s*\n\s*\(none\)|Attributes:\s*\n\s*a0:00/);
    assert.match(t, /Signature Algorithm: ecdsa-with-SHA256/);
    const pub = opensslText('req', '-noout', '-pubkey', '-in', file('csr.pem', csr.pem));
    assert.deepEqual(readSigningKey(pub).publicKey, key.signer.publicKey);
  });
});

/** The device certificate @peculiar/x509 wrote for the same fields (the code before issue 7). */
async function libraryCertificate(c: Certificate, line: Issuer, lineKey: TestKey, subject: string): Promise<x509.X509Certificate> {
  const issuer = new x509.X509Certificate(line.certificate.der);
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
  const deviceSki = new x509.X509Certificate(c.der).getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
  return x509.X509CertificateGenerator.create(
    {
      serialNumber: c.serial,
      subject,
      issuer: issuer.subjectName,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      publicKey: new x509.X509Certificate(c.der).publicKey.rawData,
      signingKey: lineKey.web.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: webHash(lineKey.curve) },
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        new x509.SubjectKeyIdentifierExtension(deviceSki),
        new x509.AuthorityKeyIdentifierExtension(ski),
      ],
    },
    crypto,
  );
}

describe('issueDeviceCertificate() writes the TBSCertificate @peculiar/x509 wrote', () => {
  for (const curve of ['P-256', 'P-384'] as const) {
    for (const subject of SUBJECTS) {
      it(`for "${subject}" under a ${curve} issuer, and openssl verify accepts the chain`, async () => {
        const line = lines[curve];
        const device = await testKey('P-256');
        const csr = await certs.createCsr({ subject, signer: device.signer });
        const c = await certs.issueDeviceCertificate({ csr, issuer: line, validity: deviceValidity });
        const lib = await libraryCertificate(c, line, lineKeys[curve], subject);
        assert.equal(hex(firstChild(c.der)), hex(firstChild(new Uint8Array(lib.rawData))));
        const parsed = new x509.X509Certificate(c.der);
        assert.equal(c.subject, parsed.subject);
        assert.equal(c.issuer, parsed.issuer);
        assert.equal(c.issuer, line.certificate.subject);
        assert.equal(c.serial, parsed.serialNumber.toLowerCase());
        assert.equal(c.notBefore.getTime(), parsed.notBefore.getTime());
        assert.equal(c.notAfter.getTime(), parsed.notAfter.getTime());
        assert.equal(hex(c.subjectKeyId!), parsed.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
        assert.equal(c.pem, parsed.toString('pem'));
        assert.deepEqual(certs.parseCertificate(c.der), { ...c, pem: c.pem });
        assert.ok(await parsed.verify({ publicKey: await new x509.X509Certificate(line.certificate.der).publicKey.export(crypto), signatureOnly: true }, crypto));
        const r = openssl('verify', '-x509_strict', '-purpose', 'sslclient', '-attime', attime, '-CAfile', file('root.pem', root.pem), '-untrusted', file('line.pem', line.certificate.pem), file('device.pem', c.pem));
        assert.equal(r.status, 0, r.out);
      });
    }
  }

  it('shows openssl the same extensions and critical flags as before, and the P-384 issuer signature', async () => {
    const device = await testKey('P-256');
    const csr = await certs.createCsr({ subject: 'CN=device-0003, O=Acme Devices', signer: device.signer });
    const c = await certs.issueDeviceCertificate({ csr, issuer: lines['P-384'], validity: deviceValidity });
    const t = opensslText('x509', '-noout', '-text', '-in', file('c.pem', c.pem));
    const ext = (name: string): string => {
      const m = new RegExp(`X509v3 ${name}:( critical)? *\\n\\s*(.*)`).exec(t);
      assert.ok(m, `no ${name} in\n${t}`);
      return `${m[2]!.trim()}${m[1] ?? ''}`;
    };
    assert.equal(ext('Basic Constraints'), 'CA:FALSE critical');
    assert.equal(ext('Key Usage'), 'Digital Signature critical');
    assert.equal(ext('Extended Key Usage'), 'TLS Web Client Authentication');
    const keyId = (pemText: string): string => {
      const spki = new crypto.X509Certificate(pemText).publicKey.export({ format: 'der', type: 'spki' });
      const point = spki.subarray(spki.length - (spki.length > 100 ? 97 : 65));
      return crypto.createHash('sha1').update(point).digest('hex').toUpperCase().match(/../g)!.join(':');
    };
    assert.equal(ext('Subject Key Identifier'), keyId(c.pem));
    assert.equal(ext('Authority Key Identifier'), keyId(lines['P-384'].certificate.pem));
    assert.equal(t.match(/X509v3 /g)?.length, 6, 'the "X509v3 extensions" header and exactly five extensions');
    assert.match(t, /Version: 3 \(0x2\)/);
    assert.match(t, /Signature Algorithm: ecdsa-with-SHA384/);
    assert.match(t, /Issuer: CN = DER Line P-384, OU = Line 2, O = Acme Devices/);
    assert.match(t, /Subject: CN = device-0003, O = Acme Devices/);
    const x = new crypto.X509Certificate(c.pem);
    assert.ok(x.verify(new crypto.X509Certificate(lines['P-384'].certificate.pem).publicKey));
    assert.ok(x.checkIssued(new crypto.X509Certificate(lines['P-384'].certificate.pem)));
  });

  it('copies the issuer Name as raw DER from the issuer certificate', async () => {
    const device = await testKey('P-256');
    const c = await certs.issueDeviceCertificate({ csr: await certs.createCsr({ subject: 'CN=d', signer: device.signer }), issuer: lines['P-256'], validity: deviceValidity });
    const issuerDer = (pemText: string, field: '-issuer' | '-subject'): string => {
      // openssl writes the Name's DER as the hash input of -subject_hash; compare the names through asn1parse instead.
      const out = opensslText('x509', '-noout', field, '-nameopt', 'RFC2253,dump_all,dump_der', '-in', file('n.pem', pemText));
      return out.replace(/^(issuer|subject)=/, '').trim();
    };
    assert.equal(issuerDer(c.pem, '-issuer'), issuerDer(lines['P-256'].certificate.pem, '-subject'));
  });
});

describe('issueDeviceCertificate(): validity times (RFC 5280 §4.1.2.5)', () => {
  const issueWith = async (notBefore: string, notAfter: string): Promise<Certificate> => {
    const device = await testKey('P-256');
    const csr = await certs.createCsr({ subject: 'CN=time', signer: device.signer });
    return certs.issueDeviceCertificate({ csr, issuer: lines['P-256'], validity: { notBefore: new Date(notBefore), notAfter: new Date(notAfter) } });
  };

  it('writes UTCTime through 2049 and GeneralizedTime from 2050, to the second', async () => {
    const c = await issueWith('2049-12-31T23:59:59.999Z', '2050-01-01T00:00:00Z');
    const dump = opensslText('asn1parse', '-in', file('t.pem', c.pem));
    assert.match(dump, /UTCTIME\s+:491231235959Z/);
    assert.match(dump, /GENERALIZEDTIME\s+:20500101000000Z/);
    assert.equal(c.notBefore.toISOString(), '2049-12-31T23:59:59.000Z');
    assert.equal(c.notAfter.toISOString(), '2050-01-01T00:00:00.000Z');
    const x = new crypto.X509Certificate(c.pem);
    assert.equal(x.validFrom, 'Dec 31 23:59:59 2049 GMT');
    assert.equal(x.validTo, 'Jan  1 00:00:00 2050 GMT');
    const lib = new x509.X509Certificate(c.der);
    assert.equal(lib.notAfter.toISOString(), '2050-01-01T00:00:00.000Z');
  });

  it('writes GeneralizedTime far ahead (9999-12-31T23:59:59Z, RFC 5280 "no well-defined expiration")', async () => {
    const c = await issueWith('2026-01-01T00:00:00Z', '9999-12-31T23:59:59Z');
    assert.match(opensslText('asn1parse', '-in', file('t.pem', c.pem)), /GENERALIZEDTIME\s+:99991231235959Z/);
    assert.equal(new crypto.X509Certificate(c.pem).validTo, 'Dec 31 23:59:59 9999 GMT');
  });
});

describe('issueDeviceCertificate(): requests from elsewhere', () => {
  const csrFromOpenssl = (keyArgs: string[], digest: string, subj: string): string => {
    const key = file('k.pem', '');
    execFileSync('openssl', ['genpkey', ...keyArgs, '-out', key]);
    return opensslText('req', '-new', '-key', key, `-${digest}`, '-subj', subj);
  };

  for (const [curve, digest] of [
    ['P-256', 'sha256'],
    ['P-256', 'sha512'],
    ['P-384', 'sha384'],
    ['P-256', 'sha1'],
  ] as const) {
    it(`certifies an openssl-made ${curve} request signed with ${digest} (checked with the provider)`, async () => {
      const pemText = csrFromOpenssl(['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${curve}`], digest, '/CN=from-openssl/O=Acme Devices');
      const c = await certs.issueDeviceCertificate({ csr: pemText, issuer: lines['P-256'], validity: deviceValidity });
      assert.equal(c.subject, 'CN=from-openssl, O=Acme Devices');
      const x = new crypto.X509Certificate(c.pem);
      assert.ok(x.publicKey.equals(crypto.createPublicKey(opensslText('req', '-noout', '-pubkey', '-in', file('r.pem', pemText)))));
      assert.equal(openssl('verify', '-attime', attime, '-CAfile', file('root.pem', root.pem), '-untrusted', file('line.pem', lines['P-256'].certificate.pem), file('d.pem', c.pem)).status, 0);
    });
  }

  const codeOf = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof NvsecError, String(e));
      return e.code;
    }
    assert.fail('expected a refusal');
  };
  const issue = (csr: Parameters<typeof certs.issueDeviceCertificate>[0]['csr']): Promise<Certificate> => certs.issueDeviceCertificate({ csr, issuer: lines['P-256'], validity: deviceValidity });

  it('refuses a request object from createCsr whose DER was altered in place (CSR_SIGNATURE_INVALID)', async () => {
    const key = await testKey('P-256');
    const csr = await certs.createCsr({ subject: 'CN=device-0010', signer: key.signer });
    const at = Buffer.from(csr.der).indexOf('device-0010');
    csr.der[at + 10] = '1'.charCodeAt(0); // device-0011, in the object createCsr returned
    assert.match(openssl('req', '-verify', '-noout', '-inform', 'DER', '-in', file('bad.der', csr.der)).out, /verify failure/);
    assert.equal(await codeOf(issue(csr)), 'CSR_SIGNATURE_INVALID');
  });

  it('refuses a tampered PEM request (CSR_SIGNATURE_INVALID)', async () => {
    const pemText = csrFromOpenssl(['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'sha256', '/CN=device-0020');
    const der = Buffer.from(pemText.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    der[der.indexOf('device-0020') + 10] = '1'.charCodeAt(0);
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.match(openssl('req', '-verify', '-noout', '-in', file('bad.pem', tampered)).out, /verify failure/);
    assert.equal(await codeOf(issue(tampered)), 'CSR_SIGNATURE_INVALID');
  });

  it('refuses a signature that is valid but not DER (a non-minimal INTEGER), as OpenSSL does', async () => {
    const key = await testKey('P-256');
    const csr = await certs.createCsr({ subject: 'CN=device-0030', signer: key.signer });
    const info = Buffer.from(firstChild(csr.der));
    const tlv = (tag: number, body: Buffer): Buffer => {
      const n = body.length;
      const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
      return Buffer.concat([Buffer.from([tag, ...len]), body]);
    };
    const sign = (sig: Buffer): Buffer => tlv(0x30, Buffer.concat([info, Buffer.from('300a06082a8648ce3d040302', 'hex'), tlv(0x03, Buffer.concat([Buffer.of(0), sig]))]));
    const sig = crypto.sign('sha256', info, crypto.createPrivateKey(key.pem)); // DER by node:crypto
    const rLen = sig[3]!;
    const r = sig.subarray(4, 4 + rLen);
    const sPart = sig.subarray(4 + rLen); // 02 len s
    const ber = tlv(0x30, Buffer.concat([tlv(0x02, Buffer.concat([Buffer.of(0), r])), sPart])); // r with a needless leading 00
    assert.match(openssl('req', '-verify', '-noout', '-inform', 'DER', '-in', file('der.der', sign(sig))).out, /verify OK/);
    const refused = openssl('req', '-verify', '-noout', '-inform', 'DER', '-in', file('ber.der', sign(ber))).out;
    assert.doesNotMatch(refused, /verify OK/);
    assert.match(refused, /verify failure|ASN1_item_verify/);
    await issue(new Uint8Array(sign(sig))); // the DER one is fine
    assert.equal(await codeOf(issue(new Uint8Array(sign(ber)))), 'CSR_SIGNATURE_INVALID');
  });

  it('refuses truncated DER, trailing bytes and garbage (CSR_UNREADABLE)', async () => {
    const key = await testKey('P-256');
    const csr = await certs.createCsr({ subject: 'CN=device-0040', signer: key.signer });
    assert.equal(await codeOf(issue(csr.der.subarray(0, csr.der.length - 1))), 'CSR_UNREADABLE');
    assert.equal(await codeOf(issue(Uint8Array.from([...csr.der, 0]))), 'CSR_UNREADABLE');
    assert.equal(await codeOf(issue(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01))), 'CSR_UNREADABLE');
    assert.equal(await codeOf(issue('not a request')), 'CSR_UNREADABLE');
  });

  it('refuses an RSA request (KEY_UNSUPPORTED)', async () => {
    const pemText = csrFromOpenssl(['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], 'sha256', '/CN=rsa-device');
    assert.equal(await codeOf(issue(pemText)), 'KEY_UNSUPPORTED');
  });
});

describe('createCsr(): a signer whose public key is not a curve point', () => {
  it('is refused with KEY_UNSUPPORTED, every time', async () => {
    const real = (await testKey('P-256')).signer;
    const pub = real.publicKey.kind === 'ec' ? real.publicKey : assert.fail('EC key expected');
    const bad: Signer = { publicKey: { ...pub, y: pub.y.map((b, i) => (i === 31 ? b ^ 1 : b)) }, sign: (d, h) => real.sign(d, h) };
    for (let i = 0; i < 2; i++) {
      await assert.rejects(certs.createCsr({ subject: 'CN=off-curve', signer: bad }), (e: unknown) => e instanceof NvsecError && e.code === 'KEY_UNSUPPORTED');
    }
  });
});
