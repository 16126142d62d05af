import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CKS, CK_UNAVAILABLE_INFORMATION } from '../../src/pkcs11/constants.js';
import {
  CKA,
  CKF,
  CKM,
  CKO,
  CKR,
  CKU,
  RO,
  RW,
  certificateTemplate,
  conformanceSuite,
  expectCkr,
  findAll,
  freertosKeyPairTemplates,
  generateEcKeyPair,
  handle,
  uniqueLabel,
} from '../_support/pkcs11-conformance.js';
import { softhsmDiffers } from './_softhsm-differences.js';

// Checklist §1.10 "Sessions / login", items 13-23.

await conformanceSuite('PKCS#11 conformance: sessions and login (items 13-23)', (t) => {
  it('item 13: C_OpenSession without CKF_SERIAL_SESSION gives CKR_SESSION_PARALLEL_NOT_SUPPORTED', () => {
    expectCkr(() => t.p11.C_OpenSession(t.slot, CKF.CKF_RW_SESSION), CKR.CKR_SESSION_PARALLEL_NOT_SUPPORTED, 'R/W without SERIAL');
    expectCkr(() => t.p11.C_OpenSession(t.slot, 0), CKR.CKR_SESSION_PARALLEL_NOT_SUPPORTED, 'flags 0');
  });

  it('item 14: a full session table gives CKR_SESSION_COUNT (NULL phSession is not expressible through pkcs11js)', () => {
    const max = t.p11.C_GetTokenInfo(t.slot).maxSessionCount;
    if (softhsmDiffers(t.b, 14)) {
      assert.equal(max, 0, 'SoftHSM advertises CK_EFFECTIVELY_INFINITE');
      for (let i = 0; i < 256; i += 1) t.p11.C_OpenSession(t.slot, RO);
      return;
    }
    assert.ok(max > 0 && max < 4096 && max !== CK_UNAVAILABLE_INFORMATION, `ulMaxSessionCount ${max} is a finite table size`);
    for (let open = 1; open < max; open += 1) t.p11.C_OpenSession(t.slot, RO);
    expectCkr(() => t.p11.C_OpenSession(t.slot, RO), CKR.CKR_SESSION_COUNT, `session ${max + 1}`);
    t.p11.C_CloseAllSessions(t.slot);
    t.p11.C_OpenSession(t.slot, RO); // a freed table accepts sessions again
  });

  it('item 15: session handles are never 0; 0 or a closed handle gives CKR_SESSION_HANDLE_INVALID on every session call', () => {
    const handles = Array.from({ length: 8 }, () => t.p11.C_OpenSession(t.slot, RW));
    for (const h of [t.session, ...handles]) assert.notEqual(h.readBigUInt64LE(), 0n);
    const object = t.p11.C_CreateObject(t.session, certificateTemplate(uniqueLabel('Device Cert')));
    const closed = handles[3]!;
    t.p11.C_CloseSession(closed);
    for (const [name, s] of [['closed', closed], ['zero', handle(0)]] as const) {
      const calls: Array<[string, () => unknown]> = [
        ['C_GetSessionInfo', () => t.p11.C_GetSessionInfo(s)],
        ['C_Login', () => t.p11.C_Login(s, CKU.CKU_USER, t.b.userPin)],
        ['C_Logout', () => t.p11.C_Logout(s)],
        ['C_CreateObject', () => t.p11.C_CreateObject(s, certificateTemplate(uniqueLabel('never')))],
        ['C_DestroyObject', () => t.p11.C_DestroyObject(s, object)],
        ['C_GetObjectSize', () => t.p11.C_GetObjectSize(s, object)],
        ['C_GetAttributeValue', () => t.p11.C_GetAttributeValue(s, object, [{ type: CKA.CKA_CLASS }])],
        ['C_FindObjectsInit', () => t.p11.C_FindObjectsInit(s, [])],
        ['C_FindObjects', () => t.p11.C_FindObjects(s, 1)],
        ['C_FindObjectsFinal', () => t.p11.C_FindObjectsFinal(s)],
        ['C_DigestInit', () => t.p11.C_DigestInit(s, { mechanism: CKM.CKM_SHA256 })],
        ['C_DigestUpdate', () => t.p11.C_DigestUpdate(s, Buffer.from('abc'))],
        ['C_DigestFinal', () => t.p11.C_DigestFinal(s, Buffer.alloc(32))],
        ['C_Digest', () => t.p11.C_Digest(s, Buffer.from('abc'), Buffer.alloc(32))],
        ['C_SignInit', () => t.p11.C_SignInit(s, { mechanism: CKM.CKM_ECDSA }, object)],
        ['C_Sign', () => t.p11.C_Sign(s, Buffer.alloc(32), Buffer.alloc(64))],
        ['C_VerifyInit', () => t.p11.C_VerifyInit(s, { mechanism: CKM.CKM_ECDSA }, object)],
        ['C_Verify', () => t.p11.C_Verify(s, Buffer.alloc(32), Buffer.alloc(64))],
        ['C_GenerateKeyPair', () => t.p11.C_GenerateKeyPair(s, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, freertosKeyPairTemplates('x').publicKey, freertosKeyPairTemplates('x').privateKey)],
        ['C_GenerateRandom', () => t.p11.C_GenerateRandom(s, Buffer.alloc(16))],
        ['C_SeedRandom', () => t.p11.C_SeedRandom(s, Buffer.alloc(16))],
        ['C_CloseSession', () => t.p11.C_CloseSession(s)],
      ];
      for (const [fn, call] of calls) expectCkr(call, CKR.CKR_SESSION_HANDLE_INVALID, `${fn} on the ${name} handle`);
    }
  });

  it('item 16: C_CloseSession frees the session state: a new session starts with no find or sign operation', () => {
    const { privateKey } = generateEcKeyPair(t);
    const finding = t.p11.C_OpenSession(t.slot, RW);
    t.p11.C_FindObjectsInit(finding, [{ type: CKA.CKA_CLASS, value: CKO.CKO_CERTIFICATE }]);
    const signing = t.p11.C_OpenSession(t.slot, RW);
    t.p11.C_SignInit(signing, { mechanism: CKM.CKM_ECDSA }, privateKey);
    t.p11.C_CloseSession(finding);
    t.p11.C_CloseSession(signing);
    expectCkr(() => t.p11.C_FindObjects(finding, 1), CKR.CKR_SESSION_HANDLE_INVALID, 'the closed session');
    // the token may hand the freed handles out again: the new sessions must be clean either way
    const a = t.p11.C_OpenSession(t.slot, RW);
    const b = t.p11.C_OpenSession(t.slot, RW);
    for (const s of [a, b]) {
      expectCkr(() => t.p11.C_FindObjects(s, 1), CKR.CKR_OPERATION_NOT_INITIALIZED, 'find state of a new session');
      expectCkr(() => t.p11.C_Sign(s, Buffer.alloc(32), Buffer.alloc(64)), CKR.CKR_OPERATION_NOT_INITIALIZED, 'sign state of a new session');
    }
  });

  it('item 17: C_CloseAllSessions closes every session of the slot and ends the login', () => {
    const others = [t.p11.C_OpenSession(t.slot, RO), t.p11.C_OpenSession(t.slot, RW)];
    t.p11.C_CloseAllSessions(t.slot);
    for (const s of [t.session, ...others]) expectCkr(() => t.p11.C_GetSessionInfo(s), CKR.CKR_SESSION_HANDLE_INVALID);
    const fresh = t.p11.C_OpenSession(t.slot, RW);
    assert.equal(t.p11.C_GetSessionInfo(fresh).state, CKS.CKS_RW_PUBLIC_SESSION, 'closing the last session logs the user out');
    t.p11.C_Login(fresh, CKU.CKU_USER, t.b.userPin);
  });

  it('item 18: C_GetSessionInfo state follows the login and the R/W flag', () => {
    const info = t.p11.C_GetSessionInfo(t.session);
    assert.equal(info.slotID.readBigUInt64LE(), t.slot.readBigUInt64LE());
    assert.equal(info.flags & (CKF.CKF_SERIAL_SESSION | CKF.CKF_RW_SESSION), CKF.CKF_SERIAL_SESSION | CKF.CKF_RW_SESSION);
    assert.equal(info.state, CKS.CKS_RW_USER_FUNCTIONS);
    const ro = t.p11.C_OpenSession(t.slot, RO);
    assert.equal(t.p11.C_GetSessionInfo(ro).flags & CKF.CKF_RW_SESSION, 0);
    assert.equal(t.p11.C_GetSessionInfo(ro).state, CKS.CKS_RO_USER_FUNCTIONS);
    t.p11.C_Logout(t.session);
    assert.equal(t.p11.C_GetSessionInfo(t.session).state, CKS.CKS_RW_PUBLIC_SESSION);
    assert.equal(t.p11.C_GetSessionInfo(ro).state, CKS.CKS_RO_PUBLIC_SESSION);
    t.p11.C_CloseSession(ro);
    t.p11.C_Login(t.session, CKU.CKU_SO, t.b.soPin);
    assert.equal(t.p11.C_GetSessionInfo(t.session).state, CKS.CKS_RW_SO_FUNCTIONS);
    t.p11.C_Logout(t.session);
  });

  it('item 19: C_Login: already logged in → CKR_USER_ALREADY_LOGGED_IN, wrong PIN → CKR_PIN_INCORRECT, right PIN logs in', () => {
    expectCkr(() => t.p11.C_Login(t.session, CKU.CKU_USER, t.b.userPin), CKR.CKR_USER_ALREADY_LOGGED_IN);
    t.p11.C_Logout(t.session);
    expectCkr(() => t.p11.C_Login(t.session, CKU.CKU_USER, `${t.b.userPin}0`), CKR.CKR_PIN_INCORRECT);
    assert.equal(t.p11.C_GetSessionInfo(t.session).state, CKS.CKS_RW_PUBLIC_SESSION, 'a failed login leaves the session public');
    t.p11.C_Login(t.session, CKU.CKU_USER, t.b.userPin);
    assert.equal(t.p11.C_GetSessionInfo(t.session).state, CKS.CKS_RW_USER_FUNCTIONS);
  });

  it('item 20: C_Logout ends the login; when not logged in it gives CKR_USER_NOT_LOGGED_IN', () => {
    t.p11.C_Logout(t.session);
    assert.equal(t.p11.C_GetSessionInfo(t.session).state, CKS.CKS_RW_PUBLIC_SESSION);
    if (softhsmDiffers(t.b, 20)) t.p11.C_Logout(t.session); // SoftHSM: CKR_OK
    else expectCkr(() => t.p11.C_Logout(t.session), CKR.CKR_USER_NOT_LOGGED_IN);
  });

  it('item 21: private objects are invisible and unusable before login; signing needs login', () => {
    const pair = generateEcKeyPair(t);
    t.p11.C_Logout(t.session);
    const visible = findAll(t, [{ type: CKA.CKA_LABEL, value: pair.label }]);
    assert.deepEqual(
      visible.map((h) => h.toString('hex')),
      [pair.publicKey.toString('hex')],
      'only the public half is visible to a public session',
    );
    const signInit = () => t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.privateKey);
    if (softhsmDiffers(t.b, 21)) expectCkr(signInit, CKR.CKR_OBJECT_HANDLE_INVALID, 'SoftHSM: C_SignInit');
    else expectCkr(signInit, CKR.CKR_USER_NOT_LOGGED_IN, 'C_SignInit');
    const tpl = freertosKeyPairTemplates(uniqueLabel('never'));
    expectCkr(
      () => t.p11.C_GenerateKeyPair(t.session, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, tpl.publicKey, tpl.privateKey),
      CKR.CKR_USER_NOT_LOGGED_IN,
      'C_GenerateKeyPair of a private key',
    );
  });

  it('item 22: a R/O session cannot create or destroy token objects (CKR_SESSION_READ_ONLY)', () => {
    const cert = t.p11.C_CreateObject(t.session, certificateTemplate(uniqueLabel('Device Cert')));
    const ro = t.p11.C_OpenSession(t.slot, RO);
    expectCkr(() => t.p11.C_CreateObject(ro, certificateTemplate(uniqueLabel('never'))), CKR.CKR_SESSION_READ_ONLY, 'C_CreateObject');
    expectCkr(() => t.p11.C_DestroyObject(ro, cert), CKR.CKR_SESSION_READ_ONLY, 'C_DestroyObject');
    const tpl = freertosKeyPairTemplates(uniqueLabel('never'));
    expectCkr(
      () => t.p11.C_GenerateKeyPair(ro, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, tpl.publicKey, tpl.privateKey),
      CKR.CKR_SESSION_READ_ONLY,
      'C_GenerateKeyPair',
    );
    assert.equal(findAll(t, [{ type: CKA.CKA_LABEL, value: tpl.publicKey[0]!.value as string }]).length, 0);
    t.p11.C_GetAttributeValue(t.session, cert, [{ type: CKA.CKA_CLASS }]); // still there
  });

  it('item 23: the user PIN is the configured one, not a built-in default ("0000")', () => {
    t.p11.C_Logout(t.session);
    expectCkr(() => t.p11.C_Login(t.session, CKU.CKU_USER, '0000'), CKR.CKR_PIN_INCORRECT, 'corePKCS11 default PIN');
    t.p11.C_Login(t.session, CKU.CKU_USER, t.b.userPin);
    assert.equal(t.p11.C_GetSessionInfo(t.session).state, CKS.CKS_RW_USER_FUNCTIONS);
  });
});
