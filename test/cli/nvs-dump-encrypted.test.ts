import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../_support/cli.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';

const v = (name: string, file: string) => path.join(vectorDir('nvs', name), file);

describe('nvsec nvs dump of encrypted partitions', { skip: NO_VECTORS }, () => {
  it('decodes an encrypted image with its keys file', () => {
    const r = runCli(['nvs', 'dump', v('encrypted_fixed_key', 'partition.bin'), '--keyfile', v('encrypted_fixed_key', 'keys.bin'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const m = readManifest('nvs', 'encrypted_fixed_key');
    assert.deepEqual(JSON.parse(r.stdout).stats, m.stats);
  });

  it('derives the keys from an HMAC key', () => {
    const r = runCli(['nvs', 'dump', v('encrypted_hmac_derived', 'partition.bin'), '--hmac-key', v('encrypted_hmac_derived', 'hmac_key.bin'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).stats, readManifest('nvs', 'encrypted_hmac_derived').stats);
  });

  it('stops on a wrong key, says so with the counts per page, and exits 1', () => {
    const r = runCli(['nvs', 'dump', v('wrong_key', 'partition.bin'), '--keyfile', v('wrong_key', 'keys.bin')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /wrong key, plaintext image, or wrong partition offset/);
    assert.match(r.stderr, /key is wrong/);
    assert.match(r.stdout, /page\s+written/);
  });

  it('names a plaintext image given keys as plaintext', () => {
    const r = runCli(['nvs', 'dump', v('encrypted_fixed_key', 'decrypted.bin'), '--keyfile', v('encrypted_fixed_key', 'keys.bin')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /plaintext/);
  });

  it('says an encrypted image read without keys is most likely encrypted', () => {
    const r = runCli(['nvs', 'dump', v('encrypted_fixed_key', 'partition.bin')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /most likely an encrypted partition.*--keyfile/);
  });

  it('reports blank and corrupt keys partitions with their ESP-IDF errors', () => {
    const blank = runCli(['nvs', 'dump', v('encrypted_fixed_key', 'partition.bin'), '--keyfile', v('blank_key_partition', 'keys.bin')]);
    assert.equal(blank.status, 1);
    assert.match(blank.stderr, /ESP_ERR_NVS_KEYS_NOT_INITIALIZED 0x1116/);
    const corrupt = runCli(['nvs', 'dump', v('encrypted_fixed_key', 'partition.bin'), '--keyfile', v('corrupt_key_partition', 'keys.bin')]);
    assert.equal(corrupt.status, 1);
    assert.match(corrupt.stderr, /ESP_ERR_NVS_CORRUPT_KEY_PART 0x1117/);
    assert.match(corrupt.stderr, /damaged/);
  });
});
