import { bytesEqual } from '../../bytes/equal.js';
import { fromHex, toHex } from '../../bytes/hex.js';
import type { CryptoProvider, HashName } from '../../crypto/provider.js';
import { NvsecError } from '../../errors/nvsec-error.js';
import { CtrDrbg } from '../ctr-drbg.js';
import { HmacDrbg } from '../hmac-drbg.js';
import type { SelftestCase } from './case.js';
import { errorMessage } from '../../errors/error-message.js';

/** The DRBG families of the NIST files. */
export type NistDrbgFamily = 'CTR_DRBG' | 'HMAC_DRBG';

const FLOWS = ['instantiate,generate,generate', 'instantiate,reseed,generate,generate', 'instantiate,generate,reseed,generate'] as const;

const HASHES: Readonly<Record<string, HashName>> = Object.freeze({
  'SHA-1': 'sha1',
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
});

/** A case that cannot be run as written (bad field), reported as a failure of that case. */
class CaseFormatError extends Error {}

/** The common face of both DRBGs used by the replay. */
interface Drbg {
  generate(length: number, additional?: Uint8Array): Uint8Array;
  reseed(additional?: Uint8Array): void;
  setPredictionResistance(on: boolean): void;
  destroy(): void;
}

/**
 * True for a parsed NIST DRBG vector file as in ../shared/vectors/entropy (README section 1):
 * `family` CTR_DRBG or HMAC_DRBG and a `cases` list.
 *
 * @example
 * if (isNistDrbgFile(json)) report(replayNistDrbgFile(json, nodeCrypto));
 */
export function isNistDrbgFile(file: unknown): boolean {
  if (typeof file !== 'object' || file === null) return false;
  const f = file as { family?: unknown; cases?: unknown };
  return (f.family === 'CTR_DRBG' || f.family === 'HMAC_DRBG') && Array.isArray(f.cases);
}

/**
 * Replays a parsed NIST DRBG known-answer file (`ctr_drbg_nist.json`, `hmac_drbg_nist.json`)
 * the way Mbed TLS's test suites do, one result per case: the entropy callback hands out, in
 * order and each at exactly its requested size, `entropy_input`, the `nonce` (a separate
 * request), then the reseed entropy of the flow or the prediction-resistance entries; the
 * personalization is the custom string; with prediction resistance on, each generate reseeds with
 * its additional input; the SECOND generate's output must equal `returned_bits`. CTR_DRBG runs
 * with the entropy and nonce lengths of the case and its `key_bits`; HMAC_DRBG with the hash of
 * the case. Every entropy input must be consumed.
 *
 * @throws {NvsecError} SELFTEST_BAD_FILE when `file` is not a NIST DRBG file (see {@link isNistDrbgFile});
 *   a malformed case is a failed case, not an exception
 * @example
 * const results = replayNistDrbgFile(JSON.parse(fs.readFileSync('ctr_drbg_nist.json', 'utf8')), nodeCrypto);
 * const failed = results.filter((r) => !r.passed);
 */
export function replayNistDrbgFile(file: unknown, crypto: CryptoProvider): SelftestCase[] {
  if (!isNistDrbgFile(file)) {
    throw new NvsecError(
      'SELFTEST_BAD_FILE',
      'Not a NIST DRBG vector file: expected an object with "family" (CTR_DRBG or HMAC_DRBG) and a "cases" list (see vectors/entropy/README.md)',
    );
  }
  const { family, cases } = file as { family: NistDrbgFamily; cases: unknown[] };
  const suite = `NIST ${family}`;
  return cases.map((c, i) => replayCase(family, c, i, suite, crypto));
}

function replayCase(family: NistDrbgFamily, raw: unknown, index: number, suite: string, crypto: CryptoProvider): SelftestCase {
  const c = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const name = typeof c.name === 'string' && c.name !== '' ? c.name : `case ${index}`;
  let drbg: Drbg | undefined;
  try {
    const flow = c.flow;
    if (!FLOWS.includes(flow as (typeof FLOWS)[number])) throw new CaseFormatError(`unknown flow ${JSON.stringify(flow)}`);
    const pr = c.prediction_resistance;
    if (typeof pr !== 'boolean') throw new CaseFormatError('"prediction_resistance" must be true or false');
    const entropyInput = hexField(c, 'entropy_input');
    const nonce = hexField(c, 'nonce');
    const personalization = hexField(c, 'personalization');
    const expected = hexField(c, 'returned_bits');
    const additional = hexList(c, 'additional_input', 2);
    const prEntropy = pr ? hexList(c, 'entropy_input_pr', 2) : hexList(c, 'entropy_input_pr', 0);
    const hasReseed = (flow as string).includes('reseed');
    let reseed: { entropy: Uint8Array; additional: Uint8Array } | null = null;
    if (hasReseed) {
      const r = c.reseed;
      if (typeof r !== 'object' || r === null) throw new CaseFormatError('the flow has a reseed but "reseed" is missing');
      const rr = r as Record<string, unknown>;
      reseed = { entropy: hexField(rr, 'entropy_input', 'reseed.'), additional: hexField(rr, 'additional_input', 'reseed.') };
    }

    const queue: Array<{ what: string; bytes: Uint8Array }> = [{ what: 'entropy_input', bytes: entropyInput }];
    if (nonce.length > 0) queue.push({ what: 'nonce', bytes: nonce });
    if (reseed) queue.push({ what: 'reseed.entropy_input', bytes: reseed.entropy });
    prEntropy.forEach((bytes, k) => queue.push({ what: `entropy_input_pr[${k}]`, bytes }));
    let next = 0;
    const entropy = (length: number): Uint8Array => {
      const item = queue[next];
      if (item === undefined) throw new Error(`entropy request ${next + 1} (${length} bytes) beyond the case's ${queue.length} entropy inputs`);
      next++;
      if (item.bytes.length !== length) throw new Error(`${length} bytes requested where the case's ${item.what} has ${item.bytes.length}`);
      return item.bytes.slice();
    };

    if (family === 'CTR_DRBG') {
      const keyBits = c.key_bits ?? 256;
      if (keyBits !== 256 && keyBits !== 128) throw new CaseFormatError(`"key_bits" must be 256 or 128, got ${JSON.stringify(keyBits)}`);
      drbg = CtrDrbg.seed({ crypto, entropy, keyBits, entropyLen: entropyInput.length, nonceLen: nonce.length, personalization });
    } else {
      const hash = typeof c.hash === 'string' ? HASHES[c.hash] : undefined;
      if (hash === undefined) throw new CaseFormatError(`"hash" must be one of ${Object.keys(HASHES).join(', ')}, got ${JSON.stringify(c.hash)}`);
      drbg = HmacDrbg.seed({ crypto, hash, entropy, entropyLen: entropyInput.length, nonceLen: nonce.length, personalization });
    }
    if (pr) drbg.setPredictionResistance(true);

    let out: Uint8Array = new Uint8Array(0);
    let g = 0;
    for (const step of (flow as string).split(',').slice(1)) {
      if (step === 'reseed') drbg.reseed(reseed!.additional);
      else out = drbg.generate(expected.length, additional[g++]!);
    }
    if (next !== queue.length) {
      return fail(suite, name, `only ${next} of the case's ${queue.length} entropy inputs were requested (next unused: ${queue[next]!.what})`);
    }
    if (!bytesEqual(out, expected)) return fail(suite, name, `second generate returned ${toHex(out)}, expected ${toHex(expected)}`);
    return { suite, name, passed: true };
  } catch (e) {
    if (e instanceof CaseFormatError) return fail(suite, name, `malformed case: ${e.message}`);
    const code = e instanceof NvsecError ? `${e.code}: ` : '';
    return fail(suite, name, `${code}${errorMessage(e)}`);
  } finally {
    drbg?.destroy();
  }
}

function fail(suite: string, name: string, detail: string): SelftestCase {
  return { suite, name, passed: false, detail };
}

function hexField(obj: Record<string, unknown>, key: string, prefix = ''): Uint8Array {
  const v = obj[key];
  if (typeof v !== 'string') throw new CaseFormatError(`"${prefix}${key}" must be a hex string`);
  return parseHex(v, `${prefix}${key}`);
}

function hexList(obj: Record<string, unknown>, key: string, count: number): Uint8Array[] {
  const v = obj[key];
  if (!Array.isArray(v) || v.length !== count || !v.every((x) => typeof x === 'string')) {
    throw new CaseFormatError(`"${key}" must be a list of ${count} hex strings`);
  }
  return v.map((x: string, i) => parseHex(x, `${key}[${i}]`));
}

function parseHex(s: string, what: string): Uint8Array {
  try {
    return fromHex(s);
  } catch (e) {
    throw new CaseFormatError(`"${what}": ${errorMessage(e)}`);
  }
}
