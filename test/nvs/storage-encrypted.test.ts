import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { parseKeysPartition } from '../../src/nvs/crypto/keys-partition.js';
import { PAGE_SIZE } from '../../src/nvs/format/constants.js';
import { readNvsPartition } from '../../src/nvs/inspect.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';
import { compareWithManifest } from './_manifest-compare.js';

const espError = (code: string) => (e: unknown) => (e as { code?: string }).code === code;
const KEYS = { eky: Uint8Array.from({ length: 32 }, (_, i) => i), tky: Uint8Array.from({ length: 32 }, (_, i) => 0x20 + i) };
const OTHER = { eky: new Uint8Array(32).fill(7), tky: new Uint8Array(32).fill(9) };
const enc = (keys = KEYS) => ({ encryption: { keys, crypto: nodeCrypto } });

describe('NvsStorage on an encrypted partition', () => {
  it('reads back every value after a reload, and keeps no plaintext on flash', () => {
    const flash = new MemoryFlash(4 * PAGE_SIZE);
    const h = NvsStorage.init(flash, enc()).open('secure', 'readwrite');
    h.setStr('wifi_pass', 'correct horse battery staple');
    h.setBlob('cert', new TextEncoder().encode('-----BEGIN CERTIFICATE-----'.repeat(200)));
    h.setU32('boots', 42);
    const again = NvsStorage.init(flash, enc()).open('secure');
    assert.equal(again.getStr('wifi_pass'), 'correct horse battery staple');
    assert.equal(again.getU32('boots'), 42);
    assert.equal(again.getBlob('cert').length, 27 * 200);
    const bytes = Buffer.from(flash.bytes);
    for (const secret of ['correct horse', 'BEGIN CERT', 'wifi_pass', 'secure']) assert.equal(bytes.indexOf(secret), -1, secret);
  });

  it('refuses a read-write init with the wrong keys instead of erasing every entry, and changes nothing', () => {
    const flash = new MemoryFlash(3 * PAGE_SIZE);
    const h = NvsStorage.init(flash, enc()).open('secure', 'readwrite');
    for (let i = 0; i < 20; i++) h.setU32(`k${i}`, i);
    const before = flash.bytes.slice();
    assert.throws(() => NvsStorage.init(flash, enc(OTHER)), espError('ESP_ERR_NVS_XTS_DECR_FAILED'));
    assert.throws(() => NvsStorage.init(flash), espError('ESP_ERR_INVALID_STATE')); // encrypted, opened without keys
    assert.deepEqual(flash.bytes, before);
    assert.equal(NvsStorage.init(flash, enc()).open('secure').getU32('k19'), 19);
  });

  it('refuses to open a plaintext partition with keys in read-write mode', () => {
    const flash = new MemoryFlash(3 * PAGE_SIZE);
    const h = NvsStorage.init(flash).open('plain', 'readwrite');
    for (let i = 0; i < 20; i++) h.setU32(`k${i}`, i);
    assert.throws(() => NvsStorage.init(flash, enc()), espError('ESP_ERR_NVS_XTS_DECR_FAILED'));
  });

  it('moves encrypted items during garbage collection (re-encrypted at their new offsets)', () => {
    const flash = new MemoryFlash(3 * PAGE_SIZE);
    const h = NvsStorage.init(flash, enc()).open('n', 'readwrite');
    for (let round = 0; round < 100; round++) for (let k = 0; k < 20; k++) h.setU32(`k${k}`, round * 100 + k);
    assert.ok(flash.stats.erases > 5);
    const again = NvsStorage.init(flash, enc()).open('n');
    for (let k = 0; k < 20; k++) assert.equal(again.getU32(`k${k}`), 9900 + k);
  });

  it('cannot be used after close(): the keys are gone', () => {
    const nvs = NvsStorage.init(new MemoryFlash(3 * PAGE_SIZE), enc());
    const h = nvs.open('n', 'readwrite');
    h.setU8('a', 1);
    nvs.close();
    assert.throws(() => h.getU8('a'), espError('NVS_CIPHER_DESTROYED'));
  });
});

describe('encrypted golden vectors through the runtime', { skip: NO_VECTORS }, () => {
  const read = (name: string, file: string) => new Uint8Array(fs.readFileSync(path.join(vectorDir('nvs', name), file)));
  for (const [name, keyFile] of [
    ['encrypted_fixed_key', 'keys.bin'],
    ['encrypted_hmac_derived', 'keys/keys.bin'],
    ['encrypted_keygen', 'keys/keys.bin'],
  ] as const) {
    for (const mode of ['read-only', 'read-write'] as const) {
      it(`${name}: a ${mode} secure init shows what the ESP-IDF runtime shows`, () => {
        const m = readManifest('nvs', name);
        const keys = parseKeysPartition(read(name, keyFile));
        const dump = readNvsPartition(read(name, 'partition.bin'), { mode, encryption: { keys, crypto: nodeCrypto } });
        assert.deepEqual(compareWithManifest(dump, { expected: m.expected, stats: m.stats, pages: m.pages }, m.iteration_order), []);
      });
    }
  }

  it('wrong_key: read-only shows what ESP-IDF shows (nothing); read-write is refused where ESP-IDF would erase everything', () => {
    const m = readManifest('nvs', 'wrong_key');
    const keys = parseKeysPartition(read('wrong_key', 'keys.bin'));
    const ro = readNvsPartition(read('wrong_key', 'partition.bin'), { encryption: { keys, crypto: nodeCrypto } });
    assert.deepEqual(compareWithManifest(ro, m.after_load.read_only), []);
    const rw = readNvsPartition(read('wrong_key', 'partition.bin'), { mode: 'read-write', encryption: { keys, crypto: nodeCrypto } });
    assert.equal(rw.fatal, 'ESP_ERR_NVS_XTS_DECR_FAILED');
    assert.match(rw.errors[0]!.message, /wrong key, plaintext image, or wrong partition offset/);
  });

  it('blank and corrupt key partitions give their ESP-IDF errors', () => {
    assert.throws(() => parseKeysPartition(read('blank_key_partition', 'keys.bin')), espError('ESP_ERR_NVS_KEYS_NOT_INITIALIZED'));
    assert.throws(() => parseKeysPartition(read('corrupt_key_partition', 'keys.bin')), espError('ESP_ERR_NVS_CORRUPT_KEY_PART'));
  });
});
