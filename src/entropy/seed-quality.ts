/** Plain facts about a seed's bytes, to catch blank, stuck or patterned seeds (never a proof of randomness). */
export interface SeedQuality {
  length: number;
  /** Distinct byte values present. */
  distinctBytes: number;
  /** Longest run of one repeated byte. */
  longestRun: number;
  /** All 0x00 or all 0xFF (erased flash, an unwritten seed). */
  blank: boolean;
  /** A problem worth refusing the seed for, or null. */
  problem: string | null;
}

/**
 * Checks a seed for the failures seen in the field: an unwritten (0x00/0xFF) seed, a stuck value,
 * a short repeating pattern. For a 32- or 64-byte CSPRNG seed these limits are never reached by
 * chance (a run of 8 equal bytes has probability ~2^-50).
 */
export function seedQuality(seed: Uint8Array): SeedQuality {
  const seen = new Set<number>();
  let longestRun = 0;
  let run = 0;
  for (let i = 0; i < seed.length; i++) {
    seen.add(seed[i]!);
    run = i > 0 && seed[i] === seed[i - 1] ? run + 1 : 1;
    if (run > longestRun) longestRun = run;
  }
  const blank = seed.length > 0 && seen.size === 1 && (seed[0] === 0 || seed[0] === 0xff);
  let problem: string | null = null;
  if (seed.length === 0) problem = 'the seed is empty';
  else if (blank) problem = `every byte is 0x${seed[0]!.toString(16).padStart(2, '0')}: an unwritten or erased seed`;
  else if (longestRun >= 8) problem = `${longestRun} equal bytes in a row: not a random seed`;
  else if (seed.length >= 32 && seen.size < seed.length / 4) problem = `only ${seen.size} distinct byte values in ${seed.length} bytes: not a random seed`;
  return { length: seed.length, distinctBytes: seen.size, longestRun, blank, problem };
}
