// Secure Boot V2 benchmarks on the 4 MiB image: sign and verify in process (MB/s) with the
// shared RSA-3072 and ECDSA P-256 keys, and the whole `secure-boot sign-data` / `verify-signature`
// CLI runs next to espsecure's figures (../shared/bench/peer-baselines.md). Every signed output
// is verified; every verification must succeed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeCrypto, readSigningKey, signImage, verifyWithKey } from './_dist.js';
import { type Check, makeRow, type PeerFigure, type Row, timeInProcessAsync, timeProcess, type GroupConfig } from './_harness.js';
import { SHARED } from './nvs-generate.js';
import { benchImage4m } from './_workloads.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = 'dist/nvsec.mjs';
const KEYS = { rsa3072: 'rsa3072.pem', ecdsa256: 'ecdsa256.pem' } as const;
type KeyId = keyof typeof KEYS;

/** The ids of this group, for bench/run.ts's GROUPS. */
export const SIGNING_IDS: readonly string[] = [
  'sign-rsa3072',
  'sign-ecdsa256',
  'verify-rsa3072',
  'verify-ecdsa256',
  'sign-rsa3072-4mib',
  'sign-ecdsa256-4mib',
  'verify-rsa3072-4mib',
  'verify-ecdsa256-4mib',
];

const PEERS: Readonly<Record<string, PeerFigure>> = {
  'sign-rsa3072': { label: 'python3 -m espsecure sign-data --version 2 --keyfile rsa3072.pem --output image-4m.rsa.bin image-4m.bin', median: 0.425, min: 0.401, max: 0.557 },
  'sign-ecdsa256': { label: 'python3 -m espsecure sign-data --version 2 --keyfile ecdsa256.pem --output image-4m.ecdsa.bin image-4m.bin', median: 0.283, min: 0.206, max: 0.314 },
  'verify-rsa3072': { label: 'python3 -m espsecure verify-signature --version 2 --keyfile rsa3072.pem image-4m.rsa.bin', median: 0.448, min: 0.398, max: 0.454 },
  'verify-ecdsa256': { label: 'python3 -m espsecure verify-signature --version 2 --keyfile ecdsa256.pem image-4m.ecdsa.bin', median: 0.272, min: 0.245, max: 0.324 },
};
/** The issue: verification is hash-bound, >= 300 MB/s. Signing has no target; its MB/s is reported. */
const TARGET_VERIFY = { op: '>=' as const, value: 300 };

const pem = (k: KeyId): string => fs.readFileSync(path.join(SHARED, KEYS[k]), 'utf8');

/** Runs the signing group. */
export async function runSigningGroup(cfg: GroupConfig): Promise<Row[]> {
  if (!SIGNING_IDS.some(cfg.only)) return [];
  const rows: Row[] = [];
  const image = benchImage4m();
  const mb = image.length / 1e6;
  const signed: Record<KeyId, Uint8Array> = {
    rsa3072: (await signImage(nodeCrypto, image, [readSigningKey(pem('rsa3072')).signer!])).image,
    ecdsa256: (await signImage(nodeCrypto, image, [readSigningKey(pem('ecdsa256')).signer!])).image,
  };
  const node = process.execPath;
  const methodology = `${cfg.warmups} warm-up${cfg.warmups === 1 ? '' : 's'} + ${cfg.runs} runs, wall time of spawnSync (${node})`;

  for (const k of Object.keys(KEYS) as KeyId[]) {
    for (const op of ['sign', 'verify'] as const) {
      const id = `${op}-${k}`;
      if (!cfg.only(id)) continue;
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-bench-sb-'));
      try {
        fs.copyFileSync(path.join(SHARED, KEYS[k]), path.join(scratch, KEYS[k]));
        fs.writeFileSync(path.join(scratch, 'image-4m.bin'), image);
        const out = `image-4m.${k}.bin`;
        if (op === 'verify') fs.writeFileSync(path.join(scratch, out), signed[k]);
        const args =
          op === 'sign'
            ? ['secure-boot', 'sign-data', '--version', '2', '--keyfile', KEYS[k], '--output', out, 'image-4m.bin']
            : ['secure-boot', 'verify-signature', '--version', '2', '--keyfile', KEYS[k], out];
        const outputs: Uint8Array[] = [];
        let runs = 0;
        cfg.log(`${id}: whole process (node ${CLI}) …`);
        const samples = timeProcess(node, [path.join(REPO, CLI), ...args], {
          cwd: scratch,
          warmups: cfg.warmups,
          runs: cfg.runs,
          afterRun: () => {
            runs++;
            if (op === 'sign') {
              outputs.push(new Uint8Array(fs.readFileSync(path.join(scratch, out))));
              fs.rmSync(path.join(scratch, out));
            }
          },
        });
        let bad: string | undefined;
        for (const [i, o] of outputs.entries()) {
          if (!(await verifyWithKey(nodeCrypto, o, readSigningKey(pem(k)).publicKey)).verified) bad ??= `run ${i + 1}: the signed output does not verify`;
        }
        const check: Check = bad
          ? { ok: false, detail: bad }
          : { ok: true, detail: op === 'sign' ? `all ${runs} signed outputs verify` : `all ${runs} runs exited 0 (verified)` };
        rows.push(
          makeRow({ id, variant: `whole process (${CLI})`, workload: `node ${CLI} ${args.join(' ')}`, unit: 's', higherIsBetter: false, samples, peer: PEERS[id], check, notes: [methodology] }),
        );
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
    }
  }

  for (const k of Object.keys(KEYS) as KeyId[]) {
    const key = readSigningKey(pem(k));
    for (const op of ['sign', 'verify'] as const) {
      const id = `${op}-${k}-4mib`;
      if (!cfg.only(id)) continue;
      cfg.log(`${id}: in-process …`);
      let ok = true;
      const seconds = await timeInProcessAsync(
        async () => {
          if (op === 'sign') await signImage(nodeCrypto, image, [key.signer!]);
          else ok &&= (await verifyWithKey(nodeCrypto, signed[k], key.publicKey)).verified;
        },
        cfg.inProcessWarmups,
        cfg.inProcessRuns,
      );
      rows.push(
        makeRow({
          id,
          variant: 'in-process, warm',
          workload: op === 'sign' ? `signImage(image-4m.bin, [${k} signer]) incl. the self-check` : `verifyWithKey(signed image-4m.bin, ${k} public key)`,
          unit: 'MB/s',
          higherIsBetter: true,
          samples: seconds.map((s) => Math.round((mb / s) * 10) / 10),
          target: op === 'verify' ? TARGET_VERIFY : undefined,
          check: ok ? { ok: true, detail: 'every verification succeeded' } : { ok: false, detail: 'a verification failed' },
          notes: [`${cfg.inProcessWarmups} warm-ups + ${cfg.inProcessRuns} runs; MB = 10^6 bytes of the 4 MiB image`],
        }),
      );
    }
    key.signer?.destroy?.();
  }
  return rows;
}
