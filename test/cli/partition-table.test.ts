import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli, TSX } from '../_support/cli.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NAME = 'partition-table-ota-nvs-keys';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const POSIX_MODES = process.platform === 'win32' ? 'no POSIX modes' : false;

/** Runs the CLI with bytes on stdin and stdout kept as bytes. */
function runWithStdin(args: string[], input: Uint8Array, cwd: string): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', TSX, path.join(ROOT, 'src', 'cli', 'main.ts'), ...args], { cwd, input, env: { ...process.env, NVSEC_DEBUG: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

describe('nvsec partition-table', () => {
  let tmp = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-pt-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('the golden vector', { skip: NO_VECTORS }, () => {
    const dir = NO_VECTORS ? '' : vectorDir('boot', NAME);
    const manifest = NO_VECTORS ? null : readManifest('boot', NAME);
    const step = (i: number) => manifest.steps[i] as { cmd: string[]; exit_code: number; stdout: string; stderr: string };

    it('converts the CSV to the binary with the tool\'s stderr and exit status, creating the output folder', () => {
      const out = path.join(tmp, 'build', 'sub', 'partitions.bin');
      const r = runCli(['partition-table', path.join(dir, 'partitions.csv'), out]);
      assert.equal(r.status, step(0).exit_code);
      assert.equal(r.stdout, step(0).stdout);
      assert.equal(r.stderr, `${step(0).stderr}\n`);
      assert.equal(sha256(fs.readFileSync(out)), manifest.outputs.binary.sha256);
    });

    it('writes the table with mode 0644 (it holds no secret)', { skip: POSIX_MODES }, () => {
      const out = path.join(tmp, 'mode.bin');
      assert.equal(runCli(['partition-table', '-q', path.join(dir, 'partitions.csv'), out]).status, 0);
      assert.equal(fs.statSync(out).mode & 0o777, 0o644);
    });

    it('converts the binary back to the CSV on stdout when OUTPUT is left out', () => {
      const r = runCli(['partition-table', path.join(dir, 'partitions.bin')]);
      assert.equal(r.status, step(1).exit_code);
      assert.equal(r.stderr, `${step(1).stderr}\n`);
      assert.equal(sha256(Buffer.from(r.stdout)), manifest.outputs.roundtrip_csv.sha256);
    });

    it('reproduces the --offset 0xa000 --disable-md5sum variant', () => {
      const out = path.join(tmp, 'a000.bin');
      const r = runCli(['partition-table', '--offset', '0xa000', '--disable-md5sum', path.join(dir, 'partitions.csv'), out]);
      assert.equal(r.status, 0);
      assert.equal(sha256(fs.readFileSync(out)), manifest.outputs.binary_offset_0xa000_no_md5.sha256);
    });

    it('passes the --flash-size 4MB check and refuses 2MB with exit 2, the tool\'s message and no output file', () => {
      const ok = runCli(['partition-table', '--flash-size', '4MB', path.join(dir, 'partitions.csv'), path.join(tmp, '4mb.bin')]);
      assert.equal(ok.status, step(3).exit_code);
      assert.equal(ok.stderr, `${step(3).stderr}\n`);
      const out = path.join(tmp, '2mb.bin');
      const r = runCli(['partition-table', '--flash-size', '2MB', path.join(dir, 'partitions.csv'), out]);
      assert.equal(r.status, 2);
      assert.equal(
        r.stderr,
        "Parsing CSV input...\nVerifying table...\nPartitions tables occupies 4.0MB of flash (4194304 bytes) which does not fit in configured flash size 2MB. Change the flash size in menuconfig under the 'Serial Flasher Config' menu.\n",
      );
      assert.equal(fs.existsSync(out), false);
      assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), []);
    });

    it('reads stdin and writes stdout for "-", binary in and CSV out', () => {
      const r = runWithStdin(['partition-table', '-q', '-', '-'], fs.readFileSync(path.join(dir, 'partitions.bin')), tmp);
      assert.equal(r.status, 0);
      assert.equal(r.stderr, '');
      assert.deepEqual(r.stdout, fs.readFileSync(path.join(dir, 'roundtrip.csv')));
    });

    it('reads stdin and writes the binary to stdout', () => {
      const r = runWithStdin(['partition-table', '--quiet', '-'], fs.readFileSync(path.join(dir, 'partitions.csv')), tmp);
      assert.equal(r.status, 0);
      assert.equal(sha256(r.stdout), manifest.outputs.binary.sha256);
    });

    it('prints the decoded entries with --json', () => {
      const r = runCli(['partition-table', '-q', path.join(dir, 'partitions.bin'), '--json']);
      assert.equal(r.status, 0);
      const j = JSON.parse(r.stdout);
      assert.equal(j.inputFormat, 'binary');
      assert.equal(j.output, null);
      assert.deepEqual(
        j.entries.map((e: { name: string; offset: number; size: number; flags: { encrypted: boolean; readonly: boolean } }) => [
          e.name,
          `0x${e.offset.toString(16)}`,
          `0x${e.size.toString(16)}`,
          (e.flags.encrypted ? 1 : 0) | (e.flags.readonly ? 2 : 0),
        ]),
        manifest.expected.entries.map((e: { name: string; offset: string; size: string; flags: number }) => [e.name, e.offset, e.size, e.flags]),
      );
      const byName = new Map(j.entries.map((e: { name: string; flashEncrypted: boolean }) => [e.name, e.flashEncrypted]));
      assert.deepEqual([byName.get('nvs'), byName.get('nvs_keys'), byName.get('factory'), byName.get('storage'), byName.get('fatfs')], [false, true, true, false, true]);
    });
  });

  it('refuses an invalid table with exit 2, the tool\'s lines on stderr, and leaves an existing OUTPUT untouched', () => {
    const csv = path.join(tmp, 'dup.csv');
    fs.writeFileSync(csv, 'a,data,nvs,,0x3000\na,data,phy,,0x1000\n');
    const out = path.join(tmp, 'dup.bin');
    fs.writeFileSync(out, 'previous');
    const r = runCli(['partition-table', csv, out]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'Parsing CSV input...\nVerifying table...\nA list of partitions that have the same name:\na,data,nvs,0x9000,12K,\na,data,phy,0xc000,4K,\nPartition names must be unique\n',
    );
    assert.equal(fs.readFileSync(out, 'utf8'), 'previous');
  });

  it('refuses a CSV syntax error with exit 2 and the tool\'s message', () => {
    const csv = path.join(tmp, 'bad.csv');
    fs.writeFileSync(csv, '# t\nnvs,data,nvs,,0x6000,secret\n');
    const r = runCli(['partition-table', '-q', csv, path.join(tmp, 'bad.bin')]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "Error at line 2: CSV flag column contains unknown flag 'secret'\nPlease check extra_partition_subtypes.inc file in build/config directory\n");
    assert.equal(fs.existsSync(path.join(tmp, 'bad.bin')), false);
  });

  it('refuses a binary whose MD5 does not match with exit 2', () => {
    const csv = path.join(tmp, 'ok.csv');
    fs.writeFileSync(csv, 'nvs,data,nvs,,0x6000\n');
    const bin = path.join(tmp, 'ok.bin');
    assert.equal(runCli(['partition-table', '-q', csv, bin]).status, 0);
    const bytes = fs.readFileSync(bin);
    bytes[4] = 0xa0; // offset 0x9000 -> 0x90a0
    fs.writeFileSync(bin, bytes);
    const r = runCli(['partition-table', '-q', bin]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^MD5 checksums don't match! \(computed: 0x[0-9a-f]{32}, parsed: 0xb'[0-9a-f]{32}'\)\n$/);
  });

  it('checks nothing with --no-verify but still converts', () => {
    const csv = path.join(tmp, 'ro.csv');
    fs.writeFileSync(csv, 'otadata,data,ota,,0x2000,readonly\n');
    assert.equal(runCli(['partition-table', '-q', csv, path.join(tmp, 'ro1.bin')]).status, 2);
    const r = runCli(['partition-table', '--no-verify', csv, path.join(tmp, 'ro2.bin')]);
    assert.equal(r.status, 0);
    assert.equal(r.stderr, 'Parsing CSV input...\n');
    assert.equal(fs.statSync(path.join(tmp, 'ro2.bin')).size, 3072);
  });

  it('lets --no-verify win over -v, before or after it', () => {
    const csv = path.join(tmp, 'ro-v.csv');
    fs.writeFileSync(csv, 'otadata,data,ota,,0x2000,readonly\n');
    assert.equal(runCli(['partition-table', '-q', '-v', csv, path.join(tmp, 'ro5.bin')]).status, 2);
    assert.equal(runCli(['partition-table', '-q', '--no-verify', '-v', csv, path.join(tmp, 'ro3.bin')]).status, 0);
    assert.equal(runCli(['partition-table', '-q', '-v', '--no-verify', csv, path.join(tmp, 'ro4.bin')]).status, 0);
  });

  it('checks app sizes for Secure Boot V1 with --secure, and V2 with --secure v2', () => {
    const csv = path.join(tmp, 'sb.csv');
    fs.writeFileSync(csv, 'factory,app,factory,0x10000,0x11000\n');
    const v1 = runCli(['partition-table', '-q', '--secure', '--', csv, path.join(tmp, 'sb1.bin')]);
    assert.equal(v1.status, 2);
    assert.equal(v1.stderr, 'Partition factory invalid: Size 0x11000 is not aligned to 0x10000\n');
    assert.equal(runCli(['partition-table', '-q', '--secure', 'v2', csv, path.join(tmp, 'sb2.bin')]).status, 0);
    assert.equal(runCli(['partition-table', '-q', '--secure', 'v3', csv, path.join(tmp, 'sb3.bin')]).status, 2);
  });

  it('places bootloader and partition_table entries from --primary-bootloader-offset and --offset', () => {
    const csv = path.join(tmp, 'boot.csv');
    fs.writeFileSync(csv, 'bootloader,bootloader,primary,N/A,N/A\npartition_table,partition_table,primary,N/A,N/A\nnvs,data,nvs,,0x6000\n');
    const out = path.join(tmp, 'boot.bin');
    const r = runCli(['partition-table', '-q', '--primary-bootloader-offset', '0x0', csv, out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout).entries.map((e: { typeName: string; subtypeName: string; offset: number; size: number }) => [e.typeName, e.subtypeName, e.offset, e.size]),
      [
        ['bootloader', 'primary', 0x0, 0x8000],
        ['partition_table', 'primary', 0x8000, 0x1000],
        ['data', 'nvs', 0x9000, 0x6000],
      ],
    );
    const missing = runCli(['partition-table', '-q', csv, path.join(tmp, 'boot2.bin')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /^Error at line 1: Primary bootloader offset is not provided\n/);
    const above = runCli(['partition-table', '-q', '--primary-bootloader-offset', '0x9000', csv, path.join(tmp, 'boot3.bin')]);
    assert.equal(above.status, 2);
    assert.equal(above.stderr, 'Unsupported configuration. Primary bootloader must be below partition table. Check --primary-bootloader-offset=0x9000 and --offset=0x8000\n');
  });

  it('exits 2 for a missing input file, an unknown --flash-size and a bad --offset', () => {
    const missing = runCli(['partition-table', path.join(tmp, 'nope.csv'), path.join(tmp, 'nope.bin')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /can't open '.*nope\.csv': ENOENT/);
    const size = runCli(['partition-table', '--flash-size', '3MB', 'x.csv']);
    assert.equal(size.status, 2);
    assert.match(size.stderr, /--flash-size/);
    const offset = runCli(['partition-table', '--offset', 'zz', 'x.csv']);
    assert.equal(offset.status, 2);
    assert.match(offset.stderr, /--offset takes a non-negative number/);
  });

  it('accepts --extra-partition-subtypes keywords and exits 2 on a bad one', () => {
    const csv = path.join(tmp, 'extra.csv');
    fs.writeFileSync(csv, 's,data,my_store,,8K\n');
    const out = path.join(tmp, 'extra.bin');
    const ok = runCli(['partition-table', '-q', csv, out, '--extra-partition-subtypes', 'data,my_store,40']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(fs.readFileSync(out)[3], 0x40);
    const bad = runCli(['partition-table', '-q', csv, path.join(tmp, 'extra2.bin'), '--extra-partition-subtypes', 'data,my_store,82']);
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'Found duplicate value in partition subtype\n');
  });

  it('refuses --json together with OUTPUT "-" (both would go to stdout)', () => {
    const r = runCli(['partition-table', '--json', 'x.csv', '-']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--json prints to stdout/);
  });

  it('teaches with --help: what it does and examples', () => {
    const r = runCli(['partition-table', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /gen_esp32part\.py/);
    assert.match(r.stdout, /Examples:\n {2}\$ nvsec partition-table partitions\.csv partitions\.bin/);
  });
});
