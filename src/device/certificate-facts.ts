import { DER_TAG, derChildren, readDer } from '../bytes/der.js';
import { bytesEqual } from '../bytes/equal.js';
import { toHex } from '../bytes/hex.js';
import { x509Names } from '../pkcs11/token/x509-names.js';

/** What a device reports about one certificate: no key material, only names. */
export interface CertificateFacts {
  /** Subject in RFC 4514 form, as `openssl x509 -subject -nameopt RFC2253` prints it: `CN=dev-1,O=Acme`. */
  readonly subject: string;
  /** Issuer in the same form. */
  readonly issuer: string;
  /** Serial number in upper-case hex without leading zero bytes, as `openssl x509 -serial` prints it. */
  readonly serial: string;
  /** True when subject and issuer are the same name (a root or a self-signed certificate). */
  readonly selfIssued: boolean;
  /** The subject's (last) common name, or null when it has none. */
  readonly commonName: string | null;
}

/** Short names of the attribute types OpenSSL's RFC 2253 output uses. */
const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = Object.freeze({
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
});

/** String types whose bytes are shown as text (UTF8String, PrintableString, TeletexString, IA5String). */
const TEXT_TAGS = new Set([0x0c, 0x13, 0x14, 0x16]);

/**
 * Subject, issuer and serial number of a DER X.509 certificate, in the forms OpenSSL prints.
 * Only the structure is read; the signature is not checked.
 *
 * @throws {RangeError} when `der` is not a DER certificate or a name in it is malformed
 * @example
 * const { subject, serial } = certificateFacts(certDer); // 'CN=dev-000001,O=Acme', '1A2B…'
 */
export function certificateFacts(der: Uint8Array): CertificateFacts {
  const names = x509Names(der);
  let serial = names.serialNumber.subarray(readDer(names.serialNumber, 0).start);
  while (serial.length > 1 && serial[0] === 0) serial = serial.subarray(1);
  return {
    subject: formatName(names.subject),
    issuer: formatName(names.issuer),
    serial: toHex(serial).toUpperCase(),
    selfIssued: bytesEqual(names.subject, names.issuer),
    commonName: commonNameOf(names.subject),
  };
}

/**
 * The subjectPublicKey bits of a DER X.509 certificate (for an EC key: the uncompressed point
 * `04 ‖ X ‖ Y`, the same bytes a PKCS#11 CKA_EC_POINT wraps in an OCTET STRING).
 *
 * @throws {RangeError} when `der` is not a DER certificate
 * @example
 * const point = certificatePublicKey(certDer); // 65 bytes for P-256
 */
export function certificatePublicKey(der: Uint8Array): Uint8Array {
  const cert = readDer(der, 0);
  const tbs = derChildren(der, cert)[0];
  if (cert.tag !== DER_TAG.SEQUENCE || tbs?.tag !== DER_TAG.SEQUENCE) throw new RangeError('not a DER certificate: expected a tbsCertificate SEQUENCE');
  const fields = derChildren(der, tbs);
  const at = fields[0]?.tag === 0xa0 ? 1 : 0;
  const spki = fields[at + 5];
  if (spki?.tag !== DER_TAG.SEQUENCE) throw new RangeError('not a DER certificate: no subjectPublicKeyInfo');
  const bits = derChildren(der, spki)[1];
  if (bits?.tag !== DER_TAG.BIT_STRING || bits.end - bits.start < 2) throw new RangeError('not a DER certificate: bad subjectPublicKey');
  return der.subarray(bits.start + 1, bits.end);
}

/**
 * A DER X.509 Name in RFC 4514 form (RDNs last to first, `,` between them, `+` inside one,
 * whose values also run last to first as OpenSSL prints them),
 * escaped as RFC 4514 says; attribute types without a short name appear as dotted OIDs with
 * the value as `#` and its DER in hex.
 *
 * @throws {RangeError} when `name` is not a DER Name
 * @example
 * formatName(subjectDer); // 'CN=dev-1,O=Acme,C=DE'
 */
export function formatName(name: Uint8Array): string {
  const outer = readDer(name, 0);
  if (outer.tag !== DER_TAG.SEQUENCE) throw new RangeError('not a DER Name: expected a SEQUENCE of RDNs');
  const rdns = derChildren(name, outer).map((set) => {
    if (set.tag !== 0x31) throw new RangeError('not a DER Name: an RDN is not a SET');
    return derChildren(name, set)
      .map((atv) => {
        const [type, value] = derChildren(name, atv);
        if (atv.tag !== DER_TAG.SEQUENCE || type?.tag !== DER_TAG.OID || value === undefined) throw new RangeError('not a DER Name: bad AttributeTypeAndValue');
        const oid = decodeOid(name.subarray(type.start, type.end));
        const short = ATTRIBUTE_NAMES[oid];
        if (short === undefined || !TEXT_TAGS.has(value.tag)) return `${short ?? oid}=#${toHex(name.subarray(value.offset, value.end))}`;
        return `${short}=${escapeValue(new TextDecoder().decode(name.subarray(value.start, value.end)))}`;
      })
      .reverse()
      .join('+');
  });
  return rdns.reverse().join(',');
}

function commonNameOf(name: Uint8Array): string | null {
  let cn: string | null = null;
  for (const set of derChildren(name, readDer(name, 0))) {
    for (const atv of derChildren(name, set)) {
      const [type, value] = derChildren(name, atv);
      if (type && value && decodeOid(name.subarray(type.start, type.end)) === '2.5.4.3' && TEXT_TAGS.has(value.tag)) {
        cn = new TextDecoder().decode(name.subarray(value.start, value.end));
      }
    }
  }
  return cn;
}

function decodeOid(bytes: Uint8Array): string {
  const arcs: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs.shift() ?? 0;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

function escapeValue(s: string): string {
  let out = s.replace(/[,+"\\<>;]/g, (c) => `\\${c}`);
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}
