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
