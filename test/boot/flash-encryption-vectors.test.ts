import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { createFlashCipher } from '../../src/boot/flash-encryption.js';
import { loadFlashEncryptionKey } from '../../src/boot/flash-encryption-key.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NO_VECTORS, readManifest, vectorCases, vectorDir } from '../_support/vectors.js';

const VECTORS = ['flash-enc-esp32-aes256', 'flash-enc-xts-aes128-esp32c3', 'flash-enc-xts-aes256-esp32s3'];
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One espsecure encrypt-flash-data / decrypt-flash-data step of a manifest, parsed. */
interface Step {
  verb: 'encrypt' | 'decrypt';
  keyfile: string;
  address: number;
  conf: number;
  aesXts: boolean;
  output: string;
  input: string;
  stdout: string;
}

function parseStep(cmd: string[], stdout: string): Step | null {
  if (cmd[0] !== 'espsecure' || (cmd[1] !== 'encrypt-flash-data' && cmd[1] !== 'decrypt-flash-data')) return null;
  const opt = (name: string) => {
    const i = cmd.indexOf(name);
    return i < 0 ? undefined : cmd[i + 1];
  };
  return {
    verb: cmd[1] === 'encrypt-flash-data' ? 'encrypt' : 'decrypt',
    keyfile: opt('--keyfile')!,
    address: Number(opt('--address')!), // the manifests write hex with 0x, which Number() reads
    conf: opt('--flash-crypt-conf') === undefined ? 0xf : Number(opt('--flash-crypt-conf')),
    aesXts: cmd.includes('--aes-xts'),
    output: opt('--output')!,
    input: cmd[cmd.length - 1]!,
    stdout,
  };
}

/** The bytes a step must produce: its output file when kept, else (decrypt) the plaintext it was made from. */
function expectedOutput(dir: string, step: Step, steps: Step[]): Uint8Array {
  const out = path.join(dir, step.output);
  if (fs.existsSync(out)) return new Uint8Array(fs.readFileSync(out));
  assert.equal(step.verb, 'decrypt', `${step.output} is missing`);
  const producer = steps.find((s) => s.verb === 'encrypt' && s.output === step.input && s.address === step.address);
  assert.ok(producer, `no encrypt step made ${step.input}`);
  return new Uint8Array(fs.readFileSync(path.join(dir, producer.input)));
}

describe('flash encryption reproduces espsecure 5.3.1 (golden vectors)', { skip: NO_VECTORS }, () => {
  it('covers every flash-encryption vector in the folder', () => {
    const found = vectorCases('boot').filter((n) => readManifest('boot', n).kind === 'flash-encryption');
    assert.deepEqual(found, VECTORS);
  });

  for (const name of VECTORS) {
    describe(name, () => {
      const m = NO_VECTORS ? null : readManifest('boot', name);
      const dir = NO_VECTORS ? '' : vectorDir('boot', name);
      const steps: Step[] = m ? m.steps.map((s: { cmd: string[]; stdout: string }) => parseStep(s.cmd, s.stdout)).filter(Boolean) : [];

      it('has input files whose sha256 match the manifest', () => {
        for (const [what, d] of Object.entries(m.inputs) as Array<[string, { file: string; sha256: string }]>) {
          assert.equal(sha256(fs.readFileSync(path.join(dir, d.file))), d.sha256, what);
        }
      });

      for (const step of steps) {
        it(`${step.verb}-flash-data at 0x${step.address.toString(16)}${step.aesXts ? ' --aes-xts' : ` conf 0x${step.conf.toString(16)}`} of ${step.input} is byte-identical`, () => {
          const key = new Uint8Array(fs.readFileSync(path.join(dir, step.keyfile)));
          const input = new Uint8Array(fs.readFileSync(path.join(dir, step.input)));
          const c = createFlashCipher(nodeCrypto, key, { aesXts: step.aesXts, flashCryptConf: step.conf });
          try {
            const got = step.verb === 'encrypt' ? c.encrypt(input, step.address) : c.decrypt(input, step.address);
            const want = expectedOutput(dir, step, steps);
            assert.equal(got.length, want.length);
            assert.ok(Buffer.from(got).equals(Buffer.from(want)), `${step.output} differs (sha256 ${sha256(got)})`);
          } finally {
            c.destroy();
          }
        });
      }

      it('matches every expected case: sha256 and first 32 bytes of the ciphertext', () => {
        const key = new Uint8Array(fs.readFileSync(path.join(dir, m.inputs.key.file)));
        const xts = name.includes('xts');
        for (const c of m.expected.cases) {
          const plainFile = c.plaintext ?? m.inputs.plaintext.file;
          const plain = new Uint8Array(fs.readFileSync(path.join(dir, plainFile)));
          const cipher = createFlashCipher(nodeCrypto, key, { aesXts: xts, flashCryptConf: c.flash_crypt_conf === undefined ? 0xf : Number(c.flash_crypt_conf) });
          const ct = cipher.encrypt(plain, Number(c.address));
          cipher.destroy();
          assert.equal(sha256(ct), c.ciphertext.sha256, `${c.address}`);
          assert.equal(hex(ct.subarray(0, 32)), c.first_32_bytes_hex);
        }
      });

      it("gives espsecure's key note (its stdout after the banner) for each step's key", () => {
        for (const step of steps) {
          const key = new Uint8Array(fs.readFileSync(path.join(dir, step.keyfile)));
          const { note } = loadFlashEncryptionKey(nodeCrypto, key, step.aesXts ? 'xts' : 'esp32');
          assert.equal(note, step.stdout.split('\n')[1]);
        }
      });
    });
  }
});
