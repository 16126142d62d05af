/** A half-open address range `[start, end)` of the chip's memory map. */
export interface AddressWindow {
  readonly start: number;
  readonly end: number;
}

/** What nvsec knows about one ESP32-family chip, for app image layout and checks. */
export interface ChipInfo {
  /** The name esptool's `--chip` takes, e.g. `esp32c3`. */
  readonly name: string;
  /** The name esptool prints, e.g. `ESP32-C3`. */
  readonly displayName: string;
  /** The image header's chip_id (bytes 12..13). */
  readonly chipId: number;
  /**
   * Flash-mapped instruction window (IROM), or null when nvsec has no sourced value for the chip
   * (then flash-mapped segments cannot be recognised: building refuses, checks skip alignment).
   */
  readonly irom: AddressWindow | null;
  /** Flash-mapped data window (DROM), or null (see `irom`). */
  readonly drom: AddressWindow | null;
  /** MMU page sizes the chip supports, in bytes; the first is the default (64 KiB everywhere). */
  readonly mmuPageSizes: readonly number[];
  /** Flash offset of the second-stage bootloader. */
  readonly bootloaderOffset: number;
  /** `--flash-freq` names by header spi_speed nibble (esptool's table for the chip). */
  readonly flashFreqs: Readonly<Record<string, number>>;
}

const KIB = 1024;
const win = (start: number, end: number): AddressWindow => Object.freeze({ start, end });
const FREQ_80 = Object.freeze({ '80m': 0xf, '40m': 0x0, '26m': 0x1, '20m': 0x2 });
const FREQ_C2 = Object.freeze({ '60m': 0xf, '30m': 0x0, '20m': 0x1, '15m': 0x2 });
const FREQ_H2 = Object.freeze({ '48m': 0xf, '24m': 0x0, '16m': 0x1, '12m': 0x2 });
const FREQ_C6 = Object.freeze({ '80m': 0x0, '40m': 0x0, '20m': 0x2 });
const FREQ_C5 = Object.freeze({ '80m': 0xf, '40m': 0x0, '20m': 0x2 });
/** Chips whose frequency table nvsec has not sourced: names are shown as the raw nibble. */
const FREQ_UNKNOWN = Object.freeze({});
const PAGES_64K = Object.freeze([64 * KIB]);
const PAGES_C2 = Object.freeze([64 * KIB, 32 * KIB, 16 * KIB]);
const PAGES_8_64K = Object.freeze([64 * KIB, 32 * KIB, 16 * KIB, 8 * KIB]);
const PAGES_S31 = Object.freeze([64 * KIB, 32 * KIB, 128 * KIB, 256 * KIB]);

function chip(
  name: string,
  displayName: string,
  chipId: number,
  irom: AddressWindow | null,
  drom: AddressWindow | null,
  bootloaderOffset: number,
  flashFreqs: Readonly<Record<string, number>>,
  mmuPageSizes: readonly number[] = PAGES_64K,
): ChipInfo {
  return Object.freeze({ name, displayName, chipId, irom, drom, mmuPageSizes, bootloaderOffset, flashFreqs });
}

/**
 * The ESP32-family chips by esptool `--chip` name: chip ids and bootloader offsets from the
 * boot-and-flash spec (§1.1, §1.4); IROM/DROM windows are esptool 5.x's IROM_MAP_* / DROM_MAP_*
 * target constants where nvsec has sourced them (null otherwise). Frozen.
 *
 * @example
 * CHIPS.esp32c3.chipId; // 5
 * CHIPS.esp32.irom;     // { start: 0x400d0000, end: 0x40400000 }
 */
export const CHIPS = Object.freeze({
  esp32: chip('esp32', 'ESP32', 0, win(0x400d0000, 0x40400000), win(0x3f400000, 0x3f800000), 0x1000, FREQ_80),
  esp32s2: chip('esp32s2', 'ESP32-S2', 2, win(0x40080000, 0x40b80000), win(0x3f000000, 0x3f3f0000), 0x1000, FREQ_80),
  esp32c3: chip('esp32c3', 'ESP32-C3', 5, win(0x42000000, 0x42800000), win(0x3c000000, 0x3c800000), 0x0, FREQ_80),
  esp32s3: chip('esp32s3', 'ESP32-S3', 9, win(0x42000000, 0x44000000), win(0x3c000000, 0x3e000000), 0x0, FREQ_80),
  esp32c2: chip('esp32c2', 'ESP32-C2', 12, win(0x42000000, 0x42400000), win(0x3c000000, 0x3c400000), 0x0, FREQ_C2, PAGES_C2),
  esp32c6: chip('esp32c6', 'ESP32-C6', 13, win(0x42000000, 0x42800000), win(0x42800000, 0x43000000), 0x0, FREQ_C6, PAGES_8_64K),
  esp32h2: chip('esp32h2', 'ESP32-H2', 16, win(0x42000000, 0x42800000), win(0x42800000, 0x43000000), 0x0, FREQ_H2, PAGES_8_64K),
  esp32p4: chip('esp32p4', 'ESP32-P4', 18, win(0x40000000, 0x4c000000), win(0x40000000, 0x4c000000), 0x2000, FREQ_80),
  esp32c61: chip('esp32c61', 'ESP32-C61', 20, null, null, 0x0, FREQ_C5, PAGES_8_64K),
  esp32c5: chip('esp32c5', 'ESP32-C5', 23, win(0x42000000, 0x42800000), win(0x42800000, 0x43000000), 0x2000, FREQ_C5),
  esp32h21: chip('esp32h21', 'ESP32-H21', 25, null, null, 0x0, FREQ_H2, PAGES_8_64K),
  esp32h4: chip('esp32h4', 'ESP32-H4', 28, win(0x42000000, 0x42800000), win(0x42800000, 0x43000000), 0x2000, FREQ_UNKNOWN, PAGES_8_64K),
  esp32e22: chip('esp32e22', 'ESP32-E22', 31, null, null, 0x0, FREQ_UNKNOWN),
  esp32s31: chip('esp32s31', 'ESP32-S31', 32, null, null, 0x2000, FREQ_UNKNOWN, PAGES_S31),
});

/**
 * The header's chip_id value that marks an image as invalid for every chip.
 *
 * @example
 * if (header.chipId === CHIP_ID_INVALID) throw new Error('image marked invalid');
 */
export const CHIP_ID_INVALID = 0xffff;

/**
 * The chip whose image chip_id is `chipId`, or undefined when nvsec does not know it.
 *
 * @example
 * chipById(0)?.displayName; // 'ESP32'
 */
export function chipById(chipId: number): ChipInfo | undefined {
  return Object.values(CHIPS).find((c) => c.chipId === chipId);
}

/**
 * The chip called `name` (esptool spelling, any case, dashes optional: `esp32c3`, `ESP32-C3`).
 *
 * @throws {RangeError} when no chip has that name (the message lists the known names)
 * @example
 * chipByName('ESP32-C3').chipId; // 5
 */
export function chipByName(name: string): ChipInfo {
  const key = name.toLowerCase().replace(/[-_]/g, '');
  const found = (CHIPS as Readonly<Record<string, ChipInfo>>)[key];
  if (!found) throw new RangeError(`chip: unknown chip "${name}"; expected one of ${Object.keys(CHIPS).join(', ')}`);
  return found;
}

/** Kind of memory a load address falls into, as far as image layout cares. */
export type SegmentMemory = 'IROM' | 'DROM' | 'PADDING' | 'RAM';

/**
 * Classifies a segment load address for `chip`: inside the flash-mapped IROM or DROM window,
 * 0 (a padding segment, never loaded) or anything else (loaded into RAM by the bootloader).
 * On chips whose IROM and DROM windows coincide, mapped addresses are reported as IROM.
 *
 * @example
 * segmentMemory(CHIPS.esp32c3, 0x3c000020); // 'DROM'
 */
export function segmentMemory(chip: ChipInfo, loadAddr: number): SegmentMemory {
  if (loadAddr === 0) return 'PADDING';
  const inside = (w: AddressWindow | null) => w !== null && loadAddr >= w.start && loadAddr < w.end;
  if (inside(chip.irom)) return 'IROM';
  if (inside(chip.drom)) return 'DROM';
  return 'RAM';
}

/**
 * True when `loadAddr` is flash-mapped (IROM or DROM) on `chip`; such segments must sit at the
 * same offset within an MMU page in the image as in the address space.
 *
 * @example
 * isFlashMapped(CHIPS.esp32, 0x400e0020); // true
 */
export function isFlashMapped(chip: ChipInfo, loadAddr: number): boolean {
  const m = segmentMemory(chip, loadAddr);
  return m === 'IROM' || m === 'DROM';
}
