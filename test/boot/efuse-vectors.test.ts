import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { fromHex } from '../../src/bytes/hex.js';
import { xtsEncrypt } from '../../src/crypto/xts.js';
import { Efuse } from '../../src/boot/efuse.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';

const read = (vector: string, file: string) => new Uint8Array(fs.readFileSync(path.join(vectorDir('boot', vector), file)));

/**
 * espsecure's XTS flash encryption, written out here independently of any nvsec flash code:
 * per 128-byte unit at U, reverse the unit, IEEE-1619 XTS with sector number U, reverse back.
 */
function espsecureXts(key: Uint8Array, plain: Uint8Array, address: number): Uint8Array {
  const units = plain.length / 128;
  const reversedUnits = new Uint8Array(plain.length);
  for (let u = 0; u < units; u++) reversedUnits.set(plain.subarray(u * 128, (u + 1) * 128).slice().reverse(), u * 128);
  const sectors = Array.from({ length: units }, (_, u) => address + u * 128);
  const ct = xtsEncrypt(nodeCrypto, key, reversedUnits, 128, sectors);
  for (let u = 0; u < units; u++) ct.subarray(u * 128, (u + 1) * 128).reverse();
  return ct;
}

/**
 * espsecure's ESP32 flash encryption (spec §3.2), written out here independently of any nvsec flash
 * code: AES-256 *decrypt* of byte-reversed 16-byte blocks with the key XOR a tweak of the address.
 */
function espsecureEsp32(key: Uint8Array, cryptConfig: number, plain: Uint8Array, address: number): Uint8Array {
  const lengths = [67, 65, 63, 61];
  const map: Array<[group: number, offsetBit: number]> = [];
  lengths.forEach((len, g) => {
    const t = len - 57;
    for (let i = 0; i < len; i++) map.push([g, i < 57 ? 23 - (i % 19) : t + 4 - (i - 57)]);
  });
  const out = new Uint8Array(plain.length);
  for (let off = 0; off < plain.length; off += 16) {
    const o = address + off;
    const blockKey = key.slice();
    map.forEach(([g, k], n) => {
      if ((cryptConfig >> g) & 1 && (o >> k) & 1) blockKey[n >> 3]! ^= 1 << (7 - (n % 8));
    });
    const aes = nodeCrypto.aesEcb(blockKey);
    out.set(aes.decrypt(plain.slice(off, off + 16).reverse()).reverse(), off);
    aes.destroy();
  }
  return out;
}

describe('eFuse keys against the boot golden vectors', { skip: NO_VECTORS }, () => {
  it('burns the ESP32 flash encryption key file into BLOCK1 byte-reversed and gives it back in key-file order', () => {
    const key = read('flash-enc-esp32-aes256', 'fe_key_256.bin');
    const efuse = Efuse.create('esp32');
    efuse.burnKey('flash_encryption', key);
    assert.deepEqual(efuse.hardware.readBlock('BLOCK1'), key.slice().reverse());
    assert.deepEqual(efuse.readBlock('BLOCK1'), new Uint8Array(32), 'software sees zeros: BLOCK1 is read-protected');
    assert.deepEqual(efuse.hardware.flashEncryptionKey(), key);
  });

  it("gives the ESP32's hardware the key and FLASH_CRYPT_CONFIG that reproduce espsecure's ciphertexts (flash-enc-esp32-aes256)", () => {
    const vector = 'flash-enc-esp32-aes256';
    const efuse = Efuse.create('esp32');
    efuse.burnKey('flash_encryption', read(vector, 'fe_key_256.bin'));
    efuse.enableFlashEncryption(); // the bootloader's first boot sets FLASH_CRYPT_CONFIG 0xF
    const key = efuse.hardware.flashEncryptionKey()!;
    const plain = read(vector, 'plain.bin');
    for (const c of readManifest('boot', vector).expected.cases) {
      const conf = Number(c.flash_crypt_conf);
      if (conf === 0xf) assert.equal(efuse.hardware.read('FLASH_CRYPT_CONFIG'), conf);
      assert.deepEqual(espsecureEsp32(key, conf, plain, Number(c.address)), read(vector, c.ciphertext.file), `${c.ciphertext.file}`);
    }
  });

  for (const [vector, chip, keyFile, purpose] of [
    ['flash-enc-xts-aes128-esp32c3', 'esp32c3', 'fe_key_xts128_256bit.bin', 'XTS_AES_128_KEY'],
    ['flash-enc-xts-aes256-esp32s3', 'esp32s3', 'fe_key_xts256_512bit.bin', 'XTS_AES_256_KEY'],
  ] as const) {
    it(`gives ${chip}'s hardware the key that reproduces espsecure's ciphertexts (${vector})`, () => {
      const manifest = readManifest('boot', vector);
      const efuse = Efuse.create(chip);
      efuse.burnKey('BLOCK_KEY0', read(vector, keyFile), purpose);
      const key = efuse.hardware.flashEncryptionKey();
      assert.ok(key);
      for (const c of manifest.expected.cases) {
        const plain = read(vector, c.plaintext ?? 'plain.bin');
        const expected = read(vector, c.ciphertext.file);
        assert.deepEqual(espsecureXts(key, plain, Number(c.address)), expected, `${c.ciphertext.file} at ${c.address}`);
      }
    });
  }

  it('burns SBv2 key digests unreversed and lists them as trusted slots', () => {
    const digests = ['rsa3072', 'ecdsa192', 'ecdsa256'].map((k) => read('sbv2-key-types-and-digests', `${k}_digest.bin`));
    const manifest = readManifest('boot', 'sbv2-key-types-and-digests');
    assert.deepEqual(digests[0], fromHex(manifest.expected.per_key.rsa3072.key_digest_hex));
    const efuse = Efuse.create('esp32c3');
    digests.forEach((d, slot) => efuse.burnKeyDigest(d, `BLOCK_KEY${slot + 3}`, `SECURE_BOOT_DIGEST${slot}` as 'SECURE_BOOT_DIGEST0'));
    assert.deepEqual(
      efuse.secureBootDigests().map((d) => [d.slot, d.digest, d.revoked]),
      digests.map((d, slot) => [slot, d, false]),
    );
    assert.deepEqual(efuse.readBlock('BLOCK_KEY3'), digests[0], 'software can read a digest');
    const esp32 = Efuse.create('esp32');
    const rsa = read('sbv2-rsa3072-sign-verify', 'key_digest.bin');
    esp32.burnKeyDigest(rsa);
    assert.deepEqual(esp32.readBlock('BLOCK2'), fromHex(readManifest('boot', 'sbv2-rsa3072-sign-verify').expected.key_digest_hex));
  });
});
