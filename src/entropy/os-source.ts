import type { CryptoProvider } from '../crypto/provider.js';
import type { EntropyPoll } from './entropy-source.js';

/**
 * The platform entropy source (Mbed TLS `mbedtls_platform_entropy_poll`, /dev/urandom or
 * getrandom): every poll returns `maxLength` bytes from the provider's CSPRNG. Register it as a
 * strong source with threshold `ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MIN_PLATFORM` (32).
 *
 * @throws {TypeError} when `crypto` has no randomBytes()
 * @example
 * const acc = new EntropyAccumulator({
 *   crypto: nodeCrypto,
 *   sources: [{ poll: osEntropyPoll(nodeCrypto), threshold: ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MIN_PLATFORM, strong: true }],
 * });
 */
export function osEntropyPoll(crypto: CryptoProvider): EntropyPoll {
  if (typeof crypto?.randomBytes !== 'function') throw new TypeError('"crypto" must be a CryptoProvider with randomBytes()');
  return (maxLength) => crypto.randomBytes(maxLength);
}
