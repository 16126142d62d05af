import { NvsecError } from '../../src/errors/nvsec-error.js';
import { MBEDTLS_ERR, MbedtlsError } from '../../src/entropy/mbedtls-errors.js';

/** An entropy callback over a deterministic byte stream (an LCG) that records every request. */
export function streamEntropy(seed = 1): { entropy: (n: number) => Uint8Array; requests: number[]; take: (n: number) => Uint8Array } {
  let c = seed;
  const requests: number[] = [];
  const take = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => (c = (c * 1103515245 + 12345) >>> 0) >>> 24);
  return {
    requests,
    take,
    entropy: (n) => {
      requests.push(n);
      return take(n);
    },
  };
}

/** assert.throws predicate: an MbedtlsError with the Mbed TLS name and value. */
export const isMbedtls = (name: keyof typeof MBEDTLS_ERR) => (e: unknown) =>
  e instanceof MbedtlsError && e instanceof NvsecError && e.code === name && e.ret === MBEDTLS_ERR[name];
