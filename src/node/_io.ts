import * as fs from 'node:fs';

/** Writes all of `data` at `position` (or the current position), looping over short writes. */
export function writeFully(fd: number, data: Uint8Array, position: number | null = null): void {
  let done = 0;
  while (done < data.length) {
    done += fs.writeSync(fd, data, done, data.length - done, position === null ? null : position + done);
  }
}

/**
 * fsyncs a directory so a rename or unlink in it is durable. Some file systems refuse fsync on a
 * directory; there the operation is already durable, so that refusal is ignored.
 */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // refused: nothing more can be done, and the rename/unlink stands
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
