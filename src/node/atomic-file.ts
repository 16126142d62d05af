import * as fs from 'node:fs';
import * as path from 'node:path';

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** File mode of the new file (0o600 for anything secret). Default 0o644. */
  mode?: number;
}

/**
 * Writes `data` to `file` so that a crash or power cut leaves either the old file or the new one,
 * never a torn or empty one: write a temporary file beside it, fsync, rename over, fsync the folder.
 */
export function writeFileAtomic(file: string, data: Uint8Array, options: AtomicWriteOptions = {}): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'wx', options.mode ?? 0o644);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself is already atomic there.
  }
}
