// A PKCS#11 token served over p11-kit's RPC protocol, for tests and benchmarks that drive it with
// unmodified native clients through p11-kit-client.so (../shared/specs/pkcs11-and-p11kit.md §3).
//
// Two servers under test:
// - 'softhsm': the reference, `p11-kit server` fronting SoftHSMv2 with a fresh, initialised token
//   in its own SOFTHSM2_CONF directory;
// - 'nvsec':   `nvsec token serve --store <fresh dir> --socket <path>`, run from source with tsx; a
//   missing directory store starts as an uninitialised token.
// Both print `P11_KIT_SERVER_ADDRESS=…` on their first stdout line; the value is what a client
// puts in its environment. Every server lives in its own temporary directory (socket, store,
// SoftHSM tokens), removed by stop() or, at the latest, when the process exits.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TSX } from './cli.js';
import { findSoftHsmLibrary } from './softhsm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The two RPC servers the flows and the benchmark can run against. */
export type ServerKind = 'softhsm' | 'nvsec';
export const SERVER_KINDS: readonly ServerKind[] = ['softhsm', 'nvsec'];

/** Where distributions put p11-kit's RPC client module; `P11KIT_CLIENT_LIB` overrides. Debian/Ubuntu first. */
const CLIENT_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so',
  '/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-client.so',
  '/usr/lib64/pkcs11/p11-kit-client.so',
  '/usr/lib/pkcs11/p11-kit-client.so',
];

/** Where libengine-pkcs11-openssl puts OpenSSL 3's pkcs11 engine; `PKCS11_ENGINE_LIB` overrides. */
const ENGINE_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so',
  '/usr/lib/aarch64-linux-gnu/engines-3/pkcs11.so',
  '/usr/lib64/engines-3/pkcs11.so',
];

function firstExisting(envName: string, candidates: readonly string[]): string | null {
  const fromEnv = process.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return fs.existsSync(fromEnv) ? fromEnv : null;
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

/** Path of p11-kit-client.so, or null when p11-kit-modules is not installed. */
export function findP11KitClient(): string | null {
  return firstExisting('P11KIT_CLIENT_LIB', CLIENT_CANDIDATES);
}

/** Path of OpenSSL 3's pkcs11 engine (libp11), or null when libengine-pkcs11-openssl is not installed. */
export function findPkcs11Engine(): string | null {
  return firstExisting('PKCS11_ENGINE_LIB', ENGINE_CANDIDATES);
}

/**
 * The server kind chosen by `NVSEC_RPC_SERVER` (softhsm | nvsec), nvsec when unset.
 *
 * @throws Error for any other value.
 */
export function serverKindFromEnv(): ServerKind {
  const v = process.env.NVSEC_RPC_SERVER;
  if (v === undefined || v === '') return 'nvsec';
  if (v === 'softhsm' || v === 'nvsec') return v;
  throw new Error(`NVSEC_RPC_SERVER=${v}: expected softhsm or nvsec`);
}

const onPath = (cmd: string, args: readonly string[]): boolean => {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined;
};

/**
 * Why the served-token flows cannot run here (a missing Debian package, named), or null when they
 * can. `tools` are the native programs the caller needs besides the server. Under CI (`CI` set) a
 * missing tool is an error, not a skip: the flows must not silently vanish from CI.
 *
 * @throws Error under CI when something is missing.
 */
export function servedTokenUnavailable(kind: ServerKind, tools: readonly ('pkcs11-tool' | 'p11tool' | 'openssl-engine')[] = []): string | null {
  const missing: string[] = [];
  if (findP11KitClient() === null) missing.push('p11-kit-client.so (apt-get install p11-kit-modules)');
  if (kind === 'softhsm') {
    if (!onPath('p11-kit', ['--help'])) missing.push('p11-kit (apt-get install p11-kit)');
    if (findSoftHsmLibrary() === null || !onPath('softhsm2-util', ['--version'])) missing.push('SoftHSMv2 (apt-get install softhsm2)');
  }
  if (tools.includes('pkcs11-tool') && !onPath('pkcs11-tool', ['--help'])) missing.push('pkcs11-tool (apt-get install opensc)');
  if (tools.includes('p11tool') && !onPath('p11tool', ['--version'])) missing.push('p11tool (apt-get install gnutls-bin)');
  if (tools.includes('openssl-engine') && (findPkcs11Engine() === null || !onPath('openssl', ['version']))) {
    missing.push('OpenSSL 3 pkcs11 engine (apt-get install openssl libengine-pkcs11-openssl)');
  }
  if (missing.length === 0) return null;
  const reason = `missing ${missing.join(', ')}`;
  if (process.env.CI !== undefined && process.env.CI !== '') throw new Error(`${reason}; CI is set, so the p11-kit RPC flows fail instead of skipping`);
  return reason;
}

/** Options of {@link startServedToken}. */
export interface ServedTokenOptions {
  readonly kind: ServerKind;
  /** Token label: SoftHSM's token is initialised with it and the server serves only that token. Default "rpc". */
  readonly label?: string;
  /** SO and user PINs of SoftHSM's initialised token (nvsec's starts uninitialised). Defaults 12345678 / 123456. */
  readonly soPin?: string;
  readonly userPin?: string;
  /** How long to wait for the address line. Default 20 s (tsx compiles the CLI on first start). */
  readonly startTimeoutMs?: number;
}

/** A running RPC server. */
export interface ServedToken {
  readonly kind: ServerKind;
  /** The value of P11_KIT_SERVER_ADDRESS, e.g. `unix:path=/tmp/…/pkcs11`. */
  readonly address: string;
  /** Environment a client adds to reach the server: `{ P11_KIT_SERVER_ADDRESS: address }`. */
  readonly env: Readonly<Record<string, string>>;
  readonly label: string;
  readonly soPin: string;
  readonly userPin: string;
  /** Whether the token was initialised (SO and user PIN set) before the server started: SoftHSM yes, nvsec no. */
  readonly initialised: boolean;
  /** Everything the server wrote to stderr so far, for failure messages. */
  stderr(): string;
  /** SIGTERM (SIGKILL after 5 s), waits for the exit, removes the socket and every file the server used. */
  stop(): Promise<void>;
}

const live = new Set<{ child: ChildProcess; dir: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const s of live) {
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
  });
}

/** Reads the child's first stdout line and takes P11_KIT_SERVER_ADDRESS from it. */
function readAddress(child: ChildProcess, what: string, timeoutMs: number, stderr: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`${what} ${why}; stdout: ${JSON.stringify(out)}; stderr: ${stderr().trim() || '(empty)'}`));
    };
    const timer = setTimeout(() => fail(`printed no P11_KIT_SERVER_ADDRESS line within ${timeoutMs} ms`), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      if (out.includes('\n')) return;
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const m = /^P11_KIT_SERVER_ADDRESS=([^;\s]+)/.exec(out.slice(0, nl));
      if (m === null) fail('did not print P11_KIT_SERVER_ADDRESS=… on its first stdout line');
      else resolve(m[1]!);
    });
    child.once('error', (e) => fail(`could not start: ${e.message}`));
    child.once('exit', (code, signal) => fail(`exited (status ${code}, signal ${signal}) before printing its address`));
  });
}

/**
 * Starts an RPC server of `kind` over a fresh token in a fresh temporary directory and resolves
 * once it has printed its address.
 *
 * @throws Error when SoftHSM's token cannot be initialised, or the server exits, fails to start or
 *   prints no address line in time (its stdout and stderr in the message); the directory is removed.
 * @example
 * const served = await startServedToken({ kind: 'softhsm', label: 'flows' });
 * try {
 *   execFileSync('pkcs11-tool', ['--module', findP11KitClient()!, '-L'], { env: { ...process.env, ...served.env } });
 * } finally {
 *   await served.stop();
 * }
 */
export async function startServedToken(options: ServedTokenOptions): Promise<ServedToken> {
  const { kind } = options;
  const label = options.label ?? 'rpc';
  const soPin = options.soPin ?? '12345678';
  const userPin = options.userPin ?? '123456';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nvsec-rpc-${kind}-`));
  const socket = path.join(dir, 'pkcs11');
  let child: ChildProcess;
  try {
    if (kind === 'softhsm') {
      const library = findSoftHsmLibrary();
      if (library === null) throw new Error('SoftHSMv2 is not installed (`apt-get install softhsm2`)');
      const tokens = path.join(dir, 'tokens');
      fs.mkdirSync(tokens);
      const conf = path.join(dir, 'softhsm2.conf');
      fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
      const env = { ...process.env, SOFTHSM2_CONF: conf };
      const init = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', userPin], { encoding: 'utf8', env });
      if (init.error !== undefined || init.status !== 0) {
        throw new Error(`softhsm2-util --init-token failed (status ${init.status}): ${init.stderr || init.error?.message}`);
      }
      // -f: stay in the foreground (our child, so stop() ends it); the URI serves only our token.
      child = spawn('p11-kit', ['server', '-f', '-n', socket, '--provider', library, `pkcs11:token=${encodeURIComponent(label)}`], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } else {
      child = spawn(
        process.execPath,
        ['--import', TSX, path.join(ROOT, 'src', 'cli', 'main.ts'), 'token', 'serve', '--store', path.join(dir, 'store'), '--socket', socket],
        { cwd: ROOT, env: { ...process.env, NVSEC_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
    }
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const entry = { child, dir };
  live.add(entry);
  installExitHook();
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    live.delete(entry);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const what = kind === 'softhsm' ? 'p11-kit server' : 'nvsec token serve';
  let address: string;
  try {
    address = await readAddress(child, what, options.startTimeoutMs ?? 20_000, () => err);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    kind,
    address,
    env: { P11_KIT_SERVER_ADDRESS: address },
    label,
    soPin,
    userPin,
    initialised: kind === 'softhsm',
    stderr: () => err,
    stop,
  };
}
