import * as fs from 'node:fs';
import { NvsecError } from '../errors/nvsec-error.js';

function readError(e: unknown, file: string, what: string): NvsecError {
  const err = e as NodeJS.ErrnoException;
  return new NvsecError('CLI_FILE_READ', `Cannot read the ${what} "${file}": ${err.code ?? err.message}; check the path`, { cause: e });
}

/**
 * Reads a binary input file (image, key file).
 * @throws {NvsecError} `CLI_FILE_READ` with the file's name and the reason
 */
export function readBinaryFile(file: string, what: string): Uint8Array {
  try {
    const b = fs.readFileSync(file);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  } catch (e) {
    throw readError(e, file, what);
  }
}

/**
 * Reads a UTF-8 text input file (PEM key, CSV).
 * @throws {NvsecError} `CLI_FILE_READ` with the file's name and the reason
 */
export function readTextFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw readError(e, file, what);
  }
}
