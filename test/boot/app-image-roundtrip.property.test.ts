import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type AppImageSegmentInput, buildAppImage, CHIPS, type ChipInfo, checkLoadable, imageChecksum, parseAppImage } from '../../src/boot/index.js';
import { NvsecError } from '../../src/errors/nvsec-error.js';
import { nodeCrypto } from '../../src/node/node-crypto.js';

const PAGE = 0x10000;

/** A flash segment in page `page` of `window`, data starting at a 4-aligned offset in the page. */
const flashSeg = (start: number, page: number, offset: number, data: Uint8Array): AppImageSegmentInput => ({ loadAddr: start + page * PAGE + offset, data });

/** segment 0 of an app: an esp_app_desc_t (magic, mmu_page_size = 64 KiB) plus filler. */
function appDescSegment(chip: ChipInfo, filler: Uint8Array): AppImageSegmentInput {
  const data = new Uint8Array(256 + filler.length);
  new DataView(data.buffer).setUint32(0, 0xabcd5432, true);
  data[180] = 16;
  data.set(filler, 256);
  return { loadAddr: chip.drom!.start + 0x20, data };
}

const bytes = (max: number) => fc.uint8Array({ minLength: 1, maxLength: max });
const scenario = fc
  .record({
    chip: fc.constantFrom(CHIPS.esp32, CHIPS.esp32c3, CHIPS.esp32s3),
    descFiller: fc.uint8Array({ maxLength: 600 }),
    irom: fc.array(fc.record({ offset: fc.nat(PAGE / 4 - 1).map((n) => n * 4), data: bytes(3000) }), { maxLength: 2 }),
    drom: fc.array(fc.record({ offset: fc.nat(PAGE / 4 - 1).map((n) => n * 4), data: bytes(2000) }), { maxLength: 2 }),
    ram: fc.array(bytes(5000), { maxLength: 4 }),
    entryAddr: fc.nat(0xffffffff),
    spiMode: fc.nat(5),
    spiSpeed: fc.nat(15),
    spiSize: fc.nat(7),
    minChipRevFull: fc.nat(0xffff),
    maxChipRevFull: fc.nat(0xffff),
    hashAppended: fc.boolean(),
    securePadV2: fc.boolean(),
  })
  .map((s) => {
    const segments: AppImageSegmentInput[] = [appDescSegment(s.chip, s.descFiller)];
    // Pages 1, 2 of each window (page 0 of DROM holds the descriptor); RAM far from the windows.
    s.irom.forEach((x, i) => segments.push(flashSeg(s.chip.irom!.start + (s.chip.irom!.start === s.chip.drom!.start ? 8 * PAGE : 0), i + 1, x.offset, x.data)));
    s.drom.forEach((x, i) => segments.push(flashSeg(s.chip.drom!.start, i + 1, x.offset, x.data)));
    s.ram.forEach((data, i) => segments.push({ loadAddr: 0x50000000 + i * 0x100000, data }));
    return { ...s, segments, securePadV2: s.securePadV2 && s.hashAppended };
  });

/** Byte at each loaded address, from the parsed image's non-padding segments. */
function loadedMemory(image: Uint8Array): Map<number, number> {
  const mem = new Map<number, number>();
  for (const s of parseAppImage(nodeCrypto, image).segments) {
    if (s.loadAddr === 0) continue;
    s.data.forEach((b, i) => mem.set(s.loadAddr + i, b));
  }
  return mem;
}

describe('buildAppImage() -> parseAppImage() round trip', () => {
  it('gives a valid, loadable image whose segments load every input byte at its address', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        let image: Uint8Array;
        try {
          image = buildAppImage(nodeCrypto, {
            header: { chipId: s.chip.chipId, entryAddr: s.entryAddr, spiMode: s.spiMode, spiSpeed: s.spiSpeed, spiSize: s.spiSize, minChipRevFull: s.minChipRevFull, maxChipRevFull: s.maxChipRevFull },
            segments: s.segments,
            hashAppended: s.hashAppended,
            securePadV2: s.securePadV2,
          });
        } catch (e) {
          // Too many padding/split segments for 16 is a legitimate refusal; anything else is a bug.
          if (e instanceof NvsecError && e.code === 'IMAGE_TOO_MANY_SEGMENTS') return fc.pre(false);
          throw e;
        }
        const img = parseAppImage(nodeCrypto, image);
        assert.deepEqual(img.problems, []);
        assert.equal(img.trailingBytes, 0);
        assert.equal(image.length % (s.securePadV2 ? 0x10000 : 16), 0);
        assert.equal(img.header.hashAppended, s.hashAppended ? 1 : 0);
        assert.deepEqual(
          [img.header.entryAddr, img.header.spiMode, img.header.spiSpeed, img.header.spiSize, img.header.minChipRevFull, img.header.maxChipRevFull],
          [s.entryAddr, s.spiMode, s.spiSpeed, s.spiSize, s.minChipRevFull, s.maxChipRevFull],
        );
        assert.equal(checkLoadable(img, { chip: s.chip }).ok, true);
        const mem = loadedMemory(image);
        for (const seg of s.segments) {
          for (let i = 0; i < seg.data.length; i++) assert.equal(mem.get(seg.loadAddr + i), seg.data[i], `byte at 0x${(seg.loadAddr + i).toString(16)}`);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('rebuilding from the parsed (non-padding) segments gives the same bytes', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const options = { header: { chipId: s.chip.chipId, entryAddr: s.entryAddr }, segments: s.segments, hashAppended: s.hashAppended, securePadV2: s.securePadV2 };
        let image: Uint8Array;
        try {
          image = buildAppImage(nodeCrypto, options);
        } catch (e) {
          if (e instanceof NvsecError && e.code === 'IMAGE_TOO_MANY_SEGMENTS') return fc.pre(false);
          throw e;
        }
        const again = buildAppImage(nodeCrypto, { ...options, segments: parseAppImage(nodeCrypto, image).segments });
        assert.deepEqual(again, image);
      }),
      { numRuns: 40 },
    );
  });
});

describe('imageChecksum()', () => {
  it('equals 0xEF XOR every byte, for views at any byte offset and of any length', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.nat(7))), (parts) => {
        let expected = 0xef;
        const views = parts.map(([bytes, shift]) => {
          const backing = new Uint8Array(bytes.length + shift);
          backing.set(bytes, shift);
          for (const b of bytes) expected ^= b;
          return backing.subarray(shift);
        });
        assert.equal(imageChecksum(views), expected);
      }),
    );
  });
});

describe('parseAppImage() on arbitrary bytes', () => {
  it('either decodes or throws NvsecError (IMAGE_BAD_MAGIC / IMAGE_TRUNCATED), never anything else', () => {
    const built = buildAppImage(nodeCrypto, {
      header: { chipId: CHIPS.esp32c3.chipId, entryAddr: 0x40380000 },
      segments: [appDescSegment(CHIPS.esp32c3, new Uint8Array(40)), { loadAddr: 0x3fc88000, data: new Uint8Array(64).fill(7) }],
    });
    const mutated = fc
      .array(fc.tuple(fc.nat(built.length - 1), fc.integer({ min: 1, max: 255 })), { maxLength: 8 })
      .chain((flips) => fc.nat(built.length).map((cut) => ({ flips, cut })))
      .map(({ flips, cut }) => {
        const b = built.slice(0, cut);
        for (const [at, mask] of flips) if (at < b.length && at > 0) b[at]! ^= mask;
        return b;
      });
    const random = fc.uint8Array({ maxLength: 400 }).map((b) => (b.length > 0 ? (b[0] = 0xe9, b) : b));
    fc.assert(
      fc.property(fc.oneof(mutated, random), (bytes) => {
        try {
          const img = parseAppImage(nodeCrypto, bytes);
          assert.ok(img.imageLength <= bytes.length);
        } catch (e) {
          assert.ok(e instanceof NvsecError, String(e));
          assert.ok(['IMAGE_BAD_MAGIC', 'IMAGE_TRUNCATED'].includes(e.code), e.code);
        }
      }),
      { numRuns: 300 },
    );
  });
});
