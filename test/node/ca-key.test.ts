import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { generateCaKey, readCaKey, writeCaKey } from '../../src/node/ca-key.js';
import { generateSigningKey, readSigningKey } from '../../src/node/signing-key.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-ca-key-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => path.join(tmp, `key-${n++}.pem`);
const PASS = 'correct horse battery staple';
const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof NvsecError, String(e));
    return e.code;
  }
  assert.fail('expected an NvsecError');
};

describe('generateCaKey() / readCaKey(): encrypted PEM CA keys', () => {
  it('writes an AES-256-CBC encrypted PKCS#8 PEM, mode 0600, that openssl opens with the passphrase', () => {
    const file = fresh();
    const key = generateCaKey(file, 'P-384', PASS);
    const pem = fs.readFileSync(file, 'latin1');
    assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const asn1 = execFileSync('openssl', ['asn1parse', '-in', file], { encoding: 'utf8' });
    assert.match(asn1, /:PBES2/);
    assert.match(asn1, /:aes-256-cbc/);
    const pub = execFileSync('openssl', ['pkey', '-in', file, '-passin', `pass:${PASS}`, '-pubout'], { encoding: 'utf8' });
    assert.deepEqual(readSigningKey(pub).publicKey, key.publicKey);
    const noPass = spawnSync('openssl', ['pkey', '-in', file, '-passin', 'pass:wrong passphrase', '-noout']);
    assert.notEqual(noPass.status, 0);
  });

  it('reads the key back into a signer whose signatures verify under the public key (node:crypto)', async () => {
    const file = fresh();
    generateCaKey(file, 'P-256', PASS);
    const { signer, publicKeyPem } = readCaKey(file, Buffer.from(PASS));
    const message = Buffer.from('tbsCertificate');
    const rs = await signer!.sign(crypto.createHash('sha256').update(message).digest(), 'sha256');
    assert.ok(crypto.verify('sha256', message, { key: publicKeyPem, dsaEncoding: 'ieee-p1363' }, rs));
  });

  it('refuses a wrong passphrase with KEY_PASSPHRASE', () => {
    const file = fresh();
    generateCaKey(file, 'P-256', PASS);
    assert.equal(codeOf(() => readCaKey(file, 'not the passphrase')), 'KEY_PASSPHRASE');
    assert.equal(codeOf(() => readCaKey(file, `${PASS} `)), 'KEY_PASSPHRASE');
  });

  it('writes an existing key given as PEM, readable with the same passphrase only', () => {
    const file = fresh();
    const pem = generateSigningKey('ecdsa256');
    writeCaKey(file, pem, PASS);
    assert.deepEqual(readCaKey(file, PASS).publicKey, readSigningKey(pem).publicKey);
    assert.ok(!fs.readFileSync(file, 'latin1').includes(pem.split('\n')[1]!), 'the plaintext key is not in the file');
  });

  it('never replaces an existing key file, and refuses short passphrases and plaintext keys', () => {
    const file = fresh();
    generateCaKey(file, 'P-256', PASS);
    const before = fs.readFileSync(file);
    assert.throws(() => generateCaKey(file, 'P-256', PASS), /already exists/);
    assert.deepEqual(fs.readFileSync(file), before);
    assert.throws(() => generateCaKey(fresh(), 'P-256', 'short'), RangeError);
    const plain = fresh();
    fs.writeFileSync(plain, generateSigningKey('ecdsa256'));
    assert.equal(codeOf(() => readCaKey(plain, PASS)), 'KEY_UNENCRYPTED');
    const junk = fresh();
    fs.writeFileSync(junk, 'not a key');
    assert.equal(codeOf(() => readCaKey(junk, PASS)), 'KEY_UNREADABLE');
  });
});
