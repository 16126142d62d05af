import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encryptFlashData } from '../../src/boot/flash-encryption.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { runCli } from '../_support/cli.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';

const VECTORS = ['flash-enc-esp32-aes256', 'flash-enc-xts-aes128-esp32c3', 'flash-enc-xts-aes256-esp32s3'];
const POSIX_MODES = process.platform === 'win32' ? 'no POSIX modes' : false;
let dir = '';
const file = (...p: string[]) => path.join(dir, ...p);
const mode = (f: string) => fs.statSync(f).mode & 0o777;
const nvsec = (args: string[]) => runCli(args, { cwd: dir });

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-fe-cli-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('nvsec flash-encryption encrypt-flash-data / decrypt-flash-data reproduce every espsecure step', { skip: NO_VECTORS }, () => {
  for (const name of VECTORS) {
    const m = NO_VECTORS ? null : readManifest('boot', name);
    const steps: Array<{ cmd: string[]; stdout: string }> = m ? m.steps.filter((s: { cmd: string[] }) => /-flash-data$/.test(s.cmd[1]!)) : [];
    for (const [i, step] of steps.entries()) {
      it(`${name}: ${step.cmd.slice(1).join(' ')}`, () => {
        const vdir = vectorDir('boot', name);
        const args = step.cmd.slice(1);
        const outIndex = args.indexOf('--output') + 1;
        const outName = args[outIndex]!;
        const out = file(`${name}-${i}-${outName}`);
        // Inputs are read from the vector folder; the output goes to the scratch folder.
        const mapped = args.map((a, j) => (j === outIndex ? out : fs.existsSync(path.join(vdir, a)) ? path.join(vdir, a) : a));
        if (!fs.existsSync(path.join(vdir, args[args.length - 1]!))) {
          // a decrypt step reading the ciphertext an earlier step wrote: use the vector's copy
          mapped[mapped.length - 1] = path.join(vdir, args[args.length - 1]!);
        }
        const r = nvsec(['flash-encryption', ...mapped]);
        assert.equal(r.status, 0, r.stderr);
        assert.ok(r.stdout.split('\n').includes(step.stdout.split('\n')[1]!), r.stdout);
        const expectedFile = fs.existsSync(path.join(vdir, outName))
          ? path.join(vdir, outName)
          : path.join(vdir, m.inputs.plaintext.file); // decrypted files were not kept: they equal the plaintext
        assert.ok(fs.readFileSync(out).equals(fs.readFileSync(expectedFile)), `${outName} differs`);
      });
    }
  }
});

describe('nvsec flash-encryption rejections', { skip: NO_VECTORS }, () => {
  const v = (f: string) => path.join(vectorDir('boot', 'flash-enc-esp32-aes256'), f);
  const cases: Array<[string, () => string[], string]> = [
    ['an address that is not a multiple of 16', () => ['-k', v('fe_key_256.bin'), '-a', '0x10008'], 'Starting flash address 0x10008 must be a multiple of 16.'],
    [
      'a 512-bit key without --aes-xts',
      () => ['-k', path.join(vectorDir('boot', 'flash-enc-xts-aes256-esp32s3'), 'fe_key_xts256_512bit.bin'), '-a', '0x10000'],
      'ESP32 supports only 192 and 256-bit keys. Provided key is 512 bits.',
    ],
    ['a 192-bit key with --aes-xts', () => ['--aes-xts', '-k', file('k24.bin'), '-a', '0x10000'], 'AES_XTS supports only 128, 256, and 512-bit keys. Provided key is 192 bits.'],
    ['a key file of 33 bytes', () => ['-k', file('k33.bin'), '-a', '0x10000'], 'Key file contains wrong length (33 bytes), 16, 24, 32 or 64 expected.'],
    ['a missing key file', () => ['-k', file('none.bin'), '-a', '0x10000'], 'Cannot read the key file'],
    ['an address that is not a number', () => ['-k', v('fe_key_256.bin'), '-a', '64k'], '--address "64k" is not a number'],
    ['FLASH_CRYPT_CONFIG 0x10', () => ['-k', v('fe_key_256.bin'), '-a', '0', '--flash-crypt-conf', '0x10'], 'FLASH_CRYPT_CONFIG 16 is not a 4-bit eFuse value'],
  ];
  for (const [what, args, message] of cases) {
    it(`exits 2 with one line for ${what}, and writes no output`, () => {
      fs.writeFileSync(file('k24.bin'), new Uint8Array(24));
      fs.writeFileSync(file('k33.bin'), new Uint8Array(33));
      const r = nvsec(['flash-encryption', 'encrypt-flash-data', ...args(), '-o', file('rejected.bin'), v('plain.bin')]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(r.stderr.includes(message), r.stderr);
      assert.equal(fs.existsSync(file('rejected.bin')), false);
    });
  }

  it('refuses an output that is the input, leaving the input intact', () => {
    fs.copyFileSync(v('plain.bin'), file('same.bin'));
    const r = nvsec(['flash-encryption', 'encrypt-flash-data', '-k', v('fe_key_256.bin'), '-a', '0x10000', '-o', file('same.bin'), file('same.bin')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /should not be the same!/);
    assert.ok(fs.readFileSync(file('same.bin')).equals(fs.readFileSync(v('plain.bin'))));
  });

  it('takes the old underscore spellings and prints a --json summary without key bytes', () => {
    const key = fs.readFileSync(path.join(vectorDir('boot', 'flash-enc-xts-aes128-esp32c3'), 'fe_key_xts128_256bit.bin'));
    const r = nvsec([
      'flash-encryption',
      'encrypt_flash_data',
      '--aes_xts',
      '--keyfile',
      path.join(vectorDir('boot', 'flash-enc-xts-aes128-esp32c3'), 'fe_key_xts128_256bit.bin'),
      '--address',
      '0x12000',
      '--output',
      file('keys-enc.bin'),
      '--json',
      path.join(vectorDir('boot', 'flash-enc-xts-aes128-esp32c3'), 'nvs_keys_plain.bin'),
    ]);
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual([j.command, j.address, j.bytes, j.scheme, j.keyBits, j.flashCryptConf], ['encrypt-flash-data', 0x12000, 4096, 'xts-aes128', 256, null]);
    assert.equal(r.stdout.includes(key.toString('hex')), false);
    assert.ok(fs.readFileSync(file('keys-enc.bin')).equals(fs.readFileSync(path.join(vectorDir('boot', 'flash-enc-xts-aes128-esp32c3'), 'nvs_keys_enc_0x12000.bin'))));
  });
});

describe('nvsec flash-encryption on a large ESP32 input (worker threads)', () => {
  it('gives the same bytes as the library, both ways', () => {
    const key = crypto.randomBytes(32);
    const data = crypto.randomBytes(0x80000);
    fs.writeFileSync(file('big-key.bin'), key);
    fs.writeFileSync(file('big.bin'), data);
    const e = nvsec(['flash-encryption', 'encrypt-flash-data', '-k', file('big-key.bin'), '-a', '0x100000', '-o', file('big-enc.bin'), file('big.bin')]);
    assert.equal(e.status, 0, e.stderr);
    assert.deepEqual(new Uint8Array(fs.readFileSync(file('big-enc.bin'))), encryptFlashData(nodeCrypto, key, data, 0x100000));
    const d = nvsec(['flash-encryption', 'decrypt-flash-data', '-k', file('big-key.bin'), '-a', '0x100000', '-o', file('big-dec.bin'), file('big-enc.bin')]);
    assert.equal(d.status, 0, d.stderr);
    assert.ok(fs.readFileSync(file('big-dec.bin')).equals(data));
    if (!POSIX_MODES) assert.equal(mode(file('big-dec.bin')) & 0o077, 0, 'decrypted output is private');
  });
});

describe('nvsec flash-encryption generate-flash-encryption-key', () => {
  it('writes a 256-bit key by default, mode 0600, that encrypt-flash-data takes', { skip: POSIX_MODES }, () => {
    const r = nvsec(['flash-encryption', 'generate-flash-encryption-key', file('fe.bin')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Writing 256 random bits to key file/);
    assert.equal(fs.statSync(file('fe.bin')).size, 32);
    assert.equal(mode(file('fe.bin')), 0o600);
    fs.writeFileSync(file('data.bin'), new Uint8Array(64));
    const e = nvsec(['flash-encryption', 'encrypt-flash-data', '-k', file('fe.bin'), '-a', '0x1000', '-o', file('data-enc.bin'), file('data.bin')]);
    assert.equal(e.status, 0, e.stderr);
  });

  it('writes each key length in bits, and refuses other lengths and 192 with --aes-xts', () => {
    for (const bits of [128, 192, 512]) {
      const r = nvsec(['flash-encryption', 'generate-flash-encryption-key', '--keylen', String(bits), '--json', file(`k${bits}.bin`)]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).keyBits, bits);
      assert.equal(fs.statSync(file(`k${bits}.bin`)).size, bits / 8);
    }
    for (const args of [['--keylen', '100'], ['--keylen', '192', '--aes-xts']]) {
      const r = nvsec(['flash-encryption', 'generate-flash-encryption-key', ...args, file('bad.bin')]);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(fs.existsSync(file('bad.bin')), false);
    }
  });

  it('does not replace an existing key file unless --force is given', () => {
    fs.writeFileSync(file('keep.bin'), 'precious');
    const r = nvsec(['flash-encryption', 'generate-flash-encryption-key', file('keep.bin')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /already exists/);
    assert.equal(fs.readFileSync(file('keep.bin'), 'utf8'), 'precious');
    const f = nvsec(['flash-encryption', 'generate-flash-encryption-key', '--force', file('keep.bin')]);
    assert.equal(f.status, 0, f.stderr);
    assert.equal(fs.statSync(file('keep.bin')).size, 32);
  });

  it('--help teaches: the schemes, the key lengths and examples', () => {
    const h = nvsec(['flash-encryption', 'encrypt-flash-data', '--help']);
    assert.equal(h.status, 0);
    for (const s of ['--keyfile', '--address', '--flash-crypt-conf', '--aes-xts', 'XTS-AES-256', 'Examples:']) assert.ok(h.stdout.includes(s), s);
    const g = nvsec(['flash-encryption', 'generate-flash-encryption-key', '--help']);
    for (const s of ['--keylen', '0600', 'Examples:']) assert.ok(g.stdout.includes(s), s);
  });
});
