import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../_support/cli.js';

// PBKDF2 at 1000 iterations keeps each CLI run short; users get the 100 000 default.
const FAST = ['--pin-iterations', '1000'];
const SO = '87654321';
const PIN = '123456';

/** Runs `nvsec token …` with PINs only from what the test passes (never from the caller's environment). */
function token(args: string[], env: Record<string, string> = {}): ReturnType<typeof runCli> {
  return runCli(['token', ...args], { env: { NVSEC_PIN: '', NVSEC_SO_PIN: '', NVSEC_NEW_PIN: '', ...env } });
}

function ok(r: ReturnType<typeof runCli>): string {
  assert.equal(r.status, 0, `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

describe('nvsec token on a directory token', () => {
  let dir: string;
  let store: string;
  const message = new TextEncoder().encode('firmware manifest v1.2.3\n');

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-token-'));
    store = path.join(dir, 'tok');
    fs.writeFileSync(path.join(dir, 'msg.bin'), message);
    fs.writeFileSync(path.join(dir, 'so.txt'), `${SO}\n`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('init creates the token with both PINs and refuses to re-initialise it without --force', () => {
    const short = token(['init', '--store', store, '--label', 'factory', '--so-pin', SO, '--pin', '12', ...FAST]);
    assert.equal(short.status, 2);
    assert.match(short.stderr, /user PIN is 2 bytes; PINs are 4\.\.64 bytes/);
    assert.ok(!fs.existsSync(store), 'a refused init left a store behind');
    const out = ok(token(['init', '--store', store, '--label', 'factory', '--so-pin-file', path.join(dir, 'so.txt'), ...FAST, '--json'], { NVSEC_PIN: PIN }));
    const r = JSON.parse(out);
    assert.equal(r.label, 'factory');
    assert.match(r.serialNumber, /^[0-9A-F]{16}$/);
    assert.ok(!out.includes(PIN) && !out.includes(SO), 'a PIN was printed');
    const again = token(['init', '--store', store, '--label', 'other', '--so-pin', SO, '--pin', PIN, ...FAST]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /initialised already.*--force/);
  });

  it('info --json decodes the token flags as PKCS#11 defines them', () => {
    const info = JSON.parse(ok(token(['info', '--store', store, '--json'])));
    assert.equal(info.label, 'factory');
    assert.equal(info.initialized, true);
    assert.equal(info.userPinInitialized, true);
    assert.deepEqual(info.userPin, { countLow: false, finalTry: false, locked: false, toBeChanged: false });
    // CKF_RNG 0x1 | CKF_LOGIN_REQUIRED 0x4 | CKF_USER_PIN_INITIALIZED 0x8 | CKF_TOKEN_INITIALIZED 0x400 (PKCS#11 2.40 §3.2)
    assert.equal(info.flags, 0x40d);
    const names = info.mechanisms.map((m: { name: string }) => m.name);
    for (const m of ['CKM_EC_KEY_PAIR_GEN', 'CKM_ECDSA', 'CKM_ECDSA_SHA256', 'CKM_SHA256_RSA_PKCS']) assert.ok(names.includes(m), m);
  });

  let publicPem: string;

  it('keygen ec:P-256 writes a public key whose fingerprint and point OpenSSL agrees with', () => {
    const pubFile = path.join(dir, 'dev.pub.pem');
    const r = JSON.parse(ok(token(['keygen', '--store', store, '--type', 'ec:P-256', '--label', 'dev', '--id', '01', '--public-out', pubFile, '--json'], { NVSEC_PIN: PIN })));
    publicPem = fs.readFileSync(pubFile, 'utf8');
    const key = crypto.createPublicKey(publicPem);
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const spki = key.export({ type: 'spki', format: 'der' });
    assert.equal(r.spkiSha256, crypto.createHash('sha256').update(spki).digest('hex'));
    const jwk = key.export({ format: 'jwk' });
    assert.equal(r.ecPoint, `04${Buffer.from(jwk.x!, 'base64url').toString('hex')}${Buffer.from(jwk.y!, 'base64url').toString('hex')}`);
    assert.notEqual(r.privateKey, r.publicKey);
  });

  it('sign ECDSA-SHA256 makes signatures node:crypto verifies (raw r‖s, and DER for openssl)', () => {
    const raw = path.join(dir, 'sig.bin');
    ok(token(['sign', '--store', store, '--key', 'dev', '--mechanism', 'ECDSA-SHA256', '--in', path.join(dir, 'msg.bin'), '--out', raw], { NVSEC_PIN: PIN }));
    const sig = fs.readFileSync(raw);
    assert.equal(sig.length, 64);
    assert.ok(crypto.verify('sha256', message, { key: publicPem, dsaEncoding: 'ieee-p1363' }, sig));
    assert.ok(!crypto.verify('sha256', Buffer.from('another message'), { key: publicPem, dsaEncoding: 'ieee-p1363' }, sig));

    const der = path.join(dir, 'sig.der');
    ok(token(['sign', '--store', store, '--key', 'dev', '--mechanism', 'ECDSA', '--hash', 'sha256', '--format', 'der', '--in', path.join(dir, 'msg.bin'), '--out', der], { NVSEC_PIN: PIN }));
    assert.ok(crypto.verify('sha256', message, { key: publicPem, dsaEncoding: 'der' }, fs.readFileSync(der)));
  });

  it('verify says "Signature OK" (exit 0) or "Signature invalid" (exit 1), without a PIN', () => {
    const args = ['verify', '--store', store, '--key', 'dev', '--mechanism', 'ECDSA-SHA256', '--signature', path.join(dir, 'sig.bin')];
    assert.equal(ok(token([...args, '--in', path.join(dir, 'msg.bin')])).trim(), 'Signature OK');
    const other = path.join(dir, 'other.bin');
    fs.writeFileSync(other, 'firmware manifest v1.2.4\n');
    const bad = token([...args, '--in', other]);
    assert.equal(bad.status, 1, bad.stderr);
    assert.equal(bad.stdout.trim(), 'Signature invalid');
  });

  it('a wrong PIN fails with CKR_PIN_INCORRECT and the tries left, and info shows the counter', () => {
    const r = token(['list', '--store', store, '--pin', '000000']);
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /wrong user PIN \(9 tries left\).*CKR_PIN_INCORRECT/);
    const info = JSON.parse(ok(token(['info', '--store', store, '--json'])));
    assert.equal(info.userPin.countLow, true);
    assert.equal(info.userPin.locked, false);
  });

  it('import --cert stores an OpenSSL-made certificate that list --json shows; without a PIN list says it shows public objects only', () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=test', '-keyout', 'k.pem', '-out', 'c.pem'], {
      cwd: dir,
      stdio: 'ignore',
    });
    ok(token(['import', '--store', store, '--cert', path.join(dir, 'c.pem'), '--label', 'Device Cert', '--id', '01'], { NVSEC_PIN: PIN }));
    const listed = JSON.parse(ok(token(['list', '--store', store, '--json'], { NVSEC_PIN: PIN })));
    assert.equal(listed.loggedIn, true);
    const cert = listed.objects.find((o: { class: string }) => o.class === 'certificate');
    assert.deepEqual({ label: cert.label, id: cert.id, private: cert.private }, { label: 'Device Cert', id: '01', private: false });
    assert.ok(listed.objects.some((o: { class: string; label: string }) => o.class === 'private-key' && o.label === 'dev'));

    const pub = token(['list', '--store', store, '--json']);
    assert.equal(pub.status, 0, pub.stderr);
    assert.match(pub.stderr, /public objects only/);
    assert.ok(JSON.parse(pub.stdout).objects.every((o: { private: boolean }) => !o.private));
  });

  it('import --key takes an OpenSSL-made EC key whose signatures OpenSSL verifies', () => {
    ok(token(['import', '--store', store, '--key', path.join(dir, 'k.pem'), '--label', 'imported', '--id', '02'], { NVSEC_PIN: PIN }));
    const sig = path.join(dir, 'imported.der');
    ok(token(['sign', '--store', store, '--key', 'imported', '--mechanism', 'ECDSA-SHA256', '--format', 'der', '--in', path.join(dir, 'msg.bin'), '--out', sig], { NVSEC_PIN: PIN }));
    const pub = execFileSync('openssl', ['pkey', '-in', path.join(dir, 'k.pem'), '-pubout']);
    assert.ok(crypto.verify('sha256', message, { key: pub, dsaEncoding: 'der' }, fs.readFileSync(sig)));
  });

  it('delete refuses an ambiguous label and deletes by label and class', () => {
    const amb = token(['delete', '--store', store, '--label', 'dev'], { NVSEC_PIN: PIN });
    assert.equal(amb.status, 2);
    assert.match(amb.stderr, /2 objects are labelled "dev"/);
    ok(token(['delete', '--store', store, '--label', 'dev', '--class', 'private-key'], { NVSEC_PIN: PIN }));
    const left = JSON.parse(ok(token(['list', '--store', store, '--label', 'dev', '--json'], { NVSEC_PIN: PIN }))).objects;
    assert.deepEqual(
      left.map((o: { class: string }) => o.class),
      ['public-key'],
    );
  });

  it('change-pin replaces the user PIN: the old one fails, the new one logs in', () => {
    ok(token(['change-pin', '--store', store, '--pin', PIN, '--new-pin', '24682468', ...FAST]));
    const old = token(['list', '--store', store, '--pin', PIN]);
    assert.equal(old.status, 1);
    assert.match(old.stderr, /CKR_PIN_INCORRECT/);
    assert.match(ok(token(['list', '--store', store], { NVSEC_PIN: '24682468' })), /Device Cert/);
  });
});

describe('nvsec token on an NVS partition image', () => {
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-token-nvs-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps a token in an encrypted image across runs, and refuses the image without its keys', () => {
    ok(runCli(['nvs', 'generate-key', '--keyfile', 'nvs_keys.bin', '--outdir', dir]));
    const keys = path.join(dir, 'keys', 'nvs_keys.bin');
    const image = path.join(dir, 'nvs.bin');
    const store = ['--store', `nvs:${image}`, '--nvs-keys', keys];
    ok(token(['init', ...store, '--nvs-size', '0x6000', '--label', 'device', '--so-pin', SO, '--pin', PIN, ...FAST]));
    assert.equal(fs.statSync(image).size, 0x6000);
    const gen = JSON.parse(ok(token(['keygen', ...store, '--type', 'ec:P-256', '--label', 'Device Priv TLS Key', '--json'], { NVSEC_PIN: PIN })));
    const listed = JSON.parse(ok(token(['list', ...store, '--json'], { NVSEC_PIN: PIN })));
    assert.deepEqual(
      listed.objects.map((o: { handle: number; class: string; curve: string }) => [o.handle, o.class, o.curve]).sort(),
      [
        [gen.privateKey, 'private-key', 'P-256'],
        [gen.publicKey, 'public-key', 'P-256'],
      ].sort(),
    );
    // Encrypted at rest: the label is nowhere in the image's bytes.
    assert.ok(!fs.readFileSync(image).includes(Buffer.from('Device Priv TLS Key')));
    const plain = token(['list', '--store', `nvs:${image}`], { NVSEC_PIN: PIN });
    assert.equal(plain.status, 1);
    assert.match(plain.stderr, /--nvs-keys/);
  });
});
