import { NvsecError } from '../errors/nvsec-error.js';
import { loadX509, type X509 } from '../crypto/x509-library.js';

type Certificate = InstanceType<X509['X509Certificate']>;

/** How a server's certificate chain is judged. */
export interface ServerChainOptions {
  /** The pinned CA certificates (DER); the only trust anchors. Empty: refused, there is no default store. */
  readonly trustAnchors: readonly Uint8Array[];
  /** The host the client meant to reach: a DNS name or an IPv4/IPv6 literal. */
  readonly serverName: string;
  /** The time the certificates must be valid at; default now. */
  readonly now?: Date;
}

const MAX_DEPTH = 8;
/** Most certificates looked at: more is a flood meant to make path building slow. */
const MAX_CHAIN = 10;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EKU = '2.5.29.37.0';
const KEY_CERT_SIGN = 32; // KeyUsageFlags.keyCertSign

/**
 * Checks the chain a TLS server sent (leaf first, DER) against pinned CAs only: every link's
 * signature, every certificate's validity at `now` (anchor included), CA flags on issuers, the
 * serverAuth purpose on the leaf, and the host name against the leaf's subjectAltName (RFC 6125:
 * DNS names with at most a whole left-most `*` label, IP literals against iPAddress entries; the
 * subject CN is never used). Intermediates may come in any order; unrelated extra certificates are ignored.
 * Also RFC 5280's pathLenConstraint; a pinned anchor issues only if it is a CA with keyCertSign (an
 * exactly pinned leaf needs no CA flags); unknown critical extensions and nameConstraints (not
 * implemented) refuse a certificate; a leaf keyUsage must include digitalSignature; SHA-1/MD5
 * signatures and RSA keys under 2048 bits are refused (OpenSSL's security level 2).
 *
 * @returns the path from the leaf to the anchor that signed it, DER, leaf first.
 * @throws NvsecError `TLS_CA_REQUIRED` (no anchor given), `TLS_NO_SERVER_CERT`, `TLS_UNTRUSTED_SERVER`
 *   (no path to a pinned CA), `TLS_CERT_EXPIRED` (outside validity, also not yet valid), `TLS_NOT_A_CA`
 *   (also an anchor that is not a CA, or pathLenConstraint exceeded), `TLS_WRONG_PURPOSE` (leaf not for
 *   serverAuth, or keyUsage without digitalSignature), `TLS_HOST_MISMATCH`, `TLS_BAD_CERTIFICATE` (not
 *   parseable, more than 10 certificates, unknown critical extension, nameConstraints, SHA-1/MD5, RSA < 2048).
 * @example
 * await verifyServerChain(serverCertificates, { trustAnchors: [factoryCaDer], serverName: 'mqtt.example.com' });
 */
export async function verifyServerChain(chain: readonly Uint8Array[], options: ServerChainOptions): Promise<Uint8Array[]> {
  if (options.trustAnchors.length === 0) {
    throw new NvsecError('TLS_CA_REQUIRED', 'no CA given: refusing to trust a server that cannot be validated (pass the CA that issued the server certificate, e.g. from `nvsec tls fetch-ca`)');
  }
  if (chain.length === 0 || chain[0] === undefined) throw new NvsecError('TLS_NO_SERVER_CERT', 'the server sent no certificate');
  if (chain.length > MAX_CHAIN) throw new NvsecError('TLS_BAD_CERTIFICATE', `the server sent ${chain.length} certificates; more than ${MAX_CHAIN} are refused unparsed`);
  const x509 = await loadX509();
  const parse = (der: Uint8Array, what: string): Certificate => {
    try {
      return new x509.X509Certificate(der);
    } catch (e) {
      throw new NvsecError('TLS_BAD_CERTIFICATE', `${what} is not a DER X.509 certificate`, { cause: e });
    }
  };
  const anchors = options.trustAnchors.map((d, i) => parse(d, `trust anchor ${i}`));
  const sent = chain.map((d, i) => parse(d, `server certificate ${i}`));
  const leaf = sent[0]!;
  const intermediates = sent.slice(1);
  const now = options.now ?? new Date();

  const path: Certificate[] = [leaf];
  const leafPinned = anchors.some((a) => a.equal(leaf)); // a pinned server certificate itself
  let anchor: Certificate | undefined = leafPinned ? leaf : undefined;
  while (anchor === undefined) {
    const current = path[path.length - 1]!;
    anchor = await findIssuer(anchors, current);
    if (anchor !== undefined) break;
    const next = path.length < MAX_DEPTH ? await findIssuer(intermediates.filter((c) => !path.includes(c)), current) : undefined;
    if (next === undefined) {
      throw new NvsecError('TLS_UNTRUSTED_SERVER', `server certificate "${leaf.subject}" does not chain to the pinned CA (stopped at "${current.subject}", issued by "${current.issuer}"): wrong --ca, or the server does not send its intermediates`);
    }
    requireCa(x509, next);
    path.push(next);
  }
  if (!leafPinned) {
    requireCa(x509, anchor); // a pinned anchor signs only if it is a CA; an exact leaf pin needs no CA flags
    path.push(anchor);
  }
  checkPath(x509, path, leafPinned);

  for (const c of path) {
    if (now < c.notBefore || now > c.notAfter) {
      throw new NvsecError('TLS_CERT_EXPIRED', `certificate "${c.subject}" is valid from ${c.notBefore.toISOString()} to ${c.notAfter.toISOString()}, not at ${now.toISOString()}`);
    }
  }
  const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
  if (eku !== null && !eku.usages.some((u) => u === SERVER_AUTH || u === ANY_EKU)) {
    throw new NvsecError('TLS_WRONG_PURPOSE', `server certificate "${leaf.subject}" is not for TLS servers (extendedKeyUsage ${eku.usages.join(', ')})`);
  }
  if (!hostMatches(x509, leaf, options.serverName)) {
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
    const names = san === null ? 'no subjectAltName (the CN is not used)' : `subjectAltName ${san.names.items.map((n) => `${n.type}:${n.value}`).join(', ')}`;
    throw new NvsecError('TLS_HOST_MISMATCH', `server certificate "${leaf.subject}" is not valid for "${options.serverName}": it has ${names}`);
  }
  return path.map((c) => new Uint8Array(c.rawData));
}

/** The certificate among `candidates` whose name and key issued `cert`. */
async function findIssuer(candidates: readonly Certificate[], cert: Certificate): Promise<Certificate | undefined> {
  for (const c of candidates) {
    if (c.subject !== cert.issuer) continue;
    if (await cert.verify({ publicKey: c.publicKey, signatureOnly: true })) return c;
  }
  return undefined;
}

/** Extensions nvsec understands; any other one marked critical refuses the certificate (RFC 5280 §4.2). */
const KNOWN_EXTENSIONS = new Set(['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.17', '2.5.29.14', '2.5.29.35']);
const NAME_CONSTRAINTS = '2.5.29.30';
const DIGITAL_SIGNATURE = 1; // KeyUsageFlags.digitalSignature
const WEAK_HASHES = new Set(['SHA-1', 'MD5', 'MD2']);

/** RFC 5280 rules beyond the links: critical extensions, pathLenConstraint, the leaf's keyUsage, weak algorithms. */
function checkPath(x509: X509, path: readonly Certificate[], leafPinned: boolean): void {
  path.forEach((c, i) => {
    for (const e of c.extensions) {
      if (e.type === NAME_CONSTRAINTS) {
        throw new NvsecError('TLS_BAD_CERTIFICATE', `certificate "${c.subject}" has nameConstraints, which nvsec does not enforce: refused rather than ignored (pin a CA without them)`);
      }
      if (e.critical && !KNOWN_EXTENSIONS.has(e.type)) {
        throw new NvsecError('TLS_BAD_CERTIFICATE', `certificate "${c.subject}" has a critical extension nvsec does not understand (${e.type}): refused (RFC 5280 §4.2)`);
      }
    }
    // pathLenConstraint: the CA at position i has i - 1 intermediate CAs below it (the leaf is not counted)
    const bc = i > 0 ? c.getExtension(x509.BasicConstraintsExtension) : null;
    if (bc?.pathLength !== undefined && i - 1 > bc.pathLength) {
      throw new NvsecError('TLS_NOT_A_CA', `CA "${c.subject}" allows ${bc.pathLength} intermediate CA(s) below it (pathLenConstraint), the server's chain has ${i - 1}`);
    }
    const key = c.publicKey.algorithm as { name?: string; modulusLength?: number };
    if (key.modulusLength !== undefined && key.modulusLength < 2048) {
      throw new NvsecError('TLS_BAD_CERTIFICATE', `certificate "${c.subject}" has a ${key.modulusLength}-bit RSA key; at least 2048 bits are required`);
    }
    // the signatures nvsec relies on: every one in the path except the anchor's own (or a pinned leaf's)
    const signed = leafPinned ? false : i < path.length - 1;
    const hash = (c.signatureAlgorithm as { hash?: { name?: string } }).hash?.name;
    if (signed && (hash === undefined || WEAK_HASHES.has(hash.toUpperCase()))) {
      throw new NvsecError('TLS_BAD_CERTIFICATE', `certificate "${c.subject}" is signed with ${hash ?? 'an unknown hash'}: SHA-1 and MD5 signatures are refused`);
    }
  });
  const leaf = path[0]!;
  const ku = leaf.getExtension(x509.KeyUsagesExtension);
  if (ku !== null && (ku.usages & DIGITAL_SIGNATURE) === 0) {
    throw new NvsecError('TLS_WRONG_PURPOSE', `server certificate "${leaf.subject}" has keyUsage without digitalSignature: its key may not sign a TLS 1.3 handshake`);
  }
}

function requireCa(x509: X509, cert: Certificate): void {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (bc?.ca !== true || (ku !== null && (ku.usages & KEY_CERT_SIGN) === 0)) {
    throw new NvsecError('TLS_NOT_A_CA', `certificate "${cert.subject}" signs another one in the server's chain but is not a CA (basicConstraints CA:TRUE and keyCertSign needed)`);
  }
}

function hostMatches(x509: X509, leaf: Certificate, serverName: string): boolean {
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  if (san === null) return false;
  const host = serverName.toLowerCase().replace(/\.$/, '');
  const isIp = /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(':');
  return san.names.items.some((n) => {
    if (isIp) return n.type === 'ip' && n.value.toLowerCase() === host;
    if (n.type !== 'dns') return false;
    const pattern = n.value.toLowerCase().replace(/\.$/, '');
    if (!pattern.startsWith('*.')) return pattern === host;
    const dot = host.indexOf('.');
    return dot > 0 && host.slice(dot + 1) === pattern.slice(2) && pattern.split('.').length > 2;
  });
}
