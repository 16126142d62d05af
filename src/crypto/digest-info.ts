import type { HashName } from './provider.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((h) => parseInt(h, 16)));

/**
 * The DER header of a DigestInfo (RFC 8017 §9.2, note 1) for each hash: the bytes RSASSA-PKCS1-v1_5
 * (CKM_RSA_PKCS) puts before the digest.
 */
export const DIGEST_INFO_PREFIXES: Readonly<Record<HashName, Uint8Array>> = Object.freeze({
  sha1: hex('3021300906052b0e03021a05000414'),
  sha224: hex('302d300d06096086480165030402040500041c'),
  sha256: hex('3031300d060960864801650304020105000420'),
  sha384: hex('3041300d060960864801650304020205000430'),
  sha512: hex('3051300d060960864801650304020305000440'),
});

/** The DER DigestInfo of `digest`, a `hash` digest. */
export function digestInfo(hash: HashName, digest: Uint8Array): Uint8Array {
  const prefix = DIGEST_INFO_PREFIXES[hash];
  const out = new Uint8Array(prefix.length + digest.length);
  out.set(prefix);
  out.set(digest, prefix.length);
  return out;
}

/** The hash whose DigestInfo `data` is (header and length), or null. */
export function digestInfoHash(data: Uint8Array): HashName | null {
  for (const [hash, prefix] of Object.entries(DIGEST_INFO_PREFIXES) as [HashName, Uint8Array][]) {
    if (data.length !== prefix.length + (prefix[prefix.length - 1] ?? 0)) continue;
    let same = true;
    for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix[i]) same = false;
    if (same) return hash;
  }
  return null;
}
