import * as fs from 'node:fs';

/** Writes all of `data` at `position` (or the current position), looping over short writes. */
export function writeFully(fd: number, data: Uint8Array, position: number | null = null): void {
  let done = 0;
  while (done < data.length) {
    done += fs.writeSync(fd, data, done, data.length - done, position === null ? null : position + done);
  }
}

/** Errors of file systems that refuse fsync on a directory (there the rename or unlink is already durable). */
const DIR_SYNC_REFUSED = new Set(['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EBADF']);

/**
 * fsyncs a directory so a rename or unlink in it is durable. Some file systems refuse fsync on a
 * directory; that refusal is ignored. Any other failure (EIO, ENOENT…) is thrown: the caller must
 * not go on as if the change were on disk.
 *
 * @throws the file system's error, except a refusal to sync a directory
 */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    if (!DIR_SYNC_REFUSED.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
