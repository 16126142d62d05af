import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { type AppImage, CHIPS, decodeAppImageHeader, encodeAppImageHeader, parseAppImage } from '../../src/boot/index.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NO_VECTORS, readManifest } from '../_support/vectors.js';
import { bootFile, flipped, IMAGE_VECTORS } from './_image-vectors.js';

const hex = (n: number, digits: number) => `0x${n.toString(16).padStart(digits, '0')}`;
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The parsed image in the shape of the manifest's expected.image_info. */
function asImageInfo(img: AppImage): Record<string, unknown> {
  const h = img.header;
  const d = img.appDesc!;
  return {
    magic: hex(h.magic, 2),
    segment_count: h.segmentCount,
    spi_mode: h.spiMode,
    spi_mode_name: ['QIO', 'QOUT', 'DIO', 'DOUT'][h.spiMode],
    spi_speed_nibble: h.spiSpeed,
    spi_size_nibble: h.spiSize,
    entry_addr: hex(h.entryAddr, 8),
    wp_pin: hex(h.wpPin, 2),
    spi_pin_drv: h.spiPinDrv,
    chip_id: h.chipId,
    min_chip_rev_legacy: h.minChipRevLegacy,
    min_chip_rev_full: h.minChipRevFull,
    max_chip_rev_full: h.maxChipRevFull,
    reserved: toHex(h.reserved),
    hash_appended: h.hashAppended,
    segments: img.segments.map((s) => ({
      index: s.index,
      header_offset: s.headerOffset,
      data_offset: s.dataOffset,
      load_addr: hex(s.loadAddr, 8),
      length: s.length,
    })),
    padding_before_checksum: img.paddingBeforeChecksum,
    checksum_offset: img.checksumOffset,
    checksum_stored: hex(img.checksum.stored, 2),
    checksum_calculated: hex(img.checksum.calculated, 2),
    length_through_checksum: img.checksumOffset + 1,
    sha256_offset: img.sha256!.offset,
    sha256_stored: toHex(img.sha256!.stored),
    sha256_calculated: toHex(img.sha256!.calculated),
    image_length: img.imageLength,
    trailing_bytes_after_image: img.trailingBytes,
    app_desc: {
      offset_in_image: img.segments[0]!.dataOffset,
      magic_word: hex(d.magicWord, 8),
      secure_version: d.secureVersion,
      version: d.version,
      project_name: d.projectName,
      time: d.time,
      date: d.date,
      idf_ver: d.idfVer,
      app_elf_sha256: toHex(d.appElfSha256),
      app_elf_sha256_image_offset: img.segments[0]!.dataOffset + 144,
      min_efuse_blk_rev_full: d.minEfuseBlkRevFull,
      max_efuse_blk_rev_full: d.maxEfuseBlkRevFull,
      mmu_page_size_log2: d.mmuPageSizeLog2,
      spi_flash_mode: d.spiFlashMode,
    },
  };
}

describe('parseAppImage() on the esptool vectors', { skip: NO_VECTORS }, () => {
  for (const name of IMAGE_VECTORS) {
    it(`decodes ${name} field for field as expected.image_info`, () => {
      const img = parseAppImage(nodeCrypto, bootFile(name, 'app.bin'));
      assert.deepEqual(asImageInfo(img), readManifest('boot', name).expected.image_info);
      assert.deepEqual(img.problems, []);
      assert.equal(img.checksum.valid, true);
      assert.equal(img.sha256!.valid, true);
      assert.equal(img.signatureSector, null);
    });

    it(`reads ${name}'s ELF SHA-256 as the SHA-256 of the vector's ELF file`, () => {
      const img = parseAppImage(nodeCrypto, bootFile(name, 'app.bin'));
      const elfSha = createHash('sha256').update(bootFile(name, 'app.elf')).digest('hex');
      assert.equal(toHex(img.appDesc!.appElfSha256), elfSha);
    });
  }

  it('names the chip and the memory of each segment (DROM, RAM, padding, IROM)', () => {
    const img = parseAppImage(nodeCrypto, bootFile('app-image-esp32-padded', 'app.bin'));
    assert.equal(img.chip, CHIPS.esp32);
    assert.deepEqual(
      img.segments.map((s) => s.memory),
      ['DROM', 'RAM', 'RAM', 'PADDING', 'IROM'],
    );
    assert.equal(img.mmuPageSize, 0x10000);
  });

  it('agrees with the image-info step of the manifest on checksum and validation hash', () => {
    for (const name of IMAGE_VECTORS) {
      const img = parseAppImage(nodeCrypto, bootFile(name, 'app.bin'));
      const stdout: string = readManifest('boot', name).steps.find((s: { cmd: string[] }) => s.cmd.includes('image-info')).stdout;
      assert.match(stdout, new RegExp(`Checksum: ${hex(img.checksum.stored, 2)} \\(valid\\)`));
      assert.match(stdout, new RegExp(`Validation hash: ${toHex(img.sha256!.stored)} \\(valid\\)`));
      assert.match(stdout, new RegExp(`Secure version: ${img.appDesc!.secureVersion}\\n?`));
    }
  });
});

describe('parseAppImage() finds tampering', { skip: NO_VECTORS }, () => {
  const bin = () => bootFile('app-image-esp32c3', 'app.bin');

  it('reports a checksum mismatch (and a hash mismatch) when one segment data byte flips', () => {
    const img = parseAppImage(nodeCrypto, flipped(bin(), 32 + 300));
    assert.equal(img.checksum.valid, false);
    assert.equal(img.checksum.calculated, img.checksum.stored ^ 0x01);
    assert.equal(img.sha256!.valid, false);
    assert.deepEqual(
      img.problems.map((p) => p.code),
      ['IMAGE_CHECKSUM_MISMATCH', 'IMAGE_HASH_MISMATCH'],
    );
  });

  it('reports only a hash mismatch when a header byte flips: the checksum does not cover the header', () => {
    const img = parseAppImage(nodeCrypto, flipped(bin(), 4)); // entry address
    assert.equal(img.checksum.valid, true);
    assert.equal(img.sha256!.valid, false);
    assert.deepEqual(
      img.problems.map((p) => p.code),
      ['IMAGE_HASH_MISMATCH'],
    );
  });

  it('reports a hash mismatch when a byte of the stored SHA-256 flips', () => {
    const b = bin();
    const img = parseAppImage(nodeCrypto, flipped(b, b.length - 1));
    assert.equal(img.checksum.valid, true);
    assert.equal(img.sha256!.valid, false);
  });

  it('reports a wrong chip as a problem when the caller names the chip', () => {
    const img = parseAppImage(nodeCrypto, bin(), { chip: 'esp32s3' });
    assert.deepEqual(
      img.problems.map((p) => p.code),
      ['IMAGE_CHIP_MISMATCH'],
    );
    assert.match(img.problems[0]!.message, /chip id 5 \(ESP32-C3\), not ESP32-S3 \(chip id 9\)/);
  });

  it('reports a flash segment whose file offset does not match its load address in the MMU page', () => {
    const b = bin();
    // Segment 1 (IROM, header at 1792) claims load address 0x42000700 instead of 0x42000708.
    new DataView(b.buffer, b.byteOffset).setUint32(1792, 0x42000700, true);
    const img = parseAppImage(nodeCrypto, b);
    assert.ok(img.problems.some((p) => p.code === 'IMAGE_SEGMENT_MISALIGNED' && /segment 1 \(IROM at 0x42000700\)/.test(p.message)));
  });

  it('reports an unknown chip id and a reserved byte that is not zero', () => {
    const b = bin();
    b[12] = 0x77; // chip id 0x77
    b[20] = 1;
    const codes = parseAppImage(nodeCrypto, b).problems.map((p) => p.code);
    assert.deepEqual(codes, ['IMAGE_UNKNOWN_CHIP', 'IMAGE_RESERVED_NOT_ZERO', 'IMAGE_HASH_MISMATCH']);
  });
});

describe('parseAppImage() refuses what is not an image', { skip: NO_VECTORS }, () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof NvsecError);
      return e.code;
    }
    return assert.fail('expected a throw');
  };

  it('throws IMAGE_BAD_MAGIC for an ELF file', () => {
    assert.equal(
      code(() => parseAppImage(nodeCrypto, bootFile('app-image-esp32c3', 'app.elf'))),
      'IMAGE_BAD_MAGIC',
    );
  });

  it('throws IMAGE_BAD_MAGIC for an empty input', () => {
    assert.equal(
      code(() => parseAppImage(nodeCrypto, new Uint8Array(0))),
      'IMAGE_BAD_MAGIC',
    );
  });

  it('throws IMAGE_TRUNCATED when the file ends inside a segment, before the checksum or inside the hash', () => {
    const b = bootFile('app-image-esp32c3', 'app.bin');
    for (const cut of [10, 24 + 4, 1000, 5311, 5330]) {
      assert.equal(
        code(() => parseAppImage(nodeCrypto, b.subarray(0, cut))),
        'IMAGE_TRUNCATED',
        `cut at ${cut}`,
      );
    }
  });
});

describe('parseAppImage() on signed images', { skip: NO_VECTORS }, () => {
  it('reports the signature sector of a secure-padded RSA-signed image at 64 KiB, one block', () => {
    const img = parseAppImage(nodeCrypto, bootFile('sbv2-rsa3072-sign-verify', 'app_signed.bin'));
    assert.deepEqual(img.problems, []);
    assert.equal(img.imageLength, 65536);
    assert.deepEqual(img.signatureSector, { offset: 65536, blockCount: 1 });
  });

  it('counts two blocks after a second signature was appended', () => {
    const img = parseAppImage(nodeCrypto, bootFile('sbv2-rsa-two-signatures', 'app_signed_2.bin'));
    assert.deepEqual(img.signatureSector, { offset: 65536, blockCount: 2 });
  });

  it('finds the sector of an unaligned image at the next 4 KiB boundary after 0xFF padding', () => {
    const img = parseAppImage(nodeCrypto, bootFile('sbv2-ecdsa-p256-sign-verify', 'app_signed.bin'));
    assert.equal(img.imageLength, 5344);
    assert.deepEqual(img.signatureSector, { offset: 8192, blockCount: 1 });
    assert.equal(img.trailingBytes, 8192 + 4096 - 5344);
  });
});

describe('decodeAppImageHeader() / encodeAppImageHeader()', { skip: NO_VECTORS }, () => {
  it('encode(decode(header)) gives back the 24 header bytes of both vectors', () => {
    for (const name of IMAGE_VECTORS) {
      const b = bootFile(name, 'app.bin');
      assert.deepEqual(encodeAppImageHeader(decodeAppImageHeader(b)), b.subarray(0, 24));
    }
  });

  it('encode rejects a field that does not fit, naming it', () => {
    const h = decodeAppImageHeader(bootFile('app-image-esp32c3', 'app.bin'));
    assert.throws(() => encodeAppImageHeader({ ...h, spiSpeed: 16 }), { name: 'RangeError', message: /header\.spiSpeed/ });
  });
});
