import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CK_UNAVAILABLE_INFORMATION } from '../../src/pkcs11/constants.js';
import type { Cryptoki } from '../_support/pkcs11-backends.js';
import {
  CKA,
  CKF,
  CKK,
  CKM,
  CKO,
  CKR,
  CKU,
  RO,
  RW,
  certificateTemplate,
  conformanceSuite,
  expectCkr,
  findSlot,
  generateEcKeyPair,
  handle,
  uniqueLabel,
} from '../_support/pkcs11-conformance.js';
import { softhsmDiffers } from './_softhsm-differences.js';

// Checklist §1.10 "General / slot / token", items 1-12.

/** Every Cryptoki 2.40 function but C_GetFunctionList (which pkcs11js calls inside load()). */
const CRYPTOKI_FUNCTIONS = [
  'C_Initialize', 'C_Finalize', 'C_GetInfo', 'C_GetSlotList', 'C_GetSlotInfo', 'C_GetTokenInfo',
  'C_GetMechanismList', 'C_GetMechanismInfo', 'C_InitToken', 'C_InitPIN', 'C_SetPIN', 'C_OpenSession',
  'C_CloseSession', 'C_CloseAllSessions', 'C_GetSessionInfo', 'C_GetOperationState', 'C_SetOperationState',
  'C_Login', 'C_Logout', 'C_CreateObject', 'C_CopyObject', 'C_DestroyObject', 'C_GetObjectSize',
  'C_GetAttributeValue', 'C_SetAttributeValue', 'C_FindObjectsInit', 'C_FindObjects', 'C_FindObjectsFinal',
  'C_EncryptInit', 'C_Encrypt', 'C_EncryptUpdate', 'C_EncryptFinal', 'C_DecryptInit', 'C_Decrypt',
  'C_DecryptUpdate', 'C_DecryptFinal', 'C_DigestInit', 'C_Digest', 'C_DigestUpdate', 'C_DigestKey',
  'C_DigestFinal', 'C_SignInit', 'C_Sign', 'C_SignUpdate', 'C_SignFinal', 'C_SignRecoverInit', 'C_SignRecover',
  'C_VerifyInit', 'C_Verify', 'C_VerifyUpdate', 'C_VerifyFinal', 'C_VerifyRecoverInit', 'C_VerifyRecover',
  'C_DigestEncryptUpdate', 'C_DecryptDigestUpdate', 'C_SignEncryptUpdate', 'C_DecryptVerifyUpdate',
  'C_GenerateKey', 'C_GenerateKeyPair', 'C_WrapKey', 'C_UnwrapKey', 'C_DeriveKey', 'C_SeedRandom',
  'C_GenerateRandom', 'C_WaitForSlotEvent',
] as const;

/** A 32-character space-padded CK_UTF8CHAR field, as C_GetInfo/C_GetTokenInfo must fill them. */
function assertPadded(field: string, length: number, what: string): void {
  assert.equal(Buffer.byteLength(field, 'utf8'), length, `${what} must be ${length} bytes, got ${JSON.stringify(field)}`);
  assert.ok(!field.includes('\0'), `${what} is space-padded, not NUL-terminated: ${JSON.stringify(field)}`);
}

/** A slot ID that C_GetSlotList(false) does not list. */
function absentSlot(p11: Cryptoki): Buffer {
  const ids = new Set(p11.C_GetSlotList(false).map((s) => s.readBigUInt64LE()));
  let id = 0x4e5653n; // "NVS"
  while (ids.has(id)) id += 1n;
  return handle(id);
}

/** C_InitToken's pLabel is 32 bytes, blank-padded (2.40 base §5.5); pkcs11js passes the string as it is. */
const padLabel = (label: string) => label.padEnd(32, ' ');

/** A vendor-defined mechanism number no token here implements. */
const UNKNOWN_MECHANISM = 0x80000000 + 0x4e5653;

await conformanceSuite('PKCS#11 conformance: general, slot, token (items 1-12)', (t) => {
  it('item 1: the function list carries every Cryptoki 2.40 function (C_GetFunctionList(NULL) is not expressible through pkcs11js)', () => {
    const missing = CRYPTOKI_FUNCTIONS.filter((name) => typeof (t.p11 as unknown as Record<string, unknown>)[name] !== 'function');
    assert.deepEqual(missing, []);
    // a list that is really wired: a call through it reaches the token
    assert.equal(t.p11.C_GetInfo().cryptokiVersion.major, 2);
  });

  it('item 2: C_Initialize twice gives CKR_CRYPTOKI_ALREADY_INITIALIZED; NULL args and CKF_OS_LOCKING_OK are accepted', () => {
    expectCkr(() => t.p11.C_Initialize(), CKR.CKR_CRYPTOKI_ALREADY_INITIALIZED, 'second C_Initialize (NULL args)');
    expectCkr(() => t.p11.C_Initialize({ flags: CKF.CKF_OS_LOCKING_OK }), CKR.CKR_CRYPTOKI_ALREADY_INITIALIZED, 'second C_Initialize (OS locking)');
    t.p11.C_Finalize();
    t.p11.C_Initialize(); // NULL pInitArgs
    assert.ok(t.p11.C_GetSlotList(true).length >= 1);
    t.p11.C_Finalize();
    t.p11.C_Initialize({ flags: CKF.CKF_OS_LOCKING_OK });
    assert.ok(t.p11.C_GetSlotList(true).length >= 1);
  });

  it('item 3: C_Finalize when not initialised gives CKR_CRYPTOKI_NOT_INITIALIZED (non-NULL pReserved is not expressible)', () => {
    t.p11.C_Finalize();
    expectCkr(() => t.p11.C_Finalize(), CKR.CKR_CRYPTOKI_NOT_INITIALIZED);
  });

  it('item 4: every call before C_Initialize gives CKR_CRYPTOKI_NOT_INITIALIZED', () => {
    const { slot, session } = t;
    t.p11.C_Finalize();
    const h = handle(1);
    const calls: Array<[string, () => unknown]> = [
      ['C_GetInfo', () => t.p11.C_GetInfo()],
      ['C_GetSlotList', () => t.p11.C_GetSlotList(true)],
      ['C_GetSlotInfo', () => t.p11.C_GetSlotInfo(slot)],
      ['C_GetTokenInfo', () => t.p11.C_GetTokenInfo(slot)],
      ['C_GetMechanismList', () => t.p11.C_GetMechanismList(slot)],
      ['C_GetMechanismInfo', () => t.p11.C_GetMechanismInfo(slot, CKM.CKM_SHA256)],
      ['C_InitToken', () => t.p11.C_InitToken(slot, t.b.soPin, padLabel(t.b.tokenLabel))],
      ['C_OpenSession', () => t.p11.C_OpenSession(slot, RW)],
      ['C_CloseSession', () => t.p11.C_CloseSession(session)],
      ['C_CloseAllSessions', () => t.p11.C_CloseAllSessions(slot)],
      ['C_GetSessionInfo', () => t.p11.C_GetSessionInfo(session)],
      ['C_Login', () => t.p11.C_Login(session, CKU.CKU_USER, t.b.userPin)],
      ['C_Logout', () => t.p11.C_Logout(session)],
      ['C_InitPIN', () => t.p11.C_InitPIN(session, t.b.userPin)],
      ['C_SetPIN', () => t.p11.C_SetPIN(session, t.b.userPin, t.b.userPin)],
      ['C_CreateObject', () => t.p11.C_CreateObject(session, certificateTemplate('before init'))],
      ['C_DestroyObject', () => t.p11.C_DestroyObject(session, h)],
      ['C_GetObjectSize', () => t.p11.C_GetObjectSize(session, h)],
      ['C_GetAttributeValue', () => t.p11.C_GetAttributeValue(session, h, [{ type: CKA.CKA_CLASS }])],
      ['C_FindObjectsInit', () => t.p11.C_FindObjectsInit(session, [])],
      ['C_FindObjects', () => t.p11.C_FindObjects(session, 1)],
      ['C_FindObjectsFinal', () => t.p11.C_FindObjectsFinal(session)],
      ['C_DigestInit', () => t.p11.C_DigestInit(session, { mechanism: CKM.CKM_SHA256 })],
      ['C_Digest', () => t.p11.C_Digest(session, Buffer.from('abc'), Buffer.alloc(32))],
      ['C_DigestUpdate', () => t.p11.C_DigestUpdate(session, Buffer.from('abc'))],
      ['C_DigestFinal', () => t.p11.C_DigestFinal(session, Buffer.alloc(32))],
      ['C_SignInit', () => t.p11.C_SignInit(session, { mechanism: CKM.CKM_ECDSA }, h)],
      ['C_Sign', () => t.p11.C_Sign(session, Buffer.alloc(32), Buffer.alloc(64))],
      ['C_VerifyInit', () => t.p11.C_VerifyInit(session, { mechanism: CKM.CKM_ECDSA }, h)],
      ['C_Verify', () => t.p11.C_Verify(session, Buffer.alloc(32), Buffer.alloc(64))],
      ['C_GenerateKeyPair', () => t.p11.C_GenerateKeyPair(session, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, [], [])],
      ['C_GenerateRandom', () => t.p11.C_GenerateRandom(session, Buffer.alloc(16))],
      ['C_SeedRandom', () => t.p11.C_SeedRandom(session, Buffer.alloc(16))],
      ['C_Finalize', () => t.p11.C_Finalize()],
    ];
    for (const [name, call] of calls) expectCkr(call, CKR.CKR_CRYPTOKI_NOT_INITIALIZED, name);
  });

  it('item 5: C_GetInfo reports Cryptoki 2.40 and space-padded strings', () => {
    const info = t.p11.C_GetInfo();
    assert.deepEqual({ ...info.cryptokiVersion }, { major: 2, minor: 40 });
    assertPadded(info.manufacturerID, 32, 'manufacturerID');
    assertPadded(info.libraryDescription, 32, 'libraryDescription');
    assert.equal(info.flags, 0, 'CK_INFO.flags is reserved and must be 0');
  });

  it('item 6: C_GetSlotList lists the token slot once, with CK_ULONG handles (the two-call NULL/too-small pattern runs inside pkcs11js)', () => {
    const withToken = t.p11.C_GetSlotList(true);
    const all = t.p11.C_GetSlotList(false);
    const ids = (list: Buffer[]) => list.map((s) => s.readBigUInt64LE());
    for (const s of [...withToken, ...all]) assert.equal(s.length, 8);
    assert.equal(new Set(ids(withToken)).size, withToken.length, 'no slot is listed twice');
    assert.equal(ids(withToken).filter((id) => id === t.slot.readBigUInt64LE()).length, 1);
    assert.ok(ids(withToken).every((id) => ids(all).includes(id)), 'slots with a token are a subset of all slots');
  });

  it('item 7: C_GetSlotInfo sets CKF_TOKEN_PRESENT; an unknown slot gives CKR_SLOT_ID_INVALID', () => {
    const info = t.p11.C_GetSlotInfo(t.slot);
    assert.equal(info.flags & CKF.CKF_TOKEN_PRESENT, CKF.CKF_TOKEN_PRESENT);
    assertPadded(info.slotDescription, 64, 'slotDescription');
    assertPadded(info.manufacturerID, 32, 'manufacturerID');
    expectCkr(() => t.p11.C_GetSlotInfo(absentSlot(t.p11)), CKR.CKR_SLOT_ID_INVALID);
  });

  it('item 8: C_GetTokenInfo is really filled: label, flags, PIN lengths, session counts', () => {
    const info = t.p11.C_GetTokenInfo(t.slot);
    assertPadded(info.label, 32, 'label');
    assert.equal(info.label.trimEnd(), t.b.tokenLabel);
    const required = CKF.CKF_RNG | CKF.CKF_LOGIN_REQUIRED | CKF.CKF_USER_PIN_INITIALIZED | CKF.CKF_TOKEN_INITIALIZED;
    assert.equal(info.flags & required, required, `token flags 0x${info.flags.toString(16)}`);
    assert.ok(info.minPinLen >= 1 && info.minPinLen <= t.b.userPin.length, `minPinLen ${info.minPinLen}`);
    assert.ok(info.maxPinLen >= t.b.userPin.length && info.maxPinLen >= info.minPinLen, `maxPinLen ${info.maxPinLen}`);
    const ro = t.p11.C_OpenSession(t.slot, RO);
    const more = t.p11.C_GetTokenInfo(t.slot);
    t.p11.C_CloseSession(ro);
    const counts = [info.sessionCount, info.rwSessionCount, more.sessionCount, more.rwSessionCount];
    if (softhsmDiffers(t.b, 8)) {
      // pkcs11js truncates CK_UNAVAILABLE_INFORMATION (~0UL) to 32 bits
      assert.deepEqual(counts, [CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION, CK_UNAVAILABLE_INFORMATION]);
      return;
    }
    assert.deepEqual(counts, [1, 1, 2, 1], 'one R/W session (the test session), then one R/O more');
  });

  it('item 9: C_GetMechanismList lists the mechanisms once each; an unknown slot gives CKR_SLOT_ID_INVALID', () => {
    const list = t.p11.C_GetMechanismList(t.slot);
    assert.equal(new Set(list).size, list.length, 'no mechanism listed twice');
    for (const m of [CKM.CKM_ECDSA, CKM.CKM_EC_KEY_PAIR_GEN, CKM.CKM_SHA256, CKM.CKM_SHA256_HMAC, CKM.CKM_AES_CMAC]) {
      assert.ok(list.includes(m), `mechanism 0x${m.toString(16)} is listed`);
    }
    expectCkr(() => t.p11.C_GetMechanismList(absentSlot(t.p11)), CKR.CKR_SLOT_ID_INVALID);
  });

  it('item 10: C_GetMechanismInfo answers for every listed mechanism; unknown gives CKR_MECHANISM_INVALID', () => {
    for (const m of t.p11.C_GetMechanismList(t.slot)) t.p11.C_GetMechanismInfo(t.slot, m);
    const ecdsa = t.p11.C_GetMechanismInfo(t.slot, CKM.CKM_ECDSA);
    assert.equal(ecdsa.flags & (CKF.CKF_SIGN | CKF.CKF_VERIFY), CKF.CKF_SIGN | CKF.CKF_VERIFY);
    assert.ok(ecdsa.minKeySize <= 256 && ecdsa.maxKeySize >= 256, `ECDSA key sizes ${ecdsa.minKeySize}..${ecdsa.maxKeySize} cover P-256`);
    const gen = t.p11.C_GetMechanismInfo(t.slot, CKM.CKM_EC_KEY_PAIR_GEN);
    assert.equal(gen.flags & CKF.CKF_GENERATE_KEY_PAIR, CKF.CKF_GENERATE_KEY_PAIR);
    assert.equal(t.p11.C_GetMechanismInfo(t.slot, CKM.CKM_SHA256).flags & CKF.CKF_DIGEST, CKF.CKF_DIGEST);
    expectCkr(() => t.p11.C_GetMechanismInfo(t.slot, UNKNOWN_MECHANISM), CKR.CKR_MECHANISM_INVALID);
    expectCkr(() => t.p11.C_GetMechanismInfo(absentSlot(t.p11), CKM.CKM_SHA256), CKR.CKR_SLOT_ID_INVALID);
  });

  it('item 11: every mechanism the token accepts is advertised with the flag of that use', () => {
    const advertised = (m: number, flag: number) => {
      assert.ok(t.p11.C_GetMechanismList(t.slot).includes(m), `accepted mechanism 0x${m.toString(16)} is listed`);
      assert.equal(t.p11.C_GetMechanismInfo(t.slot, m).flags & flag, flag, `mechanism 0x${m.toString(16)} has flag 0x${flag.toString(16)}`);
    };
    t.p11.C_DigestInit(t.session, { mechanism: CKM.CKM_SHA256 });
    t.p11.C_DigestFinal(t.session, Buffer.alloc(32));
    advertised(CKM.CKM_SHA256, CKF.CKF_DIGEST);
    const pair = generateEcKeyPair(t);
    advertised(CKM.CKM_EC_KEY_PAIR_GEN, CKF.CKF_GENERATE_KEY_PAIR);
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.privateKey);
    t.p11.C_Sign(t.session, Buffer.alloc(32, 1), Buffer.alloc(64));
    advertised(CKM.CKM_ECDSA, CKF.CKF_SIGN);
    const secret = (keyType: number, length: number) =>
      t.p11.C_CreateObject(t.session, [
        { type: CKA.CKA_CLASS, value: CKO.CKO_SECRET_KEY },
        { type: CKA.CKA_KEY_TYPE, value: keyType },
        { type: CKA.CKA_LABEL, value: uniqueLabel('mac key') },
        { type: CKA.CKA_TOKEN, value: true },
        { type: CKA.CKA_SIGN, value: true },
        { type: CKA.CKA_VERIFY, value: true },
        { type: CKA.CKA_VALUE, value: Buffer.alloc(length, 0x5a) },
      ]);
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_SHA256_HMAC }, secret(CKK.CKK_SHA256_HMAC, 32));
    t.p11.C_Sign(t.session, Buffer.from('abc'), Buffer.alloc(32));
    advertised(CKM.CKM_SHA256_HMAC, CKF.CKF_SIGN);
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_AES_CMAC }, secret(CKK.CKK_AES, 16));
    t.p11.C_Sign(t.session, Buffer.from('abc'), Buffer.alloc(16));
    advertised(CKM.CKM_AES_CMAC, CKF.CKF_SIGN);
  });

  it('item 12: C_InitToken re-initialises with the SO PIN: wrong PIN → CKR_PIN_INCORRECT, open session → CKR_SESSION_EXISTS', () => {
    expectCkr(() => t.p11.C_InitToken(t.slot, t.b.soPin, padLabel(t.b.tokenLabel)), CKR.CKR_SESSION_EXISTS, 'with a session open');
    t.p11.C_CloseAllSessions(t.slot);
    expectCkr(() => t.p11.C_InitToken(t.slot, `${t.b.soPin}9`, padLabel(t.b.tokenLabel)), CKR.CKR_PIN_INCORRECT, 'wrong SO PIN');
    const marker = uniqueLabel('survives?');
    const s0 = t.p11.C_OpenSession(t.slot, RW);
    t.p11.C_Login(s0, CKU.CKU_USER, t.b.userPin);
    t.p11.C_CreateObject(s0, certificateTemplate(marker));
    t.p11.C_CloseSession(s0);
    t.p11.C_InitToken(t.slot, t.b.soPin, padLabel(t.b.tokenLabel));
    // restore the user PIN (a re-initialised token has none) the standard way, as SO
    const slot = findSlot(t.p11, t.b.tokenLabel);
    const s = t.p11.C_OpenSession(slot, RW);
    t.p11.C_Login(s, CKU.CKU_SO, t.b.soPin);
    t.p11.C_InitPIN(s, t.b.userPin);
    t.p11.C_Logout(s);
    t.p11.C_Login(s, CKU.CKU_USER, t.b.userPin);
    t.p11.C_FindObjectsInit(s, [{ type: CKA.CKA_LABEL, value: marker }]);
    assert.equal(t.p11.C_FindObjects(s, 10).length, 0, 're-initialisation destroyed the token objects');
    t.p11.C_FindObjectsFinal(s);
  });
});
