/** Size of a flash sector, the unit of erase. ESP32 SPI NOR flash and NVS pages are both 4096 bytes. */
export const SECTOR_SIZE = 4096;

/**
 * A NOR flash device (or a partition of one). Erasing a sector sets its bytes to 0xFF; a write can
 * only clear bits (program 1 -> 0). Backends throw {@link FlashError} for out-of-bounds access and
 * for a write that would set a 0 bit back to 1.
 */
export interface Flash {
  /** Size in bytes, a multiple of {@link Flash.sectorSize}. */
  readonly size: number;
  /** Erase unit in bytes (4096). */
  readonly sectorSize: number;
  /** Fills `dest` with the bytes at `address`. */
  read(address: number, dest: Uint8Array): void;
  /** Programs `data` at `address`; every 1 bit of `data` must already be 1 in flash. */
  write(address: number, data: Uint8Array): void;
  /** Erases sector number `sector` (byte address `sector * sectorSize`) to 0xFF. */
  eraseSector(sector: number): void;
}

/** Operation totals and per-sector erase counts, for wear analysis and benchmarks. */
export class FlashStats {
  reads = 0;
  writes = 0;
  erases = 0;
  bytesRead = 0;
  bytesWritten = 0;
  readonly eraseCounts: Uint32Array;

  constructor(sectorCount: number) {
    this.eraseCounts = new Uint32Array(sectorCount);
  }

  /** The highest erase count of any sector (the wear hot spot). */
  maxEraseCount(): number {
    let m = 0;
    for (const c of this.eraseCounts) if (c > m) m = c;
    return m;
  }

  /** Sets every counter back to zero (e.g. after a warm-up). */
  reset(): void {
    this.reads = this.writes = this.erases = this.bytesRead = this.bytesWritten = 0;
    this.eraseCounts.fill(0);
  }
}
