import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildAppImage, CHIPS, readElfForImage } from '../../src/boot/index.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';
import { NO_VECTORS, readManifest } from '../_support/vectors.js';
import { bootFile } from './_image-vectors.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** esptool elf2image's header options of each vector run, written out from the manifest's cmd. */
const RUNS = [
  { vector: 'app-image-esp32c3', chip: CHIPS.esp32c3, out: 'image', header: { spiMode: 2, spiSpeed: 0xf, spiSize: 2, minChipRevFull: 3, maxChipRevFull: 199 } },
  { vector: 'app-image-esp32-padded', chip: CHIPS.esp32, out: 'image', header: { spiMode: 0, spiSpeed: 0x0, spiSize: 1, minChipRevLegacy: 3, minChipRevFull: 300, maxChipRevFull: 399 } },
  { vector: 'sbv2-ecdsa-p256-sign-verify', chip: CHIPS.esp32c3, in: 'unsigned_image', header: { spiMode: 2, spiSpeed: 0xf, spiSize: 2 } },
  { vector: 'sbv2-rsa3072-sign-verify', chip: CHIPS.esp32c3, in: 'unsigned_image', securePadV2: true, header: { spiMode: 2, spiSpeed: 0xf, spiSize: 2 } },
] as const;

describe('readElfForImage() + buildAppImage() reproduce esptool elf2image from the ELF', { skip: NO_VECTORS }, () => {
  it('reads the entry point and the five loadable sections of the synthetic ELF', () => {
    const elf = readElfForImage(bootFile('app-image-esp32c3', 'app.elf'));
    assert.equal(elf.entryAddr, 0x40380000); // "Entry point" in the image-info step
    assert.deepEqual(
      elf.sections.map((s) => s.name).sort(),
      ['.dram0.data', '.flash.appdesc', '.flash.rodata', '.flash.text', '.iram0.text'],
    );
  });

  for (const run of RUNS) {
    it(`builds ${run.vector}'s image byte for byte (SHA-256 from the manifest)`, () => {
      const m = readManifest('boot', run.vector);
      const expected = 'out' in run ? m.outputs.image.sha256 : m.inputs.unsigned_image.sha256;
      const elfBytes = bootFile(run.vector, 'app.elf');
      const elf = readElfForImage(elfBytes);
      const image = buildAppImage(nodeCrypto, {
        header: { chipId: run.chip.chipId, entryAddr: elf.entryAddr, ...run.header },
        segments: elf.sections,
        elfSha256: new Uint8Array(sha256(elfBytes)),
        ...('securePadV2' in run ? { securePadV2: true } : {}),
      });
      assert.equal(createHash('sha256').update(image).digest('hex'), expected);
    });
  }

  it('refuses a file that is not an ELF with ELF_INVALID', () => {
    assert.throws(() => readElfForImage(bootFile('app-image-esp32c3', 'app.bin')), { code: 'ELF_INVALID', message: /no ELF magic/ });
  });

  it('refuses an ELF whose section headers were cut off', () => {
    const elf = bootFile('app-image-esp32c3', 'app.elf');
    assert.throws(() => readElfForImage(elf.subarray(0, 2000)), { code: 'ELF_INVALID', message: /section headers at offset \d+ run past the end/ });
  });
});
