import type { CryptoProvider } from '../../crypto/provider.js';
import { EntropyAccumulator } from '../../entropy/accumulator.js';
import { CtrDrbg } from '../../entropy/ctr-drbg.js';
import { ENTROPY_CONSTANTS } from '../../entropy/entropy-source.js';
import { NvSeedSource } from '../../entropy/nv-seed.js';
import { osEntropyPoll } from '../../entropy/os-source.js';
import type { SeedStore } from '../../entropy/seed-store.js';
import type { TokenRandom } from './token.js';

/** Options of {@link createTokenDrbg}. */
export interface TokenDrbgOptions {
  /** The device's NV seed: mixed into the pool and refreshed on the first gather (Mbed TLS NV seed model). */
  readonly nvSeed?: SeedStore;
}

const PERSONALIZATION = new TextEncoder().encode('nvsec PKCS#11 token');

/**
 * The token's random generator, as corePKCS11 builds it on Mbed TLS: an AES-256 CTR_DRBG seeded
 * from an entropy accumulator over the OS source and, when given, the NV seed (whose refresh this
 * first gather triggers). C_GenerateRandom, and C_SeedRandom's reseeds, go through it.
 *
 * @throws {MbedtlsError} when the entropy sources fail (MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED)
 * @example
 * const random = createTokenDrbg(nodeCrypto, { nvSeed: new FileSeedStore('token/seedfile') });
 */
export function createTokenDrbg(crypto: CryptoProvider, options: TokenDrbgOptions = {}): TokenRandom {
  const accumulator = new EntropyAccumulator({
    crypto,
    sources: [{ poll: osEntropyPoll(crypto), threshold: ENTROPY_CONSTANTS.MBEDTLS_ENTROPY_MIN_PLATFORM, strong: true }],
    nvSeed: options.nvSeed === undefined ? null : new NvSeedSource({ store: options.nvSeed }),
  });
  return CtrDrbg.seed({ crypto, entropy: (n) => accumulator.entropy(n), personalization: PERSONALIZATION });
}
