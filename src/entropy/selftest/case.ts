/**
 * The result of one self-test case: a known-answer test, one NIST DRBG vector, one boot of a
 * golden Mbed TLS run. `detail` says what differed (or why the case could not run) when it failed.
 *
 * @example
 * const failed = cases.filter((c: SelftestCase) => !c.passed);
 */
export interface SelftestCase {
  /** Which group the case belongs to, e.g. "NIST CTR_DRBG" or "power-on KAT". */
  suite: string;
  /** The case's own name (the vector's name where it has one). */
  name: string;
  passed: boolean;
  /** What went wrong (expected vs got, or the error), on failure. */
  detail?: string;
}
