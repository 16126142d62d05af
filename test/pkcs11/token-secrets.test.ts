import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { DirectoryObjectStore } from '../../src/node/directory-object-store.js';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { CKA, CKK, CKM, CKO, CKU } from '../../src/pkcs11/constants.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { decodeObjectRecord } from '../../src/pkcs11/pal/object-record.js';
import { PalError } from '../../src/pkcs11/pal/pal-error.js';
import type { RawAttribute } from '../../src/pkcs11/token/attribute-map.js';
import { ulongBytes } from '../../src/pkcs11/token/attribute-map.js';
import { openPinRecord } from '../../src/pkcs11/token/pin-record.js';
import { decodeTokenRecord, TOKEN_RECORD_LABEL } from '../../src/pkcs11/token/token-record.js';
import type { Token } from '../../src/pkcs11/token/token.js';
import { cleanupBackends, tempDir } from './_backends.js';
import { CKR, ckrOf, initTestToken, pin, RW, SO_PIN, testToken, USER_PIN } from './_token.js';

/*
 * The ways a token could hand out, weaken or lose a secret: how the token key is wrapped, copies
 * and destroyed keys, replacement by label, rollback, search as an oracle. Each test here was a
 * real bug found in review before it shipped.
 */

after(cleanupBackends);

const utf8 = new TextEncoder();
const a = (type: number, value: Uint8Array | number | boolean | string): RawAttribute => ({
  type,
  value: typeof value === 'number' ? ulongBytes(value) : typeof value === 'boolean' ? Uint8Array.of(value ? 1 : 0) : typeof value === 'string' ? utf8.encode(value) : value,
});
const hmacKey = (label: string, value: Uint8Array, extra: RawAttribute[] = []): RawAttribute[] => [
  a(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
  a(CKA.CKA_KEY_TYPE, CKK.CKK_SHA256_HMAC),
  a(CKA.CKA_TOKEN, true),
  a(CKA.CKA_LABEL, label),
  a(CKA.CKA_VALUE, value),
  ...extra,
];

function userSession(token: Token): number {
  const s = token.openSession(token.slotId, RW);
  token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
  return s;
}

function mac(token: Token, s: number, key: number, data: string): Buffer {
  token.signInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, key);
  return Buffer.from(token.sign(s, utf8.encode(data), 32).value!);
}

describe('Token secrets', () => {
  it('the user PIN and the SO PIN wrap the same random token key, and private files open only under it', () => {
    const dir = tempDir('wrap');
    const store = new DirectoryObjectStore(dir);
    const token = testToken(store);
    initTestToken(token);
    const secret = crypto.randomBytes(32);
    token.createObject(userSession(token), hmacKey('HMAC Key', secret));
    const record = decodeTokenRecord(store.get(store.find(TOKEN_RECORD_LABEL)!).data);
    const byUser = openPinRecord(nodeCrypto, record.user!, pin(USER_PIN))!;
    const bySo = openPinRecord(nodeCrypto, record.so, pin(SO_PIN))!;
    assert.deepEqual(byUser, bySo);
    assert.ok(byUser.some((b) => b !== 0), 'the token key is not all zeros');
    const records = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('obj-') && f.endsWith('.p11o'))
      .map((f) => decodeObjectRecord(new Uint8Array(fs.readFileSync(path.join(dir, f))), f));
    const rec = records.find((r) => r.isPrivate)!;
    const open = (key: Uint8Array): Buffer => {
      const p = rec.payload;
      const d = crypto.createDecipheriv('aes-256-gcm', key, p.subarray(0, 12));
      d.setAAD(rec.header);
      d.setAuthTag(p.subarray(p.length - 16));
      return Buffer.concat([d.update(p.subarray(12, p.length - 16)), d.final()]);
    };
    assert.throws(() => open(new Uint8Array(32)), 'a zero key must not open it');
    assert.ok(open(byUser).includes(secret), 'the token key opens it');
  });

  it('destroying a copy leaves the original key intact', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = userSession(token);
    const secret = crypto.randomBytes(32);
    const key = token.createObject(s, hmacKey('k', secret));
    const copy = token.copyObject(s, key, [a(CKA.CKA_LABEL, 'k copy')]);
    token.destroyObject(s, copy);
    assert.deepEqual(mac(token, s, key, 'm'), crypto.createHmac('sha256', secret).update('m').digest());
  });

  it('an operation ends when its key is destroyed: it cannot go on with a wiped key', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = userSession(token);
    const key = token.createObject(s, hmacKey('k', crypto.randomBytes(32)));
    token.verifyInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, key);
    token.destroyObject(s, key);
    const zeroKeyMac = crypto.createHmac('sha256', Buffer.alloc(32)).update('m').digest();
    assert.equal(ckrOf(() => token.verify(s, utf8.encode('m'), zeroKeyMac)), CKR.CKR_OPERATION_NOT_INITIALIZED);
  });

  it('replacing by label needs a destroyable, modifiable object the session can see', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = userSession(token);
    const data = (label: string, value: string, extra: RawAttribute[] = []) => [a(CKA.CKA_CLASS, CKO.CKO_DATA), a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, label), a(CKA.CKA_VALUE, value), ...extra];
    const fixed = token.createObject(s, data('backup-codes', 'secret codes', [a(CKA.CKA_PRIVATE, true), a(CKA.CKA_DESTROYABLE, false)]));
    assert.equal(ckrOf(() => token.createObject(s, data('backup-codes', 'overwritten', [a(CKA.CKA_PRIVATE, true)]))), CKR.CKR_ACTION_PROHIBITED);
    token.logout(s);
    const other = token.createObject(s, data('backup-codes', 'public twin'));
    assert.notEqual(other, fixed, 'a logged-out session cannot replace what it cannot see');
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    const value = token.getAttributeValue(s, fixed, [{ type: CKA.CKA_VALUE, capacity: 64 }]).attributes[0]!.value!;
    assert.equal(new TextDecoder().decode(value), 'secret codes');
  });

  it('a key pair generation that fails half way puts back the credentials it was replacing', async () => {
    const store = new MemoryObjectStore();
    const token = testToken(store, { keys: await loadNodeKeyCrypto() });
    initTestToken(token);
    const s = userSession(token);
    const p256 = a(CKA.CKA_EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex'));
    const pubT = [a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, 'Device Pub TLS Key'), p256];
    const privT = [a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, 'Device Priv TLS Key'), a(CKA.CKA_SIGN, true)];
    const old = token.generateKeyPair(s, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, pubT, privT);
    const save = store.save.bind(store);
    let saves = 0;
    store.save = (label, data, options) => {
      if (++saves === 2) throw new PalError('PAL_IO_FAILED', 'injected write failure');
      return save(label, data, options);
    };
    assert.equal(ckrOf(() => token.generateKeyPair(s, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, pubT, privT)), CKR.CKR_FUNCTION_FAILED);
    store.save = save;
    const digest = crypto.randomBytes(32);
    token.signInit(s, { mechanism: CKM.CKM_ECDSA }, old.privateKey);
    const sig = token.sign(s, digest, 64).value!;
    token.verifyInit(s, { mechanism: CKM.CKM_ECDSA }, old.publicKey);
    token.verify(s, digest, sig);
    token.finalize();
    token.initialize();
    const again = userSession(token);
    token.signInit(again, { mechanism: CKM.CKM_ECDSA }, old.privateKey);
    const sig2 = token.sign(again, digest, 64).value!;
    token.verifyInit(again, { mechanism: CKM.CKM_ECDSA }, old.publicKey);
    token.verify(again, digest, sig2);
  });

  it('a search never matches on a value the token would not reveal', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = userSession(token);
    const secret = crypto.randomBytes(32);
    token.createObject(s, hmacKey('k', secret));
    token.findObjectsInit(s, [a(CKA.CKA_VALUE, secret)]);
    assert.deepEqual(token.findObjects(s, 10), []);
    token.findObjectsFinal(s);
  });

  it('refuses CKA_ALWAYS_AUTHENTICATE true, which it could not enforce', async () => {
    const token = testToken(new MemoryObjectStore(), { keys: await loadNodeKeyCrypto() });
    initTestToken(token);
    const s = userSession(token);
    const pubT = [a(CKA.CKA_EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex'))];
    const privT = [a(CKA.CKA_SIGN, true), a(CKA.CKA_ALWAYS_AUTHENTICATE, true)];
    assert.equal(ckrOf(() => token.generateKeyPair(s, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, pubT, privT)), CKR.CKR_ATTRIBUTE_VALUE_INVALID);
  });

  it('a copy of an unmodifiable object is allowed and may itself be made unmodifiable', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = userSession(token);
    const h = token.createObject(s, [a(CKA.CKA_CLASS, CKO.CKO_DATA), a(CKA.CKA_MODIFIABLE, false), a(CKA.CKA_VALUE, 'v')]);
    assert.equal(ckrOf(() => token.setAttributeValue(s, h, [a(CKA.CKA_LABEL, 'x')])), CKR.CKR_ACTION_PROHIBITED);
    const c = token.copyObject(s, h, [a(CKA.CKA_LABEL, 'copy')]);
    const d = token.copyObject(s, c, [a(CKA.CKA_MODIFIABLE, false)]);
    assert.equal(token.getAttributeValue(s, d, [{ type: CKA.CKA_MODIFIABLE, capacity: 1 }]).attributes[0]!.value![0], 0);
  });

  it('an SO PIN lockout says that only erasing the storage helps; C_SetPIN on a blank token is a CKR', () => {
    const token = testToken(new MemoryObjectStore(), { maxPinTries: 1 });
    const blank = token.openSession(token.slotId, RW);
    assert.equal(ckrOf(() => token.setPin(blank, pin('12345678'), pin('87654321'))), CKR.CKR_TOKEN_NOT_RECOGNIZED);
    token.closeSession(blank);
    initTestToken(token);
    const s = token.openSession(token.slotId, RW);
    assert.equal(ckrOf(() => token.loginAs(s, CKU.CKU_SO, pin('00000000'))), CKR.CKR_PIN_INCORRECT);
    token.closeSession(s);
    assert.throws(() => token.initToken(token.slotId, pin(SO_PIN), 'again'), /SO PIN is locked.*erase the token's storage/);
    assert.throws(() => testToken(new MemoryObjectStore(), { maxPinTries: 0 }), RangeError);
  });

  it('two token instances on one store never write a stale PIN record back (no PIN revert, no counter reset)', () => {
    const store = new MemoryObjectStore();
    const server = testToken(store, { maxPinTries: 10 });
    initTestToken(server);
    const cli = testToken(store);
    const c = cli.openSession(cli.slotId, RW);
    cli.loginAs(c, CKU.CKU_USER, pin(USER_PIN));
    cli.setPin(c, pin(USER_PIN), pin('changed1'));
    cli.closeSession(c);
    const s = server.openSession(server.slotId, RW);
    assert.equal(ckrOf(() => server.loginAs(s, CKU.CKU_USER, pin(USER_PIN))), CKR.CKR_PIN_INCORRECT, 'the old PIN stays dead');
    for (let i = 0; i < 8; i++) {
      const fresh = testToken(store);
      const f = fresh.openSession(fresh.slotId, RW);
      assert.equal(ckrOf(() => fresh.loginAs(f, CKU.CKU_USER, pin('guess000'))), CKR.CKR_PIN_INCORRECT);
    }
    assert.equal(ckrOf(() => server.loginAs(s, CKU.CKU_USER, pin('guess000'))), CKR.CKR_PIN_INCORRECT);
    assert.equal(ckrOf(() => server.loginAs(s, CKU.CKU_USER, pin('changed1'))), CKR.CKR_PIN_LOCKED, '10 wrong PINs in all lock it');
  });

  it('a damaged stored object is skipped with a note: the token still opens and logs in', () => {
    const dir = tempDir('damaged');
    let token = testToken(new DirectoryObjectStore(dir));
    initTestToken(token);
    const s = userSession(token);
    token.createObject(s, hmacKey('HMAC Key', crypto.randomBytes(32)));
    const good = token.createObject(s, hmacKey('other', crypto.randomBytes(32)));
    token.finalize();
    const file = path.join(dir, fs.readdirSync(dir).find((f) => f === `obj-${Buffer.from('HMAC Key').toString('hex')}.p11o`)!);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 20]! ^= 0x01;
    fs.writeFileSync(file, bytes);
    token = testToken(new DirectoryObjectStore(dir));
    const t = userSession(token);
    assert.match(token.notes.join('\n'), /"HMAC Key".*cannot be read/);
    assert.equal(mac(token, t, good, 'm').length, 32, 'the intact key still works');
  });

  it('C_CopyObject of a token object keeps the label and never replaces its source', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = userSession(token);
    const secret = crypto.randomBytes(32);
    const original = token.createObject(s, hmacKey('backup-me', secret, [a(CKA.CKA_MODIFIABLE, false)]));
    const copy = token.copyObject(s, original, []);
    assert.notEqual(copy, original);
    token.destroyObject(s, original);
    assert.deepEqual(mac(token, s, copy, 'm'), crypto.createHmac('sha256', secret).update('m').digest());
  });

  it('C_Logout destroys private session objects; their handles stay invalid after the next login', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = userSession(token);
    const h = token.createObject(s, hmacKey('session key', crypto.randomBytes(32)).filter((x) => x.type !== CKA.CKA_TOKEN));
    token.logout(s);
    token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
    assert.equal(ckrOf(() => token.signInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, h)), CKR.CKR_KEY_HANDLE_INVALID);
  });

  it('labels: a relabelled credential is never replaced behind its back, and C_SetAttributeValue keeps the label rules', () => {
    const token = testToken(new MemoryObjectStore());
    initTestToken(token);
    const s = userSession(token);
    const old = token.createObject(s, hmacKey('HMAC Key', crypto.randomBytes(32)));
    token.setAttributeValue(s, old, [a(CKA.CKA_LABEL, 'kept old key')]);
    assert.equal(ckrOf(() => token.createObject(s, hmacKey('HMAC Key', crypto.randomBytes(32)))), CKR.CKR_ACTION_PROHIBITED);
    assert.equal(ckrOf(() => token.setAttributeValue(s, old, [a(CKA.CKA_LABEL, 'x'.repeat(33))])), CKR.CKR_DATA_LEN_RANGE);
  });

  it('when a failed key pair generation cannot put the old key back, it says so and memory matches the store', async () => {
    const store = new MemoryObjectStore();
    const token = testToken(store, { keys: await loadNodeKeyCrypto() });
    initTestToken(token);
    const s = userSession(token);
    const p256 = a(CKA.CKA_EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex'));
    const pubT = [a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, 'Device Pub TLS Key'), p256];
    const privT = [a(CKA.CKA_TOKEN, true), a(CKA.CKA_LABEL, 'Device Priv TLS Key'), a(CKA.CKA_SIGN, true)];
    token.generateKeyPair(s, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, pubT, privT);
    const save = store.save.bind(store);
    let saves = 0;
    store.save = (label, data, options) => {
      if (++saves >= 2) throw new PalError('PAL_IO_FAILED', 'injected write failure');
      return save(label, data, options);
    };
    assert.throws(() => token.generateKeyPair(s, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, pubT, privT), /could not be put back/);
    store.save = save;
    const inMemory = token.getAttributeValue(s, 1, [{ type: CKA.CKA_PUBLIC_KEY_INFO, capacity: 200 }]).attributes[0]!.value!;
    token.finalize();
    token.initialize();
    const again = userSession(token);
    const inStore = token.getAttributeValue(again, 1, [{ type: CKA.CKA_PUBLIC_KEY_INFO, capacity: 200 }]).attributes[0]!.value!;
    assert.deepEqual(inMemory, inStore);
  });

  it('an unreadable token record shows an uninitialised token with a note, which C_InitToken starts again', () => {
    const store = new MemoryObjectStore();
    initTestToken(testToken(store));
    store.save(TOKEN_RECORD_LABEL, utf8.encode('{"version":1}'), { isPrivate: false });
    const token = testToken(store);
    assert.match(token.notes.join('\n'), /token record cannot be read/);
    token.initToken(token.slotId, pin(SO_PIN), 'fresh');
    initTestToken(token);
  });
});
