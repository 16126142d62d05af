import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildAppImage, CHIPS, parseAppImage } from '../../src/boot/index.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NO_VECTORS, readManifest } from '../_support/vectors.js';
import { bootFile, IMAGE_VECTORS } from './_image-vectors.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Header and non-padding segments of a vector image, as an app build would supply them. */
function inputsOf(bytes: Uint8Array) {
  const img = parseAppImage(nodeCrypto, bytes);
  return { header: img.header, segments: img.segments.filter((s) => s.loadAddr !== 0).map((s) => ({ loadAddr: s.loadAddr, data: s.data.slice() })) };
}

describe('buildAppImage() reproduces esptool elf2image output', { skip: NO_VECTORS }, () => {
  for (const name of IMAGE_VECTORS) {
    it(`rebuilds ${name} byte for byte from its decoded segments (SHA-256 as in the manifest)`, () => {
      const built = buildAppImage(nodeCrypto, inputsOf(bootFile(name, 'app.bin')));
      assert.equal(sha256(built), readManifest('boot', name).outputs.image.sha256);
    });
  }

  it('inserts the ESP32 padding segment after moving DRAM and IRAM in front of IROM', () => {
    const { header, segments } = inputsOf(bootFile('app-image-esp32-padded', 'app.bin'));
    // Give the segments in reverse address order: the builder, not the caller, decides the layout.
    const built = parseAppImage(nodeCrypto, buildAppImage(nodeCrypto, { header, segments: [...segments].sort((a, b) => b.loadAddr - a.loadAddr) }));
    assert.deepEqual(
      built.segments.map((s) => [s.loadAddr, s.dataOffset]),
      [
        [0x3f400020, 32],
        [0x3ffb0000, 1800],
        [0x40080000, 2224],
        [0, 3256],
        [0x400e0020, 0x10020],
      ],
    );
  });

  it('splits the first RAM segment when it is longer than the gap before a flash segment', () => {
    const { header, segments } = inputsOf(bootFile('app-image-esp32-padded', 'app.bin'));
    const big = new Uint8Array(70000).map((_, i) => i & 0xff);
    const withBigRam = segments.map((s) => (s.loadAddr === 0x3ffb0000 ? { loadAddr: s.loadAddr, data: big } : s));
    const img = parseAppImage(nodeCrypto, buildAppImage(nodeCrypto, { header, segments: withBigRam }));
    assert.deepEqual(img.problems, []);
    // The gap before IROM (file offset 1792 + 8 + gap + 8 = 0x10020) is filled by DRAM's first bytes.
    assert.equal(img.segments[1]!.loadAddr, 0x3ffb0000);
    assert.equal(img.segments[1]!.length, 0x10020 - 1792 - 16);
    assert.equal(img.segments[2]!.loadAddr, 0x400e0020);
    assert.equal(img.segments[2]!.dataOffset, 0x10020);
    // The rest of DRAM follows, loading right after the split piece.
    const rest = img.segments.find((s) => s.loadAddr === 0x3ffb0000 + img.segments[1]!.length)!;
    assert.deepEqual(rest.data, big.subarray(img.segments[1]!.length));
  });

  it('zero-extends an ESP32 flash segment that would end less than 0x24 bytes into a 64 KiB page', () => {
    const { header, segments } = inputsOf(bootFile('app-image-esp32-padded', 'app.bin'));
    // IROM data starts at file offset 0x10020; 0xfff0 bytes would end at 0x20010 (0x10 into the page).
    const irom = { loadAddr: 0x400e0020, data: new Uint8Array(0xfff0).fill(0x5a) };
    const img = parseAppImage(nodeCrypto, buildAppImage(nodeCrypto, { header, segments: [...segments.filter((s) => s.loadAddr !== 0x400e0020), irom] }));
    const seg = img.segments.find((s) => s.loadAddr === 0x400e0020)!;
    assert.equal((seg.dataOffset + seg.length) % 0x10000, 0x24);
    assert.equal(seg.length, 0xfff0 + 0x14);
    assert.deepEqual(seg.data.subarray(0xfff0), new Uint8Array(0x14));
  });

  it('does not extend flash segments on other chips', () => {
    const { header, segments } = inputsOf(bootFile('app-image-esp32c3', 'app.bin'));
    // IROM at file offset 1800 = 0x708; 0xf8f8 bytes end exactly at 0x10000 (0 into the page).
    const irom = { loadAddr: 0x42000708, data: new Uint8Array(0xf8f8).fill(1) };
    const img = parseAppImage(nodeCrypto, buildAppImage(nodeCrypto, { header, segments: [...segments.filter((s) => s.loadAddr !== 0x42000708), irom] }));
    assert.equal(img.segments.find((s) => s.loadAddr === 0x42000708)!.length, 0xf8f8);
  });

  it('reproduces the --secure-pad-v2 image of the Secure Boot vector (64 KiB exactly)', () => {
    const padded = bootFile('sbv2-rsa3072-sign-verify', 'app_padded.bin');
    const built = buildAppImage(nodeCrypto, { ...inputsOf(padded), securePadV2: true });
    assert.equal(built.length, 65536);
    assert.equal(sha256(built), readManifest('boot', 'sbv2-rsa3072-sign-verify').inputs.unsigned_image.sha256);
  });

  it('patches the ELF SHA-256 at 0xB0 into zeroed app-descriptor bytes, as esptool --elf-sha256-offset does', () => {
    const name = 'app-image-esp32c3';
    const { header, segments } = inputsOf(bootFile(name, 'app.bin'));
    segments[0]!.data.fill(0, 144, 176); // app_elf_sha256 before esptool patches it
    const elfSha = createHash('sha256').update(bootFile(name, 'app.elf')).digest();
    const built = buildAppImage(nodeCrypto, { header, segments, elfSha256: new Uint8Array(elfSha) });
    assert.equal(sha256(built), readManifest('boot', name).outputs.image.sha256);
  });

  it('refuses to patch the ELF SHA-256 over bytes that are not zero', () => {
    const { header, segments } = inputsOf(bootFile('app-image-esp32c3', 'app.bin'));
    assert.throws(() => buildAppImage(nodeCrypto, { header, segments, elfSha256: new Uint8Array(32) }), { code: 'IMAGE_ELF_SHA256_TARGET' });
  });

  it('pads with 0xFF to a multiple of padToSize after the hash', () => {
    const { header, segments } = inputsOf(bootFile('app-image-esp32c3', 'app.bin'));
    const plain = buildAppImage(nodeCrypto, { header, segments });
    const padded = buildAppImage(nodeCrypto, { header, segments, padToSize: 4096 });
    assert.equal(padded.length, 8192);
    assert.deepEqual(padded.subarray(0, plain.length), plain);
    assert.ok(padded.subarray(plain.length).every((b) => b === 0xff));
  });

  it('writes no hash and header byte 23 = 0 when hashAppended is false', () => {
    const { header, segments } = inputsOf(bootFile('app-image-esp32c3', 'app.bin'));
    const built = buildAppImage(nodeCrypto, { header, segments, hashAppended: false });
    assert.equal(built[23], 0);
    assert.equal(built.length, 5312);
    const img = parseAppImage(nodeCrypto, built);
    assert.equal(img.sha256, null);
    assert.deepEqual(img.problems, []);
  });
});

describe('buildAppImage() refuses layouts the bootloader could not load', () => {
  const header = { chipId: CHIPS.esp32c3.chipId, entryAddr: 0x40380000 };

  it('refuses two flash segments in the same 64 KiB page', () => {
    const segments = [
      { loadAddr: 0x42000020, data: new Uint8Array(16) },
      { loadAddr: 0x42008000, data: new Uint8Array(16) },
    ];
    assert.throws(() => buildAppImage(nodeCrypto, { header, segments }), (e: unknown) => e instanceof NvsecError && e.code === 'IMAGE_SEGMENTS_SAME_PAGE' && /0x42008000/.test(e.message));
  });

  it('refuses a layout of more than 16 segments', () => {
    const segments = Array.from({ length: 17 }, (_, i) => ({ loadAddr: 0x3fc88000 + i * 0x100, data: new Uint8Array(16) }));
    assert.throws(() => buildAppImage(nodeCrypto, { header, segments }), { code: 'IMAGE_TOO_MANY_SEGMENTS' });
  });

  it('refuses a chip whose flash windows nvsec does not know', () => {
    assert.throws(() => buildAppImage(nodeCrypto, { header: { chipId: CHIPS.esp32c61.chipId, entryAddr: 0 }, segments: [] }), { code: 'IMAGE_UNKNOWN_CHIP' });
  });

  it('refuses secure padding without an appended hash', () => {
    assert.throws(() => buildAppImage(nodeCrypto, { header, segments: [], hashAppended: false, securePadV2: true }), { name: 'RangeError', message: /securePadV2/ });
  });

  it('rejects a segment whose data is not bytes, naming it', () => {
    assert.throws(() => buildAppImage(nodeCrypto, { header, segments: [{ loadAddr: 0x3fc88000, data: [1, 2] as unknown as Uint8Array }] }), {
      name: 'TypeError',
      message: /segments\[0\]\.data/,
    });
  });

  it('merges segments that touch, as esptool merges adjacent ELF sections', () => {
    const segments = [
      { loadAddr: 0x3fc88000, data: new Uint8Array(8).fill(1) },
      { loadAddr: 0x3fc88008, data: new Uint8Array(8).fill(2) },
    ];
    const img = parseAppImage(nodeCrypto, buildAppImage(nodeCrypto, { header, segments }));
    assert.equal(img.segments.length, 1);
    assert.deepEqual(img.segments[0]!.data, new Uint8Array([1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2]));
  });
});
