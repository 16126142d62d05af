import { DER_TAG, type DerTlv, derChildren, derEncode, derTime, readDer } from '../bytes/der.js';
import { toHex } from '../bytes/hex.js';
import type { HashName } from '../crypto/provider.js';
import { ecdsaRawToDer } from '../crypto/ecdsa-signature.js';

/**
 * The DER of the factory's hot path, written directly instead of through @peculiar/x509's object
 * model: PKCS#10 requests (RFC 2986) and end-entity certificates (RFC 5280) with exactly the
 * fields and extensions the library wrote for them, names in the library's text form, PEM.
 * Everything that is not the plain case (escaped or quoted name values, multi-valued RDNs, OIDs
 * as attribute types, string types other than Printable/IA5/UTF8String) returns null here, and
 * the caller hands it to the library, so both paths give the same bytes and the same text.
 */

/** Attribute types of names by the short names @peculiar/x509 reads and writes, as OID content bytes. */
const ATTRIBUTE_OID: Readonly<Record<string, string>> = Object.freeze({
  CN: '550403',
  SN: '550404',
  C: '550406',
  L: '550407',
  ST: '550408',
  O: '55040a',
  OU: '55040b',
  T: '55040c',
  G: '55042a',
  I: '55042b',
  DC: '0992268993f22c640119', // 0.9.2342.19200300.100.1.25
  E: '2a864886f70d010901', // 1.2.840.113549.1.9.1 (emailAddress)
});
const SHORT_NAME_OF_OID: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries(Object.entries(ATTRIBUTE_OID).map(([k, v]) => [v, k])));
/** Types the library writes as IA5String; the others are PrintableString when they can be, else UTF8String. */
const IA5_TYPES: ReadonlySet<string> = new Set(['E', 'DC']);
/** ASN.1 PrintableString's alphabet (X.680 §41.4), as the library tests it. */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
/**
 * A value that needs neither quoting nor escaping in the library's text form and that it reads
 * back as itself: no , + " \ < > ; = or control characters, no surrogates, no leading # and no
 * white space at either end.
 */
const PLAIN_CHARACTERS = /^(?![\s#])[^,+"\\<>;=\uD800-\uDFFF]+(?<!\s)$/;
const isPlainValue = (value: string): boolean => {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false; // control characters are escaped as \XX in the text
  }
  return PLAIN_CHARACTERS.test(value);
};
const PIECE = /^ *([A-Za-z]+)=(.*)$/s;

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function fromHexConst(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
const OID_BYTES: Readonly<Record<string, Uint8Array>> = Object.freeze(Object.fromEntries(Object.entries(ATTRIBUTE_OID).map(([k, v]) => [k, fromHexConst(v)])));

function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** A name as DER and in the library's text form ("CN=device-0001, O=Acme"). */
export interface EncodedName {
  readonly der: Uint8Array;
  readonly text: string;
}

/**
 * The DER `Name` of a plain distinguished name text ("CN=device-0001, O=Acme Devices": known
 * short attribute names, one value per RDN, values without special characters), as the library
 * encodes it; null for any other text.
 * @example encodeName('CN=dev-1, O=Acme')?.der; // 30 1e 31 0e 30 0c 06 03 55 04 03 13 05 …
 */
export function encodeName(text: string): EncodedName | null {
  const rdns: Uint8Array[] = [];
  const texts: string[] = [];
  for (const piece of text.split(',')) {
    const m = PIECE.exec(piece);
    if (m === null) return null;
    const type = m[1]!;
    const value = m[2]!;
    const oid = Object.hasOwn(OID_BYTES, type) ? OID_BYTES[type] : undefined;
    if (oid === undefined || !isPlainValue(value)) return null;
    let string: Uint8Array;
    if (IA5_TYPES.has(type)) {
      if (!/^[\u0020-\u007e]*$/.test(value)) return null;
      string = derEncode(DER_TAG.IA5_STRING, latin1(value));
    } else if (PRINTABLE.test(value)) string = derEncode(DER_TAG.PRINTABLE_STRING, latin1(value));
    else string = derEncode(DER_TAG.UTF8_STRING, utf8.encode(value));
    rdns.push(derEncode(DER_TAG.SET, derEncode(DER_TAG.SEQUENCE, derEncode(DER_TAG.OID, oid), string)));
    texts.push(`${type}=${value}`);
  }
  return { der: derEncode(DER_TAG.SEQUENCE, ...rdns), text: texts.join(', ') };
}

/**
 * The library's text form of the DER `Name` at `name` in `data`, for plain names (see
 * {@link encodeName}); null for any other name.
 * @throws {RangeError} when the name is not valid DER
 */
export function nameText(data: Uint8Array, name: DerTlv): string | null {
  if (name.tag !== DER_TAG.SEQUENCE) throw new RangeError('a Name is a SEQUENCE');
  const texts: string[] = [];
  for (const rdn of derChildren(data, name)) {
    if (rdn.tag !== DER_TAG.SET) throw new RangeError('an RDN is a SET');
    const atvs = derChildren(data, rdn);
    if (atvs.length !== 1) return null;
    const atv = atvs[0]!;
    if (atv.tag !== DER_TAG.SEQUENCE) throw new RangeError('an AttributeTypeAndValue is a SEQUENCE');
    const parts = derChildren(data, atv);
    if (parts.length !== 2 || parts[0]!.tag !== DER_TAG.OID) throw new RangeError('an AttributeTypeAndValue is { OID, value }');
    const oid = toHex(data.subarray(parts[0]!.start, parts[0]!.end));
    const type = Object.hasOwn(SHORT_NAME_OF_OID, oid) ? SHORT_NAME_OF_OID[oid]! : undefined;
    const v = parts[1]!;
    const bytes = data.subarray(v.start, v.end);
    let value: string;
    if (v.tag === DER_TAG.PRINTABLE_STRING || v.tag === DER_TAG.IA5_STRING) {
      if (!bytes.every((b) => b >= 0x20 && b <= 0x7e)) return null;
      value = String.fromCharCode(...bytes);
    } else if (v.tag === DER_TAG.UTF8_STRING) {
      try {
        value = utf8Strict.decode(bytes);
      } catch {
        return null;
      }
    } else return null;
    if (type === undefined || !isPlainValue(value)) return null;
    texts.push(`${type}=${value}`);
  }
  return texts.join(', ');
}

/** AlgorithmIdentifier DER of ECDSA with each hash (RFC 5758 §3.2: parameters absent). */
const ECDSA_ALGORITHM: Readonly<Record<HashName, Uint8Array>> = Object.freeze({
  sha1: fromHexConst('300906072a8648ce3d0401'),
  sha224: fromHexConst('300a06082a8648ce3d040301'),
  sha256: fromHexConst('300a06082a8648ce3d040302'),
  sha384: fromHexConst('300a06082a8648ce3d040303'),
  sha512: fromHexConst('300a06082a8648ce3d040304'),
});
/** Hashes a request may be signed with (those the library's verifier knew). */
const HASH_OF_ALGORITHM: ReadonlyMap<string, HashName> = new Map((['sha1', 'sha256', 'sha384', 'sha512'] as const).map((h) => [toHex(ECDSA_ALGORITHM[h]), h]));

/**
 * A signed structure (`SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }`, the shape of both a
 * certificate and a request) of `tbs` with the ECDSA signature r ‖ s over its `hash`.
 * @example signedDer(info, 'sha256', rs); // 30 82 01 05 30 81 ac … 30 0a 06 08 2a 86 48 ce 3d 04 03 02 03 48 00 30 45 …
 */
export function signedDer(tbs: Uint8Array, hash: HashName, signature: Uint8Array): Uint8Array {
  return derEncode(DER_TAG.SEQUENCE, tbs, ECDSA_ALGORITHM[hash], derEncode(DER_TAG.BIT_STRING, Uint8Array.of(0), ecdsaRawToDer(signature)));
}

/**
 * A PKCS#10 CertificationRequestInfo: version 1 (0), the subject, the key, no attributes.
 * @example csrInfo(encodeName('CN=dev-1')!.der, spki); // 30 … 02 01 00 30 … 30 59 … a0 00
 */
export function csrInfo(subject: Uint8Array, spki: Uint8Array): Uint8Array {
  return derEncode(DER_TAG.SEQUENCE, Uint8Array.of(DER_TAG.INTEGER, 1, 0), subject, spki, Uint8Array.of(0xa0, 0));
}

/** A PKCS#10 request's parts, as views into its DER. */
export interface ParsedRequest {
  /** The CertificationRequestInfo TLV: what the signature covers. */
  readonly info: Uint8Array;
  /** The subject `Name` TLV inside `der`. */
  readonly subject: DerTlv;
  readonly spki: Uint8Array;
  /** Hash of the signature algorithm; null when it is not ECDSA with SHA-1/256/384/512 without parameters. */
  readonly hash: HashName | null;
  /** The DER ECDSA-Sig-Value in the BIT STRING; null when the BIT STRING has unused bits. */
  readonly signature: Uint8Array | null;
}

/**
 * Splits a DER PKCS#10 request (RFC 2986 §4) into its parts. The signature is not checked.
 * @throws {RangeError} when `der` is not a request (malformed DER, wrong layout, trailing bytes, version not 0)
 */
export function parseRequest(der: Uint8Array): ParsedRequest {
  const outer = readDer(der, 0);
  if (outer.tag !== DER_TAG.SEQUENCE || outer.end !== der.length) throw new RangeError('not a single DER SEQUENCE');
  const [info, alg, bits, extra] = derChildren(der, outer);
  if (info?.tag !== DER_TAG.SEQUENCE || alg?.tag !== DER_TAG.SEQUENCE || bits?.tag !== DER_TAG.BIT_STRING || extra !== undefined) {
    throw new RangeError('not SEQUENCE { CertificationRequestInfo, AlgorithmIdentifier, BIT STRING }');
  }
  const [version, subject, spki, attributes, more] = derChildren(der, info);
  if (version?.tag !== DER_TAG.INTEGER || version.end - version.start !== 1 || der[version.start] !== 0) throw new RangeError('the request version is not 1 (0)');
  if (subject?.tag !== DER_TAG.SEQUENCE || spki?.tag !== DER_TAG.SEQUENCE || (attributes !== undefined && attributes.tag !== 0xa0) || more !== undefined) {
    throw new RangeError('not CertificationRequestInfo { version, subject, subjectPKInfo, [0] attributes }');
  }
  derChildren(der, subject); // well formed all the way down is checked when the name is read
  if (bits.end === bits.start) throw new RangeError('empty signature BIT STRING');
  return {
    info: der.subarray(info.offset, info.end),
    subject,
    spki: der.subarray(spki.offset, spki.end),
    hash: HASH_OF_ALGORITHM.get(toHex(der.subarray(alg.offset, alg.end))) ?? null,
    signature: der[bits.start] === 0 ? der.subarray(bits.start + 1, bits.end) : null,
  };
}

/**
 * The subject `Name` TLV of a DER certificate, copied.
 * @throws {RangeError} when `der` is not a certificate's DER
 */
export function certificateSubject(der: Uint8Array): Uint8Array {
  const outer = readDer(der, 0);
  const [tbs] = derChildren(der, outer);
  if (outer.tag !== DER_TAG.SEQUENCE || tbs?.tag !== DER_TAG.SEQUENCE) throw new RangeError('not a certificate');
  const fields = derChildren(der, tbs);
  const at = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version, absent in v1
  const subject = fields[at + 4];
  if (subject?.tag !== DER_TAG.SEQUENCE) throw new RangeError('the certificate has no subject Name');
  return der.slice(subject.offset, subject.end);
}

const BASIC_CONSTRAINTS_END_ENTITY = fromHexConst('300c0603551d130101ff04023000'); // critical, cA FALSE (default, so empty)
const KEY_USAGE_DIGITAL_SIGNATURE = fromHexConst('300e0603551d0f0101ff040403020780'); // critical, bit 0
const EXTENDED_KEY_USAGE_CLIENT_AUTH = fromHexConst('30130603551d25040c300a06082b06010505070302'); // id-kp-clientAuth

/** The extensions of a device (TLS client) certificate, in the library's order: basicConstraints, keyUsage, extKeyUsage, SKI, AKI (keyIdentifier only). */
export function deviceExtensions(subjectKeyId: Uint8Array, authorityKeyId: Uint8Array): Uint8Array[] {
  const ext = (oid: Uint8Array, value: Uint8Array): Uint8Array => derEncode(DER_TAG.SEQUENCE, derEncode(DER_TAG.OID, oid), derEncode(DER_TAG.OCTET_STRING, value));
  return [
    BASIC_CONSTRAINTS_END_ENTITY,
    KEY_USAGE_DIGITAL_SIGNATURE,
    EXTENDED_KEY_USAGE_CLIENT_AUTH,
    ext(Uint8Array.of(0x55, 0x1d, 0x0e), derEncode(DER_TAG.OCTET_STRING, subjectKeyId)),
    ext(Uint8Array.of(0x55, 0x1d, 0x23), derEncode(DER_TAG.SEQUENCE, derEncode(0x80, authorityKeyId))),
  ];
}

/** What {@link tbsCertificate} encodes. */
export interface TbsFields {
  /** Content octets of the positive serialNumber INTEGER (minimal). */
  readonly serial: Uint8Array;
  /** Hash of the issuer's ECDSA signature. */
  readonly hash: HashName;
  readonly issuer: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subject: Uint8Array;
  readonly spki: Uint8Array;
  readonly extensions: readonly Uint8Array[];
}

/**
 * A v3 TBSCertificate (RFC 5280 §4.1).
 * @throws {RangeError} for a time outside the years 0000 to 9999
 */
export function tbsCertificate(f: TbsFields): Uint8Array {
  return derEncode(
    DER_TAG.SEQUENCE,
    Uint8Array.of(0xa0, 3, DER_TAG.INTEGER, 1, 2),
    derEncode(DER_TAG.INTEGER, f.serial),
    ECDSA_ALGORITHM[f.hash],
    f.issuer,
    derEncode(DER_TAG.SEQUENCE, derTime(f.notBefore), derTime(f.notAfter)),
    f.subject,
    f.spki,
    derEncode(0xa3, derEncode(DER_TAG.SEQUENCE, ...f.extensions)),
  );
}

/**
 * The positive serialNumber INTEGER content of a serial in hex, as the library writes it:
 * leading zero bytes dropped (one kept for zero), a 00 in front when the top bit is set.
 */
export function serialOctets(hex: string): Uint8Array {
  let v = fromHexConst(hex);
  let i = 0;
  while (i < v.length - 1 && v[i] === 0) i++;
  v = v.subarray(i);
  if (v.length === 0) return Uint8Array.of(0);
  if (v[0]! & 0x80) {
    const w = new Uint8Array(v.length + 1);
    w.set(v, 1);
    return w;
  }
  return v.slice();
}

/**
 * PEM of `der` under `label`, as the library writes it: 64-character base64 lines, "\n" line
 * ends, no newline after the END line.
 * @example pem('CERTIFICATE', der); // '-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----'
 */
export function pem(label: string, der: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < der.length; i += 0x2000) bin += String.fromCharCode(...der.subarray(i, i + 0x2000));
  const b64 = btoa(bin);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----`;
}

/**
 * The DER inside a text that is exactly one PEM block labelled `label` (surrounding white space
 * allowed); null for any other text (other labels, headers, several blocks), which the caller
 * leaves to the library.
 */
export function pemDer(label: string, text: string): Uint8Array | null {
  const m = new RegExp(`^\\s*-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+?)\\r?\\n?-----END ${label}-----\\s*$`).exec(text);
  if (m === null) return null;
  const b64 = m[1]!.replace(/\r?\n/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)) return null;
  return latin1(atob(b64));
}
