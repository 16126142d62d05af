/** One ephemeral key-exchange key pair: its public share and the shared secret with a peer's share. */
export interface KeyShare {
  /** The public share as it goes in the key_share extension (secp256r1: 65-byte uncompressed point). */
  readonly publicKey: Uint8Array;
  /** The ECDHE shared secret (secp256r1: the x coordinate); throws for an invalid peer share. */
  deriveSecret(peerShare: Uint8Array): Promise<Uint8Array>;
  /** Wipes the private half. */
  destroy(): void;
}

/** An AEAD keyed once (AES-GCM, 16-byte tag appended). */
export interface Aead {
  seal(nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Rejects when the tag does not verify. */
  open(nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  destroy(): void;
}

/**
 * What the TLS 1.3 client needs beyond {@link CryptoProvider} (hashes, HMAC): ECDHE, AES-GCM and
 * checking the server's CertificateVerify under its SubjectPublicKeyInfo. Injected, so `tls/` stays
 * free of `node:*`; `nvsec/node` has one over node:crypto (OpenSSL).
 *
 * @example
 * const crypto = nodeTlsCrypto; // src/node/node-tls-crypto.ts
 * const share = await crypto.keyShare('secp256r1');
 */
export interface TlsCrypto {
  keyShare(group: 'secp256r1'): Promise<KeyShare>;
  aesGcm(key: Uint8Array): Aead;
  /** Whether `signature` (TLS wire form: ECDSA DER, RSA-PSS with salt = hash length) of `data` verifies under `spki` for the TLS SignatureScheme `scheme`. */
  verify(spki: Uint8Array, scheme: number, data: Uint8Array, signature: Uint8Array): Promise<boolean>;
}
