import { fromHex, toHex } from '../../bytes/hex.js';
import type { CryptoProvider } from '../../crypto/provider.js';
import { NvsecError } from '../../errors/nvsec-error.js';
import { MbedtlsError } from '../mbedtls-errors.js';
import { bootAccumulator, compareCalls, type EntropyCall, MemorySeedFile, parseGoldenRun } from './_golden-run.js';
import type { SelftestCase } from './case.js';

const SUITE = 'entropy-collector';

/**
 * Replays a golden collector run (`vectors/entropy/entropy-collector/*.json`, made with Mbed TLS
 * 2.28.3): per boot, a fresh {@link EntropyAccumulator} with the file's sources (the fake counter
 * hardware source and the NV seed over an in-memory `seedfile`, carried over from boot to boot)
 * answers the file's requests. Three cases per boot: the entropy calls (length, return code,
 * output), the number of hardware polls, and the seed file at the end of the boot.
 *
 * @throws {NvsecError} SELFTEST_BAD_FILE when `file` is not a collector vector
 * @example
 * const cases = replayCollectorVector(JSON.parse(text), nodeCrypto);
 * const failed = cases.filter((c) => !c.passed);
 */
export function replayCollectorVector(file: unknown, crypto: CryptoProvider): SelftestCase[] {
  const v = parseGoldenRun(file);
  if (!v.drbg.startsWith('none')) {
    throw new NvsecError('SELFTEST_BAD_FILE', `"${v.id}" runs a DRBG (${v.drbg}): it is a scenario, not a collector run`);
  }
  const seedfile = new MemorySeedFile(fromHex(v.initialSeedfile));
  const cases: SelftestCase[] = [];
  for (const [bootName, expected] of v.boots) {
    const { acc, hardwarePolls } = bootAccumulator(v, bootName, crypto, seedfile);
    const calls: EntropyCall[] = [];
    const unexpected: string[] = [];
    try {
      for (const len of v.requests) {
        try {
          const out = acc.entropy(len);
          calls.push({ len, ret: 0, output: toHex(out) });
        } catch (e) {
          if (!(e instanceof MbedtlsError)) unexpected.push(`entropy(${len}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
          calls.push({ len, ret: e instanceof MbedtlsError ? e.ret : Number.NaN, output: '' });
        }
      }
    } finally {
      acc.destroy();
    }
    const prefix = `${v.id} ${bootName}`;
    cases.push({ suite: SUITE, name: `${prefix}: entropy calls (length, return code, output)`, ...compareCalls(calls, expected.entropy_calls, unexpected) });
    const polls = hardwarePolls();
    cases.push({
      suite: SUITE,
      name: `${prefix}: hardware polls`,
      passed: polls === expected.hardware_polls,
      ...(polls === expected.hardware_polls ? {} : { detail: `${polls} polls, expected ${expected.hardware_polls}` }),
    });
    const after = seedfile.content ? toHex(seedfile.content) : '(no file)';
    cases.push({
      suite: SUITE,
      name: `${prefix}: seed file after the boot`,
      passed: after === expected.seedfile_after,
      ...(after === expected.seedfile_after ? {} : { detail: `got ${after}, expected ${expected.seedfile_after}` }),
    });
  }
  return cases;
}

