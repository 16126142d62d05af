import type { HashName } from './provider.js';
import type { PublicKey } from './public-key.js';

/**
 * A private key that signs message digests, wherever it lives: in memory (`nvsec/node`
 * `readSigningKey`), in a PKCS#11 token or an HSM. The caller hashes the message; the signer
 * never sees it, so a 4 MiB firmware image costs one hash and one signature.
 *
 * - RSA keys sign with RSASSA-PSS, MGF1 over `hash`, salt length = the digest length; the
 *   signature is big-endian, as long as the modulus.
 * - EC keys sign with ECDSA; the signature is r ‖ s, each big-endian at the curve's width.
 */
export interface Signer {
  /** The public half, to embed in signatures and key digests. */
  readonly publicKey: PublicKey;
  /**
   * Signs `digest`, the `hash` of the message.
   * @throws {RangeError} when the digest length does not match `hash`
   */
  sign(digest: Uint8Array, hash: HashName): Promise<Uint8Array>;
  /**
   * Drops the signer's hold on its private key; later calls throw. Key bytes the signer owns are
   * zeroized; a key held by OpenSSL or a token is released, not overwritten.
   */
  destroy?(): void;
}
