import type * as X509 from '@peculiar/x509';
import { bytesEqual } from '../bytes/equal.js';
import { DER_TAG, type DerTlv, derChildren, readDer } from '../bytes/der.js';
import { fromHex, toHex } from '../bytes/hex.js';
import type { CryptoProvider, HashName } from '../crypto/provider.js';
import { ecdsaDerToRaw, ecdsaRawToDer } from '../crypto/ecdsa-signature.js';
import { EC_CURVE_BYTES, type EcCurve, type EcPublicKey, type PublicKey, sec1Point } from '../crypto/public-key.js';
import type { Signer } from '../crypto/signer.js';
import { NvsecError } from '../errors/nvsec-error.js';
import { curveOfEcParams, ecSpki } from '../pkcs11/token/key-encoding.js';
import { loadX509 } from '../crypto/x509-library.js';
import { certificateSubject, csrInfo, deviceExtensions, type EncodedName, encodeName, nameText, parseRequest as parseRequestDer, pem, pemDer, serialOctets, signedDer, tbsCertificate } from './_certificate-der.js';

/**
 * The factory's X.509 certificates: root CA, intermediate (manufacturing) CA, device CSRs and
 * device / TLS server certificates, signed through nvsec's {@link Signer}, so a CA key may sit in
 * a PKCS#11 token, an HSM or memory alike. The per-device path (createCsr, issueDeviceCertificate)
 * writes its DER directly (./_certificate-der.ts), byte for byte what @peculiar/x509 wrote, at a
 * fraction of the cost; CAs, server certificates and parsing use the library.
 *
 * Scope: ECDSA on P-256 (signed with SHA-256) and P-384 (SHA-384), for CA and device keys. RSA is
 * not needed for the factory (devices generate EC keys in their token; the CA keys are ours to
 * choose) and is refused with KEY_UNSUPPORTED.
 */

/**
 * The part of WebCrypto's `Crypto` @peculiar/x509 uses: Node passes `globalThis.crypto`, a
 * browser `window.crypto`. Typed loosely so core code needs no DOM or Node types.
 */
export interface WebCrypto {
  readonly subtle: object;
  getRandomValues<T extends Uint8Array>(array: T): T;
}

/** What {@link loadCertificates} needs: WebCrypto for the library, nvsec's provider for hashing, a random source for serials. */
export interface CertificateDeps {
  /** WebCrypto (`globalThis.crypto` on Node): the library's keys, and checking each signature a {@link Signer} makes (OpenSSL on Node). */
  readonly webCrypto: WebCrypto;
  /**
   * Hashes what a {@link Signer} signs and the subject key identifiers (SHA-1, RFC 5280 §4.2.1.2
   * method 1); `verifyDigest` checks requests that issueDeviceCertificate gets from elsewhere.
   */
  readonly crypto: CryptoProvider;
  /** Source of serial numbers; default `crypto.randomBytes`. */
  readonly random?: (length: number) => Uint8Array;
}

/** A certificate (or request) with its parsed fields. */
export interface Certificate {
  readonly der: Uint8Array;
  /** "-----BEGIN CERTIFICATE-----" PEM. */
  readonly pem: string;
  /** Serial number in lower-case hex, without a sign byte. */
  readonly serial: string;
  /** Subject in RFC 4514-like text, e.g. "CN=Acme Root CA, O=Acme". */
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: EcPublicKey;
  /** The subject key identifier extension's value; null when the certificate has none. */
  readonly subjectKeyId: Uint8Array | null;
}

/** A PKCS#10 certificate signing request. */
export interface CertificateRequest {
  readonly der: Uint8Array;
  /** "-----BEGIN CERTIFICATE REQUEST-----" PEM. */
  readonly pem: string;
  readonly subject: string;
  readonly publicKey: EcPublicKey;
}

/** A CA that signs: its certificate and the signer of the certificate's key. */
export interface Issuer {
  readonly certificate: Certificate;
  readonly signer: Signer;
}

/** Validity period; `notAfter` must be later than `notBefore`. */
export interface Validity {
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** Parameters of {@link Certificates.createRootCa}. */
export interface RootCaParams extends Validity {
  /** Distinguished name, e.g. "CN=Acme Root CA, O=Acme". */
  readonly subject: string;
  readonly signer: Signer;
  /** Serial in hex; default {@link randomSerial}. */
  readonly serial?: string;
  /** basicConstraints pathLenConstraint; default none (any depth). */
  readonly pathLength?: number;
}

/** Parameters of {@link Certificates.createIntermediateCa}. */
export interface IntermediateCaParams extends Validity {
  readonly subject: string;
  /** The intermediate's public key (its private half may sit in a token). */
  readonly publicKey: PublicKey;
  readonly issuer: Issuer;
  readonly serial?: string;
  /** basicConstraints pathLenConstraint; default 0 (it issues end-entity certificates only). */
  readonly pathLength?: number;
}

/** Parameters of {@link Certificates.createCsr}. */
export interface CsrParams {
  readonly subject: string;
  /** The device's key, typically {@link tokenSigner} over a key generated inside its token. */
  readonly signer: Signer;
}

/** Parameters of {@link Certificates.issueDeviceCertificate}. */
export interface DeviceCertificateParams {
  /** The device's CSR: DER, PEM, or as {@link Certificates.createCsr} returned it. */
  readonly csr: CertificateRequest | Uint8Array | string;
  readonly issuer: Issuer;
  readonly validity: Validity;
  readonly serial?: string;
  /** Subject to certify instead of the CSR's (the factory names its devices). */
  readonly subject?: string;
}

/** Parameters of {@link Certificates.issueServerCertificate}. */
export interface ServerCertificateParams {
  readonly subject: string;
  readonly publicKey: PublicKey;
  readonly issuer: Issuer;
  readonly validity: Validity;
  /** subjectAltName host names; with `ipAddresses`, at least one name in all. */
  readonly dnsNames?: readonly string[];
  /** subjectAltName IP addresses (IPv4 dotted or IPv6 text). */
  readonly ipAddresses?: readonly string[];
  readonly serial?: string;
}

/** Why a certificate was revoked: the CRLReason names of RFC 5280 §5.3.1 (removeFromCRL, for delta CRLs, is left out). */
export const CRL_REASONS = Object.freeze({
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
  aACompromise: 10,
});
export type CrlReason = keyof typeof CRL_REASONS;

/** One revoked certificate of {@link CrlParams}. */
export interface RevokedCertificate {
  /** The certificate's serial in hex (as {@link Certificate.serial} or `openssl x509 -serial` give it; case and `:` separators are ignored). */
  readonly serial: string;
  readonly revokedAt: Date;
  /** The reasonCode entry extension; none when omitted or "unspecified" (RFC 5280 §5.3.1 prefers it absent then). */
  readonly reason?: CrlReason;
}

/** Parameters of {@link Certificates.createCrl}. */
export interface CrlParams {
  /** The CA whose certificates are revoked; it signs the CRL. */
  readonly issuer: Issuer;
  /** The revoked certificates (may be empty: a CRL that says "none revoked until nextUpdate"). */
  readonly revoked: readonly RevokedCertificate[];
  readonly thisUpdate: Date;
  /** When the next CRL is due; relying parties treat the CRL as stale after it. */
  readonly nextUpdate: Date;
  /**
   * The cRLNumber extension (RFC 5280 §5.2.3: it must grow with each CRL the CA issues); default
   * `thisUpdate` in whole seconds since 1970, which grows when CRLs are at least a second apart.
   */
  readonly crlNumber?: number | bigint;
}

/** A certificate revocation list. */
export interface Crl {
  readonly der: Uint8Array;
  /** "-----BEGIN X509 CRL-----" PEM. */
  readonly pem: string;
}

/** The certificate operations, from {@link loadCertificates}. */
export interface Certificates {
  /** A self-signed root CA: basicConstraints CA:TRUE (critical), keyUsage keyCertSign + cRLSign (critical), SKI, AKI. */
  createRootCa(params: RootCaParams): Promise<Certificate>;
  /** An intermediate CA signed by `issuer`: CA:TRUE with pathLength (default 0), keyCertSign + cRLSign, SKI, AKI. */
  createIntermediateCa(params: IntermediateCaParams): Promise<Certificate>;
  /**
   * A PKCS#10 request for the signer's key, signed by it (proof of possession); the signature is
   * checked under the signer's public key (KEY_MISMATCH when the signer holds another key).
   */
  createCsr(params: CsrParams): Promise<CertificateRequest>;
  /**
   * A device (TLS client) certificate for the CSR's key, after checking the CSR's signature:
   * CA:FALSE (critical), keyUsage digitalSignature (critical), extKeyUsage clientAuth, SKI, AKI.
   * Extensions the CSR asks for are ignored: the CA decides them. A request object returned by
   * {@link Certificates.createCsr} of this instance, its DER unchanged, was checked there and is
   * not verified again; any other request is verified with the provider's `verifyDigest`.
   */
  issueDeviceCertificate(params: DeviceCertificateParams): Promise<Certificate>;
  /** A TLS server certificate: CA:FALSE, digitalSignature, extKeyUsage serverAuth, subjectAltName DNS/IP, SKI, AKI. */
  issueServerCertificate(params: ServerCertificateParams): Promise<Certificate>;
  /**
   * A version 2 CRL signed by `issuer` (ECDSA, like the certificates): authorityKeyIdentifier and
   * cRLNumber extensions, one entry per revoked serial with an invalidityDate of `revokedAt` and
   * its reasonCode when given.
   */
  createCrl(params: CrlParams): Promise<Crl>;
  /** Parses a certificate (DER or PEM). */
  parseCertificate(data: Uint8Array | string): Certificate;
  /** Parses a PKCS#10 request (DER or PEM) without checking its signature. */
  parseCsr(data: Uint8Array | string): CertificateRequest;
  /** Whether the request's self-signature is valid. */
  verifyCsr(csr: CertificateRequest | Uint8Array | string): Promise<boolean>;
}

/** The library's types for what it takes from WebCrypto (no DOM or Node types in core code). */
type LibCrypto = Parameters<typeof X509.X509CertificateGenerator.create>[1];
type SigningKey = X509.Pkcs10CertificateRequestCreateParams['keys']['privateKey'];
type SigningAlgorithm = X509.Pkcs10CertificateRequestCreateParams['signingAlgorithm'];

const SERIAL_BYTES = 16;

/**
 * A certificate serial number: 16 bytes from `random` with the top bit cleared, so the DER
 * INTEGER is positive and at most 16 bytes long (RFC 5280 §4.1.2.2 allows 20), in hex. 127 random
 * bits make collisions negligible; the registry's unique constraint catches the impossible one.
 *
 * @throws {RangeError} when `random` returns fewer than 16 bytes
 * @example randomSerial((n) => nodeCrypto.randomBytes(n)); // '5f0c…' (32 hex digits)
 */
export function randomSerial(random: (length: number) => Uint8Array): string {
  const r = random(SERIAL_BYTES);
  if (r.length < SERIAL_BYTES) throw new RangeError(`"random" must return ${SERIAL_BYTES} bytes, got ${r.length}`);
  const b = r.slice(0, SERIAL_BYTES);
  b[0]! &= 0x7f;
  if (b.every((x) => x === 0)) b[SERIAL_BYTES - 1] = 1; // zero is not a valid serial
  return toHex(b);
}

/** Hash used with a signer's curve: SHA-256 on P-256, SHA-384 on P-384. */
const HASH_OF_CURVE: Readonly<Partial<Record<EcCurve, { hash: HashName; webName: string }>>> = Object.freeze({
  'P-256': { hash: 'sha256', webName: 'SHA-256' },
  'P-384': { hash: 'sha384', webName: 'SHA-384' },
});

/** WebCrypto hash names of the hashes a CSR may be signed with. */
const HASH_OF_WEB_NAME: Readonly<Record<string, HashName>> = Object.freeze({ 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' });

function ecKey(key: PublicKey, what: string): EcPublicKey & { curve: 'P-256' | 'P-384' } {
  if (key.kind !== 'ec') throw new NvsecError('KEY_UNSUPPORTED', `${what} is an RSA key: the factory's certificates use ECDSA P-256 or P-384 keys`);
  if (key.curve !== 'P-256' && key.curve !== 'P-384') throw new NvsecError('KEY_UNSUPPORTED', `${what} is on ${key.curve}: use P-256 or P-384`);
  const w = EC_CURVE_BYTES[key.curve];
  if (key.x.length !== w || key.y.length !== w) throw new RangeError(`${what}: a ${key.curve} point has ${w}-byte coordinates, got ${key.x.length} and ${key.y.length}`);
  return key as EcPublicKey & { curve: 'P-256' | 'P-384' };
}

function spkiOf(key: PublicKey, what: string): Uint8Array {
  const k = ecKey(key, what);
  return ecSpki(k.curve, sec1Point(k));
}

/** The EC public key in a SubjectPublicKeyInfo (DER); KEY_UNSUPPORTED for other keys. */
function publicKeyOfSpki(spki: Uint8Array, what: string): EcPublicKey {
  try {
    const outer = readDer(spki, 0);
    const [alg, bits] = derChildren(spki, outer);
    if (alg === undefined || bits === undefined || bits.tag !== DER_TAG.BIT_STRING) throw new RangeError('layout');
    const [oid, params] = derChildren(spki, alg);
    const ecOid = Uint8Array.of(0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);
    if (oid === undefined || !bytesEqual(spki.subarray(oid.start, oid.end), ecOid) || params === undefined) {
      throw new NvsecError('KEY_UNSUPPORTED', `${what} is not an EC key: the factory's certificates use ECDSA P-256 or P-384 keys`);
    }
    const curve = curveOfEcParams(spki.subarray(params.offset, params.end));
    if (curve === null) throw new NvsecError('KEY_UNSUPPORTED', `${what} is on a curve other than P-256 or P-384`);
    const point = spki.subarray(bits.start + 1, bits.end);
    const w = EC_CURVE_BYTES[curve];
    if (spki[bits.start] !== 0 || point.length !== 1 + 2 * w || point[0] !== 4) throw new NvsecError('KEY_UNSUPPORTED', `${what} is not an uncompressed ${curve} point`);
    return { kind: 'ec', curve, x: point.slice(1, 1 + w), y: point.slice(1 + w) };
  } catch (e) {
    if (e instanceof NvsecError) throw e;
    throw new NvsecError('CERT_UNREADABLE', `${what}: the SubjectPublicKeyInfo is not valid DER (${e instanceof Error ? e.message : String(e)})`, { cause: e });
  }
}

function sameKey(a: EcPublicKey, b: EcPublicKey): boolean {
  return a.curve === b.curve && bytesEqual(a.x, b.x) && bytesEqual(a.y, b.y);
}

function checkValidity(v: Validity, what: string): void {
  if (!(v.notBefore instanceof Date) || Number.isNaN(v.notBefore.getTime())) throw new TypeError(`"${what}.notBefore" must be a valid Date`);
  if (!(v.notAfter instanceof Date) || Number.isNaN(v.notAfter.getTime())) throw new TypeError(`"${what}.notAfter" must be a valid Date`);
  if (v.notAfter.getTime() <= v.notBefore.getTime()) {
    throw new RangeError(`"${what}.notAfter" (${v.notAfter.toISOString()}) must be later than "notBefore" (${v.notBefore.toISOString()})`);
  }
}

function checkSerial(serial: string | undefined): void {
  if (serial === undefined) return;
  if (!/^(?:[0-9a-fA-F]{2}){1,20}$/.test(serial) || /^0*$/.test(serial)) {
    throw new RangeError(`"serial" must be 1 to 20 bytes of hex, not zero, got ${JSON.stringify(serial)}`);
  }
  if (Number.parseInt(serial.slice(0, 2), 16) & 0x80) throw new RangeError(`"serial" must be positive: its first byte must be below 0x80, got ${serial.slice(0, 2)}`);
}

function checkSubject(subject: string, what: string): void {
  if (typeof subject !== 'string' || subject.trim() === '') throw new TypeError(`"${what}" must be a distinguished name such as "CN=Acme Root CA, O=Acme"`);
}

/** A copy of `view` in its own ArrayBuffer (WebCrypto and the library want whole buffers). */
const ab = (view: Uint8Array): ArrayBuffer => view.slice().buffer;

/**
 * WebCrypto whose `subtle.sign` signs with a {@link Signer} for the placeholder keys `keyFor`
 * makes: the library gives it the to-be-signed bytes, the shim hashes them with the provider and
 * hands the digest to the signer (ECDSA r ‖ s, which the library DER-encodes). Every other call,
 * and `sign` with a real CryptoKey, goes to the real WebCrypto.
 */
function signerCrypto(real: WebCrypto, provider: CryptoProvider): { crypto: WebCrypto; keyFor(signer: Signer): object } {
  const signers = new WeakMap<object, Signer>();
  const realSubtle = real.subtle as Record<string | symbol, unknown>;
  const realCall = <T>(method: string, ...args: unknown[]): Promise<T> => (realSubtle[method] as (...a: unknown[]) => Promise<T>).apply(realSubtle, args);
  const verifyKeys = new WeakMap<Signer, Promise<object>>();
  const sign = async (algorithm: unknown, key: object, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> => {
    const signer = signers.get(key);
    if (signer === undefined) return realCall<ArrayBuffer>('sign', algorithm, key, data);
    const alg = algorithm as { name?: unknown; hash?: unknown };
    const hashName = typeof alg.hash === 'string' ? alg.hash : (alg.hash as { name?: unknown } | undefined)?.name;
    const hash = typeof hashName === 'string' && Object.hasOwn(HASH_OF_WEB_NAME, hashName.toUpperCase()) ? HASH_OF_WEB_NAME[hashName.toUpperCase()] : undefined;
    if (alg.name !== 'ECDSA' || hash === undefined) throw new NvsecError('KEY_UNSUPPORTED', `a Signer signs ECDSA with SHA-1/2 here, not ${JSON.stringify(algorithm)}`);
    const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
    const digest = provider.digest(hash, bytes);
    const signature = ab(await signer.sign(digest, hash));
    // Check what was signed (OpenSSL, ~0.1 ms): a signer whose key is not its publicKey (a wrong
    // token handle) is refused here rather than leaving certificates that fail in the field.
    const k = ecKey(signer.publicKey, 'the signer');
    let verifyKey = verifyKeys.get(signer);
    if (verifyKey === undefined) {
      verifyKey = realCall<object>('importKey', 'spki', ab(spkiOf(k, 'the signer')), { name: 'ECDSA', namedCurve: k.curve }, false, ['verify']);
      verifyKeys.set(signer, verifyKey);
    }
    if (!(await realCall<boolean>('verify', { name: 'ECDSA', hash: hashName }, await verifyKey, signature, bytes))) {
      throw new NvsecError('KEY_MISMATCH', `the signer's signature does not verify under its public key: it signs with another key than it claims (a wrong token key handle?)`);
    }
    return signature;
  };
  const subtle = new Proxy(realSubtle, {
    get(target, prop) {
      if (prop === 'sign') return sign;
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  });
  const crypto: WebCrypto = { subtle, getRandomValues: (array) => real.getRandomValues(array) };
  return {
    crypto,
    keyFor(signer: Signer): object {
      const k = ecKey(signer.publicKey, 'the signer');
      const key = Object.freeze({ type: 'private', extractable: false, algorithm: Object.freeze({ name: 'ECDSA', namedCurve: k.curve }), usages: Object.freeze(['sign']) });
      signers.set(key, signer);
      return key;
    },
  };
}

/** id-ce-cRLNumber (RFC 5280 §5.2.3). */
const OID_CRL_NUMBER = '2.5.29.20';

/** A non-negative integer as a DER INTEGER (a 0x00 lead byte when the top bit is set). */
function derInteger(value: bigint): Uint8Array {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  const body = fromHex(hex);
  return Uint8Array.of(0x02, body.length, ...body); // at most 21 bytes: short-form length
}

/** A revoked serial as the library wants it: lower-case hex of whole bytes, without sign byte or leading zero bytes. */
function crlSerial(serial: string, what: string): string {
  const hex = typeof serial === 'string' ? serial.replaceAll(':', '').toLowerCase() : '';
  if (!/^[0-9a-f]{1,42}$/.test(hex) || /^0*$/.test(hex)) throw new RangeError(`"${what}" must be a certificate serial in hex (1 to 20 bytes, not zero), got ${JSON.stringify(serial)}`);
  const trimmed = hex.replace(/^0+/, '');
  const even = trimmed.length % 2 === 1 ? `0${trimmed}` : trimmed;
  if (even.length > 40) throw new RangeError(`"${what}" is longer than 20 bytes (RFC 5280 §4.1.2.2), got ${JSON.stringify(serial)}`);
  return even;
}

function isPem(data: Uint8Array | string): data is string {
  return typeof data === 'string';
}

/** `date` without its milliseconds, as a certificate holds it. */
function wholeSecond(date: Date): Date {
  const t = date.getTime();
  return new Date(t - (((t % 1000) + 1000) % 1000));
}

/** A request object whose PEM is made on first read. */
function fastRequest(der: Uint8Array, subject: string, publicKey: EcPublicKey): CertificateRequest {
  let text: string | undefined;
  return {
    der,
    get pem() {
      return (text ??= pem('CERTIFICATE REQUEST', der));
    },
    subject,
    publicKey,
  };
}

/** A certificate object whose PEM is made on first read. */
function fastCertificate(der: Uint8Array, fields: Omit<Certificate, 'der' | 'pem'>): Certificate {
  let text: string | undefined;
  return {
    der,
    get pem() {
      return (text ??= pem('CERTIFICATE', der));
    },
    ...fields,
  };
}

/**
 * Loads @peculiar/x509 (and its Reflect polyfill) and returns the factory's certificate
 * operations over `deps`. The library is imported once, on the first call.
 *
 * @throws {NvsecError} from the operations: KEY_UNSUPPORTED (RSA or P-192 keys), KEY_MISMATCH (an
 *   issuer's signer does not hold its certificate's key), CSR_SIGNATURE_INVALID (a CSR that fails
 *   its self-signature check), CERT_UNREADABLE / CSR_UNREADABLE (input that does not parse);
 *   RangeError / TypeError for bad arguments (empty subject, notAfter not after notBefore, a
 *   negative or malformed serial)
 * @example
 * const certs = await loadCertificates({ webCrypto: globalThis.crypto, crypto: nodeCrypto });
 * const validity = { notBefore: new Date(), notAfter: new Date(Date.now() + 20 * 365 * 86400e3) };
 * const root = await certs.createRootCa({ subject: 'CN=Acme Root CA, O=Acme', signer: rootSigner, ...validity });
 * const inter = await certs.createIntermediateCa({ subject: 'CN=Acme Line 1', publicKey: lineSigner.publicKey, issuer: { certificate: root, signer: rootSigner }, ...validity });
 * const csr = await certs.createCsr({ subject: 'CN=device-0001', signer: deviceSigner });
 * const device = await certs.issueDeviceCertificate({ csr, issuer: { certificate: inter, signer: lineSigner }, validity });
 * const crl = await certs.createCrl({ issuer: { certificate: inter, signer: lineSigner }, revoked: [{ serial: device.serial, revokedAt: new Date(), reason: 'keyCompromise' }], thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 7 * 86400e3) });
 */
export async function loadCertificates(deps: CertificateDeps): Promise<Certificates> {
  const x = await loadX509();
  const provider = deps.crypto;
  const random = deps.random ?? ((n: number) => provider.randomBytes(n));
  const shim = signerCrypto(deps.webCrypto, provider);
  const webCrypto = shim.crypto as unknown as LibCrypto;

  const keyId = (key: EcPublicKey): Uint8Array => provider.digest('sha1', sec1Point(key));

  /**
   * Our view of a parsed certificate. `known` skips re-reading what the caller just wrote (the
   * library parses extensions slowly: about 2 ms a certificate).
   */
  const toCertificate = (cert: X509.X509Certificate, known?: { publicKey: EcPublicKey; subjectKeyId: Uint8Array }): Certificate => {
    const der = new Uint8Array(cert.rawData);
    let subjectKeyId: Uint8Array | null;
    if (known === undefined) {
      const ski = cert.getExtension(x.SubjectKeyIdentifierExtension);
      subjectKeyId = ski === null ? null : fromHex(ski.keyId);
    } else subjectKeyId = known.subjectKeyId;
    return {
      der,
      pem: cert.toString('pem'),
      serial: cert.serialNumber.toLowerCase(),
      subject: cert.subject,
      issuer: cert.issuer,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      publicKey: known?.publicKey ?? publicKeyOfSpki(new Uint8Array(cert.publicKey.rawData), `the certificate of "${cert.subject}"`),
      subjectKeyId,
    };
  };

  const parseCertificate = (data: Uint8Array | string): Certificate => {
    let cert: X509.X509Certificate;
    try {
      cert = new x.X509Certificate(isPem(data) ? data : ab(data));
    } catch (e) {
      throw new NvsecError('CERT_UNREADABLE', `not an X.509 certificate (DER or PEM): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return toCertificate(cert);
  };

  const parseRequest = (data: CertificateRequest | Uint8Array | string): X509.Pkcs10CertificateRequest => {
    const raw = typeof data === 'string' ? data : data instanceof Uint8Array ? ab(data) : ab(data.der);
    try {
      return new x.Pkcs10CertificateRequest(raw);
    } catch (e) {
      throw new NvsecError('CSR_UNREADABLE', `not a PKCS#10 certificate request (DER or PEM): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  };

  const toRequest = (req: X509.Pkcs10CertificateRequest): CertificateRequest => ({
    der: new Uint8Array(req.rawData),
    pem: req.toString('pem'),
    subject: req.subject,
    publicKey: publicKeyOfSpki(new Uint8Array(req.publicKey.rawData), 'the request'),
  });

  const verifyRequest = async (req: X509.Pkcs10CertificateRequest): Promise<boolean> => {
    try {
      return await req.verify(webCrypto);
    } catch {
      return false; // a malformed signature or key: not a valid request
    }
  };

  /** Signs a certificate for `publicKey` with `extensions` under `issuerName`/`signer`. */
  const sign = async (p: {
    subject: string;
    issuerName: string | X509.Name;
    publicKey: EcPublicKey;
    signer: Signer;
    validity: Validity;
    serial: string | undefined;
    /** keyId(publicKey), which `extensions` carries as the SKI. */
    subjectKeyId: Uint8Array;
    extensions: X509.Extension[];
  }): Promise<Certificate> => {
    const signerKey = ecKey(p.signer.publicKey, 'the issuer signer');
    const cert = await x.X509CertificateGenerator.create(
      {
        serialNumber: p.serial ?? randomSerial(random),
        subject: p.subject,
        issuer: p.issuerName,
        notBefore: p.validity.notBefore,
        notAfter: p.validity.notAfter,
        publicKey: ab(spkiOf(p.publicKey, 'the subject key')),
        signingKey: shim.keyFor(p.signer) as SigningKey,
        signingAlgorithm: { name: 'ECDSA', hash: HASH_OF_CURVE[signerKey.curve]!.webName } as SigningAlgorithm,
        extensions: p.extensions,
      },
      webCrypto,
    );
    return toCertificate(cert, { publicKey: p.publicKey, subjectKeyId: p.subjectKeyId });
  };

  /** What an issuer's certificate contributes to what it signs, read once per certificate object. */
  const issuerCache = new WeakMap<Certificate, { name: X509.Name; keyId: Uint8Array; ca: boolean }>();

  const issuerParts = (issuer: Issuer): { name: X509.Name; keyId: Uint8Array } => {
    const signerKey = ecKey(issuer.signer.publicKey, 'the issuer signer');
    if (!sameKey(signerKey, issuer.certificate.publicKey)) {
      throw new NvsecError('KEY_MISMATCH', `the issuer's signer does not hold the key of its certificate "${issuer.certificate.subject}": pass the CA key that belongs to that certificate`);
    }
    let parts = issuerCache.get(issuer.certificate);
    if (parts === undefined) {
      const cert = new x.X509Certificate(ab(issuer.certificate.der));
      const bc = cert.getExtension(x.BasicConstraintsExtension);
      parts = { name: cert.subjectName, keyId: issuer.certificate.subjectKeyId ?? keyId(issuer.certificate.publicKey), ca: bc !== null && bc.ca };
      issuerCache.set(issuer.certificate, parts);
    }
    if (!parts.ca) throw new NvsecError('CERT_NOT_CA', `"${issuer.certificate.subject}" is not a CA certificate (basicConstraints CA:TRUE): it cannot issue certificates`);
    return parts;
  };

  /**
   * The DER and library text of a subject: the plain names directly, the rest through the
   * library (escapes, quotes, "+", OIDs as types), which gives the same bytes for plain names.
   */
  const subjectName = (text: string): EncodedName => {
    const plain = encodeName(text);
    if (plain !== null) return plain;
    let der: Uint8Array;
    try {
      der = new Uint8Array(new x.Name(text).toArrayBuffer());
    } catch (e) {
      throw new RangeError(`"subject" is not a distinguished name such as "CN=device-0001, O=Acme" (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    return { der, text: new x.Name(ab(der)).toString() };
  };

  /** The library's text of the DER Name at `name` in `der`. */
  const textOfName = (der: Uint8Array, name: DerTlv): string =>
    nameText(der, name) ?? new x.Name(ab(der.subarray(name.offset, name.end))).toString();

  /** An issuer certificate's subject Name, as raw DER and text, read once per certificate object. */
  const issuerNames = new WeakMap<Certificate, EncodedName>();
  const issuerNameOf = (certificate: Certificate): EncodedName => {
    let n = issuerNames.get(certificate);
    if (n === undefined) {
      const der = certificateSubject(certificate.der);
      n = { der, text: textOfName(der, readDer(der, 0)) };
      issuerNames.set(certificate, n);
    }
    return n;
  };

  /** A parsed request: its DER parts, subject and key. */
  interface ReadRequest {
    readonly der: Uint8Array;
    readonly info: Uint8Array;
    readonly subject: string;
    /** The subject Name's DER when it is the plain-name encoding of `subject` (so it can be reused as is). */
    readonly subjectDer: Uint8Array | null;
    readonly publicKey: EcPublicKey;
    readonly hash: HashName | null;
    readonly signature: Uint8Array | null;
  }

  /** Parses a request with the DER reader (CSR_UNREADABLE when it is not one; KEY_UNSUPPORTED for keys other than EC P-256/P-384). */
  const readRequest = (data: CertificateRequest | Uint8Array | string): ReadRequest => {
    let der: Uint8Array;
    if (typeof data === 'string') der = pemDer('CERTIFICATE REQUEST', data) ?? new Uint8Array(parseRequest(data).rawData);
    else der = data instanceof Uint8Array ? data : data.der;
    let parts: ReturnType<typeof parseRequestDer>;
    let subject: string;
    try {
      parts = parseRequestDer(der);
      subject = textOfName(der, parts.subject);
    } catch (e) {
      throw new NvsecError('CSR_UNREADABLE', `not a PKCS#10 certificate request (DER or PEM): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const publicKey = publicKeyOfSpki(parts.spki, 'the request');
    const subjectDer = der.slice(parts.subject.offset, parts.subject.end);
    const plain = encodeName(subject);
    return { der, info: parts.info, subject, subjectDer: plain !== null && bytesEqual(plain.der, subjectDer) ? subjectDer : null, publicKey, hash: parts.hash, signature: parts.signature };
  };

  /** Requests made by createCsr, with the DER whose self-signature it checked. */
  const verifiedRequests = new WeakMap<CertificateRequest, Uint8Array>();

  /** Whether a request's self-signature verifies (ECDSA, with the provider). */
  const verifyParsedRequest = async (req: ReadRequest, input: CertificateRequest | Uint8Array | string): Promise<boolean> => {
    if (typeof input === 'object' && !(input instanceof Uint8Array)) {
      const checked = verifiedRequests.get(input);
      if (checked !== undefined && bytesEqual(checked, req.der)) return true; // createCsr checked these very bytes
    }
    if (req.hash === null || req.signature === null) return false;
    let raw: Uint8Array;
    try {
      const w = EC_CURVE_BYTES[req.publicKey.curve];
      raw = ecdsaDerToRaw(req.signature, w);
      if (!bytesEqual(ecdsaRawToDer(raw), req.signature)) return false; // not DER (OpenSSL refuses BER signatures too)
    } catch {
      return false;
    }
    return provider.verifyDigest(req.publicKey, req.hash, provider.digest(req.hash, req.info), raw);
  };

  /** Verifying keys of signers, imported into WebCrypto once per signer. */
  const verifyKeys = new WeakMap<Signer, Promise<object>>();
  const subtle = deps.webCrypto.subtle as {
    importKey(format: 'raw', data: ArrayBuffer, algorithm: { name: string; namedCurve: string }, extractable: boolean, usages: string[]): Promise<object>;
    verify(algorithm: { name: string; hash: string }, key: object, signature: ArrayBuffer, data: ArrayBuffer | Uint8Array): Promise<boolean>;
  };

  /**
   * Signs `tbs` with a signer and checks the signature under the signer's claimed key (OpenSSL
   * through WebCrypto, the raw point imported once per signer, ~0.1 ms; @noble/curves behind
   * `provider.verifyDigest` takes ~2 ms): a signer that holds another key than it claims (a
   * wrong token handle) is refused rather than leaving certificates that fail in the field.
   */
  const signChecked = async (signer: Signer, key: EcPublicKey & { curve: 'P-256' | 'P-384' }, hash: HashName, tbs: Uint8Array): Promise<Uint8Array> => {
    const signature = await signer.sign(provider.digest(hash, tbs), hash);
    let verifyKey = verifyKeys.get(signer);
    if (verifyKey === undefined) {
      verifyKey = subtle.importKey('raw', ab(sec1Point(key)), { name: 'ECDSA', namedCurve: key.curve }, false, ['verify']);
      verifyKeys.set(signer, verifyKey);
    }
    let imported: object;
    try {
      imported = await verifyKey;
    } catch (e) {
      throw new NvsecError('KEY_UNSUPPORTED', `the signer's public key is not a valid ${key.curve} point (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
    const ok = signature.length === 2 * EC_CURVE_BYTES[key.curve] && (await subtle.verify({ name: 'ECDSA', hash: HASH_OF_CURVE[key.curve]!.webName }, imported, ab(signature), tbs));
    if (!ok) throw new NvsecError('KEY_MISMATCH', `the signer's signature does not verify under its public key: it signs with another key than it claims (a wrong token handle?)`);
    return signature;
  };

  /** A CA's extensions: CA:TRUE with `pathLength` and keyCertSign + cRLSign (both critical), SKI, AKI (hex key ids). */
  const caExtensions = (pathLength: number | undefined, subjectKeyId: string, authorityKeyId: string): X509.Extension[] => [
    new x.BasicConstraintsExtension(true, pathLength, true),
    new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign, true),
    new x.SubjectKeyIdentifierExtension(subjectKeyId),
    new x.AuthorityKeyIdentifierExtension(authorityKeyId),
  ];

  const endEntityExtensions = (subjectKeyId: Uint8Array, issuerKeyId: Uint8Array, eku: string): X509.Extension[] => [
    new x.BasicConstraintsExtension(false, undefined, true),
    new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature, true),
    new x.ExtendedKeyUsageExtension([eku], false),
    new x.SubjectKeyIdentifierExtension(toHex(subjectKeyId)),
    new x.AuthorityKeyIdentifierExtension(toHex(issuerKeyId)),
  ];

  return {
    async createRootCa(params) {
      checkSubject(params.subject, 'subject');
      checkValidity(params, 'params');
      checkSerial(params.serial);
      const key = ecKey(params.signer.publicKey, 'the root signer');
      const ski = keyId(key);
      const id = toHex(ski);
      return sign({
        subjectKeyId: ski,
        subject: params.subject,
        issuerName: params.subject,
        publicKey: key,
        signer: params.signer,
        validity: params,
        serial: params.serial,
        extensions: caExtensions(params.pathLength, id, id),
      });
    },

    async createIntermediateCa(params) {
      checkSubject(params.subject, 'subject');
      checkValidity(params, 'params');
      checkSerial(params.serial);
      const key = ecKey(params.publicKey, 'the intermediate key');
      const issuer = issuerParts(params.issuer);
      const ski = keyId(key);
      return sign({
        subjectKeyId: ski,
        subject: params.subject,
        issuerName: issuer.name,
        publicKey: key,
        signer: params.issuer.signer,
        validity: params,
        serial: params.serial,
        extensions: caExtensions(params.pathLength ?? 0, toHex(ski), toHex(issuer.keyId)),
      });
    },

    async createCsr(params) {
      checkSubject(params.subject, 'subject');
      const key = ecKey(params.signer.publicKey, 'the device signer');
      const name = subjectName(params.subject);
      const hash = HASH_OF_CURVE[key.curve]!.hash;
      const info = csrInfo(name.der, spkiOf(key, 'the device key'));
      // Checking the signer checks the request's self-signature: issueDeviceCertificate need not
      // check this request object again.
      const signature = await signChecked(params.signer, key, hash, info);
      const der = signedDer(info, hash, signature);
      const request = fastRequest(der, name.text, { kind: 'ec', curve: key.curve, x: key.x.slice(), y: key.y.slice() });
      verifiedRequests.set(request, der.slice());
      return request;
    },

    async issueDeviceCertificate(params) {
      checkValidity(params.validity, 'validity');
      checkSerial(params.serial);
      if (params.subject !== undefined) checkSubject(params.subject, 'subject');
      const req = readRequest(params.csr);
      const key = ecKey(req.publicKey, 'the CSR key');
      if (!(await verifyParsedRequest(req, params.csr))) {
        throw new NvsecError('CSR_SIGNATURE_INVALID', `the CSR of "${req.subject}" does not verify with its own key: it was altered or not signed by that key; refusing to certify it`);
      }
      const subject = params.subject ?? req.subject;
      if (subject.trim() === '') throw new NvsecError('CSR_NO_SUBJECT', 'the CSR has an empty subject: pass "subject" to name the device');
      const issuer = issuerParts(params.issuer);
      const issuerName = issuerNameOf(params.issuer.certificate);
      const name = subject === req.subject && req.subjectDer !== null ? { der: req.subjectDer, text: req.subject } : subjectName(subject);
      const ski = keyId(key);
      const signerKey = ecKey(params.issuer.signer.publicKey, 'the issuer signer');
      const hash = HASH_OF_CURVE[signerKey.curve]!.hash;
      const serial = serialOctets(params.serial ?? randomSerial(random));
      const notBefore = wholeSecond(params.validity.notBefore);
      const notAfter = wholeSecond(params.validity.notAfter);
      const tbs = tbsCertificate({
        serial,
        hash,
        issuer: issuerName.der,
        notBefore,
        notAfter,
        subject: name.der,
        spki: spkiOf(key, 'the subject key'),
        extensions: deviceExtensions(ski, issuer.keyId),
      });
      const signature = await signChecked(params.issuer.signer, signerKey, hash, tbs);
      const der = signedDer(tbs, hash, signature);
      return fastCertificate(der, { serial: toHex(serial), subject: name.text, issuer: issuerName.text, notBefore, notAfter, publicKey: key, subjectKeyId: ski });
    },

    async issueServerCertificate(params) {
      checkSubject(params.subject, 'subject');
      checkValidity(params.validity, 'validity');
      checkSerial(params.serial);
      const names = [...(params.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })), ...(params.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value }))];
      if (names.length === 0) throw new RangeError('a server certificate needs at least one name in "dnsNames" or "ipAddresses": TLS clients check the host against subjectAltName');
      const key = ecKey(params.publicKey, 'the server key');
      const issuer = issuerParts(params.issuer);
      const ski = keyId(key);
      return sign({
        subjectKeyId: ski,
        subject: params.subject,
        issuerName: issuer.name,
        publicKey: key,
        signer: params.issuer.signer,
        validity: params.validity,
        serial: params.serial,
        extensions: [...endEntityExtensions(ski, issuer.keyId, x.ExtendedKeyUsage.serverAuth), new x.SubjectAlternativeNameExtension(names, false)],
      });
    },

    async createCrl(params) {
      for (const k of ['thisUpdate', 'nextUpdate'] as const) {
        if (!(params[k] instanceof Date) || Number.isNaN(params[k].getTime())) throw new TypeError(`"${k}" must be a valid Date`);
      }
      if (params.nextUpdate.getTime() <= params.thisUpdate.getTime()) {
        throw new RangeError(`"nextUpdate" (${params.nextUpdate.toISOString()}) must be later than "thisUpdate" (${params.thisUpdate.toISOString()})`);
      }
      const crlNumber = BigInt(params.crlNumber ?? Math.floor(params.thisUpdate.getTime() / 1000));
      if (crlNumber < 0n || crlNumber >= 1n << 159n) throw new RangeError(`"crlNumber" must be 0 to 2^159 - 1 (at most 20 octets, RFC 5280 §5.2.3), got ${crlNumber}`);
      const seen = new Set<string>();
      const entries = params.revoked.map((r, i) => {
        const serial = crlSerial(r.serial, `revoked[${i}].serial`);
        if (seen.has(serial)) throw new RangeError(`"revoked[${i}].serial" ${r.serial} is listed twice`);
        seen.add(serial);
        if (!(r.revokedAt instanceof Date) || Number.isNaN(r.revokedAt.getTime())) throw new TypeError(`"revoked[${i}].revokedAt" must be a valid Date`);
        if (r.reason !== undefined && !Object.hasOwn(CRL_REASONS, r.reason)) {
          throw new RangeError(`"revoked[${i}].reason" must be one of ${Object.keys(CRL_REASONS).join(', ')}, got ${JSON.stringify(r.reason)}`);
        }
        // The library leaves out reason 0 (unspecified), as RFC 5280 §5.3.1 recommends, and
        // @peculiar/x509 2.2.0 writes an entry without extensions as an empty crlEntryExtensions
        // SEQUENCE, which the ASN.1 forbids (SIZE (1..MAX)): OpenSSL tolerates it, stricter
        // parsers need not. So every entry carries invalidityDate (RFC 5280 §5.3.2) = revokedAt.
        return { serialNumber: serial, revocationDate: r.revokedAt, invalidity: r.revokedAt, ...(r.reason === undefined ? {} : { reason: CRL_REASONS[r.reason] }) };
      });
      const issuer = issuerParts(params.issuer);
      const signerKey = ecKey(params.issuer.signer.publicKey, 'the issuer signer');
      const crl = await x.X509CrlGenerator.create(
        {
          issuer: issuer.name,
          thisUpdate: params.thisUpdate,
          nextUpdate: params.nextUpdate,
          entries,
          extensions: [new x.AuthorityKeyIdentifierExtension(toHex(issuer.keyId)), new x.Extension(OID_CRL_NUMBER, false, ab(derInteger(crlNumber)))],
          signingKey: shim.keyFor(params.issuer.signer) as SigningKey,
          signingAlgorithm: { name: 'ECDSA', hash: HASH_OF_CURVE[signerKey.curve]!.webName } as SigningAlgorithm,
        },
        webCrypto,
      );
      // the library's PEM label is "CRL"; OpenSSL and RFC 7468 want "X509 CRL"
      return { der: new Uint8Array(crl.rawData), pem: `${x.PemConverter.encode(crl.rawData, 'X509 CRL')}\n` };
    },

    parseCertificate,

    parseCsr: (data) => toRequest(parseRequest(data)),

    verifyCsr: async (csr) => verifyRequest(parseRequest(csr)),
  };
}

