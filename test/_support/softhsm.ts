import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * A throwaway SoftHSMv2 token for one test file: its own token directory and softhsm2.conf in a
 * temporary directory, initialised with `softhsm2-util --init-token --free`, removed by `dispose()`.
 *
 * SoftHSM reads SOFTHSM2_CONF when C_Initialize runs, so {@link createSoftHsmToken} sets it in
 * `process.env` before anything loads or initialises the library. node --test runs every test file
 * in its own process, so one token per file never meets another file's token.
 */

/** Where distributions put the module; `SOFTHSM2_LIB` overrides. Debian/Ubuntu first. */
const LIBRARY_CANDIDATES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
];

/** The SoftHSM module path, or null when none is installed. */
export function findSoftHsmLibrary(): string | null {
  const fromEnv = process.env.SOFTHSM2_LIB;
  if (fromEnv !== undefined && fromEnv !== '') return fs.existsSync(fromEnv) ? fromEnv : null;
  return LIBRARY_CANDIDATES.find((p) => fs.existsSync(p)) ?? null;
}

/**
 * Why SoftHSM cannot run here, or null when it can. Under CI (`process.env.CI` set) a missing
 * SoftHSM is an error, not a skip: the conformance suite must not silently vanish from CI.
 *
 * @throws Error under CI when the module or softhsm2-util is missing.
 */
export function softHsmUnavailable(): string | null {
  const lib = findSoftHsmLibrary();
  const util = spawnSync('softhsm2-util', ['--version'], { encoding: 'utf8' });
  let reason: string | null = null;
  if (lib === null) reason = 'SoftHSMv2 module libsofthsm2.so not found (set SOFTHSM2_LIB or `apt-get install softhsm2`)';
  else if (util.error !== undefined || util.status !== 0) reason = 'softhsm2-util not found on PATH (`apt-get install softhsm2`)';
  if (reason !== null && process.env.CI !== undefined && process.env.CI !== '') {
    throw new Error(`${reason}; CI is set, so the PKCS#11 conformance suite fails instead of skipping`);
  }
  return reason;
}

/** A SoftHSM token made for one test file. */
export interface SoftHsmToken {
  /** Path of libsofthsm2.so. */
  readonly library: string;
  readonly label: string;
  readonly soPin: string;
  readonly userPin: string;
  /** Removes the token directory and restores SOFTHSM2_CONF. */
  dispose(): void;
}

/**
 * Creates an initialised SoftHSM token (user PIN set) in a fresh temporary directory and points
 * SOFTHSM2_CONF at it. Call before the module's C_Initialize.
 *
 * @throws Error when SoftHSM is not installed or softhsm2-util fails (its stderr in the message).
 * @example
 * const token = createSoftHsmToken({ label: 'conformance', soPin: '12345678', userPin: '87654321' });
 * try { ... } finally { token.dispose(); }
 */
export function createSoftHsmToken(options: { label: string; soPin: string; userPin: string }): SoftHsmToken {
  const library = findSoftHsmLibrary();
  if (library === null) throw new Error('SoftHSMv2 is not installed (`apt-get install softhsm2`)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-softhsm-'));
  const tokens = path.join(dir, 'tokens');
  fs.mkdirSync(tokens);
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const init = spawnSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', options.label, '--so-pin', options.soPin, '--pin', options.userPin],
    { encoding: 'utf8', env: { ...process.env, SOFTHSM2_CONF: conf } },
  );
  const dispose = () => {
    if (previous === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = previous;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (init.error !== undefined || init.status !== 0) {
    dispose();
    throw new Error(`softhsm2-util --init-token failed (status ${init.status}): ${init.stderr || init.error?.message}`);
  }
  return { library, label: options.label, soPin: options.soPin, userPin: options.userPin, dispose };
}
