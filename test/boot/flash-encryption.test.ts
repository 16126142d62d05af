import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createFlashCipher, decryptFlashData, encryptFlashData } from '../../src/boot/flash-encryption.js';
import { Esp32FlashCipher } from '../../src/boot/flash-encryption-esp32.js';
import { loadFlashEncryptionKey } from '../../src/boot/flash-encryption-key.js';
import { XtsFlashCipher } from '../../src/boot/flash-encryption-xts.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;
const rejects = (c: string, start: string) => (e: unknown) => code(c)(e) && (e as Error).message.startsWith(start);
const rev = (b: Uint8Array) => Uint8Array.from(b).reverse();

// ---------------------------------------------------------------- independent references
// The ESP32 key tweak written the other way round: as one multiplication over 256-bit integers
// (key bytes big-endian), which spreads offset bits 5..23 over the key the same way the
// per-bit table of the spec does. Constants: the four FLASH_CRYPT_CONFIG ranges and the
// multipliers of that arithmetic form.
const RANGES = [
  0xffffffffffffffffe00000000000000000000000000000000000000000000000n,
  0x00000000000000001ffffffffffffffff0000000000000000000000000000000n,
  0x000000000000000000000000000000000fffffffffffffffe000000000000000n,
  0x0000000000000000000000000000000000000000000000001fffffffffffffffn,
];
const MUL1 = 0x0000200004000080000004000080001000000200004000080000040000800010n;
const MUL2 = 0x0000000000000000200000000000000010000000000000002000000000000001n;
const MUL2_MASK = 0x000000000000007fe00000000000000ff000000000000007e00000000000000fn;

function referenceEsp32(key: Uint8Array, conf: number, data: Uint8Array, address: number, encrypt: boolean): Uint8Array {
  let range = 0n;
  RANGES.forEach((r, g) => {
    if (conf & (1 << g)) range |= r;
  });
  const k = BigInt(`0x${Buffer.from(key).toString('hex')}`);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += 16) {
    const addr = BigInt((address + i) >>> 5);
    const tweaked = k ^ (((MUL1 * addr) | ((MUL2 * addr) & MUL2_MASK)) & range);
    const blockKey = Buffer.from(tweaked.toString(16).padStart(64, '0'), 'hex');
    const c = encrypt ? crypto.createDecipheriv('aes-256-ecb', blockKey, null) : crypto.createCipheriv('aes-256-ecb', blockKey, null);
    c.setAutoPadding(false);
    out.set(rev(c.update(rev(data.subarray(i, i + 16)))), i);
  }
  return out;
}

/** XTS flash encryption straight from the description: zero-padded 128-byte units, node:crypto XTS per unit. */
function referenceXts(key: Uint8Array, data: Uint8Array, address: number, encrypt: boolean): Uint8Array {
  const lead = address % 128;
  const padded = new Uint8Array(Math.ceil((lead + data.length) / 128) * 128);
  padded.set(data, lead);
  const out = new Uint8Array(padded.length);
  for (let u = 0; u < padded.length; u += 128) {
    const tweak = Buffer.alloc(16);
    tweak.writeUInt32LE(address - lead + u);
    const alg = key.length === 32 ? 'aes-128-xts' : 'aes-256-xts';
    const c = encrypt ? crypto.createCipheriv(alg, key, tweak) : crypto.createDecipheriv(alg, key, tweak);
    out.set(rev(c.update(rev(padded.subarray(u, u + 128)))), u);
  }
  return out.slice(lead, lead + data.length);
}

// ---------------------------------------------------------------- arbitraries
const blocks = (max: number) => fc.integer({ min: 1, max }).chain((n) => fc.uint8Array({ minLength: n * 16, maxLength: n * 16 }));
const esp32Address = fc.integer({ min: 0, max: 0xfff000 / 16 }).map((n) => n * 16);
const xtsAddress = fc.integer({ min: 0, max: 0xfffff000 / 16 }).map((n) => n * 16);
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const xtsKey = fc.oneof(key32, fc.uint8Array({ minLength: 64, maxLength: 64 }));

describe('Esp32FlashCipher', () => {
  it('equals an independent computation of the key tweak and inverted AES for any key, FLASH_CRYPT_CONFIG and address', () => {
    fc.assert(
      fc.property(key32, fc.integer({ min: 0, max: 15 }), esp32Address, blocks(6), (key, conf, address, data) => {
        const c = new Esp32FlashCipher(nodeCrypto, key, conf);
        const ct = c.encrypt(data, address);
        assert.deepEqual(ct, referenceEsp32(key, conf, data, address, true));
        assert.deepEqual(c.decrypt(ct, address), data);
        c.destroy();
      }),
      { numRuns: 150 },
    );
  });

  it('extends a 24-byte (3/4 coding) key file to K ‖ K[8:16]', () => {
    const k24 = crypto.randomBytes(24);
    const k32 = Buffer.concat([k24, k24.subarray(8, 16)]);
    const data = crypto.randomBytes(256);
    assert.deepEqual(encryptFlashData(nodeCrypto, k24, data, 0x10000), referenceEsp32(k32, 0xf, data, 0x10000, true));
    assert.equal(loadFlashEncryptionKey(nodeCrypto, k24, 'esp32').note, 'Using 192-bit key (extended).');
  });

  it('with FLASH_CRYPT_CONFIG 0 is plain AES: equal blocks anywhere give equal ciphertext; with 0xF they differ', () => {
    const key = crypto.randomBytes(32);
    const data = new Uint8Array(64).fill(0x5a);
    const flat = encryptFlashData(nodeCrypto, key, data, 0x1000, { flashCryptConf: 0 });
    assert.deepEqual(flat.subarray(0, 16), flat.subarray(48, 64));
    const tweaked = encryptFlashData(nodeCrypto, key, data, 0x1000, { flashCryptConf: 0xf });
    assert.deepEqual(tweaked.subarray(0, 16), tweaked.subarray(16, 32)); // one key per 32-byte block
    assert.notDeepEqual(tweaked.subarray(0, 16), tweaked.subarray(32, 48));
  });

  it('refuses a FLASH_CRYPT_CONFIG that is not 0..0xF, and data past 16 MiB', () => {
    const key = new Uint8Array(32);
    for (const conf of [-1, 16, 1.5, Number.NaN]) {
      assert.throws(() => createFlashCipher(nodeCrypto, key, { flashCryptConf: conf }), code('FLASH_ENC_BAD_CONFIG'));
    }
    assert.throws(() => encryptFlashData(nodeCrypto, key, new Uint8Array(32), 0xfffff0), rejects('FLASH_ENC_BAD_ADDRESS', 'The data (0x20 bytes at 0xfffff0) ends past 0x1000000'));
  });

  it('refuses a partial last block when encrypting (espsecure would pad it with random bytes) and when decrypting', () => {
    const key = new Uint8Array(32);
    assert.throws(() => encryptFlashData(nodeCrypto, key, new Uint8Array(20), 0), rejects('FLASH_ENC_BAD_LENGTH', 'Input data length (20) must be a multiple of 16.'));
    assert.throws(() => decryptFlashData(nodeCrypto, key, new Uint8Array(20), 0), rejects('FLASH_ENC_BAD_LENGTH', 'Data length is not a multiple of 16 bytes'));
  });

  it('encrypts empty data to empty data, as espsecure does', () => {
    assert.equal(encryptFlashData(nodeCrypto, new Uint8Array(32), new Uint8Array(0), 0x10000).length, 0);
  });
});

describe('XtsFlashCipher', () => {
  it('equals node:crypto XTS over reversed, zero-padded 128-byte units for any key, address and length', () => {
    fc.assert(
      fc.property(xtsKey, xtsAddress, blocks(40), (key, address, data) => {
        fc.pre(!Buffer.from(key.subarray(0, key.length / 2)).equals(Buffer.from(key.subarray(key.length / 2)))); // OpenSSL refuses key1 = key2
        const c = new XtsFlashCipher(nodeCrypto, key);
        const ct = c.encrypt(data, address);
        assert.deepEqual(ct, referenceXts(key, data, address, true));
        assert.deepEqual(c.decrypt(ct, address), data);
        c.destroy();
      }),
      { numRuns: 200 },
    );
  });

  it('takes a 16-byte key file (ESP32-C2) as SHA-256 of it', () => {
    const k16 = crypto.randomBytes(16);
    const data = crypto.randomBytes(512);
    const derived = crypto.createHash('sha256').update(k16).digest();
    assert.deepEqual(encryptFlashData(nodeCrypto, k16, data, 0x20010, { aesXts: true }), referenceXts(derived, data, 0x20010, true));
    assert.equal(loadFlashEncryptionKey(nodeCrypto, k16, 'xts').note, 'Using 128-bit key (extended).');
  });

  it("refuses empty data, a partial block and a range past the tweak's 32 bits", () => {
    const key = crypto.randomBytes(32);
    assert.throws(() => encryptFlashData(nodeCrypto, key, new Uint8Array(0), 0, { aesXts: true }), rejects('FLASH_ENC_BAD_LENGTH', 'Input data must be longer than 0.'));
    assert.throws(() => encryptFlashData(nodeCrypto, key, new Uint8Array(40), 0, { aesXts: true }), rejects('FLASH_ENC_BAD_LENGTH', 'Input data length (40) must be a multiple of 16.'));
    assert.throws(() => encryptFlashData(nodeCrypto, key, new Uint8Array(32), 0xfffffff0, { aesXts: true }), code('FLASH_ENC_BAD_ADDRESS'));
  });
});

describe('both schemes', () => {
  const schemes = [
    { name: 'ESP32', options: (conf: number) => ({ flashCryptConf: conf }), key: key32, address: esp32Address },
    { name: 'XTS', options: () => ({ aesXts: true }), key: xtsKey, address: xtsAddress },
  ];
  for (const s of schemes) {
    it(`${s.name}: decrypt(encrypt(x)) = x for random 16-byte aligned addresses and lengths`, () => {
      fc.assert(
        fc.property(s.key, fc.integer({ min: 0, max: 15 }), s.address, blocks(64), (key, conf, address, data) => {
          const ct = encryptFlashData(nodeCrypto, key, data, address, s.options(conf));
          assert.notDeepEqual(ct, data);
          assert.deepEqual(decryptFlashData(nodeCrypto, key, ct, address, s.options(conf)), data);
        }),
        { numRuns: 100 },
      );
    });

    it(`${s.name}: encrypting a sub-range equals the same bytes of encrypting the whole range`, () => {
      fc.assert(
        fc.property(s.key, fc.integer({ min: 0, max: 15 }), s.address, blocks(48), fc.nat(), fc.nat(), (key, conf, address, data, a, b) => {
          const n = data.length / 16;
          const from = a % n;
          const to = from + 1 + (b % (n - from));
          const whole = encryptFlashData(nodeCrypto, key, data, address, s.options(conf));
          const part = encryptFlashData(nodeCrypto, key, data.subarray(from * 16, to * 16), address + from * 16, s.options(conf));
          assert.deepEqual(part, whole.subarray(from * 16, to * 16));
        }),
        { numRuns: 100 },
      );
    });

    it(`${s.name}: refuses an address that is not a multiple of 16 with espsecure's message`, () => {
      const key = crypto.randomBytes(32);
      assert.throws(
        () => encryptFlashData(nodeCrypto, key, new Uint8Array(32), 0x10008, s.options(0xf)),
        rejects('FLASH_ENC_BAD_ADDRESS', 'Starting flash address 0x10008 must be a multiple of 16.'),
      );
      assert.throws(() => encryptFlashData(nodeCrypto, key, new Uint8Array(32), -16, s.options(0xf)), code('FLASH_ENC_BAD_ADDRESS'));
    });
  }

  it('leave the key file and the input untouched (also when they are Buffers) and refuse use after destroy()', () => {
    for (const aesXts of [false, true]) {
      const key = crypto.randomBytes(32);
      const keyCopy = Buffer.from(key);
      const data = crypto.randomBytes(4096);
      const dataCopy = Buffer.from(data);
      const first = encryptFlashData(nodeCrypto, key, data, 0x8000, { aesXts });
      assert.deepEqual(key, keyCopy);
      assert.deepEqual(data, dataCopy);
      assert.deepEqual(encryptFlashData(nodeCrypto, key, data, 0x8000, { aesXts }), first);
      const c = createFlashCipher(nodeCrypto, key, { aesXts });
      c.destroy();
      assert.throws(() => c.encrypt(data, 0x8000), code('CRYPTO_KEY_DESTROYED'));
    }
  });
});

describe('loadFlashEncryptionKey()', () => {
  it("refuses key lengths with espsecure's messages", () => {
    assert.throws(
      () => loadFlashEncryptionKey(nodeCrypto, new Uint8Array(33), 'xts'),
      rejects('FLASH_ENC_BAD_KEY', 'Key file contains wrong length (33 bytes), 16, 24, 32 or 64 expected.'),
    );
    assert.throws(
      () => loadFlashEncryptionKey(nodeCrypto, new Uint8Array(64), 'esp32'),
      rejects('FLASH_ENC_BAD_KEY', 'ESP32 supports only 192 and 256-bit keys. Provided key is 512 bits.'),
    );
    assert.throws(
      () => loadFlashEncryptionKey(nodeCrypto, new Uint8Array(16), 'esp32'),
      rejects('FLASH_ENC_BAD_KEY', 'ESP32 supports only 192 and 256-bit keys. Provided key is 128 bits.'),
    );
    assert.throws(
      () => loadFlashEncryptionKey(nodeCrypto, new Uint8Array(24), 'xts'),
      rejects('FLASH_ENC_BAD_KEY', 'AES_XTS supports only 128, 256, and 512-bit keys. Provided key is 192 bits.'),
    );
  });

  it('returns a copy: zeroizing it leaves the file bytes alone', () => {
    const file = crypto.randomBytes(64);
    const { key, note, fileBits } = loadFlashEncryptionKey(nodeCrypto, file, 'xts');
    assert.equal(note, 'Using 512-bit key.');
    assert.equal(fileBits, 512);
    key.fill(0);
    assert.notDeepEqual(new Uint8Array(file), key);
  });
});
