import { PowerCutError } from './flash-error.js';
import type { Flash } from './flash.js';

/** How the operation hit by the cut behaves. */
export interface PowerCutOptions {
  /**
   * 1-based number of the write or erase at which power fails. Operations before it complete;
   * this one completes only as `tearBytes` says; nothing after it happens.
   */
  cutAt: number;
  /**
   * How many bytes of the cut operation reach the flash: for a write, that prefix of its data is
   * programmed; for an erase, that prefix of the sector becomes 0xFF (the rest keeps its old
   * bytes). 0 (the default) is a clean cut before the operation.
   */
  tearBytes?: number;
}

/**
 * Wraps a flash and stops the world at a chosen write or erase, optionally tearing it, so tests
 * can replay a workload with a cut at every single operation. With no cut configured it only
 * counts operations (`operations`), which tells a test how many cut points a workload has.
 *
 * @example
 * const flash = new PowerCutFlash(new MemoryFlash(0x4000), { cutAt: 7, tearBytes: 3 });
 * // ... run a workload until it throws PowerCutError, then reopen `flash.inner`
 */
export class PowerCutFlash implements Flash {
  readonly size: number;
  readonly sectorSize: number;
  /** Number of writes and erases started so far (including a cut one). */
  operations = 0;
  /** True once the cut has happened. */
  cut = false;
  private readonly cutAt: number;
  private readonly tearBytes: number;

  /**
   * @param inner the flash the operations reach
   * @param options where to cut; null only counts operations
   * @throws {RangeError} when `cutAt` is not an integer >= 1 or `tearBytes` not an integer >= 0
   */
  constructor(
    readonly inner: Flash,
    options: PowerCutOptions | null = null,
  ) {
    this.size = inner.size;
    this.sectorSize = inner.sectorSize;
    this.cutAt = options?.cutAt ?? Number.POSITIVE_INFINITY;
    this.tearBytes = options?.tearBytes ?? 0;
    if (options && (!Number.isInteger(this.cutAt) || this.cutAt < 1)) {
      throw new RangeError(`"cutAt" must be an operation number from 1, got ${String(options.cutAt)}`);
    }
    if (!Number.isInteger(this.tearBytes) || this.tearBytes < 0) {
      throw new RangeError(`"tearBytes" must be a whole number of bytes, got ${String(options?.tearBytes)}`);
    }
  }

  read(address: number, dest: Uint8Array): void {
    if (this.cut) throw new PowerCutError(this.operations);
    this.inner.read(address, dest);
  }

  write(address: number, data: Uint8Array): void {
    if (this.begin()) {
      const n = Math.min(this.tearBytes, data.length);
      if (n > 0) this.inner.write(address, data.subarray(0, n));
      throw new PowerCutError(this.operations);
    }
    this.inner.write(address, data);
  }

  eraseSector(sector: number): void {
    if (this.begin()) {
      const n = Math.min(this.tearBytes, this.sectorSize);
      if (n > 0) tornErase(this.inner, sector, n);
      throw new PowerCutError(this.operations);
    }
    this.inner.eraseSector(sector);
  }

  /** Counts an operation; true when it is the one the power fails in. */
  private begin(): boolean {
    if (this.cut) throw new PowerCutError(this.operations);
    this.operations++;
    if (this.operations === this.cutAt) this.cut = true;
    return this.cut;
  }
}

/** Sets the first `n` bytes of a sector to 0xFF and leaves the rest as it was. */
function tornErase(flash: Flash, sector: number, n: number): void {
  const base = sector * flash.sectorSize;
  const keep = new Uint8Array(flash.sectorSize - n);
  flash.read(base + n, keep);
  flash.eraseSector(sector);
  flash.write(base + n, keep);
}
