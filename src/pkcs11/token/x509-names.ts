import { DER_TAG, derChildren, readDer } from '../../bytes/der.js';

/** The DER fields of an X.509 certificate that PKCS#11 mirrors as attributes. */
export interface X509Names {
  /** DER of the subject Name (CKA_SUBJECT). */
  readonly subject: Uint8Array;
  /** DER of the issuer Name (CKA_ISSUER). */
  readonly issuer: Uint8Array;
  /** DER of the serial number INTEGER (CKA_SERIAL_NUMBER, as PKCS#11 2.40 defines it). */
  readonly serialNumber: Uint8Array;
}

/**
 * Reads subject, issuer and serial number from a DER X.509 certificate. Only the structure is
 * checked (Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }); the
 * signature is not.
 *
 * @throws {RangeError} when `der` is not a DER certificate
 * @example
 * const { subject } = x509Names(certDer);
 */
export function x509Names(der: Uint8Array): X509Names {
  const cert = readDer(der, 0);
  if (cert.tag !== DER_TAG.SEQUENCE || cert.end !== der.length) throw new RangeError('not a DER certificate: expected one SEQUENCE');
  const parts = derChildren(der, cert);
  const tbs = parts[0];
  if (parts.length !== 3 || tbs?.tag !== DER_TAG.SEQUENCE) throw new RangeError('not a DER certificate: expected tbsCertificate, signatureAlgorithm, signature');
  const fields = derChildren(der, tbs);
  const at = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] EXPLICIT version
  const [serial, , issuer, validity, subject] = fields.slice(at);
  if (serial?.tag !== DER_TAG.INTEGER || issuer?.tag !== DER_TAG.SEQUENCE || validity?.tag !== DER_TAG.SEQUENCE || subject?.tag !== DER_TAG.SEQUENCE) {
    throw new RangeError('not a DER certificate: tbsCertificate lacks serialNumber, issuer, validity or subject');
  }
  return {
    serialNumber: der.subarray(serial.offset, serial.end),
    issuer: der.subarray(issuer.offset, issuer.end),
    subject: der.subarray(subject.offset, subject.end),
  };
}
