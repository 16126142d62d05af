import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { readNvsPartition } from '../../src/nvs/inspect.js';
import { NO_VECTORS, readManifest, vectorCases, vectorDir } from '../_support/vectors.js';
import { compareWithManifest } from './_manifest-compare.js';

const read = (name: string, file: string) => new Uint8Array(fs.readFileSync(path.join(vectorDir('nvs', name), file)));

describe('golden NVS vectors decode as their manifests say', { skip: NO_VECTORS }, () => {
  const cases = vectorCases('nvs');

  it('finds the vector folder populated', () => {
    assert.ok(cases.length >= 19, `expected at least 19 NVS vectors, found ${cases.length}`);
  });

  for (const name of cases) {
    const m = readManifest('nvs', name);
    if (m.encrypted) {
      if (!m.decrypted_bin) continue; // damaged-key vectors belong to the encryption suite
      it(`${name}: the decrypted image reads back every expected value`, () => {
        const dump = readNvsPartition(read(name, m.decrypted_bin));
        assert.deepEqual(compareWithManifest(dump, { expected: m.expected, stats: m.stats, pages: m.pages }, m.iteration_order), []);
      });
      continue;
    }
    for (const mode of ['read-only', 'read-write'] as const) {
      const view = m.after_load?.[mode.replace('-', '_')] ?? { expected: m.expected, stats: m.stats, pages: m.pages };
      // An image that is not whole pages is rejected (as nvs_tool.py does) yet its whole pages are shown.
      const fatal = m.expected_failure?.error === 'not page aligned' ? 'ESP_ERR_INVALID_SIZE' : null;
      it(`${name}: a ${mode} load shows what the ESP-IDF runtime shows`, () => {
        const dump = readNvsPartition(read(name, m.output_bin ?? 'partition.bin'), { mode });
        assert.deepEqual(compareWithManifest(dump, view, m.after_load ? undefined : m.iteration_order, fatal), []);
      });
    }
  }

  it('corrupt_entry_crc: the damaged entry is reported with its page and entry', () => {
    const dump = readNvsPartition(read('corrupt_entry_crc', 'partition.bin'));
    assert.ok(dump.errors.some((e) => e.page === 0 && e.entry === 11 && /crc/.test(e.message)), JSON.stringify(dump.errors));
  });

  it('corrupt_data_crc: the damaged value is reported as ESP_ERR_NVS_NOT_FOUND with its location', () => {
    const dump = readNvsPartition(read('corrupt_data_crc', 'partition.bin'));
    const e = dump.errors.find((x) => x.key === 's1000');
    assert.equal(e?.error, 'ESP_ERR_NVS_NOT_FOUND');
    assert.equal(typeof e?.page, 'number');
  });

  it('truncated_mid_page: a length that is not whole pages is fatal but the whole pages are still shown', () => {
    const dump = readNvsPartition(read('truncated_mid_page', 'partition.bin'));
    assert.equal(dump.fatal, 'ESP_ERR_INVALID_SIZE');
    assert.ok(Object.keys(dump.namespaces.str ?? {}).length > 0);
  });

  it('inspection never modifies the image it is given', () => {
    const image = read('corrupt_entry_crc', 'partition.bin');
    const copy = image.slice();
    readNvsPartition(image, { mode: 'read-write' });
    assert.deepEqual(image, copy);
  });
});

describe('readNvsPartition() on unusual content', () => {
  it('reports an empty image as unusable rather than as a clean partition', () => {
    const dump = readNvsPartition(new Uint8Array(0));
    assert.equal(dump.fatal, 'ESP_ERR_INVALID_SIZE');
  });

  it('shows namespaces and keys whose names collide with object properties', async () => {
    const { generateNvsPartition } = await import('../../src/nvs/generator/generate.js');
    const csv = 'key,type,encoding,value\nconstructor,namespace,,\n__proto__,data,u8,7\ntoString,data,string,x\n';
    const dump = readNvsPartition(generateNvsPartition(csv, { size: 0x3000 }).image);
    assert.deepEqual(Object.keys(dump.namespaces), ['constructor']);
    const values = dump.namespaces['constructor' as string] as Record<string, { value?: string }>;
    assert.deepEqual(Object.keys(values).sort(), ['__proto__', 'toString']);
    assert.equal(values['__proto__' as string]?.value, '7');
  });

  it('lists a namespace name defined twice as a problem', async () => {
    const { generateNvsPartition } = await import('../../src/nvs/generator/generate.js');
    const { encodeEntry, encodeFixedValue, encodeKey } = await import('../../src/nvs/format/entry.js');
    // Namespace "a" (index 1) and one key, then a second table entry for "a" with index 9.
    const image = generateNvsPartition('key,type,encoding,value\na,namespace,,\nk,data,u8,1\n', { size: 0x3000 }).image;
    encodeEntry(image, 64 + 2 * 32, 0, 0x01, 1, 0xff, encodeKey('a'), encodeFixedValue(0x01, 9));
    image[32]! &= ~(1 << 4); // entry 2: EMPTY -> WRITTEN
    image[0] = 0xfc; // FULL: only the ACTIVE page resolves same-page duplicates at load
    const dump = readNvsPartition(image);
    assert.ok(dump.errors.some((e) => /namespace "a" defined again as index 9/.test(e.message)), JSON.stringify(dump.errors));
    assert.equal((dump.namespaces.a?.k as { value: string }).value, '1');
  });
});
