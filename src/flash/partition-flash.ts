import type { Flash } from './flash.js';
import { FlashError } from './flash-error.js';

/**
 * One partition of a larger flash, as firmware sees it through `esp_partition_*`: addresses
 * start at 0 at the partition's offset, and nothing outside [offset, offset + size) can be read,
 * written or erased through it. This is what keeps an NVS store in its partition while the app
 * partition next to it is rewritten.
 *
 * @throws {FlashError} FLASH_BAD_SIZE when the window is not whole sectors inside `inner`
 * @example
 * const nvs = new PartitionFlash(wholeFlash, 0x9000, 0x6000);
 * NvsStorage.init(nvs); // the NVS partition of the image
 */
export class PartitionFlash implements Flash {
  readonly sectorSize: number;
  private readonly firstSector: number;

  constructor(
    readonly inner: Flash,
    readonly offset: number,
    readonly size: number,
  ) {
    this.sectorSize = inner.sectorSize;
    const whole = (n: number) => Number.isInteger(n) && n >= 0 && n % inner.sectorSize === 0;
    if (!whole(offset) || !whole(size) || size === 0 || offset + size > inner.size) {
      throw new FlashError('FLASH_BAD_SIZE', `Partition 0x${offset.toString(16)}+0x${size.toString(16)} is not whole ${inner.sectorSize}-byte sectors inside the ${inner.size}-byte flash`);
    }
    this.firstSector = offset / inner.sectorSize;
  }

  private check(address: number, length: number): void {
    if (!Number.isInteger(address) || address < 0 || address + length > this.size) {
      throw new FlashError('FLASH_OUT_OF_BOUNDS', `Access at 0x${address.toString(16)}+${length} is outside the 0x${this.size.toString(16)}-byte partition at 0x${this.offset.toString(16)}`);
    }
  }

  read(address: number, dest: Uint8Array): void {
    this.check(address, dest.length);
    this.inner.read(this.offset + address, dest);
  }

  write(address: number, data: Uint8Array): void {
    this.check(address, data.length);
    this.inner.write(this.offset + address, data);
  }

  eraseSector(sector: number): void {
    if (!Number.isInteger(sector) || sector < 0 || sector >= this.size / this.sectorSize) {
      throw new FlashError('FLASH_OUT_OF_BOUNDS', `Sector ${sector} is outside the ${this.size / this.sectorSize}-sector partition at 0x${this.offset.toString(16)}`);
    }
    this.inner.eraseSector(this.firstSector + sector);
  }
}
