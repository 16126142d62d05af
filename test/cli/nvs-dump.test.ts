import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../_support/cli.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';

const image = (name: string) => path.join(vectorDir('nvs', name), 'partition.bin');

describe('nvsec nvs dump', { skip: NO_VECTORS }, () => {
  it('prints pages, namespaces, stats and errors as JSON with the vectors value shapes', () => {
    const r = runCli(['nvs', 'dump', image('primitives_v2'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const m = readManifest('nvs', 'primitives_v2');
    assert.deepEqual(out.stats, m.stats);
    assert.deepEqual(out.namespaces.ints.u64max, m.expected.ints.u64max);
    assert.equal(out.pages.length, 3);
    assert.deepEqual(out.errors, []);
    assert.equal(out.fatal, null);
  });

  it('lists each problem of a damaged image with its page and entry, and still shows the rest', () => {
    const r = runCli(['nvs', 'dump', image('corrupt_entry_crc')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /page 0 entry 11: inconsistent \(crc\)/);
    assert.match(r.stdout, /u32min\s+u32\s+0/);
  });

  it('exits 3 with --strict when a problem was found', () => {
    assert.equal(runCli(['nvs', 'dump', image('corrupt_entry_crc'), '--strict']).status, 3);
  });

  it('exits 1 with the ESP-IDF error name, and no stack trace, when the partition cannot be used', () => {
    const r = runCli(['nvs', 'dump', image('new_version_page')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ESP_ERR_NVS_NEW_VERSION_FOUND/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('rejects an image that is not whole pages', () => {
    const r = runCli(['nvs', 'dump', image('truncated_mid_page'), '--json']);
    assert.equal(r.status, 1);
    assert.equal(JSON.parse(r.stdout).fatal, 'ESP_ERR_INVALID_SIZE');
  });

  it('reports a missing file in one line', () => {
    const r = runCli(['nvs', 'dump', 'no-such-file.bin']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^nvsec: error: .*no-such-file\.bin.*\n$/);
  });
});
