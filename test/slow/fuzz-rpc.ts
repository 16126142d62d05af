/**
 * p11-kit RPC fuzzer (`npm run fuzz:rpc`): feeds mutated frame streams into `RpcConnection` over a
 * real token and checks that nothing crashes or hangs and that every answer is well-formed.
 *
 *   npm run fuzz:rpc -- [--cases N] [--seed S] [--minutes M]
 *
 * - `--cases N`   number of cases (default 100000); each case is one connection fed a stream of
 *                 frames of which at least one is mutated
 * - `--seed S`    PRNG seed (default fixed, printed); a run is deterministic
 * - `--minutes M` stop after M minutes even if not all cases ran
 *
 * Seeds are the byte streams captured from p11-kit-client.so (test/pkcs11/_rpc-captures.ts: -L,
 * -M, keygen, sign) cut into frames. Mutations: bit flips, interesting bytes and u32s (0, 1,
 * 0x7FFFFFFF, 0xFFFFFFFF, a length ± 1) at random offsets and at length fields, truncation,
 * duplicated and inserted runs, frames spliced from another capture, random call ids and
 * signature strings, random bytes; the offered version byte is 0, 1 or 2 (both mechanism layouts);
 * the stream is delivered in random chunks.
 *
 * A finding is: `receive()` or `end()` throwing; a response that is not a frame echoing a request
 * code, whose body does not decode as ERROR ("u") or the call's response signature; the connection's
 * sessions still open after `end()`; a fresh connection failing C_Initialize + C_GetTokenInfo on
 * the same token afterwards (checked every 100 cases). Cases run in a worker; the main thread
 * aborts when no case finishes for 10 s (a hang). The last line is `N passed, N failed`.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { loadNodeKeyCrypto } from '../../src/node/node-key-crypto.js';
import { CKF_SESSION, CKU } from '../../src/pkcs11/constants.js';
import { MemoryObjectStore } from '../../src/pkcs11/pal/memory-object-store.js';
import { RPC_CALLS } from '../../src/pkcs11/rpc/calls.js';
import { type Frame, FrameDecoder, encodeFrame } from '../../src/pkcs11/rpc/frames.js';
import { RpcConnection } from '../../src/pkcs11/rpc/server.js';
import { WireReader } from '../../src/pkcs11/rpc/wire.js';
import { createTokenDrbg } from '../../src/pkcs11/token/token-drbg.js';
import { Token } from '../../src/pkcs11/token/token.js';
import { CAPTURES } from '../pkcs11/_rpc-captures.js';
import { decodeBody, framesOf, hex, initializeArgs, request } from '../pkcs11/_rpc.js';

interface Options {
  cases: number;
  seed: number;
  minutes: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { cases: 100_000, seed: 0x5eed_0008, minutes: Infinity };
  for (let i = 0; i < argv.length; i += 2) {
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${argv[i]} needs a number, got "${argv[i + 1]}"`);
    if (argv[i] === '--cases') o.cases = v;
    else if (argv[i] === '--seed') o.seed = v;
    else if (argv[i] === '--minutes') o.minutes = v;
    else throw new RangeError(`unknown option ${argv[i]}`);
  }
  return o;
}

/** xorshift32: deterministic, fast, good enough to pick mutations. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const INTERESTING_U32 = [0, 1, 2, 8, 0x7f, 0x80, 0xff, 0x1000, 0x7ffffffe, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const INTERESTING_BYTES = [0, 1, 2, 0x7f, 0x80, 0xfe, 0xff];

function mutate(body: Uint8Array, rand: () => number, other: Uint8Array): Uint8Array {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  let b = body.slice();
  const rounds = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < rounds; k++) {
    const at = b.length === 0 ? 0 : Math.floor(rand() * b.length);
    switch (Math.floor(rand() * 10)) {
      case 0:
        if (b.length > 0) b[at] = b[at]! ^ (1 << Math.floor(rand() * 8));
        break;
      case 1:
        if (b.length > 0) b[at] = pick(INTERESTING_BYTES);
        break;
      case 2:
      case 3: {
        // A u32 at a random 4-byte boundary past the call id: often a length or a count.
        const pos = 4 * Math.floor((rand() * Math.max(1, b.length - 3)) / 4);
        if (pos + 4 <= b.length) new DataView(b.buffer).setUint32(pos, pick(INTERESTING_U32));
        break;
      }
      case 4:
        b = b.subarray(0, at).slice();
        break;
      case 5: {
        const len = Math.floor(rand() * 16);
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at, at + len), ...b.subarray(at)]);
        break;
      }
      case 6: {
        const ins = Uint8Array.from({ length: 1 + Math.floor(rand() * 12) }, () => Math.floor(rand() * 256));
        b = new Uint8Array([...b.subarray(0, at), ...ins, ...b.subarray(at)]);
        break;
      }
      case 7:
        // The argument bytes of another request after this call id and signature.
        b = new Uint8Array([...b.subarray(0, Math.min(b.length, 8 + Math.floor(rand() * 8))), ...other.subarray(Math.min(other.length, 8))]);
        break;
      case 8:
        if (b.length >= 4) new DataView(b.buffer).setUint32(0, Math.floor(rand() * 95));
        break;
      default:
        b = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
    }
  }
  return b;
}

interface Finding {
  readonly case: number;
  readonly what: string;
}

async function makeToken(): Promise<Token> {
  const t = new Token({ store: new MemoryObjectStore(), crypto: nodeCrypto, keys: await loadNodeKeyCrypto(), random: createTokenDrbg(nodeCrypto), pinIterations: 1000, slotId: 0x11 });
  t.initialize();
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  t.initToken(0x11, enc('87654321'), 'fuzz');
  const s = t.openSession(0x11, CKF_SESSION.CKF_SERIAL_SESSION | CKF_SESSION.CKF_RW_SESSION);
  t.loginAs(s, CKU.CKU_SO, enc('87654321'));
  t.initPin(s, enc('123456'));
  t.closeSession(s);
  return t;
}

/** Checks the server's output of one case: frames echoing request codes with well-formed bodies. */
function checkOutput(out: Uint8Array[], codes: ReadonlySet<number>, format: 'legacy' | 'typed'): string | null {
  if (out.length === 0) return null;
  const first = out[0]!;
  if (first.length !== 1 || first[0] !== 0) return `version answer ${Buffer.from(first).toString('hex')}`;
  const d = new FrameDecoder();
  let frames: Frame[];
  try {
    frames = out.slice(1).flatMap((b) => d.push(b));
  } catch (e) {
    return `response framing: ${(e as Error).message}`;
  }
  if (d.buffered !== 0) return 'a partial response frame';
  for (const f of frames) {
    if (!codes.has(f.code)) return `response code ${f.code} echoes no request`;
    try {
      const b = decodeBody(f.body, 'response', format);
      const id = new WireReader(f.body).u32();
      if (id === 0 ? b.signature !== 'u' : b.signature !== RPC_CALLS[id]?.response) return `response ${id} with signature "${b.signature}"`;
    } catch (e) {
      return `response body: ${(e as Error).message}`;
    }
  }
  return null;
}

/** What the cases did, to show the fuzzer reaches past the framing. */
const stats = { frames: 0, answered: 0, errors: 0, dropped: 0 };

async function runCases(o: Options, report: (done: number, finding: Finding | null) => void): Promise<void> {
  const rand = rng(o.seed);
  const seeds = Object.values(CAPTURES).map((c) => framesOf(hex(c.client)));
  let token = await makeToken();
  const deadline = Date.now() + o.minutes * 60_000;
  for (let n = 0; n < o.cases && Date.now() < deadline; n++) {
    if (n % 2000 === 1999) token = await makeToken(); // keygen cases add token objects
    const frames = seeds[Math.floor(rand() * seeds.length)]!;
    const other = seeds[Math.floor(rand() * seeds.length)]!;
    const start = Math.floor(rand() * frames.length);
    const chosen = frames.slice(start, start + 1 + Math.floor(rand() * 12));
    // Often keep the captured C_Initialize first so that the deeper calls run.
    if (rand() < 0.8 && chosen[0] !== frames[0]) chosen.unshift(frames[0]!);
    const mutateAt = Math.floor(rand() * chosen.length);
    const codes = new Set<number>();
    const parts: Uint8Array[] = [];
    chosen.forEach((f, i) => {
      const body = i === mutateAt || rand() < 0.1 ? mutate(f.body, rand, other[Math.floor(rand() * other.length)]!.body) : f.body;
      codes.add(f.code);
      parts.push(encodeFrame(f.code, body, f.options));
    });
    const offered = [0, 0, 1, 2][Math.floor(rand() * 4)]!;
    const stream = new Uint8Array(Buffer.concat([Uint8Array.of(offered), ...parts]));
    const out: Uint8Array[] = [];
    let finding: string | null = null;
    let dropped = false;
    const conn = new RpcConnection(token, (b) => void out.push(b.slice()), () => void (dropped = true));
    stats.frames += chosen.length;
    try {
      for (let at = 0; at < stream.length; ) {
        const len = rand() < 0.5 ? stream.length : 1 + Math.floor(rand() * 64);
        conn.receive(stream.subarray(at, at + len));
        at += len;
      }
      conn.end();
      finding = checkOutput(out, codes, offered >= 2 ? 'typed' : 'legacy');
      if (dropped) stats.dropped++;
      for (const b of out.slice(1)) {
        if (b.length >= 16) {
          if (new DataView(b.buffer, b.byteOffset).getUint32(12) === 0) stats.errors++;
          else stats.answered++;
        }
      }
      if (finding === null && token.getTokenInfo(0x11).sessionCount !== 0) finding = `${token.getTokenInfo(0x11).sessionCount} sessions open after end()`;
    } catch (e) {
      finding = `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    }
    if (finding === null && n % 100 === 0) {
      const probe: Uint8Array[] = [];
      const c = new RpcConnection(token, (b) => void probe.push(b.slice()), () => undefined);
      c.receive(Uint8Array.of(0));
      c.receive(encodeFrame(1, request(1, initializeArgs)));
      c.receive(encodeFrame(2, request(6, (w) => w.u64(0x11))));
      c.end();
      const ok = probe.length === 3 && new WireReader(probe[2]!.subarray(12)).u32() === 6;
      if (!ok) finding = 'a fresh connection no longer gets C_GetTokenInfo answered';
    }
    report(n + 1, finding === null ? null : { case: n, what: finding });
  }
}

if (isMainThread) {
  const o = parseArgs(process.argv.slice(2));
  console.log(`fuzz-rpc: ${o.cases} cases, seed 0x${o.seed.toString(16)}`);
  // Workers do not inherit `--import tsx` hooks on Node 20: register tsx in the worker, then load this file.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: o });
  let done = 0;
  let last = Date.now();
  const findings: Finding[] = [];
  const started = Date.now();
  worker.on('message', (m: { done: number; finding: Finding | null; stats?: typeof stats }) => {
    done = m.done;
    if (m.stats !== undefined) console.log(`${m.stats.frames} frames fed, ${m.stats.answered} answered, ${m.stats.errors} ERROR answers, ${m.stats.dropped} connections dropped`);
    last = Date.now();
    if (m.finding !== null) {
      findings.push(m.finding);
      if (findings.length <= 20) console.log(`case ${m.finding.case}: ${m.finding.what}`);
    }
    if (m.stats === undefined && done % 10_000 === 0) console.log(`${done} cases, ${findings.length} findings, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  const watchdog = setInterval(() => {
    if (Date.now() - last > 10_000) {
      console.log(`case ${done}: no case finished for 10 s (a hang)`);
      findings.push({ case: done, what: 'hang' });
      void worker.terminate();
    }
  }, 1000);
  worker.on('exit', () => {
    clearInterval(watchdog);
    console.log(`${done - findings.length} passed, ${findings.length} failed`);
    process.exitCode = findings.length === 0 ? 0 : 1;
  });
  worker.on('error', (e) => {
    console.log(`worker error: ${e.stack ?? e.message}`);
    findings.push({ case: done, what: 'worker error' });
  });
} else {
  const o = workerData as Options;
  let pending = 0;
  let total = 0;
  await runCases(o, (done, finding) => {
    total = done;
    pending++;
    if (finding !== null || pending >= 100 || done === o.cases) {
      parentPort!.postMessage({ done, finding });
      pending = 0;
    }
  });
  parentPort!.postMessage({ done: total, finding: null, stats });
}
