import * as fs from 'node:fs';

/** Writes all of `data` at `position` (or the current position), looping over short writes. */
export function writeFully(fd: number, data: Uint8Array, position: number | null = null): void {
  let done = 0;
  while (done < data.length) {
    done += fs.writeSync(fd, data, done, data.length - done, position === null ? null : position + done);
  }
}
