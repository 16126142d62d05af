import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Efuse } from '../../src/boot/efuse.js';
import { EfuseError, type EfuseErrorCode } from '../../src/boot/efuse-error.js';

const code = (c: EfuseErrorCode, pattern?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof EfuseError, `expected an EfuseError, got ${String(e)}`);
  assert.equal(e.code, c);
  if (pattern) assert.match(e.message, pattern);
  return true;
};
const seq = (n: number, from = 1) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
const reversed = (b: Uint8Array) => b.slice().reverse();

describe('eFuse field layout', () => {
  it('places fields at the byte/bit locations espefuse documents (bloc column of its tables)', () => {
    // esp32.yaml: FLASH_CRYPT_CNT = B2[7:4],B3[2:0]; ABS_DONE_1 = B24[5]; FLASH_CRYPT_CONFIG = B23[7:4]
    const esp32 = Efuse.create('esp32');
    esp32.burn('FLASH_CRYPT_CNT', 0x7f);
    esp32.burn('ABS_DONE_1', true);
    esp32.burn('FLASH_CRYPT_CONFIG', 0xf);
    const b0 = esp32.hardware.readBlock(0);
    assert.deepEqual([b0[2], b0[3], b0[23], b0[24]], [0xf0, 0x07, 0xf0, 0x20]);
    // esp32c3.yaml: SPI_BOOT_CRYPT_CNT = B10[4:2]; KEY_PURPOSE_0 = B11[3:0]; SECURE_BOOT_EN = B14[4]; SECURE_VERSION = B17[7:6],B18,B19[5:0]
    const c3 = Efuse.create('esp32c3');
    c3.burn('SPI_BOOT_CRYPT_CNT', 7);
    c3.burn('KEY_PURPOSE_0', 0xf);
    c3.burn('SECURE_BOOT_EN', true);
    c3.burn('SECURE_VERSION', 0xffff);
    const c0 = c3.hardware.readBlock('BLOCK0');
    assert.deepEqual([c0[10], c0[11], c0[14], c0[17], c0[18], c0[19]], [0x1c, 0x0f, 0x10, 0xc0, 0xff, 0x3f]);
  });

  it('rejects a field name the chip does not have', () => {
    assert.throws(() => Efuse.create('esp32c3').burn('ABS_DONE_1', true), code('EFUSE_UNKNOWN_NAME', /ABS_DONE_1/));
    assert.throws(() => Efuse.create('esp32').read('SECURE_BOOT_EN'), code('EFUSE_UNKNOWN_NAME'));
  });
});

describe('eFuse bits only go 0 -> 1', () => {
  it('refuses a burn that would clear a set bit and leaves the field unchanged', () => {
    const efuse = Efuse.create('esp32c3');
    efuse.burn('SPI_BOOT_CRYPT_CNT', 0b001);
    assert.throws(() => efuse.burn('SPI_BOOT_CRYPT_CNT', 0b010), code('EFUSE_CANNOT_CLEAR', /SPI_BOOT_CRYPT_CNT.*0 -> 1/));
    assert.equal(efuse.read('SPI_BOOT_CRYPT_CNT'), 0b001);
  });

  it('accepts re-burning bits that are already set, as the hardware does', () => {
    const efuse = Efuse.create('esp32');
    efuse.burn('JTAG_DISABLE', true);
    efuse.burn('JTAG_DISABLE', true);
    efuse.burn('FLASH_CRYPT_CNT', 0b11);
    efuse.burn('FLASH_CRYPT_CNT', 0b111);
    assert.equal(efuse.read('JTAG_DISABLE'), true);
    assert.equal(efuse.read('FLASH_CRYPT_CNT'), 0b111);
  });

  it('rejects values that do not fit the field, naming the argument', () => {
    const efuse = Efuse.create('esp32c3');
    assert.throws(() => efuse.burn('SPI_BOOT_CRYPT_CNT', 8), (e: unknown) => e instanceof RangeError && /"value"/.test(e.message));
    assert.throws(() => efuse.burn('BLOCK_KEY0', seq(31)), RangeError);
    assert.throws(() => efuse.burn('SECURE_BOOT_EN', seq(1)), TypeError);
  });
});

describe('eFuse write protection (WR_DIS)', () => {
  it('refuses to burn a write-protected field, naming the field and its WR_DIS bit', () => {
    const efuse = Efuse.create('esp32c3');
    efuse.writeProtect('SPI_BOOT_CRYPT_CNT');
    assert.throws(() => efuse.burn('SPI_BOOT_CRYPT_CNT', 1), code('EFUSE_WRITE_PROTECTED', /SPI_BOOT_CRYPT_CNT.*WR_DIS bit 4/));
    const esp32 = Efuse.create('esp32');
    esp32.writeProtect('FLASH_CRYPT_CNT');
    assert.throws(() => esp32.burn('FLASH_CRYPT_CNT', 1), code('EFUSE_WRITE_PROTECTED', /FLASH_CRYPT_CNT.*WR_DIS bit 2/));
  });

  it('protects every field sharing the WR_DIS bit (ESP32 bit 15 covers the three DISABLE_DL_* fields)', () => {
    const efuse = Efuse.create('esp32');
    efuse.writeProtect('DISABLE_DL_ENCRYPT');
    assert.equal(efuse.isWriteProtected('DISABLE_DL_CACHE'), true);
    assert.throws(() => efuse.burn('DISABLE_DL_CACHE', true), code('EFUSE_WRITE_PROTECTED', /WR_DIS bit 15/));
  });

  it('refuses to protect a field that has no WR_DIS bit', () => {
    assert.throws(() => Efuse.create('esp32').writeProtect('DISABLE_SDIO_HOST'), code('EFUSE_NOT_PROTECTABLE'));
  });
});

describe('eFuse read protection (RD_DIS)', () => {
  it('reads a read-protected key block as zeros in software while the hardware view still has the key', () => {
    const efuse = Efuse.create('esp32c3');
    const key = seq(32, 0x40);
    efuse.burnKey('BLOCK_KEY3', key, 'HMAC_UP');
    assert.equal(efuse.isReadProtected('BLOCK_KEY3'), true);
    assert.deepEqual(efuse.read('BLOCK_KEY3'), new Uint8Array(32));
    assert.deepEqual(efuse.readBlock('BLOCK_KEY3'), new Uint8Array(32));
    assert.deepEqual(efuse.hardware.read('BLOCK_KEY3'), key);
    assert.deepEqual(efuse.hardware.key('HMAC_UP'), key);
  });

  it('burns RD_DIS bit n for BLOCK_KEYn (C3) and bit 0 for the ESP32 flash encryption key', () => {
    const c3 = Efuse.create('esp32c3');
    c3.readProtect('BLOCK_KEY5');
    assert.equal(c3.read('RD_DIS'), 1 << 5);
    const esp32 = Efuse.create('esp32');
    esp32.burnKey('flash_encryption', seq(32));
    assert.equal(esp32.read('RD_DIS'), 1);
  });
});

describe('eFuse key purposes', () => {
  it('requires an empty key block and an unset purpose', () => {
    const efuse = Efuse.create('esp32c3');
    efuse.burnKey('BLOCK_KEY0', seq(32), 'USER', { noWriteProtect: true });
    assert.throws(() => efuse.burnKey('BLOCK_KEY0', seq(32, 9), 'USER'), code('EFUSE_KEY_BLOCK_NOT_EMPTY', /BLOCK_KEY0/));
    efuse.burn('KEY_PURPOSE_1', 8);
    assert.throws(() => efuse.burnKey('BLOCK_KEY1', seq(32), 'HMAC_UP'), code('EFUSE_KEY_BLOCK_NOT_EMPTY', /KEY_PURPOSE_1/));
  });

  it('refuses XTS-AES-256 purposes on the ESP32-C3, which is XTS-AES-128 only', () => {
    const efuse = Efuse.create('esp32c3');
    assert.throws(() => efuse.burnKey('BLOCK_KEY0', seq(64), 'XTS_AES_256_KEY'), code('EFUSE_BAD_PURPOSE', /esp32c3/));
    assert.throws(() => efuse.burnKey('BLOCK_KEY0', seq(32), 'XTS_AES_256_KEY_1'), code('EFUSE_BAD_PURPOSE'));
  });

  it('needs a purpose on C3/S3 and refuses one on the ESP32', () => {
    assert.throws(() => Efuse.create('esp32s3').burnKey('BLOCK_KEY0', seq(32)), code('EFUSE_BAD_PURPOSE'));
    assert.throws(() => Efuse.create('esp32').burnKey('flash_encryption', seq(32), 'XTS_AES_128_KEY'), code('EFUSE_BAD_PURPOSE'));
  });

  it('checks the key length for the purpose and rejects an all-zero key', () => {
    const efuse = Efuse.create('esp32s3');
    assert.throws(() => efuse.burnKey('BLOCK_KEY0', seq(64), 'XTS_AES_128_KEY'), (e: unknown) => e instanceof RangeError && /"key"/.test(e.message));
    assert.throws(() => efuse.burnKey('BLOCK_KEY0', seq(32), 'XTS_AES_256_KEY'), RangeError);
    assert.throws(() => efuse.burnKey('BLOCK_KEY0', new Uint8Array(32), 'USER'), RangeError);
  });

  it('keeps unique purposes unique: one XTS key, one block per digest slot', () => {
    const efuse = Efuse.create('esp32s3');
    efuse.burnKey('BLOCK_KEY0', seq(32), 'XTS_AES_128_KEY');
    assert.throws(() => efuse.burnKey('BLOCK_KEY1', seq(32, 7), 'XTS_AES_128_KEY'), code('EFUSE_PURPOSE_IN_USE', /BLOCK_KEY0/));
    assert.throws(() => efuse.burnKey('BLOCK_KEY1', seq(64, 7), 'XTS_AES_256_KEY'), code('EFUSE_PURPOSE_IN_USE'));
    efuse.burnKeyDigest(seq(32, 100), 'BLOCK_KEY2', 'SECURE_BOOT_DIGEST0');
    assert.throws(() => efuse.burnKeyDigest(seq(32, 50), 'BLOCK_KEY3', 'SECURE_BOOT_DIGEST0'), code('EFUSE_PURPOSE_IN_USE'));
  });

  it('read- and write-protects XTS and HMAC keys; write-protects but never read-protects digests; leaves USER keys readable', () => {
    const efuse = Efuse.create('esp32c3');
    efuse.burnKey('BLOCK_KEY0', seq(32), 'XTS_AES_128_KEY');
    efuse.burnKey('BLOCK_KEY1', seq(32, 33), 'HMAC_DOWN_ALL');
    efuse.burnKeyDigest(seq(32, 65), 'BLOCK_KEY2', 'SECURE_BOOT_DIGEST0');
    efuse.burnKey('BLOCK_KEY3', seq(32, 97), 'USER');
    const state = (b: string) => [efuse.isReadProtected(b), efuse.isWriteProtected(b)];
    assert.deepEqual([state('BLOCK_KEY0'), state('BLOCK_KEY1'), state('BLOCK_KEY2'), state('BLOCK_KEY3')], [
      [true, true],
      [true, true],
      [false, true],
      [false, true],
    ]);
    assert.equal(efuse.isWriteProtected('KEY_PURPOSE_2'), true, 'the purpose is write-protected with its key');
    assert.deepEqual(efuse.read('BLOCK_KEY2'), seq(32, 65), 'a digest stays readable');
    assert.equal(efuse.keyPurpose('BLOCK_KEY1'), 'HMAC_DOWN_ALL');
  });

  it('honours espefuse --no-read-protect and --no-write-protect, but locks the purpose anyway as espefuse does', () => {
    const efuse = Efuse.create('esp32c3');
    efuse.burnKey('BLOCK_KEY4', seq(32), 'XTS_AES_128_KEY', { noReadProtect: true, noWriteProtect: true });
    assert.deepEqual([efuse.isReadProtected('BLOCK_KEY4'), efuse.isWriteProtected('BLOCK_KEY4'), efuse.isWriteProtected('KEY_PURPOSE_4')], [false, false, true]);
  });

  it('burns the virtual XTS_AES_256_KEY into the block and the next one as _1 and _2 (ESP32-S3)', () => {
    const efuse = Efuse.create('esp32s3');
    const key = seq(64);
    efuse.burnKey('BLOCK_KEY2', key, 'XTS_AES_256_KEY');
    assert.deepEqual([efuse.keyPurpose('BLOCK_KEY2'), efuse.keyPurpose('BLOCK_KEY3')], ['XTS_AES_256_KEY_1', 'XTS_AES_256_KEY_2']);
    assert.deepEqual(efuse.hardware.read('BLOCK_KEY2'), reversed(key.subarray(0, 32)));
    assert.deepEqual(efuse.hardware.read('BLOCK_KEY3'), reversed(key.subarray(32)));
    assert.throws(() => efuse.burnKey('BLOCK_KEY5', seq(64, 3), 'XTS_AES_256_KEY'), code('EFUSE_BAD_PURPOSE', /BLOCK_KEY5/));
  });

  it('burns all or nothing: a 256-bit key whose second block is taken leaves the first block empty', () => {
    const efuse = Efuse.create('esp32s3');
    efuse.burnKey('BLOCK_KEY1', seq(32), 'USER');
    assert.throws(() => efuse.burnKey('BLOCK_KEY0', seq(64, 9), 'XTS_AES_256_KEY'), code('EFUSE_KEY_BLOCK_NOT_EMPTY', /BLOCK_KEY1/));
    assert.deepEqual(efuse.hardware.read('BLOCK_KEY0'), new Uint8Array(32));
    assert.equal(efuse.read('KEY_PURPOSE_0'), 0);
    assert.equal(efuse.read('RD_DIS'), 0);
  });
});

describe('eFuse byte order on burn', () => {
  it('reverses XTS-AES keys but burns HMAC keys and SBv2 digests as given', () => {
    const efuse = Efuse.create('esp32c3');
    const xts = seq(32, 1);
    const hmac = seq(32, 101);
    const digest = seq(32, 201);
    efuse.burnKey('BLOCK_KEY0', xts, 'XTS_AES_128_KEY');
    efuse.burnKey('BLOCK_KEY1', hmac, 'HMAC_UP');
    efuse.burnKeyDigest(digest, 'BLOCK_KEY2', 'SECURE_BOOT_DIGEST0');
    assert.deepEqual(efuse.hardware.readBlock('BLOCK_KEY0'), reversed(xts));
    assert.deepEqual(efuse.hardware.readBlock('BLOCK_KEY1'), hmac);
    assert.deepEqual(efuse.hardware.readBlock('BLOCK_KEY2'), digest);
  });

  it('reverses the ESP32 flash encryption and SBv1 keys but not a BLOCK3 key or the SBv2 digest', () => {
    const a = Efuse.create('esp32');
    a.burnKey('flash_encryption', seq(32, 1));
    a.burnKey('BLOCK3', seq(32, 65));
    a.burnKeyDigest(seq(32, 129));
    assert.deepEqual(a.hardware.readBlock('BLOCK1'), reversed(seq(32, 1)));
    assert.deepEqual(a.hardware.readBlock('BLOCK3'), seq(32, 65));
    assert.deepEqual(a.hardware.readBlock('BLOCK2'), seq(32, 129));
    const b = Efuse.create('esp32');
    b.burnKey('secure_boot_v1', seq(32, 7));
    assert.deepEqual(b.hardware.readBlock('BLOCK2'), reversed(seq(32, 7)));
    assert.equal(b.isReadProtected('BLOCK2'), true);
  });

  it('burns an ESP32 key given by plain block name (BLOCK1) as is and readable, as espefuse does', () => {
    const efuse = Efuse.create('esp32');
    efuse.burnKey('BLOCK1', seq(32, 1));
    assert.deepEqual(efuse.readBlock('BLOCK1'), seq(32, 1));
    assert.deepEqual([efuse.isReadProtected('BLOCK1'), efuse.isWriteProtected('BLOCK1')], [false, true]);
  });
});

describe('eFuse flash encryption key (hardware view)', () => {
  it('gives the ESP32 key in key-file order, 32 bytes', () => {
    const efuse = Efuse.create('esp32');
    assert.equal(efuse.hardware.flashEncryptionKey(), null);
    efuse.burnKey('flash_encryption', seq(32, 0x80));
    assert.deepEqual(efuse.hardware.flashEncryptionKey(), seq(32, 0x80));
  });

  it('extends a 3/4-coded 24-byte ESP32 key K to K ‖ K[8:16], as espsecure does', () => {
    const efuse = Efuse.create('esp32', { codingScheme: '3/4' });
    const k = seq(24, 0x30);
    assert.throws(() => efuse.burnKey('flash_encryption', seq(32)), (e: unknown) => e instanceof RangeError && /24 bytes.*3\/4/.test(e.message));
    efuse.burnKey('flash_encryption', k);
    const expected = new Uint8Array([...k, ...k.subarray(8, 16)]);
    assert.deepEqual(efuse.hardware.flashEncryptionKey(), expected);
    assert.equal((efuse.read('BLOCK1') as Uint8Array).length, 24);
  });

  it('has a coding scheme only on the ESP32 and refuses to change it once key blocks hold data', () => {
    assert.throws(() => Efuse.create('esp32c3', { codingScheme: '3/4' }), code('EFUSE_UNSUPPORTED', /Reed-Solomon/));
    const efuse = Efuse.create('esp32');
    efuse.burnKey('BLOCK3', seq(32));
    assert.throws(() => efuse.burn('CODING_SCHEME', 1), code('EFUSE_UNSUPPORTED', /BLOCK1\.\.3/));
  });

  it('refuses an SBv2 digest on a 3/4-coded ESP32 (192-bit BLOCK2)', () => {
    assert.throws(() => Efuse.create('esp32', { codingScheme: '3/4' }).burnKeyDigest(seq(32)), code('EFUSE_UNSUPPORTED', /3\/4/));
  });

  it('gives the C3 XTS_AES_128_KEY (32 bytes) and the S3 XTS-AES-256 pair (64 bytes)', () => {
    const c3 = Efuse.create('esp32c3');
    c3.burnKey('BLOCK_KEY5', seq(32, 9), 'XTS_AES_128_KEY');
    assert.deepEqual(c3.hardware.flashEncryptionKey(), seq(32, 9));
    const s3 = Efuse.create('esp32s3');
    s3.burnKey('BLOCK_KEY0', seq(32, 1), 'XTS_AES_256_KEY_1');
    assert.throws(() => s3.hardware.flashEncryptionKey(), code('EFUSE_NO_KEY', /one half/));
    s3.burnKey('BLOCK_KEY4', seq(32, 33), 'XTS_AES_256_KEY_2');
    assert.deepEqual(s3.hardware.flashEncryptionKey(), seq(64, 1));
  });
});

describe('eFuse CRYPT_CNT and flash encryption state', () => {
  it('treats an odd number of set bits as on: 3-bit values 1 and 7 on, 0 and 3 off', () => {
    const expectOn: Record<number, boolean> = { 0: false, 1: true, 3: false, 7: true, 2: true, 5: false, 6: false, 4: true };
    for (const [value, on] of Object.entries(expectOn)) {
      const efuse = Efuse.create('esp32c3');
      efuse.burn('SPI_BOOT_CRYPT_CNT', Number(value));
      assert.equal(efuse.flashEncryptionEnabled(), on, `SPI_BOOT_CRYPT_CNT = ${value}`);
    }
  });

  it('counts the 7-bit ESP32 FLASH_CRYPT_CNT the same way', () => {
    for (const [value, on] of [[0, false], [1, true], [3, false], [0b111, true], [0x7f, true], [0b1000001, false]] as const) {
      const efuse = Efuse.create('esp32');
      efuse.burn('FLASH_CRYPT_CNT', value);
      assert.equal(efuse.flashEncryptionEnabled(), on, `FLASH_CRYPT_CNT = ${value}`);
    }
  });

  it('refuses to enable flash encryption without a key', () => {
    assert.throws(() => Efuse.create('esp32c3').enableFlashEncryption(), code('EFUSE_NO_KEY'));
    assert.throws(() => Efuse.create('esp32').enableFlashEncryption(), code('EFUSE_NO_KEY'));
  });

  it('development mode burns one bit, stays writable and can be turned off once on C3/S3', () => {
    const efuse = Efuse.create('esp32c3');
    efuse.burnKey('BLOCK_KEY0', seq(32), 'XTS_AES_128_KEY');
    efuse.enableFlashEncryption();
    assert.deepEqual([efuse.read('SPI_BOOT_CRYPT_CNT'), efuse.flashEncryptionEnabled(), efuse.isWriteProtected('SPI_BOOT_CRYPT_CNT')], [1, true, false]);
    efuse.disableFlashEncryption();
    assert.deepEqual([efuse.read('SPI_BOOT_CRYPT_CNT'), efuse.flashEncryptionEnabled()], [3, false]);
    efuse.enableFlashEncryption();
    assert.equal(efuse.read('SPI_BOOT_CRYPT_CNT'), 7);
    assert.throws(() => efuse.disableFlashEncryption(), code('EFUSE_CRYPT_CNT_EXHAUSTED'));
  });

  it('development mode on the ESP32 can be turned off three times and sets FLASH_CRYPT_CONFIG 0xF', () => {
    const efuse = Efuse.create('esp32');
    efuse.burnKey('flash_encryption', seq(32));
    for (let i = 0; i < 3; i++) {
      efuse.enableFlashEncryption();
      assert.equal(efuse.flashEncryptionEnabled(), true);
      efuse.disableFlashEncryption();
      assert.equal(efuse.flashEncryptionEnabled(), false);
    }
    efuse.enableFlashEncryption();
    assert.equal(efuse.hardware.read('FLASH_CRYPT_CNT'), 0x7f);
    assert.equal(efuse.hardware.read('FLASH_CRYPT_CONFIG'), 0xf);
    assert.throws(() => efuse.disableFlashEncryption(), code('EFUSE_CRYPT_CNT_EXHAUSTED'));
  });

  it('release mode burns every CRYPT_CNT bit, write-protects it and disables download-mode encryption (C3)', () => {
    const efuse = Efuse.create('esp32c3');
    efuse.burnKey('BLOCK_KEY0', seq(32), 'XTS_AES_128_KEY');
    efuse.enableFlashEncryption({ release: true });
    assert.equal(efuse.read('SPI_BOOT_CRYPT_CNT'), 7);
    assert.equal(efuse.isWriteProtected('SPI_BOOT_CRYPT_CNT'), true);
    assert.equal(efuse.read('DIS_DOWNLOAD_MANUAL_ENCRYPT'), true);
    assert.equal(efuse.flashEncryptionReleaseMode(), true);
    assert.throws(() => efuse.disableFlashEncryption(), code('EFUSE_CRYPT_CNT_EXHAUSTED'));
  });

  it('release mode on the ESP32 sets DISABLE_DL_ENCRYPT/DECRYPT/CACHE and blocks turning it off', () => {
    const efuse = Efuse.create('esp32');
    efuse.burnKey('flash_encryption', seq(32));
    efuse.enableFlashEncryption();
    assert.equal(efuse.flashEncryptionReleaseMode(), false);
    efuse.enableFlashEncryption({ release: true });
    assert.equal(efuse.hardware.read('FLASH_CRYPT_CNT'), 0x7f);
    assert.deepEqual(['DISABLE_DL_ENCRYPT', 'DISABLE_DL_DECRYPT', 'DISABLE_DL_CACHE'].map((n) => efuse.read(n)), [true, true, true]);
    assert.equal(efuse.isWriteProtected('FLASH_CRYPT_CNT'), true);
    assert.equal(efuse.flashEncryptionReleaseMode(), true);
    assert.throws(() => efuse.disableFlashEncryption(), code('EFUSE_CRYPT_CNT_EXHAUSTED'));
    assert.doesNotThrow(() => efuse.burn('FLASH_CRYPT_CNT', 0x7f), 're-burning set bits of a protected field is a no-op');
  });
});

describe('eFuse secure boot digests and revocation', () => {
  it('lists digests by slot with their revocation state; revocation skips only that slot', () => {
    const efuse = Efuse.create('esp32c3');
    efuse.burnKeyDigest(seq(32, 0x10), 'BLOCK_KEY3', 'SECURE_BOOT_DIGEST1');
    efuse.burnKeyDigest(seq(32, 0x20), 'BLOCK_KEY1', 'SECURE_BOOT_DIGEST0');
    efuse.burnKeyDigest(seq(32, 0x30), 'BLOCK_KEY2', 'SECURE_BOOT_DIGEST2');
    efuse.revokeKey(0);
    const digests = efuse.secureBootDigests();
    assert.deepEqual(
      digests.map((d) => [d.slot, d.block, d.revoked, d.digest[0]]),
      [
        [0, 'BLOCK_KEY1', true, 0x20],
        [1, 'BLOCK_KEY3', false, 0x10],
        [2, 'BLOCK_KEY2', false, 0x30],
      ],
    );
    assert.deepEqual(
      digests.filter((d) => !d.revoked).map((d) => d.slot),
      [1, 2],
    );
    assert.equal(efuse.read('SECURE_BOOT_KEY_REVOKE0'), true);
  });

  it('has no revocation on the ESP32 and a single digest in BLOCK2', () => {
    const efuse = Efuse.create('esp32');
    efuse.burnKeyDigest(seq(32, 5));
    assert.deepEqual(efuse.secureBootDigests().map((d) => [d.slot, d.block, d.revoked]), [[0, 'BLOCK2', false]]);
    assert.equal(efuse.isWriteProtected('BLOCK2'), true);
    assert.equal(efuse.isReadProtected('BLOCK2'), false);
    assert.throws(() => efuse.revokeKey(0), code('EFUSE_UNSUPPORTED'));
  });

  it('refuses to enable secure boot with no unrevoked digest, then enables it and locks RD_DIS', () => {
    const efuse = Efuse.create('esp32s3');
    assert.throws(() => efuse.enableSecureBoot(), code('EFUSE_NO_KEY'));
    efuse.burnKeyDigest(seq(32), 'BLOCK_KEY0', 'SECURE_BOOT_DIGEST0');
    efuse.revokeKey(0);
    assert.throws(() => efuse.enableSecureBoot(), code('EFUSE_NO_KEY'));
    efuse.burnKeyDigest(seq(32, 77), 'BLOCK_KEY1', 'SECURE_BOOT_DIGEST1');
    efuse.enableSecureBoot();
    assert.equal(efuse.secureBootEnabled(), true);
    assert.throws(() => efuse.readProtect('BLOCK_KEY1'), code('EFUSE_WRITE_PROTECTED', /RD_DIS.*WR_DIS bit 0/));
  });

  it('revokes the empty digest slots on request, as the bootloader does on first boot', () => {
    const efuse = Efuse.create('esp32c3');
    efuse.burnKeyDigest(seq(32), 'BLOCK_KEY0', 'SECURE_BOOT_DIGEST1');
    efuse.enableSecureBoot({ revokeUnusedSlots: true });
    assert.deepEqual([0, 1, 2].map((n) => efuse.read(`SECURE_BOOT_KEY_REVOKE${n}`)), [true, false, true]);
    assert.throws(() => efuse.burnKeyDigest(seq(32, 9), 'BLOCK_KEY1', 'SECURE_BOOT_DIGEST0'), code('EFUSE_BAD_PURPOSE', /slot 0 is revoked/));
    assert.equal(efuse.secureBootDigests().filter((d) => !d.revoked).length, 1);
  });

  it('enables secure boot on the ESP32 with ABS_DONE_1', () => {
    const efuse = Efuse.create('esp32');
    efuse.burnKeyDigest(seq(32));
    efuse.enableSecureBoot({ allowReadProtect: true });
    assert.deepEqual([efuse.read('ABS_DONE_1'), efuse.secureBootEnabled(), efuse.isWriteProtected('RD_DIS')], [true, true, false]);
  });
});

describe('eFuse anti-rollback SECURE_VERSION', () => {
  it('counts set bits and never goes down', () => {
    const efuse = Efuse.create('esp32c3');
    assert.equal(efuse.secureVersion(), 0);
    efuse.burnSecureVersion(3);
    assert.deepEqual([efuse.secureVersion(), efuse.read('SECURE_VERSION')], [3, 0b111]);
    efuse.burn('SECURE_VERSION', 0b1000_0111);
    assert.equal(efuse.secureVersion(), 4, 'the version is the number of bits, wherever they are');
    efuse.burnSecureVersion(5);
    assert.deepEqual([efuse.secureVersion(), efuse.read('SECURE_VERSION')], [5, 0b1000_1111]);
    assert.throws(() => efuse.burnSecureVersion(2), code('EFUSE_CANNOT_CLEAR', /from 5 to 2/));
    assert.throws(() => efuse.burnSecureVersion(17), RangeError);
  });
});

describe('eFuse persistence', () => {
  it('restores every bit from its image, including read-protected keys', () => {
    const efuse = Efuse.create('esp32s3');
    efuse.burnKey('BLOCK_KEY0', seq(64), 'XTS_AES_256_KEY');
    efuse.burnKeyDigest(seq(32, 7), 'BLOCK_KEY2', 'SECURE_BOOT_DIGEST0');
    efuse.enableFlashEncryption({ release: true });
    const copy = Efuse.fromImage(efuse.toImage());
    assert.equal(copy.chip, 'esp32s3');
    for (let b = 0; b < 11; b++) assert.deepEqual(copy.hardware.readBlock(b), efuse.hardware.readBlock(b));
    assert.deepEqual(copy.hardware.flashEncryptionKey(), seq(64));
    assert.equal(copy.flashEncryptionReleaseMode(), true);
  });

  it('detects a corrupt, truncated or foreign image', () => {
    const image = Efuse.create('esp32').toImage();
    for (const i of [0, 5, 9, image.length - 1]) {
      const bad = image.slice();
      bad[i]! ^= 0x01;
      assert.throws(() => Efuse.fromImage(bad), code('EFUSE_IMAGE_CORRUPT'), `byte ${i} flipped`);
    }
    assert.throws(() => Efuse.fromImage(image.subarray(0, image.length - 1)), code('EFUSE_IMAGE_CORRUPT', /truncated/));
    assert.throws(() => Efuse.fromImage(new Uint8Array(0)), code('EFUSE_IMAGE_CORRUPT'));
  });

  it('wipes keys on destroy and refuses later use', () => {
    const efuse = Efuse.create('esp32c3');
    efuse.burnKey('BLOCK_KEY0', seq(32), 'XTS_AES_128_KEY');
    efuse.destroy();
    assert.throws(() => efuse.hardware.flashEncryptionKey(), code('EFUSE_DESTROYED'));
    assert.throws(() => efuse.read('RD_DIS'), code('EFUSE_DESTROYED'));
  });
});
