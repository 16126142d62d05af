import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { it } from 'node:test';
import type { Attribute } from 'pkcs11js';
import { CK_UNAVAILABLE_INFORMATION } from '../../src/pkcs11/constants.js';
import {
  CKA,
  CKK,
  CKM,
  CKO,
  CKR,
  CKU,
  type Ctx,
  P256_PARAMS,
  RW,
  SECP256K1_PARAMS,
  SHA256_DIGEST_INFO_PREFIX,
  TEST_CERT_DER,
  bool,
  certificateTemplate,
  conformanceSuite,
  ecdsaSign,
  expectCkr,
  findAll,
  findSlot,
  generateEcKeyPair,
  importRsaKeyPair,
  opensslP256KeyPair,
  opensslVerifiesEcdsa,
  p256KeyFromEcPoint,
  readAttribute,
  readAttributes,
  rvOf,
  sha256,
  ulong,
  uniqueLabel,
} from '../_support/pkcs11-conformance.js';
import { softhsmDiffers } from './_softhsm-differences.js';

// Checklist §1.10 "Objects", items 24-48.

const hex = (handles: Buffer[]) => handles.map((h) => h.toString('hex')).sort();

/** A CKO_PRIVATE_KEY template for an EC key with scalar `d` on the curve `params`. */
function ecPrivateTemplate(label: string, d: Buffer, params: Buffer = P256_PARAMS): Attribute[] {
  return [
    { type: CKA.CKA_CLASS, value: CKO.CKO_PRIVATE_KEY },
    { type: CKA.CKA_KEY_TYPE, value: CKK.CKK_EC },
    { type: CKA.CKA_LABEL, value: label },
    { type: CKA.CKA_TOKEN, value: true },
    { type: CKA.CKA_PRIVATE, value: true },
    { type: CKA.CKA_SIGN, value: true },
    { type: CKA.CKA_EC_PARAMS, value: params },
    { type: CKA.CKA_VALUE, value: d },
  ];
}

function ecPublicTemplate(label: string, ecPoint: Buffer): Attribute[] {
  return [
    { type: CKA.CKA_CLASS, value: CKO.CKO_PUBLIC_KEY },
    { type: CKA.CKA_KEY_TYPE, value: CKK.CKK_EC },
    { type: CKA.CKA_LABEL, value: label },
    { type: CKA.CKA_TOKEN, value: true },
    { type: CKA.CKA_VERIFY, value: true },
    { type: CKA.CKA_EC_PARAMS, value: P256_PARAMS },
    { type: CKA.CKA_EC_POINT, value: ecPoint },
  ];
}

/** A secret key template with CKA_VALUE `value` (FreeRTOS style: no CKA_SENSITIVE given). */
export function secretTemplate(keyType: number, value: Buffer, label = uniqueLabel('HMAC Key')): Attribute[] {
  return [
    { type: CKA.CKA_CLASS, value: CKO.CKO_SECRET_KEY },
    { type: CKA.CKA_KEY_TYPE, value: keyType },
    { type: CKA.CKA_LABEL, value: label },
    { type: CKA.CKA_TOKEN, value: true },
    { type: CKA.CKA_SIGN, value: true },
    { type: CKA.CKA_VERIFY, value: true },
    { type: CKA.CKA_VALUE, value },
  ];
}

const without = (template: Attribute[], type: number) => template.filter((a) => a.type !== type);
const replace = (template: Attribute[], type: number, value: NonNullable<Attribute['value']>): Attribute[] => template.map((a) => (a.type === type ? { type, value } : a));

/** An attribute type PKCS#11 2.40 does not define (below CKA_VENDOR_DEFINED). */
const UNKNOWN_ATTRIBUTE = 0x00000fff;

function findByLabel(t: Ctx, label: string): Buffer[] {
  return findAll(t, [{ type: CKA.CKA_LABEL, value: label }]);
}

await conformanceSuite('PKCS#11 conformance: objects (items 24-48)', (t) => {
  it('item 24: C_CreateObject stores an X.509 certificate (CKC_X_509, label, CKA_TOKEN true) that reads back byte for byte', () => {
    const label = uniqueLabel('Device Cert');
    const cert = t.p11.C_CreateObject(t.session, certificateTemplate(label));
    assert.notEqual(cert.readBigUInt64LE(), 0n);
    const attrs = readAttributes(t, cert, [CKA.CKA_CLASS, CKA.CKA_CERTIFICATE_TYPE, CKA.CKA_TOKEN, CKA.CKA_LABEL, CKA.CKA_VALUE]);
    assert.equal(ulong(attrs.get(CKA.CKA_CLASS)), CKO.CKO_CERTIFICATE);
    assert.equal(ulong(attrs.get(CKA.CKA_CERTIFICATE_TYPE)), 0 /* CKC_X_509 */);
    assert.equal(bool(attrs.get(CKA.CKA_TOKEN)), true);
    assert.equal(attrs.get(CKA.CKA_LABEL)?.toString('utf8'), label);
    assert.deepEqual(attrs.get(CKA.CKA_VALUE), TEST_CERT_DER);
    assert.equal(new crypto.X509Certificate(attrs.get(CKA.CKA_VALUE)!).subject, 'CN=nvsec conformance');
    assert.deepEqual(hex(findByLabel(t, label)), hex([cert]));
  });

  it('item 25: certificate without value or label → CKR_TEMPLATE_INCOMPLETE, wrong type → CKR_ATTRIBUTE_VALUE_INVALID, label > 32 → CKR_DATA_LEN_RANGE', () => {
    const label = uniqueLabel('Device Cert');
    expectCkr(() => t.p11.C_CreateObject(t.session, without(certificateTemplate(label), CKA.CKA_VALUE)), CKR.CKR_TEMPLATE_INCOMPLETE, 'no CKA_VALUE');
    expectCkr(() => t.p11.C_CreateObject(t.session, replace(certificateTemplate(label), CKA.CKA_CERTIFICATE_TYPE, 0x1234)), CKR.CKR_ATTRIBUTE_VALUE_INVALID, 'unknown certificate type');
    if (softhsmDiffers(t.b, 25)) {
      // SoftHSM: CKA_LABEL is optional and has no length limit
      t.p11.C_CreateObject(t.session, without(certificateTemplate(label), CKA.CKA_LABEL));
      t.p11.C_CreateObject(t.session, certificateTemplate('L'.repeat(33)));
      return;
    }
    expectCkr(() => t.p11.C_CreateObject(t.session, without(certificateTemplate(label), CKA.CKA_LABEL)), CKR.CKR_TEMPLATE_INCOMPLETE, 'no CKA_LABEL');
    expectCkr(() => t.p11.C_CreateObject(t.session, certificateTemplate('L'.repeat(33))), CKR.CKR_DATA_LEN_RANGE, '33-byte label');
    t.p11.C_CreateObject(t.session, certificateTemplate('L'.repeat(32))); // the limit itself is fine
  });

  it('item 26: C_CreateObject imports an EC P-256 private key (EC_PARAMS + VALUE) that signs; other curves → CKR_CURVE_NOT_SUPPORTED', () => {
    const key = opensslP256KeyPair();
    const handle = t.p11.C_CreateObject(t.session, ecPrivateTemplate(uniqueLabel('Device Priv TLS Key'), key.d));
    const message = Buffer.from('item 26: imported key signs');
    assert.ok(opensslVerifiesEcdsa(key.publicKey, message, ecdsaSign(t, handle, sha256(message))), 'OpenSSL verifies the signature of the imported key');
    const otherCurve = () => t.p11.C_CreateObject(t.session, ecPrivateTemplate(uniqueLabel('k1 key'), crypto.randomBytes(32), SECP256K1_PARAMS));
    if (softhsmDiffers(t.b, 26)) otherCurve(); // SoftHSM stores any curve's key
    else expectCkr(otherCurve, CKR.CKR_CURVE_NOT_SUPPORTED, 'secp256k1 private key');
  });

  it('item 27: C_CreateObject imports an EC public key (EC_POINT as DER OCTET STRING) that verifies OpenSSL signatures', () => {
    const key = opensslP256KeyPair();
    const handle = t.p11.C_CreateObject(t.session, ecPublicTemplate(uniqueLabel('Code Verify Key'), key.ecPoint));
    assert.deepEqual(readAttribute(t, handle, CKA.CKA_EC_POINT), key.ecPoint);
    const message = Buffer.from('item 27');
    const signature = crypto.sign('sha256', message, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    t.p11.C_VerifyInit(t.session, { mechanism: CKM.CKM_ECDSA }, handle);
    assert.equal(t.p11.C_Verify(t.session, sha256(message), signature), true);
  });

  it('item 28: C_CreateObject imports an RSA-2048 key pair (modulus, exponents, primes, CRT values)', () => {
    const rsa = importRsaKeyPair(t);
    assert.deepEqual(readAttribute(t, rsa.publicKey, CKA.CKA_MODULUS), rsa.modulus);
    assert.equal(ulong(readAttribute(t, rsa.publicKey, CKA.CKA_MODULUS_BITS)), 2048);
    assert.equal(ulong(readAttribute(t, rsa.privateKey, CKA.CKA_KEY_TYPE)), CKK.CKK_RSA);
    // the private key works: CKM_RSA_PKCS over DigestInfo(SHA-256) ‖ hash, checked by OpenSSL
    const message = Buffer.from('item 28');
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_RSA_PKCS }, rsa.privateKey);
    const signature = t.p11.C_Sign(t.session, Buffer.concat([SHA256_DIGEST_INFO_PREFIX, sha256(message)]), Buffer.alloc(256));
    assert.ok(crypto.verify('sha256', message, rsa.opensslPublicKey, signature));
  });

  it('item 29: C_CreateObject takes a CKK_SHA256_HMAC key of 32 bytes; a shorter one → CKR_ATTRIBUTE_VALUE_INVALID', () => {
    const key = t.p11.C_CreateObject(t.session, secretTemplate(CKK.CKK_SHA256_HMAC, crypto.randomBytes(32)));
    assert.equal(ulong(readAttribute(t, key, CKA.CKA_KEY_TYPE)), CKK.CKK_SHA256_HMAC);
    const short = () => t.p11.C_CreateObject(t.session, secretTemplate(CKK.CKK_SHA256_HMAC, crypto.randomBytes(31)));
    if (softhsmDiffers(t.b, 29)) short(); // SoftHSM stores it
    else expectCkr(short, CKR.CKR_ATTRIBUTE_VALUE_INVALID, '31-byte HMAC key');
  });

  it('item 30: C_CreateObject takes a CKK_AES (CMAC) key of 16 bytes; a 15-byte one → CKR_ATTRIBUTE_VALUE_INVALID', () => {
    const key = t.p11.C_CreateObject(t.session, secretTemplate(CKK.CKK_AES, crypto.randomBytes(16), uniqueLabel('CMAC Key')));
    assert.equal(ulong(readAttribute(t, key, CKA.CKA_KEY_TYPE)), CKK.CKK_AES);
    assert.equal(ulong(readAttribute(t, key, CKA.CKA_VALUE_LEN)), 16);
    const short = () => t.p11.C_CreateObject(t.session, secretTemplate(CKK.CKK_AES, crypto.randomBytes(15), uniqueLabel('CMAC Key')));
    if (softhsmDiffers(t.b, 30)) short();
    else expectCkr(short, CKR.CKR_ATTRIBUTE_VALUE_INVALID, '15-byte AES key');
  });

  it('item 31: no CKA_CLASS → CKR_TEMPLATE_INCOMPLETE, unknown class → CKR_ATTRIBUTE_VALUE_INVALID, unknown attribute → CKR_ATTRIBUTE_TYPE_INVALID', () => {
    const tpl = certificateTemplate(uniqueLabel('Device Cert'));
    expectCkr(() => t.p11.C_CreateObject(t.session, without(tpl, CKA.CKA_CLASS)), CKR.CKR_TEMPLATE_INCOMPLETE, 'no class');
    expectCkr(() => t.p11.C_CreateObject(t.session, replace(tpl, CKA.CKA_CLASS, 0x1234)), CKR.CKR_ATTRIBUTE_VALUE_INVALID, 'class 0x1234');
    expectCkr(() => t.p11.C_CreateObject(t.session, [...tpl, { type: UNKNOWN_ATTRIBUTE, value: Buffer.from([1]) }]), CKR.CKR_ATTRIBUTE_TYPE_INVALID, 'attribute 0xfff');
  });

  it('item 32: creating an object under an existing label (and class) replaces it', () => {
    const label = uniqueLabel('Device Cert');
    const other = Buffer.from(TEST_CERT_DER);
    other[other.length - 1] = other[other.length - 1]! ^ 0x01; // a different value (the token stores DER as given)
    t.p11.C_CreateObject(t.session, certificateTemplate(label));
    const second = t.p11.C_CreateObject(t.session, certificateTemplate(label, other));
    const found = findByLabel(t, label);
    if (softhsmDiffers(t.b, 32)) {
      assert.equal(found.length, 2, 'SoftHSM keeps both objects');
      return;
    }
    assert.deepEqual(hex(found), hex([second]));
    assert.deepEqual(readAttribute(t, second, CKA.CKA_VALUE), other);
  });

  it('item 33: the object store is bounded; when full, C_CreateObject → CKR_DEVICE_MEMORY and nothing stored is damaged', () => {
    const made: Array<{ handle: Buffer; label: string }> = [];
    let rv = CKR.CKR_OK as number;
    for (let i = 0; i < 300 && rv === CKR.CKR_OK; i += 1) {
      const label = uniqueLabel('fill');
      rv = rvOf(() => made.push({ handle: t.p11.C_CreateObject(t.session, certificateTemplate(label)), label }));
    }
    if (softhsmDiffers(t.b, 33)) {
      assert.equal(rv, CKR.CKR_OK, 'SoftHSM stored 300 more objects without a limit');
    } else {
      assert.equal(rv, CKR.CKR_DEVICE_MEMORY, 'the store filled up within 300 objects and said so');
    }
    for (const { handle, label } of made) {
      assert.equal(readAttribute(t, handle, CKA.CKA_LABEL).toString(), label);
      assert.deepEqual(readAttribute(t, handle, CKA.CKA_VALUE), TEST_CERT_DER);
    }
    for (const { handle } of made) t.p11.C_DestroyObject(t.session, handle); // free the room for the next tests
  });

  it('item 34: C_DestroyObject removes the object from the store and the handle table; a bad handle → CKR_OBJECT_HANDLE_INVALID', () => {
    const label = uniqueLabel('Device Cert');
    const cert = t.p11.C_CreateObject(t.session, certificateTemplate(label));
    t.p11.C_DestroyObject(t.session, cert);
    assert.equal(findByLabel(t, label).length, 0);
    expectCkr(() => t.p11.C_GetAttributeValue(t.session, cert, [{ type: CKA.CKA_CLASS }]), CKR.CKR_OBJECT_HANDLE_INVALID, 'reading the destroyed object');
    expectCkr(() => t.p11.C_DestroyObject(t.session, cert), CKR.CKR_OBJECT_HANDLE_INVALID, 'destroying it again');
    t.p11.C_Finalize();
    t.p11.C_Initialize();
    const s = t.p11.C_OpenSession(findSlot(t.p11, t.b.tokenLabel), RW);
    t.p11.C_Login(s, CKU.CKU_USER, t.b.userPin);
    assert.equal(findAll({ ...t, session: s }, [{ type: CKA.CKA_LABEL, value: label }]).length, 0, 'still gone after C_Finalize/C_Initialize');
  });

  it('item 35: destroying one half of a key pair leaves the other half usable (pair semantics: independent objects)', () => {
    const pair = generateEcKeyPair(t);
    const hash = sha256(Buffer.from('item 35'));
    const signature = ecdsaSign(t, pair.privateKey, hash);
    t.p11.C_DestroyObject(t.session, pair.privateKey);
    assert.deepEqual(hex(findByLabel(t, pair.label)), hex([pair.publicKey]));
    t.p11.C_VerifyInit(t.session, { mechanism: CKM.CKM_ECDSA }, pair.publicKey);
    assert.equal(t.p11.C_Verify(t.session, hash, signature), true);
  });

  it('item 36: object handles work in every session of the application; token objects survive C_Finalize/C_Initialize', () => {
    const label = uniqueLabel('Device Cert');
    const cert = t.p11.C_CreateObject(t.session, certificateTemplate(label));
    const other = t.p11.C_OpenSession(t.slot, RW);
    assert.deepEqual(t.p11.C_GetAttributeValue(other, cert, [{ type: CKA.CKA_VALUE }])[0]?.value, TEST_CERT_DER);
    t.p11.C_Finalize();
    t.p11.C_Initialize();
    const s = t.p11.C_OpenSession(findSlot(t.p11, t.b.tokenLabel), RW);
    t.p11.C_Login(s, CKU.CKU_USER, t.b.userPin);
    const found = findAll({ ...t, session: s }, [{ type: CKA.CKA_LABEL, value: label }]);
    assert.equal(found.length, 1);
    assert.deepEqual(t.p11.C_GetAttributeValue(s, found[0]!, [{ type: CKA.CKA_VALUE }])[0]?.value, TEST_CERT_DER);
  });

  it('item 37: C_FindObjectsInit while another operation is active → CKR_OPERATION_ACTIVE', () => {
    t.p11.C_FindObjectsInit(t.session, []);
    expectCkr(() => t.p11.C_FindObjectsInit(t.session, []), CKR.CKR_OPERATION_ACTIVE, 'during a search');
    t.p11.C_FindObjectsFinal(t.session);
    const { privateKey } = generateEcKeyPair(t);
    t.p11.C_SignInit(t.session, { mechanism: CKM.CKM_ECDSA }, privateKey);
    expectCkr(() => t.p11.C_FindObjectsInit(t.session, []), CKR.CKR_OPERATION_ACTIVE, 'during a sign operation');
  });

  it('item 38: C_FindObjects honours CKA_LABEL and CKA_CLASS together', () => {
    const pair = generateEcKeyPair(t);
    const byClass = (cls: number) => findAll(t, [{ type: CKA.CKA_LABEL, value: pair.label }, { type: CKA.CKA_CLASS, value: cls }]);
    assert.deepEqual(hex(byClass(CKO.CKO_PRIVATE_KEY)), hex([pair.privateKey]));
    assert.deepEqual(hex(byClass(CKO.CKO_PUBLIC_KEY)), hex([pair.publicKey]));
    assert.deepEqual(byClass(CKO.CKO_CERTIFICATE), []);
  });

  it('item 39: C_FindObjects returns each match once, then nothing', () => {
    const pair = generateEcKeyPair(t);
    t.p11.C_FindObjectsInit(t.session, [{ type: CKA.CKA_LABEL, value: pair.label }]);
    const first = t.p11.C_FindObjects(t.session, 1);
    const second = t.p11.C_FindObjects(t.session, 1);
    assert.equal(first.length, 1);
    assert.equal(second.length, 1);
    assert.deepEqual(hex([...first, ...second]), hex([pair.privateKey, pair.publicKey]));
    assert.deepEqual(t.p11.C_FindObjects(t.session, 1), []);
    assert.deepEqual(t.p11.C_FindObjects(t.session, 10), []);
    t.p11.C_FindObjectsFinal(t.session);
  });

  it('item 40: C_FindObjects/C_FindObjectsFinal without C_FindObjectsInit → CKR_OPERATION_NOT_INITIALIZED; Final ends the search', () => {
    expectCkr(() => t.p11.C_FindObjects(t.session, 1), CKR.CKR_OPERATION_NOT_INITIALIZED, 'C_FindObjects before Init');
    expectCkr(() => t.p11.C_FindObjectsFinal(t.session), CKR.CKR_OPERATION_NOT_INITIALIZED, 'C_FindObjectsFinal before Init');
    t.p11.C_FindObjectsInit(t.session, []);
    t.p11.C_FindObjectsFinal(t.session);
    expectCkr(() => t.p11.C_FindObjects(t.session, 1), CKR.CKR_OPERATION_NOT_INITIALIZED, 'C_FindObjects after Final');
  });

  it('item 41: finding a label that does not exist gives no object and CKR_OK', () => {
    assert.deepEqual(findByLabel(t, uniqueLabel('no such object')), []);
  });

  it('item 42: C_GetAttributeValue size query gives the exact length (pkcs11js sizes its buffers from it)', () => {
    const label = uniqueLabel('Device Cert');
    const cert = t.p11.C_CreateObject(t.session, certificateTemplate(label));
    const pair = generateEcKeyPair(t);
    // pkcs11js calls C_GetAttributeValue with pValue NULL first and allocates what it reports
    assert.equal(readAttribute(t, cert, CKA.CKA_VALUE).length, TEST_CERT_DER.length);
    assert.equal(readAttribute(t, cert, CKA.CKA_LABEL).length, Buffer.byteLength(label));
    assert.equal(readAttribute(t, pair.publicKey, CKA.CKA_EC_POINT).length, 67);
    assert.equal(readAttribute(t, pair.publicKey, CKA.CKA_EC_PARAMS).length, P256_PARAMS.length);
  });

  it('item 43: a too-small buffer → CKR_BUFFER_TOO_SMALL (the per-attribute CK_UNAVAILABLE_INFORMATION and the other filled attributes are not visible through pkcs11js)', () => {
    const label = uniqueLabel('Device Cert');
    const cert = t.p11.C_CreateObject(t.session, certificateTemplate(label));
    // a template value makes pkcs11js pass that buffer (its length) instead of a size query
    expectCkr(
      () => t.p11.C_GetAttributeValue(t.session, cert, [{ type: CKA.CKA_CLASS, value: Buffer.alloc(8) }, { type: CKA.CKA_VALUE, value: Buffer.alloc(10) }]),
      CKR.CKR_BUFFER_TOO_SMALL,
    );
    const exact = t.p11.C_GetAttributeValue(t.session, cert, [{ type: CKA.CKA_LABEL, value: Buffer.alloc(Buffer.byteLength(label)) }]);
    assert.equal(exact[0]?.value?.toString(), label, 'a buffer of exactly the right size is enough');
  });

  it('item 44: secret values are sensitive: CKA_VALUE of a private key and of HMAC/CMAC keys → CKR_ATTRIBUTE_SENSITIVE', () => {
    const pair = generateEcKeyPair(t);
    expectCkr(() => t.p11.C_GetAttributeValue(t.session, pair.privateKey, [{ type: CKA.CKA_VALUE }]), CKR.CKR_ATTRIBUTE_SENSITIVE, 'generated EC private key');
    const imported = t.p11.C_CreateObject(t.session, ecPrivateTemplate(uniqueLabel('Claim Key'), opensslP256KeyPair().d));
    const hmac = t.p11.C_CreateObject(t.session, secretTemplate(CKK.CKK_SHA256_HMAC, crypto.randomBytes(32)));
    const cmac = t.p11.C_CreateObject(t.session, secretTemplate(CKK.CKK_AES, crypto.randomBytes(16), uniqueLabel('CMAC Key')));
    const sensitive = (h: Buffer, what: string) =>
      expectCkr(() => t.p11.C_GetAttributeValue(t.session, h, [{ type: CKA.CKA_VALUE }]), CKR.CKR_ATTRIBUTE_SENSITIVE, what);
    sensitive(imported, 'imported EC private key');
    sensitive(hmac, 'HMAC key');
    sensitive(cmac, 'CMAC key');
  });

  it('item 45: an unknown attribute type → CKR_ATTRIBUTE_TYPE_INVALID (that the others are still filled is not visible through pkcs11js)', () => {
    const cert = t.p11.C_CreateObject(t.session, certificateTemplate(uniqueLabel('Device Cert')));
    expectCkr(() => t.p11.C_GetAttributeValue(t.session, cert, [{ type: CKA.CKA_CLASS }, { type: UNKNOWN_ATTRIBUTE }, { type: CKA.CKA_LABEL }]), CKR.CKR_ATTRIBUTE_TYPE_INVALID);
    // an attribute that exists in 2.40 but not for this class is "invalid for the object" too
    expectCkr(() => t.p11.C_GetAttributeValue(t.session, cert, [{ type: CKA.CKA_EC_POINT }]), CKR.CKR_ATTRIBUTE_TYPE_INVALID, 'CKA_EC_POINT of a certificate');
  });

  it('item 46: CKA_CLASS, CKA_KEY_TYPE, CKA_EC_PARAMS, CKA_EC_POINT (67 bytes) and the certificate value are readable', () => {
    const pair = generateEcKeyPair(t);
    const priv = readAttributes(t, pair.privateKey, [CKA.CKA_CLASS, CKA.CKA_KEY_TYPE, CKA.CKA_EC_PARAMS]);
    assert.equal(ulong(priv.get(CKA.CKA_CLASS)), CKO.CKO_PRIVATE_KEY);
    assert.equal(ulong(priv.get(CKA.CKA_KEY_TYPE)), CKK.CKK_EC);
    assert.deepEqual(priv.get(CKA.CKA_EC_PARAMS), P256_PARAMS);
    const pub = readAttributes(t, pair.publicKey, [CKA.CKA_CLASS, CKA.CKA_KEY_TYPE, CKA.CKA_EC_PARAMS, CKA.CKA_EC_POINT]);
    assert.equal(ulong(pub.get(CKA.CKA_CLASS)), CKO.CKO_PUBLIC_KEY);
    assert.equal(ulong(pub.get(CKA.CKA_KEY_TYPE)), CKK.CKK_EC);
    assert.deepEqual(pub.get(CKA.CKA_EC_PARAMS), P256_PARAMS);
    p256KeyFromEcPoint(pub.get(CKA.CKA_EC_POINT)!); // 04 41 04 X Y, and a point OpenSSL accepts
    const cert = t.p11.C_CreateObject(t.session, certificateTemplate(uniqueLabel('Device Cert')));
    assert.deepEqual(readAttribute(t, cert, CKA.CKA_VALUE), TEST_CERT_DER);
  });

  it('item 47: the attributes native clients query are readable with their right values', () => {
    const pair = generateEcKeyPair(t);
    const booleans = (h: Buffer, types: number[]) => {
      const got = readAttributes(t, h, types);
      return Object.fromEntries(types.map((type) => [type, bool(got.get(type))]));
    };
    const f = (types: number[], value: boolean) => Object.fromEntries(types.map((type) => [type, value]));
    const privFalse = [CKA.CKA_DECRYPT, CKA.CKA_UNWRAP, CKA.CKA_DERIVE, CKA.CKA_ALWAYS_AUTHENTICATE, CKA.CKA_EXTRACTABLE];
    const privTrue = [CKA.CKA_TOKEN, CKA.CKA_PRIVATE, CKA.CKA_SIGN, CKA.CKA_SENSITIVE, CKA.CKA_LOCAL];
    if (softhsmDiffers(t.b, 47)) {
      // SoftHSM 2.6.1 defaults of a generated EC private key: CKA_SENSITIVE false, CKA_DECRYPT and CKA_UNWRAP true
      const softhsm = { ...f(privTrue, true), ...f(privFalse, false), [CKA.CKA_SENSITIVE]: false, [CKA.CKA_DECRYPT]: true, [CKA.CKA_UNWRAP]: true };
      assert.deepEqual(booleans(pair.privateKey, [...privTrue, ...privFalse]), softhsm);
    } else {
      assert.deepEqual(booleans(pair.privateKey, [...privTrue, ...privFalse]), { ...f(privTrue, true), ...f(privFalse, false) });
    }
    const pubFalse = [CKA.CKA_PRIVATE, CKA.CKA_ENCRYPT, CKA.CKA_WRAP, CKA.CKA_DERIVE];
    const pubTrue = [CKA.CKA_TOKEN, CKA.CKA_VERIFY, CKA.CKA_LOCAL];
    if (softhsmDiffers(t.b, 47)) {
      assert.deepEqual(booleans(pair.publicKey, [...pubTrue, ...pubFalse]), { ...f(pubTrue, true), ...f(pubFalse, false), [CKA.CKA_ENCRYPT]: true, [CKA.CKA_WRAP]: true });
    } else {
      assert.deepEqual(booleans(pair.publicKey, [...pubTrue, ...pubFalse]), { ...f(pubTrue, true), ...f(pubFalse, false) });
    }
    assert.equal(readAttribute(t, pair.privateKey, CKA.CKA_LABEL).toString(), pair.label);
    assert.equal(readAttribute(t, pair.publicKey, CKA.CKA_LABEL).toString(), pair.label);
    assert.ok(Buffer.isBuffer(readAttributes(t, pair.privateKey, [CKA.CKA_ID]).get(CKA.CKA_ID)), 'CKA_ID is readable (may be empty)');
  });

  it('item 48: C_GetObjectSize answers for an object; a bad handle → CKR_OBJECT_HANDLE_INVALID', () => {
    const cert = t.p11.C_CreateObject(t.session, certificateTemplate(uniqueLabel('Device Cert')));
    const size = t.p11.C_GetObjectSize(t.session, cert);
    if (softhsmDiffers(t.b, 48)) assert.equal(size, CK_UNAVAILABLE_INFORMATION, 'SoftHSM reports CK_UNAVAILABLE_INFORMATION');
    else assert.ok(size >= TEST_CERT_DER.length && size < 65536, `object size ${size} covers the ${TEST_CERT_DER.length}-byte value`);
    t.p11.C_DestroyObject(t.session, cert);
    expectCkr(() => t.p11.C_GetObjectSize(t.session, cert), CKR.CKR_OBJECT_HANDLE_INVALID);
  });
});
