import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toHex } from '../../src/bytes/hex.js';
import { runCli } from '../_support/cli.js';

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-efuse-cli-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const key = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i);
const digest = Uint8Array.from({ length: 32 }, (_, i) => 0x10 + i);

describe('nvsec efuse', () => {
  it('burns a key, a digest and fields into a new 0600 file and summarises them without printing the key', () => {
    const file = path.join(dir, 'c3.efuse');
    fs.writeFileSync(path.join(dir, 'key.bin'), key);
    fs.writeFileSync(path.join(dir, 'digest.bin'), digest);
    let r = runCli(['efuse', 'burn-key', 'BLOCK_KEY0', 'key.bin', 'XTS_AES_128_KEY', '--file', file, '--chip', 'esp32c3'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    if (process.platform !== 'win32') assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    r = runCli(['efuse', 'burn-key-digest', 'BLOCK_KEY1', 'digest.bin', 'SECURE_BOOT_DIGEST0', '--file', file], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    r = runCli(['efuse', 'burn-efuse', 'SPI_BOOT_CRYPT_CNT', '1', 'SECURE_BOOT_EN', '1', '--file', file, '--do-not-confirm'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    r = runCli(['efuse', 'summary', '--file', file, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const field = (n: string) => out.fields.find((f: { name: string }) => f.name === n);
    assert.deepEqual(field('BLOCK_KEY0'), { name: 'BLOCK_KEY0', block: 'BLOCK_KEY0', value: null, readProtected: true, writeProtected: true });
    assert.equal(field('BLOCK_KEY1').value, toHex(digest));
    assert.equal(field('KEY_PURPOSE_0').value, 4, 'XTS_AES_128_KEY is purpose 4');
    assert.deepEqual([out.state.flashEncryption, out.state.secureBoot, out.state.secureBootDigests[0].slot], [true, true, 0]);
    const text = runCli(['efuse', 'summary', '--file', file]).stdout;
    for (const s of [r.stdout, text]) {
      assert.ok(!s.includes(toHex(key)) && !s.includes(toHex(key.slice().reverse())), 'the key must never be printed');
    }
    assert.match(text, /BLOCK_KEY0 \(BLOCK_KEY0\)\s+= \?\? \?\?.* -\/-/);
  });

  it('hides readable keys in the summary unless --show-sensitive-info, but shows digests', () => {
    const file = path.join(dir, 'esp32.efuse');
    fs.writeFileSync(path.join(dir, 'key.bin'), key);
    fs.writeFileSync(path.join(dir, 'digest.bin'), digest);
    assert.equal(runCli(['efuse', 'burn-key', 'flash_encryption', 'key.bin', '--file', file, '--chip', 'esp32', '--no-protect-key'], { cwd: dir }).status, 0);
    assert.equal(runCli(['efuse', 'burn-key-digest', 'digest.bin', '--file', file], { cwd: dir }).status, 0);
    const field = (args: string[], name: string) => JSON.parse(runCli(['efuse', 'summary', '--file', file, '--json', ...args]).stdout).fields.find((f: { name: string }) => f.name === name);
    assert.deepEqual([field([], 'BLOCK1').value, field([], 'BLOCK1').readProtected], [null, false]);
    assert.equal(field(['--show-sensitive-info'], 'BLOCK1').value, toHex(key.slice().reverse()));
    assert.equal(field([], 'BLOCK2').value, toHex(digest));
  });

  it('refuses a burn that would clear a bit with one line and exit 2, leaving the file untouched', () => {
    const file = path.join(dir, 'refuse.efuse');
    assert.equal(runCli(['efuse', 'burn-efuse', 'FLASH_CRYPT_CNT', '0b1', '--file', file, '--chip', 'esp32']).status, 0);
    const before = fs.readFileSync(file);
    const r = runCli(['efuse', 'burn-efuse', 'JTAG_DISABLE', '1', 'FLASH_CRYPT_CNT', '0b10', '--file', file]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^nvsec: error: Cannot burn FLASH_CRYPT_CNT: .*0 -> 1.*\n$/);
    assert.deepEqual(fs.readFileSync(file), before, 'the earlier JTAG_DISABLE of the same command was not saved either');
  });

  it('a key or digest of the wrong size, or a missing key file, is refused with exit 2 like every other refused burn', () => {
    const file = path.join(dir, 'sizes.efuse');
    const short = path.join(dir, 'short.bin');
    fs.writeFileSync(short, new Uint8Array(31));
    for (const args of [
      ['efuse', 'burn-key-digest', 'BLOCK_KEY0', short, 'SECURE_BOOT_DIGEST0', '--file', file, '--chip', 'esp32c3'],
      ['efuse', 'burn-key', 'BLOCK_KEY0', short, 'XTS_AES_128_KEY', '--file', file, '--chip', 'esp32c3'],
      ['efuse', 'burn-key', 'BLOCK_KEY0', path.join(dir, 'missing.bin'), 'XTS_AES_128_KEY', '--file', file, '--chip', 'esp32c3'],
    ]) {
      const r = runCli(args);
      assert.equal(r.status, 2, `${args.join(' ')}\n${r.stderr}`);
      assert.match(r.stderr, /^nvsec: error: /);
    }
  });

  it('needs --chip to create a file and rejects unknown chips and malformed values as usage errors', () => {
    const file = path.join(dir, 'none.efuse');
    for (const args of [
      ['efuse', 'burn-efuse', 'SECURE_BOOT_EN', '1', '--file', file],
      ['efuse', 'burn-efuse', 'SECURE_BOOT_EN', '1', '--file', file, '--chip', 'esp8266'],
      ['efuse', 'burn-efuse', 'SECURE_BOOT_EN', 'yes', '--file', file, '--chip', 'esp32c3'],
    ]) {
      const r = runCli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^nvsec: error: /);
    }
    assert.equal(fs.existsSync(file), false);
  });

  it('teaches with examples in --help', () => {
    const r = runCli(['efuse', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Examples:/);
    assert.match(r.stdout, /burn-key BLOCK_KEY0 .* XTS_AES_128_KEY/);
  });
});
