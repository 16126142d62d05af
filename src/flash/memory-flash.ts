import { checkNorWrite, checkRange, checkSector, FlashError } from './flash-error.js';
import { type Flash, FlashStats, SECTOR_SIZE } from './flash.js';

/**
 * Flash held in memory. Starts erased (0xFF), or as a copy of an image.
 *
 * @example
 * const flash = new MemoryFlash(0x6000);
 * flash.write(0, Uint8Array.of(0xfe));
 */
export class MemoryFlash implements Flash {
  readonly sectorSize = SECTOR_SIZE;
  readonly size: number;
  readonly stats: FlashStats;
  /** The live contents. Mutating it bypasses the NOR rules; use it to inspect or to inject damage. */
  readonly bytes: Uint8Array;

  /**
   * @param sizeOrImage a size in bytes (a multiple of 4096), or an image to copy
   * @throws {FlashError} FLASH_BAD_SIZE when the size is not a whole number of sectors
   */
  constructor(sizeOrImage: number | Uint8Array) {
    const size = typeof sizeOrImage === 'number' ? sizeOrImage : sizeOrImage.length;
    if (!Number.isInteger(size) || size <= 0 || size % SECTOR_SIZE !== 0) {
      throw new FlashError('FLASH_BAD_SIZE', `Flash size ${size} is not a positive multiple of ${SECTOR_SIZE}`);
    }
    this.size = size;
    this.bytes = typeof sizeOrImage === 'number' ? new Uint8Array(size).fill(0xff) : sizeOrImage.slice();
    this.stats = new FlashStats(size / SECTOR_SIZE);
  }

  read(address: number, dest: Uint8Array): void {
    checkRange(this, address, dest.length, 'read');
    dest.set(this.bytes.subarray(address, address + dest.length));
    this.stats.reads++;
    this.stats.bytesRead += dest.length;
  }

  write(address: number, data: Uint8Array): void {
    checkRange(this, address, data.length, 'write');
    checkNorWrite(this.bytes.subarray(address, address + data.length), data, address);
    this.bytes.set(data, address);
    this.stats.writes++;
    this.stats.bytesWritten += data.length;
  }

  eraseSector(sector: number): void {
    checkSector(this, sector);
    this.bytes.fill(0xff, sector * SECTOR_SIZE, (sector + 1) * SECTOR_SIZE);
    this.stats.erases++;
    this.stats.eraseCounts[sector]!++;
  }
}
