import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { convertPartitionTable, decodePartitionTable, parsePartitionCsv } from '../../src/partition-table/index.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';

const NAME = 'partition-table-ota-nvs-keys';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The options of one manifest step's gen_esp32part.py command line, and its INPUT / OUTPUT. */
function stepArgs(cmd: string[]): { input: string; output: string; tableOffset?: number; md5: boolean; flashSize?: number } {
  const args = cmd.slice(1);
  const out: { input?: string; output?: string; tableOffset?: number; md5: boolean; flashSize?: number } = { md5: true };
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--offset') out.tableOffset = Number(args[++i]);
    else if (a === '--disable-md5sum') out.md5 = false;
    else if (a === '--flash-size') out.flashSize = Number.parseInt(args[++i]!, 10) * 1024 * 1024;
    else if (a.startsWith('-')) throw new Error(`option ${a} not handled by this test`);
    else positional.push(a);
  }
  return { ...out, input: positional[0]!, output: positional[1]! };
}

describe('partition table golden vector (gen_esp32part.py 1.5)', { skip: NO_VECTORS }, () => {
  const dir = NO_VECTORS ? '' : vectorDir('boot', NAME);
  const manifest = NO_VECTORS ? null : readManifest('boot', NAME);
  const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(dir, f)));

  it('has the input the manifest describes', () => {
    assert.equal(sha256(read(manifest.inputs.csv.file)), manifest.inputs.csv.sha256);
  });

  it('reproduces every step: outputs by sha256, stderr lines and exit status', () => {
    const outputs = new Map<string, { sha256: string; size: number }>(
      Object.values(manifest.outputs as Record<string, { file: string; sha256: string; size: number }>).map((o) => [o.file, o]),
    );
    let checkedFiles = 0;
    for (const step of manifest.steps as Array<{ cmd: string[]; exit_code: number; stdout: string; stderr: string }>) {
      assert.equal(step.cmd[0], 'gen_esp32part.py');
      const a = stepArgs(step.cmd);
      const messages: string[] = [];
      const r = convertPartitionTable(read(a.input), nodeCrypto, {
        md5: a.md5,
        ...(a.tableOffset === undefined ? {} : { tableOffset: a.tableOffset }),
        ...(a.flashSize === undefined ? {} : { flashSize: a.flashSize }),
        onMessage: (line) => messages.push(line),
      });
      assert.equal(step.exit_code, 0, 'the vector has no rejection step');
      assert.equal(messages.join('\n'), step.stderr, `stderr of ${step.cmd.join(' ')}`);
      const expected = outputs.get(a.output);
      if (expected) {
        assert.equal(r.output.length, expected.size, a.output);
        assert.equal(sha256(r.output), expected.sha256, a.output);
        assert.deepEqual(r.output, read(a.output), a.output);
        checkedFiles++;
      }
    }
    assert.equal(checkedFiles, outputs.size, 'every output file of the manifest is produced by a step');
  });

  it('decodes the binary into the entries the manifest lists', () => {
    const { entries, md5Verified } = decodePartitionTable(read(manifest.outputs.binary.file), nodeCrypto);
    assert.equal(md5Verified, true);
    assert.deepEqual(
      entries.map((e, index) => ({
        index,
        name: e.name,
        type: e.type,
        subtype: e.subtype,
        offset: `0x${e.offset.toString(16)}`,
        size: `0x${e.size.toString(16)}`,
        flags: (e.flags.encrypted ? 1 : 0) | (e.flags.readonly ? 2 : 0),
      })),
      manifest.expected.entries,
    );
  });

  it('fills in blank offsets from the CSV exactly as the manifest lists them', () => {
    const entries = parsePartitionCsv(new TextDecoder().decode(read(manifest.inputs.csv.file)));
    assert.deepEqual(
      entries.map((e) => [e.name, `0x${e.offset.toString(16)}`, `0x${e.size.toString(16)}`]),
      manifest.expected.entries.map((e: { name: string; offset: string; size: string }) => [e.name, e.offset, e.size]),
    );
  });

  it('writes the MD5 entry, end marker and padding where the manifest says', () => {
    const bin = read(manifest.outputs.binary.file);
    const ours = convertPartitionTable(read(manifest.inputs.csv.file), nodeCrypto).output;
    const md5At = manifest.expected.md5_entry.index * 32;
    assert.equal(Buffer.from(ours.subarray(md5At, md5At + 2)).toString('hex'), 'ebeb');
    assert.equal(Buffer.from(ours.subarray(md5At + 2, md5At + 16)).toString('hex'), manifest.expected.md5_entry.bytes_2_16);
    assert.equal(Buffer.from(ours.subarray(md5At + 16, md5At + 32)).toString('hex'), manifest.expected.md5_entry.md5);
    // Independent check of the digest: node:crypto's MD5 over the entries before it.
    assert.equal(createHash('md5').update(bin.subarray(0, md5At)).digest('hex'), manifest.expected.md5_entry.md5_of_preceding_entries);
    const endAt = manifest.expected.end_marker_entry_index * 32;
    assert.ok(ours.subarray(endAt).every((b) => b === 0xff), 'end marker and padding are 0xFF');
    assert.equal(ours.length, manifest.expected.binary_length);
  });
});
