import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { it } from 'node:test';
import type { Attribute } from 'pkcs11js';
import {
  CKA,
  CKK,
  CKM,
  CKO,
  CKR,
  type Ctx,
  RW,
  SHA256_DIGEST_INFO_PREFIX,
  conformanceSuite,
  ecdsaSign,
  expectCkr,
  expectCkrAsync,
  findAll,
  freertosKeyPairTemplates,
  generateEcKeyPair,
  importRsaKeyPair,
  opensslVerifiesEcdsa,
  p256KeyFromEcPoint,
  readAttribute,
  rvOf,
  sha256,
  uniqueLabel,
} from '../_support/pkcs11-conformance.js';
import { softhsmDiffers } from './_softhsm-differences.js';

// Checklist §1.10 "Digest", "Sign / verify", "Key generation / RNG", "Robustness", items 49-72.

/** FIPS 180-2 / NIST example: the 896-bit (two-block) message and its published SHA-256 digest. */
const NIST_896 = Buffer.from('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu', 'ascii');
const NIST_896_SHA256 = Buffer.from('cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1', 'hex');

/** RFC 4493 §4, example 2: AES-128 key, one-block message, its CMAC. */
const CMAC_KEY = Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex');
const CMAC_MESSAGE = Buffer.from('6bc1bee22e409f96e93d7e117393172a', 'hex');
const CMAC_TAG = Buffer.from('070a16b46b4d4144f79bdd9dd04a287c', 'hex');

/** A vendor-defined mechanism number no token here implements. */
const UNKNOWN_MECHANISM = 0x80000000 + 0x4e5653;

/** The public key of a token key pair, from the CKA_EC_POINT it reports. */
const publicKeyOf = (t: Ctx, publicKey: Buffer) => p256KeyFromEcPoint(readAttribute(t, publicKey, CKA.CKA_EC_POINT));

function macKey(t: Ctx, keyType: number, value: Buffer): Buffer {
  return t.p11.C_CreateObject(t.session, [
    { type: CKA.CKA_CLASS, value: CKO.CKO_SECRET_KEY },
    { type: CKA.CKA_KEY_TYPE, value: keyType },
    { type: CKA.CKA_LABEL, value: uniqueLabel(keyType === CKK.CKK_AES ? 'CMAC Key' : 'HMAC Key') },
    { type: CKA.CKA_TOKEN, value: true },
    { type: CKA.CKA_SIGN, value: true },
    { type: CKA.CKA_VERIFY, value: true },
    { type: CKA.CKA_VALUE, value },
  ]);
}

/** Functions PKCS#11 2.40 defines that neither backend implements, called with well-formed arguments. */
type Untyped = Record<string, (...args: unknown[]) => unknown>;

await conformanceSuite('PKCS#11 conformance: digest, sign/verify, key generation, RNG, robustness (items 49-72)', (t) => {
  it('item 49: CKM_SHA256 DigestInit/Update/Final gives the published digest of the NIST 896-bit message', () => {
    t.p11.C_DigestInit(t.session, { mechanism: CKM.CKM_SHA256 });
    t.p11.C_DigestUpdate(t.session, NIST_896.subarray(0, 1));
    t.p11.C_DigestUpdate(t.session, NIST_896.subarray(1, 64));
    t.p11.C_DigestUpdate(t.session, NIST_896.subarray(64));
    assert.deepEqual(t.p11.C_DigestFinal(t.session, Buffer.alloc(32)), NIST_896_SHA256);
  });

  it('item 50: single-part C_Digest gives the same published digest', () => {
    t.p11.C_DigestInit(t.session, { mechanism: CKM.CKM_SHA256 });
    assert.deepEqual(t.p11.C_Digest(t.session, NIST_896, Buffer.alloc(32)), NIST_896_SHA256);
  });

  it('item 51: C_DigestInit with an unknown or non-digest mechanism → CKR_MECHANISM_INVALID', () => {
    expectCkr(() => t.p11.C_DigestInit(t.session, { mechanism: UNKNOWN_MECHANISM }), CKR.CKR_MECHANISM_INVALID, 'vendor-defined');
    expectCkr(() => t.p11.C_DigestInit(t.session, { mechanism: CKM.CKM_ECDSA }), CKR.CKR_MECHANISM_INVALID, 'CKM_ECDSA');
  });

  it('item 52: DigestUpdate/Final without Init, or after the digest completed → CKR_OPERATION_NOT_INITIALIZED', () => {
    expectCkr(() => t.p11.C_DigestUpdate(t.session, Buffer.from('abc')), CKR.CKR_OPERATION_NOT_INITIALIZED, 'Update before Init');
    expectCkr(() => t.p11.C_DigestFinal(t.session, Buffer.alloc(32)), CKR.CKR_OPERATION_NOT_INITIALIZED, 'Final before Init');
    t.p11.C_DigestInit(t.session, { mechanism: CKM.CKM_SHA256 });
    t.p11.C_DigestUpdate(t.session, Buffer.from('abc'));
    t.p11.C_DigestFinal(t.session, Buffer.alloc(32));
    expectCkr(() => t.p11.C_DigestFinal(t.session, Buffer.alloc(32)), CKR.CKR_OPERATION_NOT_INITIALIZED, 'Final after completion');
    expectCkr(() => t.p11.C_DigestUpdate(t.session, Buffer.from('abc')), CKR.CKR_OPERATION_NOT_INITIALIZED, 'Update after completion');
  });

  it('item 53: DigestFinal size query (zero-length buffer) and a too-small buffer (CKR_BUFFER_TOO_SMALL) keep the operation', () => {
    t.p11.C_DigestInit(t.session, { mechanism: CKM.CKM_SHA256 });
    t.p11.C_DigestUpdate(t.session, NIST_896);
    // pkcs11js passes a zero-length Buffer as pDigest = NULL: a size query, which returns no bytes
    assert.equal(t.p11.C_DigestFinal(t.session, Buffer.alloc(0)).length, 0);
    expectCkr(() => t.p11.C_DigestFinal(t.session, Buffer.alloc(31)), CKR.CKR_BUFFER_TOO_SMALL, '31-byte buffer');
    assert.deepEqual(t.p11.C_DigestFinal(t.session, Buffer.alloc(32)), NIST_896_SHA256, 'the operation survived both');
  });

  it('item 54: C_SignInit CKM_ECDSA takes the private key; a public key → CKR_KEY_TYPE_INCONSISTENT, a bad handle → CKR_KEY_HANDLE_INVALID', () => {
    const pair = generateEcKeyPair(t);
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.privateKey);
    t.p11.C_Sign(t.session, Buffer.alloc(32, 7), Buffer.alloc(64));
    const destroyed = generateEcKeyPair(t).privateKey;
    t.p11.C_DestroyObject(t.session, destroyed);
    const publicKey = () => t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.publicKey);
    const badHandles = [destroyed, Buffer.alloc(8, 0x7e)];
    if (softhsmDiffers(t.b, 54)) {
      expectCkr(publicKey, CKR.CKR_KEY_FUNCTION_NOT_PERMITTED, 'SoftHSM: public key');
      for (const h of badHandles) expectCkr(() => t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_ECDSA }, h), CKR.CKR_OBJECT_HANDLE_INVALID, 'SoftHSM: bad handle');
      return;
    }
    expectCkr(publicKey, CKR.CKR_KEY_TYPE_INCONSISTENT, 'public key');
    for (const h of badHandles) expectCkr(() => t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_ECDSA }, h), CKR.CKR_KEY_HANDLE_INVALID, 'bad handle');
  });

  it('item 55: C_Sign CKM_ECDSA on a 32-byte hash gives a 64-byte r‖s that OpenSSL verifies', () => {
    const pair = generateEcKeyPair(t);
    const message = Buffer.from('item 55: the message whose SHA-256 the token signs');
    const signature = ecdsaSign(t, pair.privateKey, sha256(message));
    assert.equal(signature.length, 64);
    assert.ok(opensslVerifiesEcdsa(publicKeyOf(t, pair.publicKey), message, signature));
    assert.ok(!opensslVerifiesEcdsa(publicKeyOf(t, pair.publicKey), Buffer.from('another message'), signature), 'and only for its message');
  });

  it('item 56: two signatures of the same hash differ (random k) and both verify', () => {
    const pair = generateEcKeyPair(t);
    const message = Buffer.from('item 56');
    const a = ecdsaSign(t, pair.privateKey, sha256(message));
    const b = ecdsaSign(t, pair.privateKey, sha256(message));
    assert.notDeepEqual(a, b);
    const key = publicKeyOf(t, pair.publicKey);
    assert.ok(opensslVerifiesEcdsa(key, message, a));
    assert.ok(opensslVerifiesEcdsa(key, message, b));
  });

  it('item 57: C_Sign size query (zero-length buffer: pkcs11js passes NULL) does not end the operation (the 64 it reports is not visible)', () => {
    const pair = generateEcKeyPair(t);
    const message = Buffer.from('item 57');
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.privateKey);
    assert.equal(t.p11.C_Sign(t.session, sha256(message), Buffer.alloc(0)).length, 0);
    const signature = t.p11.C_Sign(t.session, sha256(message), Buffer.alloc(64));
    assert.ok(opensslVerifiesEcdsa(publicKeyOf(t, pair.publicKey), message, signature));
  });

  it('item 58: C_Sign with a too-small buffer → CKR_BUFFER_TOO_SMALL and the operation continues', () => {
    const pair = generateEcKeyPair(t);
    const message = Buffer.from('item 58');
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.privateKey);
    expectCkr(() => t.p11.C_Sign(t.session, sha256(message), Buffer.alloc(63)), CKR.CKR_BUFFER_TOO_SMALL);
    const signature = t.p11.C_Sign(t.session, sha256(message), Buffer.alloc(64));
    assert.ok(opensslVerifiesEcdsa(publicKeyOf(t, pair.publicKey), message, signature));
  });

  it('item 59: C_Sign without C_SignInit → CKR_OPERATION_NOT_INITIALIZED (NULL arguments are not expressible)', () => {
    expectCkr(() => t.p11.C_Sign(t.session, Buffer.alloc(32), Buffer.alloc(64)), CKR.CKR_OPERATION_NOT_INITIALIZED);
    const pair = generateEcKeyPair(t);
    ecdsaSign(t, pair.privateKey, Buffer.alloc(32, 1));
    expectCkr(() => t.p11.C_Sign(t.session, Buffer.alloc(32), Buffer.alloc(64)), CKR.CKR_OPERATION_NOT_INITIALIZED, 'after a completed signature');
  });

  it('item 60: CKM_RSA_PKCS signs DigestInfo‖hash (51 bytes) as OpenSSL expects; shorter than 51 or longer than k-11 → CKR_DATA_LEN_RANGE', () => {
    const rsa = importRsaKeyPair(t);
    const message = Buffer.from('item 60');
    const digestInfo = Buffer.concat([SHA256_DIGEST_INFO_PREFIX, sha256(message)]);
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_RSA_PKCS }, rsa.privateKey);
    const signature = t.p11.C_Sign(t.session, digestInfo, Buffer.alloc(256));
    assert.equal(signature.length, 256);
    assert.ok(crypto.verify('sha256', message, rsa.opensslPublicKey, signature), 'OpenSSL verifies RSASSA-PKCS1-v1_5/SHA-256');
    const signing = (data: Buffer) => () => {
      t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_RSA_PKCS }, rsa.privateKey);
      return t.p11.C_Sign(t.session, data, Buffer.alloc(256));
    };
    const tooLong = signing(Buffer.alloc(256 - 10, 1)); // k-11 = 245 is the most PKCS#1 v1.5 padding leaves room for
    const tooShort = signing(digestInfo.subarray(0, 50));
    if (softhsmDiffers(t.b, 60)) {
      expectCkr(tooLong, CKR.CKR_GENERAL_ERROR, 'SoftHSM: 246 bytes');
      assert.equal(tooShort().length, 256, 'SoftHSM signs 50 bytes');
      return;
    }
    expectCkr(tooLong, CKR.CKR_DATA_LEN_RANGE, '246 bytes > k-11');
    expectCkr(tooShort, CKR.CKR_DATA_LEN_RANGE, '50 bytes < DigestInfo+SHA-256');
  });

  it('item 61: C_VerifyInit CKM_ECDSA takes the public key; a private key → CKR_KEY_TYPE_INCONSISTENT', () => {
    const pair = generateEcKeyPair(t);
    t.p11.C_VerifyInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.publicKey);
    const other = t.p11.C_OpenSession(t.slot, RW);
    const init = () => t.p11.C_VerifyInit(other, { mechanism: CKM.CKM_ECDSA }, pair.privateKey);
    if (softhsmDiffers(t.b, 61)) expectCkr(init, CKR.CKR_KEY_FUNCTION_NOT_PERMITTED, 'SoftHSM: private key');
    else expectCkr(init, CKR.CKR_KEY_TYPE_INCONSISTENT, 'private key');
  });

  it('item 62: C_Verify: wrong data length → CKR_DATA_LEN_RANGE, wrong signature length → CKR_SIGNATURE_LEN_RANGE, bad signature → CKR_SIGNATURE_INVALID', () => {
    const pair = generateEcKeyPair(t);
    const hash = sha256(Buffer.from('item 62'));
    const signature = ecdsaSign(t, pair.privateKey, hash);
    const verify = (data: Buffer, sig: Buffer) => () => {
      t.p11.C_VerifyInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.publicKey);
      return t.p11.C_Verify(t.session, data, sig);
    };
    const corrupted = Buffer.from(signature);
    corrupted[10] = corrupted[10]! ^ 0x40;
    expectCkr(verify(hash, corrupted), CKR.CKR_SIGNATURE_INVALID, 'corrupted signature');
    expectCkr(verify(hash, signature.subarray(0, 63)), CKR.CKR_SIGNATURE_LEN_RANGE, '63-byte signature');
    if (softhsmDiffers(t.b, 62)) expectCkr(verify(hash.subarray(0, 31), signature), CKR.CKR_SIGNATURE_INVALID, 'SoftHSM: 31-byte hash');
    else expectCkr(verify(hash.subarray(0, 31), signature), CKR.CKR_DATA_LEN_RANGE, '31-byte hash');
    assert.equal(verify(hash, signature)(), true, 'the good signature still verifies');
  });

  it('item 63: the token verifies an OpenSSL-made ECDSA signature with its own public key', () => {
    const pair = generateEcKeyPair(t);
    // OpenSSL cannot sign with the token's private key, so sign with an OpenSSL key imported as public
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([0x04, 0x41, 0x04]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    const imported = t.p11.C_CreateObject(t.session, [
      { type: CKA.CKA_CLASS, value: CKO.CKO_PUBLIC_KEY },
      { type: CKA.CKA_KEY_TYPE, value: CKK.CKK_EC },
      { type: CKA.CKA_LABEL, value: uniqueLabel('Code Verify Key') },
      { type: CKA.CKA_TOKEN, value: true },
      { type: CKA.CKA_VERIFY, value: true },
      { type: CKA.CKA_EC_PARAMS, value: readAttribute(t, pair.publicKey, CKA.CKA_EC_PARAMS) },
      { type: CKA.CKA_EC_POINT, value: point },
    ]);
    const message = Buffer.from('item 63: signed by OpenSSL');
    const signature = crypto.sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    t.p11.C_VerifyInit(t.session, { mechanism: CKM.CKM_ECDSA }, imported);
    assert.equal(t.p11.C_Verify(t.session, sha256(message), signature), true);
    t.p11.C_VerifyInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.publicKey);
    expectCkr(() => t.p11.C_Verify(t.session, sha256(message), signature), CKR.CKR_SIGNATURE_INVALID, 'the wrong public key');
  });

  it('item 64: CKM_SHA256_HMAC (32-byte MAC, = OpenSSL HMAC) and CKM_AES_CMAC (16-byte MAC, = RFC 4493) sign and verify', () => {
    const hmacValue = crypto.randomBytes(32);
    const hmac = macKey(t, CKK.CKK_SHA256_HMAC, hmacValue);
    const data = Buffer.from('item 64');
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_SHA256_HMAC }, hmac);
    const mac = t.p11.C_Sign(t.session, data, Buffer.alloc(32));
    assert.deepEqual(mac, crypto.createHmac('sha256', hmacValue).update(data).digest());
    t.p11.C_VerifyInit(t.session, { mechanism: CKM.CKM_SHA256_HMAC }, hmac);
    assert.equal(t.p11.C_Verify(t.session, data, mac), true);
    const bad = Buffer.from(mac);
    bad[0] = bad[0]! ^ 1;
    t.p11.C_VerifyInit(t.session, { mechanism: CKM.CKM_SHA256_HMAC }, hmac);
    expectCkr(() => t.p11.C_Verify(t.session, data, bad), CKR.CKR_SIGNATURE_INVALID, 'HMAC with a flipped bit');

    const cmac = macKey(t, CKK.CKK_AES, CMAC_KEY);
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_AES_CMAC }, cmac);
    assert.deepEqual(t.p11.C_Sign(t.session, CMAC_MESSAGE, Buffer.alloc(16)), CMAC_TAG);
    t.p11.C_VerifyInit(t.session, { mechanism: CKM.CKM_AES_CMAC }, cmac);
    assert.equal(t.p11.C_Verify(t.session, CMAC_MESSAGE, CMAC_TAG), true);
  });

  it('item 65: only one operation is active per session (digest, sign, verify, find) → CKR_OPERATION_ACTIVE', () => {
    const pair = generateEcKeyPair(t);
    const sign = () => t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.privateKey);
    const verify = () => t.p11.C_VerifyInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.publicKey);
    const digest = () => t.p11.C_DigestInit(t.session, { mechanism: CKM.CKM_SHA256 });
    const find = () => t.p11.C_FindObjectsInit(t.session, []);
    const inits: Array<[string, () => void, () => unknown]> = [
      ['digest', digest, () => t.p11.C_DigestFinal(t.session, Buffer.alloc(32))],
      ['sign', sign, () => t.p11.C_Sign(t.session, Buffer.alloc(32, 2), Buffer.alloc(64))],
      ['find', find, () => t.p11.C_FindObjectsFinal(t.session)],
    ];
    for (const [name, start, end] of inits) {
      start();
      for (const [otherName, other] of [['sign', sign], ['verify', verify], ['digest', digest], ['find', find]] as const) {
        expectCkr(other, CKR.CKR_OPERATION_ACTIVE, `${otherName} during ${name}`);
      }
      end();
    }
  });

  it('item 66: C_GenerateKeyPair with the FreeRTOS templates; missing EC_PARAMS → CKR_TEMPLATE_INCOMPLETE; wrong values → CKR_TEMPLATE_INCONSISTENT', () => {
    const pair = generateEcKeyPair(t);
    assert.equal(readAttribute(t, pair.privateKey, CKA.CKA_KEY_TYPE).readBigUInt64LE(), BigInt(CKK.CKK_EC));
    const tpl = freertosKeyPairTemplates(uniqueLabel('never'));
    const gen = (publicKey: Attribute[], privateKey: Attribute[]) => () =>
      t.p11.C_GenerateKeyPair(t.session, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, publicKey, privateKey);
    expectCkr(gen(tpl.publicKey.filter((a) => a.type !== CKA.CKA_EC_PARAMS), tpl.privateKey), CKR.CKR_TEMPLATE_INCOMPLETE, 'no CKA_EC_PARAMS');
    const rsaTyped = tpl.privateKey.map((a) => (a.type === CKA.CKA_KEY_TYPE ? { type: a.type, value: CKK.CKK_RSA } : a));
    expectCkr(gen(tpl.publicKey, rsaTyped), CKR.CKR_TEMPLATE_INCONSISTENT, 'CKA_KEY_TYPE CKK_RSA for an EC pair');
    assert.equal(findAll(t, [{ type: CKA.CKA_LABEL, value: tpl.publicKey[0]!.value as string }]).length, 0, 'nothing was left behind');
  });

  it('item 67: a generated key pair: private CKA_VALUE sensitive, EC point readable, both findable by label', () => {
    const pair = generateEcKeyPair(t);
    expectCkr(() => t.p11.C_GetAttributeValue(t.session, pair.privateKey, [{ type: CKA.CKA_VALUE }]), CKR.CKR_ATTRIBUTE_SENSITIVE);
    const key = publicKeyOf(t, pair.publicKey);
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const byClass = (cls: number) => findAll(t, [{ type: CKA.CKA_LABEL, value: pair.label }, { type: CKA.CKA_CLASS, value: cls }]);
    assert.deepEqual(byClass(CKO.CKO_PRIVATE_KEY), [pair.privateKey]);
    assert.deepEqual(byClass(CKO.CKO_PUBLIC_KEY), [pair.publicKey]);
  });

  it('item 68: a key pair that fails half way leaves neither half behind (failure injected through an invalid template attribute)', () => {
    for (const half of ['publicKey', 'privateKey'] as const) {
      const tpl = freertosKeyPairTemplates(uniqueLabel('half'));
      tpl[half].push({ type: 0x00000fff, value: Buffer.from([1]) });
      expectCkr(
        () => t.p11.C_GenerateKeyPair(t.session, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, tpl.publicKey, tpl.privateKey),
        CKR.CKR_ATTRIBUTE_TYPE_INVALID,
        `unknown attribute in the ${half} template`,
      );
      assert.deepEqual(findAll(t, [{ type: CKA.CKA_LABEL, value: tpl.publicKey[0]!.value as string }]), [], `no ${half === 'publicKey' ? 'private' : 'public'} half survives`);
    }
  });

  it('item 69: C_GenerateRandom: length 0 → CKR_ARGUMENTS_BAD; successive outputs differ, also across sessions', () => {
    const zero = () => t.p11.C_GenerateRandom(t.session, Buffer.alloc(0));
    // pkcs11js passes a zero-length Buffer as a NULL pointer with length 0: both halves of "NULL/0"
    expectCkr(zero, CKR.CKR_ARGUMENTS_BAD, 'zero length');
    const a = t.p11.C_GenerateRandom(t.session, Buffer.alloc(32));
    const b = t.p11.C_GenerateRandom(t.session, Buffer.alloc(32));
    const other = t.p11.C_OpenSession(t.slot, RW);
    const c = t.p11.C_GenerateRandom(other, Buffer.alloc(32));
    t.p11.C_CloseSession(other);
    const reopened = t.p11.C_OpenSession(t.slot, RW);
    const d = t.p11.C_GenerateRandom(reopened, Buffer.alloc(32));
    const hexes = [a, b, c, d].map((x) => x.toString('hex'));
    assert.equal(new Set(hexes).size, 4, 'four different outputs');
    assert.ok(!hexes.includes('00'.repeat(32)));
  });

  it('item 70: C_SeedRandom is accepted or answers CKR_RANDOM_SEED_NOT_SUPPORTED', () => {
    const rv = rvOf(() => t.p11.C_SeedRandom(t.session, crypto.randomBytes(32)));
    assert.ok(rv === CKR.CKR_OK || rv === CKR.CKR_RANDOM_SEED_NOT_SUPPORTED, `C_SeedRandom: 0x${rv.toString(16)}`);
    assert.equal(t.p11.C_GenerateRandom(t.session, Buffer.alloc(16)).length, 16, 'the RNG still works');
  });

  it('item 71: concurrent sessions: find, get-attribute and sign/verify interleaved (libuv threads where the backend has *Async)', async () => {
    const pair = generateEcKeyPair(t);
    const sessions = Array.from({ length: 4 }, () => t.p11.C_OpenSession(t.slot, RW));
    // interleaved find + attribute reads across sessions (one thread: the order is what is tested)
    for (const s of sessions) t.p11.C_FindObjectsInit(s, [{ type: CKA.CKA_LABEL, value: pair.label }]);
    const found = sessions.map(() => [] as Buffer[]);
    for (let round = 0; round < 3; round += 1) {
      sessions.forEach((s, i) => found[i]!.push(...t.p11.C_FindObjects(s, 1)));
      for (const s of sessions) assert.equal(t.p11.C_GetAttributeValue(s, pair.publicKey, [{ type: CKA.CKA_EC_POINT }])[0]?.value?.length, 67);
    }
    for (const s of sessions) t.p11.C_FindObjectsFinal(s);
    for (const f of found) assert.equal(f.length, 2, 'every session found both halves once');
    // sign/verify in parallel: pkcs11js' *Async run on libuv worker threads, so SoftHSM really is concurrent
    const key = publicKeyOf(t, pair.publicKey);
    const messages = sessions.map((_, i) => Buffer.from(`item 71 message ${i}`));
    for (const s of sessions) t.p11.C_SignInit(s, { mechanism: CKM.CKM_ECDSA }, pair.privateKey);
    const signAsync = t.p11.C_SignAsync?.bind(t.p11);
    const signatures = await Promise.all(
      sessions.map((s, i) => (signAsync ? signAsync(s, sha256(messages[i]!), Buffer.alloc(64)) : Promise.resolve(t.p11.C_Sign(s, sha256(messages[i]!), Buffer.alloc(64))))),
    );
    signatures.forEach((sig, i) => assert.ok(opensslVerifiesEcdsa(key, messages[i]!, sig), `session ${i}`));
    for (const s of sessions) t.p11.C_VerifyInit(s, { mechanism: CKM.CKM_ECDSA }, pair.publicKey);
    const verifyAsync = t.p11.C_VerifyAsync?.bind(t.p11);
    const verdicts = await Promise.all(
      sessions.map((s, i) => (verifyAsync ? verifyAsync(s, sha256(messages[i]!), signatures[i]!) : Promise.resolve(t.p11.C_Verify(s, sha256(messages[i]!), signatures[i]!)))),
    );
    assert.deepEqual(verdicts, sessions.map(() => true));
    if (verifyAsync) {
      // a wrong signature in one session fails there only
      sessions.forEach((s) => t.p11.C_VerifyInit(s, { mechanism: CKM.CKM_ECDSA }, pair.publicKey));
      await Promise.all([
        expectCkrAsync(() => verifyAsync(sessions[0]!, sha256(messages[0]!), signatures[1]!), CKR.CKR_SIGNATURE_INVALID, 'crossed signature'),
        ...sessions.slice(1).map(async (s, i) => assert.equal(await verifyAsync(s, sha256(messages[i + 1]!), signatures[i + 1]!), true)),
      ]);
    }
  });

  it('item 72: functions the token does not implement answer CKR_FUNCTION_NOT_SUPPORTED (never crash, never a silent CKR_OK)', () => {
    const p11 = t.p11 as unknown as Untyped;
    const pair = generateEcKeyPair(t);
    const calls: Array<[string, () => unknown]> = [
      ['C_GetOperationState', () => p11.C_GetOperationState!(t.session)],
      ['C_DigestEncryptUpdate', () => p11.C_DigestEncryptUpdate!(t.session, Buffer.alloc(16), Buffer.alloc(16))],
      ['C_DecryptDigestUpdate', () => p11.C_DecryptDigestUpdate!(t.session, Buffer.alloc(16), Buffer.alloc(16))],
      ['C_SignEncryptUpdate', () => p11.C_SignEncryptUpdate!(t.session, Buffer.alloc(16), Buffer.alloc(16))],
      ['C_DecryptVerifyUpdate', () => p11.C_DecryptVerifyUpdate!(t.session, Buffer.alloc(16), Buffer.alloc(16))],
      ['C_SignRecoverInit', () => p11.C_SignRecoverInit!(t.session, { mechanism: CKM.CKM_ECDSA }, pair.privateKey)],
      ['C_VerifyRecoverInit', () => p11.C_VerifyRecoverInit!(t.session, { mechanism: CKM.CKM_ECDSA }, pair.publicKey)],
    ];
    for (const [name, call] of calls) expectCkr(call, CKR.CKR_FUNCTION_NOT_SUPPORTED, name);
  });
});
