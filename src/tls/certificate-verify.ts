const CONTEXT = Object.freeze({
  client: new TextEncoder().encode('TLS 1.3, client CertificateVerify'),
  server: new TextEncoder().encode('TLS 1.3, server CertificateVerify'),
});

/**
 * The bytes a TLS 1.3 CertificateVerify signs (RFC 8446 §4.4.3): 64 spaces, the context string of
 * `side`, one zero byte, then the transcript hash up to and including that side's Certificate.
 *
 * @throws RangeError when `transcriptHash` is not 32 or 48 bytes (SHA-256 or SHA-384 suites).
 * @example
 * const content = certificateVerifyContent('client', sha256(handshakeMessages));
 * const signature = await signer.sign(content);
 */
export function certificateVerifyContent(side: 'client' | 'server', transcriptHash: Uint8Array): Uint8Array {
  if (transcriptHash.length !== 32 && transcriptHash.length !== 48) {
    throw new RangeError(`transcriptHash must be 32 or 48 bytes (SHA-256/SHA-384), got ${transcriptHash.length}`);
  }
  const context = CONTEXT[side];
  const out = new Uint8Array(64 + context.length + 1 + transcriptHash.length);
  out.fill(0x20, 0, 64);
  out.set(context, 64);
  out.set(transcriptHash, 64 + context.length + 1);
  return out;
}
