export { MBEDTLS_ERR, MbedtlsError, type MbedtlsErrorName, mbedtlsErrorName } from './mbedtls-errors.js';
export { CTR_DRBG_CONSTANTS, CtrDrbg, type CtrDrbgOptions } from './ctr-drbg.js';
export { HMAC_DRBG_CONSTANTS, HmacDrbg, type HmacDrbgOptions } from './hmac-drbg.js';
export type { SelftestCase } from './selftest/case.js';
export { isNistDrbgFile, type NistDrbgFamily, replayNistDrbgFile } from './selftest/nist-replay.js';
export { DRBG_KAT_SUITE, drbgKnownAnswerTests } from './selftest/drbg-kat.js';
export { EntropyAccumulator, type EntropyAccumulatorOptions, type EntropySourceSpec } from './accumulator.js';
export { ENTROPY_CONSTANTS, type EntropyHash, type EntropyPoll, entropyBlockSize } from './entropy-source.js';
export {
  NvSeedSource,
  nvSeedFunctionsFromStore,
  type NvSeedBinding,
  type NvSeedOptions,
  type NvSeedReadFunction,
  type NvSeedWriteFunction,
} from './nv-seed.js';
export type { SeedStore } from './seed-store.js';
export { NVS_SEED_DEFAULT_KEY, NvsSeedStore } from './nvs-seed-store.js';
export { osEntropyPoll } from './os-source.js';
export { hardwarePollSelfTest, hardwarePollSource, type MbedtlsHardwarePoll } from './hardware-poll.js';
export {
  adaptiveProportionCutoff,
  HealthTestedSource,
  type HealthTestName,
  type HealthTestOptions,
  repetitionCountCutoff,
} from './health-tests.js';
export { type SeedQuality, seedQuality } from './seed-quality.js';
export { replayCollectorVector } from './selftest/collector-replay.js';
export { replayMbedtlsScenario } from './selftest/scenario-replay.js';
export { accumulatorKnownAnswerTests } from './selftest/accumulator-kat.js';
export { powerOnSelfTest, replayVectorFile, type VectorFileKind, vectorFileKind } from './selftest/run.js';
