import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Efuse } from '../../src/boot/efuse.js';
import { leadingValidBlocks, readSignatureBlocks, secureBootTrust, signImage, splitSignedImage, verifyAsBootloader, verifyWithKey } from '../../src/boot/secure-boot-v2.js';
import { publicKeyDigest, SBV2 } from '../../src/boot/signature-block.js';
import { crc32le } from '../../src/bytes/crc32.js';
import { toHex } from '../../src/bytes/hex.js';
import type { Signer } from '../../src/crypto/signer.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { generateSigningKey, readSigningKey } from '../../src/node/signing-key.js';
import { NO_VECTORS, readManifest, vectorDir } from '../_support/vectors.js';

const KEY_TYPES = ['rsa3072', 'ecdsa192', 'ecdsa256', 'ecdsa384'] as const;
type KeyType = (typeof KEY_TYPES)[number];
/** Where the signature field starts in a block: everything before it is deterministic. */
const SIG_AT: Readonly<Record<KeyType, number>> = { rsa3072: 812, ecdsa192: 101, ecdsa256: 101, ecdsa384: 149 };

const file = (area: string, name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(vectorDir('boot', area), name)));
const text = (area: string, name: string): string => fs.readFileSync(path.join(vectorDir('boot', area), name), 'utf8');
const sha256 = (b: Uint8Array): string => crypto.createHash('sha256').update(b).digest('hex');
const flip = (b: Uint8Array, at: number): Uint8Array => {
  const c = b.slice();
  c[at]! ^= 0x01;
  return c;
};
/** Rewrites the CRC of block `index` of the sector at `sectorAt` so only the content change counts. */
const fixCrc = (b: Uint8Array, sectorAt: number, index: number): Uint8Array => {
  const at = sectorAt + index * SBV2.BLOCK_SIZE;
  new DataView(b.buffer, b.byteOffset).setUint32(at + SBV2.CRC_OFFSET, crc32le(b, 0, at, at + SBV2.CRC_OFFSET), true);
  return b;
};

/**
 * The spec-based check of a block, independent of nvsec's decoder and verifier: fields read at
 * the spec's offsets, the signature checked by OpenSSL over the whole signed region (OpenSSL
 * hashes the message itself).
 */
function opensslVerifiesBlock(signed: Uint8Array, index: number, publicPem: string, type: KeyType): boolean {
  const sectorAt = signed.length - 4096;
  const block = signed.subarray(sectorAt + index * 1216, sectorAt + (index + 1) * 1216);
  const region = signed.subarray(0, sectorAt);
  const rev = (b: Uint8Array): Buffer => Buffer.from(b).reverse();
  if (type === 'rsa3072') {
    return crypto.verify('sha256', region, { key: publicPem, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, rev(block.subarray(812, 1196)));
  }
  const w = { ecdsa192: 24, ecdsa256: 32, ecdsa384: 48 }[type];
  const at = type === 'ecdsa384' ? 149 : 101;
  const sig = Buffer.concat([rev(block.subarray(at, at + w)), rev(block.subarray(at + w, at + 2 * w))]);
  return crypto.verify(type === 'ecdsa384' ? 'sha384' : 'sha256', region, { key: publicPem, dsaEncoding: 'ieee-p1363' }, sig);
}

describe('Secure Boot V2 against the espsecure vectors', { skip: NO_VECTORS }, () => {
  const area = 'sbv2-key-types-and-digests';

  for (const type of KEY_TYPES) {
    describe(type, () => {
      const m = NO_VECTORS ? null : readManifest('boot', area);
      it('computes the eFuse key digest and the public key PEM byte for byte', async () => {
        const key = readSigningKey(text(area, `${type}.pem`));
        const digest = publicKeyDigest(nodeCrypto, key.publicKey);
        assert.equal(toHex(digest), m.expected.per_key[type].key_digest_hex);
        assert.deepEqual(digest, file(area, `${type}_digest.bin`));
        assert.equal(sha256(new TextEncoder().encode(key.publicKeyPem)), m.outputs[type].public_key_pem.sha256);
        assert.deepEqual(publicKeyDigest(nodeCrypto, readSigningKey(text(area, `${type}_pub.pem`)).publicKey), digest);
      });

      it("accepts the tool's signed file, with the public and with the private key", async () => {
        const signed = file(area, `data_signed_${type}.bin`);
        for (const pem of [`${type}_pub.pem`, `${type}.pem`]) {
          const r = await verifyWithKey(nodeCrypto, signed, readSigningKey(text(area, pem)).publicKey);
          assert.equal(r.verified, true);
          assert.deepEqual(r.blocks.map((b) => b.verdict), ['verified', 'invalid', 'invalid']);
        }
      });

      it('signs with the deterministic bytes of the tool and a signature OpenSSL accepts', async () => {
        const key = readSigningKey(text(area, `${type}.pem`));
        const theirs = file(area, `data_signed_${type}.bin`);
        const { image, signedLength, blockCount } = await signImage(nodeCrypto, file(area, 'data.bin'), [key.signer!]);
        assert.equal(image.length, theirs.length);
        assert.equal(blockCount, 1);
        const det = signedLength + SIG_AT[type];
        assert.deepEqual(image.subarray(0, det), theirs.subarray(0, det)); // data, block header, digest, key
        assert.deepEqual(image.subarray(signedLength + 1200), theirs.subarray(signedLength + 1200)); // zero pad + 0xFF tail
        assert.ok(opensslVerifiesBlock(image, 0, key.publicKeyPem, type));
        assert.ok(opensslVerifiesBlock(theirs, 0, key.publicKeyPem, type), 'the independent check also accepts the tool');
      });
    });
  }

  it('pads an unaligned image with 0xFF to 4096 bytes before signing, like the tool (ECDSA P-256 vector)', async () => {
    const a = 'sbv2-ecdsa-p256-sign-verify';
    const m = readManifest('boot', a);
    const key = readSigningKey(text(a, 'ecdsa_p256.pem'));
    const app = file(a, 'app.bin');
    const r = await signImage(nodeCrypto, app, [key.signer!]);
    assert.equal(r.paddedBytes, m.expected.padding_added_0xff);
    assert.equal(r.signedLength, m.expected.signed_over_length);
    assert.equal(r.image.length, m.expected.signed_length);
    assert.equal(sha256(r.image.subarray(0, r.signedLength)), m.expected.image_sha256_signed_over);
    assert.ok((await verifyWithKey(nodeCrypto, file(a, 'app_signed.bin'), readSigningKey(text(a, 'ecdsa_p256_pub.pem')).publicKey)).verified);
    assert.equal(toHex(publicKeyDigest(nodeCrypto, key.publicKey)), m.expected.key_digest_hex);
  });

  it('reads the RSA key fields the tool wrote: R² mod n, m′, exponent (RSA-3072 vector)', async () => {
    const a = 'sbv2-rsa3072-sign-verify';
    const m = readManifest('boot', a);
    const signed = file(a, 'app_signed.bin');
    const [b0] = readSignatureBlocks(nodeCrypto, splitSignedImage(signed).sector);
    const want = m.expected.signature_sector.blocks[0];
    assert.equal(b0!.crcStored, Number(want.crc32_stored));
    assert.equal(toHex(b0!.imageDigest!), want.image_sha256);
    assert.equal(toHex(b0!.keyDigest!), m.expected.key_digest_hex);
    const block = signed.subarray(65536, 65536 + 1216);
    assert.equal(sha256(block.subarray(424, 808)), want.rinv_le_sha256);
    assert.equal(new DataView(block.buffer, block.byteOffset).getUint32(808, true), Number(want.m_prime));
    for (const f of ['app_signed.bin', 'app_signed_again.bin']) {
      assert.ok((await verifyWithKey(nodeCrypto, file(a, f), readSigningKey(text(a, 'rsa3072_pub.pem')).publicKey)).verified, f);
    }
  });

    it('with the trust of an eFuse model: C3 digest slots and revocation, ESP32 reads block 0 only, ECDSA refused', async () => {
      const a = 'sbv2-rsa-two-signatures';
      const { region, sector } = splitSignedImage(file(a, 'app_signed_2.bin'));
      const c3 = Efuse.create('esp32c3');
      c3.burnKeyDigest(file(a, 'key0_digest.bin'), 'BLOCK_KEY0', 'SECURE_BOOT_DIGEST0');
      c3.burnKeyDigest(file(a, 'key1_digest.bin'), 'BLOCK_KEY1', 'SECURE_BOOT_DIGEST1');
      assert.equal(secureBootTrust(c3).enabled, false);
      c3.enableSecureBoot();
      assert.equal(secureBootTrust(c3).enabled, true);
      assert.equal((await verifyAsBootloader(nodeCrypto, region, sector, secureBootTrust(c3))).trustedSlot, 0);
      c3.revokeKey(0);
      const r = await verifyAsBootloader(nodeCrypto, region, sector, secureBootTrust(c3));
      assert.deepEqual(r.blocks.map((b) => b.verdict), ['revoked-key', 'ok', 'invalid']);

      const esp32 = Efuse.create('esp32');
      esp32.burnKeyDigest(file(a, 'key1_digest.bin'));
      const only0 = await verifyAsBootloader(nodeCrypto, region, sector, secureBootTrust(esp32));
      assert.equal(only0.accepted, false, 'key 1 signs block 1, which the ESP32 never reads');
      assert.deepEqual(only0.blocks.map((b) => b.verdict), ['untrusted-key', 'not-read', 'not-read']);

      const e = 'sbv2-ecdsa-p256-sign-verify';
      const ec = splitSignedImage(file(e, 'app_signed.bin'));
      const c3ec = Efuse.create('esp32c3');
      c3ec.burnKeyDigest(file(e, 'key_digest.bin'), 'BLOCK_KEY0', 'SECURE_BOOT_DIGEST0');
      const refused = await verifyAsBootloader(nodeCrypto, ec.region, ec.sector, secureBootTrust(c3ec));
      assert.equal(refused.blocks[0]!.verdict, 'scheme-not-supported');
      assert.equal((await verifyAsBootloader(nodeCrypto, ec.region, ec.sector, { digests: [file(e, 'key_digest.bin')] })).accepted, true);
    });

  describe('two signatures (RSA, --append-signatures)', () => {
    const a = 'sbv2-rsa-two-signatures';
    it('verifies each key on its own block and reports the other as not signed by it', async () => {
      const signed = file(a, 'app_signed_2.bin');
      const k0 = await verifyWithKey(nodeCrypto, signed, readSigningKey(text(a, 'key0.pem')).publicKey);
      assert.deepEqual(k0.blocks.map((b) => b.verdict), ['verified', 'not-signed-by-key', 'invalid']);
      const k1 = await verifyWithKey(nodeCrypto, signed, readSigningKey(text(a, 'key1.pem')).publicKey);
      assert.deepEqual(k1.blocks.map((b) => b.verdict), ['not-signed-by-key', 'verified', 'invalid']);
      assert.equal(k1.verifiedBlock, 1);
    });

    it('appends a block after the kept one, keeping block 0 byte for byte', async () => {
      const one = file(a, 'app_signed_1.bin');
      const theirs = file(a, 'app_signed_2.bin');
      const key1 = readSigningKey(text(a, 'key1.pem'));
      const r = await signImage(nodeCrypto, one, [key1.signer!], { appendSignatures: true });
      assert.equal(r.keptBlocks.length, 1);
      assert.equal(r.blockCount, 2);
      assert.equal(r.image.length, theirs.length);
      const s = r.signedLength;
      assert.deepEqual(r.image.subarray(0, s + 1216 + 812), theirs.subarray(0, s + 1216 + 812));
      assert.deepEqual(r.image.subarray(s + 2 * 1216), theirs.subarray(s + 2 * 1216));
      assert.ok(opensslVerifiesBlock(r.image, 1, key1.publicKeyPem, 'rsa3072'));
    });

    it('as the bootloader: trusts only burned, unrevoked digests and reports every block', async () => {
      const { region, sector } = splitSignedImage(file(a, 'app_signed_2.bin'));
      const d0 = file(a, 'key0_digest.bin');
      const d1 = file(a, 'key1_digest.bin');
      const both = await verifyAsBootloader(nodeCrypto, region, sector, { digests: [d0, d1, null] });
      assert.equal(both.accepted, true);
      assert.equal(both.acceptedBlock, 0);
      assert.equal(both.trustedSlot, 0);

      const revoked0 = await verifyAsBootloader(nodeCrypto, region, sector, { digests: [d0, d1, null], revoked: [true, false, false] });
      assert.deepEqual(revoked0.blocks.map((b) => b.verdict), ['revoked-key', 'ok', 'invalid']);
      assert.equal(revoked0.trustedSlot, 1);

      const none = await verifyAsBootloader(nodeCrypto, region, sector, { digests: [d0, d1, null], revoked: [true, true, false] });
      assert.equal(none.accepted, false);
      const unburned = await verifyAsBootloader(nodeCrypto, region, sector, { digests: [null, new Uint8Array(32), null] });
      assert.deepEqual(unburned.blocks.map((b) => b.verdict), ['untrusted-key', 'untrusted-key', 'invalid']);
      const noRsa = await verifyAsBootloader(nodeCrypto, region, sector, { digests: [d0, d1, null], schemes: ['ecdsa256'] });
      assert.deepEqual(noRsa.blocks.map((b) => b.verdict), ['scheme-not-supported', 'scheme-not-supported', 'invalid']);
    });
  });
});

describe('Secure Boot V2 signing and verification', () => {
  const keys = Object.fromEntries(KEY_TYPES.map((t) => [t, readSigningKey(generateSigningKey(t))])) as Record<KeyType, ReturnType<typeof readSigningKey>>;
  const data = new Uint8Array(crypto.randomBytes(5000));

  it('every generated key type signs, and the signature verifies with OpenSSL and with nvsec', async () => {
    for (const type of KEY_TYPES) {
      const k = keys[type];
      const { image } = await signImage(nodeCrypto, data, [k.signer!]);
      assert.equal(image.length, 8192 + 4096, type);
      assert.deepEqual(image.subarray(5000, 8192), new Uint8Array(3192).fill(0xff), `${type}: 0xFF padding`);
      assert.ok(opensslVerifiesBlock(image, 0, k.publicKeyPem, type), type);
      assert.ok((await verifyWithKey(nodeCrypto, image, k.publicKey)).verified, type);
    }
  });

  it('signs with up to three keys, one block each in order, and refuses a fourth', async () => {
    const signers = [keys.rsa3072.signer!, keys.ecdsa256.signer!, keys.ecdsa384.signer!];
    const { image } = await signImage(nodeCrypto, data, signers);
    assert.deepEqual(
      readSignatureBlocks(nodeCrypto, splitSignedImage(image).sector).map((b) => b.scheme),
      ['rsa3072', 'ecdsa256', 'ecdsa384'],
    );
    await assert.rejects(signImage(nodeCrypto, data, [...signers, keys.ecdsa192.signer!]), { code: 'SBV2_TOO_MANY_BLOCKS' });
    await assert.rejects(signImage(nodeCrypto, image, [keys.ecdsa192.signer!], { appendSignatures: true }), { code: 'SBV2_TOO_MANY_BLOCKS' });
  });

  it('--append-signatures on an unsigned aligned file signs it whole, and refuses an unaligned one', async () => {
    const aligned = data.subarray(0, 4096);
    const r = await signImage(nodeCrypto, aligned, [keys.ecdsa256.signer!], { appendSignatures: true });
    assert.equal(r.keptBlocks.length, 0);
    assert.equal(r.signedLength, 4096);
    await assert.rejects(signImage(nodeCrypto, data, [keys.ecdsa256.signer!], { appendSignatures: true }), { code: 'SBV2_APPEND_UNALIGNED' });
  });

  it('tampering: a changed data byte is a digest mismatch; a changed signature fails; bytes outside the CRC do not matter', async () => {
    const k = keys.rsa3072;
    const { image, signedLength: s } = await signImage(nodeCrypto, data, [k.signer!]);
    const data1 = await verifyWithKey(nodeCrypto, flip(image, 100), k.publicKey);
    assert.equal(data1.verified, false);
    assert.equal(data1.blocks[0]!.verdict, 'digest-mismatch');
    assert.equal((await verifyWithKey(nodeCrypto, flip(image, s + 900), k.publicKey)).blocks[0]!.verdict, 'invalid', 'CRC catches it');
    const forged = fixCrc(flip(image, s + 900), s, 0);
    assert.equal((await verifyWithKey(nodeCrypto, forged, k.publicKey)).blocks[0]!.verdict, 'not-signed-by-key');
    const { region, sector } = splitSignedImage(forged);
    const dev = await verifyAsBootloader(nodeCrypto, region, sector, { digests: [publicKeyDigest(nodeCrypto, k.publicKey)] });
    assert.equal(dev.blocks[0]!.verdict, 'bad-signature');
    assert.deepEqual(dev.slotsFailingSignature, [0]);
    assert.equal((await verifyWithKey(nodeCrypto, flip(image, s + 1205), k.publicKey)).verified, true, 'bytes 1200..1215 are outside the CRC');
    assert.equal((await verifyWithKey(nodeCrypto, flip(image, s + 4000), k.publicKey)).verified, true, 'the sector tail is unchecked');
  });

  it('one verified block verifies the image, as on the device; a later block with a wrong digest is reported', async () => {
    const { image, signedLength: s } = await signImage(nodeCrypto, data, [keys.ecdsa256.signer!, keys.rsa3072.signer!]);
    const odd = fixCrc(flip(image, s + SBV2.BLOCK_SIZE + 4), s, 1); // block 1's digest field no longer matches
    const r = await verifyWithKey(nodeCrypto, odd, keys.ecdsa256.publicKey);
    assert.equal(r.verified, true);
    assert.deepEqual(r.blocks.map((b) => b.verdict), ['verified', 'digest-mismatch', 'invalid']);
    assert.equal((await verifyWithKey(nodeCrypto, odd, keys.rsa3072.publicKey)).verified, false);
  });

  it('a key of another type is reported as such, not as a bad signature', async () => {
    const { image } = await signImage(nodeCrypto, data, [keys.rsa3072.signer!]);
    const r = await verifyWithKey(nodeCrypto, image, keys.ecdsa256.publicKey);
    assert.equal(r.verified, false);
    assert.equal(r.blocks[0]!.verdict, 'wrong-key-type');
    assert.match(r.blocks[0]!.message, /RSA-3072 but the supplied key is ECDSA P-256/);
  });

  it('refuses RSA keys other than 3072 bits, unsigned files, and signers whose signature does not verify', async () => {
    const rsa2048 = readSigningKey(String(crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' })));
    await assert.rejects(signImage(nodeCrypto, data, [rsa2048.signer!]), { code: 'SBV2_KEY_UNSUPPORTED' });
    await assert.rejects(verifyWithKey(nodeCrypto, data, keys.ecdsa256.publicKey), { code: 'SBV2_BAD_LENGTH' });
    const liar: Signer = { publicKey: keys.ecdsa256.publicKey, sign: async () => new Uint8Array(64).fill(1) };
    await assert.rejects(signImage(nodeCrypto, data, [liar]), { code: 'SBV2_SIGNATURE_FAILED' });
  });

  it('an RSA block whose R² mod n or m′ does not belong to its modulus is invalid (the ROM computes with them)', async () => {
    const { image, signedLength: s } = await signImage(nodeCrypto, data, [keys.rsa3072.signer!]);
    for (const at of [500, 809]) {
      const bad = fixCrc(flip(image, s + at), s, 0);
      const [b0] = readSignatureBlocks(nodeCrypto, splitSignedImage(bad).sector);
      assert.equal(b0!.valid, false, `byte ${at}`);
      assert.match(b0!.problem!, /does not match the modulus/);
    }
  });

  it('leadingValidBlocks stops at the first invalid slot', async () => {
    const { image, signedLength: s } = await signImage(nodeCrypto, data, [keys.ecdsa256.signer!, keys.ecdsa384.signer!]);
    const broken = flip(image, s + 10); // block 0 CRC now wrong
    assert.equal(leadingValidBlocks(readSignatureBlocks(nodeCrypto, splitSignedImage(broken).sector)).length, 0);
    assert.equal(leadingValidBlocks(readSignatureBlocks(nodeCrypto, splitSignedImage(image).sector)).length, 2);
  });

  it('a destroyed signer refuses to sign', async () => {
    const k = readSigningKey(generateSigningKey('ecdsa256'));
    k.signer!.destroy!();
    await assert.rejects(k.signer!.sign(new Uint8Array(32), 'sha256'), { code: 'CRYPTO_KEY_DESTROYED' });
  });
});

describe('signature block decoding', () => {
  it('never throws on arbitrary sectors, even with a good magic byte and CRC', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4096, maxLength: 4096 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 255 }), (bytes, version, b2) => {
        const sector = bytes.slice();
        for (let i = 0; i < 3; i++) {
          const at = i * SBV2.BLOCK_SIZE;
          sector[at] = SBV2.MAGIC;
          sector[at + 1] = version;
          sector[at + 2] = b2 % 3;
          fixCrc(sector, 0, i);
        }
        for (const b of readSignatureBlocks(nodeCrypto, sector)) {
          assert.equal(b.valid, b.scheme !== null);
          if (b.valid) assert.equal(b.keyDigest?.length, 32);
        }
      }),
      { numRuns: 300 },
    );
  });
});
