import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { crc32le } from '../../src/bytes/crc32.js';
import { toHex } from '../../src/bytes/hex.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { buildKeysPartition, generateNvsKeys, parseKeysPartition } from '../../src/nvs/crypto/keys-partition.js';
import { generateNvsPartition } from '../../src/nvs/generator/generate.js';
import { runCli, TSX } from '../_support/cli.js';
import { NO_VECTORS, vectorDir } from '../_support/vectors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = path.join(ROOT, 'src', 'cli');
const POSIX_MODES = process.platform === 'win32' ? 'no POSIX modes' : false;

/**
 * Runs `nvsec <args>`: through the real entry (runCli) once src/cli/nvs.ts registers the encryption
 * commands, until then through a program built like main.ts around their register functions.
 */
function nvsec(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  if (fs.readFileSync(path.join(CLI, 'nvs.ts'), 'utf8').includes('registerNvsEncryptCommand')) return runCli(args, { cwd });
  const url = (f: string) => JSON.stringify(pathToFileURL(path.join(CLI, f)).href);
  const script = `
import { Command, CommanderError } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'node_modules', 'commander', 'esm.mjs')).href)};
import { registerNvsEncryptCommand } from ${url('nvs-encrypt.ts')};
import { registerNvsDecryptCommand } from ${url('nvs-decrypt.ts')};
import { registerNvsGenerateKeyCommand } from ${url('nvs-generate-key.ts')};
const program = new Command('nvsec').enablePositionalOptions().exitOverride()
  .configureOutput({ outputError: (text, write) => write('nvsec: ' + text) });
const nvs = program.command('nvs');
registerNvsEncryptCommand(nvs);
registerNvsDecryptCommand(nvs);
registerNvsGenerateKeyCommand(nvs);
try {
  await program.parseAsync(process.argv.slice(1), { from: 'user' });
} catch (e) {
  if (!(e instanceof CommanderError)) throw e;
  process.exitCode = e.exitCode === 0 ? 0 : 2;
}`;
  const r = spawnSync(process.execPath, ['--import', TSX, '--input-type=module', '-e', script, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, NVSEC_DEBUG: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const CSV = 'key,type,encoding,value\nwifi,namespace,,\nssid,data,string,factory\npass,data,string,hunter2\nboot,data,u32,7\n';
const PHRASE = 'wrong key, plaintext image, or wrong partition offset';

let dir = '';
const file = (...p: string[]) => path.join(dir, ...p);
const bytes = (f: string) => new Uint8Array(fs.readFileSync(f));
const mode = (f: string) => fs.statSync(f).mode & 0o777;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-nvs-encrypt-'));
  fs.writeFileSync(file('in.csv'), CSV);
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('nvsec nvs encrypt / decrypt / generate-key', () => {
  it('encrypt reproduces encrypted_fixed_key byte for byte with --inputkey', { skip: NO_VECTORS }, () => {
    const v = vectorDir('nvs', 'encrypted_fixed_key');
    const r = nvsec(['nvs', 'encrypt', 'input.csv', 'partition.bin', '0x5000', '--inputkey', 'keys.bin', '--outdir', file('fixed')], v);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(bytes(file('fixed', 'partition.bin')), bytes(path.join(v, 'partition.bin')));
    assert.equal(mode(file('fixed', 'partition.bin')) & 0o077, 0);
  });

  it('encrypt reproduces encrypted_hmac_derived, image and keys/keys.bin, with --keygen --key_protect_hmac', { skip: NO_VECTORS }, () => {
    const v = vectorDir('nvs', 'encrypted_hmac_derived');
    const args = ['encrypt', 'input.csv', 'partition.bin', '0x3000', '--keygen', '--keyfile', 'keys.bin', '--key_protect_hmac', '--kp_hmac_inputkey', 'hmac_key.bin'];
    const r = nvsec(['nvs', ...args, '--outdir', file('hmac'), '--json'], v);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(bytes(file('hmac', 'partition.bin')), bytes(path.join(v, 'partition.bin')));
    assert.deepEqual(bytes(file('hmac', 'keys', 'keys.bin')), bytes(path.join(v, 'keys', 'keys.bin')));
    const info = JSON.parse(r.stdout);
    assert.equal(info.keySource, 'keygen-hmac');
    assert.equal(info.keyfile, file('hmac', 'keys', 'keys.bin'));
    assert.equal(info.hmacKeyfile, null);
  });

  it('encrypt reproduces encrypted_keygen from the key file the tool generated', { skip: NO_VECTORS }, () => {
    const v = vectorDir('nvs', 'encrypted_keygen');
    const r = nvsec(['nvs', 'encrypt', 'input.csv', 'partition.bin', '0x3000', '--inputkey', path.join('keys', 'keys.bin'), '--outdir', file('keygen')], v);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(bytes(file('keygen', 'partition.bin')), bytes(path.join(v, 'partition.bin')));
  });

  it('decrypt reproduces decrypted.bin for the three encrypted vectors', { skip: NO_VECTORS }, () => {
    for (const [name, keys] of [
      ['encrypted_fixed_key', 'keys.bin'],
      ['encrypted_hmac_derived', 'keys/keys.bin'],
      ['encrypted_keygen', 'keys/keys.bin'],
    ] as const) {
      const v = vectorDir('nvs', name);
      const r = nvsec(['nvs', 'decrypt', 'partition.bin', keys, 'dec.bin', '--outdir', file('dec', name)], v);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.match(r.stdout, /written entries pass their CRC \(the key fits\)/);
      assert.deepEqual(bytes(file('dec', name, 'dec.bin')), bytes(path.join(v, 'decrypted.bin')), name);
    }
  });

  it('decrypt refuses the wrong_key vector with the wrong-key diagnosis and writes nothing', { skip: NO_VECTORS }, () => {
    const r = nvsec(['nvs', 'decrypt', 'partition.bin', 'keys.bin', 'dec.bin', '--outdir', file('wrongvec')], vectorDir('nvs', 'wrong_key'));
    assert.equal(r.status, 1);
    assert.ok(r.stderr.includes(PHRASE), r.stderr);
    assert.match(r.stderr, /^nvsec: error: 0 of 208 written entries .*Most likely the key is wrong.*Nothing was written\.\n$/);
    assert.equal(fs.existsSync(file('wrongvec')), false);
  });

  it('decrypt refuses blank and corrupt key partitions with their ESP-IDF errors', { skip: NO_VECTORS }, () => {
    for (const [name, err] of [
      ['blank_key_partition', /ESP_ERR_NVS_KEYS_NOT_INITIALIZED 0x1116/],
      ['corrupt_key_partition', /ESP_ERR_NVS_CORRUPT_KEY_PART 0x1117/],
    ] as const) {
      const r = nvsec(['nvs', 'decrypt', 'partition.bin', 'keys.bin', 'dec.bin', '--outdir', file('badkeys', name)], vectorDir('nvs', name));
      assert.equal(r.status, 1, name);
      assert.match(r.stderr, err);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.equal(fs.existsSync(file('badkeys', name)), false);
    }
  });

  it('encrypt --keygen writes 0600 key files whose keys differ run to run and are never printed', { skip: POSIX_MODES }, () => {
    const runs = ['a', 'b'].map((o) => {
      const r = nvsec(['nvs', 'encrypt', 'in.csv', 'enc.bin', '0x3000', '--keygen', '--outdir', o], dir);
      assert.equal(r.status, 0, r.stderr);
      const keysDir = file(o, 'keys');
      const names = fs.readdirSync(keysDir);
      assert.equal(names.length, 1);
      assert.match(names[0]!, /^keys-\d\d-\d\d_\d\d-\d\d\.bin$/);
      const keyFile = path.join(keysDir, names[0]!);
      assert.equal(mode(keyFile), 0o600);
      assert.equal(mode(file(o, 'enc.bin')), 0o600);
      const keys = parseKeysPartition(bytes(keyFile));
      assert.ok(!r.stdout.includes(toHex(keys.eky)) && !r.stdout.includes(toHex(keys.tky)), 'keys are not printed');
      return { keys, image: bytes(file(o, 'enc.bin')), keyFile };
    });
    assert.notDeepEqual(runs[0]!.keys.eky, runs[1]!.keys.eky);
    assert.notDeepEqual(runs[0]!.keys.tky, runs[1]!.keys.tky);
    assert.notDeepEqual(runs[0]!.image, runs[1]!.image);

    // decrypt with the right key gives the plain image that generate makes from the same CSV
    const r = nvsec(['nvs', 'decrypt', file('a', 'enc.bin'), runs[0]!.keyFile, 'plain.bin', '--outdir', file('a'), '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.verdict, 'ok');
    assert.equal(info.writtenEntries, 6);
    assert.equal(info.passingEntries, 6);
    assert.equal(info.output, file('a', 'plain.bin'));
    assert.deepEqual(bytes(file('a', 'plain.bin')), generateNvsPartition(CSV, { size: 0x3000 }).image);
    assert.equal(mode(file('a', 'plain.bin')), 0o600);

    // and with the other run's key it exits 1 with the diagnosis and writes no file
    const w = nvsec(['nvs', 'decrypt', file('a', 'enc.bin'), runs[1]!.keyFile, 'wrong.bin', '--outdir', file('a')], dir);
    assert.equal(w.status, 1);
    assert.ok(w.stderr.includes(PHRASE), w.stderr);
    assert.match(w.stderr, /0 of 6 written entries pass their CRC after decryption \(page 0: 0\/6\)/);
    assert.equal(w.stderr.trim().split('\n').length, 1);
    assert.equal(fs.existsSync(file('a', 'wrong.bin')), false);
  });

  it('decrypt of a plain image says it is plaintext (JSON facts on stdout) and writes nothing', () => {
    const keyFile = file('plainkeys.bin');
    fs.writeFileSync(keyFile, buildKeysPartition(generateNvsKeys(nodeCrypto)));
    fs.writeFileSync(file('plain-in.bin'), generateNvsPartition(CSV, { size: 0x3000 }).image);
    const r = nvsec(['nvs', 'decrypt', 'plain-in.bin', 'plainkeys.bin', 'out-plain.bin', '--json'], dir);
    assert.equal(r.status, 1);
    const info = JSON.parse(r.stdout);
    assert.equal(info.verdict, 'plaintext');
    assert.equal(info.plaintextPassing, 6);
    assert.equal(info.output, null);
    assert.match(r.stderr, /Most likely the image is plaintext/);
    assert.equal(fs.existsSync(file('out-plain.bin')), false);
  });

  it('encrypt refuses a key file whose two halves are equal, and writes nothing', () => {
    const weak = new Uint8Array(4096).fill(0xff);
    weak.fill(0x42, 0, 64);
    // CRC of eky‖tky (the NVS variant), so that only the equal halves are wrong
    const crc = crc32le(weak.subarray(0, 64));
    new DataView(weak.buffer).setUint32(64, crc, true);
    fs.writeFileSync(file('weak.bin'), weak);
    const r = nvsec(['nvs', 'encrypt', 'in.csv', 'weak-out.bin', '0x3000', '--inputkey', 'weak.bin'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /data key and tweak key are equal/);
    assert.equal(fs.existsSync(file('weak-out.bin')), false);
  });

  it('encrypt leaves neither image nor key file when the CSV is bad', () => {
    fs.writeFileSync(file('bad.csv'), 'key,type,encoding,value\nns,namespace,,\nthis_key_is_far_too_long,data,u8,1\n');
    const r = nvsec(['nvs', 'encrypt', 'bad.csv', 'bad.bin', '0x3000', '--keygen', '--keyfile', 'bad-keys', '--outdir', 'badrun'], dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^nvsec: error: .*15/);
    assert.equal(fs.existsSync(file('badrun', 'bad.bin')), false);
    assert.equal(fs.existsSync(file('badrun', 'keys', 'bad-keys.bin')), false);
  });

  it('encrypt reports option mistakes as usage errors (exit 2)', () => {
    for (const [args, msg] of [
      [[], /--inputkey KEYS\.bin, or --keygen/],
      [['--keygen', '--inputkey', 'k.bin'], /exclude each other/],
      [['--inputkey', 'k.bin', '--key_protect_hmac', '--kp_hmac_inputkey', 'h.bin'], /only applies with --keygen/],
      [['--keygen', '--key_protect_hmac'], /needs the HMAC key/],
      [['--keygen', '--kp_hmac_keygen'], /only applies with --key_protect_hmac/],
    ] as const) {
      const r = nvsec(['nvs', 'encrypt', 'in.csv', 'x.bin', '0x3000', ...args], dir);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });

  it('generate-key writes keys/<name>.bin (0600), an HMAC key with --kp_hmac_keygen, and never overwrites a key file', { skip: POSIX_MODES }, () => {
    const r = nvsec(['nvs', 'generate-key', '--keyfile', 'dev1', '--outdir', 'gk', '--key_protect_hmac', '--kp_hmac_keygen', '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.keyfile, file('gk', 'keys', 'dev1.bin'));
    assert.equal(info.hmacKeyfile, file('gk', 'keys', 'hmac-dev1.bin'));
    assert.equal(info.scheme, 'hmac');
    const keysBin = bytes(info.keyfile);
    assert.equal(keysBin.length, 4096);
    assert.equal(mode(info.keyfile), 0o600);
    assert.equal(mode(info.hmacKeyfile), 0o600);
    assert.equal(bytes(info.hmacKeyfile).length, 32);
    parseKeysPartition(keysBin);

    // the keys derived from the written HMAC key are the keys written
    const again = nvsec(['nvs', 'generate-key', '--keyfile', 'dev1-copy.bin', '--outdir', 'gk', '--key_protect_hmac', '--kp_hmac_inputkey', info.hmacKeyfile], dir);
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(bytes(file('gk', 'keys', 'dev1-copy.bin')), keysBin);

    const clash = nvsec(['nvs', 'generate-key', '--keyfile', 'dev1.bin', '--outdir', 'gk'], dir);
    assert.equal(clash.status, 1);
    assert.match(clash.stderr, /already exists and is not replaced/);
    assert.deepEqual(bytes(info.keyfile), keysBin);

    const plainKeys = nvsec(['nvs', 'generate-key', '--keyfile', 'plain', '--outdir', 'gk'], dir);
    assert.equal(plainKeys.status, 0, plainKeys.stderr);
    assert.match(plainKeys.stdout, /Created NVS keys .*plain\.bin/);
    assert.notDeepEqual(bytes(file('gk', 'keys', 'plain.bin')), keysBin);
  });

  it('explains itself in --help, with examples', () => {
    for (const sub of ['encrypt', 'decrypt', 'generate-key']) {
      const r = nvsec(['nvs', sub, '--help'], dir);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Examples:\n {2}\$ nvsec nvs /);
    }
  });
});
