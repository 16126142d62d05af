import { fromHex, toHex } from '../../bytes/hex.js';
import type { CryptoProvider } from '../../crypto/provider.js';
import { EntropyAccumulator } from '../accumulator.js';
import { NvSeedSource } from '../nv-seed.js';
import { MemorySeedFile } from './_golden-run.js';
import type { SelftestCase } from './case.js';

// Known answer of the Mbed TLS 2.28.3 collector (golden run e1-nv-only-pattern): the NV seed as
// the only source, seeded 00112233…eeff; the first 64-byte entropy call and the seed it leaves.
const SEED = '00112233445566778899aabbccddeeff'.repeat(4);
const FIRST_OUTPUT =
  'e1c362eb0e6a1fc448f18e5119aa998ce652bf7415ee2408c07d9338b10b59d839745a11fa9ba4da6c9d6d80d80d0e38d4b4fbb30c9e9213c6fd80a7e8915688';

/** Power-on known answer of the entropy accumulator with its NV seed (SHA-512 accumulator). */
export function accumulatorKnownAnswerTests(crypto: CryptoProvider): SelftestCase[] {
  const seedfile = new MemorySeedFile(fromHex(SEED));
  const acc = new EntropyAccumulator({ crypto, nvSeed: new NvSeedSource({ store: seedfile, size: 64 }) });
  try {
    const out = toHex(acc.entropy(64));
    const refreshed = seedfile.content !== null && toHex(seedfile.content) !== SEED;
    return [
      {
        suite: 'power-on KAT',
        name: 'entropy accumulator (SHA-512) with NV seed: first output',
        passed: out === FIRST_OUTPUT,
        ...(out === FIRST_OUTPUT ? {} : { detail: `got ${out}` }),
      },
      { suite: 'power-on KAT', name: 'entropy accumulator: NV seed refreshed on the first call', passed: refreshed, ...(refreshed ? {} : { detail: 'the seed file was not rewritten' }) },
    ];
  } finally {
    acc.destroy();
  }
}
