import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EncryptedFlash } from '../../src/boot/encrypted-flash.js';
import { encryptFlashData } from '../../src/boot/flash-encryption.js';
import { MemoryFlash } from '../../src/flash/memory-flash.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { buildKeysPartition, parseKeysPartition } from '../../src/nvs/crypto/keys-partition.js';
import { generateNvsPartition } from '../../src/nvs/generator/generate.js';
import { NvsStorage } from '../../src/nvs/store/storage.js';
import { NO_VECTORS, vectorDir } from '../_support/vectors.js';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
const readAll = (f: { size: number; read(a: number, d: Uint8Array): void }) => {
  const b = new Uint8Array(f.size);
  f.read(0, b);
  return b;
};

describe('EncryptedFlash with the nvs_keys vector (XTS-AES-128 at 0x12000)', { skip: NO_VECTORS }, () => {
  const dir = NO_VECTORS ? '' : vectorDir('boot', 'flash-enc-xts-aes128-esp32c3');
  const file = (f: string) => new Uint8Array(fs.readFileSync(path.join(dir, f)));

  it("writes the keys partition as espsecure's ciphertext and reads the keys back", () => {
    const inner = new MemoryFlash(0x1000);
    const part = EncryptedFlash.create(inner, nodeCrypto, file('fe_key_xts128_256bit.bin'), { aesXts: true, baseAddress: 0x12000 });
    const plain = file('nvs_keys_plain.bin');
    part.write(0, plain);
    assert.deepEqual(inner.bytes, file('nvs_keys_enc_0x12000.bin'));
    const raw = new Uint8Array(0x1000);
    part.readRaw(0, raw);
    assert.deepEqual(raw, file('nvs_keys_enc_0x12000.bin'));
    const keys = parseKeysPartition(readAll(part));
    assert.deepEqual(keys.eky, plain.subarray(0, 32));
    assert.deepEqual(keys.tky, plain.subarray(32, 64));
    part.destroy();
  });

  it('reads the tool-encrypted partition flashed as it is', () => {
    const part = EncryptedFlash.create(new MemoryFlash(file('nvs_keys_enc_0x12000.bin')), nodeCrypto, file('fe_key_xts128_256bit.bin'), {
      aesXts: true,
      baseAddress: 0x12000,
    });
    assert.deepEqual(readAll(part), file('nvs_keys_plain.bin'));
  });
});

describe('EncryptedFlash', () => {
  const schemes = [
    { name: 'ESP32 AES-256', key: () => crypto.randomBytes(32), options: { flashCryptConf: 0xf } },
    { name: 'XTS-AES-128', key: () => crypto.randomBytes(32), options: { aesXts: true } },
    { name: 'XTS-AES-256', key: () => crypto.randomBytes(64), options: { aesXts: true } },
  ];

  for (const s of schemes) {
    it(`${s.name}: an nvs_keys partition round-trips, and the partition's base address reaches the cipher (flash = encryptFlashData at that address)`, () => {
      const key = s.key();
      const inner = new MemoryFlash(0x1000);
      const part = EncryptedFlash.create(inner, nodeCrypto, key, { ...s.options, baseAddress: 0x9000 });
      const keys = { eky: crypto.randomBytes(32), tky: crypto.randomBytes(32) };
      const image = buildKeysPartition(keys);
      part.write(0, image);
      assert.deepEqual(inner.bytes, encryptFlashData(nodeCrypto, key, image, 0x9000, s.options));
      assert.notDeepEqual(inner.bytes.subarray(0, 64), image.subarray(0, 64));
      assert.deepEqual(parseKeysPartition(readAll(part)), { eky: new Uint8Array(keys.eky), tky: new Uint8Array(keys.tky) });
    });

    it(`${s.name}: the NVS store reads every value of an image flashed encrypted at its partition offset`, () => {
      const key = s.key();
      const csv = 'key,type,encoding,value\nwifi,namespace,,\nssid,data,string,factory-ap\nboots,data,u32,4242\ncert,data,hex2bin,' + 'ab'.repeat(700) + '\n';
      const { image } = generateNvsPartition(csv, { size: 0x3000 });
      // Written through the wrapper (encrypt-on-write onto erased flash) …
      const inner = new MemoryFlash(0x3000);
      const part = EncryptedFlash.create(inner, nodeCrypto, key, { ...s.options, baseAddress: 0x9000 });
      part.write(0, image);
      // … the flash holds what the CLI/library makes of the image for that address.
      assert.deepEqual(inner.bytes, encryptFlashData(nodeCrypto, key, image, 0x9000, s.options));
      assert.equal(Buffer.from(inner.bytes).indexOf('factory-ap'), -1);
      const h = NvsStorage.init(part, { readOnly: true }).open('wifi');
      assert.equal(h.getStr('ssid'), 'factory-ap');
      assert.equal(h.getU32('boots'), 4242);
      assert.deepEqual(h.getBlob('cert'), new Uint8Array(700).fill(0xab));
    });

    it(`${s.name}: reads and writes at random aligned places round-trip, each at its own flash address (flash = encryptFlashData there)`, () => {
      const key = s.key();
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 0x3f00 / 16 }),
          fc.integer({ min: 1, max: 16 }),
          fc.integer({ min: 0, max: 0x100 }),
          (at16, n, base16) => {
            const inner = new MemoryFlash(0x4000);
            const part = EncryptedFlash.create(inner, nodeCrypto, key, { ...s.options, baseAddress: 0x10000 + base16 * 16 });
            const at = at16 * 16;
            const len = Math.min(n * 16, 0x4000 - at);
            const data = crypto.randomBytes(len);
            part.write(at, data);
            const back = new Uint8Array(len);
            part.read(at, back);
            assert.deepEqual(back, new Uint8Array(data));
            assert.deepEqual(inner.bytes.subarray(at, at + len), encryptFlashData(nodeCrypto, key, data, part.baseAddress + at, s.options));
          },
        ),
        { numRuns: 40 },
      );
    });
  }

  it('refuses unaligned encrypted access with a RangeError, but raw access works anywhere', () => {
    const part = EncryptedFlash.create(new MemoryFlash(0x1000), nodeCrypto, crypto.randomBytes(32), { aesXts: true });
    assert.throws(() => part.read(8, new Uint8Array(16)), RangeError);
    assert.throws(() => part.read(0, new Uint8Array(20)), RangeError);
    assert.throws(() => part.write(16, new Uint8Array(4)), /multiples of 16/);
    const raw = new Uint8Array(3);
    part.readRaw(5, raw);
    assert.deepEqual(raw, new Uint8Array(3).fill(0xff));
    part.writeRaw(5, Uint8Array.of(1, 2, 3));
    part.readRaw(5, raw);
    assert.deepEqual(raw, Uint8Array.of(1, 2, 3));
    assert.throws(() => new EncryptedFlash(new MemoryFlash(0x1000), {} as never, 8), RangeError);
  });

  it('passes erase through: the sector is raw 0xFF again (which does not decrypt to 0xFF)', () => {
    const inner = new MemoryFlash(0x2000);
    const part = EncryptedFlash.create(inner, nodeCrypto, crypto.randomBytes(32), { flashCryptConf: 0xf });
    part.write(0x1000, new Uint8Array(0x1000));
    part.eraseSector(1);
    assert.deepEqual(inner.bytes.subarray(0x1000), new Uint8Array(0x1000).fill(0xff));
    const seen = new Uint8Array(16);
    part.read(0x1000, seen);
    assert.notDeepEqual(seen, new Uint8Array(16).fill(0xff));
    assert.equal(inner.stats.erases, 1);
  });

  it('a second encrypted write over programmed blocks fails with the NOR rule, never silently corrupting', () => {
    const part = EncryptedFlash.create(new MemoryFlash(0x1000), nodeCrypto, crypto.randomBytes(32), { aesXts: true });
    part.write(0, new Uint8Array(32).fill(0xfe));
    assert.throws(() => part.write(0, new Uint8Array(32).fill(0xfc)), code('FLASH_SETS_BITS'));
  });

  it('keeps the range check of the wrapped flash, and refuses encrypted access after destroy()', () => {
    const part = EncryptedFlash.create(new MemoryFlash(0x1000), nodeCrypto, crypto.randomBytes(32), { aesXts: true });
    assert.throws(() => part.read(0x1000, new Uint8Array(16)), code('FLASH_OUT_OF_BOUNDS'));
    part.destroy();
    assert.throws(() => part.read(0, new Uint8Array(16)), code('CRYPTO_KEY_DESTROYED'));
  });
});
