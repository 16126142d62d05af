// PKCS#11 signing throughput, ECDSA P-256: the Node KeyCrypto (dist/) in process, for CKM_ECDSA
// (a 32-byte digest signed as it is) and CKM_ECDSA_SHA256 (a 32-byte message hashed by OpenSSL),
// @noble/curves' prehashed signing for reference, and SoftHSM 2.6.1 driven through pkcs11js the way
// ../shared/specs/pkcs11-and-p11kit.md §4 measured it: C_SignInit + C_Sign(CKM_ECDSA, 32-byte hash)
// on a session key pair of a throwaway token. The target: >= SoftHSM (16k–22k/s) for
// CKM_ECDSA and CKM_ECDSA_SHA256. Every timed signer's output is verified by OpenSSL.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import type * as Pkcs11js from 'pkcs11js';
import { loadNodeKeyCrypto } from './_dist.js';
import { generateSessionP256Key, p256Public } from './_pkcs11js.js';
import { runTokenRows, TOKEN_IDS } from './pkcs11-token.js';
import { type Check, makeRow, type PeerFigure, type Row, type Target, timeInProcess } from './_harness.js';

/** The ids of this group, for bench/run.ts's GROUPS. */
export const PKCS11_IDS: readonly string[] = ['ecdsa-p256-keycrypto', 'ecdsa-sha256-p256-keycrypto', 'ecdsa-p256-noble', 'ecdsa-p256-softhsm', ...TOKEN_IDS];

/** Options of the PKCS#11 group. */
export interface Pkcs11BenchConfig {
  only: (id: string) => boolean;
  log: (line: string) => void;
  /** Fewer runs and signatures (figures not comparable with the targets). */
  quick: boolean;
}

const SOFTHSM_LIB = '/usr/lib/softhsm/libsofthsm2.so';
/** The spec's Node/pkcs11js → SoftHSM direct range (§4), used when SoftHSM cannot run here. */
const SPEC_SOFTHSM: PeerFigure = { label: 'Node 20 + pkcs11js → SoftHSM 2.6.1 direct, C_SignInit+C_Sign CKM_ECDSA P-256 (spec §4, other machine)', median: 19_200, min: 16_000, max: 22_400 };
/** ">= SoftHSM (16k–22k/s)": the top of SoftHSM's range, so a pass beats all of it. */
const TARGET: Target = { op: '>=', value: 22_400 };

/** OpenSSL verifies `sig` (r ‖ s) as an ECDSA-SHA-256 signature of `message`. */
function opensslCheck(what: string, pub: crypto.KeyObject, message: Uint8Array, sigs: readonly Uint8Array[]): Check {
  const bad = sigs.filter((s) => !crypto.verify('sha256', message, { key: pub, dsaEncoding: 'ieee-p1363' }, s)).length;
  return bad === 0 ? { ok: true, detail: `OpenSSL verifies ${sigs.length} of ${what}'s signatures` } : { ok: false, detail: `${bad} of ${sigs.length} ${what} signatures do not verify with OpenSSL` };
}

interface Timed {
  samples: number[];
  signatures: Uint8Array[];
}

/** `runs` timed runs of `count` signatures each (after `warmups` untimed runs): signatures per second. */
function timeSigner(sign: () => Uint8Array, count: number, warmups: number, runs: number): Timed {
  const signatures: Uint8Array[] = [];
  const seconds = timeInProcess(
    () => {
      let last: Uint8Array | undefined;
      for (let i = 0; i < count; i++) last = sign();
      if (last !== undefined) signatures.push(last);
    },
    warmups,
    runs,
  );
  return { samples: seconds.map((s) => Math.round(count / s)), signatures };
}

/** A throwaway SoftHSM token with a session P-256 key pair, logged in; close() removes everything. */
interface SoftHsm {
  sign(digest: Buffer): Uint8Array;
  /** Whether C_SignInit accepts the mechanism (CKR_MECHANISM_INVALID → false). */
  supports(mechanism: number): boolean;
  point: Uint8Array;
  close(): void;
}

function openSoftHsm(pkcs11js: typeof Pkcs11js, log: (line: string) => void): SoftHsm | string {
  if (!fs.existsSync(SOFTHSM_LIB)) return `${SOFTHSM_LIB} not found (install softhsm2)`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-bench-softhsm-'));
  const tokens = path.join(dir, 'tokens');
  fs.mkdirSync(tokens);
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const previousConf = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = conf;
  const restore = (): void => {
    if (previousConf === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = previousConf;
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const init = spawnSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--so-pin', '5678', '--pin', '1234'], { encoding: 'utf8' });
  if (init.error !== undefined || init.status !== 0) {
    restore();
    return `softhsm2-util --init-token failed: ${init.error?.message ?? init.stderr.trim()}`;
  }
  log('ecdsa-p256-softhsm: token "bench" initialised in a temp dir');
  const p11 = new pkcs11js.PKCS11();
  p11.load(SOFTHSM_LIB);
  p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    const slot = p11.C_GetSlotList(true).find((s) => p11.C_GetTokenInfo(s).label.trim() === 'bench');
    if (slot === undefined) throw new Error('the "bench" token has no slot');
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p11.C_Login(session, pkcs11js.CKU_USER, '1234');
    const keys = generateSessionP256Key(pkcs11js, p11, session);
    const out = Buffer.alloc(64);
    return {
      sign: (digest) => {
        p11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, keys.privateKey);
        return new Uint8Array(p11.C_Sign(session, digest, out));
      },
      supports: (mechanism) => {
        try {
          p11.C_SignInit(session, { mechanism }, keys.privateKey);
          p11.C_SignFinal(session, Buffer.alloc(64)); // ends the operation (any result)
          return true;
        } catch (e) {
          if (e instanceof Error && /CKR_MECHANISM_INVALID/.test(e.message)) return false;
          return true;
        }
      },
      point: keys.point,
      close: () => {
        try {
          p11.C_Logout(session);
          p11.C_CloseSession(session);
        } finally {
          p11.C_Finalize();
          p11.close();
          restore();
        }
      },
    };
  } catch (e) {
    p11.C_Finalize();
    p11.close();
    restore();
    return `SoftHSM set-up failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Runs the PKCS#11 signing group. */
export async function runPkcs11Group(cfg: Pkcs11BenchConfig): Promise<Row[]> {
  if (!PKCS11_IDS.some(cfg.only)) return [];
  const rows: Row[] = [];
  const warmups = cfg.quick ? 1 : 2;
  const runs = cfg.quick ? 3 : 7;
  const count = cfg.quick ? 2_000 : 20_000;
  const methodology = (n: number): string => `${warmups} warm-up${warmups === 1 ? '' : 's'} + ${runs} runs of ${n.toLocaleString('en-US')} signatures, in process; the last signature of each run checked`;
  const message = new Uint8Array(crypto.randomBytes(32));
  const digest = crypto.createHash('sha256').update(message).digest();

  // SoftHSM first: its figure is the peer of the KeyCrypto rows.
  let softhsmPeer: PeerFigure = SPEC_SOFTHSM;
  let sha256Note = 'SoftHSM: CKM_ECDSA_SHA256 not tried (SoftHSM did not run)';
  if (cfg.only('ecdsa-p256-softhsm') || cfg.only('ecdsa-p256-keycrypto') || cfg.only('ecdsa-sha256-p256-keycrypto') || cfg.only('token-ecdsa-p256') || cfg.only('token-ecdsa-sha256-p256')) {
    cfg.log('ecdsa-p256-softhsm: C_SignInit + C_Sign(CKM_ECDSA) through pkcs11js …');
    // The native addon is loaded only here: the other benchmark groups do not need it.
    let pkcs11js: typeof Pkcs11js | undefined;
    try {
      pkcs11js = ((await import('pkcs11js')) as { default: typeof Pkcs11js }).default;
    } catch (e) {
      cfg.log(`ecdsa-p256-softhsm: pkcs11js cannot be loaded (${e instanceof Error ? e.message : String(e)})`);
    }
    const hsm = pkcs11js === undefined ? 'pkcs11js not loadable' : openSoftHsm(pkcs11js, cfg.log);
    if (typeof hsm === 'string') {
      cfg.log(`ecdsa-p256-softhsm: skipped: ${hsm}`);
    } else {
      try {
        const t = timeSigner(() => hsm.sign(digest), count / 2, warmups, runs);
        const row = makeRow({
          id: 'ecdsa-p256-softhsm',
          variant: 'SoftHSM 2.6.1 via pkcs11js',
          workload: 'C_SignInit + C_Sign(CKM_ECDSA, 32-byte SHA-256 digest), P-256 session key',
          unit: 'ops/s',
          higherIsBetter: true,
          samples: t.samples,
          peer: SPEC_SOFTHSM,
          check: opensslCheck('SoftHSM', p256Public(hsm.point), message, t.signatures),
          notes: [methodology(count / 2)],
        });
        if (cfg.only('ecdsa-p256-softhsm')) rows.push(row);
        softhsmPeer = { label: 'SoftHSM 2.6.1 via pkcs11js, CKM_ECDSA P-256, this run', ...row.stats };
        sha256Note = hsm.supports(pkcs11js!.CKM_ECDSA_SHA256)
          ? 'SoftHSM accepted C_SignInit(CKM_ECDSA_SHA256) but is not timed here'
          : 'SoftHSM 2.6.1: C_SignInit(CKM_ECDSA_SHA256) gives CKR_MECHANISM_INVALID: not supported, no SoftHSM figure for this mechanism; the peer is its CKM_ECDSA figure';
      } finally {
        hsm.close();
      }
    }
  }

  const kc = await loadNodeKeyCrypto();
  const { d, point } = kc.generateEcKey('P-256');
  const pub = p256Public(point);
  const key = kc.preparePrivateKey({ type: 'ec', curve: 'P-256', d });
  const keyCryptoRows: [string, string, () => Uint8Array, string[]][] = [
    ['ecdsa-p256-keycrypto', 'sign({ kind: ecdsa, hash: null }, 32-byte SHA-256 digest) = CKM_ECDSA', () => key.sign({ kind: 'ecdsa', hash: null }, digest), []],
    ['ecdsa-sha256-p256-keycrypto', 'sign({ kind: ecdsa, hash: sha256 }, 32-byte message) = CKM_ECDSA_SHA256', () => key.sign({ kind: 'ecdsa', hash: 'sha256' }, message), [sha256Note]],
  ];
  for (const [id, workload, sign, notes] of keyCryptoRows) {
    if (!cfg.only(id)) continue;
    cfg.log(`${id}: in-process …`);
    const t = timeSigner(sign, count, warmups, runs);
    rows.push(
      makeRow({ id, variant: 'KeyCrypto (loadNodeKeyCrypto), in-process', workload, unit: 'ops/s', higherIsBetter: true, samples: t.samples, peer: softhsmPeer, target: TARGET, check: opensslCheck('KeyCrypto', pub, message, t.signatures), notes: [methodology(count), ...notes] }),
    );
  }
  key.destroy();
  d.fill(0);

  if (cfg.only('ecdsa-p256-noble')) {
    cfg.log('ecdsa-p256-noble: in-process …');
    const sk = p256.utils.randomSecretKey();
    const n = cfg.quick ? 100 : 1_000;
    const t = timeSigner(() => p256.sign(digest, sk, { prehash: false, format: 'compact' }), n, warmups, runs);
    rows.push(
      makeRow({
        id: 'ecdsa-p256-noble',
        variant: '@noble/curves p256.sign, prehash: false (reference)',
        workload: 'p256.sign(32-byte SHA-256 digest, sk, { prehash: false }): pure-JS CKM_ECDSA',
        unit: 'ops/s',
        higherIsBetter: true,
        samples: t.samples,
        peer: softhsmPeer,
        check: opensslCheck('noble', p256Public(p256.getPublicKey(sk, false)), message, t.signatures),
        notes: [methodology(n)],
      }),
    );
    sk.fill(0);
  }
  rows.push(...(await runTokenRows(cfg, softhsmPeer, sha256Note)));
  return rows;
}
