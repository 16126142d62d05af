// p11-kit RPC throughput (issue 8): ECDSA P-256 C_SignInit + C_Sign(CKM_ECDSA, 32-byte hash) per
// second, and the round trip of a trivial call (C_GetSessionInfo) in µs, from Node + pkcs11js
// through Debian's p11-kit-client.so, against both servers in the same run:
//   softhsm  `p11-kit server` fronting SoftHSMv2 (the reference; the issue saw ~4k–14k sign/s)
//   nvsec    `nvsec token serve` (skipped with a note when it does not start)
// Target: nvsec's signatures/s >= the reference's median of this run. Every timed signature is
// verified by OpenSSL (node:crypto) against the public key read from the token.
//
//   node --import tsx bench/p11kit-rpc.ts [--signs N] [--roundtrips N] [--runs N] [--warmups N] [--only softhsm,nvsec] [--quick]
//
// Each server gets its own client process (this script with --worker): p11-kit-client.so reads
// P11_KIT_SERVER_ADDRESS when it is loaded, and a fresh process keeps the two clients' heaps and
// JIT state apart. Prints a table, then the rows as JSON.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import type * as Pkcs11js from 'pkcs11js';
import { TSX } from '../test/_support/cli.js';
import { findP11KitClient, SERVER_KINDS, type ServerKind, servedTokenUnavailable, startServedToken } from '../test/_support/p11kit-server.js';
import { generateSessionP256Key, p256Public } from './_pkcs11js.js';
import { type Check, formatTable, makeRow, type PeerFigure, type Row, summarize, timeInProcess } from './_harness.js';

const LABEL = 'bench';
const SO_PIN = '12345678';
const USER_PIN = '123456';

interface Config {
  signs: number;
  roundtrips: number;
  runs: number;
  warmups: number;
}

/** What a worker reports on its stdout (one JSON line). */
interface WorkerResult {
  /** Signatures per second, one sample per timed run. */
  signSamples: number[];
  /** µs per C_GetSessionInfo, one sample per timed run. */
  roundtripSamples: number[];
  check: Check;
}

// ---------------------------------------------------------------- worker (one client process)

function worker(config: Config): WorkerResult {
  const client = findP11KitClient();
  if (client === null) throw new Error('p11-kit-client.so not found (apt-get install p11-kit-modules)');
  const pkcs11js = createRequire(import.meta.url)('pkcs11js') as typeof Pkcs11js;
  const p11 = new pkcs11js.PKCS11();
  p11.load(client);
  // p11-kit's client refuses init args without CKF_OS_LOCKING_OK (spec P13).
  p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    const slots = p11.C_GetSlotList(true);
    const slot = slots[0];
    if (slots.length !== 1 || slot === undefined) throw new Error(`expected one slot through p11-kit-client.so, got ${slots.length}`);
    // nvsec's served store starts uninitialised; SoftHSM's token was initialised by softhsm2-util.
    if ((p11.C_GetTokenInfo(slot).flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0) {
      p11.C_InitToken(slot, SO_PIN, LABEL);
      const so = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      p11.C_Login(so, pkcs11js.CKU_SO, SO_PIN);
      p11.C_InitPIN(so, USER_PIN);
      p11.C_Logout(so);
      p11.C_CloseSession(so);
    }
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p11.C_Login(session, pkcs11js.CKU_USER, USER_PIN);
    const keys = generateSessionP256Key(pkcs11js, p11, session);
    const publicKey = p256Public(keys.point);

    // Signing: the SHA-256 of a fresh message per run, every signature kept for OpenSSL to verify.
    const signed: { message: Buffer; signatures: Buffer[] }[] = [];
    const signSeconds = timeInProcess(
      () => {
        const message = crypto.randomBytes(32);
        const digest = crypto.createHash('sha256').update(message).digest();
        const signatures: Buffer[] = [];
        for (let i = 0; i < config.signs; i++) {
          p11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, keys.privateKey);
          signatures.push(p11.C_Sign(session, digest, Buffer.alloc(64)));
        }
        signed.push({ message, signatures });
      },
      config.warmups,
      config.runs,
    );
    let total = 0;
    let bad = 0;
    for (const { message, signatures } of signed) {
      for (const sig of signatures) {
        total++;
        // CKM_ECDSA signed SHA-256(message) as given, so OpenSSL's ECDSA-SHA-256 of the message must accept it.
        const ok = sig.length === 64 && crypto.verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig);
        if (!ok) bad++;
      }
    }
    const check: Check =
      bad === 0 ? { ok: true, detail: `OpenSSL verifies all ${total} signatures (ECDSA P-256 with SHA-256 of the message)` } : { ok: false, detail: `${bad} of ${total} signatures do not verify with OpenSSL` };

    const rtSeconds = timeInProcess(
      () => {
        for (let i = 0; i < config.roundtrips; i++) p11.C_GetSessionInfo(session);
      },
      config.warmups,
      config.runs,
    );
    p11.C_Logout(session);
    p11.C_CloseSession(session);
    return {
      signSamples: signSeconds.map((s) => Math.round(config.signs / s)),
      roundtripSamples: rtSeconds.map((s) => Math.round((s / config.roundtrips) * 1e7) / 10),
      check,
    };
  } finally {
    p11.C_Finalize();
    p11.close();
  }
}

// ---------------------------------------------------------------- main (servers, table, JSON)

/** Runs one server kind: start it, run a worker process against it, stop it. A string says why it did not run. */
async function measure(kind: ServerKind, config: Config): Promise<WorkerResult | string> {
  let unavailable: string | null;
  try {
    unavailable = servedTokenUnavailable(kind);
  } catch (e) {
    return (e as Error).message;
  }
  if (unavailable !== null) return unavailable;
  let served;
  try {
    served = await startServedToken({ kind, label: LABEL, soPin: SO_PIN, userPin: USER_PIN });
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
  try {
    const env = { ...process.env, ...served.env };
    delete env.NODE_OPTIONS;
    const r = spawnSync(
      process.execPath,
      ['--import', TSX, fileURLToPath(import.meta.url), '--worker', '--signs', String(config.signs), '--roundtrips', String(config.roundtrips), '--runs', String(config.runs), '--warmups', String(config.warmups)],
      { env, encoding: 'utf8', maxBuffer: 16 << 20 },
    );
    if (r.error !== undefined) return `worker did not run: ${r.error.message}`;
    if (r.status !== 0) return `worker exited with ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}; server stderr: ${served.stderr().trim()}`;
    const last = r.stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(last) as WorkerResult;
  } finally {
    await served.stop();
  }
}

function usage(message: string): never {
  console.error(`p11kit-rpc: ${message}\nusage: node --import tsx bench/p11kit-rpc.ts [--signs N] [--roundtrips N] [--runs N] [--warmups N] [--only softhsm,nvsec] [--quick]`);
  process.exit(2);
}

function positive(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(v)) usage(`--${name} takes a whole number > 0, got ${v}`);
  return Number(v);
}

async function main(): Promise<void> {
  let values: { signs?: string; roundtrips?: string; runs?: string; warmups?: string; only?: string; quick?: boolean; worker?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        signs: { type: 'string' },
        roundtrips: { type: 'string' },
        runs: { type: 'string' },
        warmups: { type: 'string' },
        only: { type: 'string' },
        quick: { type: 'boolean' },
        worker: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  const quick = values.quick === true;
  const config: Config = {
    signs: positive('signs', values.signs, quick ? 300 : 3000),
    roundtrips: positive('roundtrips', values.roundtrips, quick ? 1000 : 20_000),
    runs: positive('runs', values.runs, quick ? 2 : 5),
    warmups: values.warmups === '0' ? 0 : positive('warmups', values.warmups, 1),
  };
  if (values.worker === true) {
    process.stdout.write(`${JSON.stringify(worker(config))}\n`);
    return;
  }
  const kinds = values.only === undefined ? SERVER_KINDS : values.only.split(',').map((k) => k.trim());
  for (const k of kinds) if (!SERVER_KINDS.includes(k as ServerKind)) usage(`unknown server kind ${k} (softhsm, nvsec)`);

  const results = new Map<ServerKind, WorkerResult | string>();
  for (const kind of kinds as ServerKind[]) {
    console.error(`p11kit-rpc: ${kind}: ${config.runs} runs of ${config.signs} signatures and ${config.roundtrips} C_GetSessionInfo…`);
    results.set(kind, await measure(kind, config));
  }

  const reference = results.get('softhsm');
  const peerOf = (samples: number[], what: string): PeerFigure => ({ label: `p11-kit server + SoftHSMv2 (same run), ${what}`, ...summarize(samples) });
  const rows: Row[] = [];
  const skipped: string[] = [];
  for (const [kind, r] of results) {
    if (typeof r === 'string') {
      skipped.push(`${kind}: not run: ${r}`);
      continue;
    }
    const isNvsec = kind === 'nvsec';
    const refOk = typeof reference === 'object';
    rows.push(
      makeRow({
        id: 'p11kit-rpc-ecdsa-p256-sign',
        variant: kind === 'softhsm' ? 'p11-kit server + SoftHSMv2' : 'nvsec token serve',
        workload: 'C_SignInit + C_Sign(CKM_ECDSA, 32-byte hash), P-256 session key, Node + pkcs11js → p11-kit-client.so → unix socket',
        unit: 'ops/s',
        higherIsBetter: true,
        samples: r.signSamples,
        peer: isNvsec && refOk ? peerOf(reference.signSamples, 'signatures/s') : undefined,
        target: isNvsec && refOk ? { op: '>=', value: summarize(reference.signSamples).median } : undefined,
        check: r.check,
        notes: isNvsec && !refOk ? ['no reference figure in this run (SoftHSM server not run), so no target'] : [],
      }),
      makeRow({
        id: 'p11kit-rpc-get-session-info',
        variant: kind === 'softhsm' ? 'p11-kit server + SoftHSMv2' : 'nvsec token serve',
        workload: 'one C_GetSessionInfo round trip (µs per call)',
        unit: 'µs',
        higherIsBetter: false,
        samples: r.roundtripSamples,
        peer: isNvsec && refOk ? peerOf(reference.roundtripSamples, 'µs per C_GetSessionInfo') : undefined,
      }),
    );
  }

  console.log(formatTable(rows));
  for (const s of skipped) console.log(`note ${s}`);
  console.log(
    JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}` },
        config,
        rows,
        skipped,
      },
      null,
      2,
    ),
  );
  // A failed check or missed target fails the run; so does a server named with --only that did not run.
  if (rows.some((r) => r.verdict === 'FAIL') || (values.only !== undefined && skipped.length > 0)) process.exitCode = 1;
}

await main();
