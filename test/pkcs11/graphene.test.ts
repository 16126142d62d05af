import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CertificateType,
  KeyGenMechanism,
  KeyType,
  MechanismEnum,
  MechanismFlag,
  Module,
  NamedCurve,
  ObjectClass,
  PrivateKey,
  PublicKey,
  type Session,
  SessionFlag,
  type Slot,
  SlotFlag,
  TokenFlag,
  X509Certificate,
} from 'graphene-pk11';
import type * as pkcs11js from 'pkcs11js';
import { Pkcs11Error } from '../../src/pkcs11/pkcs11-error.js';
import { type Backend, ckrOf, conformanceBackends, nvsecBackend, pkcs11jsModule } from '../_support/pkcs11-backends.js';
import { CKR, p256KeyFromEcPoint, sha256, uniqueLabel } from '../_support/pkcs11-conformance.js';

// Code written for graphene-pk11 (the object layer over pkcs11js) runs unchanged on nvsec's in-process
// token: one set of graphene flows, run against SoftHSM through pkcs11js and against nvsec's Cryptoki.

/** DER of the P-256 OID 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1 secp256r1), the CKA_EC_PARAMS of a P-256 key. */
const P256_OID_DER = Buffer.from('06082a8648ce3d030107', 'hex');

/** FIPS 180-2 appendix B.1: SHA-256("abc"). */
const ABC_SHA256 = Buffer.from('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'hex');

/** CKS_RW_PUBLIC_SESSION and CKS_RW_USER_FUNCTIONS (PKCS#11 2.40 base §5.6 table 9). */
const CKS_RW_PUBLIC_SESSION = 2;
const CKS_RW_USER_FUNCTIONS = 3;

/** A DER length (X.690 §8.1.3), short or long form. */
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes = Buffer.from(n.toString(16).padStart(n > 0xff ? 4 : 2, '0'), 'hex');
  return Buffer.concat([Buffer.of(0x80 | bytes.length), bytes]);
}
const tlv = (tag: number, value: Buffer): Buffer => Buffer.concat([Buffer.of(tag), derLength(value.length), value]);

/** The DER Name `CN=<cn>` as OpenSSL writes it for `-subj /CN=<cn>`: RDNSequence{SET{SEQ{2.5.4.3, UTF8String}}} (RFC 5280 §4.1.2.4). */
function commonNameDer(cn: string): Buffer {
  return tlv(0x30, tlv(0x31, tlv(0x30, Buffer.concat([tlv(0x06, Buffer.from('550403', 'hex')), tlv(0x0c, Buffer.from(cn, 'utf8'))]))));
}

/** A self-signed P-256 certificate made by `openssl req -x509`, DER. */
function opensslCertificate(cn: string): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-graphene-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-days', '30', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.der'), '-outform', 'DER'],
      { stdio: 'ignore' },
    );
    return fs.readFileSync(path.join(dir, 'c.der'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A P-256 key pair generated the graphene way: KeyGenMechanism.EC, paramsEC from NamedCurve. */
function generateP256(session: Session, label: string): { publicKey: PublicKey; privateKey: PrivateKey } {
  const id = Buffer.from(label, 'utf8');
  return session.generateKeyPair(
    KeyGenMechanism.EC,
    { keyType: KeyType.EC, token: true, verify: true, label, id, paramsEC: NamedCurve.getByName('secp256r1').value },
    { keyType: KeyType.EC, token: true, sign: true, sensitive: true, extractable: false, label, id },
  );
}

/** Asserts that `fn` throws a Cryptoki error with CKR `expected` (either backend's error shape). */
function throwsCkr(fn: () => unknown, expected: number, what: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.equal(ckrOf(e), expected, `${what}: ${String(e)}`);
    return true;
  });
}

// graphene tells a bad signature (false) from a failure (thrown) by `err instanceof pkcs11js.Pkcs11Error`,
// so nvsec's Cryptoki is opened with pkcs11js' error class: the one line of set-up that differs.
const pkcs11jsErrors = pkcs11jsModule().Pkcs11Error;

for (const kind of await conformanceBackends({ errors: pkcs11jsErrors })) {
  describe(`graphene-pk11 flows [${kind.name}]`, 'skip' in kind ? { skip: kind.skip } : {}, () => {
    let backend: Backend;
    let mod: Module;
    let slot: Slot;
    let session: Session;

    before(() => {
      if ('skip' in kind) return;
      backend = kind.make();
      mod = new Module(backend.p11 as unknown as pkcs11js.PKCS11);
      mod.initialize();
      const slots = mod.getSlots(true);
      let found: Slot | undefined;
      for (let i = 0; i < slots.length; i += 1) {
        const s = slots.items(i);
        if (s.getToken().label === backend.tokenLabel) found = s;
      }
      assert.ok(found !== undefined, `no slot holds the token "${backend.tokenLabel}"`);
      slot = found;
      session = slot.open(SessionFlag.SERIAL_SESSION | SessionFlag.RW_SESSION);
      session.login(backend.userPin);
    });

    after(() => {
      if ('skip' in kind) return;
      session.logout();
      session.close();
      mod.finalize();
      backend.dispose();
    });

    it('Module.initialize() reads the Cryptoki 2.40 library info, padding removed', () => {
      assert.deepEqual({ ...mod.cryptokiVersion }, { major: 2, minor: 40 });
      assert.equal(mod.flags, 0);
      assert.equal(mod.manufacturerID, kind.name === 'softhsm' ? 'SoftHSM' : 'nvsec');
      assert.doesNotMatch(mod.libraryDescription, /\s$/);
      assert.ok(mod.libraryDescription.length > 0);
    });

    it('Module.initialize() on an initialised module is not an error (graphene swallows CKR_CRYPTOKI_ALREADY_INITIALIZED)', () => {
      throwsCkr(() => backend.p11.C_Initialize(), CKR.CKR_CRYPTOKI_ALREADY_INITIALIZED, 'a second C_Initialize');
      mod.initialize();
      assert.equal(mod.manufacturerID, kind.name === 'softhsm' ? 'SoftHSM' : 'nvsec');
    });

    it("a failed call throws pkcs11js' Pkcs11Error (message the CKR name, code its number), synchronously and as a rejection", async () => {
      const { publicKey, privateKey } = generateP256(session, uniqueLabel('graphene errors'));
      const hash = sha256(Buffer.from('graphene errors'));
      const forged = session.createSign('ECDSA', privateKey).once(hash);
      forged[0] = forged[0]! ^ 0x80;
      const isSignatureInvalid = (e: unknown): boolean => {
        assert.ok(e instanceof pkcs11jsErrors, `${String(e)} is a pkcs11js Pkcs11Error`);
        assert.equal(e.message, 'CKR_SIGNATURE_INVALID');
        assert.equal((e as { code?: unknown }).code, 0xc0);
        return true;
      };
      backend.p11.C_VerifyInit(session.handle, { mechanism: MechanismEnum.ECDSA }, publicKey.handle);
      assert.throws(() => backend.p11.C_Verify(session.handle, hash, forged), isSignatureInvalid);
      const verifyAsync = backend.p11.C_VerifyAsync;
      assert.ok(verifyAsync !== undefined);
      backend.p11.C_VerifyInit(session.handle, { mechanism: MechanismEnum.ECDSA }, publicKey.handle);
      await assert.rejects(verifyAsync.call(backend.p11, session.handle, hash, forged), isSignatureInvalid);
      if (kind.name === 'nvsec') {
        // nvsec's own error, with the explanation, stays reachable as the cause.
        backend.p11.C_VerifyInit(session.handle, { mechanism: MechanismEnum.ECDSA }, publicKey.handle);
        assert.throws(
          () => backend.p11.C_Verify(session.handle, hash, forged),
          (e: unknown) => (e as { method?: unknown }).method === 'C_Verify' && (e as { cause?: { ckr?: unknown } }).cause?.ckr === CKR.CKR_SIGNATURE_INVALID,
        );
      }
    });

    it("getSlots(true) gives a slot with a token present whose Token reports label, initialised, user PIN set and login required", () => {
      assert.ok((slot.flags & SlotFlag.TOKEN_PRESENT) !== 0);
      assert.ok(slot.slotDescription.length > 0);
      const token = slot.getToken();
      assert.equal(token.label, backend.tokenLabel);
      for (const flag of [TokenFlag.TOKEN_INITIALIZED, TokenFlag.USER_PIN_INITIALIZED, TokenFlag.LOGIN_REQUIRED, TokenFlag.RNG]) {
        assert.ok((token.flags & flag) !== 0, `token flag ${TokenFlag[flag]} is set`);
      }
      assert.ok(token.serialNumber.length > 0);
      assert.ok(token.minPinLen <= backend.userPin.length && backend.userPin.length <= token.maxPinLen);
    });

    it('a R/W session reads its state through graphene: public when opened, user functions once the token is logged in', () => {
      // graphene reads C_GetSessionInfo when a Session is made; the login in before() is token-wide.
      assert.equal(session.state, CKS_RW_PUBLIC_SESSION);
      assert.ok((session.flags & SessionFlag.RW_SESSION) !== 0 && (session.flags & SessionFlag.SERIAL_SESSION) !== 0);
      const second = slot.open(SessionFlag.SERIAL_SESSION | SessionFlag.RW_SESSION);
      try {
        assert.equal(second.state, CKS_RW_USER_FUNCTIONS);
        assert.ok(second.slot.handle.equals(slot.handle));
      } finally {
        second.close();
      }
    });

    it('the mechanism list holds ECDSA, EC key-pair generation and SHA-256 with the right capabilities', () => {
      const mechanisms = slot.getMechanisms();
      const types: number[] = [];
      for (let i = 0; i < mechanisms.length; i += 1) types.push(mechanisms.items(i).type);
      for (const m of [MechanismEnum.ECDSA, MechanismEnum.EC_KEY_PAIR_GEN, MechanismEnum.SHA256]) assert.ok(types.includes(m), `${MechanismEnum[m]} is listed`);
      const ecdsa = mechanisms.items(types.indexOf(MechanismEnum.ECDSA));
      assert.equal(ecdsa.name, 'ECDSA');
      assert.ok((ecdsa.flags & MechanismFlag.SIGN) !== 0 && (ecdsa.flags & MechanismFlag.VERIFY) !== 0);
      assert.ok(ecdsa.minKeySize <= 256 && 256 <= ecdsa.maxKeySize);
    });

    it('generateKeyPair(KeyGenMechanism.EC, P-256) returns a PublicKey and a PrivateKey with the asked attributes', () => {
      const label = uniqueLabel('graphene keygen');
      const { publicKey, privateKey } = generateP256(session, label);
      assert.ok(publicKey instanceof PublicKey);
      assert.ok(privateKey instanceof PrivateKey);
      assert.equal(publicKey.class, ObjectClass.PUBLIC_KEY);
      assert.equal(privateKey.class, ObjectClass.PRIVATE_KEY);
      assert.equal(publicKey.type, KeyType.EC);
      assert.equal(privateKey.type, KeyType.EC);
      assert.equal(publicKey.label, label);
      assert.equal(privateKey.label, label);
      assert.deepEqual(publicKey.id, Buffer.from(label));
      assert.equal(publicKey.verify, true);
      assert.equal(privateKey.sign, true);
      assert.equal(privateKey.sensitive, true);
      assert.equal(privateKey.extractable, false);
      assert.equal(privateKey.local, true);
      assert.equal(publicKey.token, true);
      assert.equal(privateKey.private, true);
      // graphene names CKA_EC_PARAMS (= CKA_ECDSA_PARAMS) 'paramsECDSA' when it reads a template back.
      assert.deepEqual(publicKey.getAttribute({ paramsEC: null }).paramsECDSA, P256_OID_DER);
      // The point decodes as a P-256 public key for OpenSSL (p256KeyFromEcPoint checks its DER shape).
      assert.equal(p256KeyFromEcPoint(publicKey.getAttribute({ pointEC: null }).pointEC as Buffer).asymmetricKeyDetails?.namedCurve, 'prime256v1');
      throwsCkr(() => privateKey.getAttribute({ value: null }), CKR.CKR_ATTRIBUTE_SENSITIVE, 'the private value of a sensitive key');
    });

    it("createSign('ECDSA') over a SHA-256 digest gives r‖s that graphene and OpenSSL both verify", () => {
      const { publicKey, privateKey } = generateP256(session, uniqueLabel('graphene ecdsa'));
      const message = Buffer.from('graphene on nvsec: ECDSA over a SHA-256 digest');
      const signature = session.createSign('ECDSA', privateKey).once(sha256(message));
      assert.equal(signature.length, 64);
      assert.equal(session.createVerify('ECDSA', publicKey).once(sha256(message), signature), true);
      const opensslKey = p256KeyFromEcPoint(publicKey.getAttribute({ pointEC: null }).pointEC as Buffer);
      assert.equal(crypto.verify('sha256', message, { key: opensslKey, dsaEncoding: 'ieee-p1363' }, signature), true);
      const forged = Buffer.from(signature);
      forged[10] = forged[10]! ^ 0x01;
      assert.equal(crypto.verify('sha256', message, { key: opensslKey, dsaEncoding: 'ieee-p1363' }, forged), false);
      assert.equal(session.createVerify('ECDSA', publicKey).once(sha256(message), forged), false, 'a bad signature is false, not an exception');
    });

    it("createSign('ECDSA_SHA256') hashes in the token where the backend supports it, and says so where not", () => {
      const { publicKey, privateKey } = generateP256(session, uniqueLabel('graphene ecdsa-sha256'));
      const message = Buffer.from('graphene on nvsec: ECDSA_SHA256 over the message, in two parts');
      const mechanisms = slot.getMechanisms();
      const types: number[] = [];
      for (let i = 0; i < mechanisms.length; i += 1) types.push(mechanisms.items(i).type);
      if (kind.name === 'softhsm') {
        // SoftHSM 2.6.1 implements no CKM_ECDSA_SHA* mechanism: it does not list it and refuses it.
        assert.equal(types.includes(MechanismEnum.ECDSA_SHA256), false);
        throwsCkr(() => session.createSign('ECDSA_SHA256', privateKey), CKR.CKR_MECHANISM_INVALID, 'SoftHSM CKM_ECDSA_SHA256');
        return;
      }
      assert.ok(types.includes(MechanismEnum.ECDSA_SHA256));
      const sign = session.createSign('ECDSA_SHA256', privateKey);
      sign.update(message.subarray(0, 20));
      sign.update(message.subarray(20));
      const signature = sign.final();
      assert.equal(signature.length, 64);
      const opensslKey = p256KeyFromEcPoint(publicKey.getAttribute({ pointEC: null }).pointEC as Buffer);
      assert.equal(crypto.verify('sha256', message, { key: opensslKey, dsaEncoding: 'ieee-p1363' }, signature), true);
      const verify = session.createVerify('ECDSA_SHA256', publicKey);
      verify.update(message);
      assert.equal(verify.final(signature), true);
      assert.equal(session.createVerify('ECDSA_SHA256', publicKey).once(Buffer.from('another message'), signature), false);
    });

    it('session.find by label and class finds the key of that class only, as its graphene type', () => {
      const label = uniqueLabel('graphene find');
      const { privateKey } = generateP256(session, label);
      const both = session.find({ label });
      assert.equal(both.length, 2);
      const found = session.find({ label, class: ObjectClass.PRIVATE_KEY });
      assert.equal(found.length, 1);
      const object = found.items(0);
      assert.ok(object.handle.equals(privateKey.handle));
      const typed = object.toType();
      assert.ok(typed instanceof PrivateKey);
      assert.equal(session.find({ label: uniqueLabel('graphene nothing') }).length, 0);
      assert.equal(session.find({ label, class: ObjectClass.CERTIFICATE }).length, 0);
    });

    it('objects are managed the graphene way: setAttribute, copy, getObject by handle, destroy by template', () => {
      const label = uniqueLabel('graphene manage');
      const { publicKey, privateKey } = generateP256(session, label);
      const renamed = uniqueLabel('graphene renamed');
      publicKey.setAttribute({ label: renamed });
      assert.equal(publicKey.label, renamed);
      const copyLabel = uniqueLabel('graphene copy');
      const copy = publicKey.copy({ label: copyLabel, token: false });
      assert.equal(copy.getAttribute({ label: null }).label, copyLabel);
      assert.deepEqual(copy.getAttribute({ pointEC: null }).pointEC, publicKey.getAttribute({ pointEC: null }).pointEC);
      const again = session.getObject(privateKey.handle);
      assert.ok(again instanceof PrivateKey);
      assert.equal(again.label, label);
      assert.equal(session.destroy({ label: copyLabel }), 1);
      assert.equal(session.find({ label: copyLabel }).length, 0);
      assert.equal(session.find({ label: renamed }).length, 1);
    });

    it('an X.509 certificate made by openssl req -x509 is created as a certificate object and read back through X509Certificate', () => {
      const cn = 'graphene on nvsec';
      const der = opensslCertificate(cn);
      const subject = commonNameDer(cn);
      assert.ok(der.includes(subject), 'the hand-encoded subject Name is the one OpenSSL wrote');
      const label = uniqueLabel('graphene cert');
      // CKA_SERIAL_NUMBER is the DER INTEGER (X.690 §8.3: a 0x00 in front when the top bit is set) of OpenSSL's serial.
      const serialBytes = Buffer.from(new crypto.X509Certificate(der).serialNumber.replace(/^(.(..)*)$/, '0$1'), 'hex');
      const serial = tlv(0x02, serialBytes[0]! >= 0x80 ? Buffer.concat([Buffer.of(0), serialBytes]) : serialBytes);
      assert.ok(der.includes(serial), 'the encoded serial is the one OpenSSL wrote');
      const created = session.create({
        class: ObjectClass.CERTIFICATE,
        certType: CertificateType.X_509,
        token: true,
        label,
        subject,
        issuer: subject,
        serial,
        value: der,
      });
      const cert = created.toType();
      assert.ok(cert instanceof X509Certificate);
      assert.equal(cert.type, CertificateType.X_509);
      assert.equal(cert.label, label);
      assert.deepEqual(cert.value, der);
      assert.deepEqual(cert.subject, subject);
      assert.deepEqual(cert.issuer, subject);
      assert.equal(cert.serialNumber, serial.toString('hex'));
      const found = session.find({ class: ObjectClass.CERTIFICATE, label });
      assert.equal(found.length, 1);
      const again = found.items(0).toType();
      assert.ok(again instanceof X509Certificate);
      assert.deepEqual(again.value, der);
      assert.equal(new crypto.X509Certificate(again.value).subject, `CN=${cn}`);
    });

    it('the callback forms (generateKeyPair, Sign/Verify/Digest once and final) call back with what the direct calls return', async () => {
      const label = uniqueLabel('graphene callbacks');
      const id = Buffer.from(label, 'utf8');
      const pair = await new Promise<{ publicKey: PublicKey; privateKey: PrivateKey }>((resolve, reject) => {
        session.generateKeyPair(
          KeyGenMechanism.EC,
          { keyType: KeyType.EC, token: true, verify: true, label, id, paramsEC: NamedCurve.getByName('secp256r1').value },
          { keyType: KeyType.EC, token: true, sign: true, label, id },
          (err, keys) => (err !== null && err !== undefined ? reject(err) : keys === null ? reject(new Error('no error and no keys')) : resolve(keys)),
        );
      });
      assert.ok(pair.publicKey instanceof PublicKey && pair.privateKey instanceof PrivateKey);
      assert.equal(pair.privateKey.label, label);
      const called = <T>(start: (cb: (err: Error | null, result: T) => void) => void): Promise<T> =>
        new Promise<T>((resolve, reject) => start((err, result) => (err !== null && err !== undefined ? reject(err) : resolve(result))));
      const message = Buffer.from('graphene callbacks');
      const hash = await called<Buffer>((cb) => session.createDigest('SHA256').once(message, cb));
      assert.deepEqual(hash, sha256(message));
      const signature = await called<Buffer>((cb) => session.createSign('ECDSA', pair.privateKey).once(hash, cb));
      assert.equal(signature.length, 64);
      const opensslKey = p256KeyFromEcPoint(pair.publicKey.getAttribute({ pointEC: null }).pointEC as Buffer);
      assert.equal(crypto.verify('sha256', message, { key: opensslKey, dsaEncoding: 'ieee-p1363' }, signature), true);
      assert.equal(await called<boolean>((cb) => session.createVerify('ECDSA', pair.publicKey).once(hash, signature, cb)), true);
      const forged = Buffer.from(signature);
      forged[40] = forged[40]! ^ 0x04;
      assert.equal(await called<boolean>((cb) => session.createVerify('ECDSA', pair.publicKey).once(hash, forged, cb)), false, 'a bad signature calls back false');
      const digest = session.createDigest('SHA256');
      digest.update(message);
      assert.deepEqual(await called<Buffer>((cb) => backend.p11.C_DigestFinal(session.handle, Buffer.alloc(64), cb as (e: Error, d: Buffer) => void)), sha256(message));
      // An error goes to the callback, not to the caller.
      await assert.rejects(
        called<Buffer>((cb) => backend.p11.C_DigestFinal(session.handle, Buffer.alloc(64), cb as (e: Error, d: Buffer) => void)),
        (e: unknown) => e instanceof pkcs11jsErrors && ckrOf(e) === CKR.CKR_OPERATION_NOT_INITIALIZED,
      );
    });

    it("createDigest('SHA256') matches FIPS 180-2 in one call and in parts", () => {
      assert.deepEqual(session.createDigest('SHA256').once(Buffer.from('abc')), ABC_SHA256);
      const digest = session.createDigest('SHA256');
      digest.update(Buffer.from('a'));
      digest.update(Buffer.from('bc'));
      assert.deepEqual(digest.final(), ABC_SHA256);
    });

    it('generateRandom(n) gives n bytes, fresh each call', () => {
      const a = session.generateRandom(32);
      const b = session.generateRandom(32);
      assert.ok(Buffer.isBuffer(a));
      assert.equal(a.length, 32);
      assert.equal(b.length, 32);
      assert.notDeepEqual(a, b);
      // pkcs11js passes an empty Buffer as NULL: both tokens refuse it.
      throwsCkr(() => session.generateRandom(0), CKR.CKR_ARGUMENTS_BAD, 'generateRandom(0)');
    });
  });
}

describe("nvsec Cryptoki: the pkcs11js behaviour graphene relies on, option by option", () => {
  it("without the errors option a failure is nvsec's Pkcs11Error (code the CKR name, ckr its number)", async () => {
    const b = await nvsecBackend();
    try {
      b.p11.C_Initialize();
      assert.throws(
        () => b.p11.C_Initialize(),
        (e: unknown) => e instanceof Pkcs11Error && !(e instanceof pkcs11jsErrors) && e.code === 'CKR_CRYPTOKI_ALREADY_INITIALIZED' && e.ckr === CKR.CKR_CRYPTOKI_ALREADY_INITIALIZED,
      );
    } finally {
      b.dispose();
    }
  });

  it('with the errors option a TypeError (a malformed handle) passes unchanged, as in pkcs11js', async () => {
    const b = await nvsecBackend({ errors: pkcs11jsErrors });
    try {
      b.p11.C_Initialize();
      assert.throws(() => b.p11.C_GetSlotInfo(Buffer.alloc(3)), TypeError);
    } finally {
      b.dispose();
    }
  });

  it('a callback is called after the call returns, with the result or with the error and null', async () => {
    const b = await nvsecBackend({ errors: pkcs11jsErrors });
    try {
      b.p11.C_Initialize();
      const [slotHandle] = b.p11.C_GetSlotList(true);
      assert.ok(slotHandle !== undefined);
      const s = b.p11.C_OpenSession(slotHandle, SessionFlag.SERIAL_SESSION);
      const order: string[] = [];
      const done = new Promise<[Error | null, Buffer | null]>((resolve) => {
        b.p11.C_DigestInit(s, { mechanism: MechanismEnum.SHA256 });
        b.p11.C_Digest(s, Buffer.from('abc'), Buffer.alloc(32), (err, digest) => {
          order.push('callback');
          resolve([err, digest]);
        });
        order.push('returned');
      });
      const [err, digest] = await done;
      assert.deepEqual(order, ['returned', 'callback']);
      assert.equal(err, null);
      assert.deepEqual(digest, ABC_SHA256);
      const failed = await new Promise<[Error | null, Buffer | null]>((resolve) => {
        // No C_DigestInit: the operation is not initialised.
        b.p11.C_Digest(s, Buffer.from('abc'), Buffer.alloc(32), (e, d) => resolve([e, d]));
      });
      assert.ok(failed[0] instanceof pkcs11jsErrors && ckrOf(failed[0]) === CKR.CKR_OPERATION_NOT_INITIALIZED, String(failed[0]));
      assert.equal(failed[1], null);
    } finally {
      b.dispose();
    }
  });
});
