import * as fs from 'node:fs';
import { NvsecError } from '../errors/nvsec-error.js';

/**
 * Reads a binary input file (image, key file).
 * @throws {NvsecError} `CLI_FILE_READ` with the file's name and the reason
 */
export function readBinaryFile(file: string, what: string): Uint8Array {
  try {
    const b = fs.readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new NvsecError('CLI_FILE_READ', `Cannot read the ${what} "${file}": ${err.code ?? err.message}; check the path`, { cause: e });
  }
}
