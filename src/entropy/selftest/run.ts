import type { CryptoProvider } from '../../crypto/provider.js';
import { NvsecError } from '../../errors/nvsec-error.js';
import { accumulatorKnownAnswerTests } from './accumulator-kat.js';
import type { SelftestCase } from './case.js';
import { replayCollectorVector } from './collector-replay.js';
import { drbgKnownAnswerTests } from './drbg-kat.js';
import { isNistDrbgFile, replayNistDrbgFile } from './nist-replay.js';
import { replayMbedtlsScenario } from './scenario-replay.js';

/** Kinds of vector file `nvsec selftest` replays. */
export type VectorFileKind = 'nist-drbg' | 'mbedtls-scenario' | 'entropy-collector';

/**
 * Recognises a vector file by its content: NIST DRBG files have `family` and `cases`; golden
 * Mbed TLS runs have `inputs.drbg`, which starts with "none" for collector-only runs.
 * @throws {NvsecError} SELFTEST_UNKNOWN_FILE for anything else
 */
export function vectorFileKind(file: unknown): VectorFileKind {
  if (isNistDrbgFile(file)) return 'nist-drbg';
  const f = file as { inputs?: { drbg?: unknown } } | null;
  if (f && typeof f === 'object') {
    if (typeof f.inputs?.drbg === 'string') return f.inputs.drbg.startsWith('none') ? 'entropy-collector' : 'mbedtls-scenario';
  }
  throw new NvsecError(
    'SELFTEST_UNKNOWN_FILE',
    'Not a vector file nvsec knows: expected a NIST DRBG file (family, cases) or an Mbed TLS golden run (inputs.drbg)',
  );
}

/** Replays one parsed vector file of any known kind; one result per case (per boot for golden runs). */
export function replayVectorFile(file: unknown, crypto: CryptoProvider): SelftestCase[] {
  switch (vectorFileKind(file)) {
    case 'nist-drbg':
      return replayNistDrbgFile(file, crypto);
    case 'entropy-collector':
      return replayCollectorVector(file, crypto);
    case 'mbedtls-scenario':
      return replayMbedtlsScenario(file, crypto);
  }
}

/**
 * The power-on self test: built-in known answers for every DRBG variant and for the entropy
 * accumulator with its NV seed. Run it before trusting the generators on a new platform.
 */
export function powerOnSelfTest(crypto: CryptoProvider): SelftestCase[] {
  return [...drbgKnownAnswerTests(crypto), ...accumulatorKnownAnswerTests(crypto)];
}
