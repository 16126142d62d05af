import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { syncDir, writeFully } from './_io.js';

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * File mode of the new file. Default 0o600: nvsec's outputs (NVS images, keys, seeds) often
   * hold secrets; widen it explicitly for files that do not.
   */
  mode?: number;
  /** Fail with EEXIST instead of replacing an existing file. */
  exclusive?: boolean;
}

/**
 * Writes `data` to `file` so that a crash or power cut leaves either the old file or the new one,
 * never a torn or empty one: write a temporary file beside it, fsync, rename over (or, with
 * `exclusive`, link into place), fsync the folder.
 *
 * On file systems without hard links (FAT/exFAT, some network shares) `exclusive` checks that
 * `file` is absent, then renames: only a second writer racing for the same name in that instant
 * could be replaced.
 *
 * @throws the file system's error, with a message that names `file`
 */
export function writeFileAtomic(file: string, data: Uint8Array, options: AtomicWriteOptions = {}): void {
  const dir = path.dirname(path.resolve(file));
  // A random suffix: a temporary file orphaned by a crash can never collide with a later one.
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', options.mode ?? 0o600);
    try {
      writeFully(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (options.exclusive) {
      placeExclusive(tmp, file);
    } else {
      fs.renameSync(tmp, file);
    }
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    err.message = `Cannot write "${file}": ${err.code ?? err.message}${err.code === 'EEXIST' ? ' (it already exists)' : ''}`;
    throw err;
  }
  syncDir(dir);
}

/** Errors of `link` on file systems that have no hard links. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Moves the synced temporary file to `file`, failing with EEXIST when `file` exists. */
function placeExclusive(tmp: string, file: string): void {
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === undefined || !NO_HARD_LINKS.has(code)) throw e;
    if (fs.existsSync(file)) throw Object.assign(new Error(`${file} exists`), { code: 'EEXIST' });
    fs.renameSync(tmp, file);
    return;
  }
  fs.rmSync(tmp, { force: true });
}
