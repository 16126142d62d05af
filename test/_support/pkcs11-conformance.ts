import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { after, afterEach, before, beforeEach, describe } from 'node:test';
import type { Attribute } from 'pkcs11js';
import { CKA, CKF, CKK, CKM, CKO, CKR, CKU } from '../../src/pkcs11/constants.js';
import { ckrName } from '../../src/pkcs11/constant-name.js';
import { type Backend, type Cryptoki, ckrOf, conformanceBackends } from './pkcs11-backends.js';

/**
 * Shared setup of the PKCS#11 conformance suite (test/pkcs11/conformance-*.test.ts): one describe per
 * backend, a fresh C_Initialize + R/W session + user login before every test and C_Finalize after it,
 * and the helpers the checklist items share (CKR assertions, FreeRTOS key templates, independent
 * verification with node:crypto).
 */

/** What every test gets: the backend, its module, the token's slot and a R/W session logged in as user. */
export interface Ctx {
  b: Backend;
  p11: Cryptoki;
  slot: Buffer;
  session: Buffer;
}

/** R/W serial session flags. */
export const RW = CKF.CKF_SERIAL_SESSION | CKF.CKF_RW_SESSION;
export const RO = CKF.CKF_SERIAL_SESSION;

/** DER of the P-256 (prime256v1/secp256r1) OID, the value of CKA_EC_PARAMS. */
export const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
/** DER of the secp256k1 OID: a curve neither the checklist nor nvsec supports. */
export const SECP256K1_PARAMS = Buffer.from('06052b8104000a', 'hex');

/** A CK_ULONG handle/number as pkcs11js passes it: little-endian, sizeof(CK_ULONG) = 8 on 64-bit Linux. */
export function handle(n: number | bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(BigInt(n));
  return out;
}

/** A CK_ULONG attribute value read back. */
export function ulong(value: Buffer | undefined): number {
  assert.ok(value !== undefined, 'attribute value is unavailable');
  assert.equal(value.length, 8, `CK_ULONG attribute is ${value.length} bytes, expected 8`);
  return Number(value.readBigUInt64LE());
}

/** A CK_BBOOL attribute value read back. */
export function bool(value: Buffer | undefined): boolean {
  assert.ok(value !== undefined, 'attribute value is unavailable');
  assert.equal(value.length, 1, `CK_BBOOL attribute is ${value.length} bytes, expected 1`);
  return value[0] !== 0;
}

function describeCkr(rv: number | undefined): string {
  return rv === undefined ? 'no CKR' : `${ckrName(rv)} (0x${rv.toString(16)})`;
}

/**
 * Asserts that `fn` throws a PKCS#11 error with exactly `expected` as its CKR.
 *
 * @example
 * expectCkr(() => p11.C_Login(session, CKU.CKU_USER, 'wrong'), CKR.CKR_PIN_INCORRECT);
 */
export function expectCkr(fn: () => unknown, expected: number, what = ''): void {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    const rv = ckrOf(e);
    if (rv !== expected) {
      assert.fail(`${what ? `${what}: ` : ''}expected ${describeCkr(expected)}, got ${rv === undefined ? String(e) : describeCkr(rv)}`);
    }
    return;
  }
  assert.fail(`${what ? `${what}: ` : ''}expected ${describeCkr(expected)}, got CKR_OK (returned ${inspectShort(result)})`);
}

/** {@link expectCkr} for a promise-returning call. */
export async function expectCkrAsync(fn: () => Promise<unknown>, expected: number, what = ''): Promise<void> {
  try {
    const result = await fn();
    assert.fail(`${what ? `${what}: ` : ''}expected ${describeCkr(expected)}, got CKR_OK (returned ${inspectShort(result)})`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    const rv = ckrOf(e);
    if (rv !== expected) assert.fail(`${what ? `${what}: ` : ''}expected ${describeCkr(expected)}, got ${rv === undefined ? String(e) : describeCkr(rv)}`);
  }
}

/** The CKR a call ends with: CKR_OK (0) when it returns. */
export function rvOf(fn: () => unknown): number {
  try {
    fn();
    return CKR.CKR_OK;
  } catch (e) {
    const rv = ckrOf(e);
    if (rv === undefined) throw e;
    return rv;
  }
}

function inspectShort(v: unknown): string {
  if (Buffer.isBuffer(v)) return `Buffer(${v.length}) ${v.subarray(0, 16).toString('hex')}`;
  return typeof v === 'object' ? JSON.stringify(v)?.slice(0, 80) ?? String(v) : String(v);
}

/** The slot whose token carries the backend's label (never assumes slot 0 or the first slot). */
export function findSlot(p11: Cryptoki, label: string): Buffer {
  const slots = p11.C_GetSlotList(true);
  const slot = slots.find((s) => p11.C_GetTokenInfo(s).label.trimEnd() === label);
  assert.ok(slot !== undefined, `no slot holds a token labelled "${label}" (${slots.length} slots with tokens)`);
  return slot;
}

/** C_Initialize + slot + R/W session + user login, as every test starts. */
export function start(b: Backend): Ctx {
  b.p11.C_Initialize({ flags: CKF.CKF_OS_LOCKING_OK });
  const slot = findSlot(b.p11, b.tokenLabel);
  const session = b.p11.C_OpenSession(slot, RW);
  b.p11.C_Login(session, CKU.CKU_USER, b.userPin);
  return { b, p11: b.p11, slot, session };
}

/** C_Finalize unless a test already did (then CKR_CRYPTOKI_NOT_INITIALIZED is expected and ignored). */
export function finish(b: Backend): void {
  const rv = rvOf(() => b.p11.C_Finalize());
  if (rv !== CKR.CKR_OK && rv !== CKR.CKR_CRYPTOKI_NOT_INITIALIZED) assert.fail(`C_Finalize after the test: ${describeCkr(rv)}`);
}

/**
 * Registers `body` once per backend under `describe('<title> [<backend>]')`. `t` is refilled before
 * every test by {@link start}. A backend that cannot run is registered as skipped with its reason.
 */
export async function conformanceSuite(title: string, body: (t: Ctx) => void): Promise<void> {
  for (const kind of await conformanceBackends()) {
    if ('skip' in kind) {
      describe(`${title} [${kind.name}]`, { skip: kind.skip }, () => body({} as Ctx));
      continue;
    }
    describe(`${title} [${kind.name}]`, () => {
      const t = {} as Ctx;
      let b: Backend | undefined;
      before(() => {
        b = kind.make();
      });
      after(() => b?.dispose());
      beforeEach(() => Object.assign(t, start(b!)));
      afterEach(() => finish(b!));
      body(t);
    });
  }
}

let labelCounter = 0;
/** A label no other test uses (objects are token objects and live as long as the file's token). */
export function uniqueLabel(stem: string): string {
  labelCounter += 1;
  return `${stem} ${labelCounter}`;
}

/**
 * The corePKCS11 (FreeRTOS) key-pair templates of spec §1.6: private {LABEL, PRIVATE, SIGN, KEY_TYPE,
 * TOKEN}, public {LABEL, EC_PARAMS P-256, VERIFY, KEY_TYPE, TOKEN}.
 */
export function freertosKeyPairTemplates(label: string): { publicKey: Attribute[]; privateKey: Attribute[] } {
  return {
    privateKey: [
      { type: CKA.CKA_LABEL, value: label },
      { type: CKA.CKA_PRIVATE, value: true },
      { type: CKA.CKA_SIGN, value: true },
      { type: CKA.CKA_KEY_TYPE, value: CKK.CKK_EC },
      { type: CKA.CKA_TOKEN, value: true },
    ],
    publicKey: [
      { type: CKA.CKA_LABEL, value: label },
      { type: CKA.CKA_EC_PARAMS, value: P256_PARAMS },
      { type: CKA.CKA_VERIFY, value: true },
      { type: CKA.CKA_KEY_TYPE, value: CKK.CKK_EC },
      { type: CKA.CKA_TOKEN, value: true },
    ],
  };
}

/** A P-256 key pair generated by the token with the FreeRTOS templates. */
export function generateEcKeyPair(t: Ctx, label = uniqueLabel('Device Priv TLS Key')): { publicKey: Buffer; privateKey: Buffer; label: string } {
  const tpl = freertosKeyPairTemplates(label);
  const pair = t.p11.C_GenerateKeyPair(t.session, { mechanism: CKM.CKM_EC_KEY_PAIR_GEN }, tpl.publicKey, tpl.privateKey);
  return { ...pair, label };
}

/** Reads attributes; returns their values by type. */
export function readAttributes(t: Ctx, object: Buffer, types: number[]): Map<number, Buffer | undefined> {
  const got = t.p11.C_GetAttributeValue(t.session, object, types.map((type) => ({ type })));
  return new Map(got.map((a) => [a.type, a.value]));
}

export function readAttribute(t: Ctx, object: Buffer, type: number): Buffer {
  const value = readAttributes(t, object, [type]).get(type);
  assert.ok(value !== undefined, `attribute 0x${type.toString(16)} has no value`);
  return value;
}

/**
 * The public key a CKA_EC_POINT (DER OCTET STRING around 04‖X‖Y) names, as a node:crypto KeyObject.
 * Checks the encoding byte by byte on the way.
 */
export function p256KeyFromEcPoint(ecPoint: Buffer): crypto.KeyObject {
  assert.equal(ecPoint.length, 67, `CKA_EC_POINT of a P-256 key is 67 bytes (04 41 04 X Y), got ${ecPoint.length}`);
  assert.equal(ecPoint[0], 0x04, 'CKA_EC_POINT must be a DER OCTET STRING (tag 0x04)');
  assert.equal(ecPoint[1], 0x41, 'CKA_EC_POINT OCTET STRING length must be 65');
  assert.equal(ecPoint[2], 0x04, 'the point must be uncompressed (0x04)');
  const x = ecPoint.subarray(3, 35).toString('base64url');
  const y = ecPoint.subarray(35, 67).toString('base64url');
  return crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
}

/** node:crypto (OpenSSL) verdict on a raw r‖s ECDSA signature over sha256(message). */
export function opensslVerifiesEcdsa(publicKey: crypto.KeyObject, message: Buffer, rawSignature: Buffer): boolean {
  return crypto.verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, rawSignature);
}

export const sha256 = (data: Buffer): Buffer => crypto.createHash('sha256').update(data).digest();

/** Signs `hash` with CKM_ECDSA on a new operation. */
export function ecdsaSign(t: Ctx, privateKey: Buffer, hash: Buffer, session = t.session): Buffer {
  t.p11.C_SignInit(session, { mechanism: CKM.CKM_ECDSA }, privateKey);
  return t.p11.C_Sign(session, hash, Buffer.alloc(64));
}

/** An X.509 DER certificate (self-signed P-256, "CN=nvsec conformance", made once with OpenSSL 3.0). */
export const TEST_CERT_DER = Buffer.from(
  'MIIBjTCCATOgAwIBAgIUXoDLwtZ0eeu2tNTdLsmSK6xTpE4wCgYIKoZIzj0EAwIwHDEaMBgGA1UEAwwRbnZzZWMgY29uZm9ybWFu' +
    'Y2UwHhcNMjYxMTIxMTI0NDA2WhcNMzYxMTE4MTI0NDA2WjAcMRowGAYDVQQDDBFudnNlYyBjb25mb3JtYW5jZTBZMBMGByqGSM49' +
    'AgEGCCqGSM49AwEHA0IABJQeHHMddNBJFyhcytI1KvdKobSkrJYRbwzHSrlblQ7Q7pSQw/I7WSAFpXKuXONgRXHTR2GED9+lwVZC' +
    'SmOOxfyjUzBRMB0GA1UdDgQWBBSmrrmNzfTF6Scksgam6wGaevpCRzAfBgNVHSMEGDAWgBSmrrmNzfTF6Scksgam6wGaevpCRzAP' +
    'BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIGAxlie5wbYvVHGhxZtZlDzrjvjZ1YYUSJ9fgkg4Qo2FAiEAvpLV/gOJ' +
    'TQMynX/ql9+3K4lqUPryeucyKLAUYqjMMk8=',
  'base64',
);

/** DER of the certificate's subject Name (CN=nvsec conformance), as it appears inside {@link TEST_CERT_DER}. */
export const TEST_CERT_SUBJECT = Buffer.from('301c311a301806035504030c116e7673656320636f6e666f726d616e6365', 'hex');

/**
 * The corePKCS11 certificate template (CLASS, CERTIFICATE_TYPE X.509, TOKEN, LABEL, VALUE) plus
 * CKA_SUBJECT, which PKCS#11 2.40 §4.6.3 requires when an X.509 certificate object is created.
 */
export function certificateTemplate(label: string, value: Buffer = TEST_CERT_DER): Attribute[] {
  return [
    { type: CKA.CKA_CLASS, value: CKO.CKO_CERTIFICATE },
    { type: CKA.CKA_CERTIFICATE_TYPE, value: 0 /* CKC_X_509 */ },
    { type: CKA.CKA_TOKEN, value: true },
    { type: CKA.CKA_LABEL, value: label },
    { type: CKA.CKA_SUBJECT, value: TEST_CERT_SUBJECT },
    { type: CKA.CKA_VALUE, value },
  ];
}

/** All handles a search with `template` yields, one C_FindObjects(…, 1) at a time, bounded. */
export function findAll(t: Ctx, template: Attribute[], session = t.session): Buffer[] {
  t.p11.C_FindObjectsInit(session, template);
  const found: Buffer[] = [];
  try {
    for (let i = 0; i < 64; i += 1) {
      const batch = t.p11.C_FindObjects(session, 1);
      if (batch.length === 0) return found;
      found.push(...batch);
    }
    assert.fail('C_FindObjects did not run dry after 64 calls (the search is never consumed)');
  } finally {
    t.p11.C_FindObjectsFinal(session);
  }
}

/** An EC P-256 key pair made by node:crypto, with the JWK fields the token templates need. */
export function opensslP256KeyPair(): { d: Buffer; ecPoint: Buffer; privateKey: crypto.KeyObject; publicKey: crypto.KeyObject } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x!, 'base64url');
  const y = Buffer.from(jwk.y!, 'base64url');
  return { d: Buffer.from(jwk.d!, 'base64url'), ecPoint: Buffer.concat([Buffer.from([0x04, 0x41, 0x04]), x, y]), privateKey, publicKey };
}

/** DER DigestInfo header of SHA-256 (RFC 8017 §9.2 note 1): prefixed to a 32-byte hash for CKM_RSA_PKCS. */
export const SHA256_DIGEST_INFO_PREFIX = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** Imports an RSA-2048 key pair made by node:crypto (private with CRT values, public modulus + exponent). */
export function importRsaKeyPair(t: Ctx): { privateKey: Buffer; publicKey: Buffer; opensslPublicKey: crypto.KeyObject; modulus: Buffer } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const b = (v: string | undefined) => Buffer.from(v!, 'base64url');
  const priv = t.p11.C_CreateObject(t.session, [
    { type: CKA.CKA_CLASS, value: CKO.CKO_PRIVATE_KEY },
    { type: CKA.CKA_KEY_TYPE, value: CKK.CKK_RSA },
    { type: CKA.CKA_LABEL, value: uniqueLabel('Device Priv TLS Key') },
    { type: CKA.CKA_TOKEN, value: true },
    { type: CKA.CKA_PRIVATE, value: true },
    { type: CKA.CKA_SIGN, value: true },
    { type: CKA.CKA_MODULUS, value: b(jwk.n) },
    { type: CKA.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
    { type: CKA.CKA_PRIVATE_EXPONENT, value: b(jwk.d) },
    { type: CKA.CKA_PRIME_1, value: b(jwk.p) },
    { type: CKA.CKA_PRIME_2, value: b(jwk.q) },
    { type: CKA.CKA_EXPONENT_1, value: b(jwk.dp) },
    { type: CKA.CKA_EXPONENT_2, value: b(jwk.dq) },
    { type: CKA.CKA_COEFFICIENT, value: b(jwk.qi) },
  ]);
  const pub = t.p11.C_CreateObject(t.session, [
    { type: CKA.CKA_CLASS, value: CKO.CKO_PUBLIC_KEY },
    { type: CKA.CKA_KEY_TYPE, value: CKK.CKK_RSA },
    { type: CKA.CKA_LABEL, value: uniqueLabel('Device Pub TLS Key') },
    { type: CKA.CKA_TOKEN, value: true },
    { type: CKA.CKA_VERIFY, value: true },
    { type: CKA.CKA_MODULUS, value: b(jwk.n) },
    { type: CKA.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
  ]);
  return { privateKey: priv, publicKey: pub, opensslPublicKey: publicKey, modulus: b(jwk.n) };
}

export { CKA, CKF, CKK, CKM, CKO, CKR, CKU };
