import * as fs from 'node:fs';
import { Efuse, type EfuseCreateOptions } from '../boot/efuse.js';
import type { EfuseChip } from '../boot/efuse-fields.js';
import { writeFileAtomic } from './atomic-file.js';

/**
 * Loads an eFuse model saved with {@link saveEfuseFile} (the versioned, CRC-checked eFuse image of
 * `nvsec/boot`), like espefuse's `--virt --path-efuse-file`.
 *
 * @throws {EfuseError} EFUSE_IMAGE_CORRUPT when the file is torn, truncated or altered
 * @throws the file system's error (e.g. ENOENT), with a message naming the file
 * @example
 * const efuse = loadEfuseFile('device-efuse.bin');
 */
export function loadEfuseFile(file: string): Efuse {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError('"file" must be a non-empty path');
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    err.message = `Cannot read the eFuse file "${file}": ${err.code ?? err.message}`;
    throw err;
  }
  try {
    return Efuse.fromImage(bytes);
  } catch (e) {
    if (e instanceof Error) e.message = `${file}: ${e.message}`;
    throw e;
  } finally {
    bytes.fill(0); // the image holds keys in clear
  }
}

/**
 * Saves an eFuse model atomically (temporary file, fsync, rename) with mode 0600, since the image
 * holds read-protected keys in clear. A crash leaves the old file or the new one, never a torn one.
 *
 * @throws the file system's error, with a message naming the file; the old file stays in place
 * @example
 * saveEfuseFile('device-efuse.bin', efuse);
 */
export function saveEfuseFile(file: string, efuse: Efuse): void {
  if (typeof file !== 'string' || file.length === 0) throw new TypeError('"file" must be a non-empty path');
  const image = efuse.toImage();
  try {
    writeFileAtomic(file, image, { mode: 0o600 });
  } finally {
    image.fill(0);
  }
}

/**
 * Loads the eFuse file, or creates a blank model of `chip` (not yet saved) when the file does not exist.
 *
 * @throws {EfuseError} EFUSE_IMAGE_CORRUPT for a corrupt file; TypeError when `chip` differs from the file's chip
 * @example
 * const efuse = openEfuseFile('efuse.bin', 'esp32c3');
 */
export function openEfuseFile(file: string, chip: EfuseChip, options: EfuseCreateOptions = {}): Efuse {
  if (!fs.existsSync(file)) return Efuse.create(chip, options);
  const efuse = loadEfuseFile(file);
  if (efuse.chip !== chip) {
    efuse.destroy();
    throw new TypeError(`"${file}" holds ${efuse.chip} eFuses, not ${chip}`);
  }
  return efuse;
}
