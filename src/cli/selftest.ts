import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { NvsecError } from '../errors/nvsec-error.js';
import type { SelftestCase } from '../entropy/selftest/case.js';
import { powerOnSelfTest, replayVectorFile } from '../entropy/selftest/run.js';
import { nodeCrypto } from '../node/node-crypto.js';
import { runAction } from './_run.js';
import { errorMessage } from '../errors/error-message.js';

/** `nvsec selftest [FILES...] [--json]`. */
export function registerSelftestCommand(program: Command): void {
  program
    .command('selftest')
    .argument('[files...]', 'vector files (JSON) or folders of them; none: the built-in power-on self test')
    .description('Known-answer tests of the DRBGs and the entropy accumulator, built in or replayed from vector files')
    .option('--json', 'print {"passed": N, "total": N, "failures": [...]}')
    .addHelpText(
      'after',
      `
With no file, runs the built-in power-on self test: known answers for CTR_DRBG (AES-256 and
AES-128), HMAC_DRBG (SHA-1, -224, -256, -384, -512) and the entropy accumulator with its NV seed.

With files (or folders, read for *.json), replays each case and reports it:
  NIST DRBG files          {"family": "CTR_DRBG" | "HMAC_DRBG", "cases": [...]} (CAVP known answers)
  Mbed TLS golden runs     collector + NV seed + DRBG over two boots, or the collector alone

Exit status 1 when any case fails.

Examples:
  nvsec selftest
  nvsec selftest ../shared/vectors/entropy --json`,
    )
    .action(
      runAction((files: string[], opts: { json?: boolean }) => {
        const results: SelftestCase[] = [];
        if (files.length === 0) results.push(...powerOnSelfTest(nodeCrypto));
        for (const file of expand(files)) {
          // A file that cannot be replayed is one failed case, named after it; the other files still run.
          let cases: SelftestCase[];
          try {
            cases = replayVectorFile(JSON.parse(fs.readFileSync(file, 'utf8')), nodeCrypto);
          } catch (e) {
            cases = [{ suite: 'file', name: 'replay', passed: false, detail: `cannot be replayed: ${errorMessage(e)}` }];
          }
          results.push(...cases.map((r) => ({ ...r, suite: `${path.basename(file)}: ${r.suite}` })));
        }
        const failures = results.filter((r) => !r.passed);
        if (opts.json) {
          console.log(JSON.stringify({ passed: results.length - failures.length, total: results.length, failures }));
        } else {
          const suites = new Map<string, { passed: number; total: number }>();
          for (const r of results) {
            const s = suites.get(r.suite) ?? { passed: 0, total: 0 };
            s.total++;
            if (r.passed) s.passed++;
            suites.set(r.suite, s);
          }
          for (const [suite, s] of suites) console.log(`${s.passed === s.total ? 'ok  ' : 'FAIL'} ${suite}: ${s.passed}/${s.total}`);
          for (const f of failures.slice(0, 20)) console.log(`  failed: ${f.suite} / ${f.name}${f.detail ? `: ${f.detail}` : ''}`);
          if (failures.length > 20) console.log(`  … and ${failures.length - 20} more failures`);
          console.log(`${results.length - failures.length} passed, ${failures.length} failed`);
        }
        if (failures.length > 0) process.exitCode = 1;
      }),
    );
}

/** Files as given, folders replaced by the *.json files in them (and their sub-folders), sorted. */
function expand(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (!fs.existsSync(p)) throw new NvsecError('SELFTEST_BAD_FILE', `"${p}" does not exist`);
    if (fs.statSync(p).isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) {
        const child = path.join(p, name);
        if (fs.statSync(child).isDirectory()) out.push(...expand([child]));
        else if (name.endsWith('.json')) out.push(child);
      }
    } else {
      out.push(p);
    }
  }
  return out;
}
