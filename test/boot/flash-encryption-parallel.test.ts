import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { encryptFlashData } from '../../src/boot/flash-encryption.js';
import { esp32FlashCryptParallel } from '../../src/node/parallel-flash-encryption.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NO_VECTORS, vectorDir } from '../_support/vectors.js';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

describe('esp32FlashCryptParallel() (ESP32 scheme on worker threads)', () => {
  it("reproduces espsecure's ciphertexts of the ESP32 vector with 2 and 3 workers, and decrypts them back", { skip: NO_VECTORS }, async () => {
    const dir = vectorDir('boot', 'flash-enc-esp32-aes256');
    const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(dir, f)));
    const key = read('fe_key_256.bin');
    const plain = read('plain.bin');
    for (const [address, conf, file] of [
      [0x10000, 0xf, 'enc_0x10000_conf0xf.bin'],
      [0x1a0000, 0xf, 'enc_0x1a0000_conf0xf.bin'],
      [0x10000, 0x3, 'enc_0x10000_conf0x3.bin'],
    ] as const) {
      for (const threads of [2, 3]) {
        const ct = await esp32FlashCryptParallel(key, conf, plain, address, 'encrypt', { threads, minParallelBytes: 0 });
        assert.deepEqual(ct, read(file), `${file}, ${threads} threads`);
        assert.deepEqual(await esp32FlashCryptParallel(key, conf, ct, address, 'decrypt', { threads, minParallelBytes: 0 }), plain);
      }
    }
  });

  it('equals the single-thread cipher at unaligned-to-32 addresses and odd block counts', async () => {
    const key = crypto.randomBytes(32);
    for (const [address, blocks] of [
      [0x10010, 7],
      [0x3ff0, 33],
      [0, 1],
    ] as const) {
      const data = crypto.randomBytes(blocks * 16);
      const want = encryptFlashData(nodeCrypto, key, data, address, { flashCryptConf: 0xf });
      assert.deepEqual(await esp32FlashCryptParallel(key, 0xf, data, address, 'encrypt', { threads: 3, minParallelBytes: 0 }), want);
    }
  });

  it('makes the same checks as the single-thread cipher', async () => {
    const key = new Uint8Array(32);
    await assert.rejects(esp32FlashCryptParallel(key, 0xf, new Uint8Array(32), 0x10008, 'encrypt'), code('FLASH_ENC_BAD_ADDRESS'));
    await assert.rejects(esp32FlashCryptParallel(key, 0xf, new Uint8Array(20), 0, 'decrypt'), code('FLASH_ENC_BAD_LENGTH'));
    await assert.rejects(esp32FlashCryptParallel(key, 16, new Uint8Array(32), 0, 'encrypt'), code('FLASH_ENC_BAD_CONFIG'));
    await assert.rejects(esp32FlashCryptParallel(new Uint8Array(24), 0xf, new Uint8Array(32), 0, 'encrypt'), RangeError);
  });
});

