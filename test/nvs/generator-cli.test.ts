import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseSize } from '../../src/cli/nvs-generate.js';
import { checkPartitionSize } from '../../src/nvs/generator/generate.js';
import { NvsGenerateError } from '../../src/nvs/generator/generate-error.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.ts');
const TSX = import.meta.resolve('tsx');

let dir = '';
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nvsec-nvs-generate-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `nvsec nvs generate …` in `cwd`. */
function nvsec(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, ['--import', TSX, MAIN, 'nvs', 'generate', ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const CSV = 'key,type,encoding,value\nstorage,namespace,,\nserial,data,string,SN-1\nboot,data,u32,0\n';

describe('nvsec nvs generate', () => {
  it('writes the tool-identical image, resolving file rows against the working directory', { skip: NO_VECTORS }, () => {
    const m = readManifest('nvs', 'files_v2');
    const out = path.join(dir, 'out');
    const r = nvsec(['input.csv', 'files.bin', '0x6000', '--outdir', out], vectorDir('nvs', 'files_v2'));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /files\.bin: 24576 bytes .* 2 of 6 pages used/);
    const image = fs.readFileSync(path.join(out, 'files.bin'));
    assert.equal(createHash('sha256').update(image).digest('hex'), m.output_sha256);
  });

  it('prints the result as JSON with --json and accepts several inputs and --version 1', () => {
    fs.writeFileSync(path.join(dir, 'a.csv'), CSV);
    fs.writeFileSync(path.join(dir, 'b.csv'), 'key,type,encoding,value\nextra,data,u8,7\n');
    const r = nvsec(['a.csv', 'b.csv', 'sub/v1.bin', '12288', '--version', '1', '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const info = JSON.parse(r.stdout);
    assert.equal(info.output, path.join(dir, 'sub', 'v1.bin'));
    assert.equal(info.size, 12288);
    assert.equal(info.version, 1);
    assert.equal(info.pagesUsed, 1);
    assert.equal(info.pagesTotal, 3);
    assert.equal(info.items, 3);
    assert.deepEqual(info.namespaces, ['storage']);
    assert.equal(fs.readFileSync(info.output)[8], 0xff);
  });

  it('refuses an output name without .bin, a bad SIZE and data that does not fit, leaving no file', () => {
    fs.writeFileSync(path.join(dir, 'n.csv'), CSV);
    const rows = Array.from({ length: 300 }, (_, i) => `k${i},data,u32,${i}`).join('\n');
    fs.writeFileSync(path.join(dir, 'big.csv'), `${CSV}${rows}\n`);
    const cases: Array<[string[], RegExp]> = [
      [['n.csv', 'n.txt', '0x3000'], /\.bin extension/],
      [['n.csv', 'n.bin', '0x3001'], /not a multiple of 4096/],
      [['n.csv', 'n.bin', '0x800'], /not a multiple of 4096|too small/],
      [['big.csv', 'n.bin', '0x3000'], /does not fit .* at least 0x4000/],
    ];
    for (const [args, message] of cases) {
      const r = nvsec(args, dir);
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(!r.stderr.includes('    at '), 'no stack trace');
    }
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => /^\.?n\.(bin|txt)/.test(f)),
      [],
    );
  });

  it('explains its arguments with an example in --help', () => {
    const r = spawnSync(process.execPath, ['--import', TSX, MAIN, 'nvs', 'generate', '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /INPUT\.csv \[INPUT2\.csv …\] OUTPUT\.bin SIZE/);
    assert.match(r.stdout, /\$ nvsec nvs generate nvs\.csv nvs\.bin 0x6000/);
    assert.match(r.stdout, /--version <version>/);
  });
});

describe('parseSize()', () => {
  it('reads SIZE like Python int(x, 0)', () => {
    assert.equal(parseSize('0x3000'), 0x3000);
    assert.equal(parseSize('12288'), 12288);
    assert.equal(parseSize(' 0X_6000 '), 0x6000);
    assert.equal(parseSize('0o30000'), 0o30000);
    assert.equal(parseSize('0b1000000000000'), 4096);
  });

  it('rejects what Python int(x, 0) rejects', () => {
    for (const bad of ['012288', '0x', '3k', '', '0x3000.0']) {
      assert.throws(
        () => parseSize(bad),
        (e: unknown) => e instanceof NvsGenerateError && e.code === 'NVS_BAD_SIZE',
        bad,
      );
    }
  });

  it('leaves the size rules to checkPartitionSize(), which refuses sizes the tool refuses', () => {
    for (const bad of ['0x1001', '0', '-4096']) {
      assert.throws(
        () => checkPartitionSize(parseSize(bad)),
        (e: unknown) => e instanceof NvsGenerateError && e.code === 'NVS_BAD_SIZE',
        bad,
      );
    }
    assert.doesNotThrow(() => checkPartitionSize(parseSize('0x1000')));
  });
});
