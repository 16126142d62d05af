import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { SECTOR_SIZE } from '../../src/flash/flash.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { PartitionFlash } from '../../src/flash/partition-flash.js';
import { DirectoryObjectStore } from '../../src/node/directory-object-store.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';
import { CKA, CKC, CKF_TOKEN, CKK, CKM, CKO, CKU } from '../../src/pkcs11/constants.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { PalError } from '../../src/pkcs11/pal/pal-error.js';
import { NvsObjectStore } from '../../src/pkcs11/pal/nvs-object-store.js';
import type { RawAttribute } from '../../src/pkcs11/token/attribute-map.js';
import { ulongBytes } from '../../src/pkcs11/token/attribute-map.js';
import { TOKEN_RECORD_LABEL } from '../../src/pkcs11/token/token-record.js';
import { TokenSession } from '../../src/pkcs11/token-session.js';
import { cleanupBackends, nvsEnc, tempDir } from './_backends.js';
import { CKR, ckrOf, initTestToken, pin, RO, RW, SO_PIN, testToken, USER_PIN } from './_token.js';

after(cleanupBackends);

const utf8 = new TextEncoder();
const a = (type: number, value: Uint8Array | number | boolean | string): RawAttribute => ({
  type,
  value: typeof value === 'number' ? ulongBytes(value) : typeof value === 'boolean' ? Uint8Array.of(value ? 1 : 0) : typeof value === 'string' ? utf8.encode(value) : value,
});

/** A self-signed P-256 certificate made by OpenSSL, DER. */
function opensslCertificate(cn: string): Uint8Array {
  const dir = tempDir('cert');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-days', '30', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.der'), '-outform', 'DER'], { stdio: 'ignore' });
  return new Uint8Array(fs.readFileSync(path.join(dir, 'c.der')));
}

const hmacKey = (label: string, value: Uint8Array, token = true): RawAttribute[] => [
  a(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
  a(CKA.CKA_KEY_TYPE, CKK.CKK_SHA256_HMAC),
  a(CKA.CKA_TOKEN, token),
  a(CKA.CKA_LABEL, label),
  a(CKA.CKA_VALUE, value),
];

describe('Token: PINs', () => {
  it('reports an uninitialised token, then the flags of an initialised one', () => {
    const token = testToken(new MemoryObjectStore());
    const before = token.getTokenInfo(token.slotId).flags;
    assert.equal(before & CKF_TOKEN.CKF_TOKEN_INITIALIZED, 0);
    initTestToken(token, 'line 3');
    const info = token.getTokenInfo(token.slotId);
    assert.equal(info.flags & (CKF_TOKEN.CKF_TOKEN_INITIALIZED | CKF_TOKEN.CKF_USER_PIN_INITIALIZED | CKF_TOKEN.CKF_LOGIN_REQUIRED | CKF_TOKEN.CKF_RNG), CKF_TOKEN.CKF_TOKEN_INITIALIZED | CKF_TOKEN.CKF_USER_PIN_INITIALIZED | CKF_TOKEN.CKF_LOGIN_REQUIRED | CKF_TOKEN.CKF_RNG);
    assert.equal(info.label, 'line 3'.padEnd(32, ' '));
    assert.match(info.serialNumber, /^[0-9A-F]{16}$/);
  });

  it('counts wrong PINs (COUNT_LOW, FINAL_TRY), locks, keeps the count across a restart, and the SO unlocks', () => {
    const store = new MemoryObjectStore();
    let token = testToken(store, { maxPinTries: 3 });
    initTestToken(token);
    const flags = () => token.getTokenInfo(token.slotId).flags;
    let s = token.openSession(token.slotId, RO);
    assert.equal(ckrOf(() => token.loginAs(s, CKU.CKU_USER, pin('00000000'))), CKR.CKR_PIN_INCORRECT);
    assert.equal(flags() & (CKF_TOKEN.CKF_USER_PIN_COUNT_LOW | CKF_TOKEN.CKF_USER_PIN_FINAL_TRY), CKF_TOKEN.CKF_USER_PIN_COUNT_LOW);
    assert.equal(ckrOf(() => token.loginAs(s, CKU.CKU_USER, pin('00000000'))), CKR.CKR_PIN_INCORRECT);
    assert.ok(flags() & CKF_TOKEN.CKF_USER_PIN_FINAL_TRY);
    // A restart does not reset the counter: it is stored before the PIN is checked.
    token.finalize();
    token = testToken(store, { maxPinTries: 3 });
    s = token.openSession(token.slotId, RO);
    assert.ok(flags() & CKF_TOKEN.CKF_USER_PIN_FINAL_TRY);
    assert.equal(ckrOf(() => token.loginAs(s, CKU.CKU_USER, pin('00000000'))), CKR.CKR_PIN_INCORRECT);
    assert.ok(flags() & CKF_TOKEN.CKF_USER_PIN_LOCKED);
    assert.equal(ckrOf(() => token.loginAs(s, CKU.CKU_USER, pin(USER_PIN))), CKR.CKR_PIN_LOCKED, 'the right PIN no longer opens a locked token');
    token.closeSession(s);
    s = token.openSession(token.slotId, RW);
    token.loginAs(s, CKU.CKU_SO, pin(SO_PIN));
    token.initPin(s, pin('11112222'));
    token.logout(s);
    assert.equal(flags() & CKF_TOKEN.CKF_USER_PIN_LOCKED, 0);
    token.loginAs(s, CKU.CKU_USER, pin('11112222'));
  });

  it('a good login clears the counter; C_SetPIN changes the PIN and needs the old one', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = token.openSession(token.slotId, RW);
    assert.equal(ckrOf(() => token.loginAs(s, CKU.CKU_USER, pin('99999999'))), CKR.CKR_PIN_INCORRECT);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    assert.equal(token.getTokenInfo(token.slotId).flags & CKF_TOKEN.CKF_USER_PIN_COUNT_LOW, 0);
    assert.equal(ckrOf(() => token.setPin(s, pin('wrongpin'), pin('abcdefgh'))), CKR.CKR_PIN_INCORRECT);
    assert.equal(ckrOf(() => token.setPin(s, pin(USER_PIN), pin('ab'))), CKR.CKR_PIN_LEN_RANGE);
    token.setPin(s, pin(USER_PIN), pin('abcdefgh'));
    token.logout(s);
    assert.equal(ckrOf(() => token.loginAs(s, CKU.CKU_USER, pin(USER_PIN))), CKR.CKR_PIN_INCORRECT);
    token.loginAs(s, CKU.CKU_USER, pin('abcdefgh'));
  });

  it('stores PIN verifiers, never the PIN', () => {
    const store = new MemoryObjectStore();
    initTestToken(testToken(store));
    const record = new TextDecoder().decode(store.get(store.find(TOKEN_RECORD_LABEL)!).data);
    assert.ok(!record.includes(USER_PIN) && !record.includes(SO_PIN));
    assert.ok(!record.includes(Buffer.from(USER_PIN).toString('hex')));
  });

  it('C_InitToken with the wrong SO PIN erases nothing; with the right one it erases every object', () => {
    const store = new MemoryObjectStore();
    const token = testToken(store);
    initTestToken(token);
    const s = token.openSession(token.slotId, RW);
    token.createObject(s, [a(CKA.CKA_CLASS, CKO.CKO_DATA), a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, 'note'), a(CKA.CKA_VALUE, 'kept')]);
    assert.equal(ckrOf(() => token.initToken(token.slotId, pin(SO_PIN), 'again')), CKR.CKR_SESSION_EXISTS);
    token.closeSession(s);
    assert.equal(ckrOf(() => token.initToken(token.slotId, pin('wrong-so'), 'again')), CKR.CKR_PIN_INCORRECT);
    assert.equal(store.list().length, 2);
    token.initToken(token.slotId, pin(SO_PIN), 'again');
    assert.deepEqual(store.labels(), [TOKEN_RECORD_LABEL]);
    assert.equal(token.getTokenInfo(token.slotId).flags & CKF_TOKEN.CKF_USER_PIN_INITIALIZED, 0);
  });
});

describe('Token: objects and storage', () => {
  it('saving under a credential label replaces the object in its fixed slot (corePKCS11 PAL semantics)', () => {
    const store = new MemoryObjectStore();
    const token = testToken(store);
    initTestToken(token);
    const s = token.openSession(token.slotId, RW);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    const certTemplate = (der: Uint8Array) => [a(CKA.CKA_CLASS, CKO.CKO_CERTIFICATE), a(CKA.CKA_CERTIFICATE_TYPE, CKC.CKC_X_509), a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, 'Device Cert'), a(CKA.CKA_VALUE, der)];
    const first = opensslCertificate('first');
    const second = opensslCertificate('second');
    const h1 = token.createObject(s, certTemplate(first));
    const h2 = token.createObject(s, certTemplate(second));
    assert.equal(h1, 3, 'Device Cert has the corePKCS11 handle 3');
    assert.equal(h2, h1);
    token.findObjectsInit(s, [a(CKA.CKA_LABEL, 'Device Cert')]);
    assert.deepEqual(token.findObjects(s, 10), [3]);
    token.findObjectsFinal(s);
    const got = token.getAttributeValue(s, h2, [{ type: CKA.CKA_VALUE, capacity: 4096 }]);
    assert.deepEqual(got.attributes[0]!.value, second);
    assert.deepEqual(store.labels().sort(), ['#nvsec-token', 'Device Cert']);
  });

  it('derives CKA_SUBJECT, CKA_ISSUER and CKA_SERIAL_NUMBER from the certificate as OpenSSL reads it', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = token.openSession(token.slotId, RW);
    const der = opensslCertificate('subject check');
    const h = token.createObject(s, [a(CKA.CKA_CLASS, CKO.CKO_CERTIFICATE), a(CKA.CKA_CERTIFICATE_TYPE, CKC.CKC_X_509), a(CKA.CKA_LABEL, 'c'), a(CKA.CKA_VALUE, der)]);
    const { attributes } = token.getAttributeValue(s, h, [CKA.CKA_SUBJECT, CKA.CKA_ISSUER, CKA.CKA_SERIAL_NUMBER].map((type) => ({ type, capacity: 1024 })));
    const [subject, issuer, serial] = attributes.map((x) => Buffer.from(x.value!));
    const x509 = new crypto.X509Certificate(der);
    assert.deepEqual(subject, issuer, 'self-signed');
    assert.ok(subject!.includes(Buffer.from('subject check')));
    assert.equal(serial![0], 0x02, 'a DER INTEGER');
    assert.equal(BigInt(`0x${serial!.subarray(2).toString('hex')}`), BigInt(`0x${x509.serialNumber}`));
    assert.equal(ckrOf(() => token.createObject(s, [a(CKA.CKA_CLASS, CKO.CKO_CERTIFICATE), a(CKA.CKA_CERTIFICATE_TYPE, CKC.CKC_X_509), a(CKA.CKA_LABEL, 'c2'), a(CKA.CKA_VALUE, der.subarray(0, 100))])), CKR.CKR_ATTRIBUTE_VALUE_INVALID);
  });

  it('directory store: private objects are encrypted at rest and load only after login, across restarts', () => {
    const dir = tempDir('token');
    const secret = crypto.randomBytes(32);
    let token = testToken(new DirectoryObjectStore(dir));
    initTestToken(token);
    let s = token.openSession(token.slotId, RW);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    const h = token.createObject(s, hmacKey('HMAC Key', secret));
    assert.equal(h, 5);
    token.finalize();
    for (const f of fs.readdirSync(dir)) assert.equal(fs.readFileSync(path.join(dir, f)).indexOf(secret), -1, `${f} holds the key in clear`);

    token = testToken(new DirectoryObjectStore(dir));
    s = token.openSession(token.slotId, RO);
    token.findObjectsInit(s, []);
    assert.deepEqual(token.findObjects(s, 10), [], 'nothing private is visible before login');
    token.findObjectsFinal(s);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    token.findObjectsInit(s, [a(CKA.CKA_LABEL, 'HMAC Key')]);
    assert.deepEqual(token.findObjects(s, 10), [5]);
    token.findObjectsFinal(s);
    token.signInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, 5);
    const mac = token.sign(s, utf8.encode('message'), 32).value!;
    assert.deepEqual(Buffer.from(mac), crypto.createHmac('sha256', secret).update('message').digest());
    token.logout(s);
    assert.equal(ckrOf(() => token.signInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, 5)), CKR.CKR_USER_NOT_LOGGED_IN, 'after logout the key is out of reach');
  });

  it('session objects disappear with their session and never reach the store', () => {
    const store = new MemoryObjectStore();
    const token = testToken(store);
    initTestToken(token);
    const s = token.openSession(token.slotId, RO);
    const h = token.createObject(s, [a(CKA.CKA_CLASS, CKO.CKO_DATA), a(CKA.CKA_LABEL, 'scratch'), a(CKA.CKA_VALUE, 'x')]);
    assert.ok(h > 0x80000000);
    assert.equal(store.list().length, 1);
    assert.equal(ckrOf(() => token.createObject(s, [a(CKA.CKA_CLASS, CKO.CKO_DATA), a(CKA.CKA_TOKEN, true)])), CKR.CKR_SESSION_READ_ONLY);
    const other = token.openSession(token.slotId, RO);
    token.closeSession(s);
    assert.equal(ckrOf(() => token.getObjectSize(other, h)), CKR.CKR_OBJECT_HANDLE_INVALID);
  });

  it('finds among 10,000 objects by label and class, each match once', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = token.openSession(token.slotId, RW);
    for (let i = 0; i < 10_000; i++) token.createObject(s, [a(CKA.CKA_CLASS, CKO.CKO_DATA), a(CKA.CKA_LABEL, `obj ${i % 5000}`), a(CKA.CKA_VALUE, `${i}`)]);
    token.findObjectsInit(s, [a(CKA.CKA_LABEL, 'obj 4321'), a(CKA.CKA_CLASS, CKO.CKO_DATA)]);
    const found = token.findObjects(s, 1);
    const rest = token.findObjects(s, 10);
    assert.equal(found.length + rest.length, 2);
    assert.deepEqual(token.findObjects(s, 10), []);
    token.findObjectsFinal(s);
    const values = [...found, ...rest].map((h) => new TextDecoder().decode(token.getAttributeValue(s, h, [{ type: CKA.CKA_VALUE, capacity: 16 }]).attributes[0]!.value!));
    assert.deepEqual(values.sort(), ['4321', '9321']);
  });
});

describe('Token: a full store', () => {
  it('a save that does not fit fails with CKR_DEVICE_MEMORY and every earlier object stays readable after a restart', () => {
    const flash = new MemoryFlash(3 * SECTOR_SIZE);
    const open = () => testToken(new NvsObjectStore(NvsStorage.init(flash).open('pkcs11', 'readwrite')));
    let token = open();
    initTestToken(token);
    let s = token.openSession(token.slotId, RW);
    const saved: string[] = [];
    let rv = 0;
    for (let i = 0; i < 100 && rv === 0; i++) {
      const value = `${i}`.repeat(400);
      try {
        token.createObject(s, [a(CKA.CKA_CLASS, CKO.CKO_DATA), a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, `blob ${i}`), a(CKA.CKA_VALUE, value)]);
        saved.push(value);
      } catch (e) {
        rv = ckrOf(() => {
          throw e;
        });
      }
    }
    assert.equal(rv, CKR.CKR_DEVICE_MEMORY);
    assert.ok(saved.length > 3);
    token.finalize();
    token = open();
    s = token.openSession(token.slotId, RO);
    for (const [i, value] of saved.entries()) {
      token.findObjectsInit(s, [a(CKA.CKA_LABEL, `blob ${i}`)]);
      const [h] = token.findObjects(s, 2);
      token.findObjectsFinal(s);
      assert.equal(new TextDecoder().decode(token.getAttributeValue(s, h!, [{ type: CKA.CKA_VALUE, capacity: 4096 }]).attributes[0]!.value!), value);
    }
  });
});

describe('Token: NVS on encrypted flash', () => {
  it('keeps the token and its objects in the pkcs11 namespace of an XTS-encrypted partition', () => {
    const flash = new MemoryFlash(8 * SECTOR_SIZE);
    const open = () => testToken(new NvsObjectStore(NvsStorage.init(flash, nvsEnc()).open('pkcs11', 'readwrite')));
    const secret = crypto.randomBytes(40);
    let token = open();
    initTestToken(token);
    let s = token.openSession(token.slotId, RW);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    token.createObject(s, hmacKey('HMAC Key', secret));
    token.finalize();
    const raw = Buffer.from(flash.bytes);
    assert.equal(raw.indexOf(secret.subarray(0, 16)), -1, 'the key is not in the flash in clear');
    token = open();
    s = token.openSession(token.slotId, RO);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    token.signInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, 5);
    assert.deepEqual(Buffer.from(token.sign(s, utf8.encode('m'), 32).value!), crypto.createHmac('sha256', secret).update('m').digest());
  });
});

describe('Token: buffers it does not own', () => {
  it('never wipes the caller\'s key buffer (a Buffer, whose slice() is a view) when it zeroizes its own copy', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = token.openSession(token.slotId, RW);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    const secret = Buffer.alloc(32, 0x5a);
    const h = token.createObject(s, hmacKey('mine', secret, false));
    token.destroyObject(s, h);
    token.finalize();
    assert.deepEqual(secret, Buffer.alloc(32, 0x5a));
  });
});

describe('Token: key pairs', () => {
  it('item 68: when saving the second half fails, the first is rolled back (store and memory)', async () => {
    const { loadNodeKeyCrypto } = await import('../../src/node/node-key-crypto.js');
    const store = new MemoryObjectStore();
    const token = testToken(store, { keys: await loadNodeKeyCrypto() });
    initTestToken(token);
    const s = token.openSession(token.slotId, RW);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    const before = store.labels().length;
    const save = store.save.bind(store);
    let saves = 0;
    store.save = (label, data, options) => {
      if (++saves === 2) throw new PalError('PAL_IO_FAILED', 'injected write failure');
      return save(label, data, options);
    };
    const pubTemplate = [a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, 'pair'), a(CKA.CKA_EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex'))];
    const privTemplate = [a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, 'pair'), a(CKA.CKA_SIGN, true)];
    assert.equal(ckrOf(() => token.generateKeyPair(s, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, pubTemplate, privTemplate)), CKR.CKR_FUNCTION_FAILED);
    assert.equal(saves, 2);
    assert.equal(store.labels().length, before, 'nothing left in the store');
    token.findObjectsInit(s, [a(CKA.CKA_LABEL, 'pair')]);
    assert.deepEqual(token.findObjects(s, 10), [], 'nothing left in memory');
    token.findObjectsFinal(s);
    store.save = save;
    const pair = token.generateKeyPair(s, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, pubTemplate, privTemplate);
    assert.notEqual(pair.publicKey, pair.privateKey);
  });

  it('TokenSession puts the device TLS pair in corePKCS11\'s two slots (handles 1 and 2)', async () => {
    const { loadNodeKeyCrypto } = await import('../../src/node/node-key-crypto.js');
    const token = testToken(new MemoryObjectStore(), { keys: await loadNodeKeyCrypto() });
    initTestToken(token);
    const s = TokenSession.open(token, { readWrite: true });
    s.login(USER_PIN);
    assert.deepEqual(s.generateKeyPair({ type: 'ec', curve: 'P-256' }, { label: 'Device Priv TLS Key' }), { privateKey: 1, publicKey: 2 });
    assert.deepEqual(
      s.list().map((o) => [o.handle, o.class, o.label, o.curve]),
      [
        [1, 'private-key', 'Device Priv TLS Key', 'P-256'],
        [2, 'public-key', 'Device Pub TLS Key', 'P-256'],
      ],
    );
  });
});

describe('Token: reprogramming', () => {
  it('rewriting the app partition leaves the credentials in the NVS partition untouched', () => {
    const whole = new MemoryFlash(0x100000);
    const nvsWindow = () => new PartitionFlash(whole, 0x9000, 0x6000);
    const app = new PartitionFlash(whole, 0x10000, 0x80000);
    const open = () => testToken(new NvsObjectStore(NvsStorage.init(nvsWindow(), nvsEnc()).open('pkcs11', 'readwrite')));
    const secret = crypto.randomBytes(32);
    let token = open();
    initTestToken(token);
    let s = token.openSession(token.slotId, RW);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    token.createObject(s, hmacKey('HMAC Key', secret));
    token.finalize();
    const nvsBefore = whole.bytes.slice(0x9000, 0xf000);

    // "Flash a new app": erase the app partition and write a new image into it.
    for (let sector = 0; sector < app.size / SECTOR_SIZE; sector++) app.eraseSector(sector);
    app.write(0, crypto.randomBytes(0x50000));
    assert.throws(() => app.write(app.size - 4, new Uint8Array(8)), /outside/, 'the app partition cannot spill over');

    assert.deepEqual(whole.bytes.slice(0x9000, 0xf000), nvsBefore);
    token = open();
    s = token.openSession(token.slotId, RO);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    token.signInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, 5);
    assert.deepEqual(Buffer.from(token.sign(s, utf8.encode('m'), 32).value!), crypto.createHmac('sha256', secret).update('m').digest());
  });
});

describe('Token: foreign blobs', () => {
  it('a raw DER blob a corePKCS11 PAL wrote into a slot is ignored with a note, not fatal to C_Initialize', () => {
    const store = new MemoryObjectStore();
    initTestToken(testToken(store));
    store.save('Device Cert', opensslCertificate('pal'), { isPrivate: false });
    const token = testToken(store);
    assert.match(token.notes.join('\n'), /"Device Cert".*cannot be read as a token object/);
    const s = token.openSession(token.slotId, RW);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    const h = token.createObject(s, [a(CKA.CKA_CLASS, CKO.CKO_CERTIFICATE), a(CKA.CKA_CERTIFICATE_TYPE, CKC.CKC_X_509), a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, 'Device Cert'), a(CKA.CKA_VALUE, opensslCertificate('new'))]);
    assert.equal(h, 3, 'saving a certificate takes the slot back');
  });
});
