import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { generateNvsPartition } from '../../src/nvs/generator/generate.js';
import { BENCH_DIR, NO_VECTORS, readManifest, vectorCases, vectorDir } from '../_support/vectors.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The generator inputs of a vector: its CSV texts, size and version, from `generator.args`. */
function vectorRun(name: string): { inputs: string[]; size: number; version: 1 | 2; dir: string } {
  const dir = vectorDir('nvs', name);
  const args: string[] = readManifest('nvs', name).generator.args;
  const positional: string[] = [];
  let version: 1 | 2 = 2;
  const withValue = new Set(['--outdir', '--inputkey', '--keyfile', '--kp_hmac_inputkey', '--kp_hmac_keyfile']);
  for (let i = 1; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--version') version = Number(args[++i]) === 1 ? 1 : 2;
    else if (withValue.has(arg)) i++;
    else if (!arg.startsWith('--')) positional.push(arg);
  }
  const size = Number(positional.at(-1));
  const inputs = positional.slice(0, -2).map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  return { inputs, size, version, dir };
}

/** Runs the generator the way the tool ran in the vector folder (file rows relative to it). */
function generateVector(name: string) {
  const { inputs, size, version, dir } = vectorRun(name);
  return generateNvsPartition(inputs, {
    size,
    version,
    crypto: nodeCrypto,
    readFile: (file) => new Uint8Array(fs.readFileSync(path.resolve(dir, file))),
  });
}

const cases = vectorCases('nvs');
const plain = cases.filter((name) => {
  const m = readManifest('nvs', name);
  return m.command === 'generate' && m.derived_from === undefined;
});
const encrypted = cases.filter((name) => {
  const m = readManifest('nvs', name);
  return m.derived_from === undefined && typeof m.decrypted_bin === 'string';
});

describe('generateNvsPartition() against the esp-idf-nvs-partition-gen 0.2.0 vectors', { skip: NO_VECTORS }, () => {
  it('finds the generate vectors and the encrypted vectors to compare with', () => {
    assert.ok(plain.length >= 8, `only ${plain.length} generate vectors found`);
    assert.ok(encrypted.length >= 3, `only ${encrypted.length} encrypted vectors found`);
  });

  for (const name of plain) {
    it(`produces the tool's exact image for ${name}`, () => {
      const m = readManifest('nvs', name);
      const { image } = generateVector(name);
      assert.equal(image.length, m.output_length);
      assert.equal(sha256(image), m.output_sha256);
    });
  }

  for (const name of encrypted) {
    it(`produces the decrypted image of ${name} when generating without encryption`, () => {
      const m = readManifest('nvs', name);
      const { image } = generateVector(name);
      assert.equal(sha256(image), m.decrypted_sha256);
    });
  }

  it('reports the pages, entries, namespaces and items of a vector', () => {
    const m = readManifest('nvs', 'multi_namespace');
    const result = generateVector('multi_namespace');
    const written = m.pages.filter((p: { state: string }) => p.state !== 'UNINITIALIZED');
    assert.equal(result.pagesUsed, written.length);
    assert.equal(
      result.entriesUsed,
      m.pages.reduce((sum: number, p: { used_entries: number }) => sum + p.used_entries, 0),
    );
    assert.deepEqual(result.namespaces, ['alpha', 'beta', 'gamma', 'delta_namespace', 'e', 'empty_ns']);
    assert.equal(result.items, 8);
  });

  const benchCsv = BENCH_DIR ? path.join(BENCH_DIR, 'nvs-2000.csv') : '';
  const noBench = fs.existsSync(benchCsv) ? false : 'the bench workload ../shared/bench/nvs-2000.csv is missing';
  it('generates the 2,000-row bench CSV into 1 MiB with the reference bytes', { skip: noBench }, () => {
    const csv = fs.readFileSync(benchCsv, 'utf8');
    const result = generateNvsPartition(csv, { size: 0x100000 });
    assert.equal(result.image.length, 0x100000);
    assert.equal(result.pagesUsed, 86);
    assert.equal(result.items, 2000);
    assert.equal(result.namespaces.length, 8);
    assert.equal(sha256(result.image), '892b2540c5125c9fed833d11fa64ef0b763f8f7bd376f69db54ce28de73edfdb');
  });
});
