import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import { CK_UNAVAILABLE_INFORMATION, CKA, CKK, CKM, CKO, CKU } from '../../src/pkcs11/constants.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { ulongBytes } from '../../src/pkcs11/token/attribute-map.js';
import type { Token } from '../../src/pkcs11/token/token.js';
import { CKR, ckrOf, initTestToken, pin, RW, testToken, USER_PIN } from './_token.js';

/*
 * The C semantics pkcs11js cannot show (it always sends real buffers of the right size): NULL
 * buffers as length queries, per-attribute results, and what each outcome does to the operation.
 * These are the checklist items that need the C-level API (spec §1.10 items 3, 42, 43, 53, 57, 58).
 */

const utf8 = new TextEncoder();

function loggedIn(): { token: Token; s: number; key: number; secret: Buffer } {
  const token = testToken(new MemoryObjectStore());
  initTestToken(token);
  const s = token.openSession(token.slotId, RW);
  token.loginAs(s, CKU.CKU_USER, pin(USER_PIN));
  const secret = crypto.randomBytes(32);
  const key = token.createObject(s, [
    { type: CKA.CKA_CLASS, value: ulongBytes(CKO.CKO_SECRET_KEY) },
    { type: CKA.CKA_KEY_TYPE, value: ulongBytes(CKK.CKK_SHA256_HMAC) },
    { type: CKA.CKA_LABEL, value: utf8.encode('mac key') },
    { type: CKA.CKA_VALUE, value: secret },
  ]);
  return { token, s, key, secret };
}

describe('Token: C semantics', () => {
  it('item 3 and C_Initialize: a non-NULL reserved argument is CKR_ARGUMENTS_BAD', () => {
    const token = testToken(new MemoryObjectStore());
    assert.equal(ckrOf(() => token.finalize({})), CKR.CKR_ARGUMENTS_BAD);
    token.finalize();
    assert.equal(ckrOf(() => token.finalize()), CKR.CKR_CRYPTOKI_NOT_INITIALIZED);
    assert.equal(ckrOf(() => token.initialize({ pReserved: {} })), CKR.CKR_ARGUMENTS_BAD);
  });

  it('items 42, 43, 44, 45: length queries, a too-small buffer, sensitive and unknown attributes, each answered on its own', () => {
    const { token, s, key } = loggedIn();
    const r = token.getAttributeValue(s, key, [
      { type: CKA.CKA_LABEL, capacity: null },
      { type: CKA.CKA_LABEL, capacity: 3 },
      { type: CKA.CKA_VALUE, capacity: 64 },
      { type: 0x7fff_0000, capacity: 8 },
      { type: CKA.CKA_VALUE_LEN, capacity: 8 },
    ]);
    const [size, small, sensitive, unknown, valueLen] = r.attributes;
    assert.equal(size!.length, 7);
    assert.equal(size!.value, null);
    assert.equal(small!.length, CK_UNAVAILABLE_INFORMATION);
    assert.equal(sensitive!.length, CK_UNAVAILABLE_INFORMATION);
    assert.equal(unknown!.length, CK_UNAVAILABLE_INFORMATION);
    assert.deepEqual(valueLen!.value, ulongBytes(32), 'the attribute after the failures is still filled');
    assert.ok([CKR.CKR_BUFFER_TOO_SMALL, CKR.CKR_ATTRIBUTE_SENSITIVE, CKR.CKR_ATTRIBUTE_TYPE_INVALID].includes(r.rv as never));
  });

  it('item 53: C_DigestFinal with a NULL buffer gives 32 and a too-small one CKR_BUFFER_TOO_SMALL, both keeping the digest', () => {
    const { token, s } = loggedIn();
    token.digestInit(s, { mechanism: CKM.CKM_SHA256 });
    token.digestUpdate(s, utf8.encode('ab'));
    assert.deepEqual(token.digestFinal(s, null), { rv: CKR.CKR_OK, length: 32, value: null });
    assert.equal(token.digestFinal(s, 31).rv, CKR.CKR_BUFFER_TOO_SMALL);
    token.digestUpdate(s, utf8.encode('c'));
    assert.equal(Buffer.from(token.digestFinal(s, 32).value!).toString('hex'), crypto.createHash('sha256').update('abc').digest('hex'));
    assert.equal(ckrOf(() => token.digestFinal(s, 32)), CKR.CKR_OPERATION_NOT_INITIALIZED, 'the digest ended with its result');
    token.digestInit(s, { mechanism: CKM.CKM_SHA256 });
    token.digestUpdate(s, utf8.encode('a'));
    assert.equal(ckrOf(() => token.digest(s, utf8.encode('b'), 32)), CKR.CKR_OPERATION_ACTIVE, 'C_Digest after C_DigestUpdate');
  });

  it('items 57, 58: C_Sign length query and too-small buffer keep the operation; the signature ends it', () => {
    const { token, s, key, secret } = loggedIn();
    token.signInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, key);
    assert.deepEqual(token.sign(s, utf8.encode('m'), null), { rv: CKR.CKR_OK, length: 32, value: null });
    assert.equal(token.sign(s, utf8.encode('m'), 16).rv, CKR.CKR_BUFFER_TOO_SMALL);
    const mac = token.sign(s, utf8.encode('m'), 32).value!;
    assert.deepEqual(Buffer.from(mac), crypto.createHmac('sha256', secret).update('m').digest());
    assert.equal(ckrOf(() => token.sign(s, utf8.encode('m'), 32)), CKR.CKR_OPERATION_NOT_INITIALIZED);
  });

  it('C_Verify ends the operation whatever the outcome; a multi-part verify works', () => {
    const { token, s, key, secret } = loggedIn();
    token.verifyInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, key);
    assert.equal(ckrOf(() => token.verify(s, utf8.encode('m'), new Uint8Array(32))), CKR.CKR_SIGNATURE_INVALID);
    assert.equal(ckrOf(() => token.verify(s, utf8.encode('m'), new Uint8Array(32))), CKR.CKR_OPERATION_NOT_INITIALIZED);
    token.verifyInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, key);
    assert.equal(ckrOf(() => token.verify(s, utf8.encode('m'), new Uint8Array(31))), CKR.CKR_SIGNATURE_LEN_RANGE);
    token.verifyInit(s, { mechanism: CKM.CKM_SHA256_HMAC }, key);
    token.verifyUpdate(s, utf8.encode('hello '));
    token.verifyUpdate(s, utf8.encode('world'));
    token.verifyFinal(s, crypto.createHmac('sha256', secret).update('hello world').digest());
  });

  it('AES-CMAC signs with an AES secret key', () => {
    const { token, s } = loggedIn();
    const aes = crypto.randomBytes(16);
    const key = token.createObject(s, [
      { type: CKA.CKA_CLASS, value: ulongBytes(CKO.CKO_SECRET_KEY) },
      { type: CKA.CKA_KEY_TYPE, value: ulongBytes(CKK.CKK_AES) },
      { type: CKA.CKA_VALUE, value: aes },
    ]);
    token.signInit(s, { mechanism: CKM.CKM_AES_CMAC }, key);
    const tag = token.sign(s, utf8.encode('message'), 16).value!;
    token.verifyInit(s, { mechanism: CKM.CKM_AES_CMAC }, key);
    token.verify(s, utf8.encode('message'), tag);
    assert.equal(ckrOf(() => token.createObject(s, [
      { type: CKA.CKA_CLASS, value: ulongBytes(CKO.CKO_SECRET_KEY) },
      { type: CKA.CKA_KEY_TYPE, value: ulongBytes(CKK.CKK_AES) },
      { type: CKA.CKA_VALUE, value: aes.subarray(0, 10) },
    ])), CKR.CKR_ATTRIBUTE_VALUE_INVALID);
  });
});
