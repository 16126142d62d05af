import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AppImage, buildAppImage, CHIPS, checkLoadable, parseAppImage } from '../../src/boot/index.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NO_VECTORS } from '../_support/vectors.js';
import { bootFile, flipped } from './_image-vectors.js';

const c3 = () => bootFile('app-image-esp32c3', 'app.bin'); // min rev v0.3, max rev v1.99
const parse = (b: Uint8Array): AppImage => parseAppImage(nodeCrypto, b);

describe('checkLoadable() runs the bootloader checks in order', { skip: NO_VECTORS }, () => {
  it('passes a valid image through every check it was asked to run', () => {
    const r = checkLoadable(parse(c3()), { chip: 'esp32c3', chipRevision: 4, partitionSize: 0x100000 });
    assert.equal(r.ok, true);
    assert.equal(r.failure, null);
    assert.deepEqual(r.passed, ['magic', 'chip-id', 'chip-revision', 'segment-count', 'segment-length', 'segment0-size', 'segment-alignment', 'checksum', 'partition-size', 'hash']);
  });

  it('stops at the chip id when the image is for another chip', () => {
    const r = checkLoadable(parse(c3()), { chip: CHIPS.esp32s3 });
    assert.equal(r.failure?.check, 'chip-id');
    assert.equal(r.failure?.message, 'mismatch chip ID, expected 9 (ESP32-S3), found 5 (ESP32-C3): the image was built for another chip');
    assert.deepEqual(r.passed, ['magic']);
  });

  it('refuses a chip revision below the minimum', () => {
    const r = checkLoadable(parse(c3()), { chip: 'esp32c3', chipRevision: 2 });
    assert.equal(r.failure?.code, 'IMAGE_CHIP_REV_TOO_LOW');
    assert.equal(r.failure?.message, 'image requires chip rev >= v0.3, but chip is v0.2');
  });

  it('refuses a chip revision above the maximum', () => {
    const r = checkLoadable(parse(c3()), { chip: 'esp32c3', chipRevision: 200 });
    assert.equal(r.failure?.code, 'IMAGE_CHIP_REV_TOO_HIGH');
    assert.equal(r.failure?.message, 'image requires chip rev <= v1.99, but chip is v2.0');
  });

  it('ignores the maximum revision for a bootloader image and when it is 0xFFFF (not set)', () => {
    assert.equal(checkLoadable(parse(c3()), { chip: 'esp32c3', chipRevision: 200, bootloader: true }).ok, true);
    const unlimited = c3();
    unlimited[17] = 0xff;
    unlimited[18] = 0xff; // header only: checksum stays valid, the hash no longer matches
    const r = checkLoadable(parse(unlimited), { chip: 'esp32c3', chipRevision: 5000 });
    assert.equal(r.failure?.check, 'hash');
  });

  it('refuses more than 16 segments', () => {
    // A file claiming 17 segments is not parseable with 4, so change the parsed header.
    const img = parse(c3());
    img.header.segmentCount = 17;
    const r = checkLoadable(img, { chip: 'esp32c3' });
    assert.equal(r.failure?.check, 'segment-count');
    assert.equal(r.failure?.message, 'image has 17 segments; at most 16 can be loaded');
  });

  it('refuses a segment length that is not a multiple of 4', () => {
    const img = parse(c3());
    img.segments[2]!.length = 415;
    const r = checkLoadable(img, { chip: 'esp32c3' });
    assert.equal(r.failure?.check, 'segment-length');
    assert.match(r.failure!.message, /^segment 2 \(load address 0x3fc88000\) has invalid length 415: it must be a multiple of 4 and below 16 MiB$/);
  });

  it("refuses an app whose segment 0 is shorter than esp_app_desc_t's 256 bytes", () => {
    const built = buildAppImage(nodeCrypto, {
      header: { chipId: CHIPS.esp32c3.chipId, entryAddr: 0x40380000 },
      segments: [{ loadAddr: 0x3fc88000, data: new Uint8Array(128) }],
    });
    const r = checkLoadable(parse(built), { chip: 'esp32c3' });
    assert.equal(r.failure?.check, 'segment0-size');
    assert.equal(r.failure?.message, "segment 0 is 128 bytes; an app's first segment must hold the 256-byte esp_app_desc_t");
    assert.equal(checkLoadable(parse(built), { chip: 'esp32c3', bootloader: true }).ok, true);
  });

  it('refuses a flash-mapped segment whose data is not at its load address modulo the MMU page', () => {
    const b = c3();
    new DataView(b.buffer, b.byteOffset).setUint32(1792, 0x42000700, true); // segment 1: was 0x42000708
    const r = checkLoadable(parse(b), { chip: 'esp32c3' });
    assert.equal(r.failure?.check, 'segment-alignment');
    assert.match(r.failure!.message, /^segment 1 load address 0x42000700, doesn't match data 0x00000708/);
  });

  it('refuses a bad checksum before looking at the hash', () => {
    const r = checkLoadable(parse(flipped(c3(), 100)), { chip: 'esp32c3' });
    assert.equal(r.failure?.check, 'checksum');
    assert.equal(r.failure?.message, 'checksum failed: calculated 0xa9, read 0xa8; the image is corrupt');
  });

  it('refuses an image that does not fit its partition, counting the signature sector', () => {
    const signed = parse(bootFile('sbv2-rsa3072-sign-verify', 'app_signed.bin'));
    const r = checkLoadable(signed, { chip: 'esp32c3', partitionSize: 0x10000 });
    assert.equal(r.failure?.check, 'partition-size');
    assert.equal(r.failure?.message, 'image and signature sector (69632 bytes) do not fit the 65536-byte partition');
    assert.equal(checkLoadable(signed, { chip: 'esp32c3', partitionSize: 0x11000 }).ok, true);
  });

  it('refuses a wrong appended SHA-256 last', () => {
    const r = checkLoadable(parse(flipped(c3(), 8)), { chip: 'esp32c3' }); // wp_pin: header only
    assert.equal(r.failure?.check, 'hash');
    assert.equal(r.failure?.message, 'image hash failed: the appended SHA-256 does not match, the image is corrupt');
    assert.ok(r.passed.includes('checksum'));
  });

  it('names an unknown chip in a RangeError', () => {
    assert.throws(() => checkLoadable(parse(c3()), { chip: 'esp8266' }), { name: 'RangeError', message: /unknown chip "esp8266"/ });
  });
});
