import { NvsecError } from '../errors/nvsec-error.js';

/** ESP-IDF's ESP_ERR_FLASH_OP_FAIL, reported by the NVS layer for any flash failure. */
export const ESP_ERR_FLASH_OP_FAIL = 0x6001;

/** Stable codes of {@link FlashError}. */
export type FlashErrorCode = 'FLASH_OUT_OF_BOUNDS' | 'FLASH_SETS_BITS' | 'FLASH_BAD_SIZE' | 'FLASH_READ_ONLY' | 'FLASH_CLOSED';

/** A flash access that the device would reject or that would corrupt data. */
export class FlashError extends NvsecError {
  constructor(code: FlashErrorCode, message: string) {
    super(code, message, { espErr: ESP_ERR_FLASH_OP_FAIL });
    this.name = 'FlashError';
  }
}

/**
 * Thrown by {@link PowerCutFlash} when the simulated power fails: the operation in flight may
 * have been applied partly, and every later access throws this too until the flash is reopened.
 */
export class PowerCutError extends NvsecError {
  constructor(readonly operation: number) {
    super('POWER_CUT', `Simulated power cut at flash operation ${operation}`);
    this.name = 'PowerCutError';
  }
}

/** @internal Bounds check shared by the backends. */
export function checkRange(flash: { size: number }, address: number, length: number, what: string): void {
  if (!Number.isSafeInteger(address) || address < 0 || address + length > flash.size) {
    throw new FlashError(
      'FLASH_OUT_OF_BOUNDS',
      `Cannot ${what} ${length} bytes at 0x${address.toString(16)}: outside the flash (size 0x${flash.size.toString(16)})`,
    );
  }
}

/** @internal NOR rule: programming may only clear bits. Returns normally when `data` fits over `current`. */
export function checkNorWrite(current: Uint8Array, data: Uint8Array, address: number): void {
  for (let i = 0; i < data.length; i++) {
    const d = data[i]!;
    if ((current[i]! & d) !== d) {
      throw new FlashError(
        'FLASH_SETS_BITS',
        `Cannot write 0x${d.toString(16).padStart(2, '0')} at 0x${(address + i).toString(16)}: flash holds 0x${current[i]!.toString(16).padStart(2, '0')} and a write can only clear bits (erase the sector first)`,
      );
    }
  }
}

/** @internal Checks a sector number (a whole number inside the flash). */
export function checkSector(flash: { size: number; sectorSize: number }, sector: number): void {
  if (!Number.isInteger(sector) || sector < 0 || (sector + 1) * flash.sectorSize > flash.size) {
    throw new FlashError(
      'FLASH_OUT_OF_BOUNDS',
      `Cannot erase sector ${sector}: sectors are whole numbers from 0 to ${flash.size / flash.sectorSize - 1}`,
    );
  }
}
