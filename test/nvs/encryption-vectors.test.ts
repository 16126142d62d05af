import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { toHex } from '../../src/bytes/hex.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { diagnoseNvsDecryption } from '../../src/nvs/crypto/diagnose.js';
import { NvsEntryCipher } from '../../src/nvs/crypto/entry-cipher.js';
import { decryptNvsImage, encryptNvsImage, selectCipherEntries } from '../../src/nvs/crypto/image-cipher.js';
import { buildKeysPartition, deriveNvsKeysFromHmac, generateNvsKeys, type NvsKeys, parseKeysPartition } from '../../src/nvs/crypto/keys-partition.js';
import { NvsError } from '../../src/nvs/esp-err.js';
import { generateNvsPartition } from '../../src/nvs/generator/generate.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';

const read = (name: string, file: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(vectorDir('nvs', name), file)));
const sha256 = (b: Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');

/** The encrypted vectors and where each keeps its key file. */
const ENCRYPTED: ReadonlyArray<[string, string]> = [
  ['encrypted_fixed_key', 'keys.bin'],
  ['encrypted_hmac_derived', path.join('keys', 'keys.bin')],
  ['encrypted_keygen', path.join('keys', 'keys.bin')],
];

/** The vector's CSV generated as the tool does (file rows relative to the vector folder). */
function generateVector(name: string): Uint8Array {
  const m = readManifest('nvs', name);
  const dir = vectorDir('nvs', name);
  return generateNvsPartition(fs.readFileSync(path.join(dir, 'input.csv'), 'utf8'), {
    size: m.partition_size,
    version: m.format_version,
    crypto: nodeCrypto,
    readFile: (f) => new Uint8Array(fs.readFileSync(path.resolve(dir, f))),
  }).image;
}

function withCipher<T>(keys: NvsKeys, fn: (c: NvsEntryCipher) => T): T {
  const c = new NvsEntryCipher(nodeCrypto, keys);
  try {
    return fn(c);
  } finally {
    c.destroy();
  }
}

/** OpenSSL's own XTS, one cipher per written entry (by the bitmap): an independent reference. */
function opensslEncryptImage(image: Uint8Array, keys: NvsKeys): Uint8Array {
  const out = image.slice();
  const key = Buffer.concat([keys.eky, keys.tky]);
  for (let page = 0; page < image.length / 4096; page++) {
    const base = page * 4096;
    const state = new DataView(image.buffer, image.byteOffset).getUint32(base, true);
    if (state !== 0xfffffffe && state !== 0xfffffffc && state !== 0xfffffff8) continue;
    for (let i = 0; i < 126; i++) {
      const bits = (image[base + 32 + (i >> 2)]! >> ((i & 3) * 2)) & 3;
      if (bits !== 0b10) continue;
      const off = base + 64 + i * 32;
      const iv = Buffer.alloc(16);
      iv.writeUInt32LE(off, 0);
      const c = crypto.createCipheriv('aes-256-xts', key, iv);
      out.set(Buffer.concat([c.update(image.subarray(off, off + 32)), c.final()]), off);
    }
  }
  return out;
}

describe('NVS encryption against the encrypted golden vectors', { skip: NO_VECTORS }, () => {
  for (const [name, keyFile] of ENCRYPTED) {
    it(`${name}: generate + encryptNvsImage gives the tool's encrypted image byte for byte`, () => {
      const keys = parseKeysPartition(read(name, keyFile));
      const encrypted = withCipher(keys, (c) => encryptNvsImage(generateVector(name), c));
      assert.equal(sha256(encrypted), readManifest('nvs', name).output_sha256);
      assert.deepEqual(encrypted, read(name, 'partition.bin'));
    });

    it(`${name}: decryptNvsImage reproduces the tool's decrypted.bin, and the key is diagnosed as right`, () => {
      const keys = parseKeysPartition(read(name, keyFile));
      const partition = read(name, 'partition.bin');
      const plain = withCipher(keys, (c) => decryptNvsImage(partition, c));
      assert.equal(sha256(plain), readManifest('nvs', name).decrypted_sha256);
      assert.deepEqual(plain, read(name, 'decrypted.bin'));
      const d = withCipher(keys, (c) => diagnoseNvsDecryption(partition, c));
      assert.equal(d.verdict, 'ok');
      assert.equal(d.passingEntries, d.writtenEntries);
      assert.equal(d.writtenEntries, readManifest('nvs', name).stats.used_entries);
    });
  }

  it('encrypted_fixed_key: the manifest\'s worked example (page 0 entry 0, tweak 0x40) encrypts as published', () => {
    const keys = parseKeysPartition(read('encrypted_fixed_key', 'keys.bin'));
    assert.equal(toHex(keys.eky), readManifest('nvs', 'encrypted_fixed_key').xts_key_hex.eky_data_key);
    const enc = withCipher(keys, (c) => encryptNvsImage(read('encrypted_fixed_key', 'decrypted.bin'), c));
    assert.equal(toHex(enc.subarray(64, 96)), '28b7d6b2c4eeb6ce82aa7941ccf5273c52f886eabd5d12a2f4f453aa926c86e4');
  });

  it('encrypted_hmac_derived: the keys derived from hmac_key.bin build the tool\'s keys/keys.bin exactly', () => {
    const keys = deriveNvsKeysFromHmac(nodeCrypto, read('encrypted_hmac_derived', 'hmac_key.bin'));
    const m = readManifest('nvs', 'encrypted_hmac_derived');
    assert.equal(toHex(keys.eky), m.xts_key_hex.eky_data_key);
    assert.equal(toHex(keys.tky), m.xts_key_hex.tky_tweak_key);
    assert.deepEqual(buildKeysPartition(keys), read('encrypted_hmac_derived', path.join('keys', 'keys.bin')));
  });

  it('encrypted_keygen: the tool\'s random keys file parses to the keys in the manifest', () => {
    const keys = parseKeysPartition(read('encrypted_keygen', path.join('keys', 'keys.bin')));
    assert.equal(toHex(keys.tky), readManifest('nvs', 'encrypted_keygen').xts_key_hex.tky_tweak_key);
  });

  it('wrong_key: a well-formed but wrong key is diagnosed as wrong-key, with the counts per page', () => {
    const keys = parseKeysPartition(read('wrong_key', 'keys.bin'));
    const d = withCipher(keys, (c) => diagnoseNvsDecryption(read('wrong_key', 'partition.bin'), c));
    assert.equal(d.verdict, 'wrong-key');
    assert.equal(d.writtenEntries, 208);
    assert.equal(d.passingEntries, 0);
    assert.equal(d.plaintextPassing, 0);
    assert.equal(d.bestOffset, null);
    assert.deepEqual(d.pages, [
      { page: 0, written: 126, passing: 0 },
      { page: 1, written: 82, passing: 0 },
    ]);
    assert.match(d.message, /^0 of 208 written entries pass their CRC after decryption \(page 0: 0\/126, page 1: 0\/82\): wrong key, plaintext image, or wrong partition offset\. Most likely the key is wrong/);
  });

  for (const [name, code, espErr] of [
    ['blank_key_partition', 'ESP_ERR_NVS_KEYS_NOT_INITIALIZED', 0x1116],
    ['corrupt_key_partition', 'ESP_ERR_NVS_CORRUPT_KEY_PART', 0x1117],
  ] as const) {
    it(`${name}: the keys file is refused with ${code}`, () => {
      assert.equal(readManifest('nvs', name).key_partition_result.error, code);
      assert.throws(
        () => parseKeysPartition(read(name, 'keys.bin')),
        (e: unknown) => e instanceof NvsError && e.code === code && e.espErr === espErr,
      );
    });
  }
});

describe('encryptNvsImage() / decryptNvsImage() on random generated images (fast-check)', () => {
  const rowArb = fc.oneof(
    fc.integer({ min: 0, max: 0xffffffff }).map((v) => `u32,${v}`),
    fc.integer({ min: -128, max: 127 }).map((v) => `i8,${v}`),
    fc.stringMatching(/^[a-zA-Z0-9 ]{0,200}$/).map((s) => `string,${s}`),
    fc.uint8Array({ maxLength: 3000 }).map((b) => `hex2bin,${toHex(b)}`),
    fc.constant('hex2bin,' + 'ff'.repeat(140)), // payload entries that are all 0xFF stay WRITTEN and get encrypted
  );
  const csvArb = fc.array(rowArb, { minLength: 0, maxLength: 60 }).map((rows) =>
    ['key,type,encoding,value', 'ns,namespace,,', ...rows.map((r, i) => `k${i},data,${r}`)].join('\n'),
  );

  it('round-trips, matches OpenSSL entry by entry, keeps headers and bitmaps, and leaves no written entry in plaintext', () => {
    fc.assert(
      fc.property(csvArb, fc.constantFrom(0x3000, 0x8000, 0x20000), fc.constantFrom(1 as const, 2 as const), (csv, size, version) => {
        let plain: Uint8Array;
        try {
          plain = generateNvsPartition(csv, { size, version }).image;
        } catch {
          return; // data that does not fit this size
        }
        const keys = generateNvsKeys(nodeCrypto);
        withCipher(keys, (c) => {
          const enc = encryptNvsImage(plain, c);
          assert.deepEqual(enc, opensslEncryptImage(plain, keys));
          assert.deepEqual(decryptNvsImage(enc, c), plain);
          const { offsets } = selectCipherEntries(plain);
          for (let page = 0; page < plain.length / 4096; page++) {
            assert.deepEqual(enc.subarray(page * 4096, page * 4096 + 64), plain.subarray(page * 4096, page * 4096 + 64));
          }
          for (const off of offsets) assert.notDeepEqual(enc.subarray(off, off + 32), plain.subarray(off, off + 32));
          const d = diagnoseNvsDecryption(enc, c);
          assert.equal(d.verdict, offsets.length === 0 ? 'no-data' : 'ok');
          assert.equal(d.passingEntries, d.writtenEntries);
        });
      }),
      { numRuns: 40 },
    );
  });

  it('also encrypts erased entries that still hold data, but leaves purged (0x00) and empty (0xFF) ones raw', () => {
    const plain = generateNvsPartition('key,type,encoding,value\nns,namespace,,\na,data,u32,1\nb,data,u32,2\nc,data,u32,3\n', { size: 0x3000 }).image;
    // Entries: 0 namespace, 1 a, 2 b, 3 c. Make b erased with its data kept, c erased and purged to 0x00.
    plain[32] = 0b00_00_10_10; // 2 bits per entry, entry 0 in the low bits: written, written, erased, erased
    plain.fill(0, 64 + 3 * 32, 64 + 4 * 32);
    const keys = generateNvsKeys(nodeCrypto);
    withCipher(keys, (c) => {
      const enc = encryptNvsImage(plain, c);
      assert.notDeepEqual(enc.subarray(64 + 2 * 32, 64 + 3 * 32), plain.subarray(64 + 2 * 32, 64 + 3 * 32));
      assert.deepEqual(enc.subarray(64 + 3 * 32, 64 + 4 * 32), new Uint8Array(32));
      assert.deepEqual(enc.subarray(64 + 4 * 32, 4096), plain.subarray(64 + 4 * 32, 4096));
      assert.deepEqual(decryptNvsImage(enc, c), plain);
      assert.deepEqual([...selectCipherEntries(plain).offsets], [0x40, 0x60, 0x80]);
    });
  });

  it('refuses an image that is not whole pages with ESP_ERR_INVALID_SIZE', () => {
    withCipher(generateNvsKeys(nodeCrypto), (c) => {
      assert.throws(() => encryptNvsImage(new Uint8Array(5000), c), (e: unknown) => e instanceof NvsError && e.code === 'ESP_ERR_INVALID_SIZE');
    });
  });
});
