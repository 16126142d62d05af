import { fromHex, toHex } from '../../bytes/hex.js';
import type { CryptoProvider, HashName } from '../../crypto/provider.js';
import { NvsecError } from '../../errors/nvsec-error.js';
import { CtrDrbg } from '../ctr-drbg.js';
import { HmacDrbg } from '../hmac-drbg.js';
import { MbedtlsError } from '../mbedtls-errors.js';
import { bootAccumulator, check, compareCalls, type EntropyCall, MemorySeedFile, parseGoldenRun } from './_golden-run.js';
import type { SelftestCase } from './case.js';

const SUITE = 'mbedtls-scenario';

/** A DRBG as the scenarios use it. */
interface Drbg {
  generate(length: number, additional?: Uint8Array): Uint8Array;
  setPredictionResistance(on: boolean): void;
  destroy(): void;
}

/**
 * Replays a golden Mbed TLS 2.28.3 scenario (`vectors/entropy/mbedtls-scenarios/*.json`): the
 * entropy collector with the NV seed (an in-memory `seedfile` carried over from boot to boot) and
 * the fake hardware source, feeding a CTR_DRBG or HMAC_DRBG, over each boot. Per boot it checks the
 * seeding result, every entropy call (length, return code, output) and how many happened while
 * seeding, the hardware polls, every request's result and output, and the seed file afterwards.
 *
 * @throws {NvsecError} SELFTEST_BAD_FILE when `file` is not such a scenario
 */
export function replayMbedtlsScenario(file: unknown, crypto: CryptoProvider): SelftestCase[] {
  const run = parseGoldenRun(file);
  const seedfile = new MemorySeedFile(fromHex(run.initialSeedfile));
  const cases: SelftestCase[] = [];
  for (const [bootName, expected] of run.boots) {
    const { acc, hardwarePolls } = bootAccumulator(run, bootName, crypto, seedfile);
    const calls: EntropyCall[] = [];
    const unexpected: string[] = [];
    const entropy = (len: number): Uint8Array => {
      try {
        const out = acc.entropy(len);
        calls.push({ len, ret: 0, output: toHex(out) });
        return out;
      } catch (e) {
        calls.push({ len, ret: e instanceof MbedtlsError ? e.ret : Number.NaN, output: '' });
        throw e;
      }
    };
    const prefix = `${run.id} ${bootName}`;
    let drbg: Drbg | null = null;
    let seedRet = 0;
    const results: Array<{ ret: number | null; output: string }> = [];
    try {
      try {
        drbg = seedDrbg(run.drbg, run.constants, crypto, entropy, fromHex(run.personalization), run.reseedInterval);
        if (run.predictionResistance) drbg.setPredictionResistance(true);
      } catch (e) {
        if (!(e instanceof MbedtlsError)) unexpected.push(`seeding threw ${String(e)}`);
        seedRet = e instanceof MbedtlsError ? e.ret : Number.NaN;
      }
      const duringSeed = calls.length;
      for (let i = 0; i < run.requests.length; i++) {
        if (!drbg) {
          results.push({ ret: null, output: '' });
          continue;
        }
        try {
          results.push({ ret: 0, output: toHex(drbg.generate(run.requests[i]!, fromHex(run.additionalInputs[i] ?? ''))) });
        } catch (e) {
          if (!(e instanceof MbedtlsError)) unexpected.push(`request ${i + 1} threw ${String(e)}`);
          results.push({ ret: e instanceof MbedtlsError ? e.ret : Number.NaN, output: '' });
        }
      }
      cases.push(check(SUITE, `${prefix}: seeding result`, seedRet === expected.seed_ret, `got ${seedRet}, expected ${expected.seed_ret}`));
      cases.push({ suite: SUITE, name: `${prefix}: entropy calls (length, return code, output)`, ...compareCalls(calls, expected.entropy_calls, unexpected) });
      cases.push(
        check(SUITE, `${prefix}: entropy calls while seeding`, duringSeed === expected.entropy_calls_during_seed, `got ${duringSeed}, expected ${expected.entropy_calls_during_seed}`),
      );
      const polls = hardwarePolls();
      cases.push(check(SUITE, `${prefix}: hardware polls`, polls === expected.hardware_polls, `got ${polls}, expected ${expected.hardware_polls}`));
      expected.requests.forEach((want, i) => {
        const got = results[i] ?? { ret: null, output: '' };
        const same = got.ret === want.ret && got.output === want.output;
        cases.push(check(SUITE, `${prefix}: request ${i + 1}`, same, `got ret ${got.ret} output ${got.output.slice(0, 64)}…, expected ret ${want.ret} output ${want.output.slice(0, 64)}…`));
      });
      const after = seedfile.content ? toHex(seedfile.content) : '(no file)';
      cases.push(check(SUITE, `${prefix}: seed file after the boot`, after === expected.seedfile_after, `got ${after}, expected ${expected.seedfile_after}`));
    } finally {
      drbg?.destroy();
      acc.destroy();
    }
  }
  return cases;
}

/** Seeds the scenario's DRBG with Mbed TLS's default lengths (see the vectors README, "Procedure for one boot"). */
function seedDrbg(
  name: string,
  constants: Record<string, unknown>,
  crypto: CryptoProvider,
  entropy: (len: number) => Uint8Array,
  personalization: Uint8Array,
  reseedInterval: number,
): Drbg {
  if (name.startsWith('CTR_DRBG-AES-')) {
    const keyBits = Number(constants.ctr_drbg_key_bits ?? name.slice('CTR_DRBG-AES-'.length));
    if (keyBits !== 256 && keyBits !== 128) throw new NvsecError('SELFTEST_BAD_FILE', `Unknown CTR_DRBG key size in "${name}"`);
    return CtrDrbg.seed({
      crypto,
      entropy,
      keyBits,
      entropyLen: Number(constants.ctr_drbg_entropy_len_default ?? 48),
      nonceLen: Number(constants.ctr_drbg_entropy_nonce_len_default ?? 0),
      personalization,
      reseedInterval,
    });
  }
  const hash = HMAC_HASHES[name];
  if (hash) return HmacDrbg.seed({ crypto, hash, entropy, entropyLen: 32, nonceLen: 16, personalization, reseedInterval });
  throw new NvsecError('SELFTEST_BAD_FILE', `Unknown DRBG "${name}" in the scenario`);
}

const HMAC_HASHES: Readonly<Record<string, HashName>> = Object.freeze({
  'HMAC_DRBG-SHA-1': 'sha1',
  'HMAC_DRBG-SHA-224': 'sha224',
  'HMAC_DRBG-SHA-256': 'sha256',
  'HMAC_DRBG-SHA-384': 'sha384',
  'HMAC_DRBG-SHA-512': 'sha512',
});
