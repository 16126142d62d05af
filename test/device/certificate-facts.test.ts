import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { certificateFacts } from '../../src/device/certificate-facts.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-cert-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A self-signed certificate made by OpenSSL, with what OpenSSL prints about it. */
function opensslCert(subj: string, serial: string, extra: string[] = []): { der: Uint8Array; subject: string; issuer: string; serial: string } {
  const pem = path.join(tmp, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(tmp, 'k.pem'), '-subj', subj, '-set_serial', serial, '-days', '1', '-out', pem, ...extra], { stdio: 'ignore' });
  const out = execFileSync('openssl', ['x509', '-in', pem, '-noout', '-subject', '-issuer', '-serial', '-nameopt', 'RFC2253'], { encoding: 'utf8' });
  const field = (name: string): string => out.split('\n').find((l) => l.startsWith(`${name}=`))!.slice(name.length + 1);
  return { der: new Uint8Array(execFileSync('openssl', ['x509', '-in', pem, '-outform', 'DER'])), subject: field('subject'), issuer: field('issuer'), serial: field('serial') };
}

describe('certificateFacts()', () => {
  const cases: [string, string, string, string[]?][] = [
    ['a plain name', '/C=DE/ST=Bayern/L=Munich/O=Acme/OU=Devices/CN=dev-000001', '0x1'],
    ['characters RFC 4514 escapes', '/O=Acme, Inc./OU=R+D/CN=dev "1";x<y>\\\\z', '0x00FF00'],
    ['a value starting with # and attributes with long names', '/CN=#hash/emailAddress=ops@example.com/serialNumber=42/DC=example', '0x7FFFFFFFFFFFFFFFFF'],
    ['a multi-valued RDN', '/O=Acme/CN=dev+UID=0001', '12345', ['-multivalue-rdn']],
    ['an attribute type without a short name (dumped as #DER)', '/O=Acme/1.3.6.1.4.1.99999.1=lab-7', '0x80'],
  ];
  for (const [what, subj, serial, extra] of cases) {
    it(`prints subject, issuer and serial as OpenSSL does for ${what}`, () => {
      const want = opensslCert(subj, serial, extra);
      const got = certificateFacts(want.der);
      assert.equal(got.subject, want.subject);
      assert.equal(got.issuer, want.issuer);
      assert.equal(got.serial, want.serial);
      assert.equal(got.selfIssued, true);
    });
  }

  it('gives the last CN, or null without one', () => {
    assert.equal(certificateFacts(opensslCert('/O=Acme/CN=first/CN=second', '1').der).commonName, 'second');
    assert.equal(certificateFacts(opensslCert('/O=Acme', '1').der).commonName, null);
  });

  it('throws RangeError for bytes that are not a certificate', () => {
    assert.throws(() => certificateFacts(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01)), RangeError);
  });
});
