import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../_support/cli.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';

const file = (vector: string, name = 'app.bin') => path.join(vectorDir('boot', vector), name);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-image-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of a vector image in the temp folder with byte `offset` XORed with 1. */
function tampered(vector: string, offset: number): string {
  const b = fs.readFileSync(file(vector));
  b[offset]! ^= 1;
  const out = path.join(tmp, `${vector}-${offset}.bin`);
  fs.writeFileSync(out, b);
  return out;
}

describe('nvsec image info', { skip: NO_VECTORS }, () => {
  for (const vector of ['app-image-esp32c3', 'app-image-esp32-padded']) {
    it(`prints the same header, footer and app information lines as esptool image-info for ${vector}`, () => {
      const r = runCli(['image', 'info', file(vector)]);
      assert.equal(r.status, 0, r.stderr);
      const esptool: string = readManifest('boot', vector).steps.find((s: { cmd: string[] }) => s.cmd.includes('image-info')).stdout;
      // Every line esptool printed after its banner, except the segment table esptool left empty.
      const expected = esptool.split('\n').slice(1).filter((l) => l.trim() !== '');
      const ours = r.stdout.split('\n');
      for (const line of expected) assert.ok(ours.includes(line), `missing line: ${line}`);
      assert.equal(r.stderr, '');
    });
  }

  it('lists each segment with length, load address, file offset and memory type', () => {
    const r = runCli(['image', 'info', file('app-image-esp32-padded')]);
    assert.match(r.stdout, /^ {6}3 {2}0x0f360 {2}0x00000000 {2}0x00000cb0 {2}PADDING$/m);
    assert.match(r.stdout, /^ {6}4 {2}0x00800 {2}0x400e0020 {2}0x00010018 {2}IROM$/m);
  });

  it('--json gives header, segments, checksum, sha256 and appDesc with hex strings', () => {
    const r = runCli(['image', 'info', file('app-image-esp32c3'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const info = readManifest('boot', 'app-image-esp32c3').expected.image_info;
    assert.equal(out.header.entryAddr, info.entry_addr);
    assert.equal(out.header.chipId, info.chip_id);
    assert.equal(out.header.flashSize, '4MB');
    assert.equal(out.header.flashFreq, '80m');
    assert.deepEqual(
      out.segments.map((s: { loadAddr: string; length: number; dataOffset: number }) => [s.loadAddr, s.length, s.dataOffset]),
      info.segments.map((s: { load_addr: string; length: number; data_offset: number }) => [s.load_addr, s.length, s.data_offset]),
    );
    assert.deepEqual(out.checksum, { stored: info.checksum_stored, calculated: info.checksum_calculated, valid: true });
    assert.deepEqual(out.sha256, { offset: info.sha256_offset, stored: info.sha256_stored, calculated: info.sha256_calculated, valid: true });
    assert.equal(out.appDesc.projectName, info.app_desc.project_name);
    assert.equal(out.appDesc.appElfSha256, info.app_desc.app_elf_sha256);
    assert.equal(out.appDesc.secureVersion, info.app_desc.secure_version);
    assert.equal(out.valid, true);
    assert.deepEqual(out.problems, []);
  });

  it('exits 3 and says why when a segment byte was changed (checksum invalid)', () => {
    const r = runCli(['image', 'info', tampered('app-image-esp32c3', 200)]);
    assert.equal(r.status, 3);
    assert.match(r.stdout, /^Checksum: 0xa8 \(invalid - calculated 0xa9\)$/m);
    assert.match(r.stderr, /^nvsec: error: .* is not a valid image: checksum mismatch: stored 0xa8, calculated 0xa9; .*\(and 1 more problem\(s\)\)\n$/);
  });

  it('exits 3 with only the hash invalid when a header byte was changed, also with --json', () => {
    const r = runCli(['image', 'info', tampered('app-image-esp32c3', 5), '--json']);
    assert.equal(r.status, 3);
    const out = JSON.parse(r.stdout);
    assert.equal(out.checksum.valid, true);
    assert.equal(out.sha256.valid, false);
    assert.equal(out.valid, false);
    assert.match(r.stderr, /appended SHA-256 does not match/);
  });

  it('exits 3 when --chip names another chip than the header', () => {
    const r = runCli(['image', 'info', file('app-image-esp32c3'), '--chip', 'esp32']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /image is for chip id 5 \(ESP32-C3\), not ESP32 \(chip id 0\)/);
  });

  it('exits 2 with one line when the file is not an image (an ELF)', () => {
    const r = runCli(['image', 'info', file('app-image-esp32c3', 'app.elf')]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^nvsec: error: not an ESP app image: byte 0 is 0x7f, expected magic 0xe9; .*\n$/);
  });

  it('exits 2 when the image is truncated', () => {
    const cut = path.join(tmp, 'cut.bin');
    fs.writeFileSync(cut, fs.readFileSync(file('app-image-esp32c3')).subarray(0, 3000));
    const r = runCli(['image', 'info', cut]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^nvsec: error: cannot read segment 1 of 4: .* the image is truncated or corrupt\n$/);
  });

  it('exits 2 for an unknown --chip and 1 for a missing file', () => {
    const bad = runCli(['image', 'info', file('app-image-esp32c3'), '--chip', 'esp8266']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--chip: unknown chip "esp8266"/);
    const missing = runCli(['image', 'info', path.join(tmp, 'nope.bin')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^nvsec: error: Cannot read the image ".*nope\.bin": ENOENT/);
  });

  it('reports a Secure Boot V2 signature sector after a signed image and stays valid', () => {
    const r = runCli(['image', 'info', file('sbv2-rsa-two-signatures', 'app_signed_2.bin'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).signatureSector, { offset: 65536, blockCount: 2 });
    const text = runCli(['image', 'info', file('sbv2-rsa-two-signatures', 'app_signed_2.bin')]);
    assert.match(text.stdout, /Signature sector at offset 0x00010000: 2 block\(s\) \(not verified here\)/);
  });

  it('--help teaches with examples and the exit codes', () => {
    const r = runCli(['image', 'info', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Examples:/);
    assert.match(r.stdout, /Exit status: 0 when the image is valid; 3/);
  });
});

/** The manifest's `esptool --chip C elf2image ARGS…` step as `nvsec image build --chip C ARGS…`. */
function buildArgs(vector: string, elf: string): string[] {
  const cmd: string[] = readManifest('boot', vector).steps.find((s: { cmd: string[] }) => s.cmd.includes('elf2image')).cmd;
  const [, chipFlag, chip, , ...rest] = cmd; // esptool --chip <chip> elf2image …
  assert.equal(chipFlag, '--chip');
  return ['image', 'build', '--chip', chip!, ...rest.map((a) => (a === 'app.elf' ? elf : a))];
}

describe('nvsec image build (esptool elf2image)', { skip: NO_VECTORS }, () => {
  const cases = [
    ['app-image-esp32c3', 'app.bin', (m: any) => m.outputs.image.sha256],
    ['app-image-esp32-padded', 'app.bin', (m: any) => m.outputs.image.sha256],
    ['sbv2-rsa3072-sign-verify', 'app_padded.bin', (m: any) => m.inputs.unsigned_image.sha256],
  ] as const;
  for (const [vector, out, sha] of cases) {
    it(`takes esptool's own arguments from ${vector} and writes a byte-identical ${out}`, () => {
      const dir = fs.mkdtempSync(path.join(tmp, 'build-'));
      const r = runCli(buildArgs(vector, file(vector, 'app.elf')), { cwd: dir });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^Created .* image app(_padded)?\.bin: \d+ bytes, \d+ segments, SHA-256 appended\n$/);
      const built = fs.readFileSync(path.join(dir, out));
      assert.equal(createHash('sha256').update(built).digest('hex'), sha(readManifest('boot', vector)));
    });
  }

  it('writes <input>.bin beside the ELF by default and reports it with --json', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'default-'));
    const elf = path.join(dir, 'fw.elf');
    fs.copyFileSync(file('app-image-esp32c3', 'app.elf'), elf);
    const r = runCli(['image', 'build', '--chip', 'esp32c3', elf, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.output, path.join(dir, 'fw.bin'));
    assert.equal(out.size, fs.statSync(path.join(dir, 'fw.bin')).size);
    assert.equal(out.elfSha256, readManifest('boot', 'app-image-esp32c3').expected.elf_sha256);
  });

  it('exits 2 and writes nothing when the input is not an ELF', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'bad-'));
    const r = runCli(['image', 'build', '--chip', 'esp32c3', file('app-image-esp32c3'), '-o', 'x.bin'], { cwd: dir });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^nvsec: error: not a usable ELF file: no ELF magic/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('exits 2 for a flash frequency the chip does not have', () => {
    const r = runCli(['image', 'build', '--chip', 'esp32c3', '--flash-freq', '60m', file('app-image-esp32c3', 'app.elf'), '-o', path.join(tmp, 'f.bin')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--flash-freq: ESP32-C3 supports 80m, 40m, 26m, 20m, not "60m"/);
  });
});
